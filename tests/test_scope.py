"""Scope files: one-line ScopeError messages for every malformed input, TOML round trip,
and how each design maps a scope onto its zones (derived watermarks, lowmem_reserve)."""

from __future__ import annotations

import copy
import re
import tomllib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mmspec import get_design
from mmspec.errors import MmspecError, ScopeError
from mmspec.scope import (DEFAULT_SCOPE_TOML, Scope, ZoneSpec, default_scope, load_scope,
                          parse_scope)
from mmspec.vocab import GFP_CLASSES, Migratetype, ZoneType

BASE = tomllib.loads(DEFAULT_SCOPE_TOML)


def _with(mod):
    d = copy.deepcopy(BASE)
    mod(d)
    return d


def _set(path, value):
    def mod(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return mod


# (mutation of the default scope, fragments the one-line message must contain)
BAD = [
    pytest.param(_set(["bogus"], 1), ["unknown key 'bogus'", "known keys"], id="unknown top key"),
    pytest.param(_set(["zones", "Normal", "colour"], 1), ["unknown key 'colour'", "[zones.Normal]"],
                 id="unknown zone key"),
    pytest.param(_set(["derive_watermarks"], {"foo": 1}), ["unknown key 'foo'", "derive_watermarks"],
                 id="unknown derive key"),
    pytest.param(_set(["pages_per_pageblock"], -2), ["pages_per_pageblock", ">= 2", "-2"],
                 id="negative pages_per_pageblock"),
    pytest.param(_set(["requests", "GFP_ATOMIC"], -1), ["requests.GFP_ATOMIC", ">= 0", "-1"],
                 id="negative request limit"),
    pytest.param(_set(["zones", "Normal", "watermarks"], [-1, 2, 4]),
                 ["zones.Normal.watermarks", ">= 0", "-1"], id="negative watermark"),
    pytest.param(_set(["zones", "Normal", "lowmem_reserve"], {"CMA": -3}),
                 ["lowmem_reserve.CMA", ">= 0", "-3"], id="negative lowmem_reserve"),
    pytest.param(_set(["direct_reclaim_rounds"], 0), ["direct_reclaim_rounds", ">= 1"],
                 id="zero direct_reclaim_rounds"),
    pytest.param(_set(["kswapd_reclaim_batch"], -5), ["kswapd_reclaim_batch", ">= 1", "-5"],
                 id="negative kswapd_reclaim_batch"),
    pytest.param(_set(["zones", "Normal", "watermarks"], [3, 2, 4]),
                 ["zones.Normal.watermarks", "impossible", "min <= low <= high"], id="min > low"),
    pytest.param(_set(["zones", "Normal", "watermarks"], [2, 5, 4]),
                 ["zones.Normal.watermarks", "impossible", "min <= low <= high"], id="low > high"),
    pytest.param(_set(["zones", "Normal", "watermarks"], [2, 3]),
                 ["zones.Normal.watermarks", "[min, low, high]"], id="two watermarks"),
    pytest.param(_set(["pages_per_pageblock"], 6), ["power of two", "6"], id="ppb 6"),
    pytest.param(_set(["pages_per_pageblock"], 12), ["power of two", "12"], id="ppb 12"),
    pytest.param(_set(["pages_per_pageblock"], True), ["pages_per_pageblock", "integer"],
                 id="ppb bool"),
    pytest.param(_set(["zones", "Normal", "pageblocks"], ["UNMOVABLE", "SPARKLY"]),
                 ["'SPARKLY'", "UNMOVABLE, MOVABLE, RECLAIMABLE, CMA"], id="unknown migratetype"),
    pytest.param(_set(["zones", "Normal", "pageblocks"], ["HIGHATOMIC"]),
                 ["'HIGHATOMIC'"], id="HIGHATOMIC pageblock"),
    pytest.param(_set(["zones", "Normal", "pageblocks"], ["ISOLATE"]),
                 ["'ISOLATE'"], id="ISOLATE pageblock"),
    pytest.param(_set(["zones", "Normal", "pageblocks"], "CMA"),
                 ["zones.Normal.pageblocks", "list"], id="pageblocks not a list"),
    pytest.param(_set(["requests", "GFP_NOWAIT"], 1), ["unknown request class 'GFP_NOWAIT'"],
                 id="unknown request class"),
    pytest.param(lambda d: d["requests"].update({k: 0 for k in d["requests"]}),
                 ["every request class is disabled"], id="all classes disabled"),
    pytest.param(_set(["zones", "Highmem"], {"pageblocks": ["MOVABLE"]}),
                 ["unknown zone 'Highmem'"], id="unknown zone"),
    pytest.param(_set(["zones"], {}), ["[zones."], id="no zones"),
    pytest.param(_set(["zones"], {"CMA": {"watermarks": [1, 2, 3]}}), ["no zone has pageblocks"],
                 id="no pageblocks"),
    pytest.param(_set(["zones", "NORMAL"], {"pageblocks": ["MOVABLE"]}), ["zone Normal is given twice"],
                 id="zone twice"),
    pytest.param(_set(["zones", "CMA", "pageblocks"], ["CMA"]),
                 ["[zones.CMA] takes only watermarks"], id="pageblocks in zones.CMA"),
    pytest.param(_set(["zones", "Normal", "lowmem_reserve"], {"Foo": 3}),
                 ["lowmem_reserve names unknown zone 'Foo'"], id="lowmem_reserve unknown zone"),
    pytest.param(_set(["fair_zone_policy"], "yes"), ["fair_zone_policy", "true or false"],
                 id="fair_zone_policy string"),
    pytest.param(_set(["orders"], [2]), ["order 2 is not modelled", "pageblock_order (1)"],
                 id="unmodelled order"),
    pytest.param(_set(["orders"], []), ["orders", "non-empty"], id="empty orders"),
    pytest.param(_set(["derive_watermarks"], {"watermark_scale_factor": 5000}),
                 ["watermark_scale_factor 5000", "1000"], id="wsf above sysctl max"),
    pytest.param(_set(["derive_watermarks"], {"watermark_scale_factor": 0}),
                 ["watermark_scale_factor", ">= 1"], id="wsf zero"),
    pytest.param(_set(["requests"], [1, 2]), ["[requests]", "table"], id="requests not a table"),
]


@pytest.mark.parametrize("mod, fragments", BAD)
def test_parse_errors_are_one_line_and_named(mod, fragments):
    with pytest.raises(ScopeError) as ei:
        parse_scope(_with(mod), origin="my.toml")
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith("my.toml: ")
    for f in fragments:
        assert f in msg, (f, msg)


def test_scope_error_is_an_mmspec_error():
    assert issubclass(ScopeError, MmspecError)


# ------------------------------------------------------------------------------------------
# Files.

def test_load_scope_missing_file(tmp_path):
    p = tmp_path / "nope.toml"
    with pytest.raises(ScopeError) as ei:
        load_scope(str(p))
    msg = str(ei.value)
    assert "\n" not in msg and str(p) in msg and "does not exist" in msg


def test_load_scope_directory(tmp_path):
    with pytest.raises(ScopeError, match="is a directory"):
        load_scope(str(tmp_path))


@pytest.mark.parametrize("text", [
    "pages_per_pageblock = \n",
    "[zones.Normal\npageblocks = []\n",
    "x = [1, 2\n",
    "a = 1\na = 2\n",
])
def test_load_scope_bad_toml(tmp_path, text):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ScopeError) as ei:
        load_scope(str(p))
    msg = str(ei.value)
    assert "\n" not in msg
    assert "not valid TOML" in msg and str(p) in msg


def test_load_scope_not_utf8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes(b"# caf\xe9\npages_per_pageblock = 2\n")
    with pytest.raises(ScopeError) as ei:
        load_scope(str(p))
    assert "\n" not in str(ei.value) and str(p) in str(ei.value)


def test_load_scope_semantic_error_names_the_file(tmp_path):
    p = tmp_path / "wm.toml"
    p.write_text(DEFAULT_SCOPE_TOML.replace("watermarks = [2, 3, 4]", "watermarks = [5, 3, 4]"))
    with pytest.raises(ScopeError) as ei:
        load_scope(str(p))
    assert str(ei.value).startswith(f"{p}: zones.Normal.watermarks [5, 3, 4] are impossible")


def test_load_scope_reads_default_text(tmp_path):
    p = tmp_path / "default.toml"
    p.write_text(DEFAULT_SCOPE_TOML)
    assert load_scope(str(p)) == default_scope()


# ------------------------------------------------------------------------------------------
# The default scope and the round trip.

def test_default_scope_contents():
    s = default_scope()
    U, M, C = Migratetype.MIGRATE_UNMOVABLE, Migratetype.MIGRATE_MOVABLE, Migratetype.MIGRATE_CMA
    assert s.pages_per_pageblock == 2 and s.pageblock_order == 1
    assert s.zones == (ZoneSpec(ZoneType.ZONE_NORMAL, (U, M, M, C, C), (2, 3, 4)),
                       ZoneSpec(ZoneType.ZONE_CMA, (), (1, 2, 3)))
    assert s.limits == (1, 3, 4, 2, 0, 0)   # KERNEL_HIGH (high-order) off; tiny has 1/2/3/1
    assert s.fair_zone_policy is True
    assert s.direct_reclaim_rounds == 1 and s.kswapd_reclaim_batch == 1
    assert s.orders == (0,) and s.derive == () and s.extra == ()


def test_default_scope_round_trips_through_toml():
    s = default_scope()
    text = s.to_toml()
    again = parse_scope(tomllib.loads(text))
    assert again == s
    assert again.to_toml() == text


def test_rich_scope_round_trips_through_toml():
    text = """\
pages_per_pageblock = 4
fair_zone_policy = false
direct_reclaim_rounds = 3
kswapd_reclaim_batch = 2
orders = [2, 0]

[zones.DMA32]
pageblocks = ["MOVABLE", "RECLAIMABLE"]
lowmem_reserve = { Normal = 7, CMA = 9 }

[zones.Normal]
pageblocks = ["U", "MIGRATE_MOVABLE", "CMA"]
watermarks = [0, 0, 5]

[derive_watermarks]
min_free_kbytes = 1024
watermark_scale_factor = 50
cma_in_boot_basis = true

[requests]
atomic = 1
GFP_KERNEL = 4
SLAB = 2

[design]
variant = "x"
strict = true
"""
    s = parse_scope(tomllib.loads(text))
    assert s.orders == (0, 2)
    assert s.limits == (1, 4, 0, 0, 2, 0)
    assert s.zone(ZoneType.ZONE_DMA32).lowmem_reserve == ((ZoneType.ZONE_CMA, 9),
                                                          (ZoneType.ZONE_NORMAL, 7))
    assert s.zone(ZoneType.ZONE_NORMAL).pageblocks == (Migratetype.MIGRATE_UNMOVABLE,
                                                        Migratetype.MIGRATE_MOVABLE,
                                                        Migratetype.MIGRATE_CMA)
    assert s.option("variant") == "x" and s.option("strict") is True
    assert s.option("missing", 42) == 42
    again = parse_scope(tomllib.loads(s.to_toml()))
    assert again == s


def test_scope_is_hashable_and_with_changes():
    s = default_scope()
    t = s.with_changes(fair_zone_policy=False)
    assert hash(s) == hash(default_scope())
    assert t != s and t.fair_zone_policy is False and s.fair_zone_policy is True


# ------------------------------------------------------------------------------------------
# Design layouts built from a scope.

def test_default_layouts():
    mc = get_design("migrate_cma")(default_scope())
    assert [(z.ztype, z.managed, z.wmark, z.blocks) for z in mc.layout] == [
        (ZoneType.ZONE_NORMAL, 10, (2, 3, 4), (0, 1, 1, 4, 4))]
    zc = get_design("zone_cma")(default_scope())
    # ZONE_CMA takes the two CMA pageblocks as MIGRATE_MOVABLE; Normal keeps U, M, M
    assert [(z.ztype, z.managed, z.wmark, z.blocks) for z in zc.layout] == [
        (ZoneType.ZONE_NORMAL, 6, (2, 3, 4), (0, 1, 1)),
        (ZoneType.ZONE_CMA, 4, (1, 2, 3), (1, 1))]
    # lowmem_reserve_Normal[ZONE_CMA] = 4 // 32 = 0
    assert zc.layout[0].lowmem_reserve[ZoneType.ZONE_CMA] == 0


DERIVED = """\
pages_per_pageblock = 64
[zones.Normal]
pageblocks = ["UNMOVABLE", "MOVABLE", "CMA", "CMA"]
[derive_watermarks]
min_free_kbytes = 64
watermark_scale_factor = 1000
[requests]
GFP_KERNEL = 1
GFP_HIGHUSER_MOVABLE = 1
"""


def test_derived_wmarks_migrate_cma_boot_basis_excludes_cma():
    # managed at boot = 2 * 64 = 128 (CMA not yet managed); pages_min = 64 // 4 = 16;
    # tmp = 16; gap = max(16 >> 2 = 4, 128 * 1000 // 10000 = 12) = 12 -> 16 / 28 / 40
    m = get_design("migrate_cma")(parse_scope(tomllib.loads(DERIVED)))
    assert m.layout[0].managed == 256
    assert m.layout[0].wmark == (16, 28, 40)


def test_derived_wmarks_migrate_cma_with_cma_in_basis():
    # cma_in_boot_basis: managed 256; tmp = 16; gap = max(4, 256 * 1000 // 10000 = 25) = 25
    text = DERIVED.replace("watermark_scale_factor = 1000",
                           "watermark_scale_factor = 1000\ncma_in_boot_basis = true")
    m = get_design("migrate_cma")(parse_scope(tomllib.loads(text)))
    assert m.layout[0].wmark == (16, 41, 66)


def test_derived_wmarks_zone_cma():
    # Normal 128 + ZONE_CMA 128 pages, both lowmem: tmp = 16 * 128 // 256 = 8;
    # gap = max(8 >> 2 = 2, 128 * 1000 // 10000 = 12) = 12 -> 8 / 20 / 32 for both zones;
    # lowmem_reserve_Normal[ZONE_CMA] = 128 // 32 = 4
    m = get_design("zone_cma")(parse_scope(tomllib.loads(DERIVED)))
    assert [(z.ztype, z.managed, z.wmark) for z in m.layout] == [
        (ZoneType.ZONE_NORMAL, 128, (8, 20, 32)), (ZoneType.ZONE_CMA, 128, (8, 20, 32))]
    assert m.layout[0].lowmem_reserve[ZoneType.ZONE_CMA] == 4
    assert m.layout[1].lowmem_reserve[ZoneType.ZONE_CMA] == 0


def test_derived_min_free_kbytes_from_lowmem():
    # no min_free_kbytes: migrate_cma lowmem = 128 pages * 4 KiB = 512 KiB;
    # isqrt(16 * 512) = 90 -> clamped to 128 KiB -> pages_min 32; tmp 32;
    # gap = max(8, 12) = 12 -> 32 / 44 / 56
    text = DERIVED.replace("min_free_kbytes = 64\n", "")
    m = get_design("migrate_cma")(parse_scope(tomllib.loads(text)))
    assert m.layout[0].wmark == (32, 44, 56)


def test_explicit_lowmem_reserve_overrides_derived():
    text = DERIVED.replace('"CMA", "CMA"]\n', '"CMA", "CMA"]\nlowmem_reserve = { CMA = 3 }\n')
    assert "lowmem_reserve = { CMA = 3 }" in text
    m = get_design("zone_cma")(parse_scope(tomllib.loads(text)))
    assert m.layout[0].lowmem_reserve[ZoneType.ZONE_CMA] == 3      # derived value would be 4


def test_design_rejects_scope_without_zone_for_a_class():
    text = """\
[zones.Movable]
pageblocks = ["MOVABLE", "MOVABLE"]
watermarks = [0, 1, 2]
[requests]
GFP_KERNEL = 1
"""
    s = parse_scope(tomllib.loads(text))
    with pytest.raises(ScopeError) as ei:
        get_design("migrate_cma")(s)
    assert "\n" not in str(ei.value) and "GFP_KERNEL" in str(ei.value)


def test_scope_dataclass_defaults():
    s = Scope()
    assert s.pageblock_order == 1
    assert Scope(pages_per_pageblock=512).pageblock_order == 9


# ------------------------------------------------------------------------------------------
# One semantics for files and flags: changes to the default scope.

from mmspec.scope import (find_scope_file, merge_scope_data, named_scopes,  # noqa: E402
                          read_scope_data, resolve_scope, scope_names)


def _load_text(tmp_path, text: str) -> Scope:
    p = tmp_path / "s.toml"
    p.write_text(text)
    return load_scope(str(p))


def test_a_partial_file_keeps_the_default_for_what_it_omits(tmp_path):
    s = _load_text(tmp_path, "[requests]\nGFP_KERNEL = 1\n")
    d = default_scope()
    assert s.limits == (d.limits[0], 1) + d.limits[2:]      # not 0 for the omitted classes
    assert s.zones == d.zones and s.fair_zone_policy == d.fair_zone_policy


def test_a_zone_given_pageblocks_only_keeps_the_defaults_watermarks(tmp_path):
    s = _load_text(tmp_path, '[zones.NORMAL]\npageblocks = ["U", "C"]\n')
    assert s.zone(ZoneType.ZONE_NORMAL).watermarks == (2, 3, 4)
    assert s.zone(ZoneType.ZONE_NORMAL).pageblocks == (Migratetype.MIGRATE_UNMOVABLE,
                                                        Migratetype.MIGRATE_CMA)


def test_derived_watermarks_on_request(tmp_path):
    s = _load_text(tmp_path, '[zones.Normal]\nwatermarks = "derived"\n')
    assert s.zone(ZoneType.ZONE_NORMAL).watermarks is None
    m = get_design("migrate_cma")(s)
    # min_free_kbytes 128 -> pages_min 32, gap max(32 >> 2, 6 * 10 // 10000) = 8: degenerate
    assert m.layout[0].wmark == (32, 40, 48)


def test_pageblocks_empty_removes_a_zone_and_to_toml_says_so(tmp_path):
    s = _load_text(tmp_path, '[zones.Normal]\npageblocks = []\nwatermarks = "derived"\n'
                   '[zones.DMA32]\npageblocks = ["U", "M", "C"]\nwatermarks = [1, 2, 3]\n')
    assert [z.zone_type for z in s.zones if z.pageblocks] == [ZoneType.ZONE_DMA32]
    text = s.to_toml()
    assert "[zones.Normal]\npageblocks = []" in text
    assert _load_text(tmp_path, text) == s


def test_pageblocks_empty_alone_removes_a_zone_with_its_default_watermarks(tmp_path):
    # the documented removal: the zone's whole table goes (the default's watermarks too)
    text = '[zones.Normal]\npageblocks = []\n[zones.DMA32]\npageblocks = ["U", "M", "C"]\n'
    s = _load_text(tmp_path, text)
    assert [z.zone_type for z in s.zones if z.pageblocks] == [ZoneType.ZONE_DMA32]
    assert s.zone(ZoneType.ZONE_NORMAL) is None
    with pytest.raises(ScopeError, match="zones.Normal has watermarks but no pageblocks"):
        _load_text(tmp_path, text.replace("[]", "[]\nwatermarks = [1, 2, 3]"))


def test_a_complete_file_is_not_merged_onto_the_default(tmp_path):
    text = ('complete = true\n[zones.DMA32]\npageblocks = ["U", "M", "C"]\n'
            "watermarks = [1, 2, 3]\n[requests]\nGFP_KERNEL = 1\n")
    s = _load_text(tmp_path, text)
    assert [z.zone_type for z in s.zones] == [ZoneType.ZONE_DMA32]      # no Normal, no CMA
    assert s.limits == tuple(int(c.name == "GFP_KERNEL") for c in GFP_CLASSES)  # others 0
    assert s == parse_scope(tomllib.loads(text))                       # the whole scope
    assert _load_text(tmp_path, s.to_toml()) == s                      # and it loads back
    with pytest.raises(ScopeError, match="complete must be true or false"):
        _load_text(tmp_path, 'complete = "yes"\n')


def test_machine_table_is_kept_shown_and_not_part_of_the_model(tmp_path):
    text = ('[machine]\nkernel = "v6.14..v6.19"\nevidence = ["a \\"quoted\\" line", "b"]\n'
            '[machine.zones.DMA32]\nreserved_highatomic = 1024\nfree = 12.5\n'
            '[machine.cma."area.0"]\ntotal_pages = 65536\n')
    s = _load_text(tmp_path, text)
    table = tomllib.loads(text)["machine"]
    assert s.machine_table() == table
    assert s == default_scope() and hash(s) == hash(default_scope())   # same model
    assert "machine" not in repr(s)
    shown = s.to_toml()
    assert "[machine.zones.DMA32]\nfree = 12.5\nreserved_highatomic = 1024" in shown
    assert _load_text(tmp_path, shown).machine_table() == table
    for bad, needle in (('[machine]\nx = [[1]]\n', "array of strings"),
                        ("[machine]\nd = 2020-01-01\n", "got date"),
                        ("[machine.a.b.c.d]\ne = 1\n", "more than 4 deep"),
                        ("machine = 3\n", "[machine] must be a table")):
        with pytest.raises(ScopeError, match=re.escape(needle)):
            _load_text(tmp_path, bad)


def test_to_toml_loads_back_for_any_scope(tmp_path):
    for scope in (default_scope(), default_scope().with_changes(fair_zone_policy=False),
                  parse_scope(tomllib.loads(DERIVED)), parse_scope(tomllib.loads(
                      '[zones.Movable]\npageblocks = ["M"]\n[requests]\nGFP_HIGHUSER_MOVABLE = 1\n'))):
        assert _load_text(tmp_path, scope.to_toml()) == scope


def test_merge_is_zone_by_zone_and_class_by_class():
    base = tomllib.loads(DEFAULT_SCOPE_TOML)
    d = merge_scope_data(base, {"zones": {"NORMAL": {"watermarks": [1, 1, 1]}},
                                "requests": {"atomic": 0}})
    assert d["zones"]["Normal"] == {"pageblocks": base["zones"]["Normal"]["pageblocks"],
                                    "watermarks": [1, 1, 1]}
    assert d["requests"]["GFP_ATOMIC"] == 0 and "atomic" not in d["requests"]
    with pytest.raises(ScopeError, match="zone Normal is given twice"):
        merge_scope_data(base, {"zones": {"Normal": {}, "NORMAL": {}}}, origin="x")


@pytest.mark.parametrize("text, needle", [
    ('[zones.Normal]\nwatermarks = [1, 2, 11]\n', "exceed the zone's 10 pages"),
    ('[zones.CMA]\nwatermarks = [1, 2, 11]\n', "exceed the zone's 10 pages (the scope's memory)"),
    ('[zones.DMA]\nwatermarks = [1, 2, 3]\n', "zones.DMA has watermarks but no pageblocks"),
    ('[zones.DMA32]\nlowmem_reserve = { Normal = 1 }\n', "has lowmem_reserve but no pageblocks"),
    ('[zones.Normal]\nwatermarks = "formulas"\n', 'or "derived"'),
])
def test_impossible_watermarks_are_errors(tmp_path, text, needle):
    with pytest.raises(ScopeError) as ei:
        _load_text(tmp_path, text)
    assert needle in str(ei.value) and "\n" not in str(ei.value)


def test_deeply_nested_toml_is_a_one_line_error(tmp_path):
    p = tmp_path / "deep.toml"
    p.write_text("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n")
    with pytest.raises(ScopeError, match="too deeply"):
        read_scope_data(str(p))


def test_named_scopes():
    assert {"tiny", "compaction"} <= set(named_scopes())
    assert scope_names(default_scope())[0] == "default"
    assert scope_names(load_scope(find_scope_file("compaction"))) == ["compaction"]
    assert scope_names(default_scope().with_changes(fair_zone_policy=False)) == []
    assert resolve_scope() == default_scope()


_MVAL = st.one_of(st.text(max_size=12), st.integers(-2 ** 63, 2 ** 63 - 1), st.booleans(),
                  st.floats(allow_nan=False))
_MTAB = st.recursive(st.dictionaries(st.text(max_size=6), st.one_of(_MVAL, st.lists(_MVAL,
                                                                                    max_size=3)),
                                     max_size=3),
                     lambda t: st.dictionaries(st.text(max_size=6), t, max_size=2), max_leaves=6)


def _depth(t) -> int:
    return 1 + max((_depth(v) for v in t.values() if isinstance(v, dict)), default=0)


@settings(max_examples=max(100, settings.default.max_examples), deadline=None)
@given(_MTAB)
def test_any_machine_table_is_written_back_as_it_was_read(table):
    assume(_depth(table) <= 4)
    s = parse_scope({**BASE, "machine": table})
    assert parse_scope(tomllib.loads(s.to_toml())).machine_table() == table
