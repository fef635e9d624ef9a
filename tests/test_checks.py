"""The debate checks (checks/utilization.py, reclaim.py, lowmem.py, blockdev.py): verdict per
design at the scope `tiny` equals the expectation recorded there, every witness is reached,
every counterexample replays and really violates, and the --no-fair (highest-zone-first)
outcomes that the utilization claims depend on, at `tiny` and at the default scope. (The
default scope's verdicts against its expectations: tests/test_docs.py.)"""

import pytest

from mmspec import registry
from mmspec.check import Verdict, effective_scope
from mmspec.explore import explore
from mmspec.models.migrate_cma import MigrateCma
from mmspec.models.zone_cma import ZoneCma
from mmspec.scope import default_scope, load_scope, named_scopes
from mmspec.trace import replay

SCOPE_TINY = load_scope(named_scopes()["tiny"])
#: the two scopes the --no-fair and fill-order tests pin
SCOPES = [pytest.param(SCOPE_TINY, id="tiny"), pytest.param(default_scope(), id="default")]
NAMES = ("kswapd_reclaims_while_cma_idle", "movable_bypasses_idle_cma",
         "utilization_oscillation", "unmovable_reclaim_frees_cma",
         "unmovable_pressure_while_half_free", "blockdev_in_cma")


@pytest.fixture(scope="module")
def results():
    checks = registry.get_checks(NAMES)
    out = {}
    for d, cap in ((MigrateCma, 12000), (ZoneCma, 75000)):     # 5986 and 36588 states
        m = d(SCOPE_TINY)
        out[d.name] = (m, explore(m, checks, max_states=cap))
        assert out[d.name][1].stats.complete
    return out


@pytest.mark.parametrize("design", ["migrate_cma", "zone_cma"])
@pytest.mark.parametrize("name", NAMES)
def test_verdict_matches_expectation(results, design, name):
    m, r = results[design]
    cell = r.cell(name)
    assert registry.expected_verdict(type(m), cell.check, SCOPE_TINY) == cell.verdict
    assert cell.witness_count > 0 and cell.witness_trace is not None
    for p in cell.check.needs:
        assert p in dict(r.coverage), p


def test_pinned_verdicts(results):
    got = {(d, n): results[d][1].cell(n).verdict.value for d in results for n in NAMES}
    V, H = "VIOLATED", "HOLDS"
    assert got == {
        ("migrate_cma", "kswapd_reclaims_while_cma_idle"): V, ("zone_cma", "kswapd_reclaims_while_cma_idle"): V,
        ("migrate_cma", "movable_bypasses_idle_cma"): V, ("zone_cma", "movable_bypasses_idle_cma"): V,
        ("migrate_cma", "utilization_oscillation"): V, ("zone_cma", "utilization_oscillation"): V,
        ("migrate_cma", "unmovable_reclaim_frees_cma"): V, ("zone_cma", "unmovable_reclaim_frees_cma"): H,
        ("migrate_cma", "unmovable_pressure_while_half_free"): V,
        ("zone_cma", "unmovable_pressure_while_half_free"): V,
        ("migrate_cma", "blockdev_in_cma"): V, ("zone_cma", "blockdev_in_cma"): H,
    }


@pytest.mark.parametrize("design", ["migrate_cma", "zone_cma"])
def test_counterexamples_replay_and_violate(results, design):
    m, r = results[design]
    for name in NAMES:
        cell = r.cell(name)
        if cell.verdict != Verdict.VIOLATED or cell.check.name == "utilization_oscillation":
            continue
        tr = cell.trace
        again = replay(m, tr.init, tr.actions, [s.state for s in tr.steps])
        pre = again.states[-2]
        last = again.steps[-1]
        assert cell.check.violated_by(m, pre, last.action, last.effect, last.state)
        # shortest: no proper prefix violates
        for i, st in enumerate(again.steps[:-1]):
            assert not cell.check.violated_by(m, again.states[i], st.action, st.effect, st.state)


def test_shortest_lengths(results):
    m, r = results["migrate_cma"]
    assert len(r.cell("movable_bypasses_idle_cma").trace) == 1
    assert len(r.cell("unmovable_reclaim_frees_cma").trace) == 8
    assert len(r.cell("blockdev_in_cma").trace) == 6
    assert len(r.cell("kswapd_reclaims_while_cma_idle").trace) == 5


@pytest.mark.parametrize("scope", SCOPES)
def test_no_fair_zone_cma_uses_cma_first(scope):
    """Joonsoo's side of C1-C3 under highest-zone-first (v4.8 order): movable requests never
    bypass an idle ZONE_CMA and the oscillation lasso disappears; the safety variant of C1
    still has a trace (frees can empty ZONE_CMA after movable pages went to Normal)."""
    sc = scope.with_changes(fair_zone_policy=False)
    m = ZoneCma(sc)
    r = explore(m, registry.get_checks(NAMES[:3]), max_states=65000)   # 2885 / 32241 states
    assert r.stats.complete
    assert r.cell("movable_bypasses_idle_cma").verdict == Verdict.HOLDS
    assert r.cell("movable_bypasses_idle_cma").witness_count > 0
    assert r.cell("utilization_oscillation").verdict == Verdict.HOLDS
    assert r.cell("utilization_oscillation").witness_count > 0
    assert r.cell("kswapd_reclaims_while_cma_idle").verdict == Verdict.VIOLATED


@pytest.mark.parametrize("scope", SCOPES)
def test_no_fair_migrate_cma_still_oscillates(scope):
    sc = scope.with_changes(fair_zone_policy=False)
    m = MigrateCma(sc)
    r = explore(m, registry.get_checks(["utilization_oscillation"]), max_states=275000)
    assert r.stats.complete                                             # 4872 / 136564 states
    cell = r.cell("utilization_oscillation")
    assert cell.verdict == Verdict.VIOLATED and cell.trace.loop_start is not None


# ------------------------------------------------------------------------------------------
# Coverage: pinned counts on a tiny scope, needs declared, INCONCLUSIVE on a missing path.

import io  # noqa: E402

from mmspec.cli import build_parser, main, scope_from_args  # noqa: E402

TINY = ["--pageblocks", "Normal=U,M,C", "--limit", "GFP_ATOMIC=1", "--limit", "GFP_KERNEL=1",
        "--limit", "GFP_HIGHUSER_MOVABLE=1", "--limit", "BLOCKDEV=0"]


def test_coverage_counts_tiny_scope():
    sc = scope_from_args(build_parser().parse_args(["scope", *TINY]))
    got = {}
    for d in (MigrateCma, ZoneCma):
        r = explore(d(sc), registry.get_checks(None))
        got[d.name] = (r.stats.distinct, dict(r.coverage))
    assert got["migrate_cma"] == (31, {
        "after direct reclaim: Normal": 4, "balance_pgdat": 8, "direct reclaim": 4,
        "fast path: Normal": 26, "kswapd nap": 8, "kswapd premature sleep": 4,
        "kswapd reclaim": 4, "kswapd sleeps": 4, "reset_alloc_batches": 47, "slow path": 24,
        "slow path: Normal": 20, "wakeup_kswapd": 18})
    assert got["zone_cma"] == (61, {
        "after direct reclaim: Normal": 2, "balance_pgdat": 28, "direct reclaim": 2,
        "fast path: Normal": 37, "kswapd nap": 28, "kswapd premature sleep": 2,
        "kswapd reclaim": 16, "kswapd sleeps": 12, "reset_alloc_batches": 86, "slow path": 71,
        "slow path: CMA": 29, "slow path: Normal": 40, "wakeup_kswapd": 44})


def test_opt_in_checks_run_at_the_same_scope_from_tiny_and_default():
    """Every opt-in check's overrides set the request limits `tiny` and the default differ
    in, so it runs at the same scope from either, and the verdicts recorded for both are
    the same (the default's tables for cma_alloc and page_age, `compaction` for compaction)."""
    opt_in = [c for c in registry.checks(include_opt_in=True) if c.scope]
    assert {"compaction_empties_unusable_cma", "cma_alloc_no_ebusy",
            "page_age_inversion"} <= {c.name for c in opt_in}
    for ck in opt_in:
        assert effective_scope(SCOPE_TINY, ck) == effective_scope(default_scope(), ck), ck.name
        for d in registry.designs():
            exp = registry.expected_verdict(d, ck)
            assert exp is not None and registry.expected_verdict(d, ck, SCOPE_TINY) == exp, (
                d.name, ck.name)


def test_every_debate_check_declares_needs():
    for ck in registry.get_checks(NAMES):
        assert ck.needs, ck.name


def test_missing_path_makes_compare_inconclusive():
    out, err = io.StringIO(), io.StringIO()
    code = main(["compare", "--design", "zone_cma", "--check", "unmovable_reclaim_frees_cma",
                 "--no-traces", *TINY, "--limit", "GFP_KERNEL=0"], out, err)
    assert code == 3
    assert "INCONCLUSIVE (path)" in out.getvalue()


@pytest.mark.parametrize("scope, distinct", [pytest.param(SCOPE_TINY, 14701, id="tiny"),
                                             pytest.param(default_scope(), 33611, id="default")])
def test_mels_fill_order_variant(scope, distinct):
    """C6, contested: with movable requests filling Normal before ZONE_CMA (no fair policy)
    the atomic failure is still unreachable, at `tiny` and at the default scope."""
    from mmspec.models.zone_cma_cma_last import ZoneCmaCmaLast
    from mmspec.vocab import GFP_HIGHUSER_MOVABLE, ZoneType
    m = ZoneCmaCmaLast(scope)
    assert [m.ztype[p] for p in m._zonelist[GFP_HIGHUSER_MOVABLE]] == [
        ZoneType.ZONE_NORMAL, ZoneType.ZONE_CMA]
    assert not m.fair
    r = explore(m, registry.get_checks(["atomic_while_kswapd_sleeps", "movable_bypasses_idle_cma"]),
                max_states=2 * distinct)
    assert r.stats.complete and r.stats.distinct == distinct
    assert r.cell("atomic_while_kswapd_sleeps").verdict == Verdict.HOLDS
    assert r.cell("atomic_while_kswapd_sleeps").witness_count > 0
    assert len(r.cell("movable_bypasses_idle_cma").trace) == 1
