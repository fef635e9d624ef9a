"""Parse a pasted "page allocation failure" report (kernels v4.x to v6.19).

What the kernel prints (read from mm/page_alloc.c ``warn_alloc_failed``/``warn_alloc`` and
``show_free_areas`` of v4.6 and v5.10, mm/show_mem.c of v6.19; facts only):

* ``COMM: page allocation failure: order:N, mode:0xHEX(NAMES)`` then, from v4.9 on,
  ``, nodemask=...`` (and ``,cpuset=...,mems_allowed=...``);
* a call trace, ``Mem-Info:``, the global counters (``free:`` ``free_pcp:`` ``free_cma:`` in
  pages), from v4.8 one ``Node N ...`` line per node;
* per populated zone ``[Node N ]NAME free:kB [boost:kB] min:kB low:kB high:kB
  [reserved_highatomic:KB] [free_highatomic:KB] ... managed:kB ... free_pcp:kB local_pcp:kB
  free_cma:kB ...`` followed by ``lowmem_reserve[]: a b c ...`` (pages, one per zone index);
* per populated zone the buddy summary ``[Node N ]NAME: n*4kB (UMEHCI) ... = TOTALkB``;
* ``N pages RAM``, ``N pages HighMem/MovableOnly``, ``N pages reserved``,
  ``N pages cma reserved``.

Kernel-log prefixes (timestamps, levels, syslog headers) are removed, lines interleaved from
other messages are skipped, and a record wrapped over several lines is joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .gfp import LAYOUTS, decode_hex, decode_names, to_hex
from .text import InputError, Line, VersionRange, fields, text_lines

__all__ = ["ZoneSnap", "Report", "parse_report", "ZONE_NAMES"]

#: kernel zone names (zone_names[] in mm/page_alloc.c), in zone-index order
ZONE_NAMES = ("DMA", "DMA32", "Normal", "HighMem", "Movable", "Device")

_FAIL = re.compile(r"^(?P<comm>.*?):\s*page allocation failure:\s*order:(?P<order>\d+),?\s*"
                   r"mode:\s*(?P<mode>0x[0-9a-fA-F]+)(?:\((?P<names>[^)]*)\))?(?P<rest>.*)$")
_ZONE = re.compile(r"^(?:Node (?P<node>\d+) )?(?P<zone>[A-Za-z][A-Za-z0-9_]*) free:\d+kB")
_BUDDY = re.compile(r"^(?:Node (?P<node>\d+) )?(?P<zone>[A-Za-z][A-Za-z0-9_]*): (?P<rest>\d+\*\d+kB.*)$")
_LOWMEM = re.compile(r"^lowmem_reserve\[\]:(?P<rest>.*)$")
_NODE = re.compile(r"^Node (?P<node>\d+) active_anon:")
_GLOBAL = re.compile(r"(?:^|\s)free:(?P<free>\d+) free_pcp:(?P<pcp>\d+) free_cma:(?P<cma>\d+)")
_TAIL = re.compile(r"^(?P<n>\d+) pages (?P<what>RAM|HighMem/MovableOnly|reserved|cma reserved)$")
_CONT = re.compile(r"^\s*(?:(?:[A-Za-z_][\w()]*\??:\s?-?\d+(?:[kK]B)?|[a-z_]+\?|yes|no|\d+\*\d+kB|"
                   r"\([UMEHCIR]*\)|=|\d+kB|-?\d+)\s*)+$")
_OOM = re.compile(r"invoked oom-killer|Out of memory: Kill|oom-kill:|Killed process")
_BUDDY_ITEM = re.compile(r"(\d+)\*(\d+)kB\s*(?:\(([A-Z]*)\))?")


@dataclass
class ZoneSnap:
    """One zone at the failure instant (pages; fields a kernel did not print are None)."""

    node: int
    name: str
    line: int
    free: int
    min: int
    low: int
    high: int
    keys: frozenset
    boost: int | None = None
    reserved_highatomic: int | None = None
    free_highatomic: int | None = None
    managed: int | None = None
    free_pcp: int | None = None
    local_pcp: int | None = None
    free_cma: int = 0
    all_unreclaimable: bool | None = None
    lowmem_reserve: list[int] | None = None
    lowmem_line: int = 0
    buddy: list[tuple[int, str]] | None = None     # (free blocks, list letters) per order
    buddy_line: int = 0

    @property
    def label(self) -> str:
        return self.name


@dataclass
class Report:
    name: str
    fail_line: int
    comm: str
    order: int
    mode: int
    names: str | None
    flags: frozenset
    flag_notes: list[str]
    layout: str | None
    zones: list[ZoneSnap]
    page_kb: int = 4
    free: int | None = None
    free_pcp: int | None = None
    free_cma: int | None = None
    global_line: int = 0
    node_unreclaimable: dict = field(default_factory=dict)
    tail: dict = field(default_factory=dict)
    version: VersionRange = field(default_factory=VersionRange)
    other_failures: int = 0
    global_keys: set = field(default_factory=set)
    node_keys: set = field(default_factory=set)

    def zone(self, node: int, name: str) -> ZoneSnap | None:
        return next((z for z in self.zones if z.node == node and z.name == name), None)


def _records(lines: list[Line], start: int) -> list[tuple[int, str]]:
    """Logical records after the failure line: each line that starts a known record, plus
    field-only continuation lines joined to an unfinished record; other lines dropped."""
    out: list[list] = []
    open_rec = False
    for ln in lines[start:]:
        t = ln.text
        s = t.strip()
        if not s:
            open_rec = False
            continue
        starts = (_ZONE.match(t) or _BUDDY.match(t) or _LOWMEM.match(t) or _NODE.match(t)
                  or _TAIL.match(s) or _GLOBAL.search(t) or _FAIL.match(t)
                  or s.startswith(("active_anon:", "Mem-Info:")))
        if starts:
            out.append([ln.no, t])
            open_rec = not _finished(t)
        elif open_rec and _CONT.match(t):
            out[-1][1] += " " + s
            open_rec = not _finished(out[-1][1])
        elif t.startswith(" ") and _CONT.match(t):      # the global block's indented lines
            out.append([ln.no, t])
            open_rec = False
    return [(n, t) for n, t in out]


def _finished(t: str) -> bool:
    if _ZONE.match(t):
        if "pages_scanned:" in t or "writeback_tmp:" in t:       # v4.6/v4.7 zone line
            return bool(re.search(r"all_unreclaimable\? (yes|no)", t))
        return bool(re.search(r"free_cma:\d+kB", t))
    if _BUDDY.match(t):
        return bool(re.search(r"= \d+kB", t))
    if _NODE.match(t):
        return bool(re.search(r"all_unreclaimable\? (yes|no)", t))
    if _LOWMEM.match(t):
        return False            # its length is not known: digits-only lines may follow
    return True


def parse_report(name: str, data: bytes) -> Report:
    """Parse a failure report; raises InputError naming the file and line."""
    lines = text_lines(name, data, log=True)
    if not any(ln.text.strip() for ln in lines):
        raise InputError(name, 1, "empty report: paste the lines from 'page allocation "
                         "failure' to 'pages cma reserved'")
    fails = [i for i, ln in enumerate(lines) if _FAIL.match(ln.text)]
    if not fails:
        oom = next((ln for ln in lines if _OOM.search(ln.text)), None)
        if oom is not None:
            raise InputError(name, oom.no, "not an allocation failure report: this is an "
                             "OOM-killer report (no 'page allocation failure' line)")
        partial = next((ln for ln in lines if "page allocation failure" in ln.text), None)
        if partial is not None:
            raise InputError(name, partial.no, "garbled failure line: expected 'COMM: page "
                             "allocation failure: order:N, mode:0xHEX(FLAGS)'")
        raise InputError(name, 1, "no 'page allocation failure: order:N, mode:0x...' line; "
                         "not an allocation failure report")
    first = fails[0]
    end = fails[1] if len(fails) > 1 else len(lines)
    m = _FAIL.match(lines[first].text)
    assert m is not None
    fl = lines[first].no
    rep = Report(name, fl, m.group("comm").strip(), int(m.group("order")), int(m.group("mode"), 16),
                 m.group("names"), frozenset(), [], None, [], other_failures=len(fails) - 1)
    if rep.order > 10:
        raise InputError(name, fl, f"order:{rep.order} is above any MAX_ORDER (10)")
    recs = _records(lines[:end], first + 1)
    _parse_records(rep, recs)
    if not rep.zones:
        raise InputError(name, lines[end - 1].no, "truncated report: no per-zone line "
                         "('NAME free:...kB min:...kB low:...kB high:...kB') after the failure "
                         f"line {fl}")
    _version(rep, m.group("rest") or "")
    _decode_mode(rep)
    return rep


def _parse_records(rep: Report, recs: list[tuple[int, str]]) -> None:
    name = rep.name
    last: ZoneSnap | None = None
    pending_buddy = []
    for no, t in recs:
        if (g := _GLOBAL.search(t)) and not _ZONE.match(t):
            rep.global_keys |= set(fields(t))
            rep.free, rep.free_pcp, rep.free_cma = (int(g.group("free")), int(g.group("pcp")),
                                                    int(g.group("cma")))
            rep.global_line = no
            if rep.free_cma > rep.free:
                raise InputError(name, no, f"contradictory numbers: free_cma:{rep.free_cma} "
                                 f"exceeds free:{rep.free}")
        elif zm := _ZONE.match(t):
            last = _zone(rep, no, t, zm)
            rep.zones.append(last)
        elif lm := _LOWMEM.match(t):
            vals = lm.group("rest").split()
            if last is None or not all(re.fullmatch(r"-?\d+", v) for v in vals) or not vals:
                raise InputError(name, no, "garbled lowmem_reserve[] line (expected "
                                 "'lowmem_reserve[]: N N ...' after a zone line)")
            last.lowmem_reserve = [int(v) for v in vals]
            last.lowmem_line = no
        elif bm := _BUDDY.match(t):
            pending_buddy.append((no, bm))
        elif nm := _NODE.match(t):
            rep.node_keys |= set(fields(t))
            u = re.search(r"all_unreclaimable\? (yes|no)", t)
            if u:
                rep.node_unreclaimable[int(nm.group("node"))] = u.group(1) == "yes"
        elif tm := _TAIL.match(t.strip()):
            rep.tail[tm.group("what")] = int(tm.group("n"))
        elif not rep.zones:
            rep.global_keys |= set(fields(t))
    for no, bm in pending_buddy:
        node = int(bm.group("node") or 0)
        z = rep.zone(node, bm.group("zone"))
        if z is None:
            _known(name, no, bm.group("zone"))
            raise InputError(name, no, f"buddy summary for zone {bm.group('zone')} (node {node}) "
                             "which has no 'free:...kB' line in the report")
        items = _BUDDY_ITEM.findall(bm.group("rest"))
        if items:
            rep.page_kb = int(items[0][1])
        z.buddy = [(int(n), letters or "") for n, _, letters in items]
        z.buddy_line = no
    for z in rep.zones:     # kB -> pages once the page size is known
        for f in ("free", "min", "low", "high", "boost", "reserved_highatomic",
                  "free_highatomic", "managed", "free_pcp", "local_pcp", "free_cma"):
            v = getattr(z, f)
            if v is not None:
                setattr(z, f, v // rep.page_kb)


def _known(name: str, no: int, zone: str) -> None:
    if zone not in ZONE_NAMES:
        raise InputError(name, no, f"unknown zone name {zone!r}; kernels name zones "
                         f"{', '.join(ZONE_NAMES)}")


def _zone(rep: Report, no: int, t: str, zm) -> ZoneSnap:
    name = rep.name
    zname = zm.group("zone")
    _known(name, no, zname)
    f = fields(t)
    for need in ("min", "low", "high"):
        if need not in f:
            raise InputError(name, no, f"truncated zone line: no {need}: field for zone {zname}")
    z = ZoneSnap(int(zm.group("node") or 0), zname, no, f["free"], f["min"], f["low"], f["high"],
                 frozenset(f), f.get("boost"), f.get("reserved_highatomic"),
                 f.get("free_highatomic"), f.get("managed"), f.get("free_pcp"),
                 f.get("local_pcp"), f.get("free_cma", 0))
    u = re.search(r"all_unreclaimable\? (yes|no)", t)
    if u:
        z.all_unreclaimable = u.group(1) == "yes"
    if z.free_cma > z.free:
        raise InputError(name, no, f"contradictory numbers: zone {zname} free_cma:{z.free_cma}kB "
                         f"exceeds free:{z.free}kB")
    if not z.min <= z.low <= z.high:
        raise InputError(name, no, f"contradictory numbers: zone {zname} watermarks min:{z.min}kB "
                         f"low:{z.low}kB high:{z.high}kB are not ordered")
    if rep.zone(z.node, zname) is not None:
        raise InputError(name, no, f"zone {zname} of node {z.node} appears twice in one report")
    return z


def _version(rep: Report, rest: str) -> None:
    v = VersionRange()
    if "nodemask=" in rest:
        v = v.narrow((4, 9), None, "failure line has nodemask= (absent in v4.8, present in v4.19)")
    else:
        v = v.narrow(None, (4, 18), "failure line has no nodemask= (present from the v4.19 tree on)")
    keys = set().union(*(z.keys for z in rep.zones))
    if "pages_scanned" in keys:
        v = v.narrow(None, (4, 7), "zone line has pages_scanned: (v4.6; a node field from v4.8)")
    elif "writepending" in keys:
        v = v.narrow((4, 7), None, "zone line has writepending: (absent in v4.6, present in v4.8)")
    if "reserved_highatomic" in keys:
        v = v.narrow((4, 20), None, "zone line has reserved_highatomic: (absent in v4.19, "
                     "present in v5.7)")
    elif "writepending" in keys:
        v = v.narrow(None, (5, 6), "zone line lacks reserved_highatomic: (printed from the "
                     "v5.7 tree on)")
    if "boost" in keys:
        v = v.narrow((5, 11), None, "zone line has boost: (absent in v5.10, present in v6.13)")
    else:
        v = v.narrow(None, (6, 12), "zone line lacks boost: (printed in v6.13 and v6.19)")
    # (field, where, range if printed, range if not, trees): bounds are the neighbouring trees
    for key, where, yes, no, seen in (
            ("unstable", rep.global_keys, (None, (5, 9)), ((5, 8), None),
             "present in v5.7, absent in v5.10"),
            ("kernel_misc_reclaimable", rep.global_keys, ((5, 11), None), (None, (6, 12)),
             "absent in v5.10, present in v6.13"),
            ("writeback_tmp", rep.node_keys, (None, (6, 18)), ((6, 14), None),
             "present in v6.13, absent in v6.19"),
            ("zspages", keys, ((6, 14), None), (None, (6, 18)), "absent in v6.13, present in v6.19")):
        if not where and where is not keys:
            continue            # that line was not in the paste
        if key in where:
            v = v.narrow(*yes, f"{key}: printed ({seen})")
        elif "writepending" in keys:        # a node-LRU kernel that does not print it
            v = v.narrow(*no, f"{key}: not printed ({seen})")
    if "free_highatomic" in keys:
        v = v.narrow((6, 14), None, "zone line has free_highatomic: (absent in v6.13, present "
                     "in v6.19)")
    else:
        v = v.narrow(None, (6, 18), "zone line lacks free_highatomic: (absent in v6.13, "
                     "printed in v6.19)")
    rep.version = v


def _decode_mode(rep: Report) -> None:
    """Flags from the names (by meaning) cross-checked with the hex value per layout; the
    layouts that reproduce the value narrow the version range."""
    notes = []
    if rep.names is not None and rep.names.strip():
        fits = []
        for lay, (_, (lo, hi), trees) in LAYOUTS.items():
            flags, unknown = decode_names(rep.names, atomic_flag=lay != "D",
                                          transhuge_direct=lay != "A")
            if to_hex(flags, lay) == rep.mode and not unknown:
                fits.append((lay, lo, hi, trees, flags))
        if fits:
            lo = min(f[1] for f in fits)
            hi = max(f[2] for f in fits)
            rep.version = rep.version.narrow(lo, hi, f"mode {rep.mode:#x} = {rep.names} in the "
                                             f"gfp bit layout of {', '.join(f[3] for f in fits)}")
            inside = [f for f in fits if f[1] <= rep.version.hi and f[2] >= rep.version.lo]
            chosen = (inside or fits)[-1]
            rep.layout, rep.flags = chosen[0], frozenset(chosen[4])
        else:
            newest = "D" if rep.version.lo >= (6, 3) else "C" if rep.version.lo >= (4, 20) else "A"
            flags, unknown = decode_names(rep.names, atomic_flag=newest != "D",
                                          transhuge_direct=newest != "A")
            rep.flags = frozenset(flags)
            notes.append(f"mode {rep.mode:#x} does not match {rep.names!r} in any known bit "
                         "layout; decoded from the names" + (
                             f" (not understood: {', '.join(unknown)})" if unknown else ""))
    else:
        cands = [lay for lay, (_, (lo, hi), _) in LAYOUTS.items()
                 if lo <= rep.version.hi and hi >= rep.version.lo]
        lay = cands[-1] if cands else "D"
        flags, rest = decode_hex(rep.mode, lay)
        rep.layout, rep.flags = lay, frozenset(flags)
        notes.append(f"no flag names printed: mode {rep.mode:#x} decoded with the bit layout of "
                     f"{LAYOUTS[lay][2]}" + (f" ({rest:#x} not named)" if rest else ""))
    rep.flag_notes = notes
