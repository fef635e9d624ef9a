"""The CLI as a user runs it: exit codes, one-line errors for every bad input (nothing
written, no traceback), safe output files, expectations per scope, help and progress.

Every exploration here has a state cap about twice its expected size (or a time limit)."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

import pytest

from mmspec import registry
from mmspec.cli import build_parser, main
from mmspec.explore import Progress
from mmspec.progress import Reporter
from mmspec.scope import default_scope
from mmspec.vocab import CLASS_INDEX

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MC = ["--design", "migrate_cma", "--check", "atomic_while_kswapd_sleeps", "--max-states", "12000"]


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_list_names_every_design_check_and_named_scope():
    code, out, _ = run("list")
    assert code == 0
    for name in ("migrate_cma", "zone_cma", "atomic_while_kswapd_sleeps", "page_conservation",
                 "tiny", "compaction"):
        assert name in out


def test_check_violation_exits_1_and_writes_itf(tmp_path):
    path = tmp_path / "t.json"
    code, out, _ = run("check", *MC, "--json", str(path))
    assert code == 1
    assert "atomic_while_kswapd_sleeps: VIOLATED (shortest counterexample: 6 steps)" in out
    assert "Reproduce: mmspec check --design migrate_cma --check atomic_while_kswapd_sleeps" in out
    assert max(len(ln) for ln in out.splitlines()) <= 100     # traces are wrapped too
    doc = json.loads(path.read_text())
    assert doc["#meta"]["format"] == "ITF"
    assert len(doc["states"]) == 7                      # initial state + 6 steps
    last = doc["states"][-1]
    assert last["action"] == {"kind": "alloc", "gfp": "GFP_ATOMIC", "order": 0}
    assert last["allocation_failed"] is True
    assert doc["states"][-2]["kswapd"] == "SLEEPING"


def test_check_holds_exits_0_with_witness():
    code, out, _ = run("check", "--design", "zone_cma", "--check", "atomic_while_kswapd_sleeps",
                       "--scope", "tiny", "--max-states", "80000")
    assert code == 0
    assert "atomic_while_kswapd_sleeps: HOLDS (witness" in out


def test_capped_search_is_bounded_never_holds():
    code, out, _ = run("check", "--design", "zone_cma", "--check", "atomic_while_kswapd_sleeps",
                       "--max-states", "50")
    assert code == 3
    assert "BOUNDED" in out and "HOLDS" not in out


def test_stdout_is_byte_identical_across_runs():
    a = run("check", "--design", "migrate_cma", "--max-states", "12000")
    b = run("check", "--design", "migrate_cma", "--max-states", "12000")
    assert a[0] == b[0] == 1
    assert a[1] == b[1]


# ------------------------------------------------------------------------------------------
# Bad input: exit 2, one `mmspec: error:` line, no traceback, nothing written. `{t}` is a
# fresh temporary folder holding the files FILES makes.

FILES = {
    "deep.toml": "a = " + "[" * 5000 + "]" * 5000 + "\n",
    "bad.toml": "pages_per_pageblock = \n",
    "exits.py": "import sys\nsys.exit(0)\n",
    "raises.py": "raise ValueError('boom')\n",
    "nodesign.py": "X = 1\n",
    "clash.py": ("from mmspec.models.migrate_cma import MigrateCma\n"
                 "class Same(MigrateCma):\n    pass\nDESIGN = Same\n"),
    "file.txt": "not a directory\n",
}

BAD = [
    (["frobnicate"], "invalid choice"),
    (["check"], "give exactly one of --design"),
    (["check", "--design", "nope"], "unknown design 'nope'"),
    (["check", "--design", "migrate_cma", "--design", "zone_cma"], "--design is given twice"),
    (["check", "--design", "migrate_cma", "--design-file", "{t}/exits.py"], "exactly one of"),
    (["check", *MC, "--check", "atomic_while_kswapd_sleeps"], "--check atomic_while_kswapd_sleeps is given twice"),
    (["check", "--design", "migrate_cma", "--check", "nope"], "unknown check 'nope'"),
    (["check", *MC, "--fair", "--no-fair"], "--no-fair contradicts --fair"),
    (["check", *MC, "--no-fair", "--no-fair"], "--no-fair is given twice"),
    (["check", *MC, "--max-states", "5"], "--max-states is given twice"),
    (["check", *MC, "--json", ""], "--json needs a file name"),
    (["check", *MC, "--json", "{t}"], "it is a directory"),
    (["check", *MC, "--json", "{t}/missing-dir/t.json"], "does not exist"),
    (["check", *MC, "--json", "/proc/mmspec-x.json"], "cannot create a file"),
    (["check", *MC, "--json", "{t}/fifo"], "it is a FIFO"),
    (["check", *MC, "--json", "{t}/dangling"], "which does not exist"),
    (["check", *MC, "--json", "{t}/to-fifo"], "symbolic link to a FIFO"),
    (["check", *MC, "--json", "/dev/null"], "character device"),
    (["check", *MC, "--watermarks", "Normal=4,3,5"], "impossible"),
    (["check", *MC, "--watermarks", "Normal=1,2,1000"], "exceed the zone's 10 pages"),
    (["check", *MC, "--watermarks", "CMA=1,2,1000"], "exceed the zone's 10 pages"),
    (["check", *MC, "--watermarks", "DMA=1,2,3"], "zones.DMA has watermarks but no pageblocks"),
    (["check", *MC, "--watermarks", "Normal=1,2"], "[min, low, high]"),
    (["check", *MC, "--watermarks", "Normal=x,y,z"], "three integers"),
    (["check", *MC, "--pageblocks", "Movable=M,M"], "derived watermarks leave no allocatable page"),
    (["check", *MC, "--pageblocks", "Normal="], "no zone has pageblocks"),
    (["check", *MC, "--pageblocks", "Normal=", "--watermarks", "Normal=1,2,3"],
     "zones.Normal has watermarks but no pageblocks"),
    (["check", *MC, "--pageblocks", "Highmem=M"], "unknown zone 'Highmem'"),
    (["check", *MC, "--limit", "GFP_KERNEL=-1"], "must be >= 0"),
    (["check", *MC, "--limit", "GFP_NOIO=1"], "unknown request class"),
    (["check", *MC, "--limit", "GFP_KERNEL=x"], "must be an integer"),
    (["check", *MC, "--limit", "GFP_KERNEL"], "must look like NAME=VALUE"),
    (["check", *MC, "--pages-per-pageblock", "3"], "power of two"),
    (["check", *MC, "--scope", "/nonexistent.toml"], "does not exist"),
    (["check", *MC, "--scope", "nosuchscope"], "named scopes: "),
    (["check", *MC, "--scope", "{t}/deep.toml"], "nests arrays or tables too deeply"),
    (["check", *MC, "--scope", "{t}/bad.toml"], "not valid TOML"),
    (["check", *MC, "--scope", "{t}"], "is a directory"),
    (["check", *MC, "--time-limit", "0"], "--time-limit must be positive"),
    (["check", *MC, "--time-limit", "nan"], "--time-limit must be positive"),
    (["check", *MC, "--max-memory", "-1"], "--max-memory must be >= 0"),
    (["check", *MC, "--engine", "turbo"], "invalid choice: 'turbo'"),
    (["check", "--design-file", "{t}/exits.py"], "called sys.exit(0)"),
    (["check", "--design-file", "{t}/raises.py"], "ValueError: boom"),
    (["check", "--design-file", "{t}/nodesign.py"], "must define DESIGN"),
    (["check", "--design-file", "{t}/none.py"], "does not exist"),
    (["compare", "--max-states", "0"], "--max-states must be at least 1"),
    (["compare", "--design", "zone_cma", "--design", "zone_cma"], "--design zone_cma is given twice"),
    (["compare", "--design-file", "{t}/clash.py"], "already in the matrix"),
    (["compare", "--json", "{t}/fifo"], "it is a FIFO"),
    (["scope", "--max-states", "5"], "unrecognized arguments"),
    (["scope", "--watermarks", "Normal=1,2,1000"], "exceed the zone"),
    (["sweep", "--check", "blockdev_in_cma", "--check", "blockdev_in_cma"], "is given twice"),
    (["prove", "--design", "zone_cma", "--check", "atomic_while_kswapd_sleeps", "--max-k", "0"],
     "--max-k must be >= 1"),
    (["bmc", "--design", "migrate_cma", "--check", "atomic_while_kswapd_sleeps", "--depth", "0"],
     "--depth must be >= 1"),
    (["bmc", "--design", "migrate_cma", "--check", "atomic_while_kswapd_sleeps",
      "--max-states", "5"], "unrecognized arguments"),
    (["parametric", "--design", "zone_cma", "--watermarks", "free"], "unrecognized arguments"),
    (["simulate", "--design", "nope"], "unknown design 'nope'"),
    (["claims", "--design", "zone_cma", "--design", "zone_cma"], "is given twice"),
    (["claims", "--design", "prefer_cma_v58"], "does not encode"),
    (["docs", "--out", ""], "--out needs a directory name"),
    (["docs", "--out", "{t}/fifo"], "it is a FIFO, not a directory"),
    (["docs", "--out", "{t}/file.txt"], "not a directory"),
    (["docs", "--out", "{t}/no/such/dir"], "does not exist"),
    (["docs", "--out", "/proc/mmspec-docs"], "cannot create a file"),
    (["check", *MC, "--json", "{t}/sock"], "it is a socket"),
    # import and diagnose: `{m}` is a fixture machine, `{r}` a fixture report
    (["import", "{t}/fifo"], "is a FIFO, not a directory or a tarball"),
    (["import", "{t}/to-fifo"], "is a FIFO, not a directory or a tarball"),
    (["import", "{t}/sock"], "is a socket, not a directory or a tarball"),
    (["import", "/dev/null"], "is a character device, not a directory"),
    (["import", "{t}/bin.dat"], "neither a directory nor a readable tarball"),
    (["import", "{t}/emptydir"], "empty directory (no regular file in it)"),
    (["import", "{t}/none"], "no such directory or tarball"),
    (["import", "{m}", "--full", "{t}/fifo"], "it is a FIFO"),
    (["import", "{m}", "--full", "{t}"], "it is a directory"),
    (["import", "{m}", "--full", "/dev/null"], "character device"),
    (["import", "{m}", "--full", "/proc/mmspec-x.toml"], "cannot create a file"),
    (["import", "{m}", "--full", ""], "--full needs a file name"),
    (["import", "{m}", "--scaled", "{t}/to-fifo"], "symbolic link to a FIFO"),
    (["import", "{m}", "--scaled", "{t}/dangling"], "which does not exist"),
    (["import", "{m}", "--scaled", "-"], "cannot both be standard output"),
    (["import", "{m}", "--unit", "64M"], "give --scaled too"),
    (["import", "{m}", "--scaled", "{t}/s.toml", "--unit", "0"], "--unit '0'"),
    (["import", "{m}", "--node", "-1"], "--node must be >= 0"),
    (["import", "{m}", "--node", "0", "--node", "1"], "--node is given twice"),
    (["import", "{m}", "--out", "{t}/x.toml"], "unrecognized arguments"),
    (["diagnose", "{t}/fifo"], "is a FIFO, not a file; pipe the report in"),
    (["diagnose", "{t}/to-fifo"], "is a FIFO, not a file"),
    (["diagnose", "/dev/null"], "is a character device, not a file"),
    (["diagnose", "{t}/bin.dat"], "binary file"),
    (["diagnose", "{t}/emptydir"], "is a directory"),
    (["diagnose", "{t}/none"], "cannot read"),
    (["diagnose", "{r}", "--json", "{t}/fifo"], "it is a FIFO"),
    (["diagnose", "{r}", "--json", "/dev/null"], "character device"),
    (["diagnose", "{r}", "--json", "/proc/mmspec-x.json"], "cannot create a file"),
    (["diagnose", "{r}", "--json", "{t}/emptydir"], "it is a directory"),
    (["diagnose", "{r}", "--json", ""], "--json needs a file name"),
    (["diagnose", "{r}", "--scaled-pageblocks", "1"], "2 <= --scaled-pageblocks <= 12"),
    (["diagnose", "{r}", "--pageblocks", "5"], "unrecognized arguments"),
    (["diagnose", "{r}", "--kernel", "9.9"], "give a mainline version"),
    (["diagnose", "{r}", "--design", "nope"], "unknown design 'nope'"),
]
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SUBST = {"{m}": os.path.join(FIXTURES, "machines", "v4.6-arm64"),
         "{r}": os.path.join(FIXTURES, "reports", "v5.10-rpi4-cma-atomic.txt")}


def _make_files(d) -> None:
    for name, text in FILES.items():
        (d / name).write_text(text)
    os.mkfifo(d / "fifo")
    import socket
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "sock"))
    sock.close()
    os.symlink(d / "missing-target.json", d / "dangling")
    os.symlink(d / "fifo", d / "to-fifo")
    (d / "bin.dat").write_bytes(bytes(range(256)) * 8)
    (d / "emptydir").mkdir()


def _listing(d) -> dict:
    return {p: (os.lstat(p).st_mode, os.lstat(p).st_size, os.lstat(p).st_mtime_ns)
            for p in (os.path.join(r, f) for r, ds, fs in os.walk(d) for f in ds + fs)}


@pytest.mark.parametrize("argv, needle", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, argv, needle):
    _make_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path)
    dev = os.stat("/dev/null")

    def stuck(*_):                  # an input opened that blocks (a FIFO) fails, never hangs
        raise TimeoutError(f"{argv} blocked")
    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    try:
        code, out, err = run(*[SUBST.get(a, a).replace("{t}", str(tmp_path)) for a in argv])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert code == 2, (argv, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmspec: error:"), err
    assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in err
    assert _listing(tmp_path) == before                # nothing written, nothing replaced
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == dev.st_rdev


def test_write_replays_refuses_a_bad_folder_before_exploring(tmp_path, monkeypatch):
    import mmspec.testing as mt
    _make_files(tmp_path)
    monkeypatch.setattr(mt, "replay_documents", lambda *a, **k: pytest.fail("explored"))
    for argv in (["--write-replays", str(tmp_path / "fifo")], ["--write-replays", ""],
                 ["--write-replays", str(tmp_path / "a" / "b")], ["--bogus"]):
        out, err = io.StringIO(), io.StringIO()
        assert mt._main(argv, out, err) == 2, argv
        assert out.getvalue() == "" and len(err.getvalue().splitlines()) == 1
        assert err.getvalue().startswith("mmspec: error:")


# ------------------------------------------------------------------------------------------
# Output files.

def test_json_through_a_symlink_keeps_the_link(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old\n")
    link = tmp_path / "link.json"
    os.symlink(target, link)
    code, _, _ = run("check", *MC, "--json", str(link))
    assert code == 1
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["#meta"]["format"] == "ITF"
    assert sorted(os.listdir(tmp_path)) == ["link.json", "real.json"]   # no temporary left


def test_json_dash_is_standard_output_instead_of_the_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("check", *MC, "--json", "-")
    assert code == 1
    assert json.loads(out)["#meta"]["format"] == "ITF"
    assert os.listdir(tmp_path) == []


def test_new_files_get_the_umask_mode_and_old_files_keep_theirs(tmp_path):
    old = os.umask(0o022)
    try:
        new = tmp_path / "new.json"
        assert run("check", *MC, "--json", str(new))[0] == 1
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        kept = tmp_path / "kept.json"
        kept.write_text("x\n")
        kept.chmod(0o600)
        assert run("check", *MC, "--json", str(kept))[0] == 1
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and kept.read_text() != "x\n"
    finally:
        os.umask(old)


# ------------------------------------------------------------------------------------------
# Scopes and expectations.

def test_scope_round_trips_through_the_cli(tmp_path):
    code, out, _ = run("scope")
    assert code == 0
    f = tmp_path / "s.toml"
    f.write_text(out)
    code2, out2, _ = run("scope", "--scope", str(f))
    assert code2 == 0 and out2 == out


def test_scope_shows_what_each_design_derives(tmp_path):
    code, out, _ = run("scope", "--pageblocks", "Movable=M,M,M,M,M,M,M,M,M,M,M,M,M,M,M,M",
                       "--allow-degenerate")
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith("#   migrate_cma "))
    assert "Normal 10 pages 2/3/4" in line and re.search(r"Movable 32 pages \d+/\d+/\d+\*", line)
    assert "Named scope: none" in out
    f = tmp_path / "s.toml"
    f.write_text(out)
    assert run("scope", "--scope", str(f), "--allow-degenerate")[1] == out


def test_flags_and_files_mean_the_same(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[zones.Normal]\npageblocks = ["U", "M", "C"]\n[requests]\nGFP_KERNEL = 1\n')
    a = run("scope", "--scope", str(f))
    b = run("scope", "--pageblocks", "Normal=U,M,C", "--limit", "GFP_KERNEL=1")
    assert a[0] == b[0] == 0 and a[1] == b[1]
    default = default_scope().limits[CLASS_INDEX["GFP_HIGHUSER_MOVABLE"]]     # kept
    assert "watermarks = [2, 3, 4]" in a[1] and f"GFP_HIGHUSER_MOVABLE = {default}" in a[1]


def test_compare_at_a_scope_without_expectations_does_not_judge():
    code, out, _ = run("compare", "--design", "zone_cma", "--check", "utilization_oscillation",
                       "--scope", "tiny", "--no-fair", "--no-traces", "--max-states", "6000")
    assert code == 0, out
    assert "No expectation at this scope" in out and "(not a named scope)" in out
    assert "HOLDS w=" in out


def test_compare_names_the_scope_and_judges_there():
    code, out, _ = run("compare", "--scope", "tiny", "--design", "migrate_cma", "--check",
                       "atomic_while_kswapd_sleeps", "--no-traces", "--max-states", "12000")
    assert code == 0
    assert "(named scope: tiny)" in out and "Every verdict is as expected." in out


def test_compare_design_file_adds_a_row_with_its_own_expectations(tmp_path):
    f = tmp_path / "my idea.py"
    f.write_text("from mmspec.check import Verdict\n"
                 "from mmspec.models.migrate_cma import MigrateCma\n"
                 "class MyIdea(MigrateCma):\n    name = 'my_idea'\n"
                 "    expected = {'tiny': {'atomic_while_kswapd_sleeps': Verdict.HOLDS}}\n"
                 "DESIGN = MyIdea\n")
    code, out, _ = run("compare", "--design", "migrate_cma", "--design-file", str(f),
                       "--check", "atomic_while_kswapd_sleeps", "--scope", "tiny",
                       "--max-states", "12000")
    assert code == 1
    assert re.search(r"^my_idea +VIOLATED 6 steps\*$", out, re.M), out
    assert "my_idea x atomic_while_kswapd_sleeps: VIOLATED 6 steps, expected HOLDS" in out
    assert f"Reproduce: mmspec check --design-file '{f}' --check atomic_while_kswapd_sleeps" in out


def test_the_readme_example_design_file():
    code, out, _ = run("check", "--design-file", os.path.join(ROOT, "examples", "my_idea.py"),
                       "--check", "atomic_while_kswapd_sleeps", "--scope", "tiny",
                       "--max-states", "10000")
    assert code == 0 and "atomic_while_kswapd_sleeps: HOLDS" in out


def test_default_compare_fits_100_columns(monkeypatch):
    """The whole default matrix (ten designs, ten checks) within 100 columns, from canned
    results (the search itself is tested elsewhere)."""
    from mmspec import cli
    from mmspec.explore import CellResult, Result, Stats
    from mmspec.check import Verdict

    def fake(design, scope, checks, args, err):
        m = design(scope)
        cells = tuple(CellResult(c, Verdict.HOLDS, None, 86537) for c in checks)
        return m, Result(design.name, cells, Stats(1, 1, 1, True, ""), ())
    monkeypatch.setattr(cli, "_run", fake)
    code, out, _ = run("compare", "--no-traces")
    assert len(registry.designs()) >= 10 and len(registry.checks()) >= 10
    assert max(len(ln) for ln in out.splitlines()) <= 100
    assert "1 steps" not in out


# ------------------------------------------------------------------------------------------
# Options and help.

def _subparsers():
    p = build_parser()
    sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices


#: the commands of mmspec/cli.py, cmd_docs, cmd_sweep, cmd_symbolic, cmd_import, cmd_diagnose
COMMANDS = ("list", "scope", "check", "compare", "sweep", "docs", "bmc", "prove", "simulate",
            "claims", "parametric", "import", "diagnose")


def test_every_option_has_help_and_a_consistent_metavar():
    """An option name means one thing with one metavar in every command (``--pages`` and
    ``--cma-pages`` excepted: a count in simulate/claims, a range in parametric)."""
    seen: dict[str, str] = {}
    subs = _subparsers()
    assert set(subs) == set(COMMANDS), set(subs) ^ set(COMMANDS)    # a new command joins here
    for cmd, sp in subs.items():
        for a in sp._actions:
            if not a.option_strings or a.dest == "help" or a.help == "==SUPPRESS==":
                continue
            assert a.help, f"{cmd} {a.option_strings[0]} has no help"
            if a.nargs == 0:
                continue
            shown = a.metavar or ("{" + ",".join(a.choices) + "}" if a.choices else None)
            assert shown, f"{cmd} {a.option_strings[0]} has no metavar"
            opt = a.option_strings[0]
            if opt in ("--pages", "--cma-pages"):      # a count (simulate) or a range (parametric)
                continue
            assert seen.setdefault(opt, shown) == shown, (cmd, opt, shown, seen[opt])


def test_scope_help_offers_no_search_options_and_watermarks_mean_one_thing():
    code, out, _ = run("scope", "--help")
    assert code == 0 and "--pageblocks" in out and "--max-states" not in out
    code, out, _ = run("parametric", "--help")
    assert code == 0 and "--watermark-mode" in out and "--watermarks" not in out


def test_version():
    from mmspec import __version__
    assert run("--version") == (0, f"mmspec {__version__}\n", "")


# ------------------------------------------------------------------------------------------
# Progress on standard error.

def _mmspec(*argv, **kw):
    return subprocess.Popen([sys.executable, "-m", "mmspec", *argv], cwd=ROOT,
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, **kw)


PROGRESS = re.compile(r"^mmspec: zone_cma: [\d,]+ states generated, [\d,]+ distinct, [\d,]+ on "
                      r"the frontier, depth \d+, [\d,]+ distinct/s, RSS [\d,]+ MiB, \d+ s$", re.M)


def test_progress_lines_reach_a_redirected_stderr(tmp_path):
    errf = tmp_path / "err.txt"
    with open(errf, "w") as fh:
        p = _mmspec("check", "--design", "zone_cma", "--check", "atomic_while_kswapd_sleeps",
                    "--engine", "python", "--time-limit", "4", "--max-states", "80000",
                    stderr=fh)
        out, _ = p.communicate(timeout=120)
    err = errf.read_text()
    assert PROGRESS.search(err), err
    assert "\r" not in err and "\x1b" not in err        # plain lines when not a terminal
    assert "states generated" not in out                # stdout carries no progress


def test_ctrl_c_prints_statistics_and_exits_130():
    p = _mmspec("check", "--design", "zone_cma", "--engine", "python", "--max-states", "80000",
                stderr=subprocess.PIPE)
    time.sleep(2.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted: statistics of the search so far" in err
    assert re.search(r"distinct states +[\d,]+", err) and "Traceback" not in err
    assert out == ""


def test_memory_guard_stops_as_bounded_naming_max_states():
    code, out, err = run("check", "--design", "zone_cma", "--check", "atomic_while_kswapd_sleeps",
                         "--max-memory", "1", "--max-states", "80000")
    assert code == 3 and "BOUNDED" in out
    assert "memory guard" in out and "--max-states" in out


def test_live_line_on_a_terminal_and_heartbeat_for_other_phases():
    err = io.StringIO()
    rep = Reporter(err, tty=True)
    cb = rep.search("zone_cma")
    cb(Progress(10, 20, 1, 5, 1.0, 1024))           # under 2 s: nothing
    cb(Progress(1000, 9000, 7, 300, 2.5, 65536))
    cb(Progress(2000, 19000, 9, 310, 3.5, 65536))
    rep.clear()
    text = err.getvalue()
    assert text.count("\r") == 3 and text.endswith("\r\x1b[K")
    assert "2,000 distinct" in text and "depth 9" in text and "RSS 64 MiB" in text
    err = io.StringIO()
    rep = Reporter(err, tty=False, first_after=0.05, every=0.05)
    with rep.phase("z3 query"):
        time.sleep(0.4)
    lines = err.getvalue().splitlines()
    assert len(lines) >= 3 and all(ln.startswith("mmspec: z3 query: running, ") for ln in lines)


def test_bmc_reports_each_depth():
    code, out, err = run("bmc", "--design", "migrate_cma", "--check", "atomic_while_kswapd_sleeps",
                         "--depth", "2")
    assert code == 3 and "BOUNDED" in out
    assert "bmc: depth 1 checked" in err and "bmc: depth 2 checked" in err
