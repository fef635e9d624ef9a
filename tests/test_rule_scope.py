"""Pinned facts at a scope that exercises the rules the default scope does not.

The default and `tiny` scopes have one zone of UNMOVABLE, MOVABLE and CMA pageblocks, so a
wrong MIGRATE_MOVABLE fallback order (v4.6 ``fallbacks[MIGRATE_MOVABLE]`` is RECLAIMABLE,
then UNMOVABLE) or ``lowmem_reserve`` indexed by the zone's own position instead of the
request's classzone_idx changes nothing there. This scope has a RECLAIMABLE pageblock,
reclaimable slab requests, a DMA32 zone below Normal (ZONE_CMA / ZONE_MOVABLE above it for
the zone designs) and non-zero lowmem_reserve entries; its distinct states, transitions,
depth, verdicts, counterexample lengths and witness counts were recorded as observed for
every design (engines agree on all of them: tests/test_compiled.py). A change to any rule
these depend on fails here and must be re-recorded deliberately, with the reason.
"""

from __future__ import annotations

import tomllib

import pytest

from mmspec import designs, explore, get_checks, parse_scope

SCOPE_TOML = """\
pages_per_pageblock = 2
[zones.DMA32]
pageblocks = ["UNMOVABLE"]
watermarks = [1, 1, 1]
lowmem_reserve = { Normal = 1, CMA = 1 }
[zones.Normal]
pageblocks = ["RECLAIMABLE", "MOVABLE", "CMA", "CMA"]
watermarks = [1, 2, 3]
lowmem_reserve = { CMA = 1 }
[zones.CMA]
watermarks = [1, 1, 2]
[requests]
GFP_ATOMIC = 1
GFP_KERNEL = 1
GFP_HIGHUSER_MOVABLE = 2
BLOCKDEV = 1
SLAB = 1
"""

#: design: (distinct states, transitions, depth, one cell per default check in `mmspec
#: list` order: V<steps>[+<loop>] VIOLATED, H<witness transitions> HOLDS, VAC VACUOUS)
PINNED = {
    "migrate_cma": (3799, 25345, 16, "V4 V4 V1 V6+3 V5 V4 V3 H9185 H2778 H5429"),
    "zone_cma": (8448, 51749, 22, "H2225 V5 V3 V14+9 H836 V4 H5456 H23798 H5762 H12470"),
    "zone_cma_cma_last": (5344, 33772, 21, "H1300 V4 V1 V7+4 H885 V4 H3230 H15191 H2376 H8638"),
    "prefer_cma_v58": (3879, 25762, 16, "V8 V4 V1 V9+6 V5 V4 V2 H9537 H3401 H5749"),
    "should_try_cma": (4916, 33344, 19, "H1157 V7 H56 H52 V6 V7 V1 H12118 H4359 H7661"),
    "joonsoo_2014": (1861, 12011, 16, "H593 H1272 VAC VAC VAC H2034 V1 H5033 H1782 H3251"),
    "migrate_cma_kswapd_fix": (3201, 21576, 16, "H691 V4 V1 V5+2 V5 V4 V3 H8075 H2466 H4856"),
    "cma_in_zone_movable": (35306, 231279, 28, "H8587 V5 V3 V12+7 H6214 V4 H21546 H101740 H11077 H56631"),
    "migrate_cma_compaction_skip": (3799, 25345, 16, "V4 V4 V1 V6+3 V5 V4 V3 H9185 H2778 H5429"),
    "sticky_movable": (3779, 25002, 19, "V12 V7 H74 H52 V6 V7 V1 H9233 H3588 H5497"),
}


def cell_text(c) -> str:
    if c.verdict.name == "VACUOUS":
        return "VAC"
    if c.trace is None:
        return f"{c.verdict.name[0]}{c.witness_count}"
    t = c.trace
    loop = f"+{len(t.steps) - t.loop_start}" if t.loop_start is not None else ""
    return f"{c.verdict.name[0]}{len(t.steps)}{loop}"


@pytest.mark.parametrize("design", [d for d in designs()], ids=lambda d: d.name)
def test_pinned_facts_at_the_rule_scope(design):
    scope = parse_scope(tomllib.loads(SCOPE_TOML), origin="test scope")
    distinct, transitions, depth, cells = PINNED[design.name]
    r = explore(design(scope), get_checks(None), max_states=2 * distinct)
    assert r.stats.complete
    got = (r.stats.distinct, r.stats.generated, r.stats.depth,
           " ".join(cell_text(c) for c in r.cells))
    assert got == (distinct, transitions, depth, cells)
