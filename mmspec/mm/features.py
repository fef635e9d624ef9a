"""The scope switches that add state (docs/semantics.md section 10), all off by default.

Pinned blockdev buffer pages (``submit_bh``/``end_buffer_io``: an extra page reference
while under I/O, so the page can be neither freed nor reclaimed nor migrated), the actions
``pin``/``unpin``/``cma_alloc``/``cma_release`` (their successors, guards, descriptions and
steps), and LRU page ages (``lru_cache_add`` puts a new page at the young end; reclaim takes
the oldest page of a zone's LRU, mm/vmscan.c ``shrink_inactive_list``).
"""

from __future__ import annotations

from typing import Iterator

from ..errors import TraceReplayError
from ..state import CMA_ALLOC, CMA_RELEASE, PIN, UNPIN, Action, Effect, State
from ..vocab import GFP_CLASSES
from .common import _BLOCKDEV, _ISOLATE, _Work

__all__ = ["Features"]


class Features:
    """Pins, the cma_alloc actions and LRU page ages (mixed into :class:`~mmspec.mm.Allocator`)."""

    def _freeable(self, s: State, p: int, b: int, ci: int) -> bool:
        # a pinned buffer page (an extra reference while under I/O) is not freed/reclaimed
        if ci != _BLOCKDEV:
            return True
        return s.zones[p].blocks[b].held[ci] > s.pins.count((p, b))

    def _age_take(self, w: _Work, p: int, b: int, ci: int, n: int) -> None:
        # page_age: a new LRU page is the youngest (lru_cache_add puts it at the list head)
        if GFP_CLASSES[ci].lru:
            pins, cma, lru = w.feat
            w.feat = (pins, cma, lru + ((p, b, ci),) * n)

    def _age_free(self, w: _Work, p: int, b: int, ci: int) -> None:
        # page_age: the freed page of (zone, pageblock, class) is the oldest such page
        if GFP_CLASSES[ci].lru:
            pins, cma, lru = w.feat
            i = lru.index((p, b, ci))
            w.feat = (pins, cma, lru[:i] + lru[i + 1:])

    def _age_move(self, w: _Work, src: tuple[int, int, int], dst: tuple[int, int, int]) -> None:
        # page_age: a migrated page (cma_alloc, compaction) keeps its LRU age position
        pins, cma, lru = w.feat
        i = lru.index(src)
        w.feat = (pins, cma, lru[:i] + (dst,) + lru[i + 1:])

    def _feature_candidates(self, w: _Work, zones) -> tuple[tuple[int, int, int], ...]:
        """Reclaim candidates with pins and/or page ages.

        Pinned pages are skipped (v4.6 ``shrink_page_list``: a buffer under I/O cannot be
        released, ``try_to_release_page`` fails; the pinned pages of a pageblock are taken to
        be its oldest blockdev pages). With ``page_age`` each zone offers only its oldest
        reclaimable LRU page (v4.6 per-zone LRU: ``shrink_inactive_list`` isolates from the
        tail of the inactive list; active/inactive abstracted into one age order). Pages of a
        pageblock that cma_alloc has isolated are off the LRU (being migrated)."""
        pins = w.feat[0]
        if not self.page_age:
            out = []
            for p in zones:
                for b, blk in enumerate(w.zones[p].blocks):
                    for ci in self.lru_classes:
                        n = blk.held[ci]
                        if n and blk.mt != _ISOLATE and (ci != _BLOCKDEV or n > pins.count((p, b))):
                            out.append((p, b, ci))
            return tuple(out)
        out = []
        lru = w.feat[2]
        for p in zones:
            skipped: dict = {}
            for e in lru:
                if e[0] != p or w.zones[p].blocks[e[1]].mt == _ISOLATE:
                    continue
                if e[2] == _BLOCKDEV and pins:
                    k = skipped.get(e, 0)
                    if k < pins.count((e[0], e[1])):
                        skipped[e] = k + 1
                        continue
                out.append(e)
                break
        return tuple(out)

    def _feature_successors(self, s: State) -> Iterator[tuple[Action, State, Effect]]:
        """pin/unpin per (zone, pageblock) in zone then pfn order, then cma_alloc, then
        cma_release per held range in range order."""
        if self.pin_blockdev:
            for p, z in enumerate(s.zones):
                for b, blk in enumerate(z.blocks):
                    if blk.held[_BLOCKDEV] > s.pins.count((p, b)):
                        a = Action(PIN, _BLOCKDEV, 0, p, b)
                        yield a, *self._run(s, a, None)
            for p, b in sorted(set(s.pins)):
                a = Action(UNPIN, _BLOCKDEV, 0, p, b)
                yield a, *self._run(s, a, None)
        if self.cma_alloc_pageblocks:
            if self._cma_free_windows(s):
                yield from self._branch(s, Action(CMA_ALLOC), None)
            for rng in s.cma:
                a = Action(CMA_RELEASE, -1, 0, rng[0][0], rng[0][1])
                yield a, *self._run(s, a, None)

    def _feature_enabled(self, s: State, a: Action) -> bool:
        if a.kind == PIN:
            return (self.pin_blockdev and not a.victims and 0 <= a.zone < len(s.zones)
                    and 0 <= a.block < len(s.zones[a.zone].blocks)
                    and s.zones[a.zone].blocks[a.block].held[_BLOCKDEV] > s.pins.count((a.zone, a.block)))
        if a.kind == UNPIN:
            return self.pin_blockdev and not a.victims and (a.zone, a.block) in s.pins
        if a.kind == CMA_ALLOC:
            return bool(self.cma_alloc_pageblocks) and bool(self._cma_free_windows(s))
        if a.kind == CMA_RELEASE:
            return (bool(self.cma_alloc_pageblocks) and not a.victims
                    and any(rng[0] == (a.zone, a.block) for rng in s.cma))
        return False

    def _feature_describe(self, a: Action) -> str:
        zl = self.layout[a.zone].label if 0 <= a.zone < self.nz else a.zone
        if a.kind == PIN:
            return f"submit_bh: blockdev buffer page of {zl} pageblock {a.block} pinned under I/O"
        if a.kind == UNPIN:
            return f"end_buffer_io: blockdev buffer page of {zl} pageblock {a.block} unpinned"
        if a.kind == CMA_ALLOC:
            n = self.cma_alloc_pageblocks * self.ppb
            return f"cma_alloc(count={n}, align={self.pageblock_order})"
        if a.kind == CMA_RELEASE:
            n = self.cma_alloc_pageblocks * self.ppb
            return f"cma_release({zl} pageblock {a.block}, count={n})"
        return f"<unknown action {a.kind}>"

    def _feature_step(self, w: _Work, a: Action) -> tuple[bool, int, int]:
        pins, cma, lru = w.feat
        if a.kind == PIN:
            w.feat = (tuple(sorted(pins + ((a.zone, a.block),))), cma, lru)
            w.paths.append("pin blockdev page")
            if w.log is not None: w.say(self._feature_describe(a) + " (get_bh: an extra page "
                                       "reference until end_buffer_io)")
            return True, a.zone, a.block
        if a.kind == UNPIN:
            i = pins.index((a.zone, a.block))
            w.feat = (pins[:i] + pins[i + 1:], cma, lru)
            w.paths.append("unpin blockdev page")
            if w.log is not None: w.say(self._feature_describe(a))
            return True, a.zone, a.block
        if a.kind == CMA_RELEASE:
            return self._cma_release(w, a)
        if a.kind == CMA_ALLOC:
            return self._cma_alloc(w)
        raise TraceReplayError(f"unknown action kind {a.kind!r}")
