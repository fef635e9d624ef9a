"""The designs of issue 6 (models/*.py other than migrate_cma and zone_cma): pinned state
counts and verdicts at the scope `tiny` (the default until it grew), their sources, the
traces the issue asks for, and the verdicts that move between `tiny` and the default scope."""

from __future__ import annotations

import importlib
import re

import pytest

from mmspec import registry
from mmspec.check import Verdict
from mmspec.errors import TraceReplayError
from mmspec.explore import explore
from mmspec.kernel import Allocator
from mmspec.scope import default_scope, load_scope, named_scopes
from mmspec.trace import replay
from mmspec.vocab import ALLOC_CMA, GFP_ATOMIC, GFP_CLASSES, KswapdPhase, Migratetype

TINY = load_scope(named_scopes()["tiny"])
#: distinct states at the scope `tiny` (all designs explore the same memory and workload)
COUNTS = {
    "prefer_cma_v58": 6894,
    "should_try_cma": 11432,
    "joonsoo_2014": 9357,
    "migrate_cma_kswapd_fix": 4922,
    "cma_in_zone_movable": 36588,
    "sticky_movable": 9230,
}
DESIGNS = tuple(COUNTS)
#: the checks shipped before issue 6; every design must record a verdict for each
BASE_CHECKS = ("atomic_while_kswapd_sleeps", "page_conservation", "nr_free_cma_accounting",
               "no_unmovable_in_cma")

_cache: dict = {}


def _explored(name: str):
    if name not in _cache:
        d = registry.get_design(name)
        model = d(TINY)
        _cache[name] = (model, explore(model, registry.checks(), max_states=2 * COUNTS[name]))
    return _cache[name]


def _atomic(name: str, scope, cap: int):
    model = registry.get_design(name)(scope)
    ck = registry.get_checks(["atomic_while_kswapd_sleeps"])
    return model, explore(model, ck, max_states=cap)


def _limit(scope, cls: str, n: int):
    limits = list(scope.limits)
    limits[[c.name for c in GFP_CLASSES].index(cls)] = n
    return scope.with_changes(limits=tuple(limits))


def test_every_new_model_file_is_listed_here():
    shipped = {d.name for d in registry.designs()}
    assert set(DESIGNS) <= shipped
    for name in DESIGNS:
        d = registry.get_design(name)
        assert issubclass(d, Allocator) and d is not Allocator
        mod = importlib.import_module(f"mmspec.models.{name}")
        assert mod.DESIGN is d


@pytest.mark.parametrize("name", DESIGNS)
def test_state_count_and_verdicts_pinned(name):
    model, r = _explored(name)
    assert r.stats.complete
    assert r.stats.distinct == COUNTS[name]
    d = type(model)
    for ck in registry.get_checks(list(BASE_CHECKS)):
        for scope in (TINY, default_scope()):
            assert registry.expected_verdict(d, ck, scope) is not None, (
                "record a verdict", name, ck.name, scope)
    checked = 0
    for cell in r.cells:
        exp = registry.expected_verdict(d, cell.check, TINY)
        if exp is None:        # a check added after this design's verdicts were recorded
            continue
        assert cell.verdict == exp, (name, cell.check.name, cell.verdict)
        checked += 1
    assert checked >= len(BASE_CHECKS)


@pytest.mark.parametrize("name", DESIGNS)
def test_header_cites_source_and_kernel_version(name):
    d = registry.get_design(name)
    doc = importlib.import_module(f"mmspec.models.{name}").__doc__ or ""
    for section in ("Mechanism", "Source", "Abstractions"):
        assert re.search(rf"^{section}\s*$", doc, re.M), f"{name}: no {section} section"
    source = doc[doc.index("\nSource"):]
    cites = (re.search(r"<[^<>\s]+@[^<>\s]+>", source)            # mail Message-ID
             or re.search(r"\b[0-9a-f]{12}\b", source)             # commit
             or re.search(r'"\[PATCH[^"]*\]', source))             # patch title
    assert cites, f"{name}: header names no Message-ID, commit or patch title"
    assert re.search(r"\bv\d+\.\d+", source), f"{name}: header names no kernel version"
    assert d.source and d.title and d.name == name


def test_prefer_cma_v58_shows_the_2023_counterexample_pattern():
    """C17: with one more movable page than the scope `tiny`, a movable request takes an
    ordinary page while free CMA <= NR_FREE_PAGES // 2 and kswapd sleeps, and GFP_ATOMIC then
    fails; should_try_cma and the kswapd fix hold on the same scope."""
    scope = _limit(TINY, "GFP_HIGHUSER_MOVABLE", 4)
    model, r = _atomic("prefer_cma_v58", scope, 40000)        # 20672 states
    cell = r.cell("atomic_while_kswapd_sleeps")
    assert cell.verdict == Verdict.VIOLATED
    steps = cell.trace.steps
    assert len(steps) == 8
    last = steps[-1]
    assert last.action.cls == GFP_ATOMIC and not last.effect.ok
    prev_state = steps[-3].state if len(steps) >= 3 else cell.trace.init
    drain = steps[-2]
    pre = prev_state.zones[0]
    assert GFP_CLASSES[drain.action.cls].migratetype == Migratetype.MIGRATE_MOVABLE
    assert not pre.nr_free_cma > pre.nr_free // 2               # the v5.8 rule did not fire
    blk = drain.state.zones[drain.effect.zone].blocks[drain.effect.block]
    assert blk.mt == Migratetype.MIGRATE_MOVABLE                # ordinary memory drained
    assert drain.state.kswapd == KswapdPhase.SLEEPING
    z = drain.state.zones[0]
    assert z.nr_free - z.nr_free_cma < model.wm[0][0]           # non-CMA free below min
    assert z.nr_free_cma > 0
    for other in ("should_try_cma", "migrate_cma_kswapd_fix"):
        _, r2 = _atomic(other, scope, 30000)       # 15202 and 14830 states
        assert r2.stats.complete, other
        assert r2.cell("atomic_while_kswapd_sleeps").verdict == Verdict.HOLDS, other


def test_sticky_without_interleave_is_migrate_cma():
    scope = TINY.with_changes(extra=(("sticky_interleave", False),))
    sticky = registry.get_design("sticky_movable")(scope)
    r = explore(sticky, registry.get_checks(list(BASE_CHECKS)), max_states=12000)
    base = explore(registry.get_design("migrate_cma")(scope), registry.get_checks(list(BASE_CHECKS)),
                   max_states=12000)
    assert r.stats.distinct == base.stats.distinct == 5986
    assert [c.verdict for c in r.cells] == [c.verdict for c in base.cells]


def test_cma_in_zone_movable_layout_and_flags():
    m = registry.get_design("cma_in_zone_movable")(default_scope())
    assert [z.label for z in m.layout] == ["Normal", "Movable"]
    assert m.layout[1].blocks == (int(Migratetype.MIGRATE_CMA),) * 2
    assert m.layout[1].wmark == (1, 2, 3)          # the scope's [zones.CMA] table
    s = m.init_states()[0]
    assert s.zones[1].nr_free_cma == 4             # NR_FREE_CMA_PAGES kept
    for c in GFP_CLASSES:
        assert not m.fast_alloc_flags(c) & ALLOC_CMA and not m.slow_alloc_flags(c) & ALLOC_CMA
    # only GFP_HIGHUSER_MOVABLE reaches ZONE_MOVABLE; blockdev buffers stay in Normal (C14)
    assert m._zonelist[2] == (1, 0) and m._zonelist[3] == (0,)


@pytest.mark.parametrize("option,count", [("joonsoo_interleave", 4932),
                                          ("joonsoo_cma_never_counts", 7325)])
def test_joonsoo_switches(option, count):
    scope = TINY.with_changes(extra=((option, False),))
    r = explore(registry.get_design("joonsoo_2014")(scope),
                registry.get_checks(["atomic_while_kswapd_sleeps"]), max_states=2 * count)
    assert r.stats.complete and r.stats.distinct == count


#: the verdicts that move between `tiny` and the default scope (the models' expected
#: tables): (design, check, verdict at `tiny`, shortest counterexample at the default scope)
MOVED = [
    ("prefer_cma_v58", "atomic_while_kswapd_sleeps", Verdict.HOLDS, 8),       # C17
    ("sticky_movable", "atomic_while_kswapd_sleeps", Verdict.HOLDS, 8),       # C4 is back
    ("joonsoo_2014", "unmovable_reclaim_frees_cma", Verdict.VACUOUS, 7),      # C7
    ("joonsoo_2014", "unmovable_pressure_while_half_free", Verdict.HOLDS, 9),  # C11
]


@pytest.mark.parametrize("name, check, at_tiny, steps", MOVED,
                         ids=[f"{n}--{c}" for n, c, _, _ in MOVED])
def test_verdicts_that_move_with_the_bigger_default(name, check, at_tiny, steps):
    """At `tiny` the cell is as recorded there; at the default scope it is VIOLATED, and its
    shortest counterexample needs the default's larger workload (it does not replay at
    `tiny`: some request class exceeds tiny's limit)."""
    d = registry.get_design(name)
    ck = registry.get_checks([check])
    tiny = explore(d(TINY), ck, max_states=2 * COUNTS[name])
    assert tiny.stats.complete and tiny.cells[0].verdict == at_tiny
    assert registry.expected_verdict(d, ck[0], TINY) == at_tiny
    model = d(default_scope())
    cell = explore(model, ck, max_states=420000).cells[0]    # 2x the largest design's 209622
    assert cell.verdict == Verdict.VIOLATED and len(cell.trace) == steps
    assert registry.expected_verdict(d, ck[0]) == Verdict.VIOLATED
    tr = cell.trace
    assert replay(model, tr.init, tr.actions).states == tr.states
    with pytest.raises(TraceReplayError, match="not enabled"):
        replay(d(TINY), tr.init, tr.actions)
