"""``simulate``/``claims --scope FILE``: a full-scale run on an imported machine."""

from __future__ import annotations

from ..scope import load_scope
from ..simulate import FullScale
from ..vocab import Migratetype

__all__ = ["full_scale_of"]


def full_scale_of(path: str) -> FullScale:
    """The FullScale of a scope file (``mmspec import``): its zones as they are, and the
    sizes (pages, CMA pages, UNMOVABLE pageblocks, page size) that describe it."""
    scope = load_scope(path)
    ppb = scope.pages_per_pageblock
    blocks = [b for z in scope.zones for b in z.pageblocks]
    return FullScale(pages=len(blocks) * ppb,
                     cma_pages=sum(ppb for b in blocks if b == Migratetype.MIGRATE_CMA),
                     pages_per_pageblock=ppb,
                     page_kbytes=dict(scope.derive).get("page_kbytes", 4),
                     unmovable_pageblocks=sum(1 for b in blocks
                                              if b == Migratetype.MIGRATE_UNMOVABLE),
                     fair_zone_policy=scope.fair_zone_policy, scope=scope)
