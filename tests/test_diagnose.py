"""mmspec diagnose on fixtures written from the kernels' print code (v4.6, v5.10, v6.19):
the arithmetic, the classification, the version range, bad input, and parser fuzzing."""

from __future__ import annotations

import io
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmspec.cli import main
from mmspec.errors import MmspecError
from mmspec.machine.diagnose import diagnose
from mmspec.machine.report import parse_report

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "reports")


def _read(name: str) -> bytes:
    with open(os.path.join(FIX, name), "rb") as fh:
        return fh.read()


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name, rules, cls, cma", [
    ("v4.6-arm64-cma-atomic.txt", "v4.6", "CMA", True),
    ("v4.6-x86-32bit-lowmem-reserve.txt", "v4.6", "LOWMEM_RESERVE", False),
    ("v5.10-rpi4-cma-atomic.txt", "v5.9", "CMA", True),
    ("v5.10-x86_64-exhaustion.txt", "v5.9", "PLAIN_EXHAUSTION", False),
    ("v5.10-x86_64-highatomic.txt", "v5.9", "HIGHATOMIC_RESERVE", False),
    ("v6.19-arm64-cma-atomic.txt", "v6.12", "CMA", True),
])
def test_classification(name, rules, cls, cma):
    d = diagnose(parse_report(name, _read(name)))
    assert (d.gen.name, d.classification, d.cma_related) == (rules, cls, cma)


def test_v46_cma_arithmetic():
    # GFP_ATOMIC slow path: min 994 -> ALLOC_HIGH 497 -> ALLOC_HARDER 373;
    # free 25436 - free_cma 25100 = 336 <= 373 fails; counting CMA 25436 > 373 passes
    d = diagnose(parse_report("r", _read("v4.6-arm64-cma-atomic.txt")))
    slow = d.slow["DMA"]
    assert (slow.ok, slow.effective, slow.m) == (False, 336, 373)
    assert d.whatif["cma"]["DMA"].ok
    assert not d.kswapd_balanced and d.kswapd_balanced_with_cma and d.movable_passes
    assert d.check == "atomic_while_kswapd_sleeps"
    assert str(d.report.version) == "v4.0..v4.7"


def test_v619_reserves_and_lowmem_reserve():
    d = diagnose(parse_report("r", _read("v6.19-arm64-cma-atomic.txt")))
    # ALLOC_MIN_RESERVE|ALLOC_NON_BLOCK: 1137 -> 569 -> 427, plus lowmem_reserve[Normal] 3840
    assert [z.name for z in d.zonelist] == ["Normal", "DMA32"]
    c = d.slow["DMA32"]
    assert (c.effective, c.m, c.reserve, c.ok) == (400, 427, 3840, False)
    assert str(d.report.version) == "v6.14..v6.19"


def test_version_pinned_by_kernel_option():
    d = diagnose(parse_report("r", _read("v5.10-rpi4-cma-atomic.txt")), (5, 10))
    assert d.gen.name == "v5.9" and not d.other_gens


def test_cli_text_json_and_design_trace(tmp_path):
    js = tmp_path / "d.json"
    code, out, err = _run("diagnose", os.path.join(FIX, "v6.19-arm64-cma-atomic.txt"),
                          "--design", "prefer_cma_v58", "--json", str(js))
    assert code == 0, err
    assert "Classification: CMA" in out and "prefer_cma_v58  VIOLATED" in out
    assert "Step 1: alloc_pages" in out and "** FAILS **" in out
    doc = json.loads(js.read_text())
    assert doc["classification"] == "CMA" and doc["designs"]["runs"][0]["verdict"] == "VIOLATED"
    code2, out2, _ = _run("diagnose", os.path.join(FIX, "v6.19-arm64-cma-atomic.txt"),
                          "--design", "prefer_cma_v58", "--json", str(js))
    assert out2 == out                      # deterministic stdout


@pytest.mark.parametrize("name", ["v4.6-arm64-cma-atomic.txt", "v5.10-rpi4-cma-atomic.txt",
                                  "v6.19-arm64-cma-atomic.txt"])
def test_the_reproduce_command_gives_the_scope_the_designs_ran_on(name):
    import shlex
    import tomllib

    from mmspec.cli import build_parser, scope_from_args
    from mmspec.machine.designs import report_scope, reproduce_args
    from mmspec.machine.scaling import SMALL_REQUESTS
    from mmspec.scope import find_scope_file, parse_scope
    data, _ = report_scope(diagnose(parse_report(name, _read(name))))
    args = build_parser().parse_args(["check", "--design", "migrate_cma",
                                      *shlex.split(reproduce_args(data))])
    assert scope_from_args(args) == parse_scope(data)
    # the small workload is the scope tiny's (not the default's, which may grow)
    with open(find_scope_file("tiny"), "rb") as fh:
        tiny = {k: v for k, v in tomllib.load(fh)["requests"].items() if v}
    assert SMALL_REQUESTS == tiny
    assert {k: v for k, v in data["requests"].items() if k != "GFP_HIGHUSER_MOVABLE" and v} \
        == {k: v for k, v in tiny.items() if k != "GFP_HIGHUSER_MOVABLE"}


def test_cut_search_is_bounded_exit_3():
    code, out, _ = _run("diagnose", os.path.join(FIX, "v4.6-arm64-cma-atomic.txt"),
                        "--design", "zone_cma", "--max-states", "50")
    assert code == 3 and "BOUNDED" in out and "HOLDS w=" not in out


def test_not_cma_related_is_not_compared():
    code, out, _ = _run("diagnose", os.path.join(FIX, "v5.10-x86_64-exhaustion.txt"))
    assert code == 0 and "CMA-related: no" in out and "Designs: not compared" in out


def _bad(tmp_path, text: bytes | str, name="r.txt") -> tuple[int, str, str]:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return _run("diagnose", str(p), "--no-explore", "--json", str(tmp_path / "o.json"))


def _one_error(code, out, err, where):
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("mmspec: error: ") and where in err


def test_bad_inputs(tmp_path):
    good = _read("v6.19-arm64-cma-atomic.txt").decode()
    lines = good.splitlines()
    cut = "\n".join(lines[:20]) + "\n"                      # truncated before any zone line
    _one_error(*_bad(tmp_path, cut), "truncated report")
    _one_error(*_bad(tmp_path, good.replace("page allocation failure", "page allocation fail")),
               "no 'page allocation failure")
    _one_error(*_bad(tmp_path, good.replace("free_cma:410400kB", "free_cma:912000kB")),
               "contradictory numbers")
    _one_error(*_bad(tmp_path, good.replace("] Normal free:", "] Nromal free:")), "unknown zone")
    _one_error(*_bad(tmp_path, b""), "empty report")
    _one_error(*_bad(tmp_path, b"\x7fELF\x02\x01\x00\x00" * 50), "binary file")
    _one_error(*_bad(tmp_path, _read("v6.19-oom-kill-not-a-failure.txt")), "OOM-killer report")
    assert not (tmp_path / "o.json").exists()               # nothing half-written


@settings(max_examples=max(60, settings.default.max_examples))
@given(st.data())
def test_fuzz_report_parser(data):
    base = _read(data.draw(st.sampled_from(sorted(os.listdir(FIX))))).decode()
    lines = base.splitlines()
    i = data.draw(st.integers(0, len(lines)))
    junk = data.draw(st.text(max_size=80))
    op = data.draw(st.sampled_from(["insert", "delete", "truncate", "mangle"]))
    if op == "insert":
        lines.insert(i, junk)
    elif op == "delete" and lines:
        del lines[min(i, len(lines) - 1)]
    elif op == "truncate":
        lines = lines[:i]
    elif lines:
        k = min(i, len(lines) - 1)
        j = data.draw(st.integers(0, len(lines[k])))
        lines[k] = lines[k][:j] + junk + lines[k][j:]
    try:
        d = diagnose(parse_report("fuzz.txt", "\n".join(lines).encode()))
        assert d.classification
    except MmspecError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.txt:")
