"""Parametric search (mmspec.engine.parametric.parametric_atomic), cross-checked against BFS."""

import io

from mmspec import registry
from mmspec.cli import main
from mmspec.engine.counting import _threshold
from mmspec.engine.parametric import _wmark_threshold_sym, parametric_atomic
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


def test_linear_derived_encoding_equals_the_nonlinear_one():
    # isqrt / division re-expressed as linear arithmetic: same smallest configuration
    for d in ("migrate_cma", "zone_cma"):
        a = parametric_atomic(registry.get_design(d), pages=(2, 512), cma_pages=(1, 256),
                              mode="under", linear=True)
        b = parametric_atomic(registry.get_design(d), pages=(2, 512), cma_pages=(1, 256),
                              mode="under", linear=False)
        assert a.verdict == b.verdict == "VIOLATED"
        assert (a.config["pages"], a.config["cma_pages"], a.config["watermarks"]) == \
            (b.config["pages"], b.config["cma_pages"], b.config["watermarks"])


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out, err), out.getvalue(), err.getvalue()


def test_cli_parametric_exit_codes():
    rc, out, _ = _cli(["parametric", "--design", "zone_cma"])
    assert rc == 1 and "pages 33, CMA pages 31" in out and "exact" in out
    rc, out, _ = _cli(["parametric", "--design", "migrate_cma", "--watermark-mode", "free",
                       "--pages", "4:16", "--cma-pages", "2:2"])
    assert rc == 1 and "reproduce with breadth-first search: mmspec check" in out
    cmd = out.split("reproduce with breadth-first search: ")[1].split()[1:]
    assert _cli(cmd)[0] == 1                       # BFS finds it on that configuration
    # 2..3 pages: min watermark 32 pages, GFP_ATOMIC fails with all free: excluded -> HOLDS
    rc, out, _ = _cli(["parametric", "--design", "migrate_cma", "--pages", "2:3",
                       "--cma-pages", "1:1"])
    assert rc == 0 and "HOLDS" in out
    rc, out, _ = _cli(["parametric", "--design", "zone_cma", "--pages", "8192:262144",
                       "--cma-pages", "1:131072", "--timeout", "0.5"])
    assert rc == 3 and "UNKNOWN" in out
    for bad in (["--pages", "9:3"], ["--pages", "x"], ["--check", "page_conservation"],
                ["--design", "nope"]):
        argv = ["parametric", "--design", "zone_cma", *bad]
        if bad[0] == "--design":
            argv = ["parametric", *bad]
        assert _cli(argv)[0] == 2, bad
