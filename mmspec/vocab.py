"""Kernel vocabulary: migratetypes, zone types, alloc_flags, gfp request classes (v4.6 spellings)."""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

__all__ = [
    "Migratetype", "ZoneType", "KswapdPhase", "GfpClass", "GFP_CLASSES", "CLASS_INDEX",
    "ALLOC_WMARK_MIN", "ALLOC_WMARK_LOW", "ALLOC_WMARK_HIGH", "ALLOC_WMARK_MASK",
    "ALLOC_NO_WATERMARKS", "ALLOC_HARDER", "ALLOC_HIGH", "ALLOC_CPUSET", "ALLOC_CMA",
    "ALLOC_FAIR", "alloc_flags_str", "MT_SHORT", "MT_FROM_NAME",
    "GFP_ATOMIC", "GFP_KERNEL", "GFP_HIGHUSER_MOVABLE", "BLOCKDEV_BUFFER", "SLAB_RECLAIMABLE",
    "KERNEL_HIGH",
]


class Migratetype(IntEnum):
    """Pageblock migratetypes, numbered as ``enum migratetype`` in v4.6 include/linux/mmzone.h."""

    MIGRATE_UNMOVABLE = 0
    MIGRATE_MOVABLE = 1
    MIGRATE_RECLAIMABLE = 2
    MIGRATE_HIGHATOMIC = 3
    MIGRATE_CMA = 4
    MIGRATE_ISOLATE = 5


MT_SHORT = {
    Migratetype.MIGRATE_UNMOVABLE: "U",
    Migratetype.MIGRATE_MOVABLE: "M",
    Migratetype.MIGRATE_RECLAIMABLE: "R",
    Migratetype.MIGRATE_HIGHATOMIC: "H",
    Migratetype.MIGRATE_CMA: "C",
    Migratetype.MIGRATE_ISOLATE: "I",
}
MT_FROM_NAME = {}
for _mt, _s in MT_SHORT.items():
    MT_FROM_NAME[_s] = _mt
    MT_FROM_NAME[_mt.name] = _mt
    MT_FROM_NAME[_mt.name[len("MIGRATE_"):]] = _mt


class ZoneType(IntEnum):
    """``enum zone_type`` of a 64-bit v4.6 kernel with CONFIG_ZONE_DMA/DMA32 and no HIGHMEM.

    ZONE_CMA is the zone added by "[PATCH v2 2/6] mm/cma: introduce new zone, ZONE_CMA"
    (after ZONE_MOVABLE); it only exists in designs that populate it.
    """

    ZONE_DMA = 0
    ZONE_DMA32 = 1
    ZONE_NORMAL = 2
    ZONE_MOVABLE = 3
    ZONE_CMA = 4

    @property
    def label(self) -> str:
        """The name /proc/zoneinfo prints ("DMA", "Normal", "Movable", "CMA")."""
        return {0: "DMA", 1: "DMA32", 2: "Normal", 3: "Movable", 4: "CMA"}[int(self)]


class KswapdPhase(IntEnum):
    """Where the node's kswapd thread is (v4.6 mm/vmscan.c: kswapd(), kswapd_try_to_sleep()).

    SLEEPING and NAPPING both mean kswapd is on ``pgdat->kswapd_wait`` (so
    ``waitqueue_active()`` is true for wakeup_kswapd); RUNNING means it is inside
    balance_pgdat().
    """

    SLEEPING = 0
    NAPPING = 1
    RUNNING = 2


# alloc_flags, v4.6 mm/internal.h
ALLOC_WMARK_MIN = 0x00
ALLOC_WMARK_LOW = 0x01
ALLOC_WMARK_HIGH = 0x02
ALLOC_WMARK_MASK = 0x03
ALLOC_NO_WATERMARKS = 0x04
ALLOC_HARDER = 0x10
ALLOC_HIGH = 0x20
ALLOC_CPUSET = 0x40
ALLOC_CMA = 0x80
ALLOC_FAIR = 0x100


def alloc_flags_str(flags: int) -> str:
    """Spell alloc_flags the way mm/internal.h names them, e.g. ``WMARK_MIN|HIGH|HARDER``."""
    parts = [("MIN", "LOW", "HIGH", "?")[flags & ALLOC_WMARK_MASK]]
    for bit, name in ((ALLOC_HIGH, "ALLOC_HIGH"), (ALLOC_HARDER, "ALLOC_HARDER"),
                      (ALLOC_CMA, "ALLOC_CMA"), (ALLOC_FAIR, "ALLOC_FAIR")):
        if flags & bit:
            parts.append(name)
    return "|".join(parts)


class GfpClass(NamedTuple):
    """One request class of the gfp table (kernel-semantics.md section 2.5, v4.6).

    Attributes
    ----------
    name : the gfp mask as kernel code spells it.
    migratetype : ``gfpflags_to_migratetype(gfp)``.
    highmem_movable : True when the mask has both __GFP_HIGHMEM and __GFP_MOVABLE, so
        ``gfp_zone()`` gives ZONE_MOVABLE (v4.6) or ZONE_CMA (ZONE_CMA patch 2/6); otherwise
        the highest zone is ZONE_NORMAL.
    high : __GFP_HIGH (ALLOC_HIGH in the slow path).
    atomic : __GFP_ATOMIC (ALLOC_HARDER in the slow path, v4.6 gfp_to_alloc_flags).
    direct_reclaim : __GFP_DIRECT_RECLAIM.
    kswapd_reclaim : __GFP_KSWAPD_RECLAIM (wake_all_kswapds in the slow path).
    nofail : __GFP_NOFAIL.
    lru : pages of this class sit on the zone LRU and can be reclaimed.
    short : a short label for tables.
    high_order : the class requests ``pageblock_order`` (the model's ``MAX_ORDER - 1``)
        instead of order 0; its pages are allocated and freed ``2**pageblock_order`` at a time.
    fs_io : the mask has both __GFP_FS and __GFP_IO (v4.6 ``try_to_compact_pages`` compacts
        only then; consulted for order > 0 requests only).
    """

    name: str
    migratetype: Migratetype
    highmem_movable: bool
    high: bool
    atomic: bool
    direct_reclaim: bool
    kswapd_reclaim: bool
    nofail: bool
    lru: bool
    short: str
    high_order: bool = False
    fs_io: bool = False


GFP_ATOMIC = 0
GFP_KERNEL = 1
GFP_HIGHUSER_MOVABLE = 2
BLOCKDEV_BUFFER = 3
SLAB_RECLAIMABLE = 4
KERNEL_HIGH = 5

#: The request classes, in the fixed order used for per-class counters in every state.
GFP_CLASSES: tuple[GfpClass, ...] = (
    # GFP_ATOMIC = __GFP_HIGH | __GFP_ATOMIC | __GFP_KSWAPD_RECLAIM
    GfpClass("GFP_ATOMIC", Migratetype.MIGRATE_UNMOVABLE, False, True, True, False, True,
             False, False, "atomic"),
    # GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS
    GfpClass("GFP_KERNEL", Migratetype.MIGRATE_UNMOVABLE, False, False, False, True, True,
             False, False, "kernel", fs_io=True),
    # GFP_HIGHUSER_MOVABLE = GFP_USER | __GFP_HIGHMEM | __GFP_MOVABLE (anon faults, file cache)
    GfpClass("GFP_HIGHUSER_MOVABLE", Migratetype.MIGRATE_MOVABLE, True, False, False, True, True,
             False, True, "movable", fs_io=True),
    # sb_bread/__getblk -> grow_dev_page(): GFP_USER (bdev mapping, minus __GFP_FS)
    #   | __GFP_MOVABLE | __GFP_NOFAIL  (fs/buffer.c, include/linux/buffer_head.h, v4.6)
    GfpClass("GFP_USER|__GFP_MOVABLE|__GFP_NOFAIL", Migratetype.MIGRATE_MOVABLE, False, False,
             False, True, True, True, True, "blockdev"),
    # reclaimable slab: GFP_KERNEL | __GFP_RECLAIMABLE (SLAB_RECLAIM_ACCOUNT caches)
    GfpClass("GFP_KERNEL|__GFP_RECLAIMABLE", Migratetype.MIGRATE_RECLAIMABLE, False, False, False,
             True, True, False, False, "slab", fs_io=True),
    # high-order kernel allocation (e.g. kmalloc_large, slab pages of high order):
    #   alloc_pages(GFP_KERNEL | __GFP_COMP, pageblock_order); MIGRATE_UNMOVABLE, has
    #   __GFP_FS|__GFP_IO, so v4.6 runs direct compaction for it. Appended last so the
    #   indices of the order-0 classes stay.
    GfpClass("GFP_KERNEL|__GFP_COMP", Migratetype.MIGRATE_UNMOVABLE, False, False, False, True,
             True, False, False, "kernel_high", high_order=True, fs_io=True),
)

#: Names accepted on the command line and in scope files for each class.
CLASS_INDEX: dict[str, int] = {}
for _i, _c in enumerate(GFP_CLASSES):
    CLASS_INDEX[_c.name] = _i
    CLASS_INDEX[_c.short] = _i
CLASS_INDEX.update({"GFP_ATOMIC": 0, "GFP_KERNEL": 1, "GFP_HIGHUSER_MOVABLE": 2,
                    "BLOCKDEV": 3, "BDEV": 3, "SLAB": 4, "GFP_KERNEL|__GFP_RECLAIMABLE": 4,
                    "KERNEL_HIGH": 5, "GFP_KERNEL_HIGH": 5})
