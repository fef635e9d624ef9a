"""The watermark arithmetic of each kernel generation, on a report's numbers.

Generations (rules read from mm/page_alloc.c and mm/vmscan.c of the trees named; facts only):

``v4.6`` (v4.0..v4.7; 4.6.2 tree): ``__zone_watermark_ok`` is
    :func:`mmspec.kernel.zone_watermark_ok_value` (ALLOC_HIGH halves the mark, ALLOC_HARDER
    (``__GFP_ATOMIC``) takes a quarter and skips the reserved-highatomic subtraction, free CMA
    is subtracted without ALLOC_CMA); the fast path runs the full check (ALLOC_FAIR);
    classzone = the preferred zone; kswapd is woken if any eligible zone fails its high mark
    with alloc_flags 0, and a node is balanced at order 0 only if every zone up to the
    classzone is.
``v4.8`` (v4.8..v5.8; 4.8.15, 4.19, 5.7 trees): the same full check; the fast path first
    tries ``zone_watermark_fast``'s order-0 pre-test (free minus free CMA without ALLOC_CMA,
    no highatomic subtraction); no fair policy; a node is balanced if ANY zone up to the
    classzone passes its high mark (``pgdat_balanced``, alloc_flags 0: CMA not counted);
    classzone = gfp_zone() from v5.8.
``v5.9`` (v5.9..v6.2; 5.10 tree): the pre-test subtracts ``__zone_watermark_unusable_free``
    (reserved highatomic unless ALLOC_HARDER/OOM, free CMA unless ALLOC_CMA); a failed
    __GFP_ATOMIC order-0 MIN check is retried against the unboosted MIN mark.
``v6.3`` (v6.3..v6.11): ALLOC_MIN_RESERVE (``__GFP_HIGH``: mark - mark/2) and, inside it,
    ALLOC_NON_BLOCK (no direct reclaim: another quarter); the highatomic subtraction is
    skipped for any of ALLOC_RESERVES. Boundary not verified in a tree (v6.13 has it).
``v6.12`` (v6.12..v6.19; 6.13, 6.19 trees): only the FREE highatomic pages are subtracted
    (``nr_free_highatomic``, printed as ``free_highatomic:`` from v6.14).

Watermarks printed by v5.0+ kernels (min/low/high) include ``watermark_boost``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel import zone_watermark_ok_value
from ..vocab import ALLOC_CMA, ALLOC_HARDER, ALLOC_HIGH
from .gfp import Request

__all__ = ["Gen", "GENERATIONS", "gens_for", "Check", "slow_flags", "fast_flags",
           "zone_check", "usable_letters", "kswapd_view", "ZONE_NAMES", "zone_indices",
           "gfp_zone_index"]


@dataclass(frozen=True)
class Gen:
    name: str
    lo: tuple[int, int]
    hi: tuple[int, int]
    fair: bool
    pretest: str | None          # None, "cma" (v4.8) or "unusable" (v5.9+)
    reserves: str                # "harder" (ALLOC_HARDER) or "reserves" (v6.3 ALLOC_RESERVES)
    highatomic: str              # "reserved" or "free"
    classzone: str               # "preferred" or "gfp_zone"
    kswapd: str                  # "v4.6" or "any_zone"
    design: str                  # the mmspec design nearest to what this kernel runs
    verified: str


GENERATIONS = (
    Gen("v4.6", (4, 0), (4, 7), True, None, "harder", "reserved", "preferred", "v4.6",
        "migrate_cma", "4.6.2"),
    Gen("v4.8", (4, 8), (5, 8), False, "cma", "harder", "reserved", "preferred", "any_zone",
        "migrate_cma", "4.8.15, 4.19, 5.7.14"),
    Gen("v5.9", (5, 9), (6, 2), False, "unusable", "harder", "reserved", "gfp_zone", "any_zone",
        "prefer_cma_v58", "5.10"),
    Gen("v6.3", (6, 3), (6, 11), False, "unusable", "reserves", "reserved", "gfp_zone",
        "any_zone", "prefer_cma_v58", "(boundary unverified)"),
    Gen("v6.12", (6, 12), (6, 19), False, "unusable", "reserves", "free", "gfp_zone",
        "any_zone", "prefer_cma_v58", "6.13.7, 6.19"),
)


def gens_for(lo: tuple[int, int], hi: tuple[int, int]) -> list[Gen]:
    """Generations overlapping the version range, oldest first."""
    return [g for g in GENERATIONS if g.lo <= hi and g.hi >= lo]


def _kswapd_cma(gen: Gen, req: Request, out: list[str]) -> list[str]:
    """ALLOC_KSWAPD (from __GFP_KSWAPD_RECLAIM, v5.0+) and ALLOC_CMA (movable requests)."""
    if gen.name not in ("v4.6", "v4.8") and req.kswapd_reclaim:
        out.append("ALLOC_KSWAPD")
    if req.migratetype == "MIGRATE_MOVABLE":
        out.append("ALLOC_CMA")
    return out


def fast_flags(gen: Gen, req: Request) -> list[str]:
    """alloc_flags of the fast path (``__alloc_pages_nodemask`` / ``prepare_alloc_pages``)."""
    out = ["ALLOC_WMARK_LOW", "ALLOC_CPUSET"]
    if gen.fair:
        out.append("ALLOC_FAIR")
    return _kswapd_cma(gen, req, out)


def slow_flags(gen: Gen, req: Request) -> list[str]:
    """alloc_flags of the slow path (``gfp_to_alloc_flags``; a real-time caller is not
    known from a report and is assumed not to be one)."""
    f = req.flags
    out = ["ALLOC_WMARK_MIN", "ALLOC_CPUSET"]
    if gen.reserves == "harder":
        if "HIGH" in f:
            out.append("ALLOC_HIGH")
        if "ATOMIC" in f:
            if "NOMEMALLOC" not in f:
                out.append("ALLOC_HARDER")
            out.remove("ALLOC_CPUSET")
    else:
        if "HIGH" in f:
            out.append("ALLOC_MIN_RESERVE")
        if not req.direct_reclaim:
            if "NOMEMALLOC" not in f:
                out.append("ALLOC_NON_BLOCK")
                if req.order > 0 and "HIGH" in f:
                    out.append("ALLOC_HIGHATOMIC")
            if "HIGH" in f:
                out.remove("ALLOC_CPUSET")
    return _kswapd_cma(gen, req, out)


def usable_letters(gen: Gen, flags: list[str]) -> str:
    """Free lists (buddy-summary letters) a high-order check accepts for these flags."""
    s = "UME"
    if "ALLOC_CMA" in flags:
        s += "C"
    if gen.reserves == "harder" and "ALLOC_HARDER" in flags:
        s += "HCI" if gen.name == "v4.6" else "H"    # v4.6: ALLOC_HARDER accepts any list
    if gen.reserves == "reserves" and "ALLOC_HIGHATOMIC" in flags:
        s += "H"
    return "".join(dict.fromkeys(s))


@dataclass(frozen=True)
class Check:
    """One ``__zone_watermark_ok``: F = free - subtractions vs threshold = m + reserve."""

    zone: str
    ok: bool
    free: int
    subtract: tuple[tuple[str, int], ...]
    mark_name: str
    mark: int
    m: int                  # the mark after the reserve reductions
    reductions: str
    reserve: int
    order_ok: bool | None   # high-order block test (None: order 0 or gate failed)
    add: tuple[tuple[str, int], ...] = ()

    @property
    def effective(self) -> int:
        return self.free + sum(v for _, v in self.add) - sum(v for _, v in self.subtract)

    def text(self) -> str:
        terms = "".join(f" + {n} {v}" for n, v in self.add) + "".join(
            f" - {n} {v}" for n, v in self.subtract)
        lhs = f"free {self.free}{terms}" + (f" = {self.effective}" if terms else "")
        rhs = f"{self.mark_name} {self.mark}" + (f"->{self.m}" if self.m != self.mark else "")
        if self.reserve:
            rhs += f" + lowmem_reserve {self.reserve}"
        gate = self.effective > self.m + self.reserve
        s = f"{lhs} {'>' if gate else '<='} {rhs}"
        if self.order_ok is not None:
            s += ("; a free block of the order is on a usable list" if self.order_ok
                  else "; no free block of the order on a usable list")
        return s + (" -> ok" if self.ok else " -> FAIL")


def _highatomic(gen: Gen, z) -> tuple[int, str]:
    if gen.highatomic == "free":
        if z.free_highatomic is not None:
            return z.free_highatomic, "free_highatomic"
        return z.reserved_highatomic or 0, "reserved_highatomic (free_highatomic not printed)"
    return z.reserved_highatomic or 0, "reserved_highatomic"


def zone_check(gen: Gen, z, order: int, mark_name: str, mark: int, reserve: int,
               flags: list[str], *, count_cma: bool = False, count_highatomic: bool = False,
               count_reserve: bool = True, extra_free: int = 0, extra_name: str = "") -> Check:
    """``__zone_watermark_ok`` of ``gen`` on zone snapshot ``z`` (what-ifs: count free CMA as
    if ALLOC_CMA were set, do not subtract the highatomic reserve, ignore lowmem_reserve, add
    ``extra_free`` pages such as the per-CPU lists)."""
    fl = set(flags) | ({"ALLOC_CMA"} if count_cma else set())
    free = z.free + extra_free
    ha, ha_name = _highatomic(gen, z)
    subtract = []
    if order:
        subtract.append((f"(2^{order} - 1)", (1 << order) - 1))
    reserve = reserve if count_reserve else 0
    letters = usable_letters(gen, sorted(fl))

    def blocks_ok(o: int) -> bool:
        return any(nr and set(lt) & set(letters) for nr, lt in (z.buddy or [])[o:])
    if gen.reserves == "harder":
        bits = ((ALLOC_HIGH if "ALLOC_HIGH" in fl else 0) | (ALLOC_HARDER if "ALLOC_HARDER" in fl else 0)
                | (ALLOC_CMA if "ALLOC_CMA" in fl else 0))
        ha_sub = 0 if (count_highatomic or bits & ALLOC_HARDER) else ha
        cma_sub = 0 if bits & ALLOC_CMA else z.free_cma
        ok = zone_watermark_ok_value(free, order, mark, reserve, bits, cma_sub, ha_sub,
                                     blocks_ok if z.buddy is not None else (lambda o: True))
        m, red = mark, []
        if bits & ALLOC_HIGH:
            m -= m // 2
            red.append("ALLOC_HIGH -m/2")
        if bits & ALLOC_HARDER:
            m -= m // 4
            red.append("ALLOC_HARDER -m/4")
    else:
        reserves = fl & {"ALLOC_NON_BLOCK", "ALLOC_MIN_RESERVE", "ALLOC_HIGHATOMIC", "ALLOC_OOM"}
        ha_sub = 0 if (count_highatomic or reserves) else ha
        cma_sub = 0 if "ALLOC_CMA" in fl else z.free_cma
        m, red = mark, []
        if "ALLOC_MIN_RESERVE" in fl:
            m -= m // 2
            red.append("ALLOC_MIN_RESERVE -m/2")
            if "ALLOC_NON_BLOCK" in fl:
                m -= m // 4
                red.append("ALLOC_NON_BLOCK -m/4")
        f = free - ((1 << order) - 1) - ha_sub - cma_sub
        ok = f > m + reserve and (order == 0 or z.buddy is None or blocks_ok(order))
    if ha_sub:
        subtract.append((ha_name, ha_sub))
    if cma_sub:
        subtract.append(("free_cma", cma_sub))
    order_ok = None
    if order and free - sum(v for _, v in subtract) > m + reserve:
        order_ok = blocks_ok(order) if z.buddy is not None else None
    return Check(z.name, ok, z.free, tuple(subtract), mark_name, mark, m, ", ".join(red),
                 reserve, order_ok, ((extra_name, extra_free),) if extra_free else ())


def kswapd_view(gen: Gen, zones: list, index: dict, cz: int, order: int, count_cma: bool = False
                ) -> tuple[bool, list[str]]:
    """Is the node balanced by kswapd's own test (``zone_watermark_ok_safe``: alloc_flags 0,
    so free CMA and the highatomic reserve are not counted)? Returns (balanced, lines)."""
    lines = []
    oks = []
    for z in zones:
        i = index[z.name]
        if i > cz:
            continue
        res = z.lowmem_reserve or []
        if gen.kswapd == "v4.6":
            # pgdat_balanced -> zone_balanced(zone, order, 0, classzone i): high + 2^order
            mark, reserve = z.high + (1 << order), 0
            name = "high+2^order"
        else:
            mark, reserve = z.high, (res[cz] if cz < len(res) else 0)
            name = "high"
        c = zone_check(gen, z, order if gen.kswapd != "v4.6" else 0, name, mark, reserve, [],
                       count_cma=count_cma)
        oks.append(c.ok)
        lines.append(f"{z.name}: {c.text()}")
    if not oks:
        return True, lines
    balanced = all(oks) if gen.kswapd == "v4.6" and order == 0 else any(oks)
    return balanced, lines


#: zone_names[] in mm/page_alloc.c, in zone-index order (CONFIG-dependent subsets)
ZONE_NAMES = ("DMA", "DMA32", "Normal", "HighMem", "Movable", "Device")


def zone_indices(names: set[str], length: int | None) -> tuple[dict[str, int], str]:
    """Kernel zone index of each configured zone. ``names``: zones the input printed;
    ``length``: MAX_NR_ZONES (the length of lowmem_reserve[] / protection:). Normal and
    Movable always exist; the unprinted rest is chosen by preference (DMA, then DMA32 on
    64-bit or HighMem on 32-bit, then Device). Returns (index map, note if inferred)."""
    from itertools import combinations
    need = set(names) | {"Normal", "Movable"}
    opt = [z for z in ZONE_NAMES if z not in need]
    if length is None or length <= len(need):
        chosen = need
        note = "" if length is None or length == len(need) else (
            f"lowmem_reserve has {length} entries for {len(need)} zones")
    else:
        pref = {"DMA": 4, "DMA32": 3 if "HighMem" not in names else -5,
                "HighMem": 2 if "DMA32" not in names else -5, "Device": 1}
        best = max(combinations(opt, min(len(opt), length - len(need))),
                   key=lambda c: (sum(pref[z] for z in c), c))
        chosen = need | set(best)
        note = ("zone indices inferred (unprinted configured zones: "
                f"{', '.join(z for z in ZONE_NAMES if z in best)})") if best else ""
    order = [z for z in ZONE_NAMES if z in chosen]
    return {z: i for i, z in enumerate(order)}, note


def gfp_zone_index(hz: str, index: dict[str, int]) -> int:
    """gfp_zone() on this configuration: a zone bit whose zone is not configured falls back
    to ZONE_NORMAL (OPT_ZONE_DMA, OPT_ZONE_HIGHMEM, OPT_ZONE_DMA32 in include/linux/gfp.h)."""
    return index.get(hz, index["Normal"])
