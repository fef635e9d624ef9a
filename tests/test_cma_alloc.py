"""cma_alloc with pinned blockdev pages (claim C19; docs/semantics.md section 10)."""

from __future__ import annotations

import io
import json

import pytest

from mmspec import registry
from mmspec.check import Verdict, effective_scope
from mmspec.cli import main
from mmspec.errors import ScopeError, TraceReplayError
from mmspec.explore import explore
from mmspec.scope import default_scope, load_scope, named_scopes
from mmspec.state import CMA_ALLOC, CMA_RELEASE, PIN, UNPIN, Action, Block
from mmspec.trace import action_from_json, action_to_json, replay
from mmspec.vocab import BLOCKDEV_BUFFER, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, Migratetype

CHECKS = ["cma_alloc_no_ebusy", "cma_alloc_never_fails"]
C = int(Migratetype.MIGRATE_CMA)


def _scoped(design: str):
    ck = registry.get_checks(CHECKS)
    sc = effective_scope(default_scope(), ck[0])
    assert all(effective_scope(default_scope(), c) == sc for c in ck)
    m = registry.get_design(design)(sc)
    return m, explore(m, ck, max_states=2500)        # 1054 / 1010 states


@pytest.fixture(scope="module")
def results():
    return {d: _scoped(d) for d in ("migrate_cma", "zone_cma")}


def test_feature_off_counts_unchanged():
    assert not any((default_scope().pin_blockdev, default_scope().cma_alloc_pageblocks,
                    default_scope().page_age))
    sc = load_scope(named_scopes()["tiny"])
    assert not sc.pin_blockdev and not sc.cma_alloc_pageblocks and not sc.page_age
    for design, n in (("migrate_cma", 5986), ("zone_cma", 36588)):     # the counts at `tiny`
        r = explore(registry.get_design(design)(sc), [], max_states=2 * n)
        assert r.stats.complete and r.stats.distinct == n


def test_opt_in_checks_not_in_default_set():
    names = {c.name for c in registry.checks()}
    assert not names & set(CHECKS)
    assert {c.name for c in registry.checks(include_opt_in=True)} >= set(CHECKS)


def test_migrate_cma_counterexample_pinned_blockdev(results):
    m, r = results["migrate_cma"]
    cell = r.cell("cma_alloc_no_ebusy")
    assert cell.verdict == Verdict.VIOLATED
    tr = cell.trace
    last = tr.steps[-1]
    assert last.action.kind == CMA_ALLOC and not last.effect.ok
    assert "cma_alloc: -EBUSY" in last.effect.paths
    pre = tr.states[-2]
    # a pinned blockdev buffer page sits in a MIGRATE_CMA pageblock
    assert any(pre.zones[p].blocks[b].mt == C and pre.zones[p].blocks[b].held[BLOCKDEV_BUFFER]
               for p, b in m.pinned_pages(pre))
    assert any(st.action.kind == PIN for st in tr.steps)
    assert registry.expected_verdict(type(m), cell.check) == Verdict.VIOLATED


def test_zone_cma_holds_with_witness(results):
    m, r = results["zone_cma"]
    cell = r.cell("cma_alloc_no_ebusy")
    assert cell.verdict == Verdict.HOLDS and cell.witness_count > 0
    assert dict(r.coverage).get("cma_alloc: -EBUSY") is None
    assert dict(r.coverage).get("cma_alloc: success", 0) > 0
    # what the model shows: -ENOMEM failures (targets confined to ZONE_NORMAL)
    nf = r.cell("cma_alloc_never_fails")
    assert nf.verdict == Verdict.VIOLATED
    assert "cma_alloc: -ENOMEM" in nf.trace.steps[-1].effect.paths


def _hand_state(m, blocks, pins=()):
    """The initial state with Normal's pageblocks replaced (counters recomputed)."""
    s = m.init_states()[0]
    z = s.zones[0]
    nb = tuple(Block(mt, free, tuple(held)) for mt, free, held in blocks)
    z = z._replace(blocks=nb, nr_free=sum(b.free for b in nb),
                   nr_free_cma=sum(b.free for b in nb if b.mt == C))
    return s._replace(zones=(z,) + s.zones[1:], pins=m.pin_counts(pins))


def _held(n, **kw):
    h = [0] * n
    for k, v in kw.items():
        h[{"movable": GFP_HIGHUSER_MOVABLE, "blockdev": BLOCKDEV_BUFFER, "kernel": GFP_KERNEL}[k]] = v
    return h


def test_unit_cma_alloc_migrates_movable_page():
    m, _ = _scoped_model("migrate_cma")
    n = len(m.classes)
    s = _hand_state(m, [(0, 2, _held(n)), (1, 2, _held(n)), (C, 1, _held(n, movable=1)),
                        (C, 2, _held(n))])
    ns, eff = m.step(s, Action(CMA_ALLOC))
    assert eff.ok and (eff.zone, eff.block) == (0, 2)      # first fit: pageblock 2
    z = ns.zones[0]
    assert z.blocks[2] == Block(C, 0, tuple(_held(n)))     # held by the CMA allocation
    assert z.blocks[1].held[GFP_HIGHUSER_MOVABLE] == 1     # migrated to the MOVABLE pageblock
    assert z.nr_free == s.zones[0].nr_free - 1 - 1         # 1 free in the range + 1 target
    assert z.nr_free_cma == 2 and m.cma_ranges(ns) == (((0, 2),),)
    back, eff2 = m.step(ns, Action(CMA_RELEASE, -1, 0, 0, 2))
    assert eff2.ok and back.zones[0].blocks[2].free == 2 and m.cma_ranges(back) == ()
    assert back.zones[0].nr_free_cma == 4


def test_unit_pinned_page_gives_ebusy_then_next_position():
    m, _ = _scoped_model("migrate_cma")
    n = len(m.classes)
    s = _hand_state(m, [(0, 2, _held(n)), (1, 2, _held(n)), (C, 1, _held(n, blockdev=1)),
                        (C, 2, _held(n))], pins=[(0, 2)])
    ns, eff = m.step(s, Action(CMA_ALLOC))
    assert eff.ok and (eff.zone, eff.block) == (0, 3)      # -EBUSY at 2, retried at 3
    assert "cma_alloc: -EBUSY" in eff.paths
    assert ns.zones[0].blocks[2] == s.zones[0].blocks[2]   # isolation undone
    # both positions busy: failure, nothing allocated
    s2 = _hand_state(m, [(0, 2, _held(n)), (1, 2, _held(n)), (C, 1, _held(n, blockdev=1)),
                         (C, 1, _held(n, kernel=1))], pins=[(0, 2)])
    ns2, eff2 = m.step(s2, Action(CMA_ALLOC))
    assert not eff2.ok and ns2 == s2
    # unpinned: the buffer page migrates and the first position succeeds
    ns3, eff3 = m.step(s2._replace(pins=m.pin_counts(())), Action(CMA_ALLOC))
    assert eff3.ok and (eff3.zone, eff3.block) == (0, 2)


def test_unit_pinned_page_is_not_freed_or_reclaimed():
    m, _ = _scoped_model("migrate_cma")
    n = len(m.classes)
    s = _hand_state(m, [(0, 2, _held(n)), (1, 2, _held(n)), (C, 1, _held(n, blockdev=1)),
                        (C, 2, _held(n))], pins=[(0, 2)])
    acts = m.actions(s)
    assert Action("free", BLOCKDEV_BUFFER, 0, 0, 2) not in acts
    assert Action(UNPIN, BLOCKDEV_BUFFER, 0, 0, 2) in acts
    with pytest.raises(TraceReplayError):
        m.step(s, Action("free", BLOCKDEV_BUFFER, 0, 0, 2))


def _scoped_model(design):
    ck = registry.get_checks(CHECKS[:1])[0]
    return registry.get_design(design)(effective_scope(default_scope(), ck)), ck


def test_itf_and_replay_roundtrip(results, tmp_path):
    m, r = results["migrate_cma"]
    tr = r.cell("cma_alloc_no_ebusy").trace
    acts = [action_from_json(json.loads(json.dumps(action_to_json(a)))) for a in tr.actions]
    assert acts == list(tr.actions)
    assert replay(m, tr.init, acts).states == tr.states
    out, err = io.StringIO(), io.StringIO()
    p = tmp_path / "t.json"
    code = main(["check", "--design", "migrate_cma", "--check", "cma_alloc_no_ebusy",
                 "--json", str(p)], out=out, err=err)
    assert code == 1
    doc = json.loads(p.read_text())
    assert "pins" in doc["vars"] and doc["states"][-1]["action"]["kind"] == "cma_alloc"
    assert "pinned under I/O" in out.getvalue() and "-EBUSY" in out.getvalue()


def test_scope_validation():
    ck = registry.get_checks(CHECKS[:1])[0]
    sc = effective_scope(default_scope(), ck)
    assert "cma_alloc_pageblocks = 1" in sc.to_toml() and "pin_blockdev = true" in sc.to_toml()
    with pytest.raises(ScopeError):
        registry.get_design("migrate_cma")(sc.with_changes(cma_alloc_pageblocks=3)).cma_windows()
    err = io.StringIO()
    assert main(["scope"], out=io.StringIO(), err=err) == 0
    from mmspec.scope import parse_scope
    import tomllib
    data = tomllib.loads(default_scope().to_toml())
    data["pin_blockdev"] = 1
    with pytest.raises(ScopeError):
        parse_scope(data)
