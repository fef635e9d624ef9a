"""The contiguous memory allocator, mm/cma.c and ``alloc_contig_range`` (mm/page_alloc.c), v4.6.

``cma_alloc`` (first fit over the CMA bitmap, -EBUSY: the next position), ``cma_release``
(``free_contig_range``), and ``alloc_contig_range``: isolate the range
(``start_isolate_page_range``, ``has_unmovable_pages``), migrate every page in use
(``alloc_migrate_target``: a GFP_USER|__GFP_MOVABLE page), take the range, undo the
isolation. Only with the scope switch ``cma_alloc_pageblocks`` (docs/semantics.md section 10).
"""

from __future__ import annotations

from ..errors import ScopeError
from ..ops import any_
from ..state import Action, Block
from ..vocab import GFP_CLASSES
from .common import C, _BLOCKDEV, _ISOLATE, _Work

__all__ = ["Cma"]


class Cma:
    """cma_alloc and cma_release (mixed into :class:`~mmspec.mm.Allocator`)."""

    def cma_area(self) -> tuple[tuple[int, int], ...]:
        """The CMA area as ``(zone, pageblock)`` in bitmap (pfn) order: every pageblock that
        :meth:`is_cma_memory` names in the initial layout (``cma->bitmap`` covers it)."""
        area = self.__dict__.get("_cma_area_cache")
        if area is None:
            area = tuple((p, b) for p, lay in enumerate(self.layout)
                         for b, mt in enumerate(lay.blocks) if self.is_cma_memory(p, b, mt))
            self.__dict__["_cma_area_cache"] = area
        return area

    def cma_windows(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """The positions ``cma_alloc`` may try, first fit: every run of
        ``cma_alloc_pageblocks`` consecutive CMA pageblocks of one zone, in bitmap order
        (count = k * pageblock_nr_pages, align = pageblock_order, so the next position after
        -EBUSY is one pageblock further: ``start = bitmap_no + mask + 1``)."""
        k = self.cma_alloc_pageblocks
        area = self.cma_area()
        if k > len(area):
            raise ScopeError(f"cma_alloc_pageblocks = {k} but design {self.name} has only "
                             f"{len(area)} CMA pageblock(s); lower it or add CMA pageblocks")
        out = []
        for i in range(len(area) - k + 1):
            win = area[i:i + k]
            if all(q[0] == win[0][0] and q[1] == win[0][1] + j for j, q in enumerate(win)):
                out.append(win)
        return tuple(out)

    def _cma_window_at(self, p: int, b: int) -> int:
        """The bitmap position (index into :meth:`cma_windows`) starting at pageblock ``b``
        of zone position ``p``, or -1."""
        for i, win in enumerate(self.cma_windows()):
            if win[0] == (p, b):
                return i
        return -1

    def _cma_free(self, cma: tuple) -> tuple:
        """Per bitmap position: whether its bits are clear (no held range overlaps it)."""
        wins = self.cma_windows()
        return tuple(not any_(cma[j] > 0 for j, other in enumerate(wins) if set(win) & set(other))
                     for win in wins)

    def _cma_release(self, w: _Work, a: Action) -> tuple[bool, int, int]:
        """v4.6 ``cma_release()`` -> ``free_contig_range()``: every page of the range is
        freed (``__free_pages``) back to its pageblock (MIGRATE_CMA: NR_FREE_CMA_PAGES rises
        too), and the bitmap bits are cleared."""
        pins, cma, lru = w.feat
        i = self._cma_window_at(a.zone, a.block)
        rng = self.cma_windows()[i]
        w.feat = (pins, cma[:i] + (0,) + cma[i + 1:], lru)
        for p, b in rng:
            z = w.zones[p]
            blk = z.blocks[b]
            n = self.ppb - blk.free - sum(blk.held)
            blocks = list(z.blocks)
            blocks[b] = blk._replace(free=blk.free + n)
            w.zones[p] = z._replace(nr_free=z.nr_free + n,
                                    nr_free_cma=z.nr_free_cma + (n if blk.mt == C else 0),
                                    blocks=tuple(blocks))
        w.paths.append("cma_release")
        if w.log is not None: w.say(f"cma_release: free_contig_range frees {len(rng) * self.ppb} "
                                   f"pages of {self.layout[a.zone].label} pageblock(s) "
                                   f"{', '.join(str(b) for _, b in rng)}")
        return True, a.zone, a.block

    def _cma_alloc(self, w: _Work) -> tuple[bool, int, int]:
        """v4.6 ``cma_alloc()`` (mm/cma.c) of ``cma_alloc_pageblocks`` pageblocks, one atomic
        step. First fit over the free windows of the CMA bitmap; per window
        ``alloc_contig_range()`` (mm/page_alloc.c): ``start_isolate_page_range`` (pageblocks
        become MIGRATE_ISOLATE, their free pages leave NR_FREE_PAGES/NR_FREE_CMA_PAGES;
        ``has_unmovable_pages`` -> -EBUSY), ``__alloc_contig_migrate_range`` (every in-use
        page migrated to a page ``alloc_migrate_target`` gets: GFP_USER|__GFP_MOVABLE; a
        pinned page keeps an extra reference, ``migrate_page_move_mapping`` fails on the
        reference count for every retry -> -EBUSY; no target page -> -ENOMEM), then
        ``isolate_freepages_range`` takes the range and ``undo_isolate_page_range`` restores
        the migratetype. -EBUSY: clear the bits and try the next position; any other error
        or no position left: cma_alloc fails (NULL). Pages migrated by a failed attempt stay
        migrated (as in the kernel); the isolation is undone."""
        w.paths.append("cma_alloc")
        if w.log is not None: w.say(f"cma_alloc: first fit over the CMA bitmap "
                                   f"({len(self.cma_area())} pageblocks)")
        free = self._cma_free(w.feat[1])
        for i, win in enumerate(self.cma_windows()):
            if not free[i]:
                continue
            where = ", ".join(f"{self.layout[p].label}:{b}" for p, b in win)
            orig = {(p, b): w.zones[p].blocks[b].mt for p, b in win}
            res = self._alloc_contig_range(w, win, orig, i)
            if res == 0:
                pins, cma, lru = w.feat
                w.feat = (pins, cma[:i] + (1,) + cma[i + 1:], lru)
                w.paths.append("cma_alloc: success")
                if w.log is not None: w.say(f"  -> cma_alloc returns the pages of pageblock(s) {where}")
                return True, win[0][0], win[0][1]
            self._undo_isolate(w, win, orig)
            if res == -16:
                w.paths.append("cma_alloc: -EBUSY")
                if w.log is not None: w.say(f"  alloc_contig_range({where}) = -EBUSY; "
                                           "cma_clear_bitmap, retry at the next position")
                continue
            w.paths.append("cma_alloc: -ENOMEM")
            if w.log is not None: w.say(f"  alloc_contig_range({where}) = -ENOMEM; cma_alloc gives up")
            break
        w.paths.append("cma_alloc failure")
        if w.log is not None: w.say("  -> cma_alloc fails (returns NULL)")
        return False, -1, -1

    def _undo_isolate(self, w: _Work, win, orig: dict) -> None:
        # v4.6 undo_isolate_page_range(): the pageblocks get their migratetype back and their
        # free pages return to NR_FREE_PAGES (and NR_FREE_CMA_PAGES for MIGRATE_CMA).
        for p, b in win:
            z = w.zones[p]
            blk = z.blocks[b]
            if blk.mt != _ISOLATE:
                continue
            mt = orig[(p, b)]
            blocks = list(z.blocks)
            blocks[b] = blk._replace(mt=mt)
            w.zones[p] = z._replace(nr_free=z.nr_free + blk.free,
                                    nr_free_cma=z.nr_free_cma + (blk.free if mt == C else 0),
                                    blocks=tuple(blocks))
        if w.log is not None: w.say("  undo_isolate_page_range: migratetypes restored")

    def _alloc_contig_range(self, w: _Work, win, orig: dict, i: int) -> int:
        """One ``alloc_contig_range`` over the pageblocks ``win`` (bitmap position ``i``):
        0, -EBUSY (-16) or -ENOMEM (-12); on failure the caller undoes the isolation
        (``orig``: migratetypes)."""
        pins = w.feat[0]
        for p, b in win:
            blk = w.zones[p].blocks[b]
            for ci, n in enumerate(blk.held):
                if n and not GFP_CLASSES[ci].lru:
                    if w.log is not None: w.say(f"  start_isolate_page_range: {self.layout[p].label} "
                                               f"pageblock {b} holds a {GFP_CLASSES[ci].short} page "
                                               "(has_unmovable_pages)")
                    return -16
            z = w.zones[p]
            blocks = list(z.blocks)
            blocks[b] = blk._replace(mt=_ISOLATE)
            w.zones[p] = z._replace(nr_free=z.nr_free - blk.free,
                                    nr_free_cma=z.nr_free_cma - (blk.free if blk.mt == C else 0),
                                    blocks=tuple(blocks))
        if w.log is not None: w.say("  start_isolate_page_range: " + ", ".join(
            f"{self.layout[p].label} pageblock {b}" for p, b in win)
            + " -> MIGRATE_ISOLATE (free pages leave NR_FREE_PAGES)")
        k = 0                       # pages migrated so far (names the reclaim choice points)
        for p, b in win:
            # only LRU pages are left (any other page gave -EBUSY above); a pageblock holds at
            # most pages_per_pageblock of them
            for ci in self.lru_classes:
                keep = self._pinned(pins, p, b) if ci == _BLOCKDEV else 0
                for _ in range(self.ppb):
                    if not w.zones[p].blocks[b].held[ci] > keep:
                        break
                    if not self.migrate_range_page(w, p, b, ci, (i, k)):
                        return -12
                    k += 1
        for p, b in win:
            if self._pinned(pins, p, b) > 0:
                if w.log is not None: w.say(f"  migrate_pages: blockdev buffer page of "
                                           f"{self.layout[p].label} pageblock {b} is pinned "
                                           "(page_count > expected): fails on every pass, "
                                           "5 tries -> -EBUSY")
                return -16
        for p, b in win:
            z = w.zones[p]
            blocks = list(z.blocks)
            blocks[b] = Block(orig[(p, b)], 0, (0,) * len(GFP_CLASSES))
            w.zones[p] = z._replace(blocks=tuple(blocks))
        return 0

    def migrate_range_page(self, w: _Work, p: int, b: int, ci: int, k: tuple) -> bool:
        """``__alloc_contig_migrate_range`` for one in-use page of class ``ci`` in the
        isolated pageblock ``b`` of zone position ``p``: a target page
        (:meth:`_migration_target`; ``k``: the bitmap position and how many pages were
        migrated before it there) and the move. False (nothing changed but what reclaim did) when no target is found."""
        tp, tb = self._migration_target(w, self._zonelist[_BLOCKDEV], k)
        if tp < 0:
            return False
        self._move_page(w, p, b, ci, tp, tb)
        return True

    def _migration_target(self, w: _Work, zl: tuple[int, ...], k: tuple) -> tuple[int, int]:
        """v4.6 ``alloc_migrate_target()``: ``alloc_page(GFP_USER | __GFP_MOVABLE)`` (no
        __GFP_HIGHMEM on 64-bit: highest zone NORMAL; MIGRATE_MOVABLE, so ALLOC_CMA under
        MIGRATE_CMA and other CMA pageblocks may serve it): fast path, slow path with
        wake_all_kswapds and up to ``direct_reclaim_rounds`` direct-reclaim rounds, as for
        any request of that mask; (-1, -1) when it fails. ``k`` (the bitmap position and the
        pages migrated before this one there) names its reclaim choice points."""
        c = GFP_CLASSES[_BLOCKDEV]
        tp, tb = self.get_page_from_freelist(w, _BLOCKDEV, 0, self.fast_alloc_flags(c),
                                             "migration target")
        rounds = 0
        while tp < 0:
            self.wake_all_kswapds(w, _BLOCKDEV, 0, self.ztype[zl[0]])
            tp, tb = self.get_page_from_freelist(w, _BLOCKDEV, 0, self.slow_alloc_flags(c),
                                                 "migration target")
            if tp >= 0:
                break
            if rounds >= self.scope.direct_reclaim_rounds or not self.direct_reclaim(
                    w, _BLOCKDEV, zl, ("migration target", *k, rounds)):
                if w.log is not None: w.say("  alloc_migrate_target(GFP_USER|__GFP_MOVABLE): "
                                           "no page -> migrate_pages returns -ENOMEM")
                return -1, -1
            rounds += 1
        return tp, tb

    def _move_page(self, w: _Work, p: int, b: int, ci: int, tp: int, tb: int) -> None:
        # migrate one page of class ci from isolated (p, b) to the target just taken at
        # (tp, tb) as a GFP_USER|__GFP_MOVABLE page: the target keeps the page's class (and
        # its LRU age position); the source page is freed into the isolated pageblock
        # (MIGRATE_ISOLATE: NR_FREE_PAGES unchanged).
        z = w.zones[tp]
        tblk = z.blocks[tb]
        held = list(tblk.held)
        held[_BLOCKDEV] -= 1
        held[ci] += 1
        blocks = list(z.blocks)
        blocks[tb] = tblk._replace(held=tuple(held))
        w.zones[tp] = z._replace(blocks=tuple(blocks))
        z = w.zones[p]
        sblk = z.blocks[b]
        held = list(sblk.held)
        held[ci] -= 1
        blocks = list(z.blocks)
        blocks[b] = sblk._replace(free=sblk.free + 1, held=tuple(held))
        w.zones[p] = z._replace(blocks=tuple(blocks))
        if self.page_age:
            self._age_drop_youngest(w, (tp, tb, _BLOCKDEV))
            self._age_move(w, (p, b, ci), (tp, tb, ci))
        w.paths.append("cma_alloc: migrate page")
        if w.log is not None: w.say(f"    migrate_pages: {GFP_CLASSES[ci].short} page of "
                                   f"{self.layout[p].label} pageblock {b} -> "
                                   f"{self.layout[tp].label} pageblock {tb}")
