"""Bounded model checking with z3 over the traced rules (:mod:`mmspec.engine.unroll`).

BMC deepens one step at a time in one incremental solver: frame k's step is added once,
and only the violation query is pushed and popped, so the first counterexample found is a
shortest one (every shorter depth was UNSAT). It is decoded into actions, replayed through
the Python step function (:func:`mmspec.trace.replay`) and printed like a BFS trace.

The bit-vector encoding (default) is exact: its width holds every value of every
expression while the states lie within the layout's bounds
(:func:`~mmspec.engine.z3expr.program_width`), and that they do is proved once per program
(:func:`~mmspec.engine.invariants.range_lemma`), together with auxiliary invariants
(conservation, accounting) that BMC asserts on every frame: proved facts, they leave the
answer as it is and make deep UNSAT depths several times cheaper. Where the lemma fails,
every depth's query asks for a violation *or* a step leaving the bounds instead (slower);
the latter stops the run with an error (a model bug, as in the compiled engine), so a
depth found UNSAT proves the next frame within bounds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import z3

from ..check import Check
from ..errors import MmspecError, TraceReplayError
from ..kernel import Allocator
from ..state import State
from ..trace import Trace, replay
from .invariants import candidates, invariant_width, range_lemma
from .lower import Program
from .unroll import Unrolling, solver_for, symbolic_program

__all__ = ["BmcResult", "bmc", "bmc_checks", "trace_satisfies", "reachable_states"]


@dataclass
class BmcResult:
    verdict: str                      # "VIOLATED" or "BOUNDED"
    depth: int                        # counterexample length, or the depth checked
    trace: Trace | None = None
    per_depth_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    inlined: int = 0                  # function calls inlined on demand (mmspec.engine.lazycall)


def _indices(prog: Program, checks: Sequence[Check]) -> list[int]:
    names = [c.name for c in prog.checks]
    try:
        return [names.index(ck.name) for ck in checks]
    except ValueError:
        raise MmspecError("the traced program does not hold every check asked for") from None


def _unrolling(model: Allocator, checks: Sequence[Check], prog: Program | None, bitvec: bool,
               lemma=None):
    prog = prog if prog is not None else symbolic_program(model, checks)
    idx = _indices(prog, checks)
    width = None
    if bitvec:
        width = Unrolling.width_for(prog, idx)
        if lemma is not None:
            width = max(width, invariant_width(model, prog))
    return Unrolling(prog, width), idx


def _check(sol, query, un: Unrolling, depth: int, checks: Sequence[int] = (), accept=None):
    """``query`` on top of the solver's assertions (pushed and popped): (result, model or
    None, z3's reason when unknown). A model is of the real steps: while it takes an
    abstract function call's outputs wrongly, the call is inlined and the query asked
    again (:meth:`~mmspec.engine.unroll.Unrolling.refine`, frames 0..``depth``) -- unless
    ``accept(model)`` says the model will do as it is (its actions, replayed, answer the
    query)."""
    while True:
        sol.add(*un.take())
        sol.push()
        sol.add(query)
        r = sol.check()
        mdl = sol.model() if r == z3.sat else None
        why = sol.reason_unknown() if r == z3.unknown else ""
        sol.pop()
        if mdl is None or (accept is not None and accept(mdl)):
            return r, mdl, why
        if not un.refine(mdl, depth, checks):
            return r, mdl, why


def _last_step_violates(model: Allocator, tr: Trace, ck: Check) -> bool:
    last = tr.steps[-1]
    return ck.violated_by(model, tr.states[-2], last.action, last.effect, last.state)


def _replayed_violations(model: Allocator, acts, checks: Sequence[tuple[int, Check]]):
    """``(trace, [j, ...])``: the actions replayed through the step function and the
    checks ``(j, check)`` its last step violates; None if an action is not enabled."""
    try:
        tr = replay(model, model.init_states()[0], acts)
    except TraceReplayError:
        return None
    return tr, [j for j, ck in checks if _last_step_violates(model, tr, ck)]


def _establish(model: Allocator, sol, un: Unrolling, lemma, alive: list[int], k: int,
               cs: list) -> list[int]:
    """The invariants of ``alive`` that hold on frame k of every run, given that they hold
    on the frames before it: Houdini proved them kept by every step but those of the
    templates ``lemma.partial`` (direct compaction, cma_alloc), so only a step of those into
    frame k is asked about. A real run breaking an invariant drops it from here on; one
    breaking a layout bound is a model error (as in the compiled engine). ``cs``: the
    candidates on frame k."""
    init = model.init_states()[0]
    f = un.frame(k - 1)
    calling = z3.Or(*[un.selects(f, t) for t in lemma.partial])
    while alive:
        r, mdl, why = _check(sol, z3.And(calling, z3.Not(z3.And(*[cs[i].term for i in alive]))),
                             un, k)
        if r == z3.unsat:
            break
        if r != z3.sat:
            raise MmspecError(f"z3 returned {r} at depth {k} (invariants): {why}")
        states = [un.decode_state(mdl, i) for i in range(1, k + 1)]   # raises off bounds
        replay(model, init, un.decode_actions(mdl, k), states)
        broken = {i for i in alive if z3.is_false(mdl.eval(cs[i].term, model_completion=True))}
        alive = [i for i in alive if i not in broken]
    return alive


def _frame_invariants(model: Allocator, sol, un: Unrolling, lemma, alive: list[int],
                      k: int) -> list[int]:
    """Assert the proved invariants on frame k (the steps into it were just added), after
    checking those Houdini deferred (:func:`_establish`); the invariants still alive."""
    if lemma is None:
        return alive
    cs = candidates(model, un, k, lemma.sample)           # (frame k's candidate terms)
    if lemma.partial:
        alive = _establish(model, sol, un, lemma, alive, k, cs)
    sol.add(*[cs[i].term for i in alive])
    return alive


def bmc(model: Allocator, check: Check, max_depth: int, *, time_limit: float | None = None,
        progress=None, bitvec: bool = True, prog: Program | None = None) -> BmcResult:
    """BMC of one safety check to ``max_depth`` (see :func:`bmc_checks`)."""
    return bmc_checks(model, [check], max_depth, time_limit=time_limit, progress=progress,
                      bitvec=bitvec, prog=prog)[0]


def bmc_checks(model: Allocator, checks: Sequence[Check], max_depth: int, *,
               time_limit: float | None = None, progress=None, bitvec: bool = True,
               prog: Program | None = None) -> list[BmcResult]:
    """Incremental BMC of several safety checks on one unrolling: depth 1, 2, ... until
    every check has a counterexample (each a shortest one) or ``max_depth``; a result per
    check, in order. ``prog``: a traced program holding the checks (traced if None);
    ``bitvec``: the bit-vector encoding, else mathematical integers; ``progress(depth,
    seconds)`` after each depth without a counterexample for some check."""
    t0 = time.perf_counter()
    for ck in checks:
        if getattr(ck, "is_liveness", False):
            raise MmspecError(f"check {ck.name} is a liveness check: its counterexamples are "
                              "lassos (mmspec.engine.lasso.bmc_lasso)")
    prog = prog if prog is not None else symbolic_program(model, checks)
    # within the layout's bounds the traced rules and the width are exact: proved once per
    # program (with invariants asserted on every frame), or checked at every depth
    lemma = range_lemma(model, prog)
    un, idx = _unrolling(model, checks, prog, bitvec, lemma)
    init = model.init_states()[0]
    sol = solver_for(un.width)
    sol.add(un.init_constraint())
    res: dict[int, BmcResult] = {}
    for j, ci in enumerate(idx):
        if _check(sol, un.bad_initial(ci), un, 0, [ci])[0] == z3.sat:
            res[j] = BmcResult("VIOLATED", 0, replay(model, init, []), [], 0.0)
    times: list[float] = []
    alive = list(lemma.alive) if lemma is not None else []
    for k in range(max_depth):
        if len(res) == len(idx):
            break
        td = time.perf_counter()
        sol.add(*un.trans(k))
        alive = _frame_invariants(model, sol, un, lemma, alive, k + 1)
        oob = z3.BoolVal(False) if lemma is not None else un.out_of_range(k)
        # one query for every pending check; a model names the checks it violates
        while len(res) < len(idx):
            todo = [(j, un.bad(k, ci)) for j, ci in enumerate(idx) if j not in res]
            accept = None
            if un.lazy is not None:
                # a model whose actions, replayed, violate a pending check is a
                # counterexample whatever its abstract calls said (shortest: every
                # shorter depth was UNSAT); the replay decides, not the model
                pend = [(j, checks[j]) for j, _ in todo]
                found: list = []

                def accept(mdl, pend=pend, found=found):
                    hit = _replayed_violations(model, un.decode_actions(mdl, k + 1), pend)
                    if hit is not None and hit[1]:
                        found.append(hit)
                    return bool(found)
            r, mdl, why = _check(sol, z3.Or(oob, *[b for _, b in todo]), un, k + 1,
                                 [idx[j] for j, _ in todo], accept)
            if r == z3.unsat:
                break
            if r != z3.sat:
                raise MmspecError(f"z3 returned {r} at depth {k + 1}: {why}")
            if accept is not None and found:
                tr, hits = found[0]
                for j in hits:
                    res[j] = BmcResult("VIOLATED", k + 1, tr,
                                       times + [time.perf_counter() - td], time.perf_counter() - t0)
                continue
            if z3.is_true(mdl.eval(oob, model_completion=True)):
                un.decode_state(mdl, k + 1)          # raises, naming the leaf
                raise MmspecError(f"z3: a step at depth {k + 1} leaves the derived ranges")
            acts = un.decode_actions(mdl, k + 1)
            tr = replay(model, init, acts, [un.decode_state(mdl, i) for i in range(1, k + 2)])
            for j, b in todo:
                if z3.is_true(mdl.eval(b, model_completion=True)):
                    if not _last_step_violates(model, tr, checks[j]):
                        raise MmspecError(f"z3 and the step function disagree on {checks[j].name} "
                                          f"at depth {k + 1} (a model error)")
                    res[j] = BmcResult("VIOLATED", k + 1, tr,
                                       times + [time.perf_counter() - td], time.perf_counter() - t0)
        times.append(time.perf_counter() - td)
        if progress is not None and len(res) < len(idx):
            progress(k + 1, times[-1])
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    el = time.perf_counter() - t0
    out = [res.get(j) or BmcResult("BOUNDED", len(times), None, times, el)
           for j in range(len(idx))]
    for r in out:
        r.inlined = un.lazy.inlined if un.lazy is not None else 0
    return out


def trace_satisfies(model: Allocator, check: Check, trace: Trace, *, bitvec: bool = True,
                    prog: Program | None = None) -> bool:
    """Whether the unrolled formula (init, steps, the violation at the last step) is
    satisfied with its frames pinned to an explicit trace's states and actions (template
    and choices), in the encoding BMC uses (bit-vectors) or the Int one."""
    un, (ci,) = _unrolling(model, [check], prog, bitvec)
    sol = solver_for(un.width)
    sol.add(un.init_constraint(), un.equal(0, trace.states[0]))
    for k, a in enumerate(trace.actions):
        sol.add(*un.trans(k), *un.pin_step(k, trace.states[k], a))
        sol.add(un.equal(k + 1, trace.states[k + 1]))
    n = len(trace)
    return _check(sol, un.bad(n - 1, ci) if n else un.bad_initial(ci), un, n, [ci])[0] == z3.sat


def reachable_states(model: Allocator, depth: int, limit: int = 100000, *,
                     bitvec: bool = True, prog: Program | None = None) -> set[State]:
    """Every state z3 can reach in at most ``depth`` steps (all-SAT with blocking clauses),
    in the bit-vector encoding BMC uses or (``bitvec=False``) the Int one; at most
    ``limit`` states (MmspecError beyond: a test's cap)."""
    un, _ = _unrolling(model, [], prog, bitvec)
    sol = solver_for(un.width)
    sol.add(un.init_constraint())
    out: set[State] = {model.init_states()[0]}
    for k in range(depth):
        sol.add(*un.trans(k))      # (a state outside the bounds is an error when decoded)
        # states found are blocked under a literal of this depth (not in a pushed scope:
        # the definitions of calls inlined meanwhile must stay)
        here = z3.Bool(f"reachable:depth{k + 1}")
        while True:
            r, mdl, _ = _check(sol, here, un, k + 1)
            if r != z3.sat:
                break
            st = un.decode_state(mdl, k + 1)
            out.add(st)
            if len(out) > limit:
                raise MmspecError(f"more than {limit} states reachable in {depth} steps")
            sol.add(z3.Implies(here, z3.Not(un.equal(k + 1, st))))
    return out
