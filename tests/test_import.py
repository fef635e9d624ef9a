"""mmspec import on /proc and /sys copies written from the kernels' print code (v4.6 and
v6.19 zoneinfo/pagetypeinfo/buddyinfo, meminfo, vm sysctls, CMA sysfs), tarballs, bad input
and parser fuzzing."""

from __future__ import annotations

import io
import os
import tarfile
import tomllib
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmspec.cli import main
from mmspec.errors import MmspecError
from mmspec.machine.importer import machine_scopes, read_source
from mmspec.machine.procfs import parse_files
from mmspec.machine.scaling import scale_blocks, scale_marks
from mmspec.scope import find_scope_file, load_scope, parse_scope
from mmspec.vocab import Migratetype, ZoneType

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "machines")


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


def _scope(text: str):
    return parse_scope(tomllib.loads(text), origin="test")


def _blocks(scope, zt):
    z = scope.zone(zt)
    return len(z.pageblocks), sum(b == Migratetype.MIGRATE_CMA for b in z.pageblocks)


def test_v619_full_scale():
    m = parse_files(read_source(os.path.join(FIX, "v6.19-arm64")))
    full, small, summary = machine_scopes(m, unit=Fraction(16384))
    s = _scope(full)
    assert s.pages_per_pageblock == 512 and not s.fair_zone_policy
    assert _blocks(s, ZoneType.ZONE_DMA32) == (1536, 256)          # managed 786432, cma 131072
    assert s.zone(ZoneType.ZONE_DMA32).watermarks == (1137, 1923, 2709)
    assert dict(s.zone(ZoneType.ZONE_DMA32).lowmem_reserve)[ZoneType.ZONE_NORMAL] == 3840
    assert "kernel version implied by the formats: v6.14..v6.19" in full
    mt = s.machine_table()              # [machine]: what the model's rules do not use
    assert mt["kernel"] == "v6.14..v6.19" and "zoneinfo has boost" in mt["kernel_evidence"][1]
    assert mt["cma"]["reserved"]["total_pages"] == 131072
    assert mt["tunables"]["min_free_kbytes"] == 10240
    assert mt["tunables"]["lowmem_reserve_ratio"] == [256, 256, 32, 0, 0]
    assert mt["meminfo_kB"]["CmaTotal"] == 524288
    assert mt["zones"]["Normal"]["reserved_highatomic"] == 1024
    assert mt["zones"]["DMA32"]["per_cpu_pages"] == 509
    assert mt["zones"]["Normal"]["pageblocks_by_type"]["HighAtomic"] == 2
    sm = _scope(small)
    assert _blocks(sm, ZoneType.ZONE_DMA32) == (24, 4) and "rounding:" in small
    assert sm.machine_table()["scaled_unit_pages"] == 16384


def test_v46_version_and_fair_policy():
    m = parse_files(read_source(os.path.join(FIX, "v4.6-arm64")))
    full, _, _ = machine_scopes(m)
    s = _scope(full)
    assert s.fair_zone_policy and str(m.version) == "v4.0..v4.7"
    assert _blocks(s, ZoneType.ZONE_DMA) == (483, 128)


def _import(tmp_path, machine: str) -> tuple[str, str]:
    full, small = tmp_path / f"{machine}.toml", tmp_path / f"{machine}-small.toml"
    code, out, err = _run("import", os.path.join(FIX, machine), "--full", str(full),
                          "--scaled", str(small), "--unit", "16384")
    assert code == 0 and out == "", err
    return str(full), str(small)


#: (fixture, its zones in the model with their imported min/low/high, zones it lacks)
MACHINES = [("v4.6-arm64", {"DMA": "994/1242/1490"}, ("DMA32", "Normal", "Movable")),
            ("v6.19-arm64", {"DMA32": "1137/1923/2709", "Normal": "1422/2405/3388"},
             ("DMA ", "Movable"))]


@pytest.mark.parametrize("machine, zones, absent", MACHINES, ids=[m[0] for m in MACHINES])
def test_an_imported_file_is_exactly_the_machine(tmp_path, machine, zones, absent):
    full, small = _import(tmp_path, machine)
    for path in (full, small):          # loaded as a user loads it (mmspec.scope.load_scope)
        s = load_scope(path)
        assert {z.zone_type.label for z in s.zones if z.pageblocks} == set(zones)
        assert s.machine_table()["zones"]         # [machine] kept
    code, out, _ = _run("scope", "--scope", full)
    assert code == 0 and "\n[machine]\n" in out and "[machine.zones." in out
    # the request limits it writes: the scope tiny's workload, not whatever the default holds
    assert s.limits == load_scope(find_scope_file("tiny")).limits


@pytest.mark.parametrize("machine, zones, absent", MACHINES, ids=[m[0] for m in MACHINES])
def test_simulate_and_claims_run_on_an_imported_machine(tmp_path, machine, zones, absent):
    full, small = _import(tmp_path, machine)
    # claims at full scale on the 1 GiB board; on the 7 GiB one its GFP_KERNEL prefix (296960
    # pages per design) takes about a minute, so claims runs on its scaled-down file there
    runs = [("simulate", full), ("claims", full if machine == "v4.6-arm64" else small)]
    for cmd, path in runs:
        code, out, err = _run(cmd, "--scope", path, "--allocations", "300")
        assert code == 0, err
        wm = next(ln for ln in out.splitlines() if ln.startswith("watermarks min/low/high"))
        if path == full:
            for lab, marks in zones.items():
                assert f"{lab} {marks}" in wm, (lab, wm)
        assert [z.split()[0] for z in wm.split("  ")[-1].split(", ")
                if not z.startswith("CMA ")] == list(zones), wm        # zone_cma's column
        assert not any(a in wm for a in absent), wm
        assert "memory: imported scope" in out
    assert "none within 300" in out or "GFP_ATOMIC fails" in out or "kswapd woken" in out


def test_rounding_rule():
    assert scale_marks((994, 1242, 1490), Fraction(8192)) == (1, 2, 3)
    assert scale_marks((0, 0, 0), Fraction(10)) == (0, 0, 0)
    assert scale_blocks(247296, 65536, Fraction(8192), 2) == (15, 4)
    assert scale_blocks(1000, 10, Fraction(1000), 2) == (1, 0)      # one block: no CMA left


def test_cli_tarball_and_outputs(tmp_path):
    tb = tmp_path / "m.tar.gz"
    with tarfile.open(tb, "w:gz") as tf:
        tf.add(os.path.join(FIX, "v6.19-arm64"), arcname="snap")
    out_full, out_small = tmp_path / "full.toml", tmp_path / "small.toml"
    code, out, err = _run("import", str(tb), "--full", str(out_full), "--scaled", str(out_small),
                          "--unit", "64M")
    assert code == 0, err
    assert out == "" and _scope(out_full.read_text()).pages_per_pageblock == 512
    assert "1 model page = 16384 real pages" in out_small.read_text()
    code, out2, _ = _run("import", os.path.join(FIX, "v6.19-arm64"))       # to stdout
    assert code == 0 and _scope(out2).zone(ZoneType.ZONE_NORMAL).watermarks == (1422, 2405, 3388)


def _text(*parts: str) -> str:
    with open(os.path.join(FIX, *parts)) as fh:
        return fh.read()


def _one_error(code, out, err, where):
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("mmspec: error: ") and where in err


def test_bad_inputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_error(*_run("import", str(empty)), "empty directory")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "zoneinfo").write_bytes(b"\x00\x01\x02" * 100)
    _one_error(*_run("import", str(tmp_path / "bin")), "binary file")
    src = _text("v4.6-arm64", "zoneinfo")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "zoneinfo").write_text(src.replace("zone      DMA", "zone   Foo"))
    _one_error(*_run("import", str(tmp_path / "bad")), "unknown zone name 'Foo'")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello\n")
    _one_error(*_run("import", str(tmp_path / "junk")), "no /proc or /sys file recognised")
    _one_error(*_run("import", str(tmp_path / "missing.tar")), "missing.tar:0:")
    out = tmp_path / "o.toml"
    _one_error(*_run("import", str(tmp_path / "bad"), "--full", str(out)), "zoneinfo:1")
    assert not out.exists()


@settings(max_examples=max(60, settings.default.max_examples))
@given(st.data())
def test_fuzz_procfs_parsers(data):
    name = data.draw(st.sampled_from(["zoneinfo", "pagetypeinfo", "buddyinfo"]))
    base = _text("v6.19-arm64", "proc", name).splitlines()
    i = data.draw(st.integers(0, len(base)))
    junk = data.draw(st.text(max_size=60))
    if data.draw(st.booleans()):
        base.insert(i, junk)
    elif base:
        k = min(i, len(base) - 1)
        base[k] = base[k][: len(base[k]) // 2] + junk
    try:
        m = parse_files({f"proc/{name}": "\n".join(base).encode()})
        machine_scopes(m)
    except MmspecError as exc:
        assert "\n" not in str(exc)
