"""Parametric search with z3: sizes and watermarks symbolic, in the counting abstraction
(``mmspec parametric``). Moved unchanged from ``mmspec/symbolic.py``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from ..kernel import Allocator
from ..vocab import GFP_ATOMIC
from .counting import CountingZones, _segments

__all__ = ["ParametricResult", "parametric_atomic"]


def _wmark_threshold_sym(mark, lowmem, flags: int):
    """v4.6 ``__zone_watermark_ok`` threshold on z3 terms, order 0 (the same steps as
    mmspec.kernel.zone_watermark_ok_value: ALLOC_HIGH halves the mark, ALLOC_HARDER takes a
    quarter off; the check passes iff free > T). Tested equal to the int version."""
    from ..vocab import ALLOC_HARDER, ALLOC_HIGH
    m = mark
    if flags & ALLOC_HIGH:
        m = m - m / 2
    if flags & ALLOC_HARDER:
        m = m - m / 4
    return m + lowmem


class _SymZones(CountingZones):
    """CountingZones with symbolic page counts, watermarks and lowmem_reserve."""

    def __init__(self, model, ordinary, cma, wm, lr):
        super().__init__([z.label for z in model.layout], ordinary, cma, model)
        self.wm, self.lr = wm, lr          # wm[p] = (min, low, high); lr[p][classzone]

    def passes(self, ci, p, fo, fc, wm_idx, flags):
        m = self.model
        cz = m.ztype[self.zonelist(ci)[0]]
        t = _wmark_threshold_sym(self.wm[p][wm_idx], self.lr[p].get(cz, 0), flags)
        sub = m.cma_migratetype and not m.watermark_counts_cma(flags)
        return (fo if sub else fo + fc) > t

    def wakes(self, ci, fo, fc):
        m = self.model
        return z3.Or(*[(fo[p] if m.cma_migratetype else fo[p] + fc[p])
                       <= self.wm[p][2] + self.lr[p].get(0, 0) for p in self.zonelist(ci)])


def _pmin_steps(lo: int, hi: int, page_kbytes: int) -> tuple[list[tuple[int, int]], int]:
    """pages_min = init_per_zone_wmark_min(lowmem * page_kbytes) // page_kbytes over lowmem
    in [lo, hi] as a step function: [(first lowmem, value)] (the first entry starts at lo),
    and the largest value. Breakpoints by bisection on the monotone kernel formula."""
    from ..scope import init_per_zone_wmark_min

    def f(l):
        return init_per_zone_wmark_min(l * page_kbytes) // page_kbytes
    steps = [(lo, f(lo))]
    x = lo
    while f(hi) != steps[-1][1]:
        v = steps[-1][1]
        a, b = x, hi               # f(a) == v < f(b): first l with f(l) > v
        while b - a > 1:
            mid = (a + b) // 2
            if f(mid) > v:
                b = mid
            else:
                a = mid
        steps.append((b, f(b)))
        x = b
    return steps, steps[-1][1]


def _isqrt_var(sol, x, name):
    r = z3.Int(name)
    sol.add(r >= 0, r * r <= x, (r + 1) * (r + 1) > x)
    return r


@dataclass
class ParametricResult:
    design: str
    verdict: str                    # VIOLATED (smallest configuration given) / HOLDS / UNKNOWN
    config: dict = field(default_factory=dict)
    seconds: float = 0.0


def parametric_atomic(design: type[Allocator], *, pages=(2, 4096), cma_pages=(0, 4096),
                      derive: bool = True, page_kbytes: int = 4, wsf: int = 10,
                      segments: int = 2, timeout_ms: int = 60000, mode: str = "under",
                      linear: bool = True) -> ParametricResult:
    """atomic_while_kswapd_sleeps over every configuration in range, in the counting
    abstraction. Mode "over" (necessary conditions): HOLDS covers every run of every
    configuration, a VIOLATED configuration is only a lower bound (may be spurious). Mode
    "under" (sufficient conditions): a VIOLATED configuration has a real run in the
    abstraction (check it with BFS on a concrete scope); HOLDS there proves nothing.

    ``pages``: total pages (ordinary + CMA), ``cma_pages``: CMA pages; with ``derive`` the
    watermarks and lowmem_reserve follow the v4.6 formulas on the design's boot basis
    (init_per_zone_wmark_min: min_free_kbytes = clamp(isqrt(16 * lowmem_kbytes), 128, 65536);
    __setup_per_zone_wmarks: tmp = pages_min * managed / lowmem, gap = max(tmp / 4, managed *
    watermark_scale_factor / 10000); setup_per_zone_lowmem_reserve: managed(CMA) / 32);
    without it they are free (0 <= min <= low <= high, lowmem_reserve >= 0). Runs: GFP_KERNEL
    and GFP_HIGHUSER_MOVABLE requests in any order and number without waking kswapd, then a
    GFP_ATOMIC request failing its fast and slow paths. Configurations in which GFP_ATOMIC
    already fails its fast path with every page free are excluded. VIOLATED gives the configuration with
    the fewest pages (then fewest CMA pages). ``linear``: the derived formulas as linear
    arithmetic (exact, see the code; tested equal to the nonlinear isqrt/division form),
    else nonlinear (z3 often times out on it)."""
    from ..scope import parse_scope
    from ..vocab import GFP_HIGHUSER_MOVABLE, GFP_KERNEL, ZoneType
    t0 = time.perf_counter()
    # structure (zones, zonelists, flags) from a template instance of the design
    tmpl = design(parse_scope({"pages_per_pageblock": 2, "zones": {"Normal": {
        "pageblocks": ["MOVABLE", "CMA"], "watermarks": [1, 1, 1]}, "CMA": {"watermarks": [1, 1, 1]}},
        "requests": {"GFP_ATOMIC": 1, "GFP_KERNEL": 1, "GFP_HIGHUSER_MOVABLE": 1}}))
    opt = z3.Optimize()
    opt.set("timeout", timeout_ms)
    n, c = z3.Int("pages"), z3.Int("cma_pages")
    opt.add(n >= pages[0], n <= pages[1], c >= cma_pages[0], c <= cma_pages[1], c < n)
    o = n - c
    two = tmpl.nz == 2                      # zone_cma-like: Normal + ZONE_CMA
    managed = [o, c] if two else [n]
    ordinary, cma = ([o, z3.IntVal(0)], [z3.IntVal(0), c]) if two else ([o], [c])
    wm, lr = [], []
    if derive:
        incl = tmpl.wmark_basis_includes_cma
        basis = [o, c if incl else z3.IntVal(0)] if two else [n if incl else o]
        lowmem = basis[0]                   # ZONE_CMA is above NORMAL: not lowmem
        total = sum(basis[1:], basis[0])
        if linear:
            # the same formulas as linear integer arithmetic (decidable, fast): pages_min as
            # a step function of lowmem (its breakpoints computed here with the kernel's
            # int_sqrt formula), tmp = pages_min * b / total through a bounded quotient
            # q with q * total <= pages_min * b < (q + 1) * total, q in binary
            lo_l = max(0, pages[0] - cma_pages[1]) if (two or not incl) else pages[0]
            hi_l = pages[1] - (cma_pages[0] if (two or not incl) else 0)
            steps, pmax = _pmin_steps(max(0, lo_l), max(0, hi_l), page_kbytes)
            opt.add(lowmem >= max(0, lo_l), lowmem <= max(0, hi_l))
            pmin_terms = [(steps[0][1], None)] + [(v - pv, lv) for (lv, v), (_, pv)
                                                 in zip(steps[1:], steps)]

            def pmin_times(t):
                return z3.Sum(*[d * t if lv is None else z3.If(lowmem >= lv, d * t, 0)
                                for d, lv in pmin_terms])
            bits = max(1, pmax.bit_length())
            for i, b in enumerate(basis):
                if len(basis) == 1 and incl or (len(basis) == 1 and not two):
                    tmp = z3.If(total > 0, pmin_times(1), 0)      # b == total
                else:
                    bs = [z3.Bool(f"tmp{i}_bit{j}") for j in range(bits)]
                    q = z3.Sum(*[z3.If(x, 1 << j, 0) for j, x in enumerate(bs)])
                    qt = z3.Sum(*[z3.If(x, (1 << j) * total, 0) for j, x in enumerate(bs)])
                    pb = pmin_times(b)
                    opt.add(z3.Implies(total > 0, z3.And(qt <= pb, pb < qt + total)))
                    opt.add(z3.Implies(total <= 0, q == 0))
                    tmp = q
                gap0 = b * wsf / 10000
                gap = z3.If(tmp / 4 > gap0, tmp / 4, gap0)
                wm.append((tmp, tmp + gap, tmp + 2 * gap))
        else:
            root = _isqrt_var(opt, 16 * lowmem * page_kbytes, "isqrt")
            mfk = z3.If(root < 128, 128, z3.If(root > 65536, 65536, root))
            pmin = mfk / page_kbytes
            for b in basis:
                tmp = z3.If(total > 0, pmin * b / z3.If(total > 0, total, 1), 0)
                gap0 = b * wsf / 10000
                gap = z3.If(tmp / 4 > gap0, tmp / 4, gap0)
                wm.append((tmp, tmp + gap, tmp + 2 * gap))
        if two:
            lr = [{int(ZoneType.ZONE_CMA): basis[1] / 32}, {}]
        else:
            lr = [{}]
    else:
        for p in range(len(managed)):
            mn, lo, hi = z3.Ints(f"min{p} low{p} high{p}")
            opt.add(0 <= mn, mn <= lo, lo <= hi)
            wm.append((mn, lo, hi))
        if two:
            r = z3.Int("lowmem_reserve")
            opt.add(r >= 0)
            lr = [{int(ZoneType.ZONE_CMA): r}, {}]
        else:
            lr = [{}]
    cz = _SymZones(tmpl, ordinary, cma, wm, lr)
    # a well-formed configuration: GFP_ATOMIC succeeds (fast path) when every page is free
    opt.add(z3.Not(cz.fast_fails(GFP_ATOMIC, ordinary, cma)))
    xs, states = _segments(cz, (GFP_HIGHUSER_MOVABLE, GFP_KERNEL), segments, mode, opt)
    fo, fc = states[-1]
    opt.add(cz.fast_fails(GFP_ATOMIC, fo, fc), cz.slow_fails(GFP_ATOMIC, fo, fc))
    opt.minimize(n)
    opt.minimize(c)
    r = opt.check()
    if r == z3.unsat:
        return ParametricResult(design.name, "HOLDS" if mode == "over" else "NO-WITNESS", {},
                                time.perf_counter() - t0)
    if r != z3.sat:
        return ParametricResult(design.name, "UNKNOWN", {"reason": opt.reason_unknown()},
                                time.perf_counter() - t0)
    mdl = opt.model()
    ev = lambda t: mdl.eval(t, model_completion=True).as_long()
    cfg = {"pages": ev(n), "cma_pages": ev(c),
           "watermarks": [tuple(ev(x) for x in w) for w in wm],
           "lowmem_reserve": ev(lr[0].get(int(ZoneType.ZONE_CMA), z3.IntVal(0))),
           "kernel_pages": ev(z3.Sum(*[x for s in xs for (ci, _, _), x in s.items()
                                       if ci == GFP_KERNEL] or [z3.IntVal(0)])),
           "movable_pages": ev(z3.Sum(*[x for s in xs for (ci, _, _), x in s.items()
                                        if ci == GFP_HIGHUSER_MOVABLE] or [z3.IntVal(0)]))}
    return ParametricResult(design.name, "VIOLATED", cfg, time.perf_counter() - t0)
