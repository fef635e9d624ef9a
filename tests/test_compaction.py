"""High-order requests and v4.6 direct compaction (kernel.py section "High-order requests and
direct compaction", docs/semantics.md section 11), the check compaction_empties_unusable_cma
(checks/compaction.py, claims C9/C10) and the design migrate_cma_compaction_skip."""

from __future__ import annotations

import io
import os

import pytest

from mmspec import registry
from mmspec.check import Verdict, effective_scope
from mmspec.cli import main
from mmspec.errors import TraceReplayError
from mmspec.explore import explore
from mmspec.models.migrate_cma import MigrateCma
from mmspec.models.migrate_cma_compaction_skip import MigrateCmaCompactionSkip
from mmspec.models.zone_cma import ZoneCma
from mmspec.scope import default_scope, load_scope
from mmspec.state import ALLOC, FREE, Action, Block, State, Zone
from mmspec.trace import replay
from mmspec.vocab import GFP_CLASSES, GFP_HIGHUSER_MOVABLE, KERNEL_HIGH, Migratetype

NAME = "compaction_empties_unusable_cma"
U, M, C = (int(Migratetype.MIGRATE_UNMOVABLE), int(Migratetype.MIGRATE_MOVABLE),
           int(Migratetype.MIGRATE_CMA))
NC = len(GFP_CLASSES)
SCOPE_FILE = os.path.join(os.path.dirname(__file__), "..", "scopes", "compaction.toml")


def _check():
    return registry.get_checks([NAME])[0]


def _scope():
    return effective_scope(default_scope(), _check())


@pytest.fixture(scope="module")
def results():
    ck = _check()
    sc = _scope()
    out = {}
    for d in (MigrateCma, ZoneCma, MigrateCmaCompactionSkip):
        m = d(sc)
        out[d.name] = (m, explore(m, [ck], max_states=230000))   # <= 111456 states
    return out


# ------------------------------------------------------------------------------------------
# The check: verdicts, witnesses, the counterexample.

def test_check_is_opt_in_and_scope_file_matches():
    assert NAME not in {c.name for c in registry.checks()}
    assert NAME in {c.name for c in registry.checks(include_opt_in=True)}
    assert load_scope(SCOPE_FILE) == _scope()
    assert effective_scope(load_scope(SCOPE_FILE), _check()) == _scope()


@pytest.mark.parametrize("design", ["migrate_cma", "zone_cma", "migrate_cma_compaction_skip"])
def test_verdict_matches_expectation(results, design):
    m, r = results[design]
    cell = r.cell(NAME)
    assert r.stats.complete
    assert registry.expected_verdict(type(m), cell.check) == cell.verdict
    assert cell.witness_count > 0 and cell.witness_trace is not None
    assert "direct compaction" in dict(r.coverage)


def test_pinned_verdicts_and_counts(results):
    got = {d: (results[d][1].cell(NAME).verdict, results[d][1].stats.distinct) for d in results}
    assert got == {"migrate_cma": (Verdict.VIOLATED, 111456),
                   "zone_cma": (Verdict.HOLDS, 27378),
                   "migrate_cma_compaction_skip": (Verdict.HOLDS, 111456)}
    # the skip design still compacts (it migrates MOVABLE pageblocks' pages)
    cov = dict(results["migrate_cma_compaction_skip"][1].coverage)
    assert cov["compaction: migrate page"] > 0 and cov["compaction success"] > 0
    assert "compaction empties a CMA pageblock" not in cov


def test_counterexample_replays_and_empties_a_cma_pageblock(results):
    m, r = results["migrate_cma"]
    tr = r.cell(NAME).trace
    assert len(tr) == 16
    again = replay(m, tr.init, tr.actions, [s.state for s in tr.steps])
    assert again.states == tr.states
    pre, post = tr.states[-2], tr.states[-1]
    a = tr.actions[-1]
    assert a.kind == ALLOC and a.cls == KERNEL_HIGH and a.order == 1
    emptied = [b for b, (x, y) in enumerate(zip(pre.zones[0].blocks, post.zones[0].blocks))
               if y.mt == C and y.free == 2 and x.free < 2]
    assert emptied, "a CMA pageblock that held a page ends entirely free"
    ns, eff = m.step(pre, a)
    assert ns == post and "compaction empties a CMA pageblock" in eff.paths


# ------------------------------------------------------------------------------------------
# Hand-built states: one compaction step.

def _state(model, blocks):
    """A one-zone state with the given (mt, free, {class: n}) pageblocks, kswapd asleep."""
    bl = []
    for mt, free, held in blocks:
        h = [0] * NC
        for ci, n in held.items():
            h[ci] = n
        bl.append(Block(mt, free, tuple(h)))
    nf = sum(b.free for b in bl)
    nfc = sum(b.free for b in bl if b.mt == C)
    s0 = model.init_states()[0]
    return s0._replace(zones=(Zone(nf, nfc, 0, False, tuple(bl)),))


MV = GFP_HIGHUSER_MOVABLE
#: Joonsoo's picture in 2-page pageblocks: C0 holds a movable page, C1 is free, the five
#: MOVABLE pageblocks have one free page each.
JOONSOO = [(C, 1, {MV: 1}), (C, 2, {}), (M, 1, {MV: 1}), (M, 1, {MV: 1}), (M, 1, {MV: 1}),
           (M, 1, {MV: 1}), (M, 1, {MV: 1})]


def test_compaction_step_v46_migrates_out_of_cma():
    m = MigrateCma(_scope())
    s = _state(m, JOONSOO)
    ns, eff, log = m.explain(s, Action(ALLOC, KERNEL_HIGH, 1))
    blocks = ns.zones[0].blocks
    # migration scanner from pfn 0: C0's page goes to the free scanner's first target (the
    # last MOVABLE pageblock), then M2's page to M5; M2 is free and stolen by the request
    assert [(b.mt, b.free) for b in blocks] == [(C, 2), (C, 2), (U, 0), (M, 1), (M, 1),
                                                (M, 0), (M, 0)]
    assert blocks[2].held[KERNEL_HIGH] == 2
    assert eff.ok and "compaction empties a CMA pageblock" in eff.paths
    assert ns.zones[0].nr_free == 6 and ns.zones[0].nr_free_cma == 4
    assert any("fragmentation_index -1000" in line for line in log)


def test_compaction_step_skip_design_leaves_cma_alone():
    m = MigrateCmaCompactionSkip(_scope())
    s = _state(m, JOONSOO)
    ns, eff = m.step(s, Action(ALLOC, KERNEL_HIGH, 1))
    blocks = ns.zones[0].blocks
    assert blocks[0] == s.zones[0].blocks[0]          # C0 keeps its movable page
    assert [(b.mt, b.free) for b in blocks] == [(C, 1), (C, 2), (U, 0), (M, 1), (M, 1),
                                                (M, 1), (M, 0)]
    assert eff.ok and "compaction empties a CMA pageblock" not in eff.paths


def test_compaction_suitable_order0_test_excludes_free_cma():
    # only four free non-CMA pages: free - free_cma = 4 <= low 0 + 2**(1+1) -> skipped
    m = MigrateCma(_scope())
    s = _state(m, JOONSOO[:2] + [(M, 0, {MV: 2})] + JOONSOO[3:])
    # compaction skipped, so direct reclaim runs (it frees pageblock 6's page) and the
    # request steals the now free MOVABLE pageblock 6
    ns, eff, log = m.explain(s, Action(ALLOC, KERNEL_HIGH, 1, victims=((0, 6, MV),)))
    assert "compaction: migrate page" not in eff.paths and "direct reclaim" in eff.paths
    assert eff.ok and eff.block == 6
    assert any("COMPACT_SKIPPED" in line for line in log)


def test_fragmentation_index_formula():
    m = MigrateCma(_scope())
    from mmspec.kernel import _Work
    w = _Work(_state(m, [(M, 1, {MV: 1})] * 7), (), None)
    # 7 free order-0 blocks, order 1: 1000 - (1000 + 7000 // 2) // 7 = 1000 - 642 = 358
    assert m.fragmentation_index(w, 0, 1) == 358
    w = _Work(_state(m, JOONSOO), (), None)
    assert m.fragmentation_index(w, 0, 1) == -1000
    w = _Work(_state(m, [(M, 0, {MV: 2})] * 7), (), None)
    assert m.fragmentation_index(w, 0, 1) == 0


def test_no_compaction_without_gfp_fs_io_or_at_order0():
    m = MigrateCma(_scope())
    from mmspec.kernel import _Work
    w = _Work(_state(m, JOONSOO), (), None)
    assert m.direct_compact(w, GFP_HIGHUSER_MOVABLE, 0, 0, False) == (-1, -1)
    assert not w.paths


# ------------------------------------------------------------------------------------------
# High-order allocation and free.

def test_high_order_alloc_and_free_whole_block():
    sc = default_scope()
    limits = list(sc.limits)
    limits[KERNEL_HIGH] = 1
    from mmspec.scope import parse_scope
    import tomllib
    data = tomllib.loads(sc.to_toml())
    data["requests"]["KERNEL_HIGH"] = 1
    sc = parse_scope(data)
    assert sc.orders == (0, 1) and sc.limits[KERNEL_HIGH] == 1
    m = MigrateCma(sc)
    s0 = m.init_states()[0]
    acts = m.actions(s0)
    assert Action(ALLOC, KERNEL_HIGH, 1) in acts
    s1, eff = m.step(s0, Action(ALLOC, KERNEL_HIGH, 1))
    assert eff.ok
    z = s1.zones[0]
    assert z.nr_free == s0.zones[0].nr_free - 2
    b = z.blocks[eff.block]
    assert b.held[KERNEL_HIGH] == 2 and b.free == 0 and b.mt == U
    # one allocation held: the limit counts allocations for a high-order class
    assert not any(a.kind == ALLOC and a.cls == KERNEL_HIGH for a in m.actions(s1))
    frees = [a for a in m.actions(s1) if a.kind == FREE and a.cls == KERNEL_HIGH]
    assert frees == [Action(FREE, KERNEL_HIGH, 1, 0, eff.block)]
    with pytest.raises(TraceReplayError):
        m.step(s1, Action(FREE, KERNEL_HIGH, 0, 0, eff.block))
    s2, _ = m.step(s1, frees[0])
    assert s2.zones[0].blocks[eff.block] == s0.zones[0].blocks[eff.block]
    assert s2.zones[0].nr_free == s0.zones[0].nr_free
    assert "order=1" in m.describe(frees[0])


def test_order0_scope_counts_unchanged():
    """Without high-order requests the compaction machinery adds no state (counts at `tiny`)."""
    checks = registry.get_checks(["atomic_while_kswapd_sleeps"])
    tiny = load_scope(os.path.join(os.path.dirname(SCOPE_FILE), "tiny.toml"))
    for d, n in ((MigrateCma, 5986), (MigrateCmaCompactionSkip, 5986), (ZoneCma, 36588)):
        r = explore(d(tiny), checks, max_states=2 * n)
        assert r.stats.complete and r.stats.distinct == n, d.name


def test_skip_design_default_scope_expectations():
    out, err = io.StringIO(), io.StringIO()
    code = main(["compare", "--design", "migrate_cma_compaction_skip", "--no-traces",
                 "--max-states", "410000"], out, err)                   # 203560 states
    assert code == 0, out.getvalue()
    assert "Every verdict is as expected." in out.getvalue()


def test_compare_runs_the_check_at_its_scope():
    out, err = io.StringIO(), io.StringIO()
    code = main(["compare", "--design", "zone_cma", "--check", NAME, "--no-traces",
                 "--max-states", "55000"], out, err)                    # 27378 states
    assert code == 0, out.getvalue() + err.getvalue()
    assert "HOLDS w=2080" in out.getvalue()
