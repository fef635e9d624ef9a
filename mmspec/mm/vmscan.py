"""Reclaim and kswapd, mm/vmscan.c (v4.6).

``wakeup_kswapd``, ``zone_balanced``, ``zone_reclaimable``, ``pgdat_balanced``, one step of
the kswapd thread (``kswapd()``: ``balance_pgdat`` passes with ``kswapd_shrink_zone``,
``kswapd_try_to_sleep``'s nap and ``prepare_kswapd_sleep``) and direct reclaim
(``try_to_free_pages`` -> ``shrink_zones``). Which LRU page reclaim takes is a choice the
action names (``Action.victims``): the explorers branch over every eligible page.
"""

from __future__ import annotations

from ..errors import TraceReplayError
from ..ops import any_
from ..state import Action
from ..vocab import ZoneType
from .common import C, NAPPING, NeedVictim, RUNNING, SLEEPING, _Work

__all__ = ["Vmscan"]


class Vmscan:
    """Reclaim and kswapd (mixed into :class:`~mmspec.mm.Allocator`)."""

    def zone_balanced(self, w: _Work, p: int, order: int, highorder: bool, gap: int,
                      classzone: int) -> bool:
        """v4.6 ``zone_balanced()``: ``zone_watermark_ok_safe(zone, order, high + gap,
        classzone)`` with alloc_flags 0 (free CMA pages are not counted); with
        CONFIG_COMPACTION and ``highorder`` false the check is order 0 against
        ``high + gap + 2**order``."""
        mark = self.wm[p][2] + gap
        if not highorder:
            mark += 1 << order
            order = 0
        return self.zone_watermark_ok(w, p, order, mark, classzone, 0)

    def zone_reclaimable(self, w: _Work, p: int) -> bool:
        """v4.6 ``zone_reclaimable()``: ``NR_PAGES_SCANNED < 6 * zone_reclaimable_pages``.

        NR_PAGES_SCANNED grows by the pages ``shrink_inactive_list`` scans and drops to 0
        when a page is freed to the zone (``free_one_page``). The model reclaims every page
        it scans, so while reclaim can take a page the counter never reaches the limit and
        the zone is reclaimable. A page reclaim cannot release (a blockdev buffer pinned
        under I/O) is scanned and put back: when every LRU page of the zone is such a
        page, each kswapd pass scans pages,
        frees none and changes nothing else, so v4.6 passes until the counter crosses the
        limit and then treats the zone as unreclaimable (balanced: kswapd sleeps). The
        model goes there at once: the zone is reclaimable iff reclaim can take one of its
        pages now."""
        if self._feat:
            return any_(self._lru_candidates(w, (p,))[1])
        return any_([b.held[ci] > 0 for b in w.zones[p].blocks for ci in self.lru_classes])

    def pgdat_balanced(self, w: _Work, order: int, classzone: int) -> bool:
        """v4.6 ``pgdat_balanced()`` over populated zones with index <= ``classzone``;
        unreclaimable zones count as balanced; order 0 needs every zone balanced, order > 0
        balanced zones holding >= 25% of the managed pages."""
        managed = balanced = 0
        for p in range(self.nz):
            if self.ztype[p] > classzone:
                break
            managed += self.layout[p].managed
            if not self.zone_reclaimable(w, p) or self.zone_balanced(w, p, order, False, 0,
                                                                      self.ztype[p]):
                balanced += self.layout[p].managed
            elif order == 0:
                return False
        return balanced >= (managed >> 2) if order else True

    def wakeup_kswapd(self, w: _Work, p: int, order: int, classzone: int) -> None:
        """v4.6 ``wakeup_kswapd()``: raise ``kswapd_max_order`` (and only then lower
        ``pgdat->classzone_idx``); return if kswapd is not on its wait queue or the zone
        passes ``zone_balanced(zone, order, true, 0, 0)``; else wake it."""
        if w.max_order < order:
            w.max_order = order
            w.pgdat_cz = min(w.pgdat_cz, classzone)
        if w.kswapd == RUNNING:
            return
        if self.zone_balanced(w, p, order, True, 0, 0):
            if w.log is not None:
                z = w.zones[p]
                cma = self.watermark_cma(z, 0)
                if w.log is not None: w.say(f"  wakeup_kswapd({self.layout[p].label}): zone_balanced: free "
                      f"{z.nr_free}" + (f" - free_cma {cma} = {z.nr_free - cma}" if cma else "")
                      + f" > high {self.wm[p][2]} -> kswapd stays asleep")
            return
        if w.log is not None:
            z = w.zones[p]
            cma = self.watermark_cma(z, 0)
            if w.log is not None: w.say(f"  wakeup_kswapd({self.layout[p].label}): free {z.nr_free}"
                  + (f" - free_cma {cma} = {z.nr_free - cma}" if cma else "")
                  + f" <= high {self.wm[p][2]} -> kswapd woken"
                  + (" (during its nap: premature)" if w.kswapd == NAPPING else ""))
        w.paths.append("wakeup_kswapd")
        w.kswapd = int(RUNNING)
        self._begin_balance(w)

    def _begin_balance(self, w: _Work) -> None:
        # kswapd(): order/classzone_idx read from pgdat and reset; balance_pgdat starts with
        # end_zone = 0.
        w.order, w.cz = w.max_order, w.pgdat_cz
        w.max_order, w.pgdat_cz = 0, self.top_zone
        w.end_zone = 0

    def _lru_candidates(self, w: _Work, zones) -> tuple[tuple, tuple]:
        """``(candidates, eligible)``: every ``(zone, pageblock, class)`` where an LRU page of
        ``zones`` can sit, in the order reclaim considers them (``zones`` order -- the
        zonelist, highest zone first, for direct reclaim -- then pageblock pfn, then class),
        and for each whether it holds a page now."""
        if self._feat:
            return self._feature_candidates(w, zones)
        try:
            cands = self._cand_cache[zones]
        except AttributeError:
            self._cand_cache = {}
            cands = None
        except KeyError:
            cands = None
        if cands is None:
            cands = self._cand_cache[zones] = tuple(
                (p, b, ci) for p in zones for b in range(len(self.layout[p].blocks))
                for ci in self.lru_classes)
        zs = w.zones
        return cands, tuple(zs[p].blocks[b].held[ci] > 0 for p, b, ci in cands)

    def _choose(self, w: _Work, key: tuple, cands: tuple, eligible: tuple) -> int:
        """The page reclaim takes at choice point ``key`` (a tuple naming the point, e.g.
        ``("direct reclaim", round)``): its index in ``cands``. The action names its
        choices in order (``Action.victims``); an action that has none left branches over
        every eligible candidate (:class:`NeedVictim`)."""
        if w.vi < len(w.victims):
            v = w.victims[w.vi]
            try:
                i = cands.index(v)
            except ValueError:
                i = -1
            if i < 0 or not eligible[i]:
                raise TraceReplayError(f"reclaim choice {v} is not an LRU page of an eligible zone")
            w.vi += 1
            return i
        raise NeedVictim(tuple(c for c, e in zip(cands, eligible) if e))

    def direct_reclaim(self, w: _Work, ci: int, zl: tuple[int, ...], key=0) -> bool:
        """v4.6 ``try_to_free_pages()`` -> ``shrink_zones()``: reclaim from the LRU of every
        zone with index <= gfp_zone(gfp) (scaled: one page per round), the page chosen
        regardless of the pageblock's migratetype. ``key`` names the round (the choice
        point). Returns did_some_progress."""
        cands, elig = self._lru_candidates(w, zl)
        if not any_(elig):
            return False
        p, b, vc = cands[self._choose(w, ("direct reclaim", key), cands, elig)]
        w.paths.append("direct reclaim")
        if w.zones[p].blocks[b].mt == C:
            w.paths.append("direct reclaim of a MIGRATE_CMA page")
        if w.log is not None: w.say(f"  __alloc_pages_direct_reclaim -> try_to_free_pages (zones "
              f"{', '.join(self.layout[q].label for q in zl)}):")
        self._free_page(w, p, b, vc, "    shrink_zone")
        return True

    def kswapd_shrink_page(self, w: _Work, p: int, j: int) -> bool:
        """One page of v4.6 ``kswapd_shrink_zone()`` for zone position ``p`` (the ``j``-th
        of the pass's batch): the LRU page reclaim takes, whatever its pageblock's
        migratetype. Returns False when the zone has no LRU page left."""
        cands, elig = self._lru_candidates(w, (p,))
        if not any_(elig):
            return False
        vp, vb, vc = cands[self._choose(w, ("kswapd", p, j), cands, elig)]
        if w.zones[vp].blocks[vb].mt == C:
            w.paths.append("kswapd reclaims a MIGRATE_CMA page")
        self._free_page(w, vp, vb, vc, "  kswapd_shrink_zone")
        return True

    def _kswapd(self, w: _Work, a: Action) -> None:
        """One step of the kswapd thread (v4.6 ``kswapd()``).

        NAPPING: the HZ/10 nap of ``kswapd_try_to_sleep`` ends; ``prepare_kswapd_sleep``
        (``pgdat_balanced(order, balanced_classzone)``) decides between sleeping until woken
        and a new ``balance_pgdat``.
        RUNNING: one priority pass of ``balance_pgdat``: ``end_zone`` = highest zone of the
        node failing ``zone_balanced(zone, order, false, 0, 0)``; zones 0..end_zone that fail
        ``zone_balanced(zone, order, false, gap, end_zone)`` are shrunk by
        ``kswapd_reclaim_batch`` pages (``kswapd_shrink_zone``). When no zone is unbalanced,
        or ``pgdat_balanced(order, classzone)`` holds, or the pass reclaimed nothing,
        balance_pgdat returns end_zone and kswapd tries to sleep.
        """
        if w.kswapd == NAPPING:
            if self.pgdat_balanced(w, w.order, w.end_zone):
                w.kswapd = int(SLEEPING)
                w.paths.append("kswapd sleeps")
                if w.log is not None: w.say(f"kswapd: nap over, pgdat_balanced(order {w.order}, classzone "
                      f"{ZoneType(w.end_zone).label}) -> sleeps until woken")
            else:
                w.kswapd = int(RUNNING)
                w.paths.append("kswapd premature sleep")
                if w.log is not None: w.say(f"kswapd: nap over, pgdat_balanced(order {w.order}, classzone "
                      f"{ZoneType(w.end_zone).label}) fails -> balance_pgdat again")
                self._begin_balance(w)
            return
        order = w.order
        unb = -1
        for p in range(self.nz - 1, -1, -1):
            if not self.zone_balanced(w, p, order, False, 0, 0):
                unb = p
                break
        w.paths.append("balance_pgdat")
        reclaimed = 0
        if unb >= 0:
            w.end_zone = self.ztype[unb]
            z = w.zones[unb]
            cma = self.watermark_cma(z, 0)
            if w.log is not None: w.say(f"kswapd: balance_pgdat pass: end_zone {self.layout[unb].label} (free "
                  f"{z.nr_free}" + (f" - free_cma {cma}" if cma else "")
                  + f" <= high {self.wm[unb][2]} + {1 << order})")
            for p in range(unb + 1):
                lay = self.layout[p]
                gap = min(lay.wmark[1], -(-lay.managed // 100))
                if self.zone_balanced(w, p, order, False, gap, w.end_zone):
                    continue
                for j in range(self.scope.kswapd_reclaim_batch):
                    if not self.kswapd_shrink_page(w, p, j):
                        break
                    reclaimed += 1
            if reclaimed:
                w.paths.append("kswapd reclaim")
            if reclaimed and not self.pgdat_balanced(w, order, w.cz):
                return
        else:
            if w.log is not None: w.say("kswapd: balance_pgdat pass: every zone balanced")
        # balance_pgdat returned end_zone; top of the kswapd() loop
        new_order, new_cz = w.max_order, w.pgdat_cz
        w.max_order, w.pgdat_cz = 0, self.top_zone
        if order < new_order or w.cz > new_cz:
            w.order, w.cz, w.end_zone = new_order, new_cz, 0
            if w.log is not None: w.say("kswapd: a larger order or lower classzone was requested -> balance_pgdat again")
            return
        if self.pgdat_balanced(w, order, w.end_zone):
            w.kswapd = int(NAPPING)
            w.paths.append("kswapd nap")
            if w.log is not None: w.say(f"kswapd: pgdat_balanced(order {order}, classzone "
                  f"{ZoneType(w.end_zone).label}) -> kswapd_try_to_sleep: naps HZ/10")
        else:
            if w.log is not None: w.say("kswapd: prepare_kswapd_sleep fails -> balance_pgdat again")
            self._begin_balance(w)
