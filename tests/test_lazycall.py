"""z3 on direct compaction: function calls inlined on demand (mmspec.engine.lazycall).

- on the 16 frames of the breadth-first counterexample to compaction_empties_unusable_cma
  (states and actions pinned), the abstract calls first allow a last step without the
  violation; refinement inlines the calls on the run's path until that is UNSAT, and the
  violation stays SAT with every relevant call's outputs equal to its body's;
- the states z3 reaches in <= 4 steps of the compaction scope (high-order requests whose
  slow path may call compaction) are the breadth-first ones;
- Houdini on a program with function joins proves its invariants only for the templates
  that call none (the rest are checked frame by frame in BMC), so k-induction says UNKNOWN
  instead of assuming them.
"""

import z3

from mmspec import registry
from mmspec.check import Verdict
from mmspec.engine.bmc import _check, _unrolling, reachable_states
from mmspec.engine.induction import prove
from mmspec.engine.invariants import deferred_templates, houdini
from mmspec.engine.unroll import solver_for, symbolic_program
from mmspec.explore import explore
from mmspec.scope import find_scope_file, load_scope

CK = registry.get_checks(["compaction_empties_unusable_cma"])[0]


def _model(design):
    return registry.get_design(design)(load_scope(find_scope_file("compaction")))


def test_inlining_on_demand_makes_the_pinned_compaction_step_exact():
    m = _model("migrate_cma")
    cell = explore(m, [CK], max_states=150_000).cells[0]
    assert cell.verdict == Verdict.VIOLATED and len(cell.trace) == 16
    tr = cell.trace
    prog = symbolic_program(m, [CK])
    assert deferred_templates(prog), "the high-order template calls compaction's functions"
    un, (ci,) = _unrolling(m, [CK], prog, True)
    assert un.lazy is not None
    sol = solver_for(un.width)
    sol.add(un.init_constraint(), un.equal(0, tr.states[0]))
    for k, a in enumerate(tr.actions):
        sol.add(*un.trans(k), *un.pin_step(k, tr.states[k], a), un.equal(k + 1, tr.states[k + 1]))
    n = len(tr)
    no_violation = z3.Not(un.bad(n - 1, ci))
    sol.add(*un.take())
    assert sol.check(no_violation) == z3.sat         # the abstract calls allow it
    assert un.lazy.inlined == 0
    r, _, _ = _check(sol, no_violation, un, n, [ci])  # refined: the real step does not
    assert r == z3.unsat and un.lazy.inlined > 0
    assert _check(sol, un.bad(n - 1, ci), un, n, [ci])[0] == z3.sat


def test_invariants_of_a_program_with_function_joins_are_partial():
    m = _model("migrate_cma")
    prog = symbolic_program(m, [CK])
    h = houdini(m, prog)
    assert h.partial == tuple(deferred_templates(prog)) and h.partial and h.bounds_proved
    p = prove(m, CK, max_k=1, prog=prog)
    assert p.verdict == "UNKNOWN" and "Houdini defers them" in p.note


def test_z3_reachable_at_the_compaction_scope_equals_bfs_levels():
    from test_symbolic import _bfs_levels
    m = _model("migrate_cma")
    assert reachable_states(m, 4, limit=5000) == _bfs_levels(m, 4)
