"""Scopes: the model's constants, kept apart from the designs (like a TLA+ ``.cfg``).

A scope names the physical memory (zones, their pageblocks and each pageblock's
migratetype, with the CMA area given as ``CMA`` pageblocks where it physically lies), the
watermarks (explicit, or derived with the v4.6 formulas), ``lowmem_reserve``, which
request classes are enabled and how many pages each may hold at once, and the switches
that select kernel behaviour (v4.6 fair zone allocation policy or v4.8 highest-zone-first).
Each design maps the same scope onto its own zone layout, so designs are compared on the
same memory.

**One semantics for files and flags.** A scope file (``--scope FILE``, :func:`load_scope`)
and the command-line options (``--pageblocks``, ``--watermarks``, ``--limit``, ...) are both
*changes to the default scope*, applied in that order by :func:`merge_scope_data`: a key
given replaces the default's, tables are merged key by key (``[requests]`` class by class,
``[zones.X]`` zone by zone and key by key), so an omitted request class keeps the default
scope's limit and a zone given only ``pageblocks`` keeps the default scope's watermarks for
that zone. ``watermarks = "derived"`` (``--watermarks Normal=derived``) asks for the v4.6
formulas instead; a zone the default scope does not have and that gives no watermarks is
derived too. ``pageblocks = []`` (``--pageblocks Normal=``) removes a zone: its table
replaces the zone's whole table instead of being merged into it, so the default's
watermarks and lowmem_reserve for that zone go with it (a ``pageblocks = []`` table that
also gives watermarks for DMA, DMA32 or Normal is an error). :meth:`Scope.to_toml` writes
every key, so its output loads back to the same scope whatever the default is.

**Complete files.** A file whose top level says ``complete = true`` is the whole scope, not a
set of changes: it is not merged onto the default scope, so what it omits takes
:func:`parse_scope`'s values (omitted request classes 0, omitted zones absent, omitted
watermarks derived, switches off) whatever the default scope holds. Command-line options
are still changes applied to it. ``mmspec import`` writes ``complete = true``: an imported
file describes exactly the machine (a DMA32-only machine has no Normal zone) and does not
depend on the default scope.

**The** ``[machine]`` **table** holds what a scope file records about a real machine but the
model's rules do not use (``mmspec import`` writes it: the kernel version range and its
evidence, free counts, highatomic reserve, per-CPU pages, tunables, CMA areas, meminfo).
Its values are strings, numbers, booleans, arrays of those, and tables of the same, at most
four tables deep. It is kept (:attr:`Scope.machine`, :meth:`Scope.machine_table`) and written
back by :meth:`Scope.to_toml` (so ``mmspec scope`` shows it), but it is not part of the
model: two scopes that differ only in ``[machine]`` are equal, hash alike and share named
scopes, expectations and compiled plans, since every verdict and trace is the same.

:func:`parse_scope` is the lower layer: its data is the whole scope (omitted request
classes 0, omitted watermarks derived).

**Named scopes** are the built-in default (``default``) and the files ``scopes/NAME.toml``
(shipped with the package); :func:`scope_names` says which names a scope equals, and
``--scope NAME`` loads one. Expected verdicts are recorded per named scope
(:func:`mmspec.registry.expected_verdict`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from .errors import ScopeError
from .vocab import CLASS_INDEX, GFP_CLASSES, MT_FROM_NAME, Migratetype, ZoneType

__all__ = [
    "Scope", "ZoneSpec", "DEFAULT_SCOPE_TOML", "DEFAULT_NAME", "default_scope", "load_scope",
    "parse_scope", "read_scope_data", "merge_scope_data", "resolve_scope", "named_scopes",
    "scope_names", "find_scope_file", "init_per_zone_wmark_min", "setup_per_zone_wmarks",
    "setup_per_zone_lowmem_reserve", "LOWMEM_RESERVE_RATIO", "toml_table", "MACHINE_DEPTH",
]

#: the name of the built-in default scope among the named scopes
DEFAULT_NAME = "default"
#: the keyword for derived watermarks in a zone table (``watermarks = "derived"``)
DERIVED = "derived"

#: v4.6 ``sysctl_lowmem_reserve_ratio`` on a 64-bit kernel with ZONE_DMA and ZONE_DMA32
#: (positional array {256, 256, 32}); zones above NORMAL have no lower zone to protect.
LOWMEM_RESERVE_RATIO = {ZoneType.ZONE_DMA: 256, ZoneType.ZONE_DMA32: 256,
                        ZoneType.ZONE_NORMAL: 32, ZoneType.ZONE_MOVABLE: 32,
                        ZoneType.ZONE_CMA: 32}

#: zones that hold memory only through their own pageblocks (ZONE_MOVABLE and ZONE_CMA
#: may receive the CMA pageblocks of other zones, depending on the design)
_PHYSICAL_ONLY = frozenset({ZoneType.ZONE_DMA, ZoneType.ZONE_DMA32, ZoneType.ZONE_NORMAL})

_ZONE_NAMES = {"DMA": ZoneType.ZONE_DMA, "DMA32": ZoneType.ZONE_DMA32,
               "Normal": ZoneType.ZONE_NORMAL, "NORMAL": ZoneType.ZONE_NORMAL,
               "Movable": ZoneType.ZONE_MOVABLE, "MOVABLE": ZoneType.ZONE_MOVABLE,
               "CMA": ZoneType.ZONE_CMA}

DEFAULT_SCOPE_TOML = """\
# mmspec default scope: one node, a Normal zone of 5 pageblocks (2 pages each), two of
# them the CMA area; GFP_KERNEL may hold 3 pages, GFP_HIGHUSER_MOVABLE 4 and blockdev
# buffers 2 (the scope `tiny`, the default before the compiled engine, has 2/3/1).
# 33,600-210,000 states per design, every cell of `mmspec compare` conclusive, and every
# verdict the same with one more page of any request class.
pages_per_pageblock = 2
fair_zone_policy = true        # v4.6 ALLOC_FAIR / NR_ALLOC_BATCH; false = v4.8 highest zone first
direct_reclaim_rounds = 1      # direct-reclaim rounds before a request gives up (model bound)
kswapd_reclaim_batch = 1       # pages kswapd reclaims per zone per balance_pgdat pass (scaled)

[zones.Normal]
pageblocks = ["UNMOVABLE", "MOVABLE", "MOVABLE", "CMA", "CMA"]
watermarks = [2, 3, 4]         # min, low, high (pages)

[zones.CMA]                    # only for designs that move CMA memory into its own zone
watermarks = [1, 2, 3]

[requests]                     # most pages each class may hold at once; 0 disables the class
GFP_ATOMIC = 1
GFP_KERNEL = 3
GFP_HIGHUSER_MOVABLE = 4
BLOCKDEV = 2
SLAB = 0
"""


@dataclass(frozen=True)
class ZoneSpec:
    """One zone as the scope gives it.

    ``pageblocks`` is empty for the ``CMA`` entry (its pageblocks are the CMA pageblocks
    of the other zones); ``watermarks`` is ``(min, low, high)`` or None to derive them;
    ``lowmem_reserve`` maps a classzone label to an explicit reserve in pages.
    """

    zone_type: ZoneType
    pageblocks: tuple[Migratetype, ...] = ()
    watermarks: tuple[int, int, int] | None = None
    lowmem_reserve: tuple[tuple[ZoneType, int], ...] = ()


@dataclass(frozen=True)
class Scope:
    """All constants of one model instance. Immutable and hashable.

    Attributes
    ----------
    pages_per_pageblock : ``pageblock_nr_pages``; ``pageblock_order`` is its log2 and the
        model's ``MAX_ORDER - 1`` equals ``pageblock_order`` (no buddy block spans pageblocks).
    zones : the scope's zones in kernel index order.
    limits : most pages each request class (``vocab.GFP_CLASSES`` order) may hold at once;
        for a high-order class (KERNEL_HIGH: order pageblock_order) the number of
        allocations it may hold at once.
    fair_zone_policy : v4.6 ALLOC_FAIR with NR_ALLOC_BATCH (True) or v4.8 highest zone first.
    direct_reclaim_rounds : how many direct-reclaim rounds a request may run before the model
        stops it (v4.6 loops while reclaim makes progress; the bound keeps the model finite).
    kswapd_reclaim_batch : pages kswapd reclaims from one zone in one balance_pgdat pass
        (v4.6: max(SWAP_CLUSTER_MAX, high_wmark), scaled down).
    derive : parameters for derived watermarks (used for zones without explicit ones).
    orders : allocation orders requested (0 and/or pageblock_order).
    """

    pages_per_pageblock: int = 2
    zones: tuple[ZoneSpec, ...] = ()
    limits: tuple[int, ...] = (1, 2, 3, 1, 0)
    fair_zone_policy: bool = True
    direct_reclaim_rounds: int = 1
    kswapd_reclaim_batch: int = 1
    derive: tuple[tuple[str, Any], ...] = ()
    orders: tuple[int, ...] = (0,)
    extra: tuple[tuple[str, Any], ...] = field(default=())
    #: feature switches (docs/semantics.md section 10), off by default: pin/unpin actions for
    #: blockdev buffer pages, cma_alloc of this many pageblocks (0: no cma_alloc action), and
    #: LRU page ages (reclaim takes the oldest page of a zone).
    pin_blockdev: bool = False
    cma_alloc_pageblocks: int = 0
    page_age: bool = False
    #: the ``[machine]`` table, frozen (nested ``(key, value)`` tuples): facts about a real
    #: machine the rules do not use; not part of the model, so left out of ==, hash and repr
    machine: tuple[tuple[str, Any], ...] = field(default=(), compare=False, repr=False)

    @property
    def pageblock_order(self) -> int:
        return self.pages_per_pageblock.bit_length() - 1

    def zone(self, zone_type: ZoneType) -> ZoneSpec | None:
        for z in self.zones:
            if z.zone_type == zone_type:
                return z
        return None

    def option(self, name: str, default: Any = None) -> Any:
        """A design-specific switch from the scope's ``[design]`` table."""
        return dict(self.extra).get(name, default)

    def switch(self, name: str, default: bool) -> bool:
        """A true/false design switch from the ``[design]`` table (ScopeError otherwise)."""
        v = self.option(name, default)
        if not isinstance(v, bool):
            raise ScopeError(f"[design] {name} must be true or false, got {v!r}")
        return v

    def with_changes(self, **kw: Any) -> "Scope":
        return replace(self, **kw)

    def machine_table(self) -> dict[str, Any]:
        """The ``[machine]`` table as TOML data (empty when the scope has none)."""
        return _thaw(self.machine)

    def to_toml(self) -> str:
        """Render the scope as a TOML scope file (deterministic).

        Every key the default scope sets is written (a zone of the default scope this scope
        lacks as ``pageblocks = []``, watermarks left to the formulas as ``"derived"``), so
        the text loads back (:func:`load_scope`) to this scope."""
        base = default_scope()
        out = [f"pages_per_pageblock = {self.pages_per_pageblock}",
               f"fair_zone_policy = {str(self.fair_zone_policy).lower()}",
               f"direct_reclaim_rounds = {self.direct_reclaim_rounds}",
               f"kswapd_reclaim_batch = {self.kswapd_reclaim_batch}",
               f"orders = [{', '.join(str(o) for o in self.orders)}]"]
        if self.pin_blockdev or base.pin_blockdev:
            out.append(f"pin_blockdev = {str(self.pin_blockdev).lower()}")
        if self.cma_alloc_pageblocks or base.cma_alloc_pageblocks:
            out.append(f"cma_alloc_pageblocks = {self.cma_alloc_pageblocks}")
        if self.page_age or base.page_age:
            out.append(f"page_age = {str(self.page_age).lower()}")
        out.append("")
        types = sorted({z.zone_type for z in self.zones} | {z.zone_type for z in base.zones})
        for zt in types:
            z = self.zone(zt) or ZoneSpec(zt)
            b = base.zone(zt) or ZoneSpec(zt)
            out.append(f"[zones.{zt.label}]")
            if z.pageblocks or b.pageblocks:
                out.append("pageblocks = [" + ", ".join(
                    f'"{mt.name[len("MIGRATE_"):]}"' for mt in z.pageblocks) + "]")
            out.append(f'watermarks = "{DERIVED}"' if z.watermarks is None else
                       f"watermarks = [{', '.join(str(w) for w in z.watermarks)}]")
            if z.lowmem_reserve or b.lowmem_reserve:
                out.append("lowmem_reserve = { " + ", ".join(
                    f"{czt.label} = {v}" for czt, v in z.lowmem_reserve) + " }")
            out.append("")
        if self.derive:
            out.append("[derive_watermarks]")
            out.extend(f"{k} = {_toml_value(v)}" for k, v in self.derive)
            out.append("")
        out.append("[requests]")
        out.extend(f"{_class_key(i)} = {n}"
                   for i, (c, n, d) in enumerate(zip(GFP_CLASSES, self.limits, base.limits))
                   if n or d or not c.high_order)     # high-order classes only when enabled
        if self.extra:
            out.extend(["", "[design]"])
            out.extend(f"{k} = {_toml_value(v)}" for k, v in self.extra)
        if self.machine:
            out.append("")
            out.extend(toml_table(["machine"], self.machine_table()))
        return "\n".join(out) + "\n"


def _class_key(i: int) -> str:
    """The spelling of request class ``i`` in scope files (``GFP_KERNEL``, ``BLOCKDEV``)."""
    c = GFP_CLASSES[i]
    return c.name if c.name.isidentifier() else c.short.upper()


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


#: how many tables deep ``[machine]`` may nest (``[machine.zones.DMA32]`` is 3)
MACHINE_DEPTH = 4
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _freeze_machine(value: Any, where: str, depth: int = 1) -> Any:
    """``[machine]`` data as nested tuples (hashable), validated; ScopeError otherwise."""
    if isinstance(value, dict):
        if depth > MACHINE_DEPTH:
            raise ScopeError(f"{where} nests tables more than {MACHINE_DEPTH} deep")
        return tuple((k, _freeze_machine(v, f"{where}.{k}", depth + 1))
                     for k, v in sorted(value.items()))
    if isinstance(value, list):
        if any(isinstance(v, (list, dict)) for v in value):
            raise ScopeError(f"{where} must be an array of strings, numbers or booleans")
        return ("__array__", tuple(_freeze_machine(v, where, depth) for v in value))
    if isinstance(value, (str, bool, int, float)):
        return value
    raise ScopeError(f"{where} must be a string, number, boolean, array or table, "
                     f"got {type(value).__name__}")


def _thaw(frozen: Any) -> Any:
    if isinstance(frozen, tuple):
        if len(frozen) == 2 and frozen[0] == "__array__" and isinstance(frozen[1], tuple):
            return [_thaw(v) for v in frozen[1]]
        return {k: _thaw(v) for k, v in frozen}
    return frozen


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else _toml_str(k)


def _toml_str(v: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too; characters
    beyond the BMP stay as they are, since TOML has no surrogate pairs)."""
    return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, float):
        return "nan" if v != v else repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_scalar(x) for x in v) + "]"
    return str(v)


def toml_table(path: list[str], table: Mapping[str, Any]) -> list[str]:
    """``table`` as TOML lines under ``[path]``: its values, then its sub-tables."""
    values = [f"{_toml_key(k)} = {_toml_scalar(v)}" for k, v in table.items()
              if not isinstance(v, dict)]
    subs = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    out = ["[" + ".".join(_toml_key(p) for p in path) + "]"] + values if values or not subs \
        else []                         # a table of tables only needs no header of its own
    for k, v in subs:
        out += ([""] if out else []) + toml_table(path + [k], v)
    return out


def _int(value: Any, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScopeError(f"{what} must be an integer, got {value!r}")
    if value < minimum:
        raise ScopeError(f"{what} must be >= {minimum}, got {value}")
    return value


def parse_scope(data: Mapping[str, Any], origin: str = "scope") -> Scope:
    """Build and validate a :class:`Scope` from a parsed TOML mapping.

    Raises
    ------
    ScopeError
        With a one-line message naming the offending key, for unknown keys, wrong types,
        negative sizes, impossible watermarks (min > low or low > high) and the like.
    """
    known = {"pages_per_pageblock", "fair_zone_policy", "direct_reclaim_rounds",
             "kswapd_reclaim_batch", "zones", "requests", "derive_watermarks", "orders", "design",
             "pin_blockdev", "cma_alloc_pageblocks", "page_age", "complete", "machine"}
    for key in data:
        if key not in known:
            raise ScopeError(f"{origin}: unknown key {key!r}; known keys: {', '.join(sorted(known))}")
    ppb = _int(data.get("pages_per_pageblock", 2), f"{origin}: pages_per_pageblock", 2)
    if ppb & (ppb - 1):
        raise ScopeError(f"{origin}: pages_per_pageblock must be a power of two, got {ppb}")
    fair = data.get("fair_zone_policy", True)
    if not isinstance(fair, bool):
        raise ScopeError(f"{origin}: fair_zone_policy must be true or false, got {fair!r}")
    rounds = _int(data.get("direct_reclaim_rounds", 1), f"{origin}: direct_reclaim_rounds", 1)
    batch = _int(data.get("kswapd_reclaim_batch", 1), f"{origin}: kswapd_reclaim_batch", 1)
    orders_raw = data.get("orders", [0])
    if not isinstance(orders_raw, list) or not orders_raw:
        raise ScopeError(f"{origin}: orders must be a non-empty list such as [0]")
    pb_order = ppb.bit_length() - 1
    orders = []
    for o in orders_raw:
        o = _int(o, f"{origin}: orders entry")
        if o not in (0, pb_order):
            raise ScopeError(f"{origin}: order {o} is not modelled; use 0 or pageblock_order "
                             f"({pb_order})")
        orders.append(o)
    zones_raw = data.get("zones")
    if not isinstance(zones_raw, dict) or not zones_raw:
        raise ScopeError(f"{origin}: needs at least one [zones.<Name>] table, e.g. [zones.Normal]")
    zones = []
    for name, spec in zones_raw.items():
        if name not in _ZONE_NAMES:
            raise ScopeError(f"{origin}: unknown zone {name!r}; use DMA, DMA32, Normal, Movable or CMA")
        if not isinstance(spec, dict):
            raise ScopeError(f"{origin}: [zones.{name}] must be a table")
        zt = _ZONE_NAMES[name]
        for key in spec:
            if key not in ("pageblocks", "watermarks", "lowmem_reserve"):
                raise ScopeError(f"{origin}: unknown key {key!r} in [zones.{name}]; "
                                 "use pageblocks, watermarks, lowmem_reserve")
        blocks_raw = spec.get("pageblocks", [])
        if not isinstance(blocks_raw, list):
            raise ScopeError(f"{origin}: zones.{name}.pageblocks must be a list of migratetypes")
        blocks = []
        for b in blocks_raw:
            mt = MT_FROM_NAME.get(b) if isinstance(b, str) else None
            if mt is None or mt not in (Migratetype.MIGRATE_UNMOVABLE, Migratetype.MIGRATE_MOVABLE,
                                        Migratetype.MIGRATE_RECLAIMABLE, Migratetype.MIGRATE_CMA):
                raise ScopeError(f"{origin}: zones.{name}.pageblocks entry {b!r} is not one of "
                                 "UNMOVABLE, MOVABLE, RECLAIMABLE, CMA")
            blocks.append(mt)
        if zt == ZoneType.ZONE_CMA and blocks:
            raise ScopeError(f"{origin}: [zones.CMA] takes only watermarks; put the CMA area in "
                             "its physical zone as CMA pageblocks")
        wm = spec.get("watermarks")
        if wm == DERIVED:
            wm = None
        if wm is not None:
            if (not isinstance(wm, list) or len(wm) != 3):
                raise ScopeError(f"{origin}: zones.{name}.watermarks must be [min, low, high] "
                                 f'or "{DERIVED}"')
            mn, lo, hi = (_int(w, f"{origin}: zones.{name}.watermarks", 0) for w in wm)
            if mn > lo or lo > hi:
                raise ScopeError(f"{origin}: zones.{name}.watermarks {wm} are impossible: "
                                 "need min <= low <= high")
            wm = (mn, lo, hi)
        lr_raw = spec.get("lowmem_reserve", {})
        if not isinstance(lr_raw, dict):
            raise ScopeError(f"{origin}: zones.{name}.lowmem_reserve must be a table such as "
                             "{ CMA = 1 }")
        lr = []
        for cz, v in sorted(lr_raw.items()):
            if cz not in _ZONE_NAMES:
                raise ScopeError(f"{origin}: zones.{name}.lowmem_reserve names unknown zone {cz!r}")
            lr.append((_ZONE_NAMES[cz], _int(v, f"{origin}: zones.{name}.lowmem_reserve.{cz}")))
        if not blocks and zt in _PHYSICAL_ONLY and (wm is not None or lr):
            what = "watermarks" if wm is not None else "lowmem_reserve"
            raise ScopeError(f"{origin}: zones.{name} has {what} but no pageblocks; give its "
                             "pageblocks, or pageblocks = [] alone to leave the zone out")
        if blocks or wm is not None or lr:      # an empty zone table says nothing
            zones.append(ZoneSpec(zt, tuple(blocks), wm, tuple(lr)))
    zones.sort(key=lambda z: z.zone_type)
    for a, b in zip(zones, zones[1:]):
        if a.zone_type == b.zone_type:
            raise ScopeError(f"{origin}: zone {a.zone_type.label} is given twice "
                             "(zone names are case-sensitive aliases: use one table per zone)")
    if not any(z.pageblocks for z in zones):
        raise ScopeError(f"{origin}: no zone has pageblocks; give e.g. zones.Normal.pageblocks")
    total = sum(len(z.pageblocks) for z in zones) * ppb
    for z in zones:
        if z.watermarks is None:
            continue
        # a zone's own pages; the CMA zone (and a Movable zone without pageblocks) gets its
        # memory from other zones' CMA pageblocks: at most the whole scope
        size = len(z.pageblocks) * ppb if z.pageblocks else total
        if max(z.watermarks) > size:
            raise ScopeError(f"{origin}: zones.{z.zone_type.label}.watermarks "
                             f"{list(z.watermarks)} exceed the zone's {size} pages"
                             + ("" if z.pageblocks else " (the scope's memory)")
                             + "; a watermark larger than the zone can never be met")
    req = data.get("requests", {})
    if not isinstance(req, dict):
        raise ScopeError(f"{origin}: [requests] must be a table of class = pages")
    limits = [0] * len(GFP_CLASSES)
    for cname, n in req.items():
        if cname not in CLASS_INDEX:
            raise ScopeError(f"{origin}: unknown request class {cname!r}; use GFP_ATOMIC, "
                             "GFP_KERNEL, GFP_HIGHUSER_MOVABLE, BLOCKDEV, SLAB or KERNEL_HIGH")
        limits[CLASS_INDEX[cname]] = _int(n, f"{origin}: requests.{cname}")
    if any(n and c.high_order for c, n in zip(GFP_CLASSES, limits)) and pb_order not in orders:
        # a high-order class requests pageblock_order: that order is requested
        orders.append(pb_order)
    if not any(limits):
        raise ScopeError(f"{origin}: every request class is disabled; enable one in [requests]")
    derive = data.get("derive_watermarks", {})
    if not isinstance(derive, dict):
        raise ScopeError(f"{origin}: [derive_watermarks] must be a table")
    for k in derive:
        if k not in ("min_free_kbytes", "watermark_scale_factor", "page_kbytes",
                     "cma_in_boot_basis"):
            raise ScopeError(f"{origin}: unknown key {k!r} in [derive_watermarks]; use "
                             "min_free_kbytes, watermark_scale_factor, page_kbytes, cma_in_boot_basis")
    if "watermark_scale_factor" in derive:
        wsf = _int(derive["watermark_scale_factor"], f"{origin}: watermark_scale_factor", 1)
        if wsf > 1000:
            raise ScopeError(f"{origin}: watermark_scale_factor {wsf} is above the v4.6 sysctl "
                             "maximum 1000")
    if "min_free_kbytes" in derive:
        _int(derive["min_free_kbytes"], f"{origin}: derive_watermarks.min_free_kbytes", 0)
    if "page_kbytes" in derive:
        pk = _int(derive["page_kbytes"], f"{origin}: derive_watermarks.page_kbytes", 1)
        if pk & (pk - 1):
            raise ScopeError(f"{origin}: derive_watermarks.page_kbytes must be a power of two "
                             f"(4 for 4 KiB pages), got {pk}")
    if "cma_in_boot_basis" in derive and not isinstance(derive["cma_in_boot_basis"], bool):
        raise ScopeError(f"{origin}: derive_watermarks.cma_in_boot_basis must be true or false, "
                         f"got {derive['cma_in_boot_basis']!r}")
    features = {}
    for key in ("pin_blockdev", "page_age"):
        if not isinstance(data.get(key, False), bool):
            raise ScopeError(f"{origin}: {key} must be true or false, got {data[key]!r}")
        features[key] = data.get(key, False)
    features["cma_alloc_pageblocks"] = _int(data.get("cma_alloc_pageblocks", 0),
                                            f"{origin}: cma_alloc_pageblocks")
    design = data.get("design", {})
    if not isinstance(design, dict):
        raise ScopeError(f"{origin}: [design] must be a table of design switches")
    if not isinstance(data.get("complete", False), bool):
        raise ScopeError(f"{origin}: complete must be true or false, got {data['complete']!r}")
    machine = data.get("machine", {})
    if not isinstance(machine, dict):
        raise ScopeError(f"{origin}: [machine] must be a table")
    features["machine"] = _freeze_machine(machine, f"{origin}: machine")
    return Scope(pages_per_pageblock=ppb, zones=tuple(zones), limits=tuple(limits),
                 fair_zone_policy=fair, direct_reclaim_rounds=rounds,
                 kswapd_reclaim_batch=batch, derive=tuple(sorted(derive.items())),
                 orders=tuple(sorted(set(orders))), extra=tuple(sorted(design.items())),
                 **features)


def read_scope_data(path: str) -> dict[str, Any]:
    """The TOML data of a scope file. Raises ScopeError (one line) for any problem."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScopeError(f"scope file {path!r} does not exist") from None
    except IsADirectoryError:
        raise ScopeError(f"scope file {path!r} is a directory, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScopeError(f"scope file {path!r} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ScopeError(f"scope file {path!r} nests arrays or tables too deeply to be a "
                         "scope file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScopeError(f"scope file {path!r} cannot be read: {exc}") from None


def _canonical(key: str, names: Mapping[str, Any], spell) -> str:
    return spell(names[key]) if key in names else key


def merge_scope_data(base: Mapping[str, Any], over: Mapping[str, Any],
                     origin: str = "scope") -> dict[str, Any]:
    """``over`` applied to ``base`` (TOML data of scopes): a key of ``over`` replaces the
    base's; the tables ``[requests]``, ``[derive_watermarks]`` and ``[design]`` are merged
    key by key and ``[zones]`` zone by zone, each zone key by key. Zone and request-class
    aliases (``NORMAL``, ``atomic``) are merged under one spelling; naming one twice in
    ``over`` is a ScopeError. A zone table of ``over`` with ``pageblocks = []`` replaces the
    zone's table (it removes the zone); ``complete = true`` in ``over`` drops ``base``
    altogether. Malformed values are left for :func:`parse_scope` to report."""
    out = {} if over.get("complete") is True else dict(base)
    for key, val in over.items():
        old = out.get(key)
        if not (isinstance(val, dict) and isinstance(old, dict)):
            out[key] = val
            continue
        if key == "zones":
            names, spell = _ZONE_NAMES, lambda zt: zt.label
        elif key == "requests":
            names, spell = CLASS_INDEX, _class_key
        else:
            names, spell = {}, str
        merged = {_canonical(k, names, spell): v for k, v in old.items()}
        seen: dict[str, str] = {}
        for k, v in val.items():
            c = _canonical(k, names, spell)
            if c in seen:
                what = "zone" if key == "zones" else "request class" if key == "requests" else "key"
                raise ScopeError(f"{origin}: {what} {c} is given twice (as {seen[c]!r} and "
                                 f"{k!r}); give it once")
            seen[c] = k
            if (key == "zones" and isinstance(v, dict) and isinstance(merged.get(c), dict)
                    and v.get("pageblocks") != []):
                merged[c] = {**merged[c], **v}
            else:
                merged[c] = v
        out[key] = merged
    return out


def resolve_scope(*layers: tuple[Mapping[str, Any], str]) -> Scope:
    """The default scope with each ``(data, origin)`` layer applied in turn
    (:func:`merge_scope_data`); errors name the origin of the last layer."""
    data: dict[str, Any] = tomllib.loads(DEFAULT_SCOPE_TOML)
    origin = "default scope"
    for layer, origin in layers:
        data = merge_scope_data(data, layer, origin)
    return parse_scope(data, origin=origin)


def load_scope(path: str) -> Scope:
    """Read a TOML scope file: changes to the default scope (see the module docstring).
    Raises ScopeError (one line) for any problem."""
    return resolve_scope((read_scope_data(path), path))


@functools.lru_cache(maxsize=1)
def default_scope() -> Scope:
    """The default scope (``DEFAULT_SCOPE_TOML``)."""
    return parse_scope(tomllib.loads(DEFAULT_SCOPE_TOML), origin="default scope")


def _scopes_dir() -> str | None:
    """``scopes/``: installed inside the package, or at the top of a checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(here, "scopes"), os.path.join(os.path.dirname(here), "scopes")):
        if os.path.isdir(d):
            return d
    return None


def named_scopes() -> dict[str, str]:
    """``{name: path}`` of the shipped scope files ``scopes/NAME.toml``, sorted by name
    (the built-in default is :data:`DEFAULT_NAME`, not a file)."""
    d = _scopes_dir()
    if d is None:
        return {}
    return {f[:-5]: os.path.join(d, f) for f in sorted(os.listdir(d))
            if f.endswith(".toml") and f[:-5] != DEFAULT_NAME}


@functools.lru_cache(maxsize=None)
def _named(name: str, path: str) -> Scope | None:
    try:
        return load_scope(path)
    except ScopeError:
        return None


def scope_names(scope: Scope) -> list[str]:
    """The names of the named scopes equal to ``scope`` (``default`` first)."""
    out = [DEFAULT_NAME] if scope == default_scope() else []
    return out + [n for n, p in named_scopes().items() if _named(n, p) == scope]


def find_scope_file(arg: str) -> str:
    """``--scope ARG``: a path, or the name of a shipped scope (``--scope tiny``)."""
    if os.path.lexists(arg) or "/" in arg or arg.endswith(".toml"):
        return arg
    named = named_scopes()
    if arg in named:
        return named[arg]
    raise ScopeError(f"scope file {arg!r} does not exist (named scopes: "
                     f"{', '.join(named) or 'none'})")


# --------------------------------------------------------------------------------------
# Kernel formulas (v4.6 mm/page_alloc.c) for deriving watermarks and lowmem_reserve.

def init_per_zone_wmark_min(lowmem_kbytes: int) -> int:
    """``min_free_kbytes`` as v4.6 init_per_zone_wmark_min() computes it.

    ``min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, 65536)``.

    >>> init_per_zone_wmark_min(262144 * 4)
    4096
    >>> init_per_zone_wmark_min(131072 * 4)
    2896
    """
    v = math.isqrt(lowmem_kbytes * 16)
    return max(128, min(65536, v))


def setup_per_zone_wmarks(managed: list[tuple[ZoneType, int]], min_free_kbytes: int,
                          watermark_scale_factor: int = 10, page_kbytes: int = 4,
                          highmem: frozenset[ZoneType] = frozenset()) -> list[tuple[int, int, int]]:
    """Per-zone (min, low, high) as v4.6 __setup_per_zone_wmarks() computes them.

    ``pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)``; ``lowmem_pages`` sums managed pages
    of non-highmem zones; per zone ``tmp = pages_min * managed // lowmem_pages``; ``min = tmp``
    (highmem: ``clamp(managed // 1024, 32, 128)``); ``gap = max(tmp >> 2, managed *
    watermark_scale_factor // 10000)``; ``low = min + gap``; ``high = min + 2 * gap``.

    >>> setup_per_zone_wmarks([(ZoneType.ZONE_NORMAL, 131072)], 2896)
    [(724, 905, 1086)]
    """
    pages_min = min_free_kbytes // page_kbytes
    lowmem_pages = sum(m for zt, m in managed if zt not in highmem)
    out = []
    for zt, m in managed:
        tmp = pages_min * m // lowmem_pages if lowmem_pages else 0
        mn = max(32, min(128, m // 1024)) if zt in highmem else tmp
        gap = max(tmp >> 2, m * watermark_scale_factor // 10000)
        out.append((mn, mn + gap, mn + 2 * gap))
    return out


def setup_per_zone_lowmem_reserve(managed: list[tuple[ZoneType, int]],
                                  ratio: Mapping[ZoneType, int] = LOWMEM_RESERVE_RATIO
                                  ) -> list[dict[ZoneType, int]]:
    """``lowmem_reserve`` per zone, v4.6 setup_per_zone_lowmem_reserve().

    For zone i and a higher classzone j: ``sum(managed[i+1..j]) // ratio[i]``; 0 for j <= i.
    Only populated zones are passed; unpopulated zones add 0 to the sums.
    """
    out = []
    for i, (zi, _) in enumerate(managed):
        res: dict[ZoneType, int] = {zi: 0}
        total = 0
        for zj, mj in managed[i + 1:]:
            total += mj
            res[zj] = total // max(1, ratio.get(zi, 32))
        out.append(res)
    return out
