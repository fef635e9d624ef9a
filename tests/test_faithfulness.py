"""Rules corrected after review (issue 12), each shown on a hand-built state and on the
state space it changes."""

from __future__ import annotations

from mmspec import explore, get_design
from mmspec.check import effective_scope
from mmspec.registry import get_checks
from mmspec.scope import load_scope, named_scopes
from mmspec.state import KSWAPD, Action, Block, State, Zone
from mmspec.vocab import BLOCKDEV_BUFFER, GFP_KERNEL, KswapdPhase, Migratetype

U, M, C = (int(Migratetype.MIGRATE_UNMOVABLE), int(Migratetype.MIGRATE_MOVABLE),
           int(Migratetype.MIGRATE_CMA))
RUNNING, NAPPING = int(KswapdPhase.RUNNING), int(KswapdPhase.NAPPING)


def _pin_scope():
    """The cma_alloc checks' scope (pins on): Normal = U, M, C, C; watermarks 2/3/4."""
    tiny = load_scope(named_scopes()["tiny"])
    return effective_scope(tiny, get_checks(["cma_alloc_no_ebusy"])[0])


def _held(**by_class):
    h = [0] * 6
    for ci, n in by_class.items():
        h[ci] = n
    return tuple(h)


def test_a_zone_whose_lru_pages_are_all_pinned_is_unreclaimable():
    """v4.6 zone_reclaimable(): NR_PAGES_SCANNED < 6 x reclaimable pages. kswapd's passes
    over a zone whose only LRU page is a pinned blockdev buffer reclaim nothing, so the
    counter crosses the limit, the zone counts as balanced and kswapd goes to sleep. Before
    the fix the model took "has LRU pages" for reclaimable and kswapd stayed in
    balance_pgdat for ever."""
    m = get_design("migrate_cma")(_pin_scope())
    init = m.init_states()[0]
    z = init.zones[0]
    blocks = (Block(U, 1, _held_k()),
              Block(M, 1, _held_b()), Block(C, 2, _held()), Block(C, 2, _held()))
    zone = Zone(6, 4, z.alloc_batch, z.fair_depleted, blocks)
    s = init._replace(zones=(zone,), kswapd=RUNNING, pins=m.pin_counts(((0, 1),)))
    assert not m.zone_balanced(_work(s), 0, 0, False, 0, 2)     # free 6 - free_cma 4 <= high
    t, eff = m.step(s, Action(KSWAPD))
    assert "kswapd reclaim" not in eff.paths
    assert t.kswapd == NAPPING


def _held_k():
    h = [0] * 6
    h[GFP_KERNEL] = 1
    return tuple(h)


def _held_b():
    h = [0] * 6
    h[BLOCKDEV_BUFFER] = 1
    return tuple(h)


def _work(s: State):
    from mmspec.kernel import _Work
    return _Work(s, (), None)


def test_pinned_scope_lets_kswapd_sleep_and_keeps_the_verdicts():
    """At the cma_alloc checks' scope the correction makes reachable a kswapd step that
    naps with the zone below its high watermark because its only LRU pages are pinned; the
    checks' verdicts stay as recorded."""
    sc = _pin_scope()
    m = get_design("migrate_cma")(sc)
    checks = get_checks(["cma_alloc_no_ebusy", "cma_alloc_never_fails"])
    r = explore(m, checks, max_states=5000, keep_parents=True)
    assert r.stats.complete

    def only_pinned_lru(s):
        return all(b.held[ci] <= (s.pins[i] if ci == BLOCKDEV_BUFFER else 0)
                   for i, b in enumerate(s.zones[0].blocks) for ci in m.lru_classes)
    naps = [t for t, pa in r.parents.items()
            if pa is not None and pa[1].kind == KSWAPD and pa[0].kswapd == RUNNING
            and t.kswapd == NAPPING and any(t.pins) and only_pinned_lru(t)
            and not m.zone_balanced(_work(t), 0, 0, False, 0, 2)]
    assert naps
    assert [c.verdict.value for c in r.cells] == ["VIOLATED", "VIOLATED"]
