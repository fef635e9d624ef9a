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
from ..ops import any_, first_true, select
from ..state import CMA_ALLOC, CMA_RELEASE, PIN, UNPIN, Action, Effect, State
from ..vocab import GFP_CLASSES
from .common import _BLOCKDEV, _ISOLATE, _Work

__all__ = ["Features"]


class Features:
    """Pins, the cma_alloc actions and LRU page ages (mixed into :class:`~mmspec.mm.Allocator`).

    Fixed-size state parts (so every engine can hold them in a fixed layout): ``State.pins``
    is one count per pageblock (zones in position order, pageblocks in pfn order: the
    number of pinned blockdev buffer pages in it) and ``State.cma`` one flag per
    :meth:`~mmspec.mm.cma.Cma.cma_windows` position (1: that range is held by cma_alloc)
    and ``State.lru`` a fixed array of :meth:`lru_code` values, oldest first, 0 in the
    empty slots; each is ``()`` while its switch is off. :meth:`pinned_pages`,
    :meth:`cma_ranges` and :meth:`lru_pages` give them as lists for reports."""

    def _pinned(self, pins: tuple, p: int, b: int):
        """Pinned blockdev buffer pages in pageblock ``b`` of zone position ``p``."""
        return pins[self._pb_base[p] + b] if self.pin_blockdev else 0

    def _pins_add(self, pins: tuple, p: int, b: int, d: int) -> tuple:
        i = self._pb_base[p] + b
        return pins[:i] + (pins[i] + d,) + pins[i + 1:]

    def pinned_pages(self, s: State) -> tuple[tuple[int, int], ...]:
        """``(zone, pageblock)`` once per pinned blockdev page, in zone then pfn order."""
        if not self.pin_blockdev:
            return ()
        return tuple((p, b) for p, lay in enumerate(self.layout) for b in range(len(lay.blocks))
                     for _ in range(s.pins[self._pb_base[p] + b]))

    def pin_counts(self, pages) -> tuple[int, ...]:
        """``State.pins`` for the pinned pages ``pages`` (``(zone, pageblock)`` once per
        page; the inverse of :meth:`pinned_pages`)."""
        pins = (0,) * self._pb_base[-1]
        for p, b in pages:
            pins = self._pins_add(pins, p, b, 1)
        return pins

    def cma_ranges(self, s: State) -> tuple[tuple[tuple[int, int], ...], ...]:
        """The ranges cma_alloc holds, each a tuple of ``(zone, pageblock)``, in bitmap order."""
        if not self.cma_alloc_pageblocks:
            return ()
        return tuple(win for win, held in zip(self.cma_windows(), s.cma) if held)

    def _freeable(self, s: State, p: int, b: int, ci: int) -> bool:
        # a pinned buffer page (an extra reference while under I/O) is not freed/reclaimed
        if ci != _BLOCKDEV:
            return True
        return s.zones[p].blocks[b].held[ci] > self._pinned(s.pins, p, b)

    def lru_code(self, p: int, b, ci: int):
        """The ``State.lru`` code of an LRU page of class ``ci`` in pageblock ``b`` of zone
        position ``p`` (1 + its index in :meth:`lru_entries`; 0 is an empty slot)."""
        return 1 + (self._pb_base[p] + b) * len(self.lru_classes) + self.lru_classes.index(ci)

    def lru_code_range(self, p: int) -> tuple[int, int]:
        """The codes of zone position ``p``'s LRU pages: ``lo <= code < hi``."""
        nl = len(self.lru_classes)
        return 1 + self._pb_base[p] * nl, 1 + self._pb_base[p + 1] * nl

    def lru_entries(self) -> tuple[tuple[int, int, int], ...]:
        """Every ``(zone, pageblock, class)`` an LRU page can have, in code order."""
        return tuple((p, b, ci) for p, lay in enumerate(self.layout)
                     for b in range(len(lay.blocks)) for ci in self.lru_classes)

    def lru_pages(self, s: State) -> tuple[tuple[int, int, int], ...]:
        """``State.lru`` as ``(zone, pageblock, class)`` per LRU page, oldest first."""
        ent = self.lru_entries()
        return tuple(ent[x - 1] for x in s.lru if x)

    def _age_take(self, w: _Work, p: int, b, ci: int, n: int) -> None:
        # page_age: a new LRU page is the youngest (lru_cache_add puts it at the list head):
        # its code goes into the first n empty slots (State.lru is packed, oldest first)
        if GFP_CLASSES[ci].lru:
            pins, cma, lru = w.feat
            code = self.lru_code(p, b, ci)
            f = self._lru_fill(lru)
            w.feat = (pins, cma, tuple(select((f <= j) & (j < f + n), code, x)
                                       for j, x in enumerate(lru)))

    @staticmethod
    def _lru_fill(lru: tuple):
        """How many LRU pages ``lru`` holds (the index of its first empty slot)."""
        f = first_true(x == 0 for x in lru)
        return select(f < 0, len(lru), f)

    def _age_free(self, w: _Work, p: int, b: int, ci: int) -> None:
        # page_age: the freed page of (zone, pageblock, class) is the oldest such page: its
        # slot goes, the younger ones move up one
        if GFP_CLASSES[ci].lru:
            pins, cma, lru = w.feat
            w.feat = (pins, cma, self._lru_remove(lru, self.lru_code(p, b, ci)))

    @staticmethod
    def _lru_remove(lru: tuple, code) -> tuple:
        """``lru`` without the oldest entry ``code`` (unchanged if it has none)."""
        i = first_true(x == code for x in lru)
        return tuple(select((i < 0) | (j < i), x, y)
                     for j, (x, y) in enumerate(zip(lru, lru[1:] + (0,))))

    def _age_move(self, w: _Work, src: tuple[int, int, int], dst: tuple[int, int, int]) -> None:
        # page_age: a migrated page (cma_alloc, compaction) keeps its LRU age position
        pins, cma, lru = w.feat
        code = self.lru_code(*src)
        i = first_true(x == code for x in lru)
        new = self.lru_code(*dst)
        w.feat = (pins, cma, tuple(select(j == i, new, x) for j, x in enumerate(lru)))

    def _age_drop_youngest(self, w: _Work, entry: tuple[int, int, int]) -> None:
        # page_age: forget the youngest LRU page if it is `entry` (a migration target page
        # whose place the migrated page takes)
        pins, cma, lru = w.feat
        code = self.lru_code(*entry)
        f = self._lru_fill(lru)
        w.feat = (pins, cma, tuple(select((j == f - 1) & (x == code), 0, x)
                                   for j, x in enumerate(lru)))

    def _feature_candidates(self, w: _Work, zones) -> tuple[tuple, tuple]:
        """Reclaim candidates with pins and/or page ages: ``(candidates, eligible)`` as
        :meth:`~mmspec.mm.vmscan.Vmscan._lru_candidates` returns them.

        Pinned pages are skipped (v4.6 ``shrink_page_list``: a buffer under I/O cannot be
        released, ``try_to_release_page`` fails; the pinned pages of a pageblock are taken to
        be its oldest blockdev pages). With ``page_age`` each zone offers only its oldest
        reclaimable LRU page (v4.6 per-zone LRU: ``shrink_inactive_list`` isolates from the
        tail of the inactive list; active/inactive abstracted into one age order). Pages of a
        pageblock that cma_alloc has isolated are off the LRU (being migrated)."""
        pins = w.feat[0]
        if not self.page_age:
            cands, elig = [], []
            for p in zones:
                for b, blk in enumerate(w.zones[p].blocks):
                    for ci in self.lru_classes:
                        n = blk.held[ci]
                        cands.append((p, b, ci))
                        elig.append((n > (self._pinned(pins, p, b) if ci == _BLOCKDEV else 0))
                                    & (blk.mt != _ISOLATE))
            return tuple(cands), tuple(elig)
        lru = w.feat[2]
        key = None
        if not self._tracing and self._memo:     # a pure function of these (ints only)
            key = (zones, lru, pins, tuple(blk.mt == _ISOLATE for p in zones
                                           for blk in w.zones[p].blocks)
                   if self.cma_alloc_pageblocks else ())
            try:
                return self._age_cands[key]
            except AttributeError:
                self._age_cands: dict = {}
            except KeyError:
                pass
        cands: list = []
        elig: list = []
        for p in zones:
            zc = [(p, b, ci) for b in range(len(self.layout[p].blocks)) for ci in self.lru_classes]
            codes = [self.lru_code(*c) for c in zc]
            ok = []                 # per slot: an LRU page of zone p reclaim may take
            for j, x in enumerate(lru):
                terms = []
                for (_, b, ci), code in zip(zc, codes):
                    t = (x == code) & (w.zones[p].blocks[b].mt != _ISOLATE)
                    if ci == _BLOCKDEV and self.pin_blockdev:
                        older = sum(select(y == code, 1, 0) for y in lru[:j])
                        t = t & (older >= self._pinned(pins, p, b))
                    terms.append(t)
                ok.append(any_(terms))
            k = first_true(ok)      # the zone's oldest such page
            cands += zc
            elig += [any_((k == j) & (x == code) for j, x in enumerate(lru)) for code in codes]
        out = tuple(cands), tuple(elig)
        if key is not None:
            self._age_cands[key] = out
        return out

    def _feature_successors(self, s: State) -> Iterator[tuple[Action, State, Effect]]:
        """pin/unpin per (zone, pageblock) in zone then pfn order, then cma_alloc, then
        cma_release per held range in range order."""
        for a in self.feature_actions():
            if a.kind == CMA_ALLOC:
                if self._feature_enabled(s, a):
                    yield from self._branch(s, a, None)
            elif self._feature_enabled(s, a):
                yield a, *self._run(s, a, None)

    def feature_actions(self) -> tuple[Action, ...]:
        """Every feature action in successor order (each enabled or not): pin per (zone,
        pageblock), unpin per (zone, pageblock), cma_alloc, cma_release per bitmap position."""
        out = []
        if self.pin_blockdev:
            for kind in (PIN, UNPIN):
                out += [Action(kind, _BLOCKDEV, 0, p, b) for p, lay in enumerate(self.layout)
                        for b in range(len(lay.blocks))]
        if self.cma_alloc_pageblocks:
            out.append(Action(CMA_ALLOC))
            out += [Action(CMA_RELEASE, -1, 0, *win[0]) for win in self.cma_windows()]
        return tuple(out)

    def _feature_enabled(self, s: State, a: Action) -> bool:
        if a.kind in (PIN, UNPIN):
            if not (self.pin_blockdev and not a.victims and 0 <= a.zone < len(s.zones)
                    and 0 <= a.block < len(s.zones[a.zone].blocks)):
                return False
            if a.kind == UNPIN:
                return self._pinned(s.pins, a.zone, a.block) > 0
            return s.zones[a.zone].blocks[a.block].held[_BLOCKDEV] > self._pinned(
                s.pins, a.zone, a.block)
        if a.kind == CMA_ALLOC:
            return bool(self.cma_alloc_pageblocks) and any_(self._cma_free(s.cma))
        if a.kind == CMA_RELEASE:
            i = self._cma_window_at(a.zone, a.block)
            return bool(self.cma_alloc_pageblocks) and not a.victims and i >= 0 and s.cma[i] > 0
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
            w.feat = (self._pins_add(pins, a.zone, a.block, 1), cma, lru)
            w.paths.append("pin blockdev page")
            if w.log is not None: w.say(self._feature_describe(a) + " (get_bh: an extra page "
                                       "reference until end_buffer_io)")
            return True, a.zone, a.block
        if a.kind == UNPIN:
            w.feat = (self._pins_add(pins, a.zone, a.block, -1), cma, lru)
            w.paths.append("unpin blockdev page")
            if w.log is not None: w.say(self._feature_describe(a))
            return True, a.zone, a.block
        if a.kind == CMA_RELEASE:
            return self._cma_release(w, a)
        if a.kind == CMA_ALLOC:
            return self._cma_alloc(w)
        raise TraceReplayError(f"unknown action kind {a.kind!r}")
