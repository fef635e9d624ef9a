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
from .vocab import GFP_ATOMIC, GFP_CLASSES, Migratetype, ZoneType

__all__ = ["Z3Ops", "Encoder", "BmcResult", "bmc", "prove", "ProveResult", "SYMBOLIC_CHECKS",
           "trace_satisfies"]


class Z3Ops:
    """The arithmetic interface on z3 terms (Python bools/ints short-circuit)."""

    symbolic = True
    width: int | None = None      # bit-vector encoding: the width of integer constants

    @classmethod
    def ite(cls, c, a, b):
        if c is True:
            return a
        if c is False:
            return b
        if a is b:
            return a
        if cls.width and type(a) is int and type(b) is int:
            a, b = z3.BitVecVal(a, cls.width), z3.BitVecVal(b, cls.width)
        return z3.If(c, a, b)

    @classmethod
    def with_width(cls, width: int | None):
        return type("Z3BvOps", (cls,), {"width": width}) if width else cls

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


def _index_width(n: int) -> int:
    """Bits of an unsigned index below n."""
    return max(1, (max(1, n) - 1).bit_length() + 1)


class _Oracle:
    """Reclaim choices of one frame: slot k is an Int variable indexing ``Rules.cands``."""

    def __init__(self, frame: int, ncands: int, bv: bool = False) -> None:
        self.frame, self.n, self.bv = frame, ncands, bv
        self.vars: dict[int, Any] = {}
        self.uses: dict[int, list] = {}
        self.constraints: list = []

    def pick(self, slot: int, pc, eligible: Sequence[Any]) -> list:
        v = self.vars.get(slot)
        if v is None:
            if self.bv:
                v = self.vars[slot] = z3.BitVec(f"f{self.frame}_victim{slot}", _index_width(self.n))
                self.constraints.append(z3.ULT(v, max(1, self.n)))
            else:
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

    def __init__(self, model: Allocator, width: int | None = None) -> None:
        """``width``: encode the integer fields as signed bit-vectors of that many bits
        (BMC from the initial state only: :func:`bv_width` picks a width no reachable value
        within the unrolled depth can overflow, so the semantics equal the Int encoding);
        None: mathematical integers (k-induction, whose frames are unconstrained)."""
        self.model = model
        self.rules = Rules(model, Z3Ops.with_width(width))
        self.init = model.init_states()[0]
        self.frames: list[Frame] = []
        self.templates = self.rules.templates
        self.ppb = model.ppb
        self.width = width

    def _int(self, name: str):
        return z3.BitVec(name, self.width) if self.width else z3.Int(name)

    def state_vars(self, k: int) -> State:
        s0 = self.init
        zones = []
        I = self._int
        for p, z in enumerate(s0.zones):
            blocks = []
            for b, blk in enumerate(z.blocks):
                held = tuple(I(f"s{k}_z{p}b{b}_held{ci}") if self.model.limits[ci] else 0
                             for ci in range(len(blk.held)))
                blocks.append(Block(I(f"s{k}_z{p}b{b}_mt"), I(f"s{k}_z{p}b{b}_free"),
                                    held))
            zones.append(Zone(I(f"s{k}_z{p}_nr_free"), I(f"s{k}_z{p}_nr_free_cma"),
                              I(f"s{k}_z{p}_batch"), z3.Bool(f"s{k}_z{p}_depleted"),
                              tuple(blocks)))
        return State(tuple(zones), I(f"s{k}_kswapd"), I(f"s{k}_max_order"),
                     I(f"s{k}_pgdat_cz"), I(f"s{k}_order"), I(f"s{k}_cz"),
                     I(f"s{k}_end_zone"))

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
        orc = _Oracle(k, len(self.rules.cands), bool(self.width))
        if self.width:
            act = z3.BitVec(f"f{k}_act", _index_width(len(self.templates)))
            cons = [z3.ULT(act, len(self.templates))]
        else:
            act = z3.Int(f"f{k}_act")
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
            if z3.is_bool(v):
                return z3.is_true(v)
            return v.as_signed_long() if z3.is_bv(v) else v.as_long()
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

def bv_width(model: Allocator, depth: int) -> int:
    """Bits of the signed bit-vectors that encode a state reachable in <= ``depth`` steps and
    every constant compared with it, with a factor 4 margin: every counter is bounded by the
    zone's pages, the class limits or the watermarks, except NR_ALLOC_BATCH, which falls by
    at most one per allocation; thresholds are at most high + low + lowmem_reserve + 1."""
    consts = [model.ppb, len(ZoneType), 8, sum(model.limits)]
    for p, lay in enumerate(model.layout):
        consts += [lay.managed, *model.wm[p], *model.lr[p]]
    bound = 4 * (4 * max(consts) + depth + 1)
    return max(8, bound.bit_length() + 1)


def _solver(width: int | None):
    # QF_BV: z3's incremental bit-blasting SAT solver (push/pop supported)
    return z3.SolverFor("QF_BV") if width and _QFBV else z3.Solver()


_QFBV = True


@dataclass
class BmcResult:
    verdict: str                      # "VIOLATED" or "BOUNDED"
    depth: int                        # counterexample length, or the depth checked
    trace: Trace | None = None
    per_depth_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0


def bmc(model: Allocator, check: Check, max_depth: int, *, time_limit: float | None = None,
        progress=None, bitvec: bool = True) -> BmcResult:
    """Incremental BMC: depth 1, 2, ... until a violation (the first found is a shortest
    counterexample: all shorter depths were UNSAT) or ``max_depth``. The counterexample is
    replayed through the explicit step function before it is returned. One solver holds
    the unrolling; frame k's transition is added once and only the violation query is
    pushed and popped. ``bitvec``: bit-vector encoding (:func:`bv_width`, bit-blasted by
    z3's incremental SAT solver), else mathematical integers."""
    _kind(check)
    t0 = time.perf_counter()
    width = bv_width(model, max_depth) if bitvec else None
    enc = Encoder(model, width)
    sol = _solver(width)
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


def trace_satisfies(model: Allocator, check: Check, trace: Trace, *, bitvec: bool = True) -> bool:
    """Whether the unrolled formula (init, transitions, violation at the last step) is
    satisfied by a given explicit trace (frames pinned to its states and actions), in the
    encoding BMC uses (bit-vectors) or the Int one."""
    width = bv_width(model, len(trace)) if bitvec else None
    enc = Encoder(model, width)
    sol = _solver(width)
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


def reachable_states(model: Allocator, depth: int, limit: int = 100000, *,
                     bitvec: bool = True) -> set[State]:
    """Every state z3 can reach in at most ``depth`` steps (all-SAT with blocking clauses),
    in the bit-vector encoding BMC uses or (``bitvec=False``) the Int one."""
    width = bv_width(model, depth) if bitvec else None
    enc = Encoder(model, width)
    sol = _solver(width)
    sol.add(enc.init_constraint(enc.frame(0).state))
    out: set[State] = {enc.init}
    for k in range(depth):
        sol.add(*enc.trans(k))
        sol.push()
        while len(out) < limit:
            if sol.check() != z3.sat:
                break
            st = enc.decode_state(sol.model(), k + 1)
            out.add(st)
            sol.add(z3.Not(enc.equal(enc.frame(k + 1).state, st)))
        sol.pop()
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


# ------------------------------------------------------------------------------------------
# Counting abstraction of the zones (full-scale claims and parametric search).
#
# Before kswapd is first woken nothing is reclaimed and nothing is freed in the claims'
# workloads, so every free counter only falls. Per zone the abstraction keeps two counters:
# free pages of ordinary memory and free pages of CMA memory (design.is_cma_memory); a
# request of class c may take a page of kind k in zone p (an "option") iff p is on c's
# zonelist, k's memory is usable by c (v4.6: MIGRATE_CMA only for MIGRATE_MOVABLE,
# ``__rmqueue_cma_fallback``), the counter is positive and zone p passes c's fast-path
# watermark check (``__zone_watermark_ok`` with the design's ALLOC_CMA / lowmem_reserve;
# thresholds computed by the explicit engine's zone_watermark_ok_value). Zone order,
# pageblock types and the fair policy's NR_ALLOC_BATCH are abstracted into a free choice
# among the options that pass (an over-approximation of the explicit engine's choice).
#
# A run is K segments with symbolic lengths. Since the checks are monotone in the free
# counters, requiring each option used in a segment to pass at the segment's START is a
# necessary condition, strengthened by the pages the same option took earlier in the
# segment (mode "over": sound bounds), and to pass at its END (that page given
# back) a sufficient one (mode "under": every solution is a run of the abstraction). The
# two answers bracket the abstraction's extremum; when they coincide it is exact.

def _threshold(mark: int, lowmem: int, flags: int) -> int:
    """T with ``__zone_watermark_ok`` (order 0, CMA already handled) passing iff free > T."""
    from .kernel import zone_watermark_ok_value
    f = 0
    while not zone_watermark_ok_value(f, 0, mark, lowmem, flags, 0, 0):
        f += 1
    return f - 1


def _present(v) -> bool:
    """A counter that may be non-zero (symbolic counters may be)."""
    if isinstance(v, int):
        return v != 0
    if z3.is_int_value(v):
        return v.as_long() != 0
    return True


@dataclass
class CountingZones:
    """The constants of the counting abstraction of a design instance (ints or z3 terms)."""
    labels: list
    ordinary: list
    cma: list
    model: Allocator

    @classmethod
    def of(cls, model: Allocator) -> "CountingZones":
        o, c = [], []
        for p, lay in enumerate(model.layout):
            nc = sum(model.ppb for b, mt in enumerate(lay.blocks) if model.is_cma_memory(p, b, mt))
            o.append(lay.managed - nc)
            c.append(nc)
        return cls([z.label for z in model.layout], o, c, model)

    def zonelist(self, ci: int) -> list[int]:
        m = self.model
        hz = int(m.gfp_zone(GFP_CLASSES[ci]))
        return [p for p in range(m.nz - 1, -1, -1) if m.ztype[p] <= hz]

    def options(self, ci: int) -> list[tuple[int, str]]:
        m = self.model
        c = GFP_CLASSES[ci]
        out = []
        for p in self.zonelist(ci):
            if _present(self.ordinary[p]):
                out.append((p, "ord"))
            usable = (not m.cma_migratetype) or m.cma_fallback_allowed(
                int(c.migratetype), m.fast_alloc_flags(c))
            if _present(self.cma[p]) and usable:
                out.append((p, "cma"))
        return out

    def passes(self, ci: int, p: int, fo, fc, wm_idx: int, flags: int):
        """zone p passes c's check (mark index, flags) with free counters fo, fc (terms)."""
        m = self.model
        cz = m.ztype[self.zonelist(ci)[0]]
        t = _threshold(m.wm[p][wm_idx], m.lr[p][cz], flags)
        sub = m.cma_migratetype and not m.watermark_counts_cma(flags)
        return (fo if sub else fo + fc) > t

    def fast_fails(self, ci: int, fo, fc):
        m = self.model
        c = GFP_CLASSES[ci]
        fl = m.fast_alloc_flags(c)
        return z3.And(*[z3.Not(self.passes(ci, p, fo[p], fc[p], 1, fl)) for p in self.zonelist(ci)])

    def wakes(self, ci: int, fo, fc):
        """wake_all_kswapds: some zone of the zonelist fails zone_balanced(order 0, high,
        classzone 0, alloc_flags 0) (v4.6 wakeup_kswapd)."""
        m = self.model
        conds = []
        for p in self.zonelist(ci):
            t = _threshold(m.wm[p][2], m.lr[p][0], 0)
            conds.append((fo[p] if m.cma_migratetype else fo[p] + fc[p]) <= t)
        return z3.Or(*conds) if GFP_CLASSES[ci].kswapd_reclaim else z3.BoolVal(False)

    def slow_fails(self, ci: int, fo, fc):
        m = self.model
        c = GFP_CLASSES[ci]
        fl = m.slow_alloc_flags(c)
        return z3.And(*[z3.Not(self.passes(ci, p, fo[p], fc[p], 0, fl)) for p in self.zonelist(ci)])


def _segments(cz: CountingZones, classes, k: int, mode: str, sol, fo0=None, fc0=None,
              mix=None):
    """K segments of requests of the given classes; returns (xs, states) where states[i]
    = (fo, fc) after segment i (states[0] the start)."""
    nz = len(cz.labels)
    fo = list(fo0) if fo0 is not None else [z3.IntVal(v) if isinstance(v, int) else v for v in cz.ordinary]
    fc = list(fc0) if fc0 is not None else [z3.IntVal(v) if isinstance(v, int) else v for v in cz.cma]
    states = [(fo, fc)]
    xs = []
    nm = nk = z3.IntVal(0)
    for i in range(k):
        seg = {}
        nfo, nfc = list(fo), list(fc)
        for ci in classes:
            for (p, kind) in cz.options(ci):
                x = z3.Int(f"x_{i}_{ci}_{p}_{kind}")
                sol.add(x >= 0)
                seg[(ci, p, kind)] = x
                if kind == "ord":
                    nfo[p] = nfo[p] - x
                else:
                    nfc[p] = nfc[p] - x
        for p in range(nz):
            sol.add(nfo[p] >= 0, nfc[p] >= 0)
        for (ci, p, kind), x in seg.items():
            fl = cz.model.fast_alloc_flags(GFP_CLASSES[ci])
            if mode == "over":
                # the segment's last request of this option saw at most the start counters,
                # minus the x - 1 pages this option took before it in the segment
                bo = fo[p] - (x - 1 if kind == "ord" else 0)
                bc = fc[p] - (x - 1 if kind == "cma" else 0)
                if mix is not None and ci == mix[1]:
                    # the mix (movable <= r * (kernel + 1) in every prefix) forces kernel
                    # requests of this segment before that last movable one; with a single
                    # kernel option they took pages of its counter
                    r_, _, kci = mix
                    kopts = cz.options(kci)
                    if len(kopts) == 1 and kopts[0] == (p, kind):
                        kx = seg[(kci, p, kind)]
                        before = z3.If(x > 0, (nm + x) / r_ - 1 - nk, 0) if r_ else kx
                        before = z3.If(before < 0, 0, z3.If(before > kx, kx, before))
                        bo = bo - before if kind == "ord" else bo
                        bc = bc - before if kind == "cma" else bc
                ok = cz.passes(ci, p, bo, bc, 1, fl)
            else:
                bo = nfo[p] + (1 if kind == "ord" else 0)
                bc = nfc[p] + (1 if kind == "cma" else 0)
                ok = cz.passes(ci, p, bo, bc, 1, fl)
            sol.add(z3.Implies(x > 0, ok))
        xs.append(seg)
        fo, fc = nfo, nfc
        states.append((fo, fc))
        for (ci, _, _), x in seg.items():
            if mix is not None and ci == mix[2]:
                nk = nk + x
            elif mix is not None and ci == mix[1]:
                nm = nm + x
    return xs, states


@dataclass
class CountingExtremes:
    design: str
    mode: str
    max_free_at_wake: int | None
    min_cma_used_at_wake: int | None
    seconds: float


def counting_wake_extremes(model: Allocator, ratio: int, *, segments: int = 3,
                           mode: str = "over") -> CountingExtremes:
    """Over every run of the mix (every prefix: ratio*(kernel-1) <= movable <=
    ratio*(kernel+1); GFP_HIGHUSER_MOVABLE and GFP_KERNEL) in the counting abstraction:
    the most free pages at the first kswapd wake and the fewest CMA pages in use then."""
    from .vocab import GFP_HIGHUSER_MOVABLE, GFP_KERNEL
    t0 = time.perf_counter()
    cz = CountingZones.of(model)
    res = {}
    for goal in ("free", "cma"):
        opt = z3.Optimize()
        xs, states = _segments(cz, (GFP_HIGHUSER_MOVABLE, GFP_KERNEL), segments, mode, opt,
                               mix=(ratio, GFP_HIGHUSER_MOVABLE, GFP_KERNEL))
        nm = nk = z3.IntVal(0)
        for seg in xs:
            for (ci, _, _), x in seg.items():
                if ci == GFP_KERNEL:
                    nk = nk + x
                else:
                    nm = nm + x
            opt.add(ratio * (nk - 1) <= nm, nm <= ratio * (nk + 1))
        fo, fc = states[-1]
        wk = z3.Bool("wake_by_kernel")
        # the waking request: its fast path fails everywhere and wakeup_kswapd wakes kswapd
        opt.add(z3.If(wk, z3.And(cz.fast_fails(GFP_KERNEL, fo, fc), cz.wakes(GFP_KERNEL, fo, fc),
                                 ratio * nk <= nm),
                      z3.And(cz.fast_fails(GFP_HIGHUSER_MOVABLE, fo, fc),
                             cz.wakes(GFP_HIGHUSER_MOVABLE, fo, fc), nm + 1 <= ratio * (nk + 1))))
        free = z3.Sum(*fo, *fc)
        used = z3.Sum(*[c - f for c, f in zip(cz.cma, fc)]) if any(cz.cma) else z3.IntVal(0)
        h = opt.maximize(free) if goal == "free" else opt.minimize(used)
        r = opt.check()
        if r == z3.sat:
            res[goal] = opt.model().eval(free if goal == "free" else used).as_long()
        elif r == z3.unsat:
            res[goal] = None
        else:
            raise MmspecError(f"z3 returned {r} for the counting abstraction: {opt.reason_unknown()}")
        del h
    return CountingExtremes(model.name, mode, res["free"], res["cma"], time.perf_counter() - t0)


@dataclass
class CountingAtomic:
    design: str
    mode: str
    movable: int | None        # fewest movable allocations before a failing GFP_ATOMIC (None: none)
    seconds: float


def counting_atomic(model: Allocator, kernel_pages: int, *, segments: int = 2,
                    mode: str = "over", fo0=None, fc0=None, extra=()) -> CountingAtomic:
    """Joonsoo's six steps in the counting abstraction: ``kernel_pages`` GFP_KERNEL pages
    first, then movable allocations (none waking kswapd), then a GFP_ATOMIC request that
    fails both its fast and its slow path: the fewest movable allocations, or None."""
    from .vocab import GFP_HIGHUSER_MOVABLE, GFP_KERNEL
    t0 = time.perf_counter()
    cz = CountingZones.of(model)
    opt = z3.Optimize()
    for e in extra:
        opt.add(e)
    xk, st = _segments(cz, (GFP_KERNEL,), 1, mode, opt, fo0, fc0)
    opt.add(z3.Sum(*xk[0].values()) == kernel_pages)
    xs, states = _segments(cz, (GFP_HIGHUSER_MOVABLE,), segments, mode, opt, *st[-1])
    n = z3.Sum(*[x for seg in xs for x in seg.values()])
    fo, fc = states[-1]
    opt.add(cz.fast_fails(GFP_ATOMIC, fo, fc), cz.slow_fails(GFP_ATOMIC, fo, fc))
    opt.minimize(n)
    r = opt.check()
    if r == z3.unknown:
        raise MmspecError(f"z3 returned unknown for the counting abstraction: {opt.reason_unknown()}")
    v = opt.model().eval(n).as_long() if r == z3.sat else None
    return CountingAtomic(model.name, mode, v, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------
# Parametric search: sizes and watermarks symbolic (issue 7 item 4).

def _wmark_threshold_sym(mark, lowmem, flags: int):
    """v4.6 ``__zone_watermark_ok`` threshold on z3 terms, order 0 (the same steps as
    mmspec.kernel.zone_watermark_ok_value: ALLOC_HIGH halves the mark, ALLOC_HARDER takes a
    quarter off; the check passes iff free > T). Tested equal to the int version."""
    from .vocab import ALLOC_HARDER, ALLOC_HIGH
    m = mark
    if flags & ALLOC_HIGH:
        m = m - m / 2
    if flags & ALLOC_HARDER:
        m = m - m / 4
    return m + lowmem


class _SymZones(CountingZones):
    """CountingZones with symbolic page counts, watermarks and lowmem_reserve."""

    def __init__(self, model, ordinary, cma, wm, lr):
        super().__init__([z.label for z in model.layout], ordinary, cma, model)
        self.wm, self.lr = wm, lr          # wm[p] = (min, low, high); lr[p][classzone]

    def passes(self, ci, p, fo, fc, wm_idx, flags):
        m = self.model
        cz = m.ztype[self.zonelist(ci)[0]]
        t = _wmark_threshold_sym(self.wm[p][wm_idx], self.lr[p].get(cz, 0), flags)
        sub = m.cma_migratetype and not m.watermark_counts_cma(flags)
        return (fo if sub else fo + fc) > t

    def wakes(self, ci, fo, fc):
        m = self.model
        return z3.Or(*[(fo[p] if m.cma_migratetype else fo[p] + fc[p])
                       <= self.wm[p][2] + self.lr[p].get(0, 0) for p in self.zonelist(ci)])


def _pmin_steps(lo: int, hi: int, page_kbytes: int) -> tuple[list[tuple[int, int]], int]:
    """pages_min = init_per_zone_wmark_min(lowmem * page_kbytes) // page_kbytes over lowmem
    in [lo, hi] as a step function: [(first lowmem, value)] (the first entry starts at lo),
    and the largest value. Breakpoints by bisection on the monotone kernel formula."""
    from .scope import init_per_zone_wmark_min

    def f(l):
        return init_per_zone_wmark_min(l * page_kbytes) // page_kbytes
    steps = [(lo, f(lo))]
    x = lo
    while f(hi) != steps[-1][1]:
        v = steps[-1][1]
        a, b = x, hi               # f(a) == v < f(b): first l with f(l) > v
        while b - a > 1:
            mid = (a + b) // 2
            if f(mid) > v:
                b = mid
            else:
                a = mid
        steps.append((b, f(b)))
        x = b
    return steps, steps[-1][1]


def _isqrt_var(sol, x, name):
    r = z3.Int(name)
    sol.add(r >= 0, r * r <= x, (r + 1) * (r + 1) > x)
    return r


@dataclass
class ParametricResult:
    design: str
    verdict: str                    # VIOLATED (smallest configuration given) / HOLDS / UNKNOWN
    config: dict = field(default_factory=dict)
    seconds: float = 0.0


def parametric_atomic(design: type[Allocator], *, pages=(2, 4096), cma_pages=(0, 4096),
                      derive: bool = True, page_kbytes: int = 4, wsf: int = 10,
                      segments: int = 2, timeout_ms: int = 60000, mode: str = "under",
                      linear: bool = True) -> ParametricResult:
    """atomic_while_kswapd_sleeps over every configuration in range, in the counting
    abstraction. Mode "over" (necessary conditions): HOLDS covers every run of every
    configuration, a VIOLATED configuration is only a lower bound (may be spurious). Mode
    "under" (sufficient conditions): a VIOLATED configuration has a real run in the
    abstraction (check it with BFS on a concrete scope); HOLDS there proves nothing.

    ``pages``: total pages (ordinary + CMA), ``cma_pages``: CMA pages; with ``derive`` the
    watermarks and lowmem_reserve follow the v4.6 formulas on the design's boot basis
    (init_per_zone_wmark_min: min_free_kbytes = clamp(isqrt(16 * lowmem_kbytes), 128, 65536);
    __setup_per_zone_wmarks: tmp = pages_min * managed / lowmem, gap = max(tmp / 4, managed *
    watermark_scale_factor / 10000); setup_per_zone_lowmem_reserve: managed(CMA) / 32);
    without it they are free (0 <= min <= low <= high, lowmem_reserve >= 0). Runs: GFP_KERNEL
    and GFP_HIGHUSER_MOVABLE requests in any order and number without waking kswapd, then a
    GFP_ATOMIC request failing its fast and slow paths. Configurations in which GFP_ATOMIC
    already fails its fast path with every page free are excluded. VIOLATED gives the configuration with
    the fewest pages (then fewest CMA pages). ``linear``: the derived formulas as linear
    arithmetic (exact, see the code; tested equal to the nonlinear isqrt/division form),
    else nonlinear (z3 often times out on it)."""
    from .scope import parse_scope
    from .vocab import GFP_HIGHUSER_MOVABLE, GFP_KERNEL, ZoneType
    t0 = time.perf_counter()
    # structure (zones, zonelists, flags) from a template instance of the design
    tmpl = design(parse_scope({"pages_per_pageblock": 2, "zones": {"Normal": {
        "pageblocks": ["MOVABLE", "CMA"], "watermarks": [1, 1, 1]}, "CMA": {"watermarks": [1, 1, 1]}},
        "requests": {"GFP_ATOMIC": 1, "GFP_KERNEL": 1, "GFP_HIGHUSER_MOVABLE": 1}}))
    opt = z3.Optimize()
    opt.set("timeout", timeout_ms)
    n, c = z3.Int("pages"), z3.Int("cma_pages")
    opt.add(n >= pages[0], n <= pages[1], c >= cma_pages[0], c <= cma_pages[1], c < n)
    o = n - c
    two = tmpl.nz == 2                      # zone_cma-like: Normal + ZONE_CMA
    managed = [o, c] if two else [n]
    ordinary, cma = ([o, z3.IntVal(0)], [z3.IntVal(0), c]) if two else ([o], [c])
    wm, lr = [], []
    if derive:
        incl = tmpl.wmark_basis_includes_cma
        basis = [o, c if incl else z3.IntVal(0)] if two else [n if incl else o]
        lowmem = basis[0]                   # ZONE_CMA is above NORMAL: not lowmem
        total = sum(basis[1:], basis[0])
        if linear:
            # the same formulas as linear integer arithmetic (decidable, fast): pages_min as
            # a step function of lowmem (its breakpoints computed here with the kernel's
            # int_sqrt formula), tmp = pages_min * b / total through a bounded quotient
            # q with q * total <= pages_min * b < (q + 1) * total, q in binary
            lo_l = max(0, pages[0] - cma_pages[1]) if (two or not incl) else pages[0]
            hi_l = pages[1] - (cma_pages[0] if (two or not incl) else 0)
            steps, pmax = _pmin_steps(max(0, lo_l), max(0, hi_l), page_kbytes)
            opt.add(lowmem >= max(0, lo_l), lowmem <= max(0, hi_l))
            pmin_terms = [(steps[0][1], None)] + [(v - pv, lv) for (lv, v), (_, pv)
                                                 in zip(steps[1:], steps)]

            def pmin_times(t):
                return z3.Sum(*[d * t if lv is None else z3.If(lowmem >= lv, d * t, 0)
                                for d, lv in pmin_terms])
            bits = max(1, pmax.bit_length())
            for i, b in enumerate(basis):
                if len(basis) == 1 and incl or (len(basis) == 1 and not two):
                    tmp = z3.If(total > 0, pmin_times(1), 0)      # b == total
                else:
                    bs = [z3.Bool(f"tmp{i}_bit{j}") for j in range(bits)]
                    q = z3.Sum(*[z3.If(x, 1 << j, 0) for j, x in enumerate(bs)])
                    qt = z3.Sum(*[z3.If(x, (1 << j) * total, 0) for j, x in enumerate(bs)])
                    pb = pmin_times(b)
                    opt.add(z3.Implies(total > 0, z3.And(qt <= pb, pb < qt + total)))
                    opt.add(z3.Implies(total <= 0, q == 0))
                    tmp = q
                gap0 = b * wsf / 10000
                gap = z3.If(tmp / 4 > gap0, tmp / 4, gap0)
                wm.append((tmp, tmp + gap, tmp + 2 * gap))
        else:
            root = _isqrt_var(opt, 16 * lowmem * page_kbytes, "isqrt")
            mfk = z3.If(root < 128, 128, z3.If(root > 65536, 65536, root))
            pmin = mfk / page_kbytes
            for b in basis:
                tmp = z3.If(total > 0, pmin * b / z3.If(total > 0, total, 1), 0)
                gap0 = b * wsf / 10000
                gap = z3.If(tmp / 4 > gap0, tmp / 4, gap0)
                wm.append((tmp, tmp + gap, tmp + 2 * gap))
        if two:
            lr = [{int(ZoneType.ZONE_CMA): basis[1] / 32}, {}]
        else:
            lr = [{}]
    else:
        for p in range(len(managed)):
            mn, lo, hi = z3.Ints(f"min{p} low{p} high{p}")
            opt.add(0 <= mn, mn <= lo, lo <= hi)
            wm.append((mn, lo, hi))
        if two:
            r = z3.Int("lowmem_reserve")
            opt.add(r >= 0)
            lr = [{int(ZoneType.ZONE_CMA): r}, {}]
        else:
            lr = [{}]
    cz = _SymZones(tmpl, ordinary, cma, wm, lr)
    # a well-formed configuration: GFP_ATOMIC succeeds (fast path) when every page is free
    opt.add(z3.Not(cz.fast_fails(GFP_ATOMIC, ordinary, cma)))
    xs, states = _segments(cz, (GFP_HIGHUSER_MOVABLE, GFP_KERNEL), segments, mode, opt)
    fo, fc = states[-1]
    opt.add(cz.fast_fails(GFP_ATOMIC, fo, fc), cz.slow_fails(GFP_ATOMIC, fo, fc))
    opt.minimize(n)
    opt.minimize(c)
    r = opt.check()
    if r == z3.unsat:
        return ParametricResult(design.name, "HOLDS" if mode == "over" else "NO-WITNESS", {},
                                time.perf_counter() - t0)
    if r != z3.sat:
        return ParametricResult(design.name, "UNKNOWN", {"reason": opt.reason_unknown()},
                                time.perf_counter() - t0)
    mdl = opt.model()
    ev = lambda t: mdl.eval(t, model_completion=True).as_long()
    cfg = {"pages": ev(n), "cma_pages": ev(c),
           "watermarks": [tuple(ev(x) for x in w) for w in wm],
           "lowmem_reserve": ev(lr[0].get(int(ZoneType.ZONE_CMA), z3.IntVal(0))),
           "kernel_pages": ev(z3.Sum(*[x for s in xs for (ci, _, _), x in s.items()
                                       if ci == GFP_KERNEL] or [z3.IntVal(0)])),
           "movable_pages": ev(z3.Sum(*[x for s in xs for (ci, _, _), x in s.items()
                                        if ci == GFP_HIGHUSER_MOVABLE] or [z3.IntVal(0)]))}
    return ParametricResult(design.name, "VIOLATED", cfg, time.perf_counter() - t0)
