"""Helpers shared by the debate checks (not a check theme: the registry skips ``_`` modules).

CMA memory is located through ``model.is_cma_memory(zone, pageblock, migratetype)`` so the
same predicate works for every design (MIGRATE_CMA pageblocks, ZONE_CMA, later designs).
A pageblock's CMA-ness never changes (``fallbacks[]`` never names MIGRATE_CMA and CMA
pageblocks are never retyped), so the positions are computed once per model instance from
its initial state.
"""

from __future__ import annotations

from mmspec.vocab import GFP_CLASSES, Migratetype

#: request classes whose pages are unmovable or reclaimable kernel pages
KERNEL_CLASSES = frozenset(i for i, c in enumerate(GFP_CLASSES)
                           if c.migratetype in (Migratetype.MIGRATE_UNMOVABLE,
                                                Migratetype.MIGRATE_RECLAIMABLE))
#: request classes with migratetype MIGRATE_UNMOVABLE (GFP_ATOMIC, GFP_KERNEL)
UNMOVABLE_CLASSES = frozenset(i for i, c in enumerate(GFP_CLASSES)
                              if c.migratetype == Migratetype.MIGRATE_UNMOVABLE)

def on_kinds(*kinds: str):
    """Declare that a transition predicate is false unless ``action.kind`` is one of
    ``kinds``; the explorer (:func:`mmspec.explore.explore`) then skips it on other kinds
    (a pure speed-up: the truth values are the same)."""
    def mark(fn):
        fn.kinds = frozenset(kinds)
        return fn
    return mark


def cma_positions(model) -> tuple[tuple[tuple[int, int], ...], int, int]:
    """``(positions, cma_pages, managed_pages)`` for ``model``: the (zone, pageblock) pairs
    that are CMA memory, the number of pages in them, and all managed pages of the node
    (cached on the model instance)."""
    val = model.__dict__.get("_checks_cma_positions")
    if val is not None:
        return val
    s = model.init_states()[0]
    pos = tuple((p, b) for p, z in enumerate(s.zones) for b, blk in enumerate(z.blocks)
                if model.is_cma_memory(p, b, blk.mt))
    size = sum(s.zones[p].blocks[b].free for p, b in pos)
    managed = sum(lay.managed for lay in model.layout)
    val = (pos, size, managed)
    model.__dict__["_checks_cma_positions"] = val
    return val


def free_cma(model, s) -> int:
    """Free pages in CMA memory (any design)."""
    zs = s.zones
    return sum(zs[p].blocks[b].free for p, b in cma_positions(model)[0])


def cma_idle(model, s) -> bool:
    """Every page of CMA memory is free (no CMA page in use)."""
    pos, size, _ = cma_positions(model)
    return bool(pos) and free_cma(model, s) == size


def total_free(s) -> int:
    return sum(z.nr_free for z in s.zones)


def in_cma(model, s, p: int, b: int) -> bool:
    return model.is_cma_memory(p, b, s.zones[p].blocks[b].mt)
