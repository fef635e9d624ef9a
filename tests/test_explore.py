"""The breadth-first explorer on toy designs with hand-computed answers.

Graph G (edge order matters: it is the successor order)::

    0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 2 -> 4, 3 -> 5, 4 -> 5, 5 -> 0

BFS levels: {0}, {1, 2}, {3, 4}, {5}; 6 distinct states, 8 transitions, depth 3.
Expansion order 0, 1, 2, 3, 4, 5. First discovery (the parent pointers): 1 and 2 from 0,
3 from 1 (1 is expanded before 2), 4 from 2, 5 from 3.
"""

from __future__ import annotations

import pytest

from mmspec import explore
from mmspec.check import Check, Verdict
from mmspec.errors import TraceReplayError
from mmspec.trace import build_trace, replay

from toys import Counter2D, DGraph, Recorder, state_check, step_check

G = [(0, 1), (0, 2), (1, 3), (2, 3), (2, 4), (3, 5), (4, 5), (5, 0)]


def test_dgraph_counts_and_depth():
    r = explore(DGraph(G), [state_check(lambda s: False)])
    assert r.design == "dgraph"
    assert r.stats.distinct == 6
    assert r.stats.generated == 8
    assert r.stats.depth == 3
    assert r.stats.complete is True
    assert r.stats.stop_reason == ""


def test_dgraph_transition_order_is_bfs_in_edge_order():
    rec = Recorder()
    model = DGraph(G)
    explore(model, [rec.check])
    # every transition exactly once, in generation order
    assert [a for _, a, _ in rec.transitions] == G
    assert rec.expansion_order == [0, 1, 2, 3, 4, 5]
    assert model.expanded == [0, 1, 2, 3, 4, 5]


def test_expansion_order_follows_discovery_not_labels():
    # Edge order makes 2 be discovered before 1, so 2 (and then its child 4) go first.
    edges = [(0, 2), (0, 1), (1, 3), (2, 4)]
    model = DGraph(edges)
    explore(model, [state_check(lambda s: False)])
    assert model.expanded == [0, 2, 1, 4, 3]


def test_parents_map_records_first_discovery():
    r = explore(DGraph(G), [state_check(lambda s: False)], keep_parents=True)
    assert r.parents == {
        0: None,
        1: (0, (0, 1)),
        2: (0, (0, 2)),
        3: (1, (1, 3)),      # not (2, (2, 3)): 1 is expanded first
        4: (2, (2, 4)),
        5: (3, (3, 5)),      # not (4, (4, 5))
    }


def test_parents_not_returned_by_default():
    r = explore(DGraph(G), [state_check(lambda s: False)])
    assert r.parents is None


def test_bad_state_gives_shortest_trace():
    r = explore(DGraph(G), [state_check(lambda s: s == 5)])
    cell = r.cells[0]
    assert cell.verdict is Verdict.VIOLATED
    assert len(cell.trace) == 3
    assert cell.trace.actions == ((0, 1), (1, 3), (3, 5))
    assert cell.trace.states == (0, 1, 3, 5)
    assert cell.trace.design == "dgraph"
    # the trace was replayed through explain(): each step carries its log
    assert [st.log for st in cell.trace.steps] == [
        ("take edge 0 -> 1",), ("take edge 1 -> 3",), ("take edge 3 -> 5",)]


def test_bfs_finds_short_path_even_if_long_path_is_listed_first():
    edges = [(0, 1), (1, 2), (2, 3), (3, 9), (0, 9)]
    r = explore(DGraph(edges), [state_check(lambda s: s == 9)])
    assert r.cells[0].verdict is Verdict.VIOLATED
    assert r.cells[0].trace.actions == ((0, 9),)


def test_bad_step_trace_ends_with_the_violating_transition():
    # (4, 5) is never a parent edge, the trace still ends with it
    r = explore(DGraph(G), [step_check(lambda pre, a, eff, post: a == (4, 5))])
    cell = r.cells[0]
    assert cell.verdict is Verdict.VIOLATED
    assert cell.trace.actions == ((0, 2), (2, 4), (4, 5))
    assert cell.trace.states == (0, 2, 4, 5)


def test_bad_step_on_back_edge_to_init():
    r = explore(DGraph(G), [step_check(lambda pre, a, eff, post: a == (5, 0))])
    cell = r.cells[0]
    assert cell.verdict is Verdict.VIOLATED
    assert cell.trace.actions == ((0, 1), (1, 3), (3, 5), (5, 0))
    assert cell.trace.states == (0, 1, 3, 5, 0)


def test_failing_effect_is_visible_to_checks_and_trace():
    model = DGraph(G, failing=[(2, 4)])
    r = explore(model, [step_check(lambda pre, a, eff, post: not eff.ok)])
    cell = r.cells[0]
    assert cell.verdict is Verdict.VIOLATED
    assert cell.trace.actions == ((0, 2), (2, 4))
    assert [st.effect.ok for st in cell.trace.steps] == [True, False]


def test_bad_initial_state_gives_empty_trace():
    r = explore(DGraph(G), [state_check(lambda s: s == 0)])
    cell = r.cells[0]
    assert cell.verdict is Verdict.VIOLATED
    assert len(cell.trace) == 0
    assert cell.trace.init == 0
    assert cell.trace.states == (0,)


def test_vacuous_when_witness_never_holds():
    r = explore(DGraph(G), [state_check(lambda s: False, witness=lambda *a: False)])
    cell = r.cells[0]
    assert cell.verdict is Verdict.VACUOUS
    assert cell.witness_count == 0
    assert cell.trace is None and cell.witness_trace is None
    assert not cell.verdict.conclusive


def test_holds_with_exact_witness_count_and_witness_trace():
    rec = Recorder(hit=lambda pre, a, post: post == 3)   # edges (1,3) and (2,3)
    r = explore(DGraph(G), [rec.check])
    cell = r.cells[0]
    assert cell.verdict is Verdict.HOLDS
    assert cell.verdict.conclusive
    assert cell.witness_count == 2
    assert cell.trace is None
    assert cell.witness_trace.actions == ((0, 1), (1, 3))


def test_several_checks_get_independent_verdicts():
    checks = [state_check(lambda s: s == 4, name="bad4"),
              state_check(lambda s: False, name="ok"),
              state_check(lambda s: False, witness=lambda *a: False, name="vac")]
    r = explore(DGraph(G), checks)
    assert [c.verdict for c in r.cells] == [Verdict.VIOLATED, Verdict.HOLDS, Verdict.VACUOUS]
    assert r.cell("bad4").trace.actions == ((0, 2), (2, 4))
    with pytest.raises(KeyError):
        r.cell("nope")


def test_coverage_counts_effect_paths():
    r = explore(DGraph(G), [state_check(lambda s: False)])
    assert dict(r.coverage) == {f"edge {u}->{v}": 1 for u, v in G}


# ------------------------------------------------------------------------------------------
# State caps and time limits.

@pytest.mark.parametrize("cap, distinct", [(1, 3), (2, 3), (3, 3), (4, 4), (5, 5), (6, 6)])
def test_state_cap_is_bounded_never_holds(cap, distinct):
    # The cap is tested after each expansion: 0 -> 3 states, 1 -> 4, 2 -> 5, 3 -> 6.
    # Even cap 6 (every state stored) is BOUNDED: 4 and 5 were never expanded.
    r = explore(DGraph(G), [state_check(lambda s: False)], max_states=cap)
    assert r.cells[0].verdict is Verdict.BOUNDED
    assert r.stats.complete is False
    assert r.stats.stop_reason == f"state cap {cap} reached"
    assert r.stats.distinct == distinct


def test_cap_above_state_count_completes():
    r = explore(DGraph(G), [state_check(lambda s: False)], max_states=7)
    assert r.cells[0].verdict is Verdict.HOLDS
    assert r.stats.complete is True
    assert r.stats.distinct == 6


def test_cap_hides_unexamined_violation():
    # the bad edge leaves state 5, which cap 6 never expands
    bad = step_check(lambda pre, a, eff, post: a == (5, 0))
    assert explore(DGraph(G), [bad], max_states=6).cells[0].verdict is Verdict.BOUNDED
    assert explore(DGraph(G), [bad], max_states=7).cells[0].verdict is Verdict.VIOLATED


def test_bounded_without_witness_is_not_vacuous():
    r = explore(DGraph(G), [state_check(lambda s: False, witness=lambda *a: False)],
                max_states=2)
    assert r.cells[0].verdict is Verdict.BOUNDED


def test_violation_found_before_cap_is_reported():
    r = explore(DGraph(G), [state_check(lambda s: s == 2)], max_states=1)
    assert r.stats.complete is False
    assert r.cells[0].verdict is Verdict.VIOLATED
    assert r.cells[0].trace.actions == ((0, 2),)


def test_time_limit_zero_is_bounded():
    r = explore(Counter2D(5), [state_check(lambda s: False)], time_limit=0.0)
    assert r.cells[0].verdict is Verdict.BOUNDED
    assert r.stats.complete is False
    assert r.stats.stop_reason.startswith("time limit")


# ------------------------------------------------------------------------------------------
# Initial states.

def test_several_initial_states_are_one_bfs_level():
    edges = [(0, 1), (10, 11), (1, 2), (11, 2)]
    model = DGraph(edges, inits=(0, 10))
    r = explore(model, [state_check(lambda s: False)], keep_parents=True)
    assert r.stats.distinct == 5
    assert r.stats.depth == 2
    assert model.expanded == [0, 10, 1, 11, 2]
    assert r.parents[0] is None and r.parents[10] is None
    assert r.parents[2] == (1, (1, 2))


def test_duplicate_initial_states_are_stored_once():
    model = DGraph(G, inits=(0, 0))
    r = explore(model, [state_check(lambda s: False)])
    assert r.stats.distinct == 6
    assert r.stats.generated == 8
    assert model.expanded == [0, 1, 2, 3, 4, 5]


def test_bad_second_initial_state():
    model = DGraph([(0, 1), (10, 11)], inits=(0, 10))
    r = explore(model, [state_check(lambda s: s == 10)])
    assert r.cells[0].verdict is Verdict.VIOLATED
    assert r.cells[0].trace.init == 10 and len(r.cells[0].trace) == 0


# ------------------------------------------------------------------------------------------
# The 2-D counter.

def test_counter_n2_exact_visit_order_and_stats():
    rec = Recorder()
    r = explore(Counter2D(2), [rec.check], keep_parents=True)
    assert r.stats.distinct == 9
    assert r.stats.generated == 12
    assert r.stats.depth == 4
    assert rec.expansion_order == [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2),
                                   (2, 1), (1, 2)]          # (2, 2) has no successor
    assert r.parents[(1, 1)] == ((1, 0), "y")
    assert r.parents[(2, 1)] == ((2, 0), "y")
    assert r.parents[(1, 2)] == ((1, 1), "y")
    assert r.parents[(2, 2)] == ((2, 1), "y")


@pytest.mark.parametrize("n", [1, 3, 6])
def test_counter_closed_form(n):
    r = explore(Counter2D(n), [state_check(lambda s: False)])
    assert r.stats.distinct == (n + 1) ** 2
    assert r.stats.generated == 2 * n * (n + 1)
    assert r.stats.depth == 2 * n


@pytest.mark.parametrize("target", [(1, 0), (0, 3), (2, 2), (4, 1), (4, 4)])
def test_counter_shortest_trace_length(target):
    r = explore(Counter2D(4), [state_check(lambda s: s == target)])
    cell = r.cells[0]
    assert cell.verdict is Verdict.VIOLATED
    assert len(cell.trace) == sum(target)
    assert cell.trace.states[-1] == target
    # BFS with "x" before "y": the parent chain raises x first
    assert cell.trace.actions == ("x",) * target[0] + ("y",) * target[1]


# ------------------------------------------------------------------------------------------
# Traces of toys: replay and tampering.

def test_replay_accepts_true_trace_and_rejects_tampering():
    model = DGraph(G)
    t = replay(model, 0, [(0, 2), (2, 4), (4, 5)], [2, 4, 5])
    assert t.states == (0, 2, 4, 5)
    with pytest.raises(TraceReplayError, match="step 2"):
        replay(model, 0, [(0, 2), (1, 3), (3, 5)])          # action not enabled
    with pytest.raises(TraceReplayError, match="recorded state"):
        replay(model, 0, [(0, 2), (2, 4), (4, 5)], [2, 3, 5])  # recorded state changed
    with pytest.raises(TraceReplayError, match="initial state"):
        replay(model, 1, [(1, 3)])


def test_replay_lasso():
    model = DGraph(G)
    path = [(0, 1), (1, 3), (3, 5), (5, 0)]
    t = replay(model, 0, path, loop_start=0)
    assert t.loop_start == 0
    with pytest.raises(TraceReplayError, match="lasso"):
        replay(model, 0, path[:3], loop_start=0)


def test_build_trace_from_parents():
    model = DGraph(G)
    r = explore(model, [state_check(lambda s: False)], keep_parents=True)
    t = build_trace(model, r.parents, 4, (4, 5), 5)
    assert t.actions == ((0, 2), (2, 4), (4, 5))


def test_check_needs_exactly_one_predicate():
    with pytest.raises(ValueError):
        Check(name="x", title="x", claim="x", witness_doc="x", witness=lambda *a: True)
    with pytest.raises(ValueError):
        Check(name="x", title="x", claim="x", witness_doc="x", witness=lambda *a: True,
              bad_step=lambda *a: False, bad_state=lambda *a: False)
