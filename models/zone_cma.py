"""ZONE_CMA: CMA memory moved into its own highest zone (Joonsoo Kim's v2 patch set on 4.6).

Mechanism
    "[PATCH v2 0/6] Introduce ZONE_CMA" (25 Apr 2016, Message-Id
    <1461561670-28012-1-git-send-email-iamjoonsoo.kim@lge.com>, base next-20160413):
    2/6 adds ZONE_CMA after ZONE_MOVABLE and maps __GFP_MOVABLE|__GFP_HIGHMEM to it in
    GFP_ZONE_TABLE; 3/6 steals every CMA pageblock into ZONE_CMA; 4/6 removes ALLOC_CMA (no
    free-CMA subtraction anywhere); 5/6 removes MIGRATE_CMA (the pageblocks become
    MIGRATE_MOVABLE, no __rmqueue_cma_fallback); 6/6 removes NR_FREE_CMA_PAGES.
    Consequences modelled: only GFP_HIGHUSER_MOVABLE (highest zone ZONE_CMA) can use CMA
    memory and walks CMA > Normal (classzone ZONE_CMA); Normal keeps
    lowmem_reserve[ZONE_CMA] = managed(CMA) // 32 (setup_per_zone_lowmem_reserve); kswapd
    judges ZONE_CMA on its own watermarks; direct reclaim for Normal-limited requests never
    reaches ZONE_CMA. Everything else is the v4.6 skeleton (fair zone policy per scope).

Abstractions
    As for migrate_cma (docs/semantics.md). ZONE_CMA's watermarks come from the scope's
    [zones.CMA] table, or from the v4.6 formulas with CMA pages managed at watermark time
    (the v6-era series makes cma_init_reserved_areas a pure_initcall).
"""

from mmspec.kernel import Allocator, ZoneLayout
from mmspec.scope import Scope
from mmspec.vocab import GfpClass, Migratetype, ZoneType


class ZoneCma(Allocator):
    name = "zone_cma"
    rank = 1
    title = "ZONE_CMA v2 (2016) on 4.6: CMA pages in a separate highest zone, no ALLOC_CMA"
    source = ("[PATCH v2 0/6] Introduce ZONE_CMA, Joonsoo Kim, 2016-04-25, "
              "<1461561670-28012-1-git-send-email-iamjoonsoo.kim@lge.com>")
    cma_zone = True
    cma_migratetype = False
    wmark_basis_includes_cma = True

    def build_layout(self, scope: Scope) -> tuple[ZoneLayout, ...]:
        """3/6 "populate ZONE_CMA" + 5/6: CMA pageblocks leave their zone and join ZONE_CMA
        as MIGRATE_MOVABLE; the other pageblocks stay."""
        zones = []
        ncma = 0
        for z in scope.zones:
            if not z.pageblocks:
                continue
            rest = tuple(b for b in z.pageblocks if b != Migratetype.MIGRATE_CMA)
            ncma += len(z.pageblocks) - len(rest)
            if rest:
                zones.append((z.zone_type, rest))
        if ncma:
            zones.append((ZoneType.ZONE_CMA, (Migratetype.MIGRATE_MOVABLE,) * ncma))
        return self._finish_layout(scope, zones)

    def gfp_zone(self, c: GfpClass) -> ZoneType:
        """2/6: GFP_ZONE_TABLE entry __GFP_MOVABLE|__GFP_HIGHMEM -> OPT_ZONE_CMA (ZONE_CMA)."""
        return ZoneType.ZONE_CMA if c.highmem_movable else ZoneType.ZONE_NORMAL

    def is_cma_memory(self, p: int, b: int, mt: int) -> bool:
        return self.layout[p].ztype == ZoneType.ZONE_CMA


DESIGN = ZoneCma
