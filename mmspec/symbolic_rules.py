"""The key v4.6 transitions written once over an arithmetic interface (no z3 import here).

The same functions run on plain ints (:class:`IntOps`, used to cross-validate these rules
against :mod:`mmspec.kernel` state by state) and on z3 terms (``mmspec.symbolic.Z3Ops``,
used for BMC and k-induction). States are the explicit engine's own
:class:`~mmspec.state.State` / ``Zone`` / ``Block`` NamedTuples whose leaves are ints/bools
or z3 terms.

What is shared with the explicit engine and what is cross-validated
------------------------------------------------------------------
Shared (called, not re-implemented): ``__zone_watermark_ok`` (the pass/fail threshold of every
watermark decision is obtained by calling :func:`mmspec.kernel.zone_watermark_ok_value`),
the design hooks ``fast_alloc_flags`` / ``slow_alloc_flags`` (gfp_to_alloc_flags),
``watermark_cma``, ``cma_fallback_allowed``, ``is_cma_memory``, the zonelists
(``gfp_zone``), the layout (watermarks, lowmem_reserve from setup_per_zone_*), and
``FALLBACKS`` (v4.6 ``fallbacks[]``).
Cross-validated (re-expressed as branch-free terms; tests/test_symbolic.py compares them with
``Allocator.successors`` on every reachable state of small scopes): the control flow of
get_page_from_freelist (fair pass, reset_alloc_batches, rescan), __rmqueue /
__rmqueue_smallest / __rmqueue_cma_fallback / __rmqueue_fallback with steal_suitable_fallback,
buffered_rmqueue's NR_ALLOC_BATCH update, __free_one_page, __alloc_pages_slowpath with
wake_all_kswapds / wakeup_kswapd and bounded direct reclaim (try_to_free_pages), and one
kswapd step (balance_pgdat pass, kswapd_try_to_sleep nap, prepare_kswapd_sleep).

Supported: order-0 scopes (``orders = [0]``) and designs that override only the hooks in
:data:`SUPPORTED_HOOKS`; anything else raises :class:`~mmspec.errors.MmspecError`.
"""

from __future__ import annotations

from typing import Any, Sequence

from .errors import MmspecError
from .kernel import FALLBACKS, Allocator, zone_watermark_ok_value
from .state import ALLOC, FREE, KSWAPD, Action, Block, State, Zone
from .vocab import (ALLOC_CMA, ALLOC_FAIR, ALLOC_WMARK_MASK, GFP_CLASSES, KswapdPhase,
                    Migratetype, ZoneType)

__all__ = ["IntOps", "Rules", "NeedChoice", "SUPPORTED_HOOKS", "Template"]

C = int(Migratetype.MIGRATE_CMA)
U, R = int(Migratetype.MIGRATE_UNMOVABLE), int(Migratetype.MIGRATE_RECLAIMABLE)
SLEEPING, NAPPING, RUNNING = (int(KswapdPhase.SLEEPING), int(KswapdPhase.NAPPING),
                              int(KswapdPhase.RUNNING))

#: Allocator methods a design may override and still be encoded (the encoding calls them).
SUPPORTED_HOOKS = frozenset({"build_layout", "gfp_zone", "is_cma_memory", "fast_alloc_flags",
                             "slow_alloc_flags", "watermark_cma", "cma_fallback_allowed",
                             "__init__"})
_ENCODED = ("cma_first", "rmqueue", "_smallest", "_fallback", "_take", "get_page_from_freelist",
            "_alloc", "wake_all_kswapds", "wakeup_kswapd", "direct_reclaim", "_kswapd",
            "zone_balanced", "pgdat_balanced", "zone_reclaimable", "zone_watermark_ok",
            "_free_page", "_reset_alloc_batches", "_begin_balance", "_high_order_ok")


class NeedChoice(Exception):
    """Int backend: a reclaim slot is used and the choice vector does not cover it."""

    def __init__(self, slot: int, eligible: tuple[int, ...]) -> None:
        super().__init__(slot, eligible)
        self.slot = slot
        self.eligible = eligible


class IntOps:
    """The arithmetic interface on Python ints and bools."""

    symbolic = False

    @staticmethod
    def ite(c, a, b):
        return a if c else b

    @staticmethod
    def and_(*xs):
        return all(xs)

    @staticmethod
    def or_(*xs):
        return any(xs)

    @staticmethod
    def not_(x):
        return not x


class IntOracle:
    """Reclaim choices for the int backend: ``choices[k]`` is the candidate index of slot k."""

    def __init__(self, cands, choices: Sequence[int]) -> None:
        self.cands = cands
        self.choices = tuple(choices)
        self.used: list[int] = []

    def pick(self, slot: int, pc, eligible: Sequence[Any]) -> list:
        n = len(self.cands)
        if not pc:
            return [False] * n
        if slot >= len(self.choices):
            raise NeedChoice(slot, tuple(i for i in range(n) if eligible[i]))
        ch = self.choices[slot]
        if not eligible[ch]:
            raise MmspecError(f"reclaim choice {self.cands[ch]} is not eligible")
        while len(self.used) <= slot:
            self.used.append(-1)
        self.used[slot] = ch
        return [i == ch for i in range(n)]


class Template:
    """One action template: alloc of a class, free of (class, zone, block), or kswapd."""

    __slots__ = ("kind", "cls", "zone", "block")

    def __init__(self, kind: str, cls: int = -1, zone: int = -1, block: int = -1) -> None:
        self.kind, self.cls, self.zone, self.block = kind, cls, zone, block

    def action(self, victims=()) -> Action:
        return Action(self.kind, self.cls, 0, self.zone, self.block, tuple(victims))

    def __repr__(self) -> str:
        return f"Template({self.kind}, {self.cls}, {self.zone}, {self.block})"


class Rules:
    """The transition rules of one design instance over an arithmetic interface ``ops``."""

    def __init__(self, model: Allocator, ops) -> None:
        check_supported(model)
        self.m = model
        self.ops = ops
        self.ppb = model.ppb
        self.pbo = model.pageblock_order
        self.nz = model.nz
        self.nblocks = tuple(len(z.blocks) for z in model.layout)
        self.lru = model.lru_classes
        #: every (zone, block, class) an LRU page can occupy: the reclaim candidates
        self.cands = tuple((p, b, ci) for p in range(self.nz) for b in range(self.nblocks[p])
                           for ci in self.lru)
        ts = []
        for ci in range(len(GFP_CLASSES)):
            if model.limits[ci]:
                ts.append(Template(ALLOC, ci))
        for ci in range(len(GFP_CLASSES)):
            if model.limits[ci]:
                for p in range(self.nz):
                    for b in range(self.nblocks[p]):
                        ts.append(Template(FREE, ci, p, b))
        ts.append(Template(KSWAPD))
        self.templates = tuple(ts)
        self._thr: dict = {}

    # ---------------------------------------------------------------- helpers
    def merge(self, c, x, y):
        """ite over whole (nested tuple) states; identical leaves are shared."""
        ops = self.ops
        if not ops.symbolic:
            return x if c else y
        return self._merge(c, x, y)

    def _merge(self, c, x, y):
        if x is y:
            return x
        if isinstance(x, tuple):
            vals = [self._merge(c, a, b) for a, b in zip(x, y)]
            return type(x)(*vals) if hasattr(x, "_fields") else tuple(vals)
        return self.ops.ite(c, x, y)

    def first(self, conds: Sequence[Any]) -> list:
        """One-hot: the first true condition."""
        ops = self.ops
        out, none_before = [], True
        for c in conds:
            out.append(ops.and_(none_before, c) if none_before is not True else c)
            none_before = ops.and_(none_before, ops.not_(c)) if none_before is not True else ops.not_(c)
        return out

    def threshold(self, mark: int, lowmem: int, flags: int) -> tuple[int, bool]:
        """(T, subtract_cma) such that v4.6 ``__zone_watermark_ok`` (order 0) passes iff
        ``free - (free_cma if subtract_cma) > T``: obtained by calling the explicit engine's
        :func:`zone_watermark_ok_value`, so both engines share the arithmetic."""
        key = (mark, lowmem, flags)
        r = self._thr.get(key)
        if r is None:
            f = 0
            while not zone_watermark_ok_value(f, 0, mark, lowmem, flags, 0, 0):
                f += 1
            t = f - 1
            sub = not zone_watermark_ok_value(f, 0, mark, lowmem, flags, 1, 0)
            r = self._thr[key] = (t, sub)
        return r

    def wmark_ok(self, s: State, p: int, mark: int, classzone, flags: int):
        """``zone_watermark_ok(zone p, order 0, mark, classzone, flags)``; ``classzone``
        may be a term (then lowmem_reserve is selected by cases)."""
        z = s.zones[p]
        cma = self.m.watermark_cma(z, flags)

        def ok(cz: int):
            t, sub = self.threshold(mark, self.m.lr[p][cz], flags)
            free = z.nr_free - cma if (sub and not (isinstance(cma, int) and cma == 0)) else z.nr_free
            return free > t
        if isinstance(classzone, int):
            return ok(classzone)
        ops = self.ops
        return ops.or_(*[ops.and_(classzone == k, ok(k)) for k in range(len(ZoneType))])

    def zone_balanced(self, s: State, p: int, highorder: bool, gap: int, classzone):
        """v4.6 ``zone_balanced()`` at order 0: alloc_flags 0, mark high + gap (+1 if not
        highorder, the CONFIG_COMPACTION order-0 check)."""
        mark = self.m.wm[p][2] + gap + (0 if highorder else 1)
        return self.wmark_ok(s, p, mark, classzone, 0)

    def reclaimable(self, s: State, p: int):
        """v4.6 ``zone_reclaimable()`` as the model has it: the zone has LRU pages."""
        return self.ops.or_(*[blk.held[ci] > 0 for blk in s.zones[p].blocks for ci in self.lru])

    def pgdat_balanced(self, s: State, classzone):
        """v4.6 ``pgdat_balanced()`` at order 0 over zones with index <= classzone."""
        ops = self.ops
        parts = []
        for p in range(self.nz):
            okp = ops.or_(ops.not_(self.reclaimable(s, p)),
                          self.zone_balanced(s, p, False, 0, self.m.ztype[p]))
            if isinstance(classzone, int):
                if self.m.ztype[p] <= classzone:
                    parts.append(okp)
            else:
                parts.append(ops.or_(ops.not_(classzone >= self.m.ztype[p]), okp))
        return ops.and_(*parts) if parts else True

    def held(self, s: State, ci: int):
        return sum(blk.held[ci] for z in s.zones for blk in z.blocks)

    # ---------------------------------------------------------------- freelists
    def smallest(self, s: State, p: int, mt: int) -> list:
        """``__rmqueue_smallest`` at order 0: first partly free pageblock of ``mt`` in pfn
        order, else the first entirely free one (one-hot over the zone's pageblocks)."""
        ops = self.ops
        blocks = s.zones[p].blocks
        partial = [ops.and_(blk.mt == mt, blk.free > 0, blk.free < self.ppb) for blk in blocks]
        full = [ops.and_(blk.mt == mt, blk.free == self.ppb) for blk in blocks]
        fp, ff = self.first(partial), self.first(full)
        anyp = ops.or_(*partial)
        return [ops.or_(fp[b], ops.and_(ops.not_(anyp), ff[b])) for b in range(len(blocks))]

    def fallback(self, s: State, p: int, mt: int):
        """``__rmqueue_fallback`` at order 0 with ``steal_suitable_fallback``: returns
        (one-hot selection, state with the stolen pageblock retyped)."""
        ops = self.ops
        blocks = s.zones[p].blocks
        pbo = self.pbo
        entries = []
        for current in (pbo, 0):
            for fmt in FALLBACKS[mt]:
                for b, blk in enumerate(blocks):
                    size_ok = blk.free == self.ppb if current == pbo else blk.free != self.ppb
                    cond = ops.and_(blk.mt == fmt, blk.free > 0, size_ok)
                    can_steal = current >= pbo or current >= pbo // 2 or mt in (R, U)
                    if can_steal:
                        claim = True if current >= pbo else (blk.free >= (1 << (pbo - 1)))
                    else:
                        claim = False
                    entries.append((b, cond, claim))
        sel1 = self.first([e[1] for e in entries])
        nb = len(blocks)
        sel = [ops.or_(*[sel1[i] for i, e in enumerate(entries) if e[0] == b]) for b in range(nb)]
        newblocks = []
        for b, blk in enumerate(blocks):
            retype = ops.or_(*[ops.and_(sel1[i], e[2]) for i, e in enumerate(entries)
                               if e[0] == b and e[2] is not False])
            newblocks.append(blk._replace(mt=ops.ite(retype, mt, blk.mt)) if retype is not False
                             else blk)
        z = s.zones[p]
        zones = list(s.zones)
        zones[p] = z._replace(blocks=tuple(newblocks))
        return sel, s._replace(zones=tuple(zones))

    def rmqueue(self, s: State, p: int, mt: int, flags: int):
        """v4.6 ``__rmqueue``: own type, then ``__rmqueue_cma_fallback`` (if the design allows
        it for this migratetype), then ``__rmqueue_fallback``."""
        ops = self.ops
        own = self.smallest(s, p, mt)
        anyown = ops.or_(*own)
        if self.m.cma_fallback_allowed(mt, flags):
            cma = self.smallest(s, p, C)
        else:
            cma = [False] * len(own)
        anycma = ops.or_(*cma)
        fb, sfb = self.fallback(s, p, mt)
        usefb = ops.and_(ops.not_(anyown), ops.not_(anycma))
        sel = [ops.or_(own[b], ops.and_(ops.not_(anyown), cma[b]), ops.and_(usefb, fb[b]))
               for b in range(len(own))]
        return sel, self.merge(usefb, sfb, s)

    def take(self, s: State, p: int, sel: Sequence[Any], ci: int) -> State:
        """Remove one page from the selected pageblock (``buffered_rmqueue`` with the
        NR_ALLOC_BATCH update of the fair policy)."""
        ops = self.ops
        z = s.zones[p]
        blocks = []
        cma_taken = []
        for b, blk in enumerate(z.blocks):
            held = tuple(h + ops.ite(sel[b], 1, 0) if i == ci else h for i, h in enumerate(blk.held))
            blocks.append(Block(blk.mt, blk.free - ops.ite(sel[b], 1, 0), held))
            cma_taken.append(ops.and_(sel[b], blk.mt == C))
        batch, depleted = z.alloc_batch, z.fair_depleted
        if self.m.fair:
            batch = batch - 1
            depleted = ops.or_(depleted, batch <= 0)
        zones = list(s.zones)
        zones[p] = Zone(z.nr_free - 1, z.nr_free_cma - ops.ite(ops.or_(*cma_taken), 1, 0),
                        batch, depleted, tuple(blocks))
        return s._replace(zones=tuple(zones))

    def reset_batches(self, s: State, preferred: int) -> State:
        zones = list(s.zones)
        for p in range(preferred + 1):
            zones[p] = zones[p]._replace(alloc_batch=self.m.wm[p][2] - self.m.wm[p][1],
                                         fair_depleted=False)
        return s._replace(zones=tuple(zones))

    def one_pass(self, s: State, ci: int, flags: int):
        ops = self.ops
        zl = self.m._zonelist[ci]
        cz = self.m.ztype[zl[0]]
        mt = int(GFP_CLASSES[ci].migratetype)
        conds, outs = [], []
        for p in zl:
            mark = self.m.wm[p][flags & ALLOC_WMARK_MASK]
            ok = self.wmark_ok(s, p, mark, cz, flags)
            sel, s2 = self.rmqueue(s, p, mt, flags)
            cond = ops.and_(ok, ops.or_(*sel))
            if flags & ALLOC_FAIR:
                cond = ops.and_(ops.not_(s.zones[p].fair_depleted), cond)
            conds.append(cond)
            outs.append(self.take(s2, p, sel, ci))
        res = s
        for c, o in reversed(list(zip(conds, outs))):
            res = self.merge(c, o, res)
        return res, ops.or_(*conds)

    def get_page_from_freelist(self, s: State, ci: int, flags: int):
        """v4.6 ``get_page_from_freelist`` (order 0): the fair pass, then, if a zone was
        skipped as ZONE_FAIR_DEPLETED, reset_alloc_batches and a rescan without ALLOC_FAIR."""
        ops = self.ops
        if not flags & ALLOC_FAIR:
            return self.one_pass(s, ci, flags)
        zl = self.m._zonelist[ci]
        s1, ok1 = self.one_pass(s, ci, flags)
        skipped = ops.or_(*[s.zones[p].fair_depleted for p in zl])
        s2, ok2 = self.one_pass(self.reset_batches(s, zl[0]), ci, flags & ~ALLOC_FAIR)
        res = self.merge(ok1, s1, self.merge(skipped, s2, s))
        return res, ops.or_(ok1, ops.and_(skipped, ok2))

    # ---------------------------------------------------------------- kswapd wake / reclaim
    def begin_balance(self, s: State) -> State:
        return s._replace(order=s.kswapd_max_order, classzone=s.pgdat_classzone,
                          kswapd_max_order=0, pgdat_classzone=self.m.top_zone, end_zone=0)

    def wakeup_kswapd(self, s: State, p: int) -> State:
        """v4.6 ``wakeup_kswapd`` at order 0 (kswapd_max_order is never raised)."""
        ops = self.ops
        wake = ops.and_(s.kswapd != RUNNING, ops.not_(self.zone_balanced(s, p, True, 0, 0)))
        woken = self.begin_balance(s._replace(kswapd=RUNNING))
        return self.merge(wake, woken, s)

    def free_victim(self, s: State, sel: Sequence[Any]) -> State:
        """``__free_one_page`` of the selected reclaim candidate (one-hot ``sel``)."""
        ops = self.ops
        zones = list(s.zones)
        for p, z in enumerate(s.zones):
            blocks = list(z.blocks)
            zany, zcma = [], []
            for b, blk in enumerate(z.blocks):
                here = [(i, ci) for i, (cp, cb, ci) in enumerate(self.cands) if cp == p and cb == b]
                if not here:
                    continue
                anyb = ops.or_(*[sel[i] for i, _ in here])
                if anyb is False:
                    continue
                held = list(blk.held)
                for i, ci in here:
                    held[ci] = held[ci] - ops.ite(sel[i], 1, 0)
                blocks[b] = Block(blk.mt, blk.free + ops.ite(anyb, 1, 0), tuple(held))
                zany.append(anyb)
                zcma.append(ops.and_(anyb, blk.mt == C))
            if zany:
                zones[p] = Zone(z.nr_free + ops.ite(ops.or_(*zany), 1, 0),
                                z.nr_free_cma + ops.ite(ops.or_(*zcma), 1, 0),
                                z.alloc_batch, z.fair_depleted, tuple(blocks))
        return s._replace(zones=tuple(zones))

    def eligible(self, s: State, zones: Sequence[int]) -> list:
        return [(p in zones) and (s.zones[p].blocks[b].held[ci] > 0) for p, b, ci in self.cands]

    def alloc(self, s: State, ci: int, oracle, pc=True):
        """``__alloc_pages_nodemask`` then ``__alloc_pages_slowpath`` (order 0) with
        ``scope.direct_reclaim_rounds`` rounds of direct reclaim. Returns (state, ok)."""
        ops = self.ops
        c = GFP_CLASSES[ci]
        s1, ok1 = self.get_page_from_freelist(s, ci, self.m.fast_alloc_flags(c))
        # on failure s1 is the state the fast path left (reset_alloc_batches may have run)
        s2, ok2 = self._slow(s1, ci, oracle, ops.and_(pc, ops.not_(ok1)), 0)
        return self.merge(ok1, s1, s2), ops.or_(ok1, ok2)

    def _slow(self, s: State, ci: int, oracle, pc, rounds: int):
        ops = self.ops
        c = GFP_CLASSES[ci]
        zl = self.m._zonelist[ci]
        if c.kswapd_reclaim:
            for p in zl:
                s = self.wakeup_kswapd(s, p)
        flags = self.m.slow_alloc_flags(c)
        s2, ok2 = self.get_page_from_freelist(s, ci, flags)
        if not c.direct_reclaim or rounds >= self.m.scope.direct_reclaim_rounds:
            return s2, ok2
        elig = self.eligible(s2, zl)
        anyc = ops.or_(*elig)
        sel = oracle.pick(rounds, ops.and_(pc, ops.not_(ok2), anyc), elig)
        sr = self.free_victim(s2, sel)
        s3, ok3 = self.get_page_from_freelist(sr, ci, flags)
        sn, okn = self._slow(s3, ci, oracle,
                             ops.and_(pc, ops.not_(ok2), anyc, ops.not_(ok3)), rounds + 1)
        res = self.merge(ops.or_(ok2, ops.not_(anyc)), s2, self.merge(ok3, s3, sn))
        return res, ops.or_(ok2, ops.and_(anyc, ops.or_(ok3, okn)))

    def kswapd(self, s: State, oracle, pc=True) -> State:
        """One kswapd step (v4.6 ``kswapd()``, order 0): see ``Allocator._kswapd``."""
        ops = self.ops
        # NAPPING: the nap ends; prepare_kswapd_sleep decides.
        pb = self.pgdat_balanced(s, s.end_zone)
        napped = self.merge(pb, s._replace(kswapd=SLEEPING),
                            self.begin_balance(s._replace(kswapd=RUNNING)))
        # RUNNING: one balance_pgdat pass.
        unbal = [ops.not_(self.zone_balanced(s, p, False, 0, 0)) for p in range(self.nz)]
        top = list(reversed(self.first(list(reversed(unbal)))))   # highest unbalanced zone
        slot_base = 0
        run = self._returned(s)                                     # no zone unbalanced
        for unb in range(self.nz - 1, -1, -1):
            w = s._replace(end_zone=self.m.ztype[unb])
            got = []
            slot = slot_base
            cpc = ops.and_(pc, s.kswapd == RUNNING, top[unb])
            for p in range(unb + 1):
                lay = self.m.layout[p]
                gap = min(lay.wmark[1], -(-lay.managed // 100))
                need = ops.not_(self.zone_balanced(w, p, False, gap, self.m.ztype[unb]))
                for _ in range(self.m.scope.kswapd_reclaim_batch):
                    elig = self.eligible(w, (p,))
                    anyc = ops.or_(*elig)
                    act = ops.and_(need, anyc)
                    sel = oracle.pick(slot, ops.and_(cpc, act), elig)
                    slot += 1
                    w = self.merge(act, self.free_victim(w, sel), w)
                    got.append(act)
                    need = act   # kswapd_shrink_zone's loop stops when no candidate is left
            reclaimed = ops.or_(*got) if got else False
            stay = ops.and_(reclaimed, ops.not_(self.pgdat_balanced(w, s.classzone)))
            case = self.merge(stay, w, self._returned(w))
            run = self.merge(top[unb], case, run)
        return self.merge(s.kswapd == NAPPING, napped, run)

    def _returned(self, w: State) -> State:
        """balance_pgdat returned; top of the kswapd() loop (order 0)."""
        ops = self.ops
        new_order, new_cz = w.kswapd_max_order, w.pgdat_classzone
        w = w._replace(kswapd_max_order=0, pgdat_classzone=self.m.top_zone)
        again = ops.or_(w.order < new_order, w.classzone > new_cz)
        w_again = w._replace(order=new_order, classzone=new_cz, end_zone=0)
        w_nap = w._replace(kswapd=NAPPING)
        w_bal = self.begin_balance(w)
        return self.merge(again, w_again,
                          self.merge(self.pgdat_balanced(w, w.end_zone), w_nap, w_bal))

    # ---------------------------------------------------------------- actions
    def enabled(self, s: State, t: Template):
        ops = self.ops
        if t.kind == ALLOC:
            return self.held(s, t.cls) < self.m.limits[t.cls]
        if t.kind == FREE:
            return s.zones[t.zone].blocks[t.block].held[t.cls] > 0
        return s.kswapd != SLEEPING

    def apply(self, s: State, t: Template, oracle, pc=True):
        """(next state, ok) of template ``t`` (assumed enabled)."""
        if t.kind == ALLOC:
            return self.alloc(s, t.cls, oracle, pc)
        if t.kind == FREE:
            sel = [(cp, cb, cc) == (t.zone, t.block, t.cls) for cp, cb, cc in self.cands]
            if any(sel):
                return self.free_victim(s, sel), True
            # a class not on the LRU: free it directly
            return self._free_direct(s, t), True
        return self.kswapd(s, oracle, pc), True

    def _free_direct(self, s: State, t: Template) -> State:
        ops = self.ops
        z = s.zones[t.zone]
        blk = z.blocks[t.block]
        held = tuple(h - 1 if i == t.cls else h for i, h in enumerate(blk.held))
        blocks = list(z.blocks)
        blocks[t.block] = Block(blk.mt, blk.free + 1, held)
        zones = list(s.zones)
        zones[t.zone] = Zone(z.nr_free + 1, z.nr_free_cma + ops.ite(blk.mt == C, 1, 0),
                             z.alloc_batch, z.fair_depleted, tuple(blocks))
        return s._replace(zones=tuple(zones))

    # ---------------------------------------------------------------- int backend
    def successors(self, s: State):
        """Int backend: every (action, next state, ok) — compared with Allocator.successors."""
        out = []
        for t in self.templates:
            if not self.enabled(s, t):
                continue
            stack: list[tuple[int, ...]] = [()]
            while stack:
                ch = stack.pop()
                orc = IntOracle(self.cands, ch)
                try:
                    ns, ok = self.apply(s, t, orc)
                except NeedChoice as nc:
                    pad = ch + (-1,) * (nc.slot - len(ch))   # slots this run left unused
                    for e in reversed(nc.eligible):
                        stack.append(pad + (e,))
                    continue
                victims = tuple(self.cands[i] for i in orc.used if i >= 0)
                out.append((t.action(victims), _canon(ns), bool(ok)))
        return out


def _canon(s: State) -> State:
    """Normalise an int-backend state to the explicit engine's exact types."""
    return State(tuple(Zone(int(z.nr_free), int(z.nr_free_cma), int(z.alloc_batch),
                            bool(z.fair_depleted),
                            tuple(Block(int(b.mt), int(b.free), tuple(int(h) for h in b.held))
                                  for b in z.blocks)) for z in s.zones),
                 int(s.kswapd), int(s.kswapd_max_order), int(s.pgdat_classzone), int(s.order),
                 int(s.classzone), int(s.end_zone))


def check_supported(model: Allocator) -> None:
    """Raise MmspecError if the design or scope uses something the encoding does not cover."""
    if tuple(model.scope.orders) != (0,):
        raise MmspecError("the symbolic engine encodes order-0 scopes only; use orders = [0] "
                          "(or the breadth-first `mmspec check` for higher orders)")
    for name in _ENCODED:
        if getattr(type(model), name) is not getattr(Allocator, name):
            raise MmspecError(f"design {model.name} overrides {name}(), which the symbolic "
                              "engine does not encode; use the breadth-first `mmspec check`")
