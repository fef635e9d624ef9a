"""Blockdev buffer pages in CMA memory (claim C14; C19 premise).

Claim (history-and-claims.md sections 1.4 and 7; Joonsoo Kim
<20160429065145.GA19896@js1304-P5Q-DELUXE> and <20160502061423.GA31646@js1304-P5Q-DELUXE>,
Vlastimil Babka <5727069B.5070600@suse.cz>): block-device buffer pages
(``sb_bread``/``__getblk`` -> ``grow_dev_page``: GFP_USER|__GFP_MOVABLE|__GFP_NOFAIL in v4.6)
are MIGRATE_MOVABLE, so under MIGRATE_CMA they may land in CMA pageblocks
(``__rmqueue_cma_fallback``), where pinned-under-I/O buffers make ``cma_alloc`` slow or fail;
ZONE_CMA maps only __GFP_MOVABLE|__GFP_HIGHMEM to ZONE_CMA, so without __GFP_HIGHMEM they can
never reach CMA memory (the flip side, Mel's: CMA utilization then needs highmem-movable
demand). Pinning itself and ``cma_alloc`` are not modelled (C19 needs a model extension).

Check ``blockdev_in_cma``: no block-device buffer allocation is served from CMA memory.
Witness: a block-device buffer allocation succeeds while CMA memory has a free page.
Expected: migrate_cma VIOLATED, zone_cma HOLDS.
"""

from mmspec.check import Check, Verdict
from mmspec.state import ALLOC
from mmspec.vocab import BLOCKDEV_BUFFER

from ._cma import free_cma, in_cma, on_kinds


@on_kinds(ALLOC)
def _blockdev_alloc_while_cma_free(model, pre, action, effect, post) -> bool:
    return (action.kind == ALLOC and action.cls == BLOCKDEV_BUFFER and effect.ok
            and free_cma(model, pre) > 0)


@on_kinds(ALLOC)
def _blockdev_in_cma(model, pre, action, effect, post) -> bool:
    return (action.kind == ALLOC and action.cls == BLOCKDEV_BUFFER and effect.ok
            and in_cma(model, post, effect.zone, effect.block))


BLOCKDEV_IN_CMA = Check(
    name="blockdev_in_cma",
    title="no block-device buffer page is allocated from CMA memory",
    claim="C14",
    witness_doc="a blockdev buffer allocation succeeds while CMA memory has a free page",
    witness=_blockdev_alloc_while_cma_free,
    bad_step=_blockdev_in_cma,
    # as observed at `tiny` and at the default scope alike
    expected={scope: {"migrate_cma": Verdict.VIOLATED, "zone_cma": Verdict.HOLDS}
              for scope in ("tiny", "default")},
    needs=("fast path: Normal",),   # the only zone blockdev requests reach in zone designs
)

RANK = 40
CHECKS = (BLOCKDEV_IN_CMA,)
