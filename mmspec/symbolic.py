"""The symbolic engine: BMC, k-induction and Houdini-strengthened invariants over z3.

This is the only module that imports z3. The transition relation is built by running the
rules of :mod:`mmspec.symbolic_rules` on z3 terms (the same code runs on ints and is compared
with the explicit engine in tests/test_symbolic.py). A counterexample is decoded into
:class:`~mmspec.state.Action` values and replayed through the explicit step function
(:func:`mmspec.trace.replay`), so it prints exactly like a breadth-first trace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import z3

from .check import Check
from .errors import MmspecError
from .kernel import Allocator
from .state import ALLOC, Action, Block, State, Zone
from .symbolic_rules import RUNNING, Rules, Template
from .trace import Trace, replay
from .vocab import GFP_ATOMIC, GFP_CLASSES, Migratetype

__all__ = ["Z3Ops", "Encoder", "BmcResult", "bmc", "prove", "ProveResult", "SYMBOLIC_CHECKS",
           "trace_satisfies"]


class Z3Ops:
    """The arithmetic interface on z3 terms (Python bools/ints short-circuit)."""

    symbolic = True

    @staticmethod
    def ite(c, a, b):
        if c is True:
            return a
        if c is False:
            return b
        if a is b:
            return a
        return z3.If(c, a, b)

    @staticmethod
    def and_(*xs):
        ys = []
        for x in xs:
            if x is False:
                return False
            if x is True:
                continue
            ys.append(x)
        if not ys:
            return True
        return ys[0] if len(ys) == 1 else z3.And(*ys)

    @staticmethod
    def or_(*xs):
        ys = []
        for x in xs:
            if x is True:
                return True
            if x is False:
                continue
            ys.append(x)
        if not ys:
            return False
        return ys[0] if len(ys) == 1 else z3.Or(*ys)

    @staticmethod
    def not_(x):
        if x is True:
            return False
        if x is False:
            return True
        return z3.Not(x)


def _b(x):
    """A Python bool or z3 term as a z3 term."""
    return z3.BoolVal(x) if isinstance(x, bool) else x


class _Oracle:
    """Reclaim choices of one frame: slot k is an Int variable indexing ``Rules.cands``."""

    def __init__(self, frame: int, ncands: int) -> None:
        self.frame, self.n = frame, ncands
        self.vars: dict[int, Any] = {}
        self.uses: dict[int, list] = {}
        self.constraints: list = []

    def pick(self, slot: int, pc, eligible: Sequence[Any]) -> list:
        v = self.vars.get(slot)
        if v is None:
            v = self.vars[slot] = z3.Int(f"f{self.frame}_victim{slot}")
            self.constraints.append(z3.And(v >= 0, v < max(1, self.n)))
        if pc is False:
            return [False] * self.n
        self.uses.setdefault(slot, []).append(pc)
        self.constraints.append(z3.Implies(_b(pc), z3.Or(
            *[z3.And(v == i, _b(e)) for i, e in enumerate(eligible) if e is not False] or [False])))
        return [v == i for i in range(self.n)]


@dataclass
class Frame:
    state: State          # z3 variables
    act: Any = None       # Int: index into Rules.templates (transition from this frame)
    ok: Any = None        # Bool term: the allocation succeeded
    oracle: _Oracle | None = None


def _flatten(x) -> list:
    if isinstance(x, tuple):
        out = []
        for y in x:
            out.extend(_flatten(y))
        return out
    return [x]


class Encoder:
    """Per-frame variables, init, transition relation and check predicates for one design
    instance (order-0 scopes)."""

    def __init__(self, model: Allocator) -> None:
        self.model = model
        self.rules = Rules(model, Z3Ops)
        self.init = model.init_states()[0]
        self.frames: list[Frame] = []
        self.templates = self.rules.templates
        self.ppb = model.ppb

    def state_vars(self, k: int) -> State:
        s0 = self.init
        zones = []
        for p, z in enumerate(s0.zones):
            blocks = []
            for b, blk in enumerate(z.blocks):
                held = tuple(z3.Int(f"s{k}_z{p}b{b}_held{ci}") if self.model.limits[ci] else 0
                             for ci in range(len(blk.held)))
                blocks.append(Block(z3.Int(f"s{k}_z{p}b{b}_mt"), z3.Int(f"s{k}_z{p}b{b}_free"),
                                    held))
            zones.append(Zone(z3.Int(f"s{k}_z{p}_nr_free"), z3.Int(f"s{k}_z{p}_nr_free_cma"),
                              z3.Int(f"s{k}_z{p}_batch"), z3.Bool(f"s{k}_z{p}_depleted"),
                              tuple(blocks)))
        return State(tuple(zones), z3.Int(f"s{k}_kswapd"), z3.Int(f"s{k}_max_order"),
                     z3.Int(f"s{k}_pgdat_cz"), z3.Int(f"s{k}_order"), z3.Int(f"s{k}_cz"),
                     z3.Int(f"s{k}_end_zone"))

    @staticmethod
    def equal(a: State, b: State):
        return z3.And(*[x == y for x, y in zip(_flatten(a), _flatten(b))
                        if not (isinstance(x, int) and isinstance(y, int))])

    def frame(self, k: int) -> Frame:
        while len(self.frames) <= k:
            self.frames.append(Frame(self.state_vars(len(self.frames))))
        return self.frames[k]

    def init_constraint(self, s: State):
        return self.equal(s, self.init)

    def trans(self, k: int) -> list:
        """Constraints of the transition from frame k to frame k+1."""
        f, g = self.frame(k), self.frame(k + 1)
        act = z3.Int(f"f{k}_act")
        orc = _Oracle(k, len(self.rules.cands))
        cons = [act >= 0, act < len(self.templates)]
        oks = []
        for i, t in enumerate(self.templates):
            sel = act == i
            guard = self.rules.enabled(f.state, t)
            ns, ok = self.rules.apply(f.state, t, orc, sel)
            cons.append(z3.Implies(sel, z3.And(_b(guard), self.equal(g.state, ns))))
            oks.append((sel, ok))
        okt = z3.BoolVal(True)
        for sel, ok in reversed(oks):
            okt = z3.If(sel, _b(ok), okt)
        f.act, f.ok, f.oracle = act, okt, orc
        # unused reclaim slots are pinned to 0 so each transition has one encoding
        for slot, v in orc.vars.items():
            used = Z3Ops.or_(*orc.uses.get(slot, []))
            cons.append(z3.Implies(z3.Not(_b(used)), v == 0))
        return cons + orc.constraints

    def decode(self, mdl, depth: int) -> list[Action]:
        acts = []
        for k in range(depth):
            f = self.frames[k]
            t: Template = self.templates[mdl.eval(f.act, model_completion=True).as_long()]
            victims = []
            for slot in sorted(f.oracle.vars):
                used = Z3Ops.or_(*f.oracle.uses.get(slot, []))
                if z3.is_true(mdl.eval(_b(used), model_completion=True)):
                    i = mdl.eval(f.oracle.vars[slot], model_completion=True).as_long()
                    victims.append(self.rules.cands[i])
            acts.append(t.action(victims))
        return acts

    def decode_state(self, mdl, k: int) -> State:
        s = self.frames[k].state

        def ev(x):
            if isinstance(x, tuple):
                vals = [ev(y) for y in x]
                return type(x)(*vals) if hasattr(x, "_fields") else tuple(vals)
            if isinstance(x, int):
                return x
            v = mdl.eval(x, model_completion=True)
            return z3.is_true(v) if z3.is_bool(v) else v.as_long()
        return ev(s)

    def template_index(self, a: Action) -> int:
        for i, t in enumerate(self.templates):
            if (t.kind, t.cls, t.zone, t.block) == (a.kind, a.cls if a.kind != "kswapd" else -1,
                                                   a.zone, a.block):
                return i
        raise MmspecError(f"action {a} has no template")


# ------------------------------------------------------------------------------------------
# Check predicates in symbolic form (same meaning as checks/*.py; tests compare them).

_KERNEL_CLASSES = tuple(i for i, c in enumerate(GFP_CLASSES)
                        if c.migratetype in (Migratetype.MIGRATE_UNMOVABLE,
                                             Migratetype.MIGRATE_RECLAIMABLE))
_C = int(Migratetype.MIGRATE_CMA)


def _bad_conservation(enc: Encoder, s: State):
    parts = []
    for p, z in enumerate(s.zones):
        free = sum(b.free for b in z.blocks)
        used = sum(sum(b.held) for b in z.blocks)
        parts.append(free + used != enc.model.layout[p].managed)
        parts.append(z.nr_free != free)
        for b in z.blocks:
            parts.append(b.free < 0)
            parts.extend(h < 0 for h in b.held if not isinstance(h, int))
    return z3.Or(*parts)


def _bad_cma_counter(enc: Encoder, s: State):
    return z3.Or(*[z.nr_free_cma != sum(z3.If(b.mt == _C, b.free, 0) for b in z.blocks)
                   for z in s.zones])


def _bad_kernel_in_cma(enc: Encoder, s: State):
    parts = []
    for p, z in enumerate(s.zones):
        for i, b in enumerate(z.blocks):
            cma = enc.model.is_cma_memory(p, i, b.mt)
            held = [b.held[c] > 0 for c in _KERNEL_CLASSES if not isinstance(b.held[c], int)]
            if cma is not False and held:
                parts.append(z3.And(_b(cma), z3.Or(*held)))
    return z3.Or(*parts) if parts else z3.BoolVal(False)


def _bad_atomic(enc: Encoder, pre: Frame, post: Frame):
    idx = [i for i, t in enumerate(enc.templates) if t.kind == ALLOC and t.cls == GFP_ATOMIC]
    if not idx:
        return z3.BoolVal(False)
    return z3.And(pre.act == idx[0], pre.state.kswapd != RUNNING, z3.Not(pre.ok))


#: check name -> ("state", fn(enc, state)) or ("step", fn(enc, pre frame, post frame))
SYMBOLIC_CHECKS = {
    "page_conservation": ("state", _bad_conservation),
    "nr_free_cma_accounting": ("state", _bad_cma_counter),
    "no_unmovable_in_cma": ("state", _bad_kernel_in_cma),
    "atomic_while_kswapd_sleeps": ("step", _bad_atomic),
}


def _kind(check: Check):
    if check.name not in SYMBOLIC_CHECKS:
        raise MmspecError(f"check {check.name!r} has no symbolic encoding; supported: "
                          f"{', '.join(SYMBOLIC_CHECKS)} (use `mmspec check` for the others)")
    return SYMBOLIC_CHECKS[check.name]


def bad_at(enc: Encoder, check: Check, k: int):
    """The violation predicate on transition k (frames k -> k+1); for state checks, at
    frame k+1."""
    kind, fn = _kind(check)
    if kind == "state":
        return fn(enc, enc.frame(k + 1).state)
    return fn(enc, enc.frame(k), enc.frame(k + 1))


# ------------------------------------------------------------------------------------------
# BMC.

@dataclass
class BmcResult:
    verdict: str                      # "VIOLATED" or "BOUNDED"
    depth: int                        # counterexample length, or the depth checked
    trace: Trace | None = None
    per_depth_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0


def bmc(model: Allocator, check: Check, max_depth: int, *, time_limit: float | None = None,
        progress=None) -> BmcResult:
    """Incremental BMC: depth 1, 2, ... until a violation (the first found is a shortest
    counterexample: all shorter depths were UNSAT) or ``max_depth``. The counterexample is
    replayed through the explicit step function before it is returned."""
    _kind(check)
    t0 = time.perf_counter()
    enc = Encoder(model)
    sol = z3.Solver()
    sol.add(enc.init_constraint(enc.frame(0).state))
    kind, fn = _kind(check)
    times = []
    if kind == "state":
        sol.push()
        sol.add(fn(enc, enc.frame(0).state))
        if sol.check() == z3.sat:
            sol.pop()
            return BmcResult("VIOLATED", 0, replay(model, enc.init, []), [], 0.0)
        sol.pop()
    for k in range(max_depth):
        td = time.perf_counter()
        sol.add(*enc.trans(k))
        sol.push()
        sol.add(bad_at(enc, check, k))
        r = sol.check()
        times.append(time.perf_counter() - td)
        if progress is not None:
            progress(k + 1, times[-1])
        if r == z3.sat:
            mdl = sol.model()
            acts = enc.decode(mdl, k + 1)
            states = [enc.decode_state(mdl, j) for j in range(1, k + 2)]
            tr = replay(model, enc.init, acts, states)
            return BmcResult("VIOLATED", k + 1, tr, times, time.perf_counter() - t0)
        if r != z3.unsat:
            raise MmspecError(f"z3 returned {r} at depth {k + 1}: {sol.reason_unknown()}")
        sol.pop()
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            return BmcResult("BOUNDED", k + 1, None, times, time.perf_counter() - t0)
    return BmcResult("BOUNDED", max_depth, None, times, time.perf_counter() - t0)


def trace_satisfies(model: Allocator, check: Check, trace: Trace) -> bool:
    """Whether the unrolled formula (init, transitions, violation at the last step) is
    satisfied by a given explicit trace (frames pinned to its states and actions)."""
    enc = Encoder(model)
    sol = z3.Solver()
    sol.add(enc.init_constraint(enc.frame(0).state))
    sts = trace.states
    sol.add(enc.equal(enc.frame(0).state, sts[0]))
    n = len(trace)
    for k, a in enumerate(trace.actions):
        sol.add(*enc.trans(k))
        sol.add(enc.frame(k).act == enc.template_index(a))
        sol.add(enc.equal(enc.frame(k + 1).state, sts[k + 1]))
    if n:
        sol.add(bad_at(enc, check, n - 1))
    else:
        sol.add(_kind(check)[1](enc, enc.frame(0).state))
    return sol.check() == z3.sat


def reachable_states(model: Allocator, depth: int, limit: int = 100000) -> set[State]:
    """Every state z3 can reach in at most ``depth`` steps (all-SAT with blocking clauses)."""
    enc = Encoder(model)
    sol = z3.Solver()
    sol.add(enc.init_constraint(enc.frame(0).state))
    out: set[State] = {enc.init}
    for k in range(depth):
        sol.add(*enc.trans(k))
        sol.push()
        leaves = [x for x in _flatten(enc.frame(k + 1).state) if not isinstance(x, int)]
        for st in out:
            pass
        while len(out) < limit:
            if sol.check() != z3.sat:
                break
            st = enc.decode_state(sol.model(), k + 1)
            out.add(st)
            sol.add(z3.Not(enc.equal(enc.frame(k + 1).state, st)))
        sol.pop()
        del leaves
    return out


# ------------------------------------------------------------------------------------------
# k-induction with Houdini-strengthened auxiliary invariants.

@dataclass
class ProveResult:
    verdict: str                       # PROVED / VIOLATED / UNKNOWN
    k: int                             # the k used (or counterexample length)
    trace: Trace | None = None
    invariants: list[str] = field(default_factory=list)   # auxiliary invariants proved
    dropped: int = 0                   # candidates Houdini refuted
    elapsed_s: float = 0.0
    note: str = ""


def _candidates(enc: Encoder, s: State, observed: Sequence[State]) -> list[tuple[str, Any]]:
    """Candidate invariants: page conservation and counter accounting per zone, and the
    range of every state field over ``observed`` states (a sample of reachable states).
    Houdini keeps only those that are inductive together; none is assumed."""
    out = []
    for p, z in enumerate(s.zones):
        lab = enc.model.layout[p].label
        free = sum(b.free for b in z.blocks)
        used = sum(sum(b.held) for b in z.blocks)
        out.append((f"{lab}: free + in use = managed", free + used == enc.model.layout[p].managed))
        out.append((f"{lab}: NR_FREE_PAGES = free pages of its pageblocks", z.nr_free == free))
        out.append((f"{lab}: NR_FREE_CMA_PAGES = free pages of MIGRATE_CMA pageblocks",
                    z.nr_free_cma == sum(z3.If(b.mt == _C, b.free, 0) for b in z.blocks)))
        out.append((f"{lab}: ZONE_FAIR_DEPLETED iff NR_ALLOC_BATCH <= 0",
                    z.fair_depleted == (z.alloc_batch <= 0)))
        for b, blk in enumerate(z.blocks):
            out.append((f"{lab} pageblock {b}: free + in use = pageblock_nr_pages",
                        blk.free + sum(blk.held) == enc.ppb))
            mts = sorted({int(o.zones[p].blocks[b].mt) for o in observed})
            out.append((f"{lab} pageblock {b}: migratetype in {mts}",
                        z3.Or(*[blk.mt == v for v in mts])))
    for ci, lim in enumerate(enc.model.limits):
        if lim:
            out.append((f"{GFP_CLASSES[ci].short} pages in use <= {lim}",
                        sum(b.held[ci] for z in s.zones for b in z.blocks) <= lim))
    # per kswapd phase: the range of every zone's free and free non-CMA pages
    for ph in sorted({int(o.kswapd) for o in observed}):
        sub = [o for o in observed if o.kswapd == ph]
        for p, z in enumerate(s.zones):
            lab = enc.model.layout[p].label
            for what, term, val in (("NR_FREE_PAGES", z.nr_free, lambda o: o.zones[p].nr_free),
                                    ("free non-CMA", z.nr_free - z.nr_free_cma,
                                     lambda o: o.zones[p].nr_free - o.zones[p].nr_free_cma)):
                lo = min(val(o) for o in sub)
                out.append((f"kswapd phase {ph} => {lab} {what} >= {lo}",
                            z3.Implies(s.kswapd == ph, term >= lo)))
    leaves = [x for x in _flatten(s) if not isinstance(x, int)]
    names = [str(x).split("_", 1)[1] for x in leaves]
    obs = [[v for v in _flatten(o)] for o in observed]
    full = [x for x in _flatten(s)]
    idx = [i for i, x in enumerate(full) if not isinstance(x, int)]
    for j, i in enumerate(idx):
        x = full[i]
        vals = [int(o[i]) for o in obs]
        if z3.is_bool(x):
            if len(set(vals)) == 1:
                out.append((f"{names[j]} == {bool(vals[0])}", x == bool(vals[0])))
            continue
        lo, hi = min(vals), max(vals)
        out.append((f"{names[j]} >= {lo}", x >= lo))
        out.append((f"{names[j]} <= {hi}", x <= hi))
    return out


def houdini(enc: Encoder, observed: Sequence[State], time_limit: float = 60.0):
    """The largest subset of the candidates that holds initially and is inductive."""
    s0, s1 = enc.frame(0).state, enc.frame(1).state
    c0 = _candidates(enc, s0, observed)
    c1 = _candidates(enc, s1, observed)
    alive = [i for i in range(len(c0))]
    sol = z3.Solver()
    sol.set("timeout", int(time_limit * 1000))
    sol.add(*enc.trans(0))
    init = z3.Solver()
    init.add(enc.init_constraint(s0))
    alive = [i for i in alive if init.check(z3.Not(c0[i][1])) == z3.unsat]
    dropped = len(c0) - len(alive)
    while True:
        sol.push()
        sol.add(*[c0[i][1] for i in alive])
        sol.add(z3.Or(*[z3.Not(c1[i][1]) for i in alive]))
        r = sol.check()
        if r == z3.unsat:
            sol.pop()
            break
        if r != z3.sat:
            sol.pop()
            raise MmspecError("Houdini: z3 gave up (timeout); no invariants assumed")
        mdl = sol.model()
        bad = [i for i in alive if z3.is_false(mdl.eval(c1[i][1], model_completion=True))]
        sol.pop()
        alive = [i for i in alive if i not in bad]
        dropped += len(bad)
    return [c0[i][0] for i in alive], [i for i in alive], _candidates, dropped


def prove(model: Allocator, check: Check, *, max_k: int = 8, observed: Sequence[State] = (),
          time_limit: float = 300.0) -> ProveResult:
    """k-induction for ``check``: base case by BMC to depth k, inductive step over any
    path of k+1 distinct states satisfying the proved auxiliary invariants. PROVED only if
    the step is UNSAT; VIOLATED with a replayed trace; otherwise UNKNOWN."""
    t0 = time.perf_counter()
    kind, fn = _kind(check)
    enc = Encoder(model)
    obs = list(observed) or [enc.init]
    names, alive, cand_fn, dropped = houdini(enc, obs, time_limit=time_limit / 2)
    # base: BMC to max_k (shortest counterexample if any)
    base = bmc(model, check, max_k)
    if base.verdict == "VIOLATED":
        return ProveResult("VIOLATED", base.depth, base.trace, names, dropped,
                           time.perf_counter() - t0)
    # step: a fresh encoder whose frames are unconstrained apart from the invariants
    st = Encoder(model)
    sol = z3.Solver()
    remaining = max(1.0, time_limit - (time.perf_counter() - t0))
    sol.set("timeout", int(remaining * 1000))

    def inv(k):
        cs = cand_fn(st, st.frame(k).state, obs)
        return [cs[i][1] for i in alive]
    sol.add(*inv(0))
    if kind == "state":
        sol.add(z3.Not(fn(st, st.frame(0).state)))
    for k in range(max_k + 1):
        sol.add(*st.trans(k))
        sol.add(*inv(k + 1))
        for j in range(k + 1):   # simple path
            sol.add(z3.Not(st.equal(st.frame(j).state, st.frame(k + 1).state)))
        sol.push()
        sol.add(bad_at(st, check, k))
        r = sol.check()
        sol.pop()
        if r == z3.unsat:
            return ProveResult("PROVED", k + 1, None, names, dropped, time.perf_counter() - t0)
        if r != z3.sat:
            return ProveResult("UNKNOWN", k + 1, None, names, dropped, time.perf_counter() - t0,
                               f"z3: {sol.reason_unknown()}")
        sol.add(z3.Not(bad_at(st, check, k)))
        if time.perf_counter() - t0 > time_limit:
            break
    return ProveResult("UNKNOWN", max_k + 1, None, names, dropped, time.perf_counter() - t0,
                       f"inductive step still satisfiable at k = {max_k + 1}")
