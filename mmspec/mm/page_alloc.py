"""The page allocator, mm/page_alloc.c (v4.6): free lists and allocation.

``__rmqueue`` and its helpers (``__rmqueue_smallest``, ``__rmqueue_cma_fallback``,
``__rmqueue_fallback`` with ``steal_suitable_fallback``), ``buffered_rmqueue``'s
NR_ALLOC_BATCH update, ``get_page_from_freelist`` with the fair zone policy and
``reset_alloc_batches``, ``__alloc_pages_nodemask`` and ``__alloc_pages_slowpath`` (with
``wake_all_kswapds``, direct compaction for order > 0 and bounded direct reclaim), and
``__free_one_page``. The model has no per-cpu lists and one node; pageblocks stand for
the free lists (the lowest pfn is taken where the kernel takes the list head).
"""

from __future__ import annotations

from ..ops import first_true
from ..state import Action, Block, State, Zone
from ..vocab import ALLOC_FAIR, ALLOC_WMARK_MASK, GFP_CLASSES, ZoneType, alloc_flags_str
from .common import C, FALLBACKS, PAGE_ALLOC_COSTLY_ORDER, R, U, _MTN, _Work

__all__ = ["PageAlloc"]


class PageAlloc:
    """Allocation and freeing (mixed into :class:`~mmspec.mm.Allocator`)."""

    def _held(self, s: State, ci: int) -> int:
        return sum(b.held[ci] for z in s.zones for b in z.blocks)

    def _take(self, w: _Work, p: int, b: int, ci: int, order: int) -> None:
        z = w.zones[p]
        zk = self._zkey(z)
        if zk is not None:
            # the new zone is a function of (zone, pageblock, class, order): memoised
            key = ("take", zk, b, ci, order)
            nz = self._zmemo.get(key)
            if nz is None:
                self._take_zone(w, p, b, ci, order)
                nz = w.zones[p]
                # keep the interned copy if there is one already (a lookup, not an insert:
                # which object gets interned stays as without the memo)
                nz = self._zmemo[key] = self._intern.get(nz, nz)
            w.zones[p] = nz
        else:
            self._take_zone(w, p, b, ci, order)
        if self.page_age:
            self._age_take(w, p, b, ci, 1 << order)

    def _take_zone(self, w: _Work, p: int, b: int, ci: int, order: int) -> None:
        z = w.zones[p]
        blk = z.blocks[b]
        n = 1 << order
        held = list(blk.held)
        held[ci] += n
        blocks = list(z.blocks)
        blocks[b] = self._block(Block(blk.mt, blk.free - n, tuple(held)))
        cma = n if blk.mt == C else 0
        batch, depleted = z.alloc_batch, z.fair_depleted
        if self.fair:
            # buffered_rmqueue(): NR_ALLOC_BATCH -= 1 << order; mark ZONE_FAIR_DEPLETED at <= 0
            batch -= n
            if batch <= 0 and not depleted:
                depleted = True
        w.zones[p] = Zone(z.nr_free - n, z.nr_free_cma - cma, batch, depleted, tuple(blocks))

    def _smallest(self, w: _Work, p: int, order: int, mt: int) -> int:
        """v4.6 ``__rmqueue_smallest()``: the smallest free block of order >= ``order`` on
        ``mt``'s lists. A pageblock that is entirely free is one block of
        ``pageblock_order``; a partly free one holds order-0 blocks. Among equal orders the
        lowest pfn is taken (the model's stand-in for list order)."""
        blocks = w.zones[p].blocks
        ppb = self.ppb
        if order == 0:
            # an order-0 block: a partly free pageblock of this migratetype
            b = first_true((blk.mt == mt) & (blk.free > 0) & (blk.free < ppb)
                           for blk in blocks)
            if b >= 0:
                return b
        # else split the first entirely free pageblock of this migratetype
        return first_true((blk.mt == mt) & (blk.free == ppb) for blk in blocks)

    def _fallback(self, w: _Work, p: int, order: int, mt: int) -> int:
        """v4.6 ``__rmqueue_fallback()``: from the largest order down, the first
        ``fallbacks[mt]`` type with a free block; steal per ``can_steal_fallback`` and
        ``steal_suitable_fallback`` (retype the pageblock if the block is a whole pageblock
        or at least half of the pageblock's pages were free)."""
        z = w.zones[p]
        pbo, ppb = self.pageblock_order, self.ppb
        # the first free block in _fallback_scan's order; at pageblock_order only entirely
        # free pageblocks count
        scan = self._fallback_scan(len(z.blocks), order, mt)
        k = first_true((blk.mt == fmt) & (blk.free > 0)
                       & ((blk.free == ppb) if current == pbo else (blk.free < ppb))
                       for current in ((pbo, 0) if order == 0 else (pbo,))
                       for fmt in FALLBACKS[mt] for blk in z.blocks)
        if k < 0:
            return -1
        current, fmt, b = scan[k]
        blk = z.blocks[b]
        can_steal = (current >= pbo or current >= pbo // 2 or mt in (R, U))
        w.paths.append(f"__rmqueue_fallback {_MTN[fmt]}->{_MTN[mt]}")
        if can_steal:
            moved = blk.free
            if current >= pbo or moved >= (1 << (pbo - 1)):
                blocks = list(z.blocks)
                blocks[b] = blk._replace(mt=mt)
                w.zones[p] = z._replace(blocks=tuple(blocks))
                w.paths.append("steal_suitable_fallback: pageblock claimed")
                if w.log is not None: w.say(f"    __rmqueue_fallback: {_MTN[mt]} takes from "
                      f"{_MTN[fmt]} pageblock {b} (order {current}); "
                      f"steal_suitable_fallback: {moved} free of {self.ppb} "
                      f"-> pageblock {b} becomes {_MTN[mt]}")
                return b
        if w.log is not None: w.say(f"    __rmqueue_fallback: {_MTN[mt]} takes from {_MTN[fmt]} "
              f"pageblock {b} (order {current}); pageblock not claimed")
        return b

    def _fallback_scan(self, nblocks: int, order: int, mt: int) -> tuple:
        """The order in which __rmqueue_fallback looks at free blocks: current order from
        the largest down, fallbacks[mt] in order, pageblocks in pfn order (a constant of
        the design instance, kept once built)."""
        scans = self.__dict__.setdefault("_scan_cache", {})
        key = (nblocks, order, mt)
        scan = scans.get(key)
        if scan is None:
            pbo = self.pageblock_order
            scan = scans[key] = tuple(
                (current, fmt, b) for current in ((pbo, 0) if order == 0 else (pbo,))
                for fmt in FALLBACKS[mt] for b in range(nblocks))
        return scan

    def rmqueue(self, w: _Work, p: int, order: int, mt: int, alloc_flags: int) -> int:
        """v4.6 ``__rmqueue()``: own type, then (MOVABLE only) ``__rmqueue_cma_fallback``,
        then ``__rmqueue_fallback``. Returns the pageblock index, or -1."""
        if self.cma_first(w, p, mt, alloc_flags):
            b = self._smallest(w, p, order, C)
            if b >= 0:
                w.paths.append("__rmqueue: CMA first")
                if w.log is not None: w.say(f"    __rmqueue: CMA lists first -> MIGRATE_CMA pageblock {b}")
                return b
        b = self._smallest(w, p, order, mt)
        if b >= 0:
            if w.log is not None: w.say(f"    __rmqueue_smallest: {_MTN[mt]} pageblock {b}")
            return b
        if self.cma_fallback_allowed(mt, alloc_flags):
            b = self._smallest(w, p, order, C)
            if b >= 0:
                w.paths.append("__rmqueue_cma_fallback")
                if w.log is not None: w.say(f"    __rmqueue_cma_fallback: no free {_MTN[mt]} page -> "
                      f"MIGRATE_CMA pageblock {b}")
                return b
        return self._fallback(w, p, order, mt)

    def get_page_from_freelist(self, w: _Work, ci: int, order: int, alloc_flags: int,
                               where: str) -> tuple[int, int]:
        """v4.6 ``get_page_from_freelist()`` over this class's zonelist (highest zone first).

        A zone failing its watermark means "try the next zone". With ALLOC_FAIR, depleted
        zones are skipped; if the pass fails and any zone was skipped, ``reset_alloc_batches``
        and rescan without ALLOC_FAIR."""
        c = GFP_CLASSES[ci]
        zl = self._zonelist[ci]
        cz = self.ztype[zl[0]]
        mt = c.migratetype
        while True:
            skipped = 0
            for p in zl:
                z = w.zones[p]
                if alloc_flags & ALLOC_FAIR and z.fair_depleted:
                    skipped += 1
                    if w.log is not None: w.say(f"  {self.layout[p].label}: ZONE_FAIR_DEPLETED (NR_ALLOC_BATCH "
                          f"{z.alloc_batch}) -> skipped by the fair pass")
                    continue
                which = ("min", "low", "high")[alloc_flags & ALLOC_WMARK_MASK]
                mark = self.wm[p][alloc_flags & ALLOC_WMARK_MASK]
                ok = self.zone_watermark_ok(w, p, order, mark, cz, alloc_flags)
                if w.log is not None:
                    w.log.append("  " + self._fmt_check(w, p, order, mark, which, cz,
                                                        alloc_flags, ok))
                if not ok:
                    continue
                b = self.rmqueue(w, p, order, mt, alloc_flags)
                if b < 0:
                    if w.log is not None: w.say(f"    __rmqueue: nothing on a usable list in {self.layout[p].label}")
                    continue
                self._take(w, p, b, ci, order)
                w.paths.append(f"{where}: {self.layout[p].label}")
                return p, b
            if alloc_flags & ALLOC_FAIR:
                alloc_flags &= ~ALLOC_FAIR
                if skipped:
                    self._reset_alloc_batches(w, zl[0])
                    continue
            return -1, -1

    def _reset_alloc_batches(self, w: _Work, preferred: int) -> None:
        """v4.6 ``reset_alloc_batches()``: zones from the node's first up to the preferred
        zone get NR_ALLOC_BATCH = high - low and lose ZONE_FAIR_DEPLETED."""
        w.paths.append("reset_alloc_batches")
        for p in range(preferred + 1):
            z = w.zones[p]
            w.zones[p] = z._replace(alloc_batch=self.wm[p][2] - self.wm[p][1], fair_depleted=False)
        if w.log is not None: w.say(f"  reset_alloc_batches(up to {self.layout[preferred].label}); rescan without ALLOC_FAIR")

    def _alloc(self, w: _Work, a: Action) -> tuple[bool, int, int]:
        """``__alloc_pages_nodemask()`` then, on failure, ``__alloc_pages_slowpath()``
        (v4.6), with direct reclaim bounded by ``scope.direct_reclaim_rounds``."""
        ci, order = a.cls, a.order
        c = GFP_CLASSES[ci]
        zl = self._zonelist[ci]
        cz = self.ztype[zl[0]]
        if w.log is not None: w.say(f"zonelist "
              f"{' > '.join(self.layout[p].label for p in zl)}, classzone_idx "
              f"{ZoneType(cz).label}, migratetype {c.migratetype.name}")
        if w.log is not None: w.say(f"  fast path [{alloc_flags_str(self.fast_alloc_flags(c))}]")
        p, b = self.get_page_from_freelist(w, ci, order, self.fast_alloc_flags(c), "fast path")
        if p >= 0:
            if w.log is not None: w.say(f"  -> page from {self.layout[p].label} pageblock {b} "
                  f"({_MTN[w.zones[p].blocks[b].mt]})"
                  + ("" if "wakeup_kswapd" in w.paths else "; kswapd not woken"))
            return True, p, b
        w.paths.append("slow path")
        rounds = 0
        while True:
            if c.kswapd_reclaim:
                self.wake_all_kswapds(w, ci, order, cz)
            flags = self.slow_alloc_flags(c)
            if w.log is not None: w.say(f"  slow path [{alloc_flags_str(flags)}]")
            p, b = self.get_page_from_freelist(w, ci, order, flags, "slow path")
            if p >= 0:
                if w.log is not None: w.say(f"  -> page from {self.layout[p].label} pageblock {b} "
                      f"({_MTN[w.zones[p].blocks[b].mt]})")
                return True, p, b
            if not c.direct_reclaim:
                w.paths.append("allocation failure")
                if w.log is not None: w.say(f"  no __GFP_DIRECT_RECLAIM -> {c.name} page allocation failure "
                      f"(order:{order})")
                return False, -1, -1
            if order:
                # v4.6: direct compaction (async) before direct reclaim, order > 0 only
                p, b = self.direct_compact(w, ci, order, flags, False)
                if p >= 0:
                    return True, p, b
            if rounds >= self.scope.direct_reclaim_rounds:
                w.paths.append("allocation failure")
                if w.log is not None: w.say(f"  gives up after {rounds} direct-reclaim round(s) (model bound; v4.6 "
                      "keeps retrying while reclaim makes progress"
                      + (", __GFP_NOFAIL forever)" if c.nofail else ", then OOM)"))
                return False, -1, -1
            if not self.direct_reclaim(w, ci, zl, rounds):
                if order > PAGE_ALLOC_COSTLY_ORDER:
                    return self._costly_noretry(w, ci, order, flags)
                w.paths.append("allocation failure")
                if w.log is not None: w.say("  try_to_free_pages: no reclaimable page -> __alloc_pages_may_oom "
                      "(OOM killer not modelled): page allocation failure")
                return False, -1, -1
            rounds += 1
            p, b = self.get_page_from_freelist(w, ci, order, flags, "after direct reclaim")
            if p >= 0:
                if w.log is not None: w.say(f"  -> page from {self.layout[p].label} pageblock {b} "
                      f"({_MTN[w.zones[p].blocks[b].mt]})")
                return True, p, b
            if order > PAGE_ALLOC_COSTLY_ORDER:
                return self._costly_noretry(w, ci, order, flags)
            if w.log is not None: w.say("  did_some_progress, order <= PAGE_ALLOC_COSTLY_ORDER -> retry")

    def wake_all_kswapds(self, w: _Work, ci: int, order: int, classzone: int) -> None:
        """v4.6 ``wake_all_kswapds()``: ``wakeup_kswapd(zone, order, classzone)`` for every
        zone of the zonelist."""
        for p in self._zonelist[ci]:
            self.wakeup_kswapd(w, p, order, classzone)

    def _free_page(self, w: _Work, p: int, b: int, ci: int, why: str) -> None:
        """v4.6 ``__free_one_page()`` (no pcp lists in the model): the page goes back to the
        free lists of its pageblock's migratetype; NR_FREE_PAGES (and NR_FREE_CMA_PAGES for a
        MIGRATE_CMA pageblock) rise by one."""
        z = w.zones[p]
        blk = z.blocks[b]
        zk = self._zkey(z)
        nz = None
        if zk is not None:
            # the new zone is a function of (zone, pageblock, class): memoised
            key = ("free", zk, b, ci)
            nz = self._zmemo.get(key)
        if nz is None:
            held = list(blk.held)
            held[ci] -= 1
            blocks = list(z.blocks)
            blocks[b] = self._block(Block(blk.mt, blk.free + 1, tuple(held)))
            nz = Zone(z.nr_free + 1, z.nr_free_cma + (1 if blk.mt == C else 0),
                      z.alloc_batch, z.fair_depleted, tuple(blocks))
            if zk is not None:
                nz = self._zmemo[key] = self._intern.get(nz, nz)
        w.zones[p] = nz
        if self.page_age:
            self._age_free(w, p, b, ci)
        if w.log is not None: w.say(f"{why}: {GFP_CLASSES[ci].short} page of {self.layout[p].label} pageblock {b} "
              f"({_MTN[blk.mt]}) freed")

    def free_pages_order(self, w: _Work, p: int, b: int, ci: int, order: int) -> None:
        """``__free_pages(page, order)`` of a high-order allocation: its ``2**order`` pages
        go back to their pageblock at once (``__free_one_page`` merges them into one block;
        in the model they are ``2**order`` free pages of that pageblock)."""
        n = 1 << order
        z = w.zones[p]
        blk = z.blocks[b]
        held = list(blk.held)
        held[ci] -= n
        blocks = list(z.blocks)
        blocks[b] = Block(blk.mt, blk.free + n, tuple(held))
        w.zones[p] = Zone(z.nr_free + n, z.nr_free_cma + (n if blk.mt == C else 0),
                          z.alloc_batch, z.fair_depleted, tuple(blocks))
        w.paths.append("free high-order block")
        if w.log is not None: w.say(f"__free_pages: order-{order} {GFP_CLASSES[ci].short} block "
                                   f"of {self.layout[p].label} pageblock {b} ({_MTN[blk.mt]}) "
                                   "freed")

    def _costly_noretry(self, w: _Work, ci: int, order: int, flags: int) -> tuple[bool, int, int]:
        # v4.6 __alloc_pages_slowpath for order > PAGE_ALLOC_COSTLY_ORDER: no retry on
        # reclaim progress; __alloc_pages_may_oom does not run the OOM killer for such
        # orders; "noretry": a last direct compaction in MIGRATE_SYNC_LIGHT mode, then fail.
        if w.log is not None: w.say(f"  order {order} > PAGE_ALLOC_COSTLY_ORDER: no retry, no "
                                   "OOM kill; noretry: last compaction")
        p, b = self.direct_compact(w, ci, order, flags, True)
        if p >= 0:
            return True, p, b
        w.paths.append("allocation failure")
        if w.log is not None: w.say(f"  {GFP_CLASSES[ci].name} page allocation failure "
                                   f"(order:{order})")
        return False, -1, -1
