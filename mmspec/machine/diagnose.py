"""Diagnose a parsed failure report: the request, the arithmetic per zone, kswapd, the
classification and the mmspec check it instantiates (all pure; rendering and exploration
are in ``cmd_diagnose`` / ``designs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .gfp import Request, request_of
from .report import Report
from .rules import (Gen, gens_for, fast_flags, gfp_zone_index, kswapd_view, slow_flags,
                    zone_check, zone_indices)
from .text import VERSIONS, VersionRange, vstr

__all__ = ["Diagnosis", "diagnose", "CLASSES"]

#: classifications, in the order they are tested
CLASSES = ("FRAGMENTATION", "CMA", "HIGHATOMIC_RESERVE", "LOWMEM_RESERVE", "PER_CPU_PAGES",
           "PLAIN_EXHAUSTION", "NOT_EXPLAINED")
_TITLE = {
    "CMA": "CMA-caused: the request fails only because it may not count free CMA pages",
    "FRAGMENTATION": "fragmentation: enough free pages, but no free block of the order on a "
                     "list the request may use",
    "HIGHATOMIC_RESERVE": "highatomic reserve: the request fails only because of the "
                          "highatomic reserve subtracted from free",
    "LOWMEM_RESERVE": "lowmem_reserve: the zones it may fall back to protect themselves "
                      "from requests of its classzone",
    "PER_CPU_PAGES": "per-CPU pages: the free pages it needed sat on per-CPU lists",
    "PLAIN_EXHAUSTION": "plain exhaustion: not enough free memory it may use, CMA counted or not",
    "NOT_EXPLAINED": "not explained by the printed counters: a zone passes the check with "
                     "them (they are printed after the failure, and may have changed)",
}


@dataclass
class Diagnosis:
    report: Report
    gen: Gen
    other_gens: list[Gen]
    request: Request
    index: dict
    index_note: str
    zonelist: list
    classzone: int
    fast: dict = field(default_factory=dict)      # zone -> Check
    slow: dict = field(default_factory=dict)
    whatif: dict = field(default_factory=dict)    # kind -> {zone: Check}
    classification: str = ""
    evidence: str = ""
    also: list[str] = field(default_factory=list)
    kswapd_balanced: bool = True
    kswapd_lines: list[str] = field(default_factory=list)
    kswapd_balanced_with_cma: bool = True
    movable_fast: list[str] = field(default_factory=list)
    movable_passes: bool = False
    pcp: list[str] = field(default_factory=list)
    cma_machine: bool = False
    cma_related: bool = False
    cma_zone: str | None = None
    check: str | None = None
    check_note: str = ""
    gen_notes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return _TITLE[self.classification]


def diagnose(rep: Report, kernel: tuple[int, int] | None = None) -> Diagnosis:
    ver = rep.version
    if kernel is not None:
        ver = VersionRange(kernel, kernel, (f"--kernel {vstr(kernel)}",))
        rep.version = ver
    gens = gens_for(ver.lo, ver.hi)
    # the generation covering most releases of the range (ties: the newer)
    gen = max(gens, key=lambda g: (len([v for v in VERSIONS if ver.lo <= v <= ver.hi
                                        and g.lo <= v <= g.hi]), g.lo))
    req = request_of(set(rep.flags), rep.order)
    lengths = {len(z.lowmem_reserve) for z in rep.zones if z.lowmem_reserve}
    index, inote = zone_indices({z.name for z in rep.zones}, max(lengths) if lengths else None)
    hz = gfp_zone_index(req.highest_zone, index)
    zl = sorted((z for z in rep.zones if index[z.name] <= hz),
                key=lambda z: (z.node, -index[z.name]))
    if not zl:
        from .text import InputError
        raise InputError(rep.name, rep.fail_line, f"no zone of the report can serve a request "
                         f"limited to {req.highest_zone} (zones printed: "
                         f"{', '.join(z.name for z in rep.zones)})")
    cz = hz if gen.classzone == "gfp_zone" else index[zl[0].name]
    d = Diagnosis(rep, gen, [g for g in gens if g is not gen], req, index, inote, zl, cz)
    d.cma_machine = bool(rep.tail.get("cma reserved") or rep.free_cma
                         or any(z.free_cma or any("C" in lt for _, lt in z.buddy or [])
                                for z in rep.zones))
    _arith(d, gen)
    d.classification, d.evidence, d.also = _classify(d)
    for g in d.other_gens:          # an older generation the format also allows
        alt = Diagnosis(rep, g, [], req, index, inote, zl,
                        hz if g.classzone == "gfp_zone" else index[zl[0].name])
        _arith(alt, g)
        c, _, _ = _classify(alt)
        same = c == d.classification
        d.gen_notes.append(f"under the {g.name} rules ({vstr(g.lo)}..{vstr(g.hi)}), also "
                           f"allowed by the format: {c}" + (" (the same)" if same else " (DIFFERS)"))
    _kswapd(d)
    _check(d)
    if rep.other_failures:
        d.notes.append(f"{rep.other_failures} more failure report(s) follow in the file; the "
                       "first is diagnosed")
    if d.index_note:
        d.notes.append(d.index_note)
    d.notes.extend(rep.flag_notes)
    if any(z.reserved_highatomic is None for z in zl) and gen.name != "v4.6":
        d.notes.append("reserved_highatomic not printed by this kernel: taken as 0")
    return d


def _marks(z, name: str) -> int:
    return {"min": z.min, "low": z.low, "high": z.high}[name]


def _reserve(d: Diagnosis, z) -> int:
    r = z.lowmem_reserve or []
    return r[d.classzone] if d.classzone < len(r) else 0


def _arith(d: Diagnosis, gen: Gen) -> None:
    req, o = d.request, d.request.order
    ff, sf = fast_flags(gen, req), slow_flags(gen, req)
    for z in d.zonelist:
        res = _reserve(d, z)
        fast = zone_check(gen, z, o, "low", z.low, res, ff)
        if gen.pretest and o == 0 and not fast.ok:
            # zone_watermark_fast's order-0 pre-test: v4.8 subtracts only free CMA
            pre = zone_check(gen, z, 0, "low", z.low, res, ff,
                             count_highatomic=gen.pretest == "cma")
            fast = pre if pre.ok else fast
        d.fast[z.name] = fast
        slow = zone_check(gen, z, o, "min", z.min, res, sf)
        if (not slow.ok and o == 0 and z.boost and
                ("ATOMIC" in req.flags if gen.reserves == "harder" else "HIGH" in req.flags)):
            retry = zone_check(gen, z, o, "unboosted min", z.min - z.boost, res, sf)
            slow = retry if retry.ok else slow
        d.slow[z.name] = slow
        for kind, kw in (("cma", {"count_cma": True}), ("highatomic", {"count_highatomic": True}),
                         ("lowmem", {"count_reserve": False}),
                         ("pcp", {"extra_free": z.free_pcp or 0, "extra_name": "free_pcp"})):
            d.whatif.setdefault(kind, {})[z.name] = zone_check(gen, z, o, "min", z.min, res, sf, **kw)


def _classify(d: Diagnosis) -> tuple[str, str, list[str]]:
    if any(c.ok for c in d.slow.values()):
        z = next(n for n, c in d.slow.items() if c.ok)
        return "NOT_EXPLAINED", f"{z}: {d.slow[z].text()}", []
    found = []
    frag = [(n, c) for n, c in d.slow.items() if c.order_ok is False]
    if frag:
        n, c = frag[0]
        z = next(z for z in d.zonelist if z.name == n)
        where = {lt for nr, lt in (z.buddy or [])[d.request.order:] if nr}
        only = "".join(sorted(set("".join(where)))) or "none"
        found.append(("FRAGMENTATION", f"{n}: {c.text()}; lists holding blocks of order >= "
                      f"{d.request.order}: {only}"))
    node_managed = sum(z.managed or 0 for z in d.report.zones if z.node == d.zonelist[0].node)
    held = []
    for kind, cls in (("cma", "CMA"), ("highatomic", "HIGHATOMIC_RESERVE"),
                      ("lowmem", "LOWMEM_RESERVE"), ("pcp", "PER_CPU_PAGES")):
        ok = [(n, c) for n, c in d.whatif[kind].items() if c.ok and c.text() != d.slow[n].text()]
        if kind == "lowmem":
            # lowmem_reserve counts only if it held back a real share of memory (>= 1 % of
            # the node): a 16 MB ZONE_DMA kept by its reserve is the reserve working
            held = [(n, c) for n, c in ok if c.effective * 100 < node_managed]
            ok = [(n, c) for n, c in ok if c.effective * 100 >= node_managed]
        if ok:
            n, c = ok[0]
            found.append((cls, f"{n}: {c.text()} (as printed: {d.slow[n].text()})"))
    also = [f"lowmem_reserve held back {c.effective} free pages of {n}, under 1% of the "
            "node's memory: the reserve working as designed" for n, c in held]
    if not found:
        n, c = next(iter(d.whatif["cma"].items()))
        return "PLAIN_EXHAUSTION", f"{n}: {c.text()} even with free CMA counted", also
    return found[0][0], found[0][1], [f"{cls}: {ev}" for cls, ev in found[1:]] + also


def _kswapd(d: Diagnosis) -> None:
    rep, gen = d.report, d.gen
    node = d.zonelist[0].node
    zones = [z for z in rep.zones if z.node == node]
    d.kswapd_balanced, d.kswapd_lines = kswapd_view(gen, zones, d.index, d.classzone,
                                                    d.request.order)
    d.kswapd_balanced_with_cma, _ = kswapd_view(gen, zones, d.index, d.classzone,
                                                d.request.order, count_cma=True)
    # an order-0 GFP_HIGHUSER_MOVABLE request at this instant: does its fast path pass?
    mov = request_of({"HIGHMEM", "MOVABLE", "DIRECT_RECLAIM", "KSWAPD_RECLAIM", "IO", "FS",
                      "HARDWALL"}, 0)
    mhz = gfp_zone_index(mov.highest_zone, d.index)
    mcz = mhz if gen.classzone == "gfp_zone" else max(d.index[z.name] for z in zones)
    for z in sorted(zones, key=lambda z: -d.index[z.name]):
        if d.index[z.name] > mhz:
            continue
        r = z.lowmem_reserve or []
        c = zone_check(gen, z, 0, "low", z.low, r[mcz] if mcz < len(r) else 0,
                       fast_flags(gen, mov))
        d.movable_fast.append(f"{z.name}: {c.text()}")
        d.movable_passes |= c.ok
    for z in d.zonelist:
        if z.free_pcp:
            d.pcp.append(f"{z.name}: {z.free_pcp} pages on per-CPU lists ({z.local_pcp or 0} on "
                         "the failing CPU's), counted in neither free nor free_cma")
    if d.request.direct_reclaim:
        d.pcp.append("a request that may reclaim drains the per-CPU lists (drain_all_pages) "
                     "after a failed direct reclaim")
    elif d.pcp:
        d.pcp.append("this request cannot reclaim, so nothing drains the per-CPU lists for it")


def _check(d: Diagnosis) -> None:
    cma_zones = [z for z in d.zonelist if z.free_cma] or [
        z for z in d.zonelist if any("C" in lt for _, lt in z.buddy or [])]
    d.cma_zone = max(cma_zones, key=lambda z: z.free_cma).name if cma_zones else None
    frag_cma = d.classification == "FRAGMENTATION" and "C" in d.evidence.rsplit(":", 1)[-1]
    d.cma_related = d.classification == "CMA" or frag_cma
    req = d.request
    if req.migratetype == "MIGRATE_MOVABLE":
        d.check, d.check_note = None, ("no mmspec check concerns a failing movable request "
                                       "(movable requests may use CMA memory)")
    elif not req.direct_reclaim:
        d.check = "atomic_while_kswapd_sleeps"
        d.check_note = ("a request that cannot reclaim failed; the check asks whether a "
                        "GFP_ATOMIC request can fail while kswapd sleeps (C4, C6)")
    else:
        d.check = "unmovable_pressure_while_half_free"
        tot = sum(z.managed or 0 for z in d.report.zones)
        free = sum(z.free for z in d.report.zones)
        share = f"{100 * free // tot}% of managed memory free" if tot else "free share unknown"
        d.check_note = ("an unmovable request that may reclaim failed; the check asks whether "
                        f"one can fail or reclaim while over half of memory is free (C11); "
                        f"here {share}")
