"""Reclaim waste (claims C7, C8; problem 2 of the ZONE_CMA v2 cover letter).

Claims (history-and-claims.md section 7; ZONE_CMA v2 cover letter
<1461561670-28012-1-git-send-email-iamjoonsoo.kim@lge.com>, Mel Gorman's reply
<20160428103927.GM2858@techsingularity.net>): C7, under MIGRATE_CMA reclaim triggered by an
unmovable or reclaimable request can reclaim LRU pages that sit in CMA pageblocks, which
cannot help the request (it may not use CMA memory); C8, in a zone design direct reclaim
for such a request never frees a CMA page, because v4.6 ``try_to_free_pages`` ->
``shrink_zones`` only walks zones with index <= ``gfp_zone(gfp)`` and ZONE_CMA is above
ZONE_NORMAL.

Check ``unmovable_reclaim_frees_cma``: direct reclaim run on behalf of an unmovable or
reclaimable request (``__alloc_pages_direct_reclaim`` in that request's slow path) never
frees a page of CMA memory.
Witness: direct reclaim for an unmovable or reclaimable request frees a page.
Expected: migrate_cma VIOLATED (C7), zone_cma HOLDS (C8).
"""

from mmspec.check import Check, Verdict
from mmspec.state import ALLOC

from ._cma import KERNEL_CLASSES, in_cma, on_kinds


@on_kinds(ALLOC)
def _kernel_direct_reclaim(model, pre, action, effect, post) -> bool:
    return (action.kind == ALLOC and action.cls in KERNEL_CLASSES
            and "direct reclaim" in effect.paths and bool(action.victims))


@on_kinds(ALLOC)
def _kernel_reclaim_frees_cma(model, pre, action, effect, post) -> bool:
    return (_kernel_direct_reclaim(model, pre, action, effect, post)
            and any(in_cma(model, pre, p, b) for p, b, _ in action.victims))


UNMOVABLE_RECLAIM_FREES_CMA = Check(
    name="unmovable_reclaim_frees_cma",
    title="direct reclaim for an unmovable/reclaimable request never frees a CMA page",
    claim="C7, C8",
    witness_doc="direct reclaim for an unmovable/reclaimable request frees a page",
    witness=_kernel_direct_reclaim,
    bad_step=_kernel_reclaim_frees_cma,
    # as observed at `tiny` and at the default scope alike
    expected={scope: {"migrate_cma": Verdict.VIOLATED, "zone_cma": Verdict.HOLDS}
              for scope in ("tiny", "default")},
    needs=("direct reclaim",),
)

RANK = 20
CHECKS = (UNMOVABLE_RECLAIM_FREES_CMA,)
