"""ZONE_CMA with "Mel's fill order": CMA memory kept free as long as possible (claim C6 variant).

Mechanism
    Identical to ``zone_cma`` (ZONE_CMA v2, 2016) except for the order in which
    GFP_HIGHUSER_MOVABLE requests walk the zones: ZONE_NORMAL first, ZONE_CMA last, so
    movable requests fill the ordinary zone before they touch CMA memory. This is the
    hypothetical fill policy in Mel Gorman's reply
    <20160429092902.GQ2858@techsingularity.net> ("if CMA is preserved as long as possible,
    a zone still lets movable requests fill the lower zone and the atomic request still
    fails"); no posted patch implements it. The contested claim C6
    (history-and-claims.md section 7) is checked on both fill orders: ``zone_cma``
    (highest zone first, Joonsoo's) and this one.

    The preferred zone, and so ``classzone_idx`` (v4.6 ``first_zones_zonelist``), is the
    first zone of the walked list: ZONE_NORMAL for movable requests here. kswapd is woken for
    every zone of that list (``wake_all_kswapds``) and direct reclaim walks the same zones.

    The fill order is modelled without the v4.6 fair zone policy, whatever the scope says:
    Mel's remark concerns the world after node-lru removed that policy (v4.8), and under it
    the order is not well defined: ``reset_alloc_batches`` re-arms only the zones up to the
    preferred zone, so ZONE_CMA (above the preferred ZONE_NORMAL) would never get its
    NR_ALLOC_BATCH back, an unbounded counter that no kernel zonelist produces (kernel
    zonelists always start at the highest usable zone).

Abstractions
    As for ``zone_cma``. The zonelist is reordered after ``Allocator.__init__`` builds it
    (``Allocator._zonelist``); kernel.py has no public hook for the zonelist order.
"""

from mmspec.check import Verdict
from mmspec.vocab import GFP_CLASSES, ZoneType

from .zone_cma import ZoneCma


class ZoneCmaCmaLast(ZoneCma):
    name = "zone_cma_cma_last"
    rank = 2
    title = "ZONE_CMA v2, Mel's fill order (movable: Normal before ZONE_CMA), no fair policy"
    source = ("ZONE_CMA v2 <1461561670-28012-1-git-send-email-iamjoonsoo.kim@lge.com> with "
              "the fill order of Mel Gorman's reply <20160429092902.GQ2858@techsingularity.net>")
    #: what the model shows at scope `tiny` (v4.6 fair zone policy) -- see README
    expected = {
        "tiny": {
            # Mel's hypothesis was VIOLATED ("movable requests still fill Normal and the atomic
            # request still fails"); the model shows HOLDS: a movable request meets Normal's own
            # low watermark (no ALLOC_CMA, no free-CMA term) and moves on to ZONE_CMA before
            # Normal drops to where GFP_ATOMIC fails, and every request that takes Normal below
            # low enters the slow path and wakes kswapd.
            "atomic_while_kswapd_sleeps": Verdict.HOLDS,
            "kswapd_reclaims_while_cma_idle": Verdict.VIOLATED,
            "movable_bypasses_idle_cma": Verdict.VIOLATED,     # by construction: CMA last
            "utilization_oscillation": Verdict.VIOLATED,
            "unmovable_reclaim_frees_cma": Verdict.HOLDS,
            "unmovable_pressure_while_half_free": Verdict.VIOLATED,
            "blockdev_in_cma": Verdict.HOLDS,
            # opt-in checks, each at its own scope (`mmspec compare --all`), as observed:
            "cma_alloc_no_ebusy": Verdict.HOLDS,
            "cma_alloc_never_fails": Verdict.VIOLATED,
            "page_age_inversion": Verdict.VIOLATED,
            "page_age_inversion_fair": Verdict.VIOLATED,
        },
        "compaction": {"compaction_empties_unusable_cma": Verdict.HOLDS},
    }
    # the default scope (GFP_KERNEL 3, GFP_HIGHUSER_MOVABLE 4, BLOCKDEV 2), as observed: the
    # same verdicts as at `tiny` (atomic_while_kswapd_sleeps still HOLDS: C6 on Mel's fill
    # order)
    expected["default"] = dict(expected["tiny"])

    def __init__(self, scope):
        super().__init__(scope)
        # Without the fair zone policy whatever the scope says (see the module docstring).
        self.fair = False
        for ci, c in enumerate(GFP_CLASSES):
            zl = self._zonelist[ci]
            cma = tuple(p for p in zl if self.ztype[p] == ZoneType.ZONE_CMA)
            self._zonelist[ci] = tuple(p for p in zl if p not in cma) + cma


DESIGN = ZoneCmaCmaLast
