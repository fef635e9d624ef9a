"""Watermark checks, mm/page_alloc.c (v4.6): ``__zone_watermark_ok`` and ``zone_watermark_ok``.

``zone_watermark_ok_value`` is the kernel function on plain numbers (the reference every
engine shares); :class:`Watermarks` applies it to a zone of a design: which free CMA pages
are subtracted (the design hooks ``watermark_counts_cma`` / ``watermark_cma``), which
lowmem_reserve entry (``classzone_idx``), and the order > 0 test of step 8 (a free block of
the order on a list the request may use). The trace line that prints the decisive
numbers is formatted here too (``_fmt_check``).
"""

from __future__ import annotations

from typing import Callable

from ..ops import any_
from ..state import Zone
from ..vocab import ALLOC_CMA, ALLOC_HARDER, ALLOC_HIGH, alloc_flags_str
from .common import C, M, R, U, _Work

__all__ = ["zone_watermark_ok_value", "Watermarks"]


def zone_watermark_ok_value(free_pages: int, order: int, mark: int, lowmem_reserve: int,
                            alloc_flags: int, nr_free_cma: int = 0,
                            nr_reserved_highatomic: int = 0,
                            high_order_ok: Callable[[int], bool] | None = None) -> bool:
    """v4.6 ``__zone_watermark_ok()`` on plain numbers.

    Parameters
    ----------
    free_pages : NR_FREE_PAGES of the zone.
    order : allocation order.
    mark : the watermark in pages (``z->watermark[alloc_flags & ALLOC_WMARK_MASK]``).
    lowmem_reserve : ``z->lowmem_reserve[classzone_idx]``.
    alloc_flags : ALLOC_* bits.
    nr_free_cma : NR_FREE_CMA_PAGES; subtracted unless ALLOC_CMA (pass 0 for designs without
        MIGRATE_CMA, as in ZONE_CMA patch 4/6).
    nr_reserved_highatomic : subtracted unless ALLOC_HARDER.
    high_order_ok : for order > 0, a predicate ``o -> bool`` saying whether a free block of
        order ``o`` sits on a list the request may use (step 8 of the check).

    Notes
    -----
    In this exact order: ``free -= 2**order - 1``; ALLOC_HIGH halves the mark
    (``min -= min / 2``); without ALLOC_HARDER the highatomic reserve is subtracted, with it
    the mark loses a quarter (``min -= min / 4``); without ALLOC_CMA free CMA pages are
    subtracted; fail if ``free <= min + lowmem_reserve`` (strict). C division of non-negative
    longs is floor division.

    Examples
    --------
    GFP_ATOMIC in the slow path, min = 3: 3 - 1 = 2, then 2 - 0 = 2, so 3 free pages pass.

    >>> zone_watermark_ok_value(3, 0, 3, 0, ALLOC_HIGH | ALLOC_HARDER)
    True
    >>> zone_watermark_ok_value(2, 0, 3, 0, ALLOC_HIGH | ALLOC_HARDER)
    False
    """
    free = free_pages - ((1 << order) - 1)
    m = mark
    if alloc_flags & ALLOC_HIGH:
        m -= m // 2
    if not alloc_flags & ALLOC_HARDER:
        free -= nr_reserved_highatomic
    else:
        m -= m // 4
    if not alloc_flags & ALLOC_CMA:
        free -= nr_free_cma
    if free <= m + lowmem_reserve:
        return False
    if order == 0:
        return True
    return high_order_ok(order) if high_order_ok is not None else False


class Watermarks:
    """The watermark checks of a zone (mixed into :class:`~mmspec.mm.Allocator`)."""

    #: the per-zone memo tables (``_zmemo``) are emptied when they grow past this size
    _ZMEMO_MAX = 1 << 15

    def zone_watermark_ok(self, w: _Work, p: int, order: int, mark: int, classzone: int,
                          alloc_flags: int) -> bool:
        """v4.6 ``zone_watermark_ok()`` for zone position ``p`` (see
        :func:`zone_watermark_ok_value`); ``classzone`` is a kernel zone index."""
        z = w.zones[p]
        zk = self._zkey(z)
        if zk is not None and self._pure_hooks():
            key = ("wm", zk, p, order, mark, classzone, alloc_flags)
            memo = self._zmemo
            r = memo.get(key)
            if r is None:
                if len(memo) > self._ZMEMO_MAX:
                    memo.clear()        # bounded memory; the values are recomputable
                r = memo[key] = self._zone_watermark_ok(z, p, order, mark, classzone, alloc_flags)
            return r
        return self._zone_watermark_ok(z, p, order, mark, classzone, alloc_flags)

    def _pure_hooks(self) -> bool:
        """Whether the hooks zone_watermark_ok calls are the shipped ones (pure functions of
        their arguments and the scope), so its results may be memoised per interned zone.
        A design loaded from a file keeps the unmemoised path."""
        r = self.__dict__.get("_pure_hooks_v")
        if r is None:
            cls = type(self)
            r = all(getattr(cls, h).__module__.startswith(("mmspec.mm.", "mmspec.models."))
                    for h in ("watermark_counts_cma", "watermark_cma", "_high_order_ok"))
            self.__dict__["_pure_hooks_v"] = r
        return r

    def _zone_watermark_ok(self, z: Zone, p: int, order: int, mark: int, classzone: int,
                           alloc_flags: int) -> bool:
        # watermark_counts_cma() decides the CMA subtraction (v4.6: iff not ALLOC_CMA, so
        # clearing the bit for zone_watermark_ok_value below changes nothing by default).
        cma = 0 if self.watermark_counts_cma(alloc_flags) else self.watermark_cma(z, alloc_flags)
        return zone_watermark_ok_value(
            z.nr_free, order, mark, self.lr[p][classzone], alloc_flags & ~ALLOC_CMA,
            cma, 0,
            (lambda o: self._high_order_ok(z, o, alloc_flags)) if order else None)

    def _high_order_ok(self, z: Zone, order: int, alloc_flags: int) -> bool:
        # step 8 of __zone_watermark_ok: a free block of order >= `order` on an
        # UNMOVABLE/MOVABLE/RECLAIMABLE list, or on CMA with ALLOC_CMA, or any with HARDER.
        need = 1 << order
        harder = bool(alloc_flags & ALLOC_HARDER)
        cma_ok = bool(alloc_flags & ALLOC_CMA or not self.cma_migratetype)
        return any_((b.free >= need) & (harder | (b.mt == U) | (b.mt == M) | (b.mt == R)
                                        | ((b.mt == C) & cma_ok))
                    for b in z.blocks)

    def _fmt_check(self, w: _Work, p: int, order: int, mark: int, which: str, cz: int,
                   flags: int, ok: bool) -> str:
        z = w.zones[p]
        cma = 0 if self.watermark_counts_cma(flags) else self.watermark_cma(z, flags)
        m = mark
        if flags & ALLOC_HIGH:
            m -= m // 2
        if flags & ALLOC_HARDER:
            m -= m // 4
        res = self.lr[p][cz]
        free = z.nr_free - ((1 << order) - 1) - cma
        lhs = f"free {z.nr_free}" + (f" - free_cma {cma} = {free}" if cma else "")
        rhs = f"{which} {m}" if m == mark else f"{which} {mark}->{m}"
        if res:
            rhs += f" + lowmem_reserve {res}"
        rel = ">" if ok else "<="
        return (f"zone_watermark_ok({self.layout[p].label}, {alloc_flags_str(flags)}): "
                f"{lhs} {rel} {rhs}{'' if ok else ' -> next zone'}")
