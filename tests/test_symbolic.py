"""Cross-validation of the symbolic engine against the breadth-first checker.

- the rules of mmspec.symbolic_rules, run on ints, give exactly Allocator.successors on every
  reachable state of a tiny scope (and on a sample of the default scope);
- BMC and BFS agree on the verdict and the shortest counterexample length per (design, check);
- every BFS counterexample satisfies the unrolled formula; every z3 trace replays;
- the states z3 can reach in <= d steps are exactly the BFS states at depth <= d;
- k-induction proves/refutes as BFS says, never PROVED for a violated check.
"""

import io

import pytest

from mmspec import registry
from mmspec.check import Verdict
from mmspec.cli import main
from mmspec.errors import MmspecError
from mmspec.explore import explore
from mmspec.scope import default_scope, parse_scope
from mmspec.symbolic import SYMBOLIC_CHECKS, bmc, prove, reachable_states, trace_satisfies
from mmspec.symbolic_rules import IntOps, Rules

DESIGNS = ("migrate_cma", "zone_cma")
TINY = parse_scope({
    "pages_per_pageblock": 2,
    "zones": {"Normal": {"pageblocks": ["UNMOVABLE", "MOVABLE", "CMA", "CMA"],
                         "watermarks": [1, 2, 3]},
              "CMA": {"watermarks": [1, 1, 2]}},
    "requests": {"GFP_ATOMIC": 1, "GFP_KERNEL": 1, "GFP_HIGHUSER_MOVABLE": 2, "BLOCKDEV": 1},
})


def _model(name, scope):
    return registry.get_design(name)(scope)


def _bfs_levels(model):
    level = {s: 0 for s in model.init_states()}
    frontier = list(level)
    d = 0
    while frontier:
        d += 1
        nxt = []
        for s in frontier:
            for _, t, _ in model.successors(s):
                if t not in level:
                    level[t] = d
                    nxt.append(t)
        frontier = nxt
    return level


@pytest.mark.parametrize("design", DESIGNS)
def test_int_rules_equal_explicit_successors_tiny(design):
    m = _model(design, TINY)
    r = Rules(m, IntOps)
    levels = _bfs_levels(m)
    assert len(levels) > 50
    for s in levels:
        assert r.successors(s) == [(a, t, e.ok) for a, t, e in m.successors(s)], s


@pytest.mark.parametrize("design", DESIGNS)
def test_int_rules_equal_explicit_successors_default_sample(design):
    m = _model(design, default_scope())
    r = Rules(m, IntOps)
    levels = _bfs_levels(m)
    sample = sorted(levels, key=repr)[::max(1, len(levels) // 60)]
    for s in sample:
        assert r.successors(s) == [(a, t, e.ok) for a, t, e in m.successors(s)], s


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("check", sorted(SYMBOLIC_CHECKS))
def test_bmc_agrees_with_bfs_tiny(design, check):
    m = _model(design, TINY)
    ck = registry.get_checks([check])[0]
    cell = explore(m, [ck]).cells[0]
    depth = len(cell.trace) if cell.verdict == Verdict.VIOLATED else 3
    r = bmc(m, ck, depth)
    if cell.verdict == Verdict.VIOLATED:
        assert r.verdict == "VIOLATED" and r.depth == len(cell.trace)
        assert trace_satisfies(m, ck, cell.trace)          # BFS trace satisfies the formula
        last = r.trace.steps[-1]                           # the z3 trace (already replayed)
        pre = r.trace.states[-2]
        assert ck.violated_by(m, pre, last.action, last.effect, last.state)
    else:
        assert cell.verdict == Verdict.HOLDS
        assert r.verdict == "BOUNDED" and r.depth == depth


def test_tiny_scope_has_the_atomic_counterexample():
    # guard: the matrix above must contain a violation to compare lengths on
    m = _model("migrate_cma", TINY)
    ck = registry.get_checks(["atomic_while_kswapd_sleeps"])[0]
    assert explore(m, [ck]).cells[0].verdict == Verdict.VIOLATED


def test_bmc_default_scope_migrate_cma_same_length_as_bfs():
    m = _model("migrate_cma", default_scope())
    ck = registry.get_checks(["atomic_while_kswapd_sleeps"])[0]
    cell = explore(m, [ck]).cells[0]
    r = bmc(m, ck, 8)
    assert r.verdict == "VIOLATED" and r.depth == len(cell.trace) == 6
    assert not r.trace.steps[-1].effect.ok


def test_trace_not_satisfying_formula_is_rejected():
    # a BFS trace that ends in a legal, non-violating step must not satisfy "bad at the end"
    m = _model("zone_cma", TINY)
    ck = registry.get_checks(["atomic_while_kswapd_sleeps"])[0]
    wt = explore(m, [ck]).cells[0].witness_trace
    assert wt is not None and not trace_satisfies(m, ck, wt)


@pytest.mark.parametrize("design,bitvec", [("migrate_cma", True), ("zone_cma", False)])
def test_z3_reachable_equals_bfs_levels(design, bitvec):
    # both encodings (bit-vectors: BMC; Int: k-induction), one design each
    m = _model(design, TINY)
    levels = _bfs_levels(m)
    d = 3
    want = {s for s, lv in levels.items() if lv <= d}
    assert reachable_states(m, d, bitvec=bitvec) == want


def test_prove_zone_cma_atomic_and_refute_migrate_cma():
    ck = registry.get_checks(["atomic_while_kswapd_sleeps"])[0]
    m = _model("zone_cma", TINY)
    obs = list(explore(m, [ck], keep_parents=True).parents)
    p = prove(m, ck, max_k=3, observed=obs)
    assert p.verdict == "PROVED"
    m2 = _model("migrate_cma", TINY)
    obs2 = list(explore(m2, [ck], keep_parents=True).parents)
    p2 = prove(m2, ck, max_k=8, observed=obs2)
    assert p2.verdict == "VIOLATED" and p2.trace is not None


def test_prove_without_invariant_sample_is_not_proved_by_accident():
    # with only the initial state as sample the ranges are too tight to be inductive and
    # Houdini must drop them: the result is PROVED only if the rest really is inductive
    ck = registry.get_checks(["no_unmovable_in_cma"])[0]
    m = _model("migrate_cma", TINY)
    p = prove(m, ck, max_k=2)
    assert p.verdict in ("PROVED", "UNKNOWN")
    assert p.dropped > 0


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out, err), out.getvalue(), err.getvalue()


def test_cli_bmc_and_errors():
    code, out, _ = _cli(["bmc", "--design", "migrate_cma", "--check",
                         "atomic_while_kswapd_sleeps", "--pageblocks", "Normal=U,M,C,C",
                         "--watermarks", "Normal=1,2,3", "--watermarks", "CMA=1,1,2",
                         "--limit", "GFP_HIGHUSER_MOVABLE=2", "--limit", "GFP_KERNEL=1"])
    assert code == 1 and "VIOLATED" in out and "Step 1:" in out
    code, _, err = _cli(["bmc", "--design", "migrate_cma", "--check", "nope"])
    assert code == 2 and "unknown check" in err
    code, _, err = _cli(["bmc", "--design", "migrate_cma", "--check", "page_conservation",
                         "--depth", "0"])
    assert code == 2


def test_unsupported_scope_is_bad_input():
    s = default_scope().with_changes(orders=(0, 1))
    with pytest.raises(MmspecError):
        Rules(_model("migrate_cma", s), IntOps)
