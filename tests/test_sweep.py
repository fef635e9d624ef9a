"""`mmspec sweep`: the ladder of scopes and the smallest scope of each violation, from the
scope `tiny` (18 rungs; the default's limits make it 24)."""

import io

from mmspec.cli import main
from mmspec.cmd_sweep import ladder
from mmspec.scope import default_scope, load_scope, named_scopes


def test_ladder_order_and_top():
    rungs = ladder(load_scope(named_scopes()["tiny"]))
    assert rungs[0][1:3] == (("U", "C"), (1, 1, 1, 1, 0, 0))
    assert rungs[-1][1:3] == (("U", "M", "M", "C", "C"), (1, 2, 3, 1, 0, 0))
    sizes = [(r[3], max(r[2])) for r in rungs[:-1]]
    assert sizes == sorted(sizes)
    assert len(rungs) == 3 * 2 * 3
    top = ladder(default_scope())[-1]
    assert top[1:3] == (("U", "M", "M", "C", "C"), default_scope().limits)
    assert len(ladder(default_scope())) == 3 * 2 * max(default_scope().limits)


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(["sweep", "--scope", "tiny", "--max-states", "12000", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_sweep_smallest_scopes():
    code, out, _ = _run("--design", "migrate_cma", "--check", "blockdev_in_cma",
                        "--check", "atomic_while_kswapd_sleeps", "--check", "page_conservation")
    assert code == 0
    rows = {l.split()[0]: l.split() for l in out.splitlines() if l.startswith(("blockdev", "atomic"))}
    assert rows["blockdev_in_cma"][2:5] == ["Normal=U,C", "limits=1,1,1,1,0,0", "1"]
    assert rows["atomic_while_kswapd_sleeps"][2:5] == ["Normal=U,M,C", "limits=1,1,1,1,0,0", "4"]
    assert "page_conservation" not in out.split("Reproduce")[0]
    assert ("mmspec check --design migrate_cma --check blockdev_in_cma --pageblocks Normal=U,C "
            "--limit GFP_ATOMIC=1") in out
    assert _run("--design", "migrate_cma", "--check", "blockdev_in_cma",
                "--check", "atomic_while_kswapd_sleeps", "--check", "page_conservation")[1] == out


def test_sweep_needs_cma():
    code, out, err = _run("--pageblocks", "Normal=U,M,M")
    assert code == 2 and "no CMA pageblocks" in err and out == ""
