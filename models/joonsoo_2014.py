"""joonsoo_2014: MIGRATE_CMA with Joonsoo Kim's 2014 "aggressively allocate" series: free CMA
pages never count in the watermark check (patch 3) and movable/CMA interleaving by ratio
(patch 2), each a switch.

Mechanism
    Patch 3 "CMA: always treat free cma pages as non-free on watermark checking": every
    ``__zone_watermark_ok`` subtracts NR_FREE_CMA_PAGES, with or without ALLOC_CMA, so a
    movable request sees the same ``free - free_cma`` as kswapd and the unmovable requests;
    movable allocations that drain ordinary memory therefore fail their low-watermark
    check, enter the slow path and wake kswapd (claim C5). ALLOC_CMA still lets
    ``__rmqueue`` use the CMA lists.
    Patch 2 "CMA: aggressively allocate the pages on cma reserved memory when not used":
    movable requests are split between the MOVABLE and the CMA free lists in the ratio
    ``(free - free_cma - high_wmark) : free_cma``. Modelled statelessly (see Abstractions):
    at the start of ``__rmqueue`` a MIGRATE_MOVABLE request takes the CMA lists first iff
    ``free_cma > free - free_cma - high_wmark``, i.e. from whichever pool is further from
    its share, ties to the MOVABLE lists; that keeps both pools draining toward empty
    together, which is the fixed point of the ratio.

Switches (scope ``[design]`` table)
    ``joonsoo_cma_never_counts`` (default true): patch 3.
    ``joonsoo_interleave`` (default true): patch 2.

Source
    Joonsoo Kim, "[PATCH v2 0/3] Aggressively allocate the pages on cma reserved memory",
    2014-05-28, <1401260672-28339-1-git-send-email-iamjoonsoo.kim@lge.com> (RFC 2014-05-08
    <1399509144-8898-1-git-send-email-iamjoonsoo.kim@lge.com>), based on Linux v3.15-rc7;
    not merged. history-and-claims.md section 1.1 and section 2, claims C3, C4, C5.

Abstractions
    Applied to the v4.6 skeleton rather than v3.15 (same watermark, __rmqueue and kswapd
    structure for these rules; fair zone policy per scope). Patch 2 keeps per-zone counters
    (an allocation count and the current list, switching lists only after at least
    pageblock_nr_pages allocations; in v2 the ratio comes from managed CMA pages and is
    recomputed only when the CMA area changes). The model has no such state field, so the
    interleave is the stateless balance rule above with the RFC's live counters; the
    "at least pageblock_nr_pages per run" batching is not modelled. Patch 1 (a retry in
    __alloc_contig_migrate_range) has no effect on the model (no cma_alloc).
"""

from mmspec.check import Verdict
from mmspec.kernel import Allocator
from mmspec.vocab import Migratetype

_M = int(Migratetype.MIGRATE_MOVABLE)


class Joonsoo2014(Allocator):
    name = "joonsoo_2014"
    rank = 12
    title = ("2014 aggressive CMA on v4.6: free CMA never counts in watermarks (3/3), "
             "movable/CMA interleave by ratio (2/3)")
    source = ("[PATCH v2 0/3] Aggressively allocate the pages on cma reserved memory, "
              "Joonsoo Kim, 2014-05-28, <1401260672-28339-1-git-send-email-iamjoonsoo.kim@lge.com>, "
              "on v3.15-rc7")
    cma_zone = False
    cma_migratetype = True
    wmark_basis_includes_cma = False

    # Verdicts the model shows at scope `tiny` with both switches on
    # (`mmspec check --design joonsoo_2014 --scope tiny`); observations, pinned by
    # tests/test_designs.py. The default scope's table follows.
    expected = {
        "tiny": {
            "atomic_while_kswapd_sleeps": Verdict.HOLDS,          # C5 confirmed (patch 3)
            "kswapd_reclaims_while_cma_idle": Verdict.VIOLATED,
            "movable_bypasses_idle_cma": Verdict.HOLDS,           # C3: interleave uses CMA early
            "utilization_oscillation": Verdict.HOLDS,             # C3: no C1/C2 cycle
            # VACUOUS: at this scope no unmovable/reclaimable request ever enters direct reclaim
            # under this design (movable requests wake kswapd early and are steered into CMA), so
            # this check tests nothing here. With one more GFP_KERNEL page
            # (--limit GFP_KERNEL=3) it is VIOLATED in 7 steps (C7: the reclaim path is unchanged).
            "unmovable_reclaim_frees_cma": Verdict.VACUOUS,
            # C11: unmovable requests do arrive while over half of memory is free (witness), and
            # none fails or reclaims then: the aggressive CMA use keeps ordinary memory free.
            "unmovable_pressure_while_half_free": Verdict.HOLDS,
            "blockdev_in_cma": Verdict.VIOLATED,
            # opt-in checks, each at its own scope (`mmspec compare --all`), as observed:
            "cma_alloc_no_ebusy": Verdict.VIOLATED,
            "cma_alloc_never_fails": Verdict.VIOLATED,
            "page_age_inversion": Verdict.VACUOUS,  # one zone: no cross-zone LRU to invert (the witness needs two zones)
            "page_age_inversion_fair": Verdict.VACUOUS,  # one zone: no cross-zone LRU to invert (the witness needs two zones)
        },
        "compaction": {"compaction_empties_unusable_cma": Verdict.VIOLATED},
    }
    # the default scope (GFP_KERNEL 3, GFP_HIGHUSER_MOVABLE 4, BLOCKDEV 2), as observed: the
    # third GFP_KERNEL page moves two verdicts, every other one is as at `tiny`
    expected["default"] = {
        **expected["tiny"],
        # VACUOUS at `tiny` -> VIOLATED (7 steps, C7): 3 movable pages (2 steered into CMA),
        # GFP_ATOMIC and 2 GFP_KERNEL take Normal to free 4 - free_cma 2 = 2 <= min 2; the
        # third GFP_KERNEL request enters direct reclaim, which frees a movable page of a
        # MIGRATE_CMA pageblock (the reclaim path is v4.6's)
        "unmovable_reclaim_frees_cma": Verdict.VIOLATED,
        # HOLDS at `tiny` -> VIOLATED (9 steps, C11): the same start; the third GFP_KERNEL
        # request fails twice after reclaiming CMA pages, and on the third try enters direct
        # reclaim at free 6 of 10 (over half of memory free; 4 of the 6 are CMA)
        "unmovable_pressure_while_half_free": Verdict.VIOLATED,
    }

    def __init__(self, scope):
        super().__init__(scope)
        self.never_counts = scope.switch("joonsoo_cma_never_counts", True)
        self.interleave = scope.switch("joonsoo_interleave", True)

    def watermark_counts_cma(self, alloc_flags):
        """Patch 3: free CMA pages never count (ALLOC_CMA no longer exempts); off: v4.6."""
        if self.never_counts:
            return False
        return super().watermark_counts_cma(alloc_flags)

    def cma_first(self, w, p, mt, alloc_flags):
        """Patch 2 (stateless): CMA first iff free_cma > free - free_cma - high_wmark."""
        if not self.interleave or mt != _M:
            return False
        z = w.zones[p]
        return z.nr_free_cma > z.nr_free - z.nr_free_cma - self.wm[p][2]


DESIGN = Joonsoo2014
