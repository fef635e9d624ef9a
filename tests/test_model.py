"""The shipped designs on the scope `tiny` (scopes/tiny.toml, the built-in default until the
default grew): pinned state spaces, headline verdicts, every shipped check against the
expectation recorded for `tiny`, traces (replay, tampering, ITF), a deterministic step
function, and semantic unit tests on hand-built states.

Scope `tiny`: one Normal zone of 5 pageblocks of 2 pages, ``U M M C C``, watermarks
min/low/high 2/3/4 (ZONE_CMA: 1/2/3), limits ATOMIC 1, KERNEL 2, HIGHUSER_MOVABLE 3,
BLOCKDEV 1, SLAB 0; fair zone policy (NR_ALLOC_BATCH = high - low = 1). The default scope
has the same memory and limits KERNEL 3, HIGHUSER_MOVABLE 4, BLOCKDEV 2 (its verdicts are
judged by tests/test_docs.py, its counterexamples by tests/test_replay.py).
"""

from __future__ import annotations

import copy
import json
import tomllib

import pytest

from mmspec import explore, get_checks, get_design, parse_scope
from mmspec import registry
from mmspec.check import Verdict
from mmspec.errors import TraceReplayError
from mmspec.scope import load_scope, named_scopes
from mmspec.state import ALLOC, FREE, KSWAPD, Action, Block, State, Zone
from mmspec.trace import (action_from_json, action_to_json, actions_from_itf, render_trace,
                          replay, trace_to_itf)
from mmspec.vocab import (ALLOC_CMA, ALLOC_WMARK_LOW, BLOCKDEV_BUFFER, GFP_ATOMIC,
                          GFP_CLASSES, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, KswapdPhase,
                          Migratetype, ZoneType)

U, M, R, C = (int(Migratetype.MIGRATE_UNMOVABLE), int(Migratetype.MIGRATE_MOVABLE),
              int(Migratetype.MIGRATE_RECLAIMABLE), int(Migratetype.MIGRATE_CMA))
SLEEPING, NAPPING, RUNNING = (int(KswapdPhase.SLEEPING), int(KswapdPhase.NAPPING),
                              int(KswapdPhase.RUNNING))
DESIGNS = ("migrate_cma", "zone_cma")
ATOMIC_CHECK = "atomic_while_kswapd_sleeps"


TINY = load_scope(named_scopes()["tiny"])
#: state caps about twice the pinned state counts at `tiny`
CAP = {"migrate_cma": 12000, "zone_cma": 75000}


def model(name, scope=None):
    return get_design(name)(scope if scope is not None else TINY)


def scope_with(**changes):
    """The scope `tiny` with top-level keys or [requests] entries changed."""
    d = tomllib.loads(TINY.to_toml())
    d = copy.deepcopy(d)
    for k, v in changes.items():
        if k in d["requests"]:
            d["requests"][k] = v
        else:
            d[k] = v
    return parse_scope(d)


_RESULTS: dict = {}


def result(name):
    """One exhaustive run per design with every shipped check (cached for the module)."""
    if name not in _RESULTS:
        m = model(name)
        _RESULTS[name] = (m, explore(m, registry.checks(), keep_parents=True,
                                     max_states=CAP[name]))
    return _RESULTS[name]


# ------------------------------------------------------------------------------------------
# Pinned state spaces.

@pytest.mark.parametrize("name, distinct, depth, generated", [
    ("migrate_cma", 5986, 22, 41872),
    ("zone_cma", 36588, 48, 266412),
])
def test_state_space_is_pinned(name, distinct, depth, generated):
    _, r = result(name)
    assert r.stats.complete and r.stats.stop_reason == ""
    assert (r.stats.distinct, r.stats.depth, r.stats.generated) == (distinct, depth, generated)
    assert len(r.parents) == distinct


# ------------------------------------------------------------------------------------------
# Headline verdicts.

def test_atomic_fails_while_kswapd_sleeps_on_migrate_cma():
    m, r = result("migrate_cma")
    cell = r.cell(ATOMIC_CHECK)
    assert cell.verdict is Verdict.VIOLATED
    t = cell.trace
    assert len(t) == 6
    # two kernel pages, three movable pages (the movable ones pass the low watermark by
    # counting free CMA pages), then GFP_ATOMIC
    assert [(a.kind, a.cls) for a in t.actions] == [
        (ALLOC, GFP_KERNEL), (ALLOC, GFP_KERNEL), (ALLOC, GFP_HIGHUSER_MOVABLE),
        (ALLOC, GFP_HIGHUSER_MOVABLE), (ALLOC, GFP_HIGHUSER_MOVABLE), (ALLOC, GFP_ATOMIC)]
    # kswapd is never woken before the atomic request
    assert [s.kswapd for s in t.states[:-1]] == [SLEEPING] * 6
    assert all(st.effect.ok for st in t.steps[:-1])
    assert all("slow path" not in st.effect.paths for st in t.steps[:-1])
    last = t.steps[-1]
    assert last.action == Action(ALLOC, GFP_ATOMIC, 0)
    assert not last.effect.ok
    # it wakes kswapd in the slow path, then fails (no __GFP_DIRECT_RECLAIM)
    assert {"slow path", "wakeup_kswapd", "allocation failure"} <= set(last.effect.paths)
    assert last.state.kswapd == RUNNING
    pre = t.states[-2]
    # 5 pages free, 4 of them CMA: free - free_cma = 1 <= min 2 -> 1 (ALLOC_HIGH|HARDER)
    assert (pre.zones[0].nr_free, pre.zones[0].nr_free_cma) == (5, 4)


def test_atomic_holds_on_zone_cma():
    m, r = result("zone_cma")
    cell = r.cell(ATOMIC_CHECK)
    assert cell.verdict is Verdict.HOLDS
    assert cell.trace is None
    assert cell.witness_count > 0
    w = cell.witness_trace
    assert w is not None and w.actions[-1].kind == ALLOC and w.actions[-1].cls == GFP_ATOMIC
    assert w.states[-2].kswapd != RUNNING


ALL_CHECKS = [c.name for c in registry.checks()]


@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("check", ALL_CHECKS)
def test_every_check_matches_its_expectation(name, check):
    m, r = result(name)
    cell = r.cell(check)
    expected = registry.expected_verdict(type(m), cell.check, m.scope)
    assert expected is not None, f"no expected verdict recorded for {check} on {name} at tiny"
    assert cell.verdict is expected
    if cell.verdict is Verdict.HOLDS:
        assert cell.witness_count > 0 and cell.witness_trace is not None
    if cell.verdict is Verdict.VIOLATED:
        assert cell.trace is not None


@pytest.mark.parametrize("name", DESIGNS)
def test_needed_paths_are_covered(name):
    _, r = result(name)
    cov = dict(r.coverage)
    for ck in registry.checks():
        for path in ck.needs:
            assert cov.get(path, 0) > 0, (ck.name, path)


@pytest.mark.parametrize("name, cap", [("migrate_cma", 50), ("migrate_cma", 1000),
                                       ("zone_cma", 300)])
def test_state_cap_never_holds(name, cap):
    m = model(name)
    r = explore(m, registry.checks(), max_states=cap)
    assert not r.stats.complete
    for cell in r.cells:
        assert cell.verdict in (Verdict.BOUNDED, Verdict.VIOLATED), cell.check.name
        if cell.verdict is Verdict.VIOLATED:
            # a counterexample found within the cap is real: the full run agrees
            assert result(name)[1].cell(cell.check.name).verdict is Verdict.VIOLATED


def test_cap_large_enough_to_hit_the_counterexample():
    m = model("migrate_cma")
    r = explore(m, get_checks([ATOMIC_CHECK]), max_states=1000)
    assert r.cells[0].verdict is Verdict.VIOLATED
    assert len(r.cells[0].trace) == 6


# ------------------------------------------------------------------------------------------
# Traces: replay, tampering, ITF.

def _cex():
    m, r = result("migrate_cma")
    return m, r.cell(ATOMIC_CHECK).trace


def test_trace_replays():
    m, t = _cex()
    again = replay(m, t.init, t.actions, t.states[1:])
    assert again.states == t.states
    assert [s.effect for s in again.steps] == [s.effect for s in t.steps]
    assert [s.log for s in again.steps] == [s.log for s in t.steps]
    assert all(s.log for s in t.steps)


def test_replay_rejects_changed_action():
    m, t = _cex()
    acts = list(t.actions)
    acts[2] = Action(ALLOC, GFP_KERNEL, 0) if acts[2].cls != GFP_KERNEL else acts[2]
    acts[2] = Action(ALLOC, BLOCKDEV_BUFFER, 0)     # a movable page, but of another class
    with pytest.raises(TraceReplayError, match="step 3"):
        replay(m, t.init, acts, t.states[1:])


def test_replay_rejects_changed_state():
    m, t = _cex()
    states = list(t.states[1:])
    z = states[3].zones[0]
    states[3] = states[3]._replace(zones=(z._replace(nr_free=z.nr_free + 1),))
    with pytest.raises(TraceReplayError, match="step 4.*recorded state"):
        replay(m, t.init, t.actions, states)
    states = list(t.states[1:])
    states[-1] = states[-1]._replace(kswapd=SLEEPING)          # hide the wakeup
    with pytest.raises(TraceReplayError, match="step 6"):
        replay(m, t.init, t.actions, states)


def test_replay_rejects_disabled_action_and_foreign_init():
    m, t = _cex()
    with pytest.raises(TraceReplayError, match="not enabled"):
        replay(m, t.init, [Action(FREE, GFP_KERNEL, 0, 0, 3)])   # nothing held there
    with pytest.raises(TraceReplayError, match="not enabled"):
        replay(m, t.init, [Action(KSWAPD)])                      # kswapd asleep
    with pytest.raises(TraceReplayError, match="not enabled"):
        replay(m, t.init, [Action(ALLOC, GFP_ATOMIC, 0)] * 2)   # limit 1
    with pytest.raises(TraceReplayError, match="initial state"):
        replay(m, t.states[1], t.actions[1:])
    with pytest.raises(TraceReplayError):
        replay(model("zone_cma"), t.init, t.actions)            # another design's init


def test_itf_round_trip():
    m, t = _cex()
    doc = json.loads(json.dumps(trace_to_itf(m, t, {"design": m.name})))
    assert doc["#meta"]["format"] == "ITF" and doc["#meta"]["design"] == "migrate_cma"
    assert len(doc["states"]) == 7
    assert [s["#meta"]["index"] for s in doc["states"]] == list(range(7))
    assert doc["states"][0]["action"] == {"kind": "init"}
    assert [s["allocation_failed"] for s in doc["states"]] == [False] * 6 + [True]
    assert [s["kswapd"] for s in doc["states"]] == ["SLEEPING"] * 6 + ["RUNNING"]
    assert doc["states"][5]["zones"]["Normal"]["NR_FREE_PAGES"] == 5
    assert doc["states"][5]["zones"]["Normal"]["NR_FREE_CMA_PAGES"] == 4
    acts = actions_from_itf(doc)
    assert tuple(acts) == t.actions
    assert replay(m, t.init, acts).states == t.states


def test_itf_round_trip_keeps_reclaim_choices():
    a = Action(ALLOC, GFP_KERNEL, 0, victims=((0, 1, GFP_HIGHUSER_MOVABLE), (1, 0, 3)))
    assert action_from_json(json.loads(json.dumps(action_to_json(a)))) == a
    f = Action(FREE, BLOCKDEV_BUFFER, 0, 1, 2)
    assert action_from_json(action_to_json(f)) == f
    k = Action(KSWAPD, victims=((0, 2, GFP_HIGHUSER_MOVABLE),))
    assert action_from_json(action_to_json(k)) == k


@pytest.mark.parametrize("bad", [
    {"kind": "teleport"}, {"kind": "alloc", "gfp": "GFP_NOWAIT"}, {"kind": "free", "gfp": "GFP_KERNEL"},
    {"gfp": "GFP_KERNEL"}, "alloc", None,
    {"kind": "kswapd", "reclaim": [{"zone": "x", "pageblock": 0, "gfp": "GFP_KERNEL"}]},
])
def test_malformed_itf_actions_are_rejected(bad):
    with pytest.raises(TraceReplayError):
        action_from_json(bad)


def test_malformed_itf_document_is_rejected():
    with pytest.raises(TraceReplayError):
        actions_from_itf({"vars": []})
    with pytest.raises(TraceReplayError):
        actions_from_itf([1, 2])


def test_render_trace_mentions_failure():
    m, t = _cex()
    text = render_trace(m, t, title="T", reproduce="R")
    assert text.startswith("T\nReproduce: R\n")
    assert "Step 6: alloc_pages(GFP_ATOMIC, order=0)   ** FAILS **" in text
    assert text.count("** FAILS **") == 1


# ------------------------------------------------------------------------------------------
# Determinism of the step function.

def _sample(name, every):
    _, r = result(name)
    return list(r.parents)[::every]


@pytest.mark.parametrize("name, every", [("migrate_cma", 13), ("zone_cma", 97)])
def test_successors_are_deterministic(name, every):
    m, _ = result(name)
    fresh = model(name)
    for s in _sample(name, every):
        first = list(m.successors(s))
        assert list(m.successors(s)) == first
        assert list(fresh.successors(s)) == first
        assert m.actions(s) == tuple(a for a, _, _ in first)
        # no duplicate actions; step() agrees with successors() when victims are given
        assert len(set(a for a, _, _ in first)) == len(first)
        for a, t, eff in first[:3]:
            assert m.step(s, a) == (t, eff)


@pytest.mark.parametrize("name, every", [("migrate_cma", 11), ("zone_cma", 101)])
def test_successor_order(name, every):
    m, _ = result(name)
    rank = {ALLOC: 0, FREE: 1, KSWAPD: 2}
    for s in _sample(name, every):
        acts = m.actions(s)
        keys = [(rank[a.kind], a.cls if a.kind != KSWAPD else 0) for a in acts]
        assert keys == sorted(keys)
        for kind in (ALLOC, KSWAPD):
            # one successor per distinct reclaim choice; within a zone in (block, class) order
            for cls in {a.cls for a in acts if a.kind == kind}:
                vs = [a.victims for a in acts if a.kind == kind and a.cls == cls]
                assert len(set(vs)) == len(vs)
                singles = [v[0] for v in vs if len(v) == 1]
                for zone in {z for z, _, _ in singles}:
                    inzone = [v for v in singles if v[0] == zone]
                    assert inzone == sorted(inzone)
        assert (KSWAPD in {a.kind for a in acts}) == (s.kswapd != SLEEPING)


# ------------------------------------------------------------------------------------------
# Semantic unit tests.

def make_state(m, blocks_per_zone, kswapd=SLEEPING):
    """A state from ``[[(free, {class: held}), ...] per zone]`` with consistent counters
    (NR_ALLOC_BATCH at high - low, kswapd fields as at boot)."""
    nclass = len(GFP_CLASSES)
    zones = []
    for p, spec in enumerate(blocks_per_zone):
        lay = m.layout[p]
        blocks = []
        for (free, held), mt in zip(spec, lay.blocks):
            h = [0] * nclass
            for c, n in held.items():
                h[c] = n
            assert free + sum(h) == m.ppb
            blocks.append(Block(mt, free, tuple(h)))
        nr_free = sum(b.free for b in blocks)
        cma = sum(b.free for b in blocks if b.mt == C)
        zones.append(Zone(nr_free, cma, lay.wmark[2] - lay.wmark[1], False, tuple(blocks)))
    return State(tuple(zones), kswapd, 0, m.top_zone, 0, m.top_zone, 0)


def test_init_state_migrate_cma():
    m = model("migrate_cma")
    (s,) = m.init_states()
    z = s.zones[0]
    assert (z.nr_free, z.nr_free_cma, z.alloc_batch, z.fair_depleted) == (10, 4, 1, False)
    assert [b.mt for b in z.blocks] == [U, M, M, C, C]
    assert s.kswapd == SLEEPING
    assert make_state(m, [[(2, {})] * 5]) == s


def test_movable_takes_movable_pageblocks_before_cma():
    m = model("migrate_cma", scope_with(GFP_HIGHUSER_MOVABLE=8))
    (s,) = m.init_states()
    blocks, wakes = [], []
    for _ in range(8):
        s, eff = m.step(s, Action(ALLOC, GFP_HIGHUSER_MOVABLE, 0))
        assert eff.ok
        blocks.append(eff.block)
        wakes.append(s.kswapd)
        assert ("__rmqueue_cma_fallback" in eff.paths) == (eff.block >= 3)
    # MOVABLE pageblocks 1, 2 first, then MIGRATE_CMA 3, 4; never the UNMOVABLE pageblock 0
    assert blocks == [1, 1, 2, 2, 3, 3, 4, 4]
    assert s.zones[0].blocks[0] == Block(U, 2, (0,) * len(GFP_CLASSES))
    # seven movable pages drain the zone to free 3 (free_cma 1) without waking kswapd:
    # ALLOC_CMA lets the fast path count free CMA pages against low 3
    assert wakes == [SLEEPING] * 7 + [RUNNING]
    assert (s.zones[0].nr_free, s.zones[0].nr_free_cma) == (2, 0)


def test_unmovable_never_takes_a_cma_pageblock():
    m = model("migrate_cma", scope_with(GFP_KERNEL=4))
    # U and both M pageblocks in use, only the two CMA pageblocks free
    s = make_state(m, [[(0, {GFP_KERNEL: 2}), (0, {GFP_HIGHUSER_MOVABLE: 2}),
                        (0, {GFP_HIGHUSER_MOVABLE: 1, BLOCKDEV_BUFFER: 1}), (2, {}), (2, {})]])
    from mmspec.kernel import _Work      # the step's scratch state, to call rmqueue directly
    w = _Work(s, (), None)
    # __rmqueue: no fallback from UNMOVABLE or RECLAIMABLE into MIGRATE_CMA
    assert m.rmqueue(w, 0, 0, U, ALLOC_WMARK_LOW) == -1
    assert m.rmqueue(w, 0, 0, R, ALLOC_WMARK_LOW) == -1
    # MOVABLE reaches them through __rmqueue_cma_fallback
    assert m.rmqueue(w, 0, 0, M, ALLOC_WMARK_LOW | ALLOC_CMA) == 3
    # every GFP_KERNEL / GFP_ATOMIC outcome fails and leaves the CMA pageblocks free
    outs = [(a, t, e) for a, t, e in m.successors(s)
            if a.kind == ALLOC and a.cls in (GFP_KERNEL, GFP_ATOMIC)]
    assert {a.cls for a, _, _ in outs} == {GFP_KERNEL, GFP_ATOMIC}
    for a, t, e in outs:
        assert not e.ok
        assert [b.free for b in t.zones[0].blocks[3:]] == [2, 2]
        assert t.kswapd == RUNNING                      # woken in the slow path


def test_unmovable_steals_a_movable_pageblock_not_cma():
    # CMA pageblocks sit at lower pfns than the MOVABLE one
    d = tomllib.loads(TINY.to_toml())
    d["zones"]["Normal"]["pageblocks"] = ["UNMOVABLE", "CMA", "CMA", "MOVABLE", "MOVABLE"]
    d["requests"]["GFP_KERNEL"] = 3
    m = model("migrate_cma", parse_scope(d))
    s = make_state(m, [[(0, {GFP_KERNEL: 2}), (2, {}), (2, {}), (2, {}), (2, {})]])
    t, eff = m.step(s, Action(ALLOC, GFP_KERNEL, 0))
    # free 8 - free_cma 4 = 4 > low 3: fast path; no UNMOVABLE page -> __rmqueue_fallback
    # takes the whole free MOVABLE pageblock 3 and claims it
    assert eff.ok and eff.block == 3
    assert "__rmqueue_fallback MIGRATE_MOVABLE->MIGRATE_UNMOVABLE" in eff.paths
    assert "steal_suitable_fallback: pageblock claimed" in eff.paths
    assert t.zones[0].blocks[3].mt == U
    assert [b.mt for b in t.zones[0].blocks] == [U, C, C, U, M]


def test_atomic_wakes_kswapd_then_fails():
    m = model("migrate_cma")
    s = make_state(m, [[(0, {GFP_KERNEL: 2}), (0, {GFP_HIGHUSER_MOVABLE: 2}),
                        (1, {GFP_HIGHUSER_MOVABLE: 1}), (2, {}), (2, {})]])
    t, eff = m.step(s, Action(ALLOC, GFP_ATOMIC, 0))
    assert not eff.ok and eff.zone == -1
    assert eff.paths[-1] == "allocation failure"
    assert eff.paths.index("wakeup_kswapd") < eff.paths.index("allocation failure")
    assert t.kswapd == RUNNING
    # nothing was allocated
    assert [b.free for b in t.zones[0].blocks] == [b.free for b in s.zones[0].blocks]
    # the same request succeeds with one more non-CMA page free: 6 - 4 = 2 > 1
    s2 = make_state(m, [[(0, {GFP_KERNEL: 2}), (1, {GFP_HIGHUSER_MOVABLE: 1}),
                         (1, {GFP_HIGHUSER_MOVABLE: 1}), (2, {}), (2, {})]])
    t2, eff2 = m.step(s2, Action(ALLOC, GFP_ATOMIC, 0))
    assert eff2.ok and eff2.block == 1 and "slow path" in eff2.paths


def test_atomic_from_init_stays_in_fast_path():
    m = model("migrate_cma")
    (s,) = m.init_states()
    t, eff = m.step(s, Action(ALLOC, GFP_ATOMIC, 0))
    assert eff.ok and eff.block == 0 and "slow path" not in eff.paths
    assert t.kswapd == SLEEPING


def test_zone_cma_movable_served_from_zone_cma_first():
    m = model("zone_cma")
    assert [z.ztype for z in m.layout] == [ZoneType.ZONE_NORMAL, ZoneType.ZONE_CMA]
    (s,) = m.init_states()
    _, eff = m.step(s, Action(ALLOC, GFP_HIGHUSER_MOVABLE, 0))
    assert eff.ok and m.layout[eff.zone].ztype == ZoneType.ZONE_CMA and eff.block == 0
    for cls in (GFP_KERNEL, GFP_ATOMIC, BLOCKDEV_BUFFER):     # highest zone Normal
        _, eff = m.step(s, Action(ALLOC, cls, 0))
        assert eff.ok and m.layout[eff.zone].ztype == ZoneType.ZONE_NORMAL


@pytest.mark.parametrize("fair, zones", [
    # highest zone first: ZONE_CMA until free 2 <= low 2, then Normal
    (False, ["CMA", "CMA", "Normal", "Normal", "Normal"]),
    # v4.6 fair zone policy: NR_ALLOC_BATCH = high - low = 1 per zone interleaves them
    (True, ["CMA", "Normal", "CMA", "Normal", "Normal"]),
])
def test_zone_cma_fill_order(fair, zones):
    m = model("zone_cma", scope_with(GFP_HIGHUSER_MOVABLE=5, fair_zone_policy=fair))
    (s,) = m.init_states()
    got = []
    for _ in range(5):
        s, eff = m.step(s, Action(ALLOC, GFP_HIGHUSER_MOVABLE, 0))
        assert eff.ok and "slow path" not in eff.paths
        got.append(m.layout[eff.zone].label)
    assert got == zones
    assert s.kswapd == SLEEPING


def test_zone_cma_direct_reclaim_of_normal_requests_never_touches_zone_cma():
    m = model("zone_cma", scope_with(GFP_HIGHUSER_MOVABLE=8, fair_zone_policy=False))
    (s,) = m.init_states()
    for _ in range(7):                 # fills to Normal free 2, ZONE_CMA free 1
        s, eff = m.step(s, Action(ALLOC, GFP_HIGHUSER_MOVABLE, 0))
        assert eff.ok
    assert [z.nr_free for z in s.zones] == [2, 1]
    allocs = [(a, e) for a, _, e in m.successors(s) if a.kind == ALLOC]
    kernel = [a.victims for a, _ in allocs if a.cls == GFP_KERNEL]
    movable = [a.victims for a, _ in allocs if a.cls == GFP_HIGHUSER_MOVABLE]
    # GFP_KERNEL (highest zone Normal) reclaims only Normal's LRU pages
    assert kernel == [((0, 1, GFP_HIGHUSER_MOVABLE),), ((0, 2, GFP_HIGHUSER_MOVABLE),)]
    # GFP_HIGHUSER_MOVABLE may reclaim from both zones
    assert sorted(movable) == [((0, 1, GFP_HIGHUSER_MOVABLE),), ((0, 2, GFP_HIGHUSER_MOVABLE),),
                               ((1, 0, GFP_HIGHUSER_MOVABLE),), ((1, 1, GFP_HIGHUSER_MOVABLE),)]
    assert all(e.ok and "direct reclaim" in e.paths for a, e in allocs
               if a.cls in (GFP_KERNEL, GFP_HIGHUSER_MOVABLE))


def test_step_needs_and_checks_reclaim_choices():
    m = model("zone_cma", scope_with(GFP_HIGHUSER_MOVABLE=8, fair_zone_policy=False))
    (s,) = m.init_states()
    for _ in range(7):
        s, _ = m.step(s, Action(ALLOC, GFP_HIGHUSER_MOVABLE, 0))
    with pytest.raises(TraceReplayError, match="does not say which page"):
        m.step(s, Action(ALLOC, GFP_KERNEL, 0))
    with pytest.raises(TraceReplayError, match="not an LRU page"):
        m.step(s, Action(ALLOC, GFP_KERNEL, 0, victims=((1, 0, GFP_HIGHUSER_MOVABLE),)))
    with pytest.raises(TraceReplayError, match="more reclaim choices"):
        m.step(s, Action(ALLOC, GFP_KERNEL, 0, victims=((0, 1, GFP_HIGHUSER_MOVABLE),
                                                          (0, 2, GFP_HIGHUSER_MOVABLE))))
    t, eff = m.step(s, Action(ALLOC, GFP_KERNEL, 0, victims=((0, 2, GFP_HIGHUSER_MOVABLE),)))
    assert eff.ok
    # the reclaimed movable page of pageblock 2 was freed, then a kernel page taken
    assert t.zones[0].blocks[2].held[GFP_HIGHUSER_MOVABLE] == s.zones[0].blocks[2].held[
        GFP_HIGHUSER_MOVABLE] - 1


def test_free_returns_page_and_cma_counter():
    m = model("migrate_cma")
    s = make_state(m, [[(1, {GFP_KERNEL: 1}), (2, {}), (2, {}), (1, {GFP_HIGHUSER_MOVABLE: 1}),
                        (2, {})]])
    t, eff = m.step(s, Action(FREE, GFP_HIGHUSER_MOVABLE, 0, 0, 3))
    # before: free 1 + 2 + 2 + 1 + 2 = 8, free CMA 1 + 2 = 3
    assert (s.zones[0].nr_free, s.zones[0].nr_free_cma) == (8, 3)
    assert eff.ok and (t.zones[0].nr_free, t.zones[0].nr_free_cma) == (9, 4)
    assert t.zones[0].blocks[3] == Block(C, 2, (0,) * len(GFP_CLASSES))
    t, _ = m.step(s, Action(FREE, GFP_KERNEL, 0, 0, 0))
    assert (t.zones[0].nr_free, t.zones[0].nr_free_cma) == (9, 3)
    assert t.zones[0].blocks[0] == Block(U, 2, (0,) * len(GFP_CLASSES))


def test_kswapd_runs_only_when_woken():
    m, t = _cex()
    assert not any(a.kind == KSWAPD for a in m.actions(t.init))
    last = t.states[-1]
    ks = [(a, n, e) for a, n, e in m.successors(last) if a.kind == KSWAPD]
    # running balance_pgdat: one step per choice of the page it reclaims (LRU pages only:
    # the movable pages of pageblocks 1 and 2)
    assert [a.victims for a, _, _ in ks] == [((0, 1, GFP_HIGHUSER_MOVABLE),),
                                             ((0, 2, GFP_HIGHUSER_MOVABLE),)]
    for _, n, e in ks:
        assert "balance_pgdat" in e.paths and n.zones[0].nr_free == 6
