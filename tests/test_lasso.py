"""z3 BMC of a liveness check (mmspec.engine.lasso): the shortest lasso.

- migrate_cma x utilization_oscillation at the tiny scope: BMC's lasso has as many steps in
  all as the BFS lasso (7), replays with its loop start, its loop states satisfy ``stay``
  and one loop step ``accept``; the CLI prints it with the loop back marked;
- the safety BMC refuses a liveness check instead of answering BOUNDED for it.
"""

import io

import pytest

from mmspec import registry
from mmspec.check import Verdict
from mmspec.cli import main
from mmspec.engine.bmc import bmc
from mmspec.engine.lasso import bmc_lasso
from mmspec.errors import MmspecError
from mmspec.explore import explore
from mmspec.scope import find_scope_file, load_scope

CK = registry.get_checks(["utilization_oscillation"])[0]


def _model(design):
    return registry.get_design(design)(load_scope(find_scope_file("tiny")))


def test_bmc_lasso_is_as_short_as_the_bfs_lasso_and_replays():
    m = _model("migrate_cma")
    want = explore(m, [CK], max_states=20_000).cells[0]
    assert want.verdict == Verdict.VIOLATED and want.trace.loop_start is not None
    r = bmc_lasso(m, CK, len(want.trace))
    assert (r.verdict, r.depth) == ("VIOLATED", len(want.trace))
    tr, j = r.trace, r.trace.loop_start
    st = tr.states
    assert st[-1] == st[j] and all(CK.stay(m, s) for s in st[j:-1])
    assert any(CK.accept(m, st[i], tr.steps[i].action, tr.steps[i].effect, st[i + 1])
               for i in range(j, len(tr)))
    assert bmc_lasso(m, CK, len(want.trace) - 1).verdict == "BOUNDED"


def test_cli_bmc_prints_the_lasso():
    out, err = io.StringIO(), io.StringIO()
    code = main(["bmc", "--design", "migrate_cma", "--check", "utilization_oscillation",
                 "--scope", "tiny"], out, err)
    text = out.getvalue()
    assert code == 1 and "VIOLATED (shortest lasso: 7 steps" in text
    assert "<- loops back to state" in text


def test_safety_bmc_refuses_a_liveness_check():
    with pytest.raises(MmspecError, match="liveness"):
        bmc(_model("migrate_cma"), CK, 3)
