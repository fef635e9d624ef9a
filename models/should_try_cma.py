"""should_try_cma: MIGRATE_CMA with Johannes Weiner's 2023 watermark-aware "prefer CMA" test
in place of the v5.8 50 % rule.

Mechanism
    At the start of ``__rmqueue``, a request with ALLOC_CMA takes the CMA free lists first
    iff ``NR_FREE_CMA_PAGES > (NR_FREE_PAGES - lowmem_reserve[highest_zoneidx] - wmark) / 2``
    (C division of a signed long: truncation toward zero), else the v4.6 order follows.
    The v5.8 rule compares free CMA with half of *all* free pages; this one with half of the
    pages the request could still allocate above its watermark, so CMA is used as soon as it
    dominates the allocatable remainder (C18: Johannes's counterexample to the 50 % rule,
    free 3.0G, watermarks 2.0G, CMA 1.4G, non-CMA 1.6G).

    Which watermark: the one of the pass that calls ``__rmqueue`` (``alloc_flags &
    ALLOC_WMARK_MASK``: low in the fast path, min in the slow path). Reason: that is the
    mark ``get_page_from_freelist`` has just checked the zone against, so
    ``free - lowmem_reserve - wmark`` is exactly the headroom this request is allowed to
    consume; the proposal's aim is "use CMA once it dominates the memory that is still
    allocatable". (Exact code of the mail: UNVERIFIED here; this is the stated formula with
    the pass's watermark.)

Source
    Johannes Weiner, reply of 2023-11-07 <20231107172820.GA3745089@cmpxchg.org> to Zhaoyang
    Huang's "mm: optimization on page allocation when CMA enabled" (v6, 2023-10-16
    <20231016071245.2865233-1-zhaoyang.huang@unisoc.com>), proposed against Linux v6.6-era
    mm (not merged). Replaces the v5.8 rule of commit 16867664936e.
    history-and-claims.md section 4.5, claims C17 and C18.

Abstractions
    Grafted onto the v4.6 skeleton (fair zone policy per scope, zone-LRU kswapd, no pcp
    lists: the test runs per page rather than per pcp refill). lowmem_reserve is indexed by
    the request's classzone (the highest populated zone of its zonelist), which equals
    ``lowmem_reserve[gfp_zone(gfp)]`` because unpopulated higher indices repeat the value of
    the highest populated one. ALLOC_CMA is set exactly for MIGRATE_MOVABLE requests, as in
    v4.6. Otherwise as migrate_cma (docs/semantics.md).
"""

from mmspec.check import Verdict
from mmspec.kernel import Allocator
from mmspec.vocab import ALLOC_CMA, ALLOC_WMARK_MASK


class ShouldTryCma(Allocator):
    name = "should_try_cma"
    rank = 11
    title = ("2023 should_try_cma on v4.6: CMA first when free CMA > "
             "(free - lowmem_reserve - wmark)/2")
    source = ("Johannes Weiner, 2023-11-07, <20231107172820.GA3745089@cmpxchg.org> "
              "(should_try_cma, proposed against v6.6-era mm, not merged)")
    cma_zone = False
    cma_migratetype = True
    wmark_basis_includes_cma = False

    # Verdicts the model shows at scope `tiny` (`mmspec check --design should_try_cma --scope
    # tiny`); observations, pinned by tests/test_designs.py. Claim numbers:
    # history-and-claims.md s7.
    expected = {
        "tiny": {
            # C18 confirmed: HOLDS, and still HOLDS with --limit GFP_HIGHUSER_MOVABLE=4 or 5,
            # where prefer_cma_v58 is VIOLATED (tests/test_designs.py pins both).
            "atomic_while_kswapd_sleeps": Verdict.HOLDS,
            "kswapd_reclaims_while_cma_idle": Verdict.VIOLATED,   # C1 not fully removed
            "movable_bypasses_idle_cma": Verdict.HOLDS,           # C18: CMA used from the start
            "utilization_oscillation": Verdict.HOLDS,             # C3-like: no C1/C2 cycle
            "unmovable_reclaim_frees_cma": Verdict.VIOLATED,      # C7: reclaim unchanged
            "unmovable_pressure_while_half_free": Verdict.VIOLATED,  # C11
            "blockdev_in_cma": Verdict.VIOLATED,                  # any ALLOC_CMA request qualifies
            # opt-in checks, each at its own scope (`mmspec compare --all`), as observed:
            "cma_alloc_no_ebusy": Verdict.VIOLATED,
            "cma_alloc_never_fails": Verdict.VIOLATED,
            "page_age_inversion": Verdict.VACUOUS,  # one zone: no cross-zone LRU to invert (the witness needs two zones)
            "page_age_inversion_fair": Verdict.VACUOUS,  # one zone: no cross-zone LRU to invert (the witness needs two zones)
        },
        "compaction": {"compaction_empties_unusable_cma": Verdict.VIOLATED},
    }
    # the default scope (GFP_KERNEL 3, GFP_HIGHUSER_MOVABLE 4, BLOCKDEV 2), as observed: the
    # same verdicts as at `tiny` (atomic_while_kswapd_sleeps still HOLDS with the 4th movable
    # page, where prefer_cma_v58 is VIOLATED: C18)
    expected["default"] = dict(expected["tiny"])

    def get_page_from_freelist(self, w, ci, order, alloc_flags, where):
        # Remember the request's classzone for cma_first (lowmem_reserve[highest_zoneidx]).
        self._classzone = self.ztype[self._zonelist[ci][0]]
        return super().get_page_from_freelist(w, ci, order, alloc_flags, where)

    def cma_first(self, w, p, mt, alloc_flags):
        """should_try_cma(): ALLOC_CMA and free_cma > (free - lowmem_reserve - wmark) / 2."""
        if not alloc_flags & ALLOC_CMA:
            return False
        z = w.zones[p]
        avail = (z.nr_free - self.lr[p][self._classzone]
                 - self.wm[p][alloc_flags & ALLOC_WMARK_MASK])
        half = -((-avail) // 2) if avail < 0 else avail // 2   # C: truncation toward zero
        return z.nr_free_cma > half


DESIGN = ShouldTryCma
