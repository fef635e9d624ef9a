"""From a design instance and its checks to a :class:`Program`: one DAG per action template.

A :class:`Program` is what every symbolic engine consumes: the flat *leaf layout* of a
state (every varying counter, with bounds derived from the scope), the *action templates*
in the explicit engine's successor order, and for each template the expressions (over the
pre-state's leaves and the template's choice slots) of its guard, the post-state, the
effect (``ok``, zone, pageblock, coverage tag counts), its choice points (reached? which
candidates eligible?) and every check's witness / violation / liveness predicates.

Everything is obtained by tracing (:mod:`mmspec.engine.tracer`) the design's own rules and
the checks' own predicates; nothing here restates a rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..check import Check
from ..errors import MmspecError
from ..kernel import Allocator
from ..state import ALLOC, FREE, KSWAPD, Action, Block, Effect, State, Zone
from ..vocab import BLOCKDEV_BUFFER, GFP_CLASSES, KswapdPhase, Migratetype, ZoneType
from .sym import Graph, Sym, or_
from .tracer import TagCounts, Tracer, TWork, TraceError, traced_class

__all__ = ["Layout", "Template", "Program", "trace_program", "unsupported_reason"]

_C = int(Migratetype.MIGRATE_CMA)


@dataclass(frozen=True)
class Layout:
    """The leaves of a state in a fixed order, with names and bounds (inclusive)."""

    names: tuple[str, ...]
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    bools: frozenset            # leaf indices holding a bool (ZONE_FAIR_DEPLETED)
    shape: tuple                # blocks per zone and classes per block
    ideal: tuple = ()
    feat: tuple = (0, 0, 0)     # leaves of State.pins (per pageblock), .cma (per window), .lru

    def __len__(self) -> int:
        return len(self.names)

    def encode(self, s: State) -> list[int]:
        out: list[int] = []
        for z in s.zones:
            out += (z.nr_free, z.nr_free_cma, z.alloc_batch, int(z.fair_depleted))
            for b in z.blocks:
                out.append(int(b.mt))
                out.append(b.free)
                out.extend(b.held)
        out += (s.kswapd, s.kswapd_max_order, s.pgdat_classzone, s.order, s.classzone,
                s.end_zone)
        out += s.pins
        out += s.cma
        out += s.lru
        return out

    def decode(self, vals: Sequence[int]) -> State:
        return self.state(vals, fair_depleted=bool)

    def state(self, leaves: Sequence, fair_depleted=lambda v: v) -> State:
        """A state whose leaves are ``leaves`` (symbolic or not; :meth:`decode` gives ints
        and a bool ZONE_FAIR_DEPLETED)."""
        it = iter(leaves)
        zones = []
        for nblocks, ncls in self.shape:
            nf, nc, ab, fd = next(it), next(it), next(it), next(it)
            blocks = []
            for _ in range(nblocks):
                mt, free = next(it), next(it)
                blocks.append(Block(mt, free, tuple(next(it) for _ in range(ncls))))
            zones.append(Zone(nf, nc, ab, fair_depleted(fd), tuple(blocks)))
        kswapd = [next(it) for _ in range(6)]
        npins, nwin, nlru = self.feat
        pins = tuple(next(it) for _ in range(npins))
        cma = tuple(next(it) for _ in range(nwin))
        lru = tuple(next(it) for _ in range(nlru))
        return State(tuple(zones), *kswapd, pins, cma, lru)


def leaf_layout(model: Allocator) -> Layout:
    """Names and bounds of every leaf, derived from the scope and the design's layout.

    Bounds are what the rules can produce (a page count never exceeds the zone, a class
    holds at most its limit and only in zones of its zonelist, a pageblock that is CMA
    memory stays MIGRATE_CMA, ...). Engines check every leaf of every state they store
    against them, so a wrong bound stops a run with an error instead of a wrong answer."""
    names: list[str] = []
    lo: list[int] = []
    hi: list[int] = []
    bools = set()
    ncls = len(GFP_CLASSES)
    zl_of = {ci: set(model._zonelist[ci]) for ci in range(ncls)}
    maxo = max(model.class_order[ci] for ci in range(ncls) if model.limits[ci]) \
        if any(model.limits) else 0
    ztop = max(int(z) for z in ZoneType)
    shape = []
    for p, lay in enumerate(model.layout):
        lab = lay.label
        ncma = sum(1 for mt in lay.blocks if mt == _C)
        batch = lay.wmark[2] - lay.wmark[1]
        fair = model.fair
        add = [(f"{lab}.NR_FREE_PAGES", 0, lay.managed),
               (f"{lab}.NR_FREE_CMA_PAGES", 0, ncma * model.ppb),
               (f"{lab}.NR_ALLOC_BATCH", (min(0, batch) - lay.managed) if fair else 0,
                batch if fair else 0),
               (f"{lab}.ZONE_FAIR_DEPLETED", 0, 1 if fair else 0)]
        for name, a, b in add:
            names.append(name)
            lo.append(a)
            hi.append(b)
        bools.add(len(names) - 1)
        shape.append((len(lay.blocks), ncls))
        for b, mt in enumerate(lay.blocks):
            if mt == _C:
                mlo, mhi = _C, _C
            else:
                mlo, mhi = 0, 2            # retyped only to UNMOVABLE/MOVABLE/RECLAIMABLE
            names.append(f"{lab}.pageblock[{b}].migratetype")
            lo.append(mlo)
            hi.append(mhi)
            names.append(f"{lab}.pageblock[{b}].free")
            lo.append(0)
            hi.append(model.ppb)
            for ci, c in enumerate(GFP_CLASSES):
                cap = 0
                if model.limits[ci] and p in zl_of[ci]:
                    cap = min(model.ppb, model.limits[ci] << model.class_order[ci])
                names.append(f"{lab}.pageblock[{b}].{c.short}")
                lo.append(0)
                hi.append(cap)
    for name, a, b in (("kswapd", 0, int(KswapdPhase.RUNNING)), ("kswapd_max_order", 0, maxo),
                       ("pgdat.classzone_idx", 0, ztop), ("kswapd.order", 0, maxo),
                       ("kswapd.classzone_idx", 0, ztop), ("kswapd.end_zone", 0, ztop)):
        names.append(name)
        lo.append(a)
        hi.append(b)
    npins = nwin = 0
    if model.pin_blockdev:       # State.pins: pinned pages <= blockdev pages of the pageblock
        bd = GFP_CLASSES[BLOCKDEV_BUFFER].short
        for p, lay in enumerate(model.layout):
            for b in range(len(lay.blocks)):
                names.append(f"{lay.label}.pageblock[{b}].pinned")
                lo.append(0)
                hi.append(hi[names.index(f"{lay.label}.pageblock[{b}].{bd}")])
                npins += 1
    if model.cma_alloc_pageblocks:   # State.cma: one flag per cma_alloc bitmap position
        for win in model.cma_windows():
            p, b = win[0]
            names.append(f"cma_alloc[{model.layout[p].label}:{b}]")
            lo.append(0)
            hi.append(1)
            nwin += 1
    nlru = 0
    if model.page_age:           # State.lru: a code per LRU page, oldest first, then 0s
        ncodes = len(model.lru_entries())
        for j in range(model._lru_len):
            names.append(f"lru[{j}]")
            lo.append(0)
            hi.append(ncodes)
            nlru += 1
    return Layout(tuple(names), tuple(lo), tuple(hi), frozenset(bools), tuple(shape),
                  feat=(npins, nwin, nlru))


@dataclass
class Template:
    """One action template and its traced expressions."""

    action: Action                      # kind, cls, order, zone, block (victims = ())
    guard: Any
    post: list                          # one expression per leaf
    ok: Any
    zone: Any
    block: Any
    tags: dict                          # coverage tag -> count expression
    slots: list                         # [(key, candidates)] in choice order
    need: list                          # per slot: reached?
    elig: list                          # per slot: per candidate: eligible?
    checks: dict = field(default_factory=dict)   # (check index, "witness"/"bad"/"accept") -> expr

    @property
    def kind(self) -> str:
        return self.action.kind

    def victims(self, choices: Sequence[int]) -> tuple:
        """The action's victims for a choice vector (-1 = slot not used)."""
        return tuple(self.slots[k][1][c] for k, c in enumerate(choices) if c >= 0)


@dataclass
class Program:
    design: str
    layout: Layout
    init: list[int]
    templates: list[Template]
    tags: tuple[str, ...]               # every coverage tag any template can produce
    checks: tuple[Check, ...]
    state_checks: dict                  # (check index, "stay"/"bad_state") -> expr over a state
    graph: Graph = field(repr=False, default=None)  # type: ignore[assignment]


class _Victims:
    """``Action.victims`` while tracing a check: iterating branches on which choice points
    the step reached and which candidate each took."""

    def __init__(self, tracer: Tracer, slots, need, elig, chs) -> None:
        self.t, self.slots, self.need, self.elig, self.chs = tracer, slots, need, elig, chs

    def __iter__(self):
        for (key, cands), nd, el, ch in zip(self.slots, self.need, self.elig, self.chs):
            if nd:
                if isinstance(ch, Sym):
                    allowed = frozenset(i for i, e in enumerate(el) if e is not False)
                    path = self.t.path
                    dom = path.doms.get(ch.nid, ch.dom)
                    path.doms[ch.nid] = dom & allowed if dom is not None else allowed
                    path.memo.clear()
                    i = int(ch)
                else:
                    i = ch
                yield cands[i]

    def __bool__(self) -> bool:
        return bool(or_(*self.need))

    def __len__(self) -> int:
        raise TraceError("len(action.victims) is not available while tracing; iterate instead")


def unsupported_reason(model: Allocator) -> str | None:
    """Why the traced engines cannot run this design and scope (None if they can)."""
    if type(model).successors is not Allocator.successors:
        return f"design {model.name} overrides successors()"
    return None


def _traced_instance(model: Allocator, tracer: Tracer) -> Allocator:
    cls = traced_class(type(model))
    t = cls.__new__(cls)
    t.__dict__.update(model.__dict__)
    t._tracer = tracer
    return t


def _bool(x):
    return x if isinstance(x, Sym) or isinstance(x, bool) else bool(x)


def trace_program(model: Allocator, checks: Sequence[Check] = ()) -> Program:
    """Trace every action template of ``model`` (and ``checks``) into a :class:`Program`."""
    from ..ops import tracing
    with tracing():
        return _trace_program(model, checks)


def _trace_program(model: Allocator, checks: Sequence[Check]) -> Program:
    why = unsupported_reason(model)
    if why:
        raise MmspecError(why)
    g = Graph()
    lay = leaf_layout(model)
    tr = Tracer(g, (lay.lo, lay.hi))
    T = _traced_instance(model, tr)
    ins: list = []
    for i in range(len(lay)):
        if lay.lo[i] == lay.hi[i]:
            v = lay.lo[i]
            ins.append(bool(v) if i in lay.bools else v)
        else:
            ins.append(g.leaf("in", i, lay.lo[i], lay.hi[i], i in lay.bools))
    pre = lay.state(ins)
    init = lay.encode(model.init_states()[0])
    for i, v in enumerate(init):
        if not lay.lo[i] <= v <= lay.hi[i]:
            raise MmspecError(f"initial {lay.names[i]} = {v} is outside its derived range")
    actions: list[Action] = []
    for ci in range(len(GFP_CLASSES)):
        if model.limits[ci]:
            actions.append(Action(ALLOC, ci, model.class_order[ci]))
    for ci in range(len(GFP_CLASSES)):
        if model.limits[ci]:
            for p, zlay in enumerate(model.layout):
                for b in range(len(zlay.blocks)):
                    actions.append(Action(FREE, ci, model.class_order[ci], p, b))
    actions.append(Action(KSWAPD))
    actions += model.feature_actions()

    def enum_merge(fn) -> Any:
        outs = tr.enumerate(lambda: [fn()])
        return tr.merge(outs)[0]

    templates = []
    all_tags: set = set()
    for a in actions:
        tr.cache.clear()
        tr.slots.clear()
        tr.choice_nodes.clear()
        if a.kind == ALLOC:
            guard = enum_merge(lambda: _bool(T.may_alloc(pre, a.cls)))
        elif a.kind == FREE:
            guard = enum_merge(lambda: _bool(T.may_free(pre, a.zone, a.block, a.cls)))
        elif a.kind == KSWAPD:
            guard = enum_merge(lambda: _bool(T.kswapd_awake(pre)))
        else:
            guard = enum_merge(lambda: _bool(T._feature_enabled(pre, a)))
        if guard is False:
            continue
        box: dict = {}

        def body():
            w = TWork(pre)
            ok, zone, block = T._apply(w, a)
            box["tags"] = box.get("tags", set()) | set(w.paths.counts)
            return (w.leaves(), dict(w.paths.counts), dict(w.need), dict(w.elig),
                    [_bool(ok), zone, block])

        outs = tr.enumerate(body)
        post, tagd, need_d, elig_d, rest = tr.merge_outputs(outs)
        ok, zone, block = next(rest), next(rest), next(rest)
        tags = list(tagd)
        keys = list(need_d)
        nc = {k: len(tr.slots[k]) for k in keys}
        need = [need_d[k] for k in keys]
        elig = [elig_d[k] for k in keys]
        slots = [(k, tr.slots[k]) for k in keys]
        chs = [tr.choice_nodes[k] if nc[k] > 1 else 0 for k in keys]
        tpl = Template(a, guard, post, ok, zone, block, tagd, slots, need, elig)
        tpl.choice_inputs = chs          # type: ignore[attr-defined]
        all_tags.update(tags)
        # the checks, on the merged step
        post_s = lay.state(post)
        eff = Effect(ok, TagCounts(tagd), zone, block)      # type: ignore[arg-type]
        act = a._replace(victims=_Victims(tr, slots, need, elig, chs))
        for i, ck in enumerate(checks):
            # transition predicates here; state predicates (bad_state, stay) are traced
            # once over the state's own leaves below and evaluated by the engine on the
            # post-state
            preds = [("witness", ck.witness)]
            if ck.bad_step is not None:
                preds.append(("bad", ck.bad_step))
            if getattr(ck, "is_liveness", False):
                preds.append(("accept", ck.accept))
            for what, fn in preds:
                kinds = getattr(fn, "kinds", None)
                if kinds is not None and a.kind not in kinds:
                    tpl.checks[(i, what)] = False
                    continue
                tpl.checks[(i, what)] = enum_merge(
                    lambda fn=fn: _bool(fn(T, pre, act, eff, post_s)))
        templates.append(tpl)
    state_checks = {}
    for i, ck in enumerate(checks):
        if getattr(ck, "is_liveness", False):
            state_checks[(i, "stay")] = enum_merge(lambda ck=ck: _bool(ck.stay(T, pre)))
        if ck.bad_state is not None:
            state_checks[(i, "bad_state")] = enum_merge(
                lambda ck=ck: _bool(ck.bad_state(T, pre)))
    return Program(model.name, lay, init, templates, tuple(sorted(all_tags)), tuple(checks),
                   state_checks, g)
