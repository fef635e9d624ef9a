"""Input fuzzing of the CLI (issue 4, item 5): generated scope files (TOML text, garbage and
edge values) and option combinations for ``mmspec.cli.main``.

Every run must either succeed (exit 0, 1 or 3) or exit 2 with exactly one line on stderr
starting with ``mmspec: error:``; an exception escaping ``main`` (a traceback for the user)
or a run that does not finish within a few seconds fails the test with the input.
``--max-states`` is always small so runs are quick. Examples: the profile's max_examples
(>= 1000 under ``MMSPEC_HYPOTHESIS_PROFILE=thorough``), at least 100 under ``ci``.
"""

from __future__ import annotations

import io
import math
import os
import signal
import tempfile

from hypothesis import event, given, settings
from hypothesis import strategies as st

from mmspec import registry
from mmspec.cli import main
from mmspec.scope import DEFAULT_SCOPE_TOML

EXAMPLES = max(100, settings.default.max_examples)
RUN_SECONDS = 10

# ------------------------------------------------------------------------------------------
# Scope files.

EDGE_INTS = st.one_of(st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 7, 8, 16, 1000, 1001, 2 ** 31,
                                       2 ** 63 - 1, 10 ** 30]), st.integers(-3, 12))
MT_NAMES = st.sampled_from(["UNMOVABLE", "MOVABLE", "RECLAIMABLE", "CMA", "HIGHATOMIC",
                            "ISOLATE", "U", "M", "C", "R", "MIGRATE_CMA", "cma", ""])
ZONE_NAMES = st.sampled_from(["Normal", "NORMAL", "DMA", "DMA32", "Movable", "CMA", "HighMem",
                              "normal", ""])
CLASS_NAMES = st.sampled_from(["GFP_ATOMIC", "GFP_KERNEL", "GFP_HIGHUSER_MOVABLE", "BLOCKDEV",
                               "SLAB", "BDEV", "atomic", "movable", "GFP_NOIO", ""])
SCALARS = st.one_of(EDGE_INTS, st.booleans(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=8), MT_NAMES)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').encode(
            "unicode_escape").decode("ascii").replace("\\\\\\\\", "\\\\") + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + " }"
    raise TypeError(v)


def _maybe(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def structured_scope(draw) -> str:
    """A scope file built from the real keys with edge or wrong-typed values."""
    lines = []
    for key in ("pages_per_pageblock", "fair_zone_policy", "direct_reclaim_rounds",
                "kswapd_reclaim_batch", "orders", "complete", "bogus_key"):
        v = draw(_maybe(st.one_of(SCALARS, st.lists(EDGE_INTS, max_size=3))))
        if key == "complete" and v is not None and draw(st.booleans()):
            v = True                    # the whole scope: not merged onto the default
        if v is not None and (key != "bogus_key" or draw(st.integers(0, 9)) == 0):
            lines.append(f"{key} = {_toml_value(v)}")
    for zone in draw(st.lists(ZONE_NAMES, max_size=3, unique=True)):
        lines.append(f'\n[zones."{zone}"]')
        pb = draw(_maybe(st.one_of(st.lists(MT_NAMES, max_size=7), SCALARS)))
        if pb is not None:
            lines.append(f"pageblocks = {_toml_value(pb)}")
        wm = draw(_maybe(st.one_of(st.lists(EDGE_INTS, min_size=2, max_size=4), SCALARS)))
        if wm is not None:
            lines.append(f"watermarks = {_toml_value(wm)}")
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"lowmem_reserve = {_toml_value(draw(st.dictionaries(ZONE_NAMES, SCALARS, max_size=2)))}")
    if draw(st.booleans()):
        lines.append("\n[requests]")
        for c, n in draw(st.dictionaries(CLASS_NAMES, SCALARS, max_size=5)).items():
            lines.append(f'"{c}" = {_toml_value(n)}')
    if draw(st.integers(0, 5)) == 0:
        lines.append("\n[derive_watermarks]")
        for k in draw(st.lists(st.sampled_from(["min_free_kbytes", "watermark_scale_factor",
                                                "page_kbytes", "cma_in_boot_basis", "x"]),
                               max_size=3, unique=True)):
            lines.append(f"{k} = {_toml_value(draw(SCALARS))}")
    if draw(st.integers(0, 6)) == 0:
        lines.append("\n[design]")
        lines.append(f"switch = {_toml_value(draw(SCALARS))}")
    if draw(st.integers(0, 4)) == 0:        # [machine]: facts the rules do not use, any depth
        depth = draw(st.integers(0, 5))
        lines.append("\n[machine" + "".join(f".t{i}" for i in range(depth)) + "]")
        for k, v in draw(st.dictionaries(st.sampled_from(["kernel", "free", "x y", "n"]),
                                         st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                                                   st.lists(st.lists(EDGE_INTS, max_size=2),
                                                            max_size=2)),
                                         max_size=3)).items():
            lines.append(f'"{k}" = {_toml_value(v)}')
    return "\n".join(lines) + "\n"


@st.composite
def mutated_default(draw) -> str:
    """The default scope with one line dropped, duplicated or replaced by garbage."""
    lines = DEFAULT_SCOPE_TOML.splitlines()
    i = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["drop", "dup", "garbage", "value"]))
    if how == "drop":
        del lines[i]
    elif how == "dup":
        lines.insert(i, lines[i])
    elif how == "garbage":
        lines[i] = draw(st.text(max_size=30))
    elif "=" in lines[i]:
        lines[i] = lines[i].split("=", 1)[0] + "= " + _toml_value(draw(SCALARS))
    return "\n".join(lines) + "\n"


SCOPE_BYTES = st.one_of(
    structured_scope().map(lambda t: t.encode("utf-8", "surrogatepass")),
    mutated_default().map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=64),
)

# ------------------------------------------------------------------------------------------
# Options.

# valid names most of the time, so that many runs get past option parsing
DESIGNS = st.sampled_from([d.name for d in registry.designs()] * 3
                          + ["", "no_such_design", "migrate-cma", "ZONE_CMA"])
CHECKS = st.sampled_from([c.name for c in registry.checks()] * 3 + ["", "nope"])
SMALL_TEXT = st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=12)


@st.composite
def argv(draw, scope_path: str) -> list[str]:
    cmd = draw(st.sampled_from(["check", "check", "compare", "compare", "scope", "list"]))
    args = [cmd]
    if cmd == "list":
        return args
    if cmd == "check":
        which = draw(st.integers(0, 15))
        if which < 14:
            args += ["--design", draw(DESIGNS)]
        elif which == 14:
            args += ["--design-file", draw(st.sampled_from([scope_path, "/nonexistent.py",
                                                           os.path.dirname(scope_path)]))]
    if cmd == "compare":
        for d in draw(st.lists(DESIGNS, max_size=2)):
            args += ["--design", d]
        if draw(st.booleans()):
            args.append("--no-traces")
    if cmd in ("check", "compare"):
        for c in draw(st.lists(CHECKS, max_size=2)):
            args += ["--check", c]
    if draw(st.integers(0, 2)) == 0:
        args += ["--scope", draw(st.sampled_from([scope_path, scope_path, "/nonexistent.toml",
                                                 os.path.dirname(scope_path)]))]
    if draw(st.integers(0, 5)) == 0:
        args += ["--pages-per-pageblock", str(draw(EDGE_INTS))]
    for _ in range(max(0, draw(st.integers(-3, 2)))):
        blocks = ",".join(draw(st.lists(MT_NAMES, max_size=6)))
        args += ["--pageblocks", draw(st.one_of(ZONE_NAMES.map(lambda z: f"{z}={blocks}"),
                                                SMALL_TEXT))]
    for _ in range(max(0, draw(st.integers(-3, 1)))):
        w = ",".join(str(x) for x in draw(st.lists(EDGE_INTS, min_size=1, max_size=4)))
        args += ["--watermarks", draw(st.one_of(ZONE_NAMES.map(lambda z: f"{z}={w}"), SMALL_TEXT))]
    for _ in range(max(0, draw(st.integers(-2, 2)))):
        args += ["--limit", draw(st.one_of(
            st.tuples(CLASS_NAMES, EDGE_INTS).map(lambda t: f"{t[0]}={t[1]}"), SMALL_TEXT))]
    for _ in range(draw(st.integers(0, 2))):      # twice: refused (given twice / contradicts)
        fair = draw(st.sampled_from([None, "--fair", "--no-fair"]))
        if fair:
            args.append(fair)
    if draw(st.integers(0, 4)) == 0:
        args.append("--allow-degenerate")
    if draw(st.integers(0, 3)) == 0:
        args += ["--reclaim-rounds", draw(st.one_of(EDGE_INTS.map(str), SMALL_TEXT))]
    if cmd == "scope":          # no search options (giving one is refused)
        return args
    if draw(st.integers(0, 4)) == 0:
        args += ["--engine", draw(st.sampled_from(["auto", "python", "bogus", ""]))]
    if draw(st.integers(0, 6)) == 0:
        args += ["--json", draw(st.sampled_from(["", "-", "/dev/null", "/proc/x.json"]))]
    # always small (and sometimes invalid) so exploring commands finish quickly
    bad = draw(st.integers(0, 7)) == 0
    args += ["--max-states", str(draw(st.sampled_from([0, -1]) if bad else st.integers(1, 200)))]
    if draw(st.integers(0, 4)) == 0:
        args += ["--time-limit", draw(st.sampled_from(["5", "inf", "0.5", "30", "0", "-1", "nan",
                                                       "x"]))]
    return args


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, RUN_SECONDS)
    try:
        rc = main(args, out, err)
    except _Timeout:
        raise AssertionError(f"mmspec {args} did not finish in {RUN_SECONDS} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return rc, out.getvalue(), err.getvalue()


def assert_clean(args: list[str], rc: int, err: str) -> None:
    assert rc in (0, 1, 2, 3), f"exit {rc} for {args}"
    if rc == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("mmspec: error:"), (
            f"exit 2 must print exactly one 'mmspec: error:' line; got {err!r} for {args}")


@settings(max_examples=EXAMPLES, deadline=None)
@given(scope=SCOPE_BYTES, data=st.data())
def test_cli_never_tracebacks(scope, data):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "scope.toml")
        with open(path, "wb") as fh:
            fh.write(scope)
        args = data.draw(argv(path), label="argv")
        rc, _, err = run_cli(args)  # an exception escaping main() fails the test here
        event(f"{args[0]}: exit {rc}")
        assert_clean(args, rc, err)


def test_fuzzer_reaches_both_outcomes():
    """The generators are not all-garbage: a valid default-like run and a rejected one."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "scope.toml")
        with open(path, "w") as fh:
            fh.write(DEFAULT_SCOPE_TOML)
        rc, out, err = run_cli(["check", "--design", "zone_cma", "--check", "page_conservation",
                                "--scope", path, "--max-states", "50"])
        assert rc == 3 and "BOUNDED" in out
        with open(path, "w") as fh:
            fh.write("pages_per_pageblock = 3\n")
        rc, out, err = run_cli(["check", "--design", "zone_cma", "--scope", path,
                                "--max-states", "50"])
        assert_clean([], rc, err)
        assert rc == 2 and out == ""
