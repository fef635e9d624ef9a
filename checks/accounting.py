"""Bookkeeping invariants every design must keep: page conservation, free-page counters,
and no kernel (unmovable or reclaimable) page in CMA memory.

page_conservation: in every zone, free pages plus pages in use equal the zone's managed
pages, and NR_FREE_PAGES equals the free pages of its pageblocks (v4.6
__mod_zone_freepage_state bookkeeping). Witness: an allocation succeeds.

nr_free_cma_accounting: NR_FREE_CMA_PAGES equals the free pages in MIGRATE_CMA pageblocks
(claims table, accounting item of the checks issue). Witness: an allocation is served from CMA memory.

no_unmovable_in_cma: no MIGRATE_UNMOVABLE or MIGRATE_RECLAIMABLE request's page ever sits in
CMA memory (CMA pageblocks, or ZONE_CMA). This is the guarantee that makes cma_alloc possible
(fallbacks[] never names MIGRATE_CMA; ZONE_CMA is above every unmovable request's highest
zone). Witness: an unmovable or reclaimable allocation succeeds while CMA memory has free pages.

Expected: HOLDS for every design.
"""

from mmspec.check import Check, Verdict
from mmspec.ops import any_
from mmspec.state import ALLOC
from mmspec.vocab import GFP_CLASSES, Migratetype

from ._cma import on_kinds

_KERNEL_CLASSES = tuple(i for i, c in enumerate(GFP_CLASSES)
                        if c.migratetype in (Migratetype.MIGRATE_UNMOVABLE,
                                             Migratetype.MIGRATE_RECLAIMABLE))
_ALL = {"*": {"*": Verdict.HOLDS}}   # at every scope, for every design (also later ones)


def _conservation_broken(model, s) -> bool:
    broken = []
    for p, z in enumerate(s.zones):
        free = sum(b.free for b in z.blocks)
        used = sum(sum(b.held) for b in z.blocks)
        broken.append((free + used != model.layout[p].managed) | (z.nr_free != free))
        broken.extend((b.free < 0) | any_([h < 0 for h in b.held]) for b in z.blocks)
    return any_(broken)


@on_kinds(ALLOC)
def _some_page_in_use(model, pre, action, effect, post) -> bool:
    return action.kind == "alloc" and effect.ok


def _cma_counter_wrong(model, s) -> bool:
    for z in s.zones:
        if z.nr_free_cma != sum(b.free for b in z.blocks if b.mt == Migratetype.MIGRATE_CMA):
            return True
    return False


@on_kinds(ALLOC)
def _cma_page_in_use(model, pre, action, effect, post) -> bool:
    return (action.kind == "alloc" and effect.ok
            and model.is_cma_memory(effect.zone, effect.block,
                                    post.zones[effect.zone].blocks[effect.block].mt))


def _kernel_page_in_cma(model, s) -> bool:
    for p, z in enumerate(s.zones):
        for i, b in enumerate(z.blocks):
            if model.is_cma_memory(p, i, b.mt) and any(b.held[c] for c in _KERNEL_CLASSES):
                return True
    return False


@on_kinds(ALLOC)
def _kernel_alloc_while_cma_free(model, pre, action, effect, post) -> bool:
    if action.kind != "alloc" or action.cls not in _KERNEL_CLASSES or not effect.ok:
        return False
    return any(b.free for p, z in enumerate(pre.zones) for i, b in enumerate(z.blocks)
               if model.is_cma_memory(p, i, b.mt))


PAGE_CONSERVATION = Check(
    name="page_conservation",
    title="free + in-use pages = managed pages and NR_FREE_PAGES matches, per zone",
    claim="accounting",
    witness_doc="an allocation succeeds",
    witness=_some_page_in_use,
    bad_state=_conservation_broken,
    expected=_ALL,
)

NR_FREE_CMA_ACCOUNTING = Check(
    name="nr_free_cma_accounting",
    title="NR_FREE_CMA_PAGES equals the free pages in MIGRATE_CMA pageblocks",
    claim="accounting",
    witness_doc="an allocation is served from CMA memory",
    witness=_cma_page_in_use,
    bad_state=_cma_counter_wrong,
    expected=_ALL,
)

NO_UNMOVABLE_IN_CMA = Check(
    name="no_unmovable_in_cma",
    title="no unmovable or reclaimable page ever sits in CMA memory",
    claim="accounting (C14 premise)",
    witness_doc="an unmovable/reclaimable allocation succeeds while CMA memory has free pages",
    witness=_kernel_alloc_while_cma_free,
    bad_state=_kernel_page_in_cma,
    expected=_ALL,
)

RANK = 90
CHECKS = (PAGE_CONSERVATION, NR_FREE_CMA_ACCOUNTING, NO_UNMOVABLE_IN_CMA)
