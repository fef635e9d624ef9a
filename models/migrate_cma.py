"""MIGRATE_CMA: CMA memory as MIGRATE_CMA pageblocks inside an ordinary zone (mainline v4.6).

Mechanism
    CMA pageblocks stay in the zone they physically belong to (``init_cma_reserved_pageblock``).
    Only MIGRATE_MOVABLE requests may take them, and only after the zone's MOVABLE free
    lists are empty (``__rmqueue`` -> ``__rmqueue_cma_fallback``). Requests without ALLOC_CMA
    (everything but MOVABLE) and kswapd (``zone_watermark_ok_safe``, alloc_flags 0) subtract
    NR_FREE_CMA_PAGES in ``__zone_watermark_ok``; movable requests count free CMA pages.

Source
    Linux v4.6 (4.6.2 tree, root commit 6bcd5b16): mm/page_alloc.c (__zone_watermark_ok,
    get_page_from_freelist, __alloc_pages_nodemask, __alloc_pages_slowpath, gfp_to_alloc_flags,
    __rmqueue, __rmqueue_fallback, steal_suitable_fallback, reset_alloc_batches),
    mm/vmscan.c (wakeup_kswapd, kswapd, balance_pgdat, pgdat_balanced, zone_balanced,
    kswapd_shrink_zone, try_to_free_pages), include/linux/gfp.h (GFP_ZONE_TABLE).

Abstractions
    As in docs/semantics.md: no per-cpu lists, one node, scaled reclaim batches, list order
    replaced by pfn order, highatomic reserve empty, OOM killer and compaction not modelled.
    Watermarks derived from the kernel formulas use the v4.6 boot order (CMA pages not yet
    managed when init_per_zone_wmark_min runs).
"""

from mmspec.kernel import Allocator


class MigrateCma(Allocator):
    name = "migrate_cma"
    rank = 0
    title = "v4.6 mainline: CMA as MIGRATE_CMA pageblocks in ZONE_NORMAL, ALLOC_CMA for movable"
    source = "Linux v4.6 (4.6.2 tree) mm/page_alloc.c, mm/vmscan.c"
    cma_zone = False
    cma_migratetype = True
    wmark_basis_includes_cma = False


DESIGN = MigrateCma
