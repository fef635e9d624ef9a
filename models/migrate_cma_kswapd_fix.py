"""migrate_cma_kswapd_fix: v4.6 MIGRATE_CMA plus a kswapd wake-up that sees what kswapd sees,
so movable allocations that drain ordinary memory wake kswapd.

Mechanism
    The rule chosen: when ``get_page_from_freelist`` in the **fast path** (ALLOC_WMARK_LOW)
    finds a zone's watermark ok for a request with ALLOC_CMA, it re-tests that zone, before
    taking the page, with the same low-watermark check *without* ALLOC_CMA (free CMA pages subtracted, i.e. the view of
    the unmovable requests and of kswapd's ``zone_watermark_ok_safe`` with alloc_flags 0).
    If that check fails, the allocation still succeeds but ``wake_all_kswapds(order,
    classzone)`` runs as it would at the top of ``__alloc_pages_slowpath``; the unchanged
    ``wakeup_kswapd`` then wakes kswapd iff some zone fails ``zone_balanced(high)`` without
    CMA. kswapd's balance and sleep tests are unchanged (they already ignore free CMA).

    Why this rule: Mel Gorman's reply was "fix the classzone idx handling in kswapd and in
    the watermark check so that it wakes up and reclaims" -- the defect is that the check
    deciding whether to wake kswapd counts free CMA for movable requests while kswapd's own
    goal does not. Making the wake decision use kswapd's accounting fixes exactly that
    mismatch without changing what movable requests may allocate (they still count CMA for
    their own success, so utilization is as in v4.6). The alternative, letting kswapd count
    free CMA (ALLOC_CMA in zone_balanced), would make kswapd *less* willing to reclaim and
    cannot wake it earlier. classzone: the request's own (the preferred zone's index, as
    the v4.6 slow path passes it); with one zone the "classzone handling" part reduces to
    this watermark part. This is an interpretation: Mel gave no patch.

Source
    Mel Gorman, 2016-04-29, <20160429092902.GQ2858@techsingularity.net>, reply in the
    "[PATCH v2 0/6] Introduce ZONE_CMA" thread (Joonsoo Kim, 2016-04-25,
    <1461561670-28012-1-git-send-email-iamjoonsoo.kim@lge.com>), against Linux v4.6; no patch
    was posted or merged. history-and-claims.md section 1.4 and section 2, claims C4 and C6.

Abstractions
    As migrate_cma (docs/semantics.md). The extra test runs only in the fast path (the slow
    path has already run wake_all_kswapds). It is placed just before ``__rmqueue`` (the
    design overrides ``rmqueue`` for that); the trace's closing "kswapd not woken" line of
    a fast-path success is the generic renderer's text, the "changed:" line shows the wake.
"""

from mmspec.check import Verdict
from mmspec.kernel import Allocator
from mmspec.vocab import ALLOC_CMA, ALLOC_WMARK_LOW, ALLOC_WMARK_MASK


class MigrateCmaKswapdFix(Allocator):
    name = "migrate_cma_kswapd_fix"
    rank = 13
    title = ("v4.6 + Mel's kswapd fix: a fast-path movable success that fails the watermark "
             "without free CMA wakes kswapd")
    source = ("Mel Gorman, <20160429092902.GQ2858@techsingularity.net> (ZONE_CMA v2 thread), "
              "on Linux v4.6; proposal, no patch")
    cma_zone = False
    cma_migratetype = True
    wmark_basis_includes_cma = False

    # Verdicts the model shows at scope `tiny`
    # (`mmspec check --design migrate_cma_kswapd_fix --scope tiny`); observations, pinned by
    # tests.
    expected = {
        "tiny": {
            # C4 fixed without a zone (Mel's side of C6): HOLDS, also with
            # --limit GFP_HIGHUSER_MOVABLE=4.
            "atomic_while_kswapd_sleeps": Verdict.HOLDS,
            "kswapd_reclaims_while_cma_idle": Verdict.VIOLATED,   # C1: earlier wakes, same target
            "movable_bypasses_idle_cma": Verdict.VIOLATED,        # C2: CMA still last resort
            "utilization_oscillation": Verdict.VIOLATED,          # C1/C2 cycle unchanged
            "unmovable_reclaim_frees_cma": Verdict.VIOLATED,      # C7
            "unmovable_pressure_while_half_free": Verdict.VIOLATED,  # C11
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
    # same verdicts as at `tiny` (atomic_while_kswapd_sleeps still HOLDS)
    expected["default"] = dict(expected["tiny"])

    def get_page_from_freelist(self, w, ci, order, alloc_flags, where):
        # Remember the request's class (its zonelist) and classzone for rmqueue below.
        self._ci, self._classzone = ci, self.ztype[self._zonelist[ci][0]]
        return super().get_page_from_freelist(w, ci, order, alloc_flags, where)

    def rmqueue(self, w, p, order, mt, alloc_flags):
        """The fix, at the point where ``get_page_from_freelist`` has found the zone's
        watermark ok and is about to take the page: in the fast path with ALLOC_CMA, repeat
        ``zone_watermark_ok(low)`` without ALLOC_CMA; if that fails, ``wake_all_kswapds``
        as the slow path would. Then v4.6 ``__rmqueue``."""
        if (alloc_flags & ALLOC_WMARK_MASK) == ALLOC_WMARK_LOW and alloc_flags & ALLOC_CMA:
            flags = alloc_flags & ~ALLOC_CMA
            mark = self.wm[p][ALLOC_WMARK_LOW]
            if not self.zone_watermark_ok(w, p, order, mark, self._classzone, flags):
                w.paths.append("kswapd fix: wake in the fast path")
                if w.log is not None:
                    w.say("    fix: " + self._fmt_check(
                        w, p, order, mark, "low", self._classzone, flags, False).replace(
                        " -> next zone", "") + " -> wake_all_kswapds, then allocate")
                self.wake_all_kswapds(w, self._ci, order, self._classzone)
        return super().rmqueue(w, p, order, mt, alloc_flags)


DESIGN = MigrateCmaKswapdFix
