"""k-induction with z3 over the traced rules, strengthened by Houdini-found invariants.

The base case is BMC to k (:func:`mmspec.engine.bmc.bmc`); the inductive step asks for a
path of k+1 distinct states, each satisfying the auxiliary invariants
(:mod:`mmspec.engine.invariants`), without a violation in its first k steps and with one
in its last; UNSAT proves the check for every depth. Frames are mathematical integers
(:class:`~mmspec.engine.unroll.Unrolling` with no width) constrained only by the proved
invariants, which must include every leaf's layout bounds (within them the traced
expressions are the rules); otherwise the answer is UNKNOWN.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import z3

from ..check import Check
from ..kernel import Allocator
from ..state import State
from ..trace import Trace
from .bmc import bmc
from .invariants import houdini, range_lemma
from .lower import Program
from .unroll import Unrolling, symbolic_program

__all__ = ["ProveResult", "prove"]


@dataclass
class ProveResult:
    verdict: str                       # PROVED / VIOLATED / UNKNOWN
    k: int                             # the k used (or counterexample length)
    trace: Trace | None = None
    invariants: list[str] = field(default_factory=list)   # auxiliary invariants proved
    dropped: int = 0                   # candidates Houdini refuted
    elapsed_s: float = 0.0
    note: str = ""


def prove(model: Allocator, check: Check, *, max_k: int = 8, observed: Sequence[State] = (),
          time_limit: float = 300.0, prog: Program | None = None) -> ProveResult:
    """k-induction for ``check``: base case by BMC to depth k, inductive step over any
    path of k+1 distinct states satisfying the proved auxiliary invariants (candidates
    from ``observed``, a sample of reachable states, and the layout). PROVED only if the
    step is UNSAT; VIOLATED with a replayed trace; otherwise UNKNOWN."""
    t0 = time.perf_counter()
    prog = prog if prog is not None else symbolic_program(model, [check])
    ci = [c.name for c in prog.checks].index(check.name)
    obs = list(observed) or list(model.init_states())
    h = houdini(model, prog, obs, time_limit=time_limit / 2)
    range_lemma(model, prog, h)                  # (for the base case's BMC)

    def result(verdict, k, trace=None, note=""):
        return ProveResult(verdict, k, trace, h.names, h.dropped, time.perf_counter() - t0, note)
    base = bmc(model, check, max_k, prog=prog)
    if base.verdict == "VIOLATED":
        return result("VIOLATED", base.depth, base.trace)
    if h.partial:
        return result("UNKNOWN", max_k, note="the auxiliary invariants are not proved for "
                      "the steps of direct compaction or cma_alloc (Houdini defers them), "
                      "and the inductive step starts from an arbitrary state")
    if not h.bounds_proved:
        return result("UNKNOWN", max_k, note="the layout's bounds are not proved invariant, "
                      "and the traced rules are exact only within them")
    st = Unrolling(prog, tag="step")
    sol = z3.Solver()
    sol.set("timeout", int(max(1.0, time_limit - (time.perf_counter() - t0)) * 1000))
    sol.add(*h.on(model, st, 0))
    sol.add(z3.Not(st.bad_initial(ci)))
    for k in range(max_k + 1):
        sol.add(*st.trans(k), *h.on(model, st, k + 1))
        sol.add(*[z3.Not(st.equal(j, k + 1)) for j in range(k + 1)])     # a simple path
        sol.push()
        sol.add(st.bad(k, ci))
        r = sol.check()
        sol.pop()
        if r == z3.unsat:
            return result("PROVED", k + 1)
        if r != z3.sat:
            return result("UNKNOWN", k + 1, note=f"z3: {sol.reason_unknown()}")
        sol.add(z3.Not(st.bad(k, ci)))
        if time.perf_counter() - t0 > time_limit:
            break
    return result("UNKNOWN", max_k + 1, note=f"inductive step still satisfiable at k = {max_k + 1}")
