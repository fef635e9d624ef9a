"""Scopes: the model's constants, kept apart from the designs (like a TLA+ ``.cfg``).

A scope names the physical memory (zones, their pageblocks and each pageblock's
migratetype, with the CMA area given as ``CMA`` pageblocks where it physically lies), the
watermarks (explicit, or derived with the v4.6 formulas), ``lowmem_reserve``, which
request classes are enabled and how many pages each may hold at once, and the switches
that select kernel behaviour (v4.6 fair zone allocation policy or v4.8 highest-zone-first).
Each design maps the same scope onto its own zone layout, so designs are compared on the
same memory.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from .errors import ScopeError
from .vocab import CLASS_INDEX, GFP_CLASSES, MT_FROM_NAME, Migratetype, ZoneType

__all__ = [
    "Scope", "ZoneSpec", "DEFAULT_SCOPE_TOML", "default_scope", "load_scope", "parse_scope",
    "init_per_zone_wmark_min", "setup_per_zone_wmarks", "setup_per_zone_lowmem_reserve",
    "LOWMEM_RESERVE_RATIO",
]

#: v4.6 ``sysctl_lowmem_reserve_ratio`` on a 64-bit kernel with ZONE_DMA and ZONE_DMA32
#: (positional array {256, 256, 32}); zones above NORMAL have no lower zone to protect.
LOWMEM_RESERVE_RATIO = {ZoneType.ZONE_DMA: 256, ZoneType.ZONE_DMA32: 256,
                        ZoneType.ZONE_NORMAL: 32, ZoneType.ZONE_MOVABLE: 32,
                        ZoneType.ZONE_CMA: 32}

_ZONE_NAMES = {"DMA": ZoneType.ZONE_DMA, "DMA32": ZoneType.ZONE_DMA32,
               "Normal": ZoneType.ZONE_NORMAL, "NORMAL": ZoneType.ZONE_NORMAL,
               "Movable": ZoneType.ZONE_MOVABLE, "MOVABLE": ZoneType.ZONE_MOVABLE,
               "CMA": ZoneType.ZONE_CMA}

DEFAULT_SCOPE_TOML = """\
# mmspec default scope: one node, a Normal zone of 5 pageblocks (2 pages each),
# two of them the CMA area. Small enough for exhaustive search in about a second.
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
GFP_KERNEL = 2
GFP_HIGHUSER_MOVABLE = 3
BLOCKDEV = 1
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

    def with_changes(self, **kw: Any) -> "Scope":
        return replace(self, **kw)

    def to_toml(self) -> str:
        """Render the scope back as a TOML scope file (deterministic)."""
        out = [f"pages_per_pageblock = {self.pages_per_pageblock}",
               f"fair_zone_policy = {str(self.fair_zone_policy).lower()}",
               f"direct_reclaim_rounds = {self.direct_reclaim_rounds}",
               f"kswapd_reclaim_batch = {self.kswapd_reclaim_batch}",
               f"orders = [{', '.join(str(o) for o in self.orders)}]"]
        if self.pin_blockdev:
            out.append("pin_blockdev = true")
        if self.cma_alloc_pageblocks:
            out.append(f"cma_alloc_pageblocks = {self.cma_alloc_pageblocks}")
        if self.page_age:
            out.append("page_age = true")
        out.append("")
        for z in self.zones:
            out.append(f"[zones.{z.zone_type.label}]")
            if z.pageblocks:
                out.append("pageblocks = [" + ", ".join(
                    f'"{mt.name[len("MIGRATE_"):]}"' for mt in z.pageblocks) + "]")
            if z.watermarks is not None:
                out.append(f"watermarks = [{', '.join(str(w) for w in z.watermarks)}]")
            if z.lowmem_reserve:
                out.append("lowmem_reserve = { " + ", ".join(
                    f"{zt.label} = {v}" for zt, v in z.lowmem_reserve) + " }")
            out.append("")
        if self.derive:
            out.append("[derive_watermarks]")
            out.extend(f"{k} = {_toml_value(v)}" for k, v in self.derive)
            out.append("")
        out.append("[requests]")
        out.extend(f"{c.name if c.name.isidentifier() else c.short.upper()} = {n}"
                   for c, n in zip(GFP_CLASSES, self.limits)
                   if n or not c.high_order)     # high-order classes only when enabled
        if self.extra:
            out.extend(["", "[design]"])
            out.extend(f"{k} = {_toml_value(v)}" for k, v in self.extra)
        return "\n".join(out) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


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
             "pin_blockdev", "cma_alloc_pageblocks", "page_age"}
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
        if wm is not None:
            if (not isinstance(wm, list) or len(wm) != 3):
                raise ScopeError(f"{origin}: zones.{name}.watermarks must be [min, low, high]")
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
        zones.append(ZoneSpec(zt, tuple(blocks), wm, tuple(lr)))
    zones.sort(key=lambda z: z.zone_type)
    for a, b in zip(zones, zones[1:]):
        if a.zone_type == b.zone_type:
            raise ScopeError(f"{origin}: zone {a.zone_type.label} is given twice "
                             "(zone names are case-sensitive aliases: use one table per zone)")
    if not any(z.pageblocks for z in zones):
        raise ScopeError(f"{origin}: no zone has pageblocks; give e.g. zones.Normal.pageblocks")
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
    return Scope(pages_per_pageblock=ppb, zones=tuple(zones), limits=tuple(limits),
                 fair_zone_policy=fair, direct_reclaim_rounds=rounds,
                 kswapd_reclaim_batch=batch, derive=tuple(sorted(derive.items())),
                 orders=tuple(sorted(set(orders))), extra=tuple(sorted(design.items())),
                 **features)


def load_scope(path: str) -> Scope:
    """Read a TOML scope file. Raises ScopeError (one line) for any problem."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ScopeError(f"scope file {path!r} does not exist") from None
    except IsADirectoryError:
        raise ScopeError(f"scope file {path!r} is a directory, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScopeError(f"scope file {path!r} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScopeError(f"scope file {path!r} cannot be read: {exc}") from None
    return parse_scope(data, origin=path)


def default_scope() -> Scope:
    """The default scope (``DEFAULT_SCOPE_TOML``)."""
    return parse_scope(tomllib.loads(DEFAULT_SCOPE_TOML), origin="default scope")


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
