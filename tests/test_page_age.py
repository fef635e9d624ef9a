"""Page ages and the page-age inversion check (claim C12; docs/semantics.md section 10)."""

from __future__ import annotations

from mmspec import registry
from mmspec.check import Verdict, effective_scope
from mmspec.explore import explore
from mmspec.scope import default_scope


def _run(design: str, check: str):
    ck = registry.get_checks([check])[0]
    m = registry.get_design(design)(effective_scope(default_scope(), ck))
    return m, explore(m, [ck], max_states=32000).cells[0]    # <= 15558 states


def test_inversion_found_without_fair_policy_zone_cma():
    m, cell = _run("zone_cma", "page_age_inversion")
    assert not m.scope.fair_zone_policy and m.scope.page_age
    assert cell.verdict == Verdict.VIOLATED and cell.witness_count > 0
    last = cell.trace.steps[-1]
    pre = m.lru_pages(cell.trace.states[-2])
    post = m.lru_pages(cell.trace.states[-1])
    v = last.action.victims[0]
    i = pre.index(v)
    assert any(e[0] != v[0] for e in pre[:i])     # an older page of another zone survives
    assert v not in post or post.count(v) < pre.count(v)


def test_fair_policy_recorded():
    m, cell = _run("zone_cma", "page_age_inversion_fair")
    assert m.scope.fair_zone_policy
    assert cell.verdict == registry.expected_verdict(type(m), cell.check) == Verdict.VIOLATED


def test_single_zone_is_vacuous():
    _, cell = _run("migrate_cma", "page_age_inversion_fair")
    assert cell.verdict == Verdict.VACUOUS


def test_reclaim_takes_oldest_page_of_zone():
    m, cell = _run("zone_cma", "page_age_inversion")
    seen = 0
    for pre, st in zip(cell.trace.states, cell.trace.steps):
        for v in st.action.victims:
            assert v == next(e for e in m.lru_pages(pre) if e[0] == v[0])
            seen += 1
    assert seen


def test_lru_tracks_lru_pages_only_when_on():
    sc = default_scope()
    m = registry.get_design("zone_cma")(sc)
    s = m.init_states()[0]
    for a, t, _ in m.successors(s):
        assert t.lru == () and t.pins == () and t.cma == ()
    m2 = registry.get_design("zone_cma")(sc.with_changes(page_age=True))
    lrus = {m2.lru_pages(t) for _, t, _ in m2.successors(m2.init_states()[0])}
    assert any(lrus) and all(all(m2.classes[c].lru for _, _, c in l) for l in lrus)
