"""Parse what a machine exposes: /proc/zoneinfo, pagetypeinfo, buddyinfo, meminfo, vmstat,
/proc/sys/vm/*, /sys/kernel/mm/cma/<area>/* and the CMA debugfs (<debugfs>/cma/<area>/).

Formats (mm/vmstat.c ``zoneinfo_show_print``, ``pagetypeinfo_show*``, ``frag_show_print`` of
v4.6, v5.10 and v6.19; fs/proc/meminfo.c; mm/cma_sysfs.c, mm/cma_debug.c; facts only) are
read by field name, so fields a kernel version lacks are simply absent. Each file implies a
kernel version range; the evidence is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .rules import ZONE_NAMES
from .text import InputError, VersionRange, text_lines

__all__ = ["Machine", "ZoneInfo", "parse_files", "PROC_FILES", "TUNABLES", "CMA_ATTRS"]

PROC_FILES = ("zoneinfo", "pagetypeinfo", "buddyinfo", "meminfo", "vmstat")
TUNABLES = ("min_free_kbytes", "watermark_scale_factor", "watermark_boost_factor",
            "lowmem_reserve_ratio", "defrag_mode", "percpu_pagelist_high_fraction",
            "percpu_pagelist_fraction", "extfrag_threshold", "compaction_proactiveness",
            "zone_reclaim_mode", "numa_zonelist_order")
CMA_ATTRS = ("total_pages", "available_pages", "alloc_pages_success", "alloc_pages_fail",
             "release_pages_success", "count", "used", "maxchunk", "order_per_bit", "base_pfn")

_HEAD = re.compile(r"^Node\s+(\d+),\s+zone\s+(\S+)\s*$")
_WM = re.compile(r"^\s*(pages free|min|low|high|boost|promo|scanned|node_scanned|spanned|present|"
                 r"managed|cma)\s+(\d+)\s*$")
_STAT = re.compile(r"^\s*([a-z][a-z0-9_]*)\s+(\d+)\s*$")
_COLON = re.compile(r"^\s*([a-z][a-z_ ]*):\s+(-?\d+)\s*$")
_PROT = re.compile(r"^\s*protection:\s*\(([-\d,\s]*)\)\s*$")
#: the zone fields zoneinfo prints after the per-CPU pagesets
_ZONE_TAIL = {"node_unreclaimable", "all_unreclaimable", "start_pfn", "reserved_highatomic",
              "free_highatomic", "inactive_ratio", "node_inactive_ratio"}
_ROW = re.compile(r"^Node\s+(\d+),\s+zone\s+(\S+?),?\s+(?:type\s+(\S+)\s+)?([>\d\s]+)$")


@dataclass
class ZoneInfo:
    node: int
    name: str
    line: int
    f: dict = field(default_factory=dict)          # zoneinfo fields by name (pages)
    protection: list[int] | None = None
    pcp: int = 0
    free_by_type: dict = field(default_factory=dict)   # type -> [count per order]
    blocks: dict = field(default_factory=dict)         # type -> pageblocks
    buddy: list[int] | None = None


@dataclass
class Machine:
    zones: dict = field(default_factory=dict)      # (node, name) -> ZoneInfo
    pageblock_order: int | None = None
    pages_per_block: int | None = None
    meminfo: dict = field(default_factory=dict)    # kB
    vmstat: dict = field(default_factory=dict)
    tunables: dict = field(default_factory=dict)
    cma: dict = field(default_factory=dict)        # area -> {attr: int}
    version: VersionRange = field(default_factory=VersionRange)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def zone(self, name: str, node: int, no: int, fname: str) -> ZoneInfo:
        if name not in ZONE_NAMES:
            raise InputError(fname, no, f"unknown zone name {name!r}; kernels name zones "
                             f"{', '.join(ZONE_NAMES)}")
        return self.zones.setdefault((node, name), ZoneInfo(node, name, no))


def _zoneinfo(m: Machine, name: str, data: bytes) -> None:
    z = None
    in_pcp = False
    seen = False
    for ln in text_lines(name, data):
        t = ln.text
        if not t.strip():
            continue
        if h := _HEAD.match(t):
            z = m.zone(h.group(2), int(h.group(1)), ln.no, name)
            in_pcp, seen = False, True
            continue
        if z is None:
            raise InputError(name, ln.no, "not /proc/zoneinfo: expected 'Node N, zone NAME' first")
        if t.strip() == "pagesets":
            in_pcp = True
        elif p := _PROT.match(t):
            try:
                z.protection = [int(x) for x in p.group(1).split(",") if x.strip()]
            except ValueError:
                raise InputError(name, ln.no, "garbled protection: line") from None
        elif (w := _WM.match(t)) and not in_pcp:
            z.f[w.group(1)] = int(w.group(2))
        elif (s := _COLON.match(t)) and in_pcp and s.group(1) == "count":
            z.pcp += int(s.group(2))
        elif s := _COLON.match(t):
            if not in_pcp or s.group(1).strip() in _ZONE_TAIL:      # not a per-CPU field
                z.f[s.group(1).strip()] = int(s.group(2))
        elif (s := _STAT.match(t)) and "pages free" in z.f:
            z.f.setdefault(s.group(1), int(s.group(2)))
        elif t.strip() in ("per-node stats",) or t.lstrip().startswith(("cpu:", "vm stats")):
            continue
        elif not _STAT.match(t):
            raise InputError(name, ln.no, f"not a /proc/zoneinfo line: {t.strip()[:60]!r}")
    if not seen:
        raise InputError(name, 1, "empty /proc/zoneinfo")
    keys = set().union(*(z.f for z in m.zones.values()))
    v = m.version
    for key, yes, no, why in (
            ("nr_alloc_batch", (None, (4, 7)), ((4, 8), None), "fair zone policy counter"),
            ("scanned", (None, (4, 7)), None, "v4.6 zone field"),
            ("boost", ((5, 11), None), (None, (6, 12)), "absent in v5.10, present in v6.13"),
            ("cma", ((5, 11), None), (None, (6, 12)), "absent in v5.10, present in v6.13"),
            ("reserved_highatomic", ((6, 14), None), (None, (6, 18)),
             "absent in v6.13, present in v6.19"),
            ("nr_free_pages_blocks", ((6, 14), None), (None, (6, 18)),
             "absent in v6.13, present in v6.19")):
        if key in keys:
            v = v.narrow(*yes, f"zoneinfo has {key} ({why})")
        elif no:
            v = v.narrow(*no, f"zoneinfo lacks {key} ({why})")
    m.version = v


def _pagetypeinfo(m: Machine, name: str, data: bytes) -> None:
    types: list[str] | None = None
    for ln in text_lines(name, data):
        t = ln.text.strip()
        if not t:
            continue
        if t.startswith("Page block order:"):
            m.pageblock_order = _int(t.split(":")[1], name, ln.no)
        elif t.startswith("Pages per block:"):
            m.pages_per_block = _int(t.split(":")[1], name, ln.no)
        elif t.startswith("Number of blocks type"):
            types = t[len("Number of blocks type"):].split()
        elif t.startswith(("Free pages count", "Number of mixed blocks")):
            types = None if t.startswith("Number of mixed") else types
            if t.startswith("Number of mixed"):
                break
        elif r := _ROW.match(t):
            z = m.zone(r.group(2).rstrip(","), int(r.group(1)), ln.no, name)
            vals = [_int(x.lstrip(">"), name, ln.no) for x in r.group(4).split()]
            if r.group(3):
                z.free_by_type[r.group(3)] = vals
            elif types is not None:
                if len(vals) != len(types):
                    raise InputError(name, ln.no, f"{len(vals)} block counts for {len(types)} "
                                     "types in the 'Number of blocks type' table")
                z.blocks = dict(zip(types, vals))
        else:
            raise InputError(name, ln.no, f"not a /proc/pagetypeinfo line: {t[:60]!r}")
    if m.pages_per_block is None:
        raise InputError(name, 1, "not /proc/pagetypeinfo: no 'Pages per block:' line")
    if "Reserve" in {k for z in m.zones.values() for k in z.blocks}:
        m.version = m.version.narrow(None, (4, 3), "pagetypeinfo has a Reserve type (removed in v4.4)")


def _buddyinfo(m: Machine, name: str, data: bytes) -> None:
    for ln in text_lines(name, data):
        t = ln.text.strip()
        if not t:
            continue
        r = _ROW.match(t)
        if not r or r.group(3):
            raise InputError(name, ln.no, f"not a /proc/buddyinfo line: {t[:60]!r}")
        z = m.zone(r.group(2).rstrip(","), int(r.group(1)), ln.no, name)
        z.buddy = [_int(x, name, ln.no) for x in r.group(4).split()]


def _keyvals(name: str, data: bytes, rx: str) -> dict:
    out = {}
    for ln in text_lines(name, data):
        t = ln.text.strip()
        if not t:
            continue
        r = re.match(rx, t)
        if not r:
            raise InputError(name, ln.no, f"unexpected line {t[:60]!r}")
        out[r.group(1)] = int(r.group(2))
    return out


def _int(s: str, name: str, no: int) -> int:
    try:
        return int(s.strip())
    except ValueError:
        raise InputError(name, no, f"expected a number, got {s.strip()[:30]!r}") from None


def parse_files(files: dict[str, bytes]) -> Machine:
    """``files``: relative path -> contents. Recognised by name; the rest is ignored."""
    m = Machine()
    handlers = {"zoneinfo": _zoneinfo, "pagetypeinfo": _pagetypeinfo, "buddyinfo": _buddyinfo}
    for path in sorted(files):
        parts = path.replace("\\", "/").split("/")
        base = parts[-1]
        data = files[path]
        if base in handlers:
            handlers[base](m, path, data)
        elif base == "meminfo":
            m.meminfo = _keyvals(path, data, r"^(\S+):\s+(\d+)(?:\s+kB)?$")
        elif base == "vmstat":
            m.vmstat = _keyvals(path, data, r"^(\S+)\s+(-?\d+)$")
        elif len(parts) >= 2 and parts[-2] == "vm" and base in TUNABLES:
            text = text_lines(path, data)
            vals = [x for ln in text for x in ln.text.split()]
            m.tunables[base] = vals
        elif base in CMA_ATTRS and len(parts) >= 3 and "cma" in parts[:-2] or (
                base in CMA_ATTRS and len(parts) >= 2 and parts[-2].startswith("cma-")):
            area = parts[-2][4:] if parts[-2].startswith("cma-") else parts[-2]
            vals = [ln.text.strip() for ln in text_lines(path, data) if ln.text.strip()]
            if vals:
                m.cma.setdefault(area, {})[base] = _int(vals[0], path, 1)
        else:
            continue
        m.files.append(path)
    return m
