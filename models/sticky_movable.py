"""sticky_movable: Mel Gorman's "sticky MIGRATE_MOVABLE" pageblocks for the CMA area, with
optional interleaving of MOVABLE and sticky MOVABLE in the movable allocation path.

Mechanism
    The CMA area's pageblocks are sticky MIGRATE_MOVABLE: only MIGRATE_MOVABLE requests
    allocate from them, UNMOVABLE and RECLAIMABLE requests never fall back into them and
    they are never retyped by stealing (``fallbacks[]`` does not name them). Free pages in
    sticky blocks cannot serve a non-movable request, so the watermark checks of requests
    that cannot use them (and kswapd's alloc_flags-0 checks) do not count them, exactly as
    ALLOC_CMA/NR_FREE_CMA_PAGES do for MIGRATE_CMA. Mel proposed expressing MIGRATE_CMA as
    this type; with interleaving off the model is therefore migrate_cma (the same states),
    which is Joonsoo Kim's reply ("I can't understand what is different").
    Interleaving (switch ``sticky_interleave``, default true; Mel's point 4, "interleave
    MOVABLE and sticky MOVABLE in the fallback path only", and "slow path interleave between
    CMA and !CMA regions for movable allocations"): a MIGRATE_MOVABLE request takes the
    sticky lists first iff the sticky blocks hold more free pages than the MOVABLE blocks;
    otherwise the v4.6 order (MOVABLE lists, sticky, __rmqueue_fallback). This drains both
    pools alternately at equal rates once they are level.

Source
    Mel Gorman, LSF/MM 2016 proposal restated in the "[PATCH v2 0/6] Introduce ZONE_CMA"
    thread, 2016-04-28 <20160428103927.GM2858@techsingularity.net> (points 1, 2 and 4) and
    2016-04-29 <20160429092902.GQ2858@techsingularity.net>, against Linux v4.6; no patch
    was posted. history-and-claims.md section 1.4 and section 9.2.

Abstractions
    Sticky blocks are represented by the model's MIGRATE_CMA pageblocks (identical list and
    counter behaviour; the trace spells them MIGRATE_CMA). Mel suggested a BATCH-like vmstat
    counter to drive the interleave, updated only while CMA is active; the model has no such
    state field, so the interleave is the stateless balance rule above (1:1 share), applied
    in ``__rmqueue`` (the buddy path behind the per-cpu lists, which the model omits).
    Points 3 (linear reclaim in alloc_contig_range), 5-8 (kernelcore=, hot-add, deleting
    ZONE_MOVABLE, migrating before pinning) are out of the model's scope. v4.6 skeleton
    otherwise (docs/semantics.md).
"""

from mmspec.check import Verdict
from mmspec.kernel import Allocator
from mmspec.vocab import Migratetype

_M = int(Migratetype.MIGRATE_MOVABLE)
_C = int(Migratetype.MIGRATE_CMA)


class StickyMovable(Allocator):
    name = "sticky_movable"
    rank = 15
    title = ("Mel's sticky MIGRATE_MOVABLE (2016) for the CMA area, MOVABLE/sticky interleave "
             "in __rmqueue (switch)")
    source = ("Mel Gorman, <20160428103927.GM2858@techsingularity.net> and "
              "<20160429092902.GQ2858@techsingularity.net> (ZONE_CMA v2 thread), on Linux v4.6; "
              "proposal, no patch")
    cma_zone = False
    cma_migratetype = True
    wmark_basis_includes_cma = False

    # Verdicts the model shows at scope `tiny` with interleaving on
    # (`mmspec check --design sticky_movable --scope tiny`) and at the default scope (below);
    # observations, pinned by tests. With sticky_interleave = false the design is
    # migrate_cma (the same states: 5986 at `tiny`; the same verdicts).
    expected = {
        "tiny": {
            # HOLDS at this scope: the interleave spreads movable pages over both pools, so
            # ordinary memory is not drained first (the atomic failure of C4 needs it
            # drained, kswapd asleep). VIOLATED at the default scope (below).
            "atomic_while_kswapd_sleeps": Verdict.HOLDS,
            "kswapd_reclaims_while_cma_idle": Verdict.VIOLATED,
            "movable_bypasses_idle_cma": Verdict.VIOLATED,        # tie goes to MOVABLE first
            "utilization_oscillation": Verdict.VIOLATED,
            "unmovable_reclaim_frees_cma": Verdict.VIOLATED,      # C7: Mel's linear reclaim not modelled
            "unmovable_pressure_while_half_free": Verdict.VIOLATED,  # C11: any design (Joonsoo)
            "blockdev_in_cma": Verdict.VIOLATED,
            # opt-in checks, each at its own scope (`mmspec compare --all`), as observed:
            "cma_alloc_no_ebusy": Verdict.VIOLATED,
            "cma_alloc_never_fails": Verdict.VIOLATED,
            "page_age_inversion": Verdict.VACUOUS,  # one zone: no cross-zone LRU to invert (the witness needs two zones)
            "page_age_inversion_fair": Verdict.VACUOUS,  # one zone: no cross-zone LRU to invert (the witness needs two zones)
        },
        "compaction": {"compaction_empties_unusable_cma": Verdict.VIOLATED},
    }
    # the default scope (GFP_KERNEL 3, GFP_HIGHUSER_MOVABLE 4, BLOCKDEV 2), as observed:
    expected["default"] = {
        **expected["tiny"],
        # HOLDS at `tiny` -> VIOLATED (8 steps, C4 is back): two GFP_KERNEL pages, then the
        # 4th movable page levels the pools at 2 free pages each, so the blockdev request
        # (a tie goes to the MOVABLE lists) takes an ordinary page in the fast path by
        # counting free CMA (kswapd asleep) and GFP_ATOMIC sees free 3 - free_cma 2 = 1 <=
        # min 2->1. At `tiny` the 3rd movable page leaves the sticky pool ahead (3 > 2), the
        # blockdev page goes there and ordinary memory keeps 2 free pages.
        "atomic_while_kswapd_sleeps": Verdict.VIOLATED,
    }

    def __init__(self, scope):
        super().__init__(scope)
        self.interleave = scope.switch("sticky_interleave", True)

    def cma_first(self, w, p, mt, alloc_flags):
        """Interleave: sticky lists first iff they hold more free pages than MOVABLE's."""
        if not self.interleave or mt != _M:
            return False
        blocks = w.zones[p].blocks
        # free pages on the sticky (CMA) and on the MOVABLE lists, summed without branching
        # on each pageblock's migratetype (a bool counts as 0 or 1)
        sticky = sum(b.free * (b.mt == _C) for b in blocks)
        movable = sum(b.free * (b.mt == _M) for b in blocks)
        return sticky > movable


DESIGN = StickyMovable
