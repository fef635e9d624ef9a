"""Reading a scope: TOML data checked key by key into a :class:`~mmspec.scope_spec.Scope`.

:func:`parse_scope` is the lower layer of scope files: its data is the whole scope
(omitted request classes 0, omitted zones absent, omitted watermarks derived, switches
off), and every problem is a one-line :class:`~mmspec.errors.ScopeError` naming the key.
:func:`default_scope` is :data:`~mmspec.scope_spec.DEFAULT_SCOPE_TOML` parsed. Merging
files and flags onto the default scope is :mod:`mmspec.scope`.
"""

from __future__ import annotations

import functools
import tomllib
from typing import Any, Mapping

from .errors import ScopeError
from .scope_spec import (_PHYSICAL_ONLY, _ZONE_NAMES, DEFAULT_SCOPE_TOML, DERIVED, Scope,
                         ZoneSpec, _freeze_machine)
from .vocab import CLASS_INDEX, GFP_CLASSES, MT_FROM_NAME, Migratetype, ZoneType

__all__ = ["parse_scope", "default_scope"]


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


@functools.lru_cache(maxsize=1)
def default_scope() -> Scope:
    """The default scope (``DEFAULT_SCOPE_TOML``)."""
    return parse_scope(tomllib.loads(DEFAULT_SCOPE_TOML), origin="default scope")
