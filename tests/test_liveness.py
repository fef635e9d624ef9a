"""Liveness: lasso detection on hand-built graphs and the utilization-oscillation lasso."""

import pytest

from mmspec import registry
from mmspec.check import Verdict
from mmspec.errors import MmspecError, TraceReplayError
from mmspec.explore import explore
from mmspec.liveness import LivenessCheck, find_loop, lasso_search, refuse_reduction
from mmspec.models.migrate_cma import MigrateCma
from mmspec.scope import default_scope
from mmspec.trace import render_trace, replay, trace_to_itf


def _search(graph, accept_edges, stay_nodes=None, init="s"):
    stay = (lambda n: True) if stay_nodes is None else (lambda n: n in stay_nodes)
    return lasso_search([init], lambda n: [(f"{n}->{m}", m) for m in graph.get(n, ())],
                        stay, lambda u, a, v: (u, v) in accept_edges)


def test_cycle_back_to_visited_state_is_found():
    # s -> a -> b -> c -> a : BFS sees c -> a as an edge to an already-visited state, so a
    # search that only reports new states (acyclic) never sees the cycle.
    g = {"s": ["a"], "a": ["b"], "b": ["c"], "c": ["a"]}
    init, stem, loop = _search(g, {("b", "c")})
    assert init == "s"
    assert [n for _, n in stem] == ["a", "b"]
    assert [n for _, n in loop] == ["c", "a", "b"]
    assert loop[-1][1] == stem[-1][1]           # the loop closes at its entry


def test_no_loop_in_dag():
    g = {"s": ["a", "b"], "a": ["c"], "b": ["c"], "c": []}
    assert _search(g, {("a", "c"), ("b", "c")}) is None


def test_accepting_edge_must_lie_on_the_cycle():
    # cycle a <-> b, accepting edge s -> a is outside the cycle
    g = {"s": ["a"], "a": ["b"], "b": ["a"]}
    assert _search(g, {("s", "a")}) is None
    assert _search(g, {("b", "a")}) is not None


def test_stay_region_cuts_the_cycle():
    g = {"s": ["a"], "a": ["b"], "b": ["c"], "c": ["a"]}
    assert _search(g, {("a", "b")}, stay_nodes={"s", "a", "b"}) is None
    assert _search(g, {("a", "b")}, stay_nodes={"a", "b", "c"}) is not None


def test_self_loop():
    g = {"s": ["s"]}
    init, stem, loop = _search(g, {("s", "s")})
    assert stem == [] and loop == [("s->s", "s")]


def test_find_loop_deterministic_first_accepting_edge():
    edges = [("x", 1, "y", False), ("y", 2, "x", True), ("y", 3, "z", True), ("z", 4, "y", False)]
    u, loop = find_loop(edges)
    assert u == "y" and [a for a, _ in loop] == [2, 1]


def test_liveness_check_needs_stay_and_accept():
    with pytest.raises(ValueError):
        LivenessCheck(name="x", title="t", claim="c", witness_doc="w",
                      witness=lambda *a: True)


def test_refuses_state_reduction():
    class Reduced(MigrateCma):
        state_reduction = "symmetry"
    m = Reduced(default_scope())
    with pytest.raises(MmspecError):
        refuse_reduction(m)
    with pytest.raises(MmspecError):
        explore(m, registry.get_checks(["utilization_oscillation"]))


@pytest.fixture(scope="module")
def lasso():
    m = MigrateCma(default_scope())       # the same lasso (4+3) as at `tiny`
    r = explore(m, registry.get_checks(["utilization_oscillation"]), max_states=410000)
    assert r.stats.complete                # 203560 states
    return m, r.cell("utilization_oscillation")


def test_utilization_oscillation_lasso(lasso):
    m, cell = lasso
    assert cell.verdict == Verdict.VIOLATED
    tr = cell.trace
    assert (tr.loop_start, len(tr) - tr.loop_start) == (4, 3)
    st = tr.states
    assert st[-1] == st[tr.loop_start]
    ck = cell.check
    loop_steps = tr.steps[tr.loop_start:]
    # every loop state keeps all CMA memory free, and kswapd reclaims a movable page in it
    assert all(ck.stay(m, s) for s in st[tr.loop_start:])
    assert any(ck.accept(m, st[tr.loop_start + i], s.action, s.effect, s.state)
               for i, s in enumerate(loop_steps))
    # replay validates closure; a wrong loop start is rejected
    replay(m, tr.init, tr.actions, loop_start=tr.loop_start)
    with pytest.raises(TraceReplayError):
        replay(m, tr.init, tr.actions, loop_start=tr.loop_start + 1)


def test_lasso_rendering_and_itf(lasso):
    m, cell = lasso
    text = render_trace(m, cell.trace, title="t", reproduce="r")
    assert "(loop starts here)" in text and "<- loops back to state 4" in text
    doc = trace_to_itf(m, cell.trace, {})
    assert doc["loop"] == 4 and len(doc["states"]) == 8
