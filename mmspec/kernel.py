"""The v4.6 page allocator, kswapd and reclaim as pure rules over :class:`~mmspec.state.State`.

This module is the one source of semantics: the breadth-first checker, the hypothesis
machines and the trace renderer all go through :meth:`Allocator.successors` /
:meth:`Allocator.step`. A design (``models/*.py``) is a subclass that overrides a few
documented hooks (where CMA memory lives, which zone a gfp class may use, whether
``__zone_watermark_ok`` subtracts free CMA pages, the ``__rmqueue`` order, ...).

Every rule cites the v4.6 function it models (source: a 4.6.2 tree, ``mm/page_alloc.c`` and
``mm/vmscan.c``; see docs/semantics.md for the full description and the abstractions).
"""

from __future__ import annotations

from typing import Callable, ClassVar, Iterator, NamedTuple

from .errors import ScopeError, TraceReplayError
from .ops import any_, first_true
from .scope import (Scope, setup_per_zone_lowmem_reserve, setup_per_zone_wmarks,
                    init_per_zone_wmark_min)
from .state import (ALLOC, CMA_ALLOC, CMA_RELEASE, FREE, KSWAPD, PIN, UNPIN, Action, Block,
                    Effect, State, Zone)
from .vocab import (ALLOC_CMA, ALLOC_CPUSET, ALLOC_FAIR, ALLOC_HARDER, ALLOC_HIGH,
                    ALLOC_WMARK_LOW, ALLOC_WMARK_MASK, ALLOC_WMARK_MIN, GFP_CLASSES,
                    GfpClass, KswapdPhase, Migratetype, ZoneType, alloc_flags_str)

__all__ = ["Allocator", "ZoneLayout", "zone_watermark_ok_value", "NeedVictim"]

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
from .vocab import BLOCKDEV_BUFFER as _BLOCKDEV  # noqa: E402  (GFP_USER|__GFP_MOVABLE|__GFP_NOFAIL)
_ISOLATE = int(Migratetype.MIGRATE_ISOLATE)


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


class Allocator:
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
        self._zonelist = {}
        for i, c in enumerate(GFP_CLASSES):
            hz = int(self.gfp_zone(c))
            zl = tuple(p for p in range(self.nz - 1, -1, -1) if self.ztype[p] <= hz)
            if not zl and scope.limits[i]:
                raise ScopeError(f"design {self.name}: no populated zone can serve {c.name}; "
                                 "add a zone at or below ZONE_NORMAL")
            self._zonelist[i] = zl
        self._intern: dict = {}

    # ----------------------------------------------------------------------------------
    # Hooks a design overrides.

    def build_layout(self, scope: Scope) -> tuple[ZoneLayout, ...]:
        """Map the scope's memory onto this design's zones (v4.6: CMA pageblocks stay in
        their zone as MIGRATE_CMA, ``init_cma_reserved_pageblock``)."""
        zones = [(z.zone_type, tuple(z.pageblocks)) for z in scope.zones if z.pageblocks]
        return self._finish_layout(scope, zones)

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

    # ----------------------------------------------------------------------------------
    # Layout helpers.

    def _finish_layout(self, scope: Scope, zones: list[tuple[ZoneType, tuple[int, ...]]]
                       ) -> tuple[ZoneLayout, ...]:
        ppb = scope.pages_per_pageblock
        zones.sort(key=lambda z: z[0])
        managed = [(zt, len(blocks) * ppb) for zt, blocks in zones]
        derived = None
        if any(self._explicit_wmark(scope, zt) is None for zt, _ in zones):
            derived = self._derive_wmarks(scope, zones)
        # lowmem_reserve is computed at boot by init_per_zone_wmark_min() like the
        # watermarks, so it uses the same basis (CMA pages managed or not yet).
        include_cma = dict(scope.derive).get("cma_in_boot_basis", self.wmark_basis_includes_cma)
        basis = [(zt, sum(ppb for b in blocks if include_cma or b != C)
                  if zt != ZoneType.ZONE_CMA or include_cma else 0) for zt, blocks in zones]
        lrs = setup_per_zone_lowmem_reserve(basis)
        out = []
        for i, (zt, blocks) in enumerate(zones):
            wm = self._explicit_wmark(scope, zt)
            if wm is None:
                assert derived is not None
                wm = derived[i]
            lr = [0] * len(ZoneType)
            for czt, v in lrs[i].items():
                lr[int(czt)] = v
            spec = scope.zone(zt)
            for czt, v in (spec.lowmem_reserve if spec else ()):
                lr[int(czt)] = v
            # zones between populated ones: classzone of an unpopulated index keeps the sum
            for k in range(1, len(lr)):
                if k > int(zt) and lr[k] == 0 and k not in [int(z) for z, _ in zones]:
                    lr[k] = lr[k - 1]
            out.append(ZoneLayout(zt, len(blocks) * ppb, wm, tuple(lr), tuple(int(b) for b in blocks)))
        return tuple(out)

    def _explicit_wmark(self, scope: Scope, zt: ZoneType) -> tuple[int, int, int] | None:
        spec = scope.zone(zt)
        return spec.watermarks if spec is not None else None

    def _derive_wmarks(self, scope: Scope, zones: list[tuple[ZoneType, tuple[int, ...]]]
                       ) -> list[tuple[int, int, int]]:
        """Watermarks from the v4.6 formulas, on this design's managed pages.

        If ``cma_in_boot_basis`` is false (default: the design's own boot order), CMA pages
        are not yet managed when the watermarks are computed."""
        d = dict(scope.derive)
        ppb = scope.pages_per_pageblock
        page_kb = d.get("page_kbytes", 4)
        include_cma = d.get("cma_in_boot_basis", self.wmark_basis_includes_cma)
        managed = []
        for zt, blocks in zones:
            n = sum(ppb for b in blocks if include_cma or b != C)
            if zt == ZoneType.ZONE_CMA and not include_cma:
                n = 0
            managed.append((zt, n))
        mfk = d.get("min_free_kbytes")
        if mfk is None:
            lowmem = sum(m for zt, m in managed if zt <= ZoneType.ZONE_NORMAL)
            mfk = init_per_zone_wmark_min(lowmem * page_kb)
        return setup_per_zone_wmarks(managed, mfk, d.get("watermark_scale_factor", 10), page_kb)

    # ----------------------------------------------------------------------------------
    # Model protocol.

    def init_states(self) -> tuple[State, ...]:
        """All pages free, kswapd asleep, NR_ALLOC_BATCH = high - low (``setup_per_zone_wmarks``)."""
        nclass = len(GFP_CLASSES)
        zones = []
        for z in self.layout:
            blocks = tuple(Block(mt, self.ppb, (0,) * nclass) for mt in z.blocks)
            cma = sum(self.ppb for mt in z.blocks if mt == C)
            batch = z.wmark[2] - z.wmark[1] if self.fair else 0
            zones.append(Zone(z.managed, cma, batch, False, blocks))
        return (State(tuple(zones), int(SLEEPING), 0, self.top_zone, 0, self.top_zone, 0),)

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

    # Action guards (the explorers and the replay check share them).

    def may_alloc(self, s: State, ci: int) -> bool:
        """An allocation of class ``ci`` can be requested: the class is enabled and holds
        fewer than its limit (pages, or allocations for a high-order class)."""
        return self.limits[ci] > 0 and self._held(s, ci) >> self.class_order[ci] < self.limits[ci]

    def may_free(self, s: State, p: int, b: int, ci: int) -> bool:
        """A page of class ``ci`` in pageblock ``b`` of zone position ``p`` can be freed: one
        is in use there (and, with pinned blockdev pages, not every one is pinned)."""
        return s.zones[p].blocks[b].held[ci] > 0 and (not s.pins or self._freeable(s, p, b, ci))

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

    #: entries kept in the memo tables before they are emptied (bounds their memory)
    _ZMEMO_MAX = 1 << 15

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

    def _held(self, s: State, ci: int) -> int:
        return sum(b.held[ci] for z in s.zones for b in z.blocks)

    # ----------------------------------------------------------------------------------
    # Watermarks.

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
            r = all(getattr(cls, h).__module__ == __name__
                    or getattr(cls, h).__module__.startswith("mmspec.models.")
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
        for b in z.blocks:
            if b.free >= need:
                if alloc_flags & ALLOC_HARDER or b.mt in (U, M, R):
                    return True
                if b.mt == C and (alloc_flags & ALLOC_CMA or not self.cma_migratetype):
                    return True
        return False

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
        """v4.6 ``zone_reclaimable()``: pages scanned < 6 x reclaimable LRU pages. The model
        reclaims every page it scans, so this is "the zone has LRU pages"."""
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

    # ----------------------------------------------------------------------------------
    # Freelists: __rmqueue and friends.

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

    # ----------------------------------------------------------------------------------
    # Allocation: get_page_from_freelist and __alloc_pages_slowpath.

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

    # ----------------------------------------------------------------------------------
    # Reclaim.

    def _lru_candidates(self, w: _Work, zones) -> tuple[tuple, tuple]:
        """``(candidates, eligible)``: every ``(zone, pageblock, class)`` where an LRU page of
        ``zones`` can sit, in the order reclaim considers them (``zones`` order -- the
        zonelist, highest zone first, for direct reclaim -- then pageblock pfn, then class),
        and for each whether it holds a page now."""
        if self._feat:
            c = self._feature_candidates(w, zones)
            return c, (True,) * len(c)
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

    # ----------------------------------------------------------------------------------
    # Descriptions.

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

    # ----------------------------------------------------------------------------------
    # Feature switches (docs/semantics.md section 10), all off by default: pinned blockdev
    # buffer pages (pin/unpin), cma_alloc/cma_release, and LRU page ages.

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

    def _cma_free_windows(self, s: State) -> list:
        taken = {q for rng in s.cma for q in rng}
        return [win for win in self.cma_windows() if not taken.intersection(win)]

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

    def _cma_release(self, w: _Work, a: Action) -> tuple[bool, int, int]:
        """v4.6 ``cma_release()`` -> ``free_contig_range()``: every page of the range is
        freed (``__free_pages``) back to its pageblock (MIGRATE_CMA: NR_FREE_CMA_PAGES rises
        too), and the bitmap bits are cleared."""
        pins, cma, lru = w.feat
        rng = next(r for r in cma if r[0] == (a.zone, a.block))
        w.feat = (pins, tuple(r for r in cma if r != rng), lru)
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
        for win in self._cma_free_windows(w.freeze()):
            where = ", ".join(f"{self.layout[p].label}:{b}" for p, b in win)
            orig = {(p, b): w.zones[p].blocks[b].mt for p, b in win}
            res = self._alloc_contig_range(w, win, orig)
            if res == 0:
                pins, cma, lru = w.feat
                w.feat = (pins, tuple(sorted(cma + (win,))), lru)
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

    def _alloc_contig_range(self, w: _Work, win, orig: dict) -> int:
        """One ``alloc_contig_range`` over the pageblocks ``win``: 0, -EBUSY (-16) or
        -ENOMEM (-12); on failure the caller undoes the isolation (``orig``: migratetypes)."""
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
        zl = self._zonelist[_BLOCKDEV]
        for p, b in win:
            for ci in range(len(GFP_CLASSES)):
                keep = pins.count((p, b)) if ci == _BLOCKDEV else 0
                while w.zones[p].blocks[b].held[ci] > keep:
                    tp, tb = self._migration_target(w, zl)
                    if tp < 0:
                        return -12
                    self._move_page(w, p, b, ci, tp, tb)
        for p, b in win:
            if (p, b) in pins:
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

    def _migration_target(self, w: _Work, zl: tuple[int, ...]) -> tuple[int, int]:
        """v4.6 ``alloc_migrate_target()``: ``alloc_page(GFP_USER | __GFP_MOVABLE)`` (no
        __GFP_HIGHMEM on 64-bit: highest zone NORMAL; MIGRATE_MOVABLE, so ALLOC_CMA under
        MIGRATE_CMA and other CMA pageblocks may serve it): fast path, slow path with
        wake_all_kswapds and up to ``direct_reclaim_rounds`` direct-reclaim rounds, as for
        any request of that mask; (-1, -1) when it fails."""
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
                    w, _BLOCKDEV, zl, ("migration target", rounds)):
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
            pins, cma, lru = w.feat
            if lru and lru[-1] == (tp, tb, _BLOCKDEV):
                w.feat = (pins, cma, lru[:-1])
            self._age_move(w, (p, b, ci), (tp, tb, ci))
        w.paths.append("cma_alloc: migrate page")
        if w.log is not None: w.say(f"    migrate_pages: {GFP_CLASSES[ci].short} page of "
                                   f"{self.layout[p].label} pageblock {b} -> "
                                   f"{self.layout[tp].label} pageblock {tb}")

    # ----------------------------------------------------------------------------------
    # High-order requests and direct compaction (docs/semantics.md section 11). Only
    # requests of order > 0 reach this code; the default scope enables none.

    def compaction_source_ok(self, block_mt: int, request_mt: int, sync: bool) -> bool:
        """Whether the migration scanner isolates pages from a pageblock of type
        ``block_mt`` for a request of migratetype ``request_mt``. v4.6
        ``isolate_migratepages``: in async mode only ``migrate_async_suitable`` pageblocks
        (MIGRATE_MOVABLE or MIGRATE_CMA), whatever the request; in sync modes every
        pageblock (there is no ``cc->migratetype`` filter in v4.6)."""
        return sync or block_mt == M or block_mt == C

    def compaction_target_ok(self, blk: Block) -> bool:
        """v4.6 ``suitable_migration_target``: the free scanner takes MIGRATE_MOVABLE or
        MIGRATE_CMA pageblocks that are not already one free block of pageblock_order."""
        return blk.free < self.ppb and (blk.mt == M or blk.mt == C)

    def _migratable(self, w: _Work, p: int, b: int) -> list[int]:
        # isolate_migratepages_block: the LRU pages of the pageblock (one entry per page,
        # classes in GFP_CLASSES order); a pinned blockdev page keeps an extra reference and
        # fails migration, so it is not taken (scope pin_blockdev).
        from .vocab import BLOCKDEV_BUFFER
        blk = w.zones[p].blocks[b]
        feat = getattr(w, "feat", ())
        pins = feat[0] if feat else ()
        out: list[int] = []
        for ci in self.lru_classes:
            n = blk.held[ci]
            if n and ci == BLOCKDEV_BUFFER and pins:
                n -= pins.count((p, b))
            out.extend([ci] * max(n, 0))
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
            free += blk.free
            if blk.free == self.ppb:
                total += 1
                if pbo >= order:
                    suitable += 1 << (pbo - order)
            elif blk.free:
                total += blk.free
                if order == 0:
                    suitable += blk.free
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
        for blk in w.zones[p].blocks:
            if blk.free != self.ppb or order > self.pageblock_order:
                continue
            if blk.mt == mt or blk.mt in FALLBACKS.get(mt, ()):
                return True
            if mt == M and blk.mt == C and self.cma_migratetype:
                return True
        return False

    def _isolate_freepages(self, w: _Work, p: int, sc: list, pool: list, want: int) -> None:
        """v4.6 ``isolate_freepages`` from the free scanner's pageblock ``sc[1]`` downwards,
        above the migration scanner's: suitable targets only; each free page is taken by
        ``__isolate_free_page`` (leaves NR_FREE_PAGES, and NR_FREE_CMA_PAGES for a CMA
        pageblock) only while ``zone_watermark_ok(zone, 0, low + 1, 0, 0)`` passes (alloc_flags
        0: free CMA pages do not count); stops once ``want`` pages are isolated. A pageblock
        left with no free page counts as scanned to its end (the scanner moves below it)."""
        low = self.wm[p][1]
        b = sc[1]
        while b > sc[0]:
            blk = w.zones[p].blocks[b]
            if self.compaction_target_ok(blk):
                while blk.free and len(pool) < want:
                    if not self.zone_watermark_ok(w, p, 0, low + 1, 0, 0):
                        w.paths.append("compaction: free page isolation refused (watermark)")
                        break
                    z = w.zones[p]
                    blocks = list(z.blocks)
                    blk = blk._replace(free=blk.free - 1)
                    blocks[b] = blk
                    w.zones[p] = z._replace(nr_free=z.nr_free - 1,
                                            nr_free_cma=z.nr_free_cma - (1 if blk.mt == C else 0),
                                            blocks=tuple(blocks))
                    pool.append(b)
                if blk.free and len(pool) >= want:
                    sc[1] = b
                    return
            b -= 1
            sc[1] = b
            if len(pool) >= want:
                return
        sc[1] = sc[0]   # scanned down to the migration scanner: the scanners meet

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
                                nr_free_cma=z.nr_free_cma + (1 if sblk.mt == C else 0),
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
        Loop: ``compact_finished`` (scanners met -> COMPACT_COMPLETE; order-``order`` low
        watermark met with ``alloc_flags`` and a suitable free block -> COMPACT_PARTIAL);
        ``isolate_migratepages`` takes the LRU pages of the next pageblock below the free
        scanner that :meth:`compaction_source_ok` accepts; ``migrate_pages`` moves them one by
        one into free pages isolated by :meth:`_isolate_freepages` (most recently isolated
        first, the ``cc->freepages`` list order); when no free page can be isolated the rest
        are put back. At the end unused isolated free pages go back to their pageblocks
        (``release_freepages``)."""
        st = self.compaction_suitable(w, p, order, alloc_flags, classzone)
        if st != COMPACT_CONTINUE:
            return st
        lab = self.layout[p].label
        w.paths.append(f"compact_zone: {lab}")
        mt = GFP_CLASSES[ci].migratetype
        sc = [0, len(w.zones[p].blocks) - 1]   # [migration scanner, free scanner] pageblocks
        pool: list[int] = []
        low = self.wm[p][1]
        cma_before = [self.is_cma_memory(p, b, blk.mt) and blk.free < self.ppb
                      for b, blk in enumerate(w.zones[p].blocks)]
        while True:
            if sc[1] <= sc[0]:
                status = COMPACT_COMPLETE
                if w.log is not None: w.say(f"    compact_finished({lab}): scanners met -> "
                                           "COMPACT_COMPLETE")
                break
            if (self.zone_watermark_ok(w, p, order, low, classzone, alloc_flags)
                    and self._compact_suitable_page(w, p, order, mt)):
                status = COMPACT_PARTIAL
                if w.log is not None: w.say(f"    compact_finished({lab}): order-{order} page "
                                           "free on a usable list -> COMPACT_PARTIAL")
                break
            src = -1
            for b in range(sc[0], sc[1]):
                if self.compaction_source_ok(w.zones[p].blocks[b].mt, mt, sync):
                    src = b
                    break
            if src < 0:
                sc[0] = sc[1]       # isolate_migratepages reached the free scanner
                continue
            sc[0] = src + 1
            pages = self._migratable(w, p, src)
            if not pages:
                continue
            if w.log is not None: w.say(f"    isolate_migratepages: {len(pages)} page(s) of "
                                       f"{lab} pageblock {src} "
                                       f"({_MTN[w.zones[p].blocks[src].mt]})")
            for vc in pages:
                if not pool:
                    self._isolate_freepages(w, p, sc, pool, len(pages))
                if not pool:
                    if w.log is not None: w.say("      compaction_alloc: no free page -> "
                                               "-ENOMEM, the rest put back")
                    break
                self._migrate_one(w, p, src, vc, pool.pop())
        for b in pool:          # release_freepages
            z = w.zones[p]
            blocks = list(z.blocks)
            blk = blocks[b]
            blocks[b] = blk._replace(free=blk.free + 1)
            w.zones[p] = z._replace(nr_free=z.nr_free + 1,
                                    nr_free_cma=z.nr_free_cma + (1 if blk.mt == C else 0),
                                    blocks=tuple(blocks))
        for b, blk in enumerate(w.zones[p].blocks):
            if cma_before[b] and blk.free == self.ppb:
                w.paths.append("compaction empties a CMA pageblock")
                if w.log is not None: w.say(f"    {lab} pageblock {b} ({_MTN[blk.mt]}, CMA "
                                           "memory) is now one free pageblock-order block")
        return status

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
