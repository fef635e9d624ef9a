"""Parametric search (mmspec.symbolic.parametric_atomic), cross-checked against BFS."""

import io

from mmspec import registry
from mmspec.cli import main
from mmspec.symbolic import _threshold, _wmark_threshold_sym, parametric_atomic
from mmspec.vocab import ALLOC_HARDER, ALLOC_HIGH, ALLOC_WMARK_LOW, ALLOC_WMARK_MIN

import z3


def test_symbolic_threshold_equals_the_explicit_one():
    for mark in range(0, 60):
        for lr in (0, 3):
            for fl in (ALLOC_WMARK_LOW, ALLOC_WMARK_MIN | ALLOC_HIGH | ALLOC_HARDER,
                       ALLOC_WMARK_MIN | ALLOC_HIGH):
                sym = z3.simplify(_wmark_threshold_sym(z3.IntVal(mark), z3.IntVal(lr), fl))
                assert sym.as_long() == _threshold(mark, lr, fl)


def _bfs_rc(design, extra):
    out, err = io.StringIO(), io.StringIO()
    return main(["check", "--design", design, "--check", "atomic_while_kswapd_sleeps",
                 "--pageblocks", "Normal=M,C", "--limit", "BLOCKDEV=0", *extra], out, err)


def test_free_watermarks_smallest_violation_agrees_with_bfs():
    for d in ("migrate_cma", "zone_cma"):
        r = parametric_atomic(registry.get_design(d), derive=False, pages=(2, 64),
                              cma_pages=(1, 32), mode="under")
        assert r.verdict == "VIOLATED"
        assert r.config["pages"] == 2 and all(w == (0, 0, 0) for w in r.config["watermarks"])
    # BFS on the same kind of configuration (watermarks 0, one CMA pageblock) finds it too
    assert _bfs_rc("migrate_cma", ["--watermarks", "Normal=0,0,0"]) == 1
    assert _bfs_rc("zone_cma", ["--watermarks", "Normal=0,0,0", "--watermarks", "CMA=0,0,0"]) == 1


def test_derived_watermarks_migrate_cma_smallest_violation():
    d = registry.get_design("migrate_cma")
    r = parametric_atomic(d, derive=True, pages=(2, 512), cma_pages=(1, 256), mode="under")
    lb = parametric_atomic(d, derive=True, pages=(2, 512), cma_pages=(1, 256), mode="over")
    assert r.verdict == lb.verdict == "VIOLATED"
    # min_free_kbytes clamps at 128 -> min 32, low 40, high 48 pages; 41 ordinary pages,
    # 1 GFP_KERNEL page, then 28 movable pages counted against 28 free CMA pages leave 12
    # ordinary pages = the GFP_ATOMIC threshold (32 - 16 - 4)
    assert r.config["watermarks"] == [(32, 40, 48)]
    assert (r.config["pages"], r.config["cma_pages"]) == (69, 28)
    assert lb.config["pages"] <= r.config["pages"]      # sound lower bound
