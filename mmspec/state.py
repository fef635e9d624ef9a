"""Immutable, hashable model states and actions (NamedTuples: hashing and comparison are C-fast).

A state holds only what changes: per zone the vmstat counters and pageblocks, and the
node's kswapd fields. Everything constant (watermarks, lowmem_reserve, zone types) lives
in the design instance built from a scope.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Block", "Zone", "State", "Action", "Effect", "ALLOC", "FREE", "KSWAPD",
           "PIN", "UNPIN", "CMA_ALLOC", "CMA_RELEASE"]


class Block(NamedTuple):
    """One pageblock.

    mt : the pageblock's migratetype (``get_pageblock_migratetype``).
    free : free pages in the pageblock (on the buddy lists; the model has no pcp lists).
    held : pages in use, per request class (``vocab.GFP_CLASSES`` order).
    """

    mt: int
    free: int
    held: tuple[int, ...]


class Zone(NamedTuple):
    """The changing part of one populated zone.

    nr_free : NR_FREE_PAGES.  nr_free_cma : NR_FREE_CMA_PAGES (both kept as counters
    updated by the rules, as the kernel does, so the accounting checks compare them with
    the pageblocks).  alloc_batch : NR_ALLOC_BATCH.  fair_depleted : ZONE_FAIR_DEPLETED.
    blocks : the zone's pageblocks in pfn order.
    """

    nr_free: int
    nr_free_cma: int
    alloc_batch: int
    fair_depleted: bool
    blocks: tuple[Block, ...]


class State(NamedTuple):
    """One node of memory and its kswapd.

    kswapd : :class:`~mmspec.vocab.KswapdPhase`.  kswapd_max_order, pgdat_classzone :
    ``pgdat->kswapd_max_order`` and ``pgdat->classzone_idx`` (what wakeup_kswapd requests).
    order, classzone : the arguments of kswapd's current or last balance_pgdat().
    end_zone : balance_pgdat()'s ``end_zone`` (kernel zone index); once balance_pgdat has
    returned it is kswapd's ``balanced_classzone_idx``.
    """

    zones: tuple[Zone, ...]
    kswapd: int
    kswapd_max_order: int
    pgdat_classzone: int
    order: int
    classzone: int
    end_zone: int
    # Feature fields (docs/semantics.md section "cma_alloc, pinned pages and page age"); they
    # stay at their defaults unless the scope switches pin_blockdev / cma_alloc_pageblocks /
    # page_age are on, so the default state space is unchanged.
    #: pins : per pageblock (zones in position order, pageblocks in pfn order) the number of
    #: pinned blockdev buffer pages in it (``Allocator.pinned_pages`` lists them).
    pins: tuple = ()
    #: cma : per cma_alloc bitmap position (``Allocator.cma_windows``) 1 if cma_alloc holds
    #: that range, else 0 (``Allocator.cma_ranges`` lists the held ranges).
    cma: tuple = ()
    #: lru : LRU pages in allocation order, oldest first, one code per page
    #: (``Allocator.lru_code``), then 0 for every empty slot (``Allocator.lru_pages`` lists
    #: them as ``(zone, pageblock, class)``).
    lru: tuple = ()


ALLOC = "alloc"
FREE = "free"
KSWAPD = "kswapd"
PIN = "pin"
UNPIN = "unpin"
CMA_ALLOC = "cma_alloc"
CMA_RELEASE = "cma_release"


class Action(NamedTuple):
    """One transition label.

    kind : ``alloc`` (alloc_pages for request class ``cls`` at ``order``), ``free``
    (__free_pages of one page of class ``cls`` in pageblock ``block`` of zone ``zone``), or
    ``kswapd`` (one step of the kswapd thread).  victims : the reclaim choices the step made,
    one ``(zone, block, class)`` per page reclaimed (direct reclaim or kswapd), in order.
    Zones are positions in the state's zone tuple.
    """

    kind: str
    cls: int = -1
    order: int = 0
    zone: int = -1
    block: int = -1
    victims: tuple[tuple[int, int, int], ...] = ()


class Effect(NamedTuple):
    """What a transition did, beyond the new state.

    ok : False when an allocation failed.  paths : allocator paths taken (coverage tags).
    zone, block : where an allocation was satisfied (-1 if none).
    """

    ok: bool
    paths: tuple[str, ...]
    zone: int = -1
    block: int = -1
