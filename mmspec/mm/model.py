"""The model: a design instance's constants, its hooks and the explorer's protocol.

:class:`Allocator` is the v4.6 allocator as one class assembled from the modules that
mirror the kernel's mm/ (:mod:`.watermark`, :mod:`.page_alloc`, :mod:`.vmscan`,
:mod:`.compaction`, :mod:`.cma`, :mod:`.features`) and the zone layout of a scope
(:mod:`.zone_setup`: watermarks explicit or from the v4.6 formulas, lowmem_reserve). This
module holds what is not a kernel function: the design hooks a design (``models/*.py``)
overrides, and the model protocol every engine uses: ``init_states``, ``successors`` (the
fixed order of actions), ``step``/``explain`` (one action, with the kernel-vocabulary log),
the action guards, and the int engine's interning of zones.
"""

from __future__ import annotations

from typing import ClassVar, Iterator

from ..errors import ScopeError, TraceReplayError
from ..scope import Scope
from ..state import ALLOC, FREE, KSWAPD, Action, Block, Effect, State, Zone
from ..vocab import (ALLOC_CMA, ALLOC_CPUSET, ALLOC_FAIR, ALLOC_HARDER, ALLOC_HIGH,
                    ALLOC_WMARK_LOW, ALLOC_WMARK_MIN, GFP_CLASSES, GfpClass, ZoneType)
from .common import C, M, NeedVictim, SLEEPING, _Work
from .cma import Cma
from .compaction import Compaction
from .features import Features
from .page_alloc import PageAlloc
from .vmscan import Vmscan
from .watermark import Watermarks
from .zone_setup import ZoneSetup

__all__ = ["Allocator"]


class Allocator(Watermarks, PageAlloc, Vmscan, Compaction, Cma, Features, ZoneSetup):
    """The v4.6 allocator semantics; designs subclass it and override the hooks.

    Class attributes (set by each design)
    -------------------------------------
    name : CLI name of the design.  title : one line for ``mmspec list``.
    source : where the mechanism comes from (kernel version, patch set, Message-ID).
    cma_zone : True if CMA memory is moved into its own ZONE_CMA.
    cma_migratetype : True if MIGRATE_CMA pageblocks, ALLOC_CMA and NR_FREE_CMA_PAGES exist.
    wmark_basis_includes_cma : whether CMA pages are managed when watermarks are derived
        (v4.6 initcall order: no; ZONE_CMA v6-era pure_initcall: yes).
    """

    name: ClassVar[str] = "v4.6"
    rank: ClassVar[int] = 100
    #: expected verdicts recorded by the design itself: {check name: Verdict}
    expected: ClassVar[dict] = {}
    title: ClassVar[str] = "v4.6 page allocator"
    source: ClassVar[str] = "Linux v4.6 (4.6.2 tree), mm/page_alloc.c, mm/vmscan.c"
    cma_zone: ClassVar[bool] = False
    cma_migratetype: ClassVar[bool] = True
    wmark_basis_includes_cma: ClassVar[bool] = False
    #: True in the subclass the tracer builds (mmspec.engine.tracer): the state's leaves are
    #: symbolic, so the int-engine memo tables and interning are bypassed
    _tracing: ClassVar[bool] = False
    #: False where states are not revisited (one long run, mmspec.simulate): interning
    #: zones and memoising per zone would only cost
    _memo: ClassVar[bool] = True

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.ppb = scope.pages_per_pageblock
        self.pageblock_order = scope.pageblock_order
        self.layout = self.build_layout(scope)
        self.nz = len(self.layout)
        self.ztype = tuple(int(z.ztype) for z in self.layout)
        self.top_zone = self.ztype[-1]          # pgdat->nr_zones - 1
        self.wm = tuple(z.wmark for z in self.layout)
        self.lr = tuple(z.lowmem_reserve for z in self.layout)
        self.classes = GFP_CLASSES
        self.limits = scope.limits
        self.lru_classes = tuple(i for i, c in enumerate(GFP_CLASSES) if c.lru)
        self.fair = scope.fair_zone_policy
        #: allocation order of each request class: pageblock_order for the high-order
        #: classes (vocab.GfpClass.high_order), else 0 (docs/semantics.md section 11)
        self.class_order = tuple(self.pageblock_order if c.high_order else 0
                                 for c in GFP_CLASSES)
        # feature switches (docs/semantics.md section 10; all off by default)
        self.pin_blockdev = scope.pin_blockdev
        self.cma_alloc_pageblocks = scope.cma_alloc_pageblocks
        self.page_age = scope.page_age
        self._feat = self.pin_blockdev or self.page_age or bool(self.cma_alloc_pageblocks)
        #: index of each zone's first pageblock in the per-pageblock ``State.pins`` (and the
        #: total number of pageblocks last)
        self._pb_base = tuple(sum(len(z.blocks) for z in self.layout[:p])
                              for p in range(self.nz + 1))
        #: slots of State.lru: every LRU page the request limits allow, plus one for the
        #: migration target page that cma_alloc takes before the migrated page frees its own
        self._lru_len = (sum(self.limits[ci] << self.class_order[ci] for ci in self.lru_classes)
                         + 1 if self.page_age else 0)
        self._zonelist = {}
        for i, c in enumerate(GFP_CLASSES):
            hz = int(self.gfp_zone(c))
            zl = tuple(p for p in range(self.nz - 1, -1, -1) if self.ztype[p] <= hz)
            if not zl and scope.limits[i]:
                raise ScopeError(f"design {self.name}: no populated zone can serve {c.name}; "
                                 "add a zone at or below ZONE_NORMAL")
            self._zonelist[i] = zl
        self._intern: dict = {}

    def gfp_zone(self, c: GfpClass) -> ZoneType:
        """v4.6 ``gfp_zone()``: MOVABLE+HIGHMEM gives ZONE_MOVABLE, everything else here NORMAL."""
        return ZoneType.ZONE_MOVABLE if c.highmem_movable else ZoneType.ZONE_NORMAL

    def fast_alloc_flags(self, c: GfpClass) -> int:
        """v4.6 ``__alloc_pages_nodemask``: ALLOC_WMARK_LOW|ALLOC_CPUSET|ALLOC_FAIR, plus
        ALLOC_CMA iff the migratetype is MOVABLE (CONFIG_CMA)."""
        flags = ALLOC_WMARK_LOW | ALLOC_CPUSET
        if self.fair:
            flags |= ALLOC_FAIR
        if self.cma_migratetype and c.migratetype == M:
            flags |= ALLOC_CMA
        return flags

    def slow_alloc_flags(self, c: GfpClass) -> int:
        """v4.6 ``gfp_to_alloc_flags()``: ALLOC_WMARK_MIN|ALLOC_CPUSET, ALLOC_HIGH from
        __GFP_HIGH, ALLOC_HARDER (and no CPUSET) for __GFP_ATOMIC, ALLOC_CMA for MOVABLE."""
        flags = ALLOC_WMARK_MIN | ALLOC_CPUSET
        if c.high:
            flags |= ALLOC_HIGH
        if c.atomic:
            flags = (flags | ALLOC_HARDER) & ~ALLOC_CPUSET
        if self.cma_migratetype and c.migratetype == M:
            flags |= ALLOC_CMA
        return flags

    def watermark_cma(self, z: Zone, alloc_flags: int) -> int:
        """Free CMA pages that ``__zone_watermark_ok`` subtracts when ALLOC_CMA is unset."""
        return z.nr_free_cma if self.cma_migratetype else 0

    def watermark_counts_cma(self, alloc_flags: int) -> bool:
        """Whether ``__zone_watermark_ok`` leaves free CMA pages counted as free.
        v4.6: iff ALLOC_CMA (the ``#ifdef CONFIG_CMA`` test in ``__zone_watermark_ok``);
        Joonsoo Kim's 2014 patch 3 makes it never."""
        return bool(alloc_flags & ALLOC_CMA)

    def is_cma_memory(self, p: int, b: int, mt: int) -> bool:
        """Whether pageblock ``b`` of zone position ``p`` is CMA memory (a MIGRATE_CMA
        pageblock in v4.6; designs with a CMA zone override this)."""
        return mt == C

    def cma_first(self, w: _Work, p: int, mt: int, alloc_flags: int) -> bool:
        """Whether ``__rmqueue`` tries the CMA lists before the request's own lists.
        v4.6: never (the v5.8 rule overrides this)."""
        return False

    def cma_fallback_allowed(self, mt: int, alloc_flags: int) -> bool:
        """v4.6 ``__rmqueue``: ``__rmqueue_cma_fallback`` only for MIGRATE_MOVABLE (keys on
        the migratetype, not on ALLOC_CMA)."""
        return self.cma_migratetype and mt == M

    def init_states(self) -> tuple[State, ...]:
        """All pages free, kswapd asleep, NR_ALLOC_BATCH = high - low (``setup_per_zone_wmarks``)."""
        nclass = len(GFP_CLASSES)
        zones = []
        for z in self.layout:
            blocks = tuple(Block(mt, self.ppb, (0,) * nclass) for mt in z.blocks)
            cma = sum(self.ppb for mt in z.blocks if mt == C)
            batch = z.wmark[2] - z.wmark[1] if self.fair else 0
            zones.append(Zone(z.managed, cma, batch, False, blocks))
        pins = (0,) * self._pb_base[-1] if self.pin_blockdev else ()
        cma = (0,) * len(self.cma_windows()) if self.cma_alloc_pageblocks else ()
        return (State(tuple(zones), int(SLEEPING), 0, self.top_zone, 0, self.top_zone, 0,
                      pins, cma, (0,) * self._lru_len),)

    def actions(self, s: State) -> tuple[Action, ...]:
        """Every enabled action in the fixed order of :meth:`successors`."""
        return tuple(a for a, _, _ in self.successors(s))

    def successors(self, s: State) -> Iterator[tuple[Action, State, Effect]]:
        """Yield ``(action, next_state, effect)`` for every enabled action, deterministically.

        Order: allocations per request class (GFP_CLASSES order; when reclaim must choose a
        page, the choices branch in the order reclaim lists them: zonelist order, highest
        zone first, for direct reclaim, then pageblock pfn order, then class), then frees per
        class, zone and pageblock, then the kswapd step (its choices in zone, pfn, class order).
        """
        for ci in range(len(GFP_CLASSES)):
            if self.may_alloc(s, ci):
                yield from self._branch(s, Action(ALLOC, ci, self.class_order[ci]), self._alloc)
        for ci in range(len(GFP_CLASSES)):
            if not self.limits[ci]:
                continue
            for p, z in enumerate(s.zones):
                for b in range(len(z.blocks)):
                    if self.may_free(s, p, b, ci):
                        a = Action(FREE, ci, self.class_order[ci], p, b)
                        yield a, *self._run(s, a, None)
        if self.kswapd_awake(s):
            yield from self._branch(s, Action(KSWAPD), self._kswapd)
        if self.pin_blockdev or self.cma_alloc_pageblocks:
            yield from self._feature_successors(s)

    def may_alloc(self, s: State, ci: int) -> bool:
        """An allocation of class ``ci`` can be requested: the class is enabled and holds
        fewer than its limit (pages, or allocations for a high-order class)."""
        return self.limits[ci] > 0 and self._held(s, ci) >> self.class_order[ci] < self.limits[ci]

    def may_free(self, s: State, p: int, b: int, ci: int) -> bool:
        """A page of class ``ci`` in pageblock ``b`` of zone position ``p`` can be freed: one
        is in use there (and, with pinned blockdev pages, not every one is pinned)."""
        return s.zones[p].blocks[b].held[ci] > 0 and (not self.pin_blockdev
                                                         or self._freeable(s, p, b, ci))

    def kswapd_awake(self, s: State) -> bool:
        """kswapd can take a step: it is running balance_pgdat or in its HZ/10 nap."""
        return s.kswapd != SLEEPING

    def step(self, s: State, a: Action) -> tuple[State, Effect]:
        """Apply one action; raise :class:`TraceReplayError` if it is not enabled in ``s``."""
        if not self._enabled(s, a):
            raise TraceReplayError(f"action {self.describe(a)} is not enabled in this state")
        try:
            return self._run(s, a, None)
        except NeedVictim:
            raise TraceReplayError(f"action {self.describe(a)} does not say which page "
                                   "reclaim takes") from None

    def explain(self, s: State, a: Action) -> tuple[State, Effect, list[str]]:
        """Like :meth:`step`, also returning the kernel-vocabulary log of the step."""
        if not self._enabled(s, a):
            raise TraceReplayError(f"action {self.describe(a)} is not enabled in this state")
        log: list[str] = []
        ns, eff = self._run(s, a, log)
        return ns, eff, log

    def _enabled(self, s: State, a: Action) -> bool:
        if a.kind == ALLOC:
            return (0 <= a.cls < len(GFP_CLASSES) and self.may_alloc(s, a.cls)
                    and a.order in self.scope.orders and a.order == self.class_order[a.cls])
        if a.kind == FREE:
            return (0 <= a.zone < len(s.zones) and 0 <= a.block < len(s.zones[a.zone].blocks)
                    and 0 <= a.cls < len(GFP_CLASSES) and not a.victims
                    and a.order == self.class_order[a.cls]
                    and self.may_free(s, a.zone, a.block, a.cls))
        if a.kind == KSWAPD:
            return self.kswapd_awake(s)
        return self._feature_enabled(s, a)

    def _run(self, s: State, a: Action, log: list | None) -> tuple[State, Effect]:
        w = _Work(s, a.victims, log)
        ok, zone, block = self._apply(w, a)
        if w.vi != len(w.victims):
            raise TraceReplayError(f"action {self.describe(a)} names more reclaim choices than "
                                   "the step used")
        # Same result as self._interned(w.freeze()) (the same interned zone objects, in the
        # same order of first appearance); the zones tuple is shared with s when every zone
        # is s's own (tuple(t) is t).
        old, new = s.zones, w.zones
        canon = self._canon
        same = len(new) == len(old)
        for p, z in enumerate(new):
            z = new[p] = canon(z)
            if same and z is not old[p]:
                same = False
        if same:
            w.zones = old
        elif not self._memo:
            w.zones = tuple(new)
        else:
            # share equal zones tuples between states (bytes/state); their zones are interned
            zt = tuple(new)
            try:
                w.zones = self._ztuples.setdefault(zt, zt)
            except AttributeError:
                self._ztuples = {zt: zt}
                w.zones = zt
        return w.freeze(), Effect(ok, tuple(w.paths), zone, block)

    def _apply(self, w: _Work, a: Action) -> tuple[bool, int, int]:
        """Run action ``a`` on the scratch state ``w``: ``(ok, zone, pageblock)``."""
        if a.kind == ALLOC:
            ok, zone, block = self._alloc(w, a)
        elif a.kind == FREE:
            if a.order:
                self.free_pages_order(w, a.zone, a.block, a.cls, a.order)
            else:
                self._free_page(w, a.zone, a.block, a.cls, "__free_pages")
            ok, zone, block = True, a.zone, a.block
        elif a.kind != KSWAPD:
            ok, zone, block = self._feature_step(w, a)
        else:
            self._kswapd(w, a)
            ok, zone, block = True, -1, -1
        return ok, zone, block

    def _branch(self, s: State, base: Action, _fn) -> Iterator[tuple[Action, State, Effect]]:
        stack: list[tuple] = [()]
        while stack:
            victims = stack.pop()
            a = base if victims == base.victims else base._replace(victims=victims)
            try:
                ns, eff = self._run(s, a, None)
            except NeedVictim as nv:
                for c in reversed(nv.candidates):
                    stack.append(victims + (c,))
                continue
            yield a, ns, eff

    def _interned(self, s: State) -> State:
        # Share identical zone tuples between states: keeps bytes/state low.
        canon = self._canon
        zones = tuple([canon(z) for z in s.zones])
        return State(zones, s.kswapd, s.kswapd_max_order, s.pgdat_classzone, s.order,
                     s.classzone, s.end_zone, *s[7:])

    def _canon(self, z: Zone) -> Zone:
        """The interned copy of zone ``z``. Interned zones live as long as the model, so
        ``id()`` names them uniquely: ``self._zid`` maps the id of every interned zone to it,
        and the memo tables below (``_zmemo``) are keyed by it (pure functions of a zone's
        value and the design's constants, computed once per distinct zone)."""
        if not self._memo:
            return z
        try:
            zid = self._zid
        except AttributeError:
            zid = self._zid = {}
            self._zmemo = {}
        if zid.get(id(z)) is z:
            return z
        c = self._intern.setdefault(z, z)
        if c is z:
            zid[id(z)] = z
        return c

    def _block(self, blk: Block) -> Block:
        # Share equal pageblocks between zones (bytes/state). Only blocks whose migratetype
        # is a plain int are shared, so no block ever takes the repr of an equal
        # Migratetype-valued one.
        if self._tracing or not self._memo or type(blk.mt) is not int:
            return blk
        try:
            return self._bintern.setdefault(blk, blk)
        except AttributeError:
            self._bintern = {blk: blk}
            return blk

    def _zkey(self, z: Zone):
        """``id(z)`` if ``z`` is an interned zone (memoisable), else None."""
        if self._tracing or not self._memo:
            return None
        try:
            zid = self._zid
        except AttributeError:
            return None
        i = id(z)
        return i if zid.get(i) is z else None

    def describe(self, a: Action) -> str:
        """The action as a kernel call."""
        if a.kind == ALLOC:
            c = GFP_CLASSES[a.cls] if 0 <= a.cls < len(GFP_CLASSES) else None
            s = f"alloc_pages({c.name if c else a.cls}, order={a.order})"
        elif a.kind == FREE:
            c = GFP_CLASSES[a.cls] if 0 <= a.cls < len(GFP_CLASSES) else None
            zl = self.layout[a.zone].label if 0 <= a.zone < self.nz else a.zone
            s = f"__free_pages({c.short if c else a.cls} page, {zl} pageblock {a.block})"
            if a.order:
                s = s[:-1] + f", order={a.order})"
        elif a.kind == KSWAPD:
            s = "kswapd"
        else:
            s = self._feature_describe(a)
        if a.victims:
            s += " reclaiming " + ", ".join(
                f"{GFP_CLASSES[vc].short}@{self.layout[vp].label}:{vb}"
                if 0 <= vp < self.nz and 0 <= vc < len(GFP_CLASSES) else str((vp, vb, vc))
                for vp, vb, vc in a.victims)
        return s

    def free_noncma(self, s: State, p: int) -> int:
        return s.zones[p].nr_free - s.zones[p].nr_free_cma
