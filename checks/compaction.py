"""Compaction for high-order requests (claims C9, C10; problem 4 of the ZONE_CMA v2 cover
letter).

Claims (history-and-claims.md section 1.4 and section 7): C9, under MIGRATE_CMA (v4.6) the
migration scanner of direct compaction takes MIGRATE_MOVABLE *and* MIGRATE_CMA pageblocks
in async mode whatever the request (``migrate_async_suitable``), so compaction on behalf of
an unmovable high-order request can migrate the movable pages out of CMA pageblocks and
leave free pageblock-order blocks in CMA memory that the request cannot allocate -- Joonsoo
Kim's example ``CCCCCMMMM -> FFFCCMMMM`` (<20160429065145.GA19896@js1304-P5Q-DELUXE>; cover
letter <1461561670-28012-1-git-send-email-iamjoonsoo.kim@lge.com>). C10: the outcome is
unreachable with Mel Gorman's fix (skip MIGRATE_CMA pageblocks when the requester is neither
movable nor CMA, <20160429092902.GQ2858@techsingularity.net>; design
migrate_cma_compaction_skip) and in zone designs (compaction is per zone; an unmovable
request's zonelist never contains ZONE_CMA).

Model extension (docs/semantics.md section 11): the high-order request class KERNEL_HIGH
(``alloc_pages(GFP_KERNEL|__GFP_COMP, pageblock_order)``) and v4.6 direct compaction in its
slow path. The default scope has no high-order requests, so the check carries scope
overrides (an opt-in check: it runs when named, ``--check compaction_empties_unusable_cma``;
``scopes/compaction.toml`` is the same scope as a file). Why this memory: with 2-page
pageblocks (order 1) v4.6 ``compaction_suitable`` needs ``free - free_cma > low + 4`` (the
order-0 test with the request's alloc_flags) and a fragmentation index outside [0, 500],
which at order 1 requires some free pageblock-order block (index -1000); the smallest memory
where compaction for an unmovable order-1 request can run at all is two CMA pageblocks
(one of them free, the other holding movable pages) and five MOVABLE pageblocks each with one
free page (low watermark 0). Eleven movable pages fill the MOVABLE pageblocks and spill into
CMA; [zones.CMA] watermarks 3/3/3 make zone_cma fill Normal first so that its Normal
pageblocks fragment the same way. The fair zone policy is off (one zone in v4.6; it only
adds NR_ALLOC_BATCH states).

Check ``compaction_empties_unusable_cma`` (C9/C10): direct compaction run for a request
whose migratetype is not MOVABLE (so it cannot use CMA memory) never leaves a pageblock of
CMA memory that held pages before the compaction entirely free (one free pageblock-order
block on the CMA free list).
Witness: direct compaction runs for such a request while CMA memory holds an in-use
movable page (the situation C9 is about).
Expected: migrate_cma VIOLATED (C9); migrate_cma_compaction_skip HOLDS and zone_cma HOLDS
(C10).
"""

from mmspec.check import Check, Verdict
from mmspec.state import ALLOC
from mmspec.vocab import GFP_CLASSES, Migratetype

from ._cma import cma_positions

#: scope overrides (TOML form, merged onto the scope in use); scopes/compaction.toml is the
#: same scope as a file
SCOPE = {
    "pages_per_pageblock": 2,
    "fair_zone_policy": False,
    "zones": {"Normal": {"pageblocks": ["CMA", "CMA", "MOVABLE", "MOVABLE", "MOVABLE",
                                        "MOVABLE", "MOVABLE"],
                         "watermarks": [0, 0, 0]},
              "CMA": {"watermarks": [3, 3, 3]}},
    "requests": {"GFP_ATOMIC": 0, "GFP_KERNEL": 0, "GFP_HIGHUSER_MOVABLE": 11, "BLOCKDEV": 0,
                 "SLAB": 0, "KERNEL_HIGH": 1},
}

#: request classes that cannot use CMA memory (v4.6: only MIGRATE_MOVABLE may)
_NOT_MOVABLE = frozenset(i for i, c in enumerate(GFP_CLASSES)
                         if c.migratetype != Migratetype.MIGRATE_MOVABLE)
_LRU = tuple(i for i, c in enumerate(GFP_CLASSES) if c.lru)


def _cma_holds_movable(model, s) -> bool:
    zs = s.zones
    return any(zs[p].blocks[b].held[ci] for p, b in cma_positions(model)[0] for ci in _LRU)


def _compaction_for_unmovable(model, pre, action, effect, post) -> bool:
    return (action.kind == ALLOC and action.cls in _NOT_MOVABLE and action.order > 0
            and ("direct compaction" in effect.paths
                 or "direct compaction (sync-light)" in effect.paths)
            and _cma_holds_movable(model, pre))


def _empties_cma(model, pre, action, effect, post) -> bool:
    return (action.kind == ALLOC and action.cls in _NOT_MOVABLE
            and "compaction empties a CMA pageblock" in effect.paths)


_compaction_for_unmovable.kinds = _empties_cma.kinds = frozenset({ALLOC})

COMPACTION_EMPTIES_UNUSABLE_CMA = Check(
    name="compaction_empties_unusable_cma",
    title="compaction for an unmovable high-order request never empties a CMA pageblock",
    claim="C9, C10",
    witness_doc="direct compaction runs for an unmovable high-order request while CMA memory "
                "holds movable pages",
    witness=_compaction_for_unmovable,
    bad_step=_empties_cma,
    expected={"compaction": {"migrate_cma": Verdict.VIOLATED, "zone_cma": Verdict.HOLDS,
                             "migrate_cma_compaction_skip": Verdict.HOLDS}},
    needs=("direct compaction",),
    scope=SCOPE,
)

RANK = 25
CHECKS = (COMPACTION_EMPTIES_UNUSABLE_CMA,)
