"""Bounded model checking of a liveness check with z3: the shortest lasso.

A :class:`~mmspec.check.LivenessCheck` is violated by a lasso: a reachable loop whose states
all satisfy ``stay`` and whose steps include an ``accept`` step. In the unrolling
(:mod:`mmspec.engine.unroll`) a lasso of n steps is frames 0..n with frame n equal to some
frame j < n, ``stay`` on frames j..n-1 and ``accept`` on some step j..n-1 (both the check's
own predicates, traced into the program: ``state_checks[(i, "stay")]``,
``tpl.checks[(i, "accept")]``). Deepening n one step at a time in one incremental solver, the
first lasso found has the fewest steps in all (stem plus loop); BFS reports the lasso it
meets first (shortest stem to the loop's entry, then a loop), which can be longer in all, so
the two lengths need not agree (tests/test_lasso.py compares them where they do).

The lasso is decoded, replayed through the Python step function with its loop start (the
replay checks that the last state is the loop's first), and its ``stay`` and ``accept`` are
checked on the replayed states before it is reported. Invariants and calls inlined on
demand are as in :func:`mmspec.engine.bmc.bmc_checks`.
"""

from __future__ import annotations

import time

import z3

from ..check import Check
from ..errors import MmspecError
from ..kernel import Allocator
from ..trace import replay
from .bmc import BmcResult, _check, _frame_invariants, _unrolling
from .invariants import range_lemma
from .lower import Program
from .unroll import solver_for, symbolic_program

__all__ = ["bmc_lasso"]


def bmc_lasso(model: Allocator, check: Check, max_depth: int, *,
              time_limit: float | None = None, progress=None,
              prog: Program | None = None) -> BmcResult:
    """The shortest lasso violating liveness check ``check`` with at most ``max_depth``
    steps in all (VIOLATED, ``trace.loop_start`` set), else BOUNDED."""
    t0 = time.perf_counter()
    prog = prog if prog is not None else symbolic_program(model, [check])
    lemma = range_lemma(model, prog)
    un, (ci,) = _unrolling(model, [check], prog, True, lemma)
    init = model.init_states()[0]
    sol = solver_for(un.width)
    sol.add(un.init_constraint())
    alive = list(lemma.alive) if lemma is not None else []
    stay = [un.frame(0).tx.bool(prog.state_checks[(ci, "stay")])]
    accept: list = []
    times: list[float] = []
    for k in range(max_depth):
        td = time.perf_counter()
        n = k + 1
        sol.add(*un.trans(k))
        alive = _frame_invariants(model, sol, un, lemma, alive, n)
        oob = z3.BoolVal(False) if lemma is not None else un.out_of_range(k)
        accept.append(un.step_check(k, ci, "accept"))
        stay.append(un.frame(n).tx.bool(prog.state_checks[(ci, "stay")]))
        loops = [z3.And(un.equal(n, j), *stay[j:n], z3.Or(*accept[j:n])) for j in range(n)]
        r, mdl, why = _check(sol, z3.Or(oob, *loops), un, n, [ci])
        if r == z3.sat:
            if z3.is_true(mdl.eval(oob, model_completion=True)):
                un.decode_state(mdl, n)                  # raises, naming the leaf
                raise MmspecError(f"z3: a step at depth {n} leaves the derived ranges")
            j = next(j for j in range(n) if z3.is_true(mdl.eval(loops[j], model_completion=True)))
            tr = replay(model, init, un.decode_actions(mdl, n),
                        [un.decode_state(mdl, i) for i in range(1, n + 1)], loop_start=j)
            st = tr.states
            if not (all(check.stay(model, s) for s in st[j:n]) and any(
                    check.accept(model, st[i], tr.steps[i].action, tr.steps[i].effect,
                                 st[i + 1]) for i in range(j, n))):
                raise MmspecError(f"z3 and the step function disagree on the lasso of "
                                  f"{check.name} at depth {n} (a model error)")
            times.append(time.perf_counter() - td)
            return BmcResult("VIOLATED", n, tr, times, time.perf_counter() - t0,
                             un.lazy.inlined if un.lazy is not None else 0)
        if r != z3.unsat:
            raise MmspecError(f"z3 returned {r} at depth {n}: {why}")
        times.append(time.perf_counter() - td)
        if progress is not None:
            progress(n, times[-1])
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    return BmcResult("BOUNDED", len(times), None, times, time.perf_counter() - t0,
                     un.lazy.inlined if un.lazy is not None else 0)
