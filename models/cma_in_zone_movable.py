"""cma_in_zone_movable: CMA pageblocks stolen into ZONE_MOVABLE, MIGRATE_CMA kept, ALLOC_CMA
removed (the series merged for v4.17-rc1 and reverted before v4.17).

Mechanism
    "mm/cma: manage the memory of the CMA area by using the ZONE_MOVABLE" (bad8c6c0b114):
    every CMA pageblock leaves its zone and joins ZONE_MOVABLE (page links rewritten,
    present/managed pages moved) and keeps MIGRATE_CMA, so NR_FREE_CMA_PAGES is still kept
    and ``__rmqueue`` still reaches the CMA lists through ``__rmqueue_cma_fallback`` for a
    MIGRATE_MOVABLE request (inside ZONE_MOVABLE that is the only list with pages).
    "mm/cma: remove ALLOC_CMA" (1d47a3ec09b5): ALLOC_CMA is gone; ``__zone_watermark_ok``
    never subtracts free CMA pages and counts the CMA free list in the high-order test
    unconditionally. Only requests whose ``gfp_zone`` is ZONE_MOVABLE (__GFP_HIGHMEM |
    __GFP_MOVABLE: GFP_HIGHUSER_MOVABLE) can reach it, walking Movable > Normal with
    classzone ZONE_MOVABLE; blockdev buffers (__GFP_MOVABLE without __GFP_HIGHMEM) stay in
    Normal (C14). lowmem_reserve: the v4.17 ratio table (DMA 256, DMA32 256, NORMAL 32,
    HIGHMEM 0, MOVABLE 0, 0 = no reserve); "don't reserve ZONE_HIGHMEM for ZONE_MOVABLE
    request" only zeroes the HIGHMEM slot, so NORMAL keeps ratio 32 against MOVABLE
    requests: ``lowmem_reserve_Normal[MOVABLE] = managed(Movable) // 32`` -- the same value
    the v4.6 formula gives (0 pages at the default scope, 4 // 32).
    ``cma_init_reserved_areas`` became a pure_initcall, so derived watermarks include the
    CMA pages.

Source
    Joonsoo Kim, "[PATCH 0/3] mm/cma: manage the memory of the CMA area by using the
    ZONE_MOVABLE", v1 2017-08-24 <1503556593-10720-1-...>, v2 2017-12-01 <1512114786-5085-1-...>;
    commits bad8c6c0b114 and 1d47a3ec09b5 (and 3d2054ad8c2d, ARM only), merged for Linux
    v4.17-rc1, reverted by d883c6cf3b39 before v4.17. kernel-semantics.md section 9.3 and
    section 6.3; history-and-claims.md section 3, claims C6, C13, C14.

Abstractions
    Grafted onto the v4.6 skeleton: v4.17 has node-lru and no fair zone policy (the scope
    switch ``--no-fair`` gives its highest-zone-first filling, the C6/C13 fill order);
    kswapd and reclaim are the v4.6 zone-LRU rules. ZONE_MOVABLE's watermarks come from the
    scope's [zones.Movable] table if present, else from [zones.CMA] (the table for "the
    zone CMA memory is moved into"), else from the kernel formulas with CMA pages managed.
    The i386 HIGHMEM boot failure that caused the revert (C15) is not modelled (64-bit,
    no HIGHMEM). Otherwise as migrate_cma (docs/semantics.md).
"""

from mmspec.check import Verdict
from mmspec.kernel import Allocator
from mmspec.vocab import ALLOC_CMA, Migratetype, ZoneType

_C = Migratetype.MIGRATE_CMA
_M = int(Migratetype.MIGRATE_MOVABLE)


class CmaInZoneMovable(Allocator):
    name = "cma_in_zone_movable"
    rank = 14
    title = ("v4.17-rc1 (reverted): CMA pageblocks stolen into ZONE_MOVABLE, MIGRATE_CMA "
             "kept, ALLOC_CMA removed")
    source = ("mm/cma: manage the memory of the CMA area by using the ZONE_MOVABLE, "
              "bad8c6c0b114 + mm/cma: remove ALLOC_CMA, 1d47a3ec09b5 (Joonsoo Kim), "
              "Linux v4.17-rc1, reverted d883c6cf3b39")
    cma_zone = False          # no ZONE_CMA: the CMA memory sits in ZONE_MOVABLE
    cma_migratetype = True    # MIGRATE_CMA and NR_FREE_CMA_PAGES kept (ALLOC_CMA removed below)
    wmark_basis_includes_cma = True

    # Verdicts the model shows at scope `tiny` and at the default scope
    # (`mmspec check --design cma_in_zone_movable [--scope tiny]`); observations, pinned by
    # tests. At both scopes this design is state-for-state the same as zone_cma (tiny: 36588
    # states, default: 112258; same witness counts and verdicts, opt-in checks included): a
    # zone of CMA pageblocks reached only through the CMA fallback behaves like a zone of
    # MOVABLE pageblocks, and both get lowmem_reserve 0.
    expected = {
        "tiny": {
            # C6, Joonsoo's side: HOLDS (also with --no-fair, highest-zone-first filling).
            "atomic_while_kswapd_sleeps": Verdict.HOLDS,
            "kswapd_reclaims_while_cma_idle": Verdict.VIOLATED,
            "movable_bypasses_idle_cma": Verdict.VIOLATED,        # fair policy interleaves zones
            "utilization_oscillation": Verdict.VIOLATED,
            "unmovable_reclaim_frees_cma": Verdict.HOLDS,         # C8: zone index protects CMA
            "unmovable_pressure_while_half_free": Verdict.VIOLATED,  # C11 (Mel's objection)
            "blockdev_in_cma": Verdict.HOLDS,                     # C14 confirmed
            # opt-in checks, each at its own scope (`mmspec compare --all`), as observed:
            "cma_alloc_no_ebusy": Verdict.HOLDS,
            "cma_alloc_never_fails": Verdict.VIOLATED,
            "page_age_inversion": Verdict.VIOLATED,
            "page_age_inversion_fair": Verdict.VIOLATED,
        },
        "compaction": {"compaction_empties_unusable_cma": Verdict.HOLDS},
    }
    # the default scope (GFP_KERNEL 3, GFP_HIGHUSER_MOVABLE 4, BLOCKDEV 2): as observed, the
    # same verdicts as at `tiny` (shorter traces: unmovable_pressure_while_half_free 5
    # steps, was 7; utilization_oscillation a lasso 6+7, was 10+8)
    expected["default"] = dict(expected["tiny"])

    def build_layout(self, scope):
        """bad8c6c0b114: CMA pageblocks move (as MIGRATE_CMA) into ZONE_MOVABLE, after any
        pageblocks ZONE_MOVABLE already has; the other pageblocks stay."""
        zones, stolen, movable = [], [], ()
        for z in scope.zones:
            if not z.pageblocks:
                continue
            rest = tuple(b for b in z.pageblocks if b != _C)
            stolen.extend(b for b in z.pageblocks if b == _C)
            if z.zone_type == ZoneType.ZONE_MOVABLE:
                movable = rest
            elif rest:
                zones.append((z.zone_type, rest))
        if movable or stolen:
            zones.append((ZoneType.ZONE_MOVABLE, movable + tuple(stolen)))
        return self._finish_layout(scope, zones)

    def _explicit_wmark(self, scope, zt):
        wm = super()._explicit_wmark(scope, zt)
        if wm is None and zt == ZoneType.ZONE_MOVABLE:
            wm = super()._explicit_wmark(scope, ZoneType.ZONE_CMA)
        return wm

    def fast_alloc_flags(self, c):
        """1d47a3ec09b5: ``__alloc_pages_nodemask`` no longer sets ALLOC_CMA."""
        return super().fast_alloc_flags(c) & ~ALLOC_CMA

    def slow_alloc_flags(self, c):
        """1d47a3ec09b5: ``gfp_to_alloc_flags`` no longer sets ALLOC_CMA."""
        return super().slow_alloc_flags(c) & ~ALLOC_CMA

    def watermark_cma(self, z, alloc_flags):
        """1d47a3ec09b5: ``__zone_watermark_ok`` never subtracts NR_FREE_CMA_PAGES."""
        return 0

    def _high_order_ok(self, z, order, alloc_flags):
        # 1d47a3ec09b5: a free CMA block counts in the high-order test unconditionally.
        return super()._high_order_ok(z, order, alloc_flags | ALLOC_CMA)

    def cma_fallback_allowed(self, mt, alloc_flags):
        """v4.17-rc1 ``__rmqueue``: ``__rmqueue_cma_fallback`` for MIGRATE_MOVABLE."""
        return mt == _M


DESIGN = CmaInZoneMovable
