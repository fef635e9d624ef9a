"""What the mm/ modules share: v4.6 tables and constants, a zone's constants, and the
scratch state of one step (``_Work``: a mutable copy of the state that never escapes a step).
"""

from __future__ import annotations

from typing import NamedTuple

from ..state import State
from ..vocab import BLOCKDEV_BUFFER, KswapdPhase, Migratetype, ZoneType

__all__ = ["ZoneLayout", "NeedVictim", "FALLBACKS", "PAGE_ALLOC_COSTLY_ORDER",
           "EXTFRAG_THRESHOLD"]


U, M, R, H, C = (Migratetype.MIGRATE_UNMOVABLE, Migratetype.MIGRATE_MOVABLE,
                 Migratetype.MIGRATE_RECLAIMABLE, Migratetype.MIGRATE_HIGHATOMIC,
                 Migratetype.MIGRATE_CMA)
SLEEPING, NAPPING, RUNNING = KswapdPhase.SLEEPING, KswapdPhase.NAPPING, KswapdPhase.RUNNING

#: v4.6 ``fallbacks[]`` (mm/page_alloc.c): CMA and ISOLATE are never fallback sources.
FALLBACKS = {U: (R, M), R: (U, M), M: (R, U)}

_MTN = {int(mt): mt.name for mt in Migratetype}
#: v4.6 include/linux/mmzone.h; sysctl_extfrag_threshold (mm/compaction.c)
PAGE_ALLOC_COSTLY_ORDER = 3
EXTFRAG_THRESHOLD = 500
#: v4.6 include/linux/compaction.h status values (ordered: try_to_compact_pages takes the max)
COMPACT_DEFERRED, COMPACT_SKIPPED, COMPACT_CONTINUE, COMPACT_PARTIAL, COMPACT_COMPLETE = range(5)
_COMPACT_NAME = ("COMPACT_DEFERRED", "COMPACT_SKIPPED", "COMPACT_CONTINUE", "COMPACT_PARTIAL",
                 "COMPACT_COMPLETE")
#: the blockdev buffer request class (GFP_USER|__GFP_MOVABLE|__GFP_NOFAIL, vocab.py)
_BLOCKDEV = BLOCKDEV_BUFFER
_ISOLATE = int(Migratetype.MIGRATE_ISOLATE)


class ZoneLayout(NamedTuple):
    """The constants of one populated zone of a design instance."""

    ztype: ZoneType
    managed: int
    wmark: tuple[int, int, int]
    lowmem_reserve: tuple[int, ...]  # indexed by kernel zone index (classzone_idx)
    blocks: tuple[int, ...]           # initial migratetype of each pageblock

    @property
    def label(self) -> str:
        return self.ztype.label


class NeedVictim(Exception):
    """Raised inside a step when reclaim must choose a page and the action did not say which.

    ``candidates`` lists every legal choice as ``(zone, block, class)``; the enumerator in
    :meth:`Allocator.successors` branches over them.
    """

    def __init__(self, candidates: tuple[tuple[int, int, int], ...]) -> None:
        super().__init__(candidates)
        self.candidates = candidates


class _Work:
    """Mutable scratch copy of a state used inside one step (never escapes a step)."""

    __slots__ = ("zones", "kswapd", "max_order", "pgdat_cz", "order", "cz", "end_zone", "feat",
                 "log", "paths", "victims", "vi")

    def __init__(self, s: State, victims: tuple, log: list | None) -> None:
        self.zones = list(s.zones)
        self.kswapd, self.max_order, self.pgdat_cz = s.kswapd, s.kswapd_max_order, s.pgdat_classzone
        self.order, self.cz, self.end_zone = s.order, s.classzone, s.end_zone
        self.feat = s[7:]   # (pins, cma, lru): the feature fields (section 10 of docs/semantics.md)
        self.log = log
        self.paths: list[str] = []
        self.victims = victims
        self.vi = 0

    def freeze(self) -> State:
        return State(tuple(self.zones), self.kswapd, self.max_order, self.pgdat_cz,
                     self.order, self.cz, self.end_zone, *self.feat)

    def say(self, text: str) -> None:
        if self.log is not None:
            self.log.append(text)
