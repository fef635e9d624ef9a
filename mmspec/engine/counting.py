"""The counting abstraction of the zones, in z3: the full-scale claims (``mmspec claims``).

Moved unchanged from ``mmspec/symbolic.py``; :func:`check_supported` (the designs whose
hooks it encodes) comes with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import z3

from ..errors import MmspecError
from ..kernel import Allocator
from ..vocab import GFP_ATOMIC, GFP_CLASSES

__all__ = ["CountingZones", "CountingExtremes", "counting_wake_extremes", "CountingAtomic",
           "counting_atomic", "check_supported"]

#: Allocator methods whose rules the abstraction restates (a design overriding one is refused)
_ENCODED = ("cma_first", "rmqueue", "_smallest", "_fallback", "_take", "get_page_from_freelist",
            "_alloc", "wake_all_kswapds", "wakeup_kswapd", "direct_reclaim", "_kswapd",
            "zone_balanced", "pgdat_balanced", "zone_reclaimable", "zone_watermark_ok",
            "_free_page", "_reset_alloc_batches", "_begin_balance", "_high_order_ok")


def check_supported(model: Allocator) -> None:
    """Raise MmspecError if the design or scope uses something the counting abstraction
    does not encode (higher orders, an overridden rule)."""
    if tuple(model.scope.orders) != (0,):
        raise MmspecError("the counting abstraction encodes order-0 scopes only; use orders = [0] "
                          "(or the breadth-first `mmspec check` for higher orders)")
    for name in _ENCODED:
        base = getattr(Allocator, name, None)        # (a rule the kernel no longer has: none)
        if base is not None and getattr(type(model), name, None) is not base:
            raise MmspecError(f"design {model.name} overrides {name}(), which the counting "
                              "abstraction does not encode; use the breadth-first `mmspec check`")


# ------------------------------------------------------------------------------------------
# Counting abstraction of the zones (full-scale claims and parametric search).
#
# Before kswapd is first woken nothing is reclaimed and nothing is freed in the claims'
# workloads, so every free counter only falls. Per zone the abstraction keeps two counters:
# free pages of ordinary memory and free pages of CMA memory (design.is_cma_memory); a
# request of class c may take a page of kind k in zone p (an "option") iff p is on c's
# zonelist, k's memory is usable by c (v4.6: MIGRATE_CMA only for MIGRATE_MOVABLE,
# ``__rmqueue_cma_fallback``), the counter is positive and zone p passes c's fast-path
# watermark check (``__zone_watermark_ok`` with the design's ALLOC_CMA / lowmem_reserve;
# thresholds computed by the explicit engine's zone_watermark_ok_value). Zone order,
# pageblock types and the fair policy's NR_ALLOC_BATCH are abstracted into a free choice
# among the options that pass (an over-approximation of the explicit engine's choice).
#
# A run is K segments with symbolic lengths. Since the checks are monotone in the free
# counters, requiring each option used in a segment to pass at the segment's START is a
# necessary condition, strengthened by the pages the same option took earlier in the
# segment (mode "over": sound bounds), and to pass at its END (that page given
# back) a sufficient one (mode "under": every solution is a run of the abstraction). The
# two answers bracket the abstraction's extremum; when they coincide it is exact.

def _threshold(mark: int, lowmem: int, flags: int) -> int:
    """T with ``__zone_watermark_ok`` (order 0, CMA already handled) passing iff free > T."""
    from ..kernel import zone_watermark_ok_value
    f = 0
    while not zone_watermark_ok_value(f, 0, mark, lowmem, flags, 0, 0):
        f += 1
    return f - 1


def _present(v) -> bool:
    """A counter that may be non-zero (symbolic counters may be)."""
    if isinstance(v, int):
        return v != 0
    if z3.is_int_value(v):
        return v.as_long() != 0
    return True


@dataclass
class CountingZones:
    """The constants of the counting abstraction of a design instance (ints or z3 terms)."""
    labels: list
    ordinary: list
    cma: list
    model: Allocator

    @classmethod
    def of(cls, model: Allocator) -> "CountingZones":
        o, c = [], []
        for p, lay in enumerate(model.layout):
            nc = sum(model.ppb for b, mt in enumerate(lay.blocks) if model.is_cma_memory(p, b, mt))
            o.append(lay.managed - nc)
            c.append(nc)
        return cls([z.label for z in model.layout], o, c, model)

    def zonelist(self, ci: int) -> list[int]:
        m = self.model
        hz = int(m.gfp_zone(GFP_CLASSES[ci]))
        return [p for p in range(m.nz - 1, -1, -1) if m.ztype[p] <= hz]

    def options(self, ci: int) -> list[tuple[int, str]]:
        m = self.model
        c = GFP_CLASSES[ci]
        out = []
        for p in self.zonelist(ci):
            if _present(self.ordinary[p]):
                out.append((p, "ord"))
            usable = (not m.cma_migratetype) or m.cma_fallback_allowed(
                int(c.migratetype), m.fast_alloc_flags(c))
            if _present(self.cma[p]) and usable:
                out.append((p, "cma"))
        return out

    def passes(self, ci: int, p: int, fo, fc, wm_idx: int, flags: int):
        """zone p passes c's check (mark index, flags) with free counters fo, fc (terms)."""
        m = self.model
        cz = m.ztype[self.zonelist(ci)[0]]
        t = _threshold(m.wm[p][wm_idx], m.lr[p][cz], flags)
        sub = m.cma_migratetype and not m.watermark_counts_cma(flags)
        return (fo if sub else fo + fc) > t

    def fast_fails(self, ci: int, fo, fc):
        m = self.model
        c = GFP_CLASSES[ci]
        fl = m.fast_alloc_flags(c)
        return z3.And(*[z3.Not(self.passes(ci, p, fo[p], fc[p], 1, fl)) for p in self.zonelist(ci)])

    def wakes(self, ci: int, fo, fc):
        """wake_all_kswapds: some zone of the zonelist fails zone_balanced(order 0, high,
        classzone 0, alloc_flags 0) (v4.6 wakeup_kswapd)."""
        m = self.model
        conds = []
        for p in self.zonelist(ci):
            t = _threshold(m.wm[p][2], m.lr[p][0], 0)
            conds.append((fo[p] if m.cma_migratetype else fo[p] + fc[p]) <= t)
        return z3.Or(*conds) if GFP_CLASSES[ci].kswapd_reclaim else z3.BoolVal(False)

    def slow_fails(self, ci: int, fo, fc):
        m = self.model
        c = GFP_CLASSES[ci]
        fl = m.slow_alloc_flags(c)
        return z3.And(*[z3.Not(self.passes(ci, p, fo[p], fc[p], 0, fl)) for p in self.zonelist(ci)])


def _segments(cz: CountingZones, classes, k: int, mode: str, sol, fo0=None, fc0=None,
              mix=None):
    """K segments of requests of the given classes; returns (xs, states) where states[i]
    = (fo, fc) after segment i (states[0] the start)."""
    nz = len(cz.labels)
    fo = list(fo0) if fo0 is not None else [z3.IntVal(v) if isinstance(v, int) else v for v in cz.ordinary]
    fc = list(fc0) if fc0 is not None else [z3.IntVal(v) if isinstance(v, int) else v for v in cz.cma]
    states = [(fo, fc)]
    xs = []
    nm = nk = z3.IntVal(0)
    for i in range(k):
        seg = {}
        nfo, nfc = list(fo), list(fc)
        for ci in classes:
            for (p, kind) in cz.options(ci):
                x = z3.Int(f"x_{i}_{ci}_{p}_{kind}")
                sol.add(x >= 0)
                seg[(ci, p, kind)] = x
                if kind == "ord":
                    nfo[p] = nfo[p] - x
                else:
                    nfc[p] = nfc[p] - x
        for p in range(nz):
            sol.add(nfo[p] >= 0, nfc[p] >= 0)
        for (ci, p, kind), x in seg.items():
            fl = cz.model.fast_alloc_flags(GFP_CLASSES[ci])
            if mode == "over":
                # the segment's last request of this option saw at most the start counters,
                # minus the x - 1 pages this option took before it in the segment
                bo = fo[p] - (x - 1 if kind == "ord" else 0)
                bc = fc[p] - (x - 1 if kind == "cma" else 0)
                if mix is not None and ci == mix[1]:
                    # the mix (movable <= r * (kernel + 1) in every prefix) forces kernel
                    # requests of this segment before that last movable one; with a single
                    # kernel option they took pages of its counter
                    r_, _, kci = mix
                    kopts = cz.options(kci)
                    if len(kopts) == 1 and kopts[0] == (p, kind):
                        kx = seg[(kci, p, kind)]
                        before = z3.If(x > 0, (nm + x) / r_ - 1 - nk, 0) if r_ else kx
                        before = z3.If(before < 0, 0, z3.If(before > kx, kx, before))
                        bo = bo - before if kind == "ord" else bo
                        bc = bc - before if kind == "cma" else bc
                ok = cz.passes(ci, p, bo, bc, 1, fl)
            else:
                bo = nfo[p] + (1 if kind == "ord" else 0)
                bc = nfc[p] + (1 if kind == "cma" else 0)
                ok = cz.passes(ci, p, bo, bc, 1, fl)
            sol.add(z3.Implies(x > 0, ok))
        xs.append(seg)
        fo, fc = nfo, nfc
        states.append((fo, fc))
        for (ci, _, _), x in seg.items():
            if mix is not None and ci == mix[2]:
                nk = nk + x
            elif mix is not None and ci == mix[1]:
                nm = nm + x
    return xs, states


@dataclass
class CountingExtremes:
    design: str
    mode: str
    max_free_at_wake: int | None
    min_cma_used_at_wake: int | None
    seconds: float


def counting_wake_extremes(model: Allocator, ratio: int, *, segments: int = 3,
                           mode: str = "over") -> CountingExtremes:
    """Over every run of the mix (every prefix: ratio*(kernel-1) <= movable <=
    ratio*(kernel+1); GFP_HIGHUSER_MOVABLE and GFP_KERNEL) in the counting abstraction:
    the most free pages at the first kswapd wake and the fewest CMA pages in use then."""
    from ..vocab import GFP_HIGHUSER_MOVABLE, GFP_KERNEL
    t0 = time.perf_counter()
    cz = CountingZones.of(model)
    res = {}
    for goal in ("free", "cma"):
        opt = z3.Optimize()
        xs, states = _segments(cz, (GFP_HIGHUSER_MOVABLE, GFP_KERNEL), segments, mode, opt,
                               mix=(ratio, GFP_HIGHUSER_MOVABLE, GFP_KERNEL))
        nm = nk = z3.IntVal(0)
        for seg in xs:
            for (ci, _, _), x in seg.items():
                if ci == GFP_KERNEL:
                    nk = nk + x
                else:
                    nm = nm + x
            opt.add(ratio * (nk - 1) <= nm, nm <= ratio * (nk + 1))
        fo, fc = states[-1]
        wk = z3.Bool("wake_by_kernel")
        # the waking request: its fast path fails everywhere and wakeup_kswapd wakes kswapd
        opt.add(z3.If(wk, z3.And(cz.fast_fails(GFP_KERNEL, fo, fc), cz.wakes(GFP_KERNEL, fo, fc),
                                 ratio * nk <= nm),
                      z3.And(cz.fast_fails(GFP_HIGHUSER_MOVABLE, fo, fc),
                             cz.wakes(GFP_HIGHUSER_MOVABLE, fo, fc), nm + 1 <= ratio * (nk + 1))))
        free = z3.Sum(*fo, *fc)
        used = z3.Sum(*[c - f for c, f in zip(cz.cma, fc)]) if any(cz.cma) else z3.IntVal(0)
        h = opt.maximize(free) if goal == "free" else opt.minimize(used)
        r = opt.check()
        if r == z3.sat:
            res[goal] = opt.model().eval(free if goal == "free" else used).as_long()
        elif r == z3.unsat:
            res[goal] = None
        else:
            raise MmspecError(f"z3 returned {r} for the counting abstraction: {opt.reason_unknown()}")
        del h
    return CountingExtremes(model.name, mode, res["free"], res["cma"], time.perf_counter() - t0)


@dataclass
class CountingAtomic:
    design: str
    mode: str
    movable: int | None        # fewest movable allocations before a failing GFP_ATOMIC (None: none)
    seconds: float


def counting_atomic(model: Allocator, kernel_pages: int, *, segments: int = 2,
                    mode: str = "over", fo0=None, fc0=None, extra=()) -> CountingAtomic:
    """Joonsoo's six steps in the counting abstraction: ``kernel_pages`` GFP_KERNEL pages
    first, then movable allocations (none waking kswapd), then a GFP_ATOMIC request that
    fails both its fast and its slow path: the fewest movable allocations, or None."""
    from ..vocab import GFP_HIGHUSER_MOVABLE, GFP_KERNEL
    t0 = time.perf_counter()
    cz = CountingZones.of(model)
    opt = z3.Optimize()
    for e in extra:
        opt.add(e)
    xk, st = _segments(cz, (GFP_KERNEL,), 1, mode, opt, fo0, fc0)
    opt.add(z3.Sum(*xk[0].values()) == kernel_pages)
    xs, states = _segments(cz, (GFP_HIGHUSER_MOVABLE,), segments, mode, opt, *st[-1])
    n = z3.Sum(*[x for seg in xs for x in seg.values()])
    fo, fc = states[-1]
    opt.add(cz.fast_fails(GFP_ATOMIC, fo, fc), cz.slow_fails(GFP_ATOMIC, fo, fc))
    opt.minimize(n)
    r = opt.check()
    if r == z3.unknown:
        raise MmspecError(f"z3 returned unknown for the counting abstraction: {opt.reason_unknown()}")
    v = opt.model().eval(n).as_long() if r == z3.sat else None
    return CountingAtomic(model.name, mode, v, time.perf_counter() - t0)
