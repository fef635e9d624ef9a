"""Direct compaction, mm/compaction.c (v4.6), for order > 0 requests.

``compaction_suitable`` (with the fragmentation index of mm/vmstat.c), ``compact_zone``
(migration scanner from the zone's start, free scanner from its end, ``compact_finished``),
``isolate_migratepages``/``isolate_freepages``/``migrate_pages``, and
``try_to_compact_pages`` as ``__alloc_pages_direct_compact`` calls it. One step runs
compaction to its end; scanner positions are not kept between steps (docs/semantics.md
section 11).
"""

from __future__ import annotations

from ..ops import any_, first_true, select
from ..state import Block
from ..vocab import GFP_CLASSES
from .common import (C, COMPACT_COMPLETE, COMPACT_CONTINUE, COMPACT_DEFERRED, COMPACT_PARTIAL,
                    COMPACT_SKIPPED, EXTFRAG_THRESHOLD, FALLBACKS, M, _COMPACT_NAME, _MTN, _Work)

__all__ = ["Compaction"]


class Compaction:
    """Direct compaction (mixed into :class:`~mmspec.mm.Allocator`)."""

    def compaction_source_ok(self, block_mt: int, request_mt: int, sync: bool) -> bool:
        """Whether the migration scanner isolates pages from a pageblock of type
        ``block_mt`` for a request of migratetype ``request_mt``. v4.6
        ``isolate_migratepages``: in async mode only ``migrate_async_suitable`` pageblocks
        (MIGRATE_MOVABLE or MIGRATE_CMA), whatever the request; in sync modes every
        pageblock (there is no ``cc->migratetype`` filter in v4.6)."""
        return sync | (block_mt == M) | (block_mt == C)

    def compaction_target_ok(self, blk: Block) -> bool:
        """v4.6 ``suitable_migration_target``: the free scanner takes MIGRATE_MOVABLE or
        MIGRATE_CMA pageblocks that are not already one free block of pageblock_order."""
        return (blk.free < self.ppb) & ((blk.mt == M) | (blk.mt == C))

    def _migratable(self, w: _Work, p: int, b: int) -> list[int]:
        # isolate_migratepages_block: the LRU pages of the pageblock (one entry per page,
        # classes in GFP_CLASSES order); a pinned blockdev page keeps an extra reference and
        # fails migration, so it is not taken (scope pin_blockdev).
        from ..vocab import BLOCKDEV_BUFFER
        blk = w.zones[p].blocks[b]
        out: list[int] = []
        for ci in self.lru_classes:
            n = blk.held[ci]
            if ci == BLOCKDEV_BUFFER and self.pin_blockdev:
                n -= self._pinned(w.feat[0], p, b)
            out.extend(ci for _ in range(max(n, 0)))
        return out

    def fragmentation_index(self, w: _Work, p: int, order: int) -> int:
        """v4.6 ``fragmentation_index`` (mm/vmstat.c ``__fragmentation_index`` over
        ``fill_contig_page_info``), on the model's free blocks: an entirely free pageblock is
        one block of pageblock_order, each free page of a partly free pageblock one order-0
        block (the model's buddy abstraction). 0 if nothing is free, -1000 if a block of
        order >= ``order`` is free (on any list), else
        ``1000 - (1000 + free_pages * 1000 / 2**order) / free_blocks_total``."""
        total = free = suitable = 0
        pbo = self.pageblock_order
        for blk in w.zones[p].blocks:
            whole = blk.free == self.ppb      # one free block of pageblock_order
            free += blk.free
            total += select(whole, 1, blk.free)
            suitable += select(whole, (1 << (pbo - order)) if pbo >= order else 0,
                               blk.free if order == 0 else 0)
        if not total:
            return 0
        if suitable:
            return -1000
        return 1000 - (1000 + free * 1000 // (1 << order)) // total

    def compaction_suitable(self, w: _Work, p: int, order: int, alloc_flags: int,
                            classzone: int) -> int:
        """v4.6 ``compaction_suitable``: COMPACT_PARTIAL if ``zone_watermark_ok(order, low,
        alloc_flags)`` already passes; COMPACT_SKIPPED if the order-0 check against
        ``low + 2**(order+1)`` fails (same alloc_flags: without ALLOC_CMA free CMA pages are
        subtracted) or if the fragmentation index is in ``[0, sysctl_extfrag_threshold]``
        (COMPACT_NOT_SUITABLE_ZONE, reported as skipped); else COMPACT_CONTINUE."""
        low = self.wm[p][1]
        lab = self.layout[p].label
        if self.zone_watermark_ok(w, p, order, low, classzone, alloc_flags):
            if w.log is not None: w.say(f"    compaction_suitable({lab}): order-{order} low "
                                       "watermark already met -> COMPACT_PARTIAL")
            return COMPACT_PARTIAL
        mark = low + (2 << order)
        if not self.zone_watermark_ok(w, p, 0, mark, classzone, alloc_flags):
            if w.log is not None: w.say("    compaction_suitable: " + self._fmt_check(
                w, p, 0, mark, f"low+{2 << order}", classzone, alloc_flags, False).replace(
                " -> next zone", "") + " -> COMPACT_SKIPPED")
            return COMPACT_SKIPPED
        fi = self.fragmentation_index(w, p, order)
        if 0 <= fi <= EXTFRAG_THRESHOLD:
            if w.log is not None: w.say(f"    compaction_suitable({lab}): fragmentation_index "
                                       f"{fi} <= {EXTFRAG_THRESHOLD} (failure from lack of "
                                       "memory) -> COMPACT_SKIPPED")
            return COMPACT_SKIPPED
        if w.log is not None: w.say(f"    compaction_suitable({lab}): fragmentation_index {fi} "
                                   "-> COMPACT_CONTINUE")
        return COMPACT_CONTINUE

    def _compact_suitable_page(self, w: _Work, p: int, order: int, mt: int) -> bool:
        # __compact_finished, direct compactor: a free block of order >= `order` on the
        # request's own list, on the CMA list for a MOVABLE request, or on a list
        # find_suitable_fallback(only_stealable) accepts (at pageblock order
        # can_steal_fallback is always true). The model's only order > 0 blocks are whole
        # free pageblocks.
        if order > self.pageblock_order:
            return False
        lists = (mt, *FALLBACKS.get(mt, ())) + ((C,) if mt == M and self.cma_migratetype else ())
        return any_((blk.free == self.ppb) & any_(blk.mt == t for t in lists)
                    for blk in w.zones[p].blocks)

    def _isolate_freepages(self, w: _Work, p: int, sc0: int, sc1: int, pool: tuple,
                           want: int) -> tuple:
        """v4.6 ``isolate_freepages`` from the free scanner's pageblock ``sc1`` downwards,
        above the migration scanner's ``sc0``: suitable targets only; each free page is
        taken by ``__isolate_free_page`` (leaves NR_FREE_PAGES, and NR_FREE_CMA_PAGES for a
        CMA pageblock) only while ``zone_watermark_ok(zone, 0, low + 1, 0, 0)`` passes
        (alloc_flags 0: free CMA pages do not count); stops once ``want`` pages are isolated.
        A pageblock left with no free page counts as scanned to its end (the scanner moves
        below it). ``pool`` counts the isolated pages per pageblock (``cc->freepages``).
        Returns the free scanner's new pageblock and the pool."""
        for b in range(len(w.zones[p].blocks) - 1, -1, -1):
            if b > sc1:
                continue
            if b <= sc0:
                break               # scanned down to the migration scanner: they meet
            pool, left = self._isolate_from(w, p, b, pool, want)
            if sum(pool) >= want:   # enough: the scanner stays on a pageblock with more
                return select(left, b, b - 1), pool
        return sc0, pool

    def _isolate_from(self, w: _Work, p: int, b: int, pool: tuple, want: int) -> tuple:
        """``isolate_freepages_block`` on pageblock ``b``: ``(pool, whether free pages are
        left in it)``."""
        blk = w.zones[p].blocks[b]
        if not self.compaction_target_ok(blk):
            return pool, False
        low = self.wm[p][1]
        n = sum(pool)
        for _ in range(self.ppb):
            if not ((blk.free > 0) & (n < want)):
                break
            if not self.zone_watermark_ok(w, p, 0, low + 1, 0, 0):
                w.paths.append("compaction: free page isolation refused (watermark)")
                break
            z = w.zones[p]
            blocks = list(z.blocks)
            blk = blk._replace(free=blk.free - 1)
            blocks[b] = blk
            w.zones[p] = z._replace(nr_free=z.nr_free - 1,
                                    nr_free_cma=z.nr_free_cma - (blk.mt == C),
                                    blocks=tuple(blocks))
            pool = tuple(c + (i == b) for i, c in enumerate(pool))
            n += 1
        return pool, blk.free > 0

    def _migrate_one(self, w: _Work, p: int, src: int, ci: int, dst: int) -> None:
        # migrate_pages -> compaction_alloc: the page's contents move to the isolated free
        # page of pageblock `dst` (already off the free lists), keeping its class; the old
        # page is freed to its own pageblock (__free_one_page: NR_FREE_PAGES, and
        # NR_FREE_CMA_PAGES for MIGRATE_CMA, rise by one).
        z = w.zones[p]
        blocks = list(z.blocks)
        t = blocks[dst]
        held = list(t.held)
        held[ci] += 1
        blocks[dst] = t._replace(held=tuple(held))
        sblk = blocks[src]
        held = list(sblk.held)
        held[ci] -= 1
        blocks[src] = Block(sblk.mt, sblk.free + 1, tuple(held))
        w.zones[p] = z._replace(nr_free=z.nr_free + 1,
                                nr_free_cma=z.nr_free_cma + (sblk.mt == C),
                                blocks=tuple(blocks))
        if getattr(self, "page_age", False) and GFP_CLASSES[ci].lru:
            # the moved page keeps its LRU age position (as the cma_alloc migration does)
            self._age_move(w, (p, src, ci), (p, dst, ci))
        w.paths.append("compaction: migrate page")
        if w.log is not None: w.say(f"      migrate_pages: {GFP_CLASSES[ci].short} page "
                                   f"pageblock {src} ({_MTN[sblk.mt]}) -> pageblock {dst} "
                                   f"({_MTN[t.mt]})")

    def compact_zone(self, w: _Work, p: int, ci: int, order: int, alloc_flags: int,
                     classzone: int, sync: bool) -> int:
        """v4.6 ``compact_zone`` for zone position ``p``, run to the end in one step.

        Both scanners start afresh (migration scanner at the zone's first pageblock, free
        scanner at its last; cached positions and PG_migrate_skip hints are not modelled).
        Each pass (:meth:`_compact_pass`) is one turn of the kernel's loop; unused isolated
        free pages go back to their pageblocks at the end (``release_freepages``)."""
        st = self.compaction_suitable(w, p, order, alloc_flags, classzone)
        if st != COMPACT_CONTINUE:
            return st
        lab = self.layout[p].label
        w.paths.append(f"compact_zone: {lab}")
        n = len(w.zones[p].blocks)
        cma_before = [self.is_cma_memory(p, b, blk.mt) & (blk.free < self.ppb)
                      for b, blk in enumerate(w.zones[p].blocks)]
        sc0, sc1, pool = 0, n - 1, (0,) * n     # scanners' pageblocks, cc->freepages
        status = COMPACT_CONTINUE
        for _ in range(n + 1):      # a pass ends compaction or moves the migration scanner on
            status, sc0, sc1, pool = self._compact_pass(w, p, ci, order, alloc_flags,
                                                        classzone, sync, sc0, sc1, pool)
            if status != COMPACT_CONTINUE:
                break
        z = w.zones[p]              # release_freepages
        blocks = tuple(blk._replace(free=blk.free + k) for blk, k in zip(z.blocks, pool))
        w.zones[p] = z._replace(nr_free=z.nr_free + sum(pool),
                                nr_free_cma=z.nr_free_cma + sum(
                                    k * (blk.mt == C) for blk, k in zip(z.blocks, pool)),
                                blocks=blocks)
        for b, blk in enumerate(w.zones[p].blocks):
            if cma_before[b] & (blk.free == self.ppb):
                w.paths.append("compaction empties a CMA pageblock")
                if w.log is not None: w.say(f"    {lab} pageblock {b} ({_MTN[blk.mt]}, CMA "
                                           "memory) is now one free pageblock-order block")
        return status

    def _compact_pass(self, w: _Work, p: int, ci: int, order: int, alloc_flags: int,
                      classzone: int, sync: bool, sc0: int, sc1: int, pool: tuple) -> tuple:
        """One turn of v4.6 ``compact_zone``'s loop: ``compact_finished`` (scanners met ->
        COMPACT_COMPLETE; order-``order`` low watermark met with ``alloc_flags`` and a
        suitable free block -> COMPACT_PARTIAL); ``isolate_migratepages`` takes the LRU
        pages of the next pageblock below the free scanner that
        :meth:`compaction_source_ok` accepts; ``migrate_pages`` moves them one by one into
        free pages isolated by :meth:`_isolate_freepages` (most recently isolated -- the
        lowest pageblock -- first, the ``cc->freepages`` list order); when no free page can
        be isolated the rest are put back. Returns ``(status, sc0, sc1, pool)``."""
        lab = self.layout[p].label
        mt = GFP_CLASSES[ci].migratetype
        if sc1 <= sc0:
            if w.log is not None: w.say(f"    compact_finished({lab}): scanners met -> "
                                       "COMPACT_COMPLETE")
            return COMPACT_COMPLETE, sc0, sc1, pool
        if (self.zone_watermark_ok(w, p, order, self.wm[p][1], classzone, alloc_flags)
                and self._compact_suitable_page(w, p, order, mt)):
            if w.log is not None: w.say(f"    compact_finished({lab}): order-{order} page "
                                       "free on a usable list -> COMPACT_PARTIAL")
            return COMPACT_PARTIAL, sc0, sc1, pool
        src = first_true((sc0 <= b) & (b < sc1) & self.compaction_source_ok(blk.mt, mt, sync)
                         for b, blk in enumerate(w.zones[p].blocks))
        if src < 0:
            return COMPACT_CONTINUE, sc1, sc1, pool    # isolate_migratepages met the free scanner
        sc0 = src + 1
        pages = self._migratable(w, p, src)
        if not pages:
            return COMPACT_CONTINUE, sc0, sc1, pool
        if w.log is not None: w.say(f"    isolate_migratepages: {len(pages)} page(s) of "
                                   f"{lab} pageblock {src} "
                                   f"({_MTN[w.zones[p].blocks[src].mt]})")
        for vc in pages:
            moved, sc1, pool = self._compaction_migrate(w, p, src, vc, sc0, sc1, pool,
                                                        len(pages))
            if not moved:
                if w.log is not None: w.say("      compaction_alloc: no free page -> "
                                           "-ENOMEM, the rest put back")
                break
        return COMPACT_CONTINUE, sc0, sc1, pool

    def _compaction_migrate(self, w: _Work, p: int, src: int, ci: int, sc0: int, sc1: int,
                            pool: tuple, want: int) -> tuple:
        """``migrate_pages`` of one isolated page of class ``ci``: ``compaction_alloc``
        takes an isolated free page, isolating more (:meth:`_isolate_freepages`, up to
        ``want``) when none is left; with none, the page is not moved (-ENOMEM). Returns
        ``(moved, sc1, pool)``."""
        if not any_(pool):
            sc1, pool = self._isolate_freepages(w, p, sc0, sc1, pool, want)
        if not any_(pool):
            return False, sc1, pool
        return True, sc1, self._migrate_to_isolated(w, p, src, ci, pool)

    def _migrate_to_isolated(self, w: _Work, p: int, src: int, ci: int, pool: tuple) -> tuple:
        """``migrate_pages`` of one page of class ``ci`` from pageblock ``src`` into the most
        recently isolated free page (``compaction_alloc`` takes the head of
        ``cc->freepages``: the lowest pageblock isolated from); returns the pool left."""
        dst = first_true(k > 0 for k in pool)
        self._migrate_one(w, p, src, ci, dst)
        return tuple(k - (i == dst) for i, k in enumerate(pool))

    def direct_compact(self, w: _Work, ci: int, order: int, alloc_flags: int,
                       sync: bool) -> tuple[int, int]:
        """v4.6 ``__alloc_pages_direct_compact`` -> ``try_to_compact_pages``: nothing unless
        ``order > 0`` and the mask has __GFP_FS and __GFP_IO; else :meth:`compact_zone` for
        each zone of the zonelist (compaction_deferred never holds: only sync compaction
        defers, and v4.6 runs sync compaction only for order > PAGE_ALLOC_COSTLY_ORDER),
        stopping after a zone whose order-``order`` low watermark passes. If every zone was
        skipped, no allocation attempt; otherwise ``get_page_from_freelist`` with the slow
        path's alloc_flags. Returns ``(zone, pageblock)`` or ``(-1, -1)``."""
        c = GFP_CLASSES[ci]
        mode = "MIGRATE_SYNC_LIGHT" if sync else "MIGRATE_ASYNC"
        if not order or not c.fs_io:
            if w.log is not None: w.say("  try_to_compact_pages: no __GFP_FS|__GFP_IO -> "
                                       "COMPACT_SKIPPED")
            return -1, -1
        w.paths.append("direct compaction" + (" (sync-light)" if sync else ""))
        if w.log is not None: w.say(f"  __alloc_pages_direct_compact ({mode}, order {order}):")
        zl = self._zonelist[ci]
        cz = self.ztype[zl[0]]
        rc = COMPACT_DEFERRED
        for p in zl:
            rc = max(rc, self.compact_zone(w, p, ci, order, alloc_flags, cz, sync))
            if self.zone_watermark_ok(w, p, order, self.wm[p][1], cz, alloc_flags):
                break
        if rc <= COMPACT_SKIPPED:
            if w.log is not None: w.say(f"    try_to_compact_pages: {_COMPACT_NAME[rc]} -> "
                                       "no allocation attempt")
            return -1, -1
        p, b = self.get_page_from_freelist(w, ci, order, alloc_flags, "after direct compaction")
        if p >= 0:
            w.paths.append("compaction success")
            if w.log is not None: w.say(f"  -> page from {self.layout[p].label} pageblock {b} "
                                       f"({_MTN[w.zones[p].blocks[b].mt]}) after compaction")
        return p, b
