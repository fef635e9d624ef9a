"""The CLI as a user runs it: exit codes, one-line errors, ITF output, determinism."""

from __future__ import annotations

import io
import json

import pytest

from mmspec.cli import main


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_list_names_every_design_and_check():
    code, out, _ = run("list")
    assert code == 0
    for name in ("migrate_cma", "zone_cma", "atomic_while_kswapd_sleeps", "page_conservation"):
        assert name in out


def test_check_violation_exits_1_and_writes_itf(tmp_path):
    path = tmp_path / "t.json"
    code, out, _ = run("check", "--design", "migrate_cma", "--check",
                       "atomic_while_kswapd_sleeps", "--json", str(path))
    assert code == 1
    assert "atomic_while_kswapd_sleeps: VIOLATED (shortest counterexample: 6 steps)" in out
    assert "Reproduce: mmspec check --design migrate_cma --check atomic_while_kswapd_sleeps" in out
    doc = json.loads(path.read_text())
    assert doc["#meta"]["format"] == "ITF"
    assert len(doc["states"]) == 7                      # initial state + 6 steps
    last = doc["states"][-1]
    assert last["action"] == {"kind": "alloc", "gfp": "GFP_ATOMIC", "order": 0}
    assert last["allocation_failed"] is True
    assert doc["states"][-2]["kswapd"] == "SLEEPING"


def test_check_holds_exits_0_with_witness():
    code, out, _ = run("check", "--design", "zone_cma", "--check", "atomic_while_kswapd_sleeps")
    assert code == 0
    assert "atomic_while_kswapd_sleeps: HOLDS (witness" in out


def test_capped_search_is_bounded_never_holds():
    code, out, _ = run("check", "--design", "zone_cma", "--check", "atomic_while_kswapd_sleeps",
                       "--max-states", "50")
    assert code == 3
    assert "BOUNDED" in out and "HOLDS" not in out


def test_stdout_is_byte_identical_across_runs():
    a = run("check", "--design", "migrate_cma")
    b = run("check", "--design", "migrate_cma")
    assert a[0] == b[0] == 1
    assert a[1] == b[1]


@pytest.mark.parametrize("argv, needle", [
    (["check", "--design", "nope"], "unknown design 'nope'"),
    (["check", "--design", "migrate_cma", "--check", "nope"], "unknown check 'nope'"),
    (["check", "--design", "migrate_cma", "--watermarks", "Normal=4,3,5"], "impossible"),
    (["check", "--design", "migrate_cma", "--limit", "GFP_KERNEL=-1"], "must be >= 0"),
    (["check", "--design", "migrate_cma", "--pages-per-pageblock", "3"], "power of two"),
    (["check", "--design", "migrate_cma", "--scope", "/nonexistent.toml"], "does not exist"),
    (["compare", "--max-states", "0"], "--max-states must be at least 1"),
    (["frobnicate"], "invalid choice"),
    (["check"], "give exactly one of --design"),
])
def test_bad_input_is_one_line_exit_2(argv, needle):
    code, out, err = run(*argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmspec: error:") and needle in lines[0]


def test_bad_input_writes_nothing(tmp_path):
    path = tmp_path / "t.json"
    code, _, _ = run("check", "--design", "nope", "--json", str(path))
    assert code == 2 and not path.exists()
    code, _, _ = run("check", "--design", "migrate_cma", "--json",
                     str(tmp_path / "missing-dir" / "t.json"))
    assert code == 2 and not (tmp_path / "missing-dir").exists()


def test_malformed_scope_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("pages_per_pageblock = \n")
    code, _, err = run("check", "--design", "migrate_cma", "--scope", str(bad))
    assert code == 2 and len(err.splitlines()) == 1 and "not valid TOML" in err


def test_scope_round_trips_through_the_cli(tmp_path):
    code, out, _ = run("scope")
    assert code == 0
    f = tmp_path / "s.toml"
    f.write_text(out)
    code2, out2, _ = run("scope", "--scope", str(f))
    assert code2 == 0 and out2 == out


def test_unwritable_json_path_is_refused_before_any_output(tmp_path):
    code, out, err = run("check", "--design", "migrate_cma", "--json",
                         str(tmp_path / "missing-dir" / "t.json"))
    assert code == 2 and out == "" and len(err.splitlines()) == 1
