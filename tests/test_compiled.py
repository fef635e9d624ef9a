"""The compiled engine (mmspec/engine/) against the Python engine (mmspec/explore.py).

The compiled engine traces the same rules (mmspec/kernel.py, models/, checks/) into C and
runs the breadth-first search in C. It must give the Python engine's result exactly:
distinct states, transitions, depth, the parent map in discovery order, verdicts, witness
counts, coverage and every trace -- for every design, at two scopes that between them have
a RECLAIMABLE pageblock, reclaimable slab requests, two and three zones, a non-zero
lowmem_reserve, two direct-reclaim rounds and highest-zone-first filling, and on a capped
prefix of the default scope; at `tiny` every successor list of every reachable state.
Every search has a state cap about twice its size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections import Counter

import pytest

from mmspec import default_scope, designs, explore, get_checks, get_design, parse_scope
from mmspec.cli import main
from mmspec.errors import MmspecError
from mmspec.explore import SearchInterrupted
from mmspec.scope import load_scope, named_scopes
from mmspec.vocab import BLOCKDEV_BUFFER
from test_rule_scope import SCOPE_TOML

DESIGNS = [d.name for d in designs()]

#: a RECLAIMABLE pageblock with reclaimable slab requests, two zones below ZONE_CMA and a
#: non-zero lowmem_reserve (a wrong fallback order or lowmem_reserve index shows here; the
#: facts at this scope are pinned in tests/test_rule_scope.py)
RECLAIMABLE_TOML = SCOPE_TOML


def tiny():
    return load_scope(named_scopes()["tiny"])


def reclaimable():
    return parse_scope(tomllib.loads(RECLAIMABLE_TOML), origin="test scope")


def cli_scope(*args):
    """A scope as the command line builds it (changes to the default scope)."""
    from mmspec.cli import build_parser, scope_from_args
    return scope_from_args(build_parser().parse_args(["scope", *args]))


def two_rounds():
    """tiny, highest zone first, two direct-reclaim rounds, one more GFP_KERNEL page."""
    s = tiny()
    lim = list(s.limits)
    lim[1] = 3
    return s.with_changes(fair_zone_policy=False, direct_reclaim_rounds=2, limits=tuple(lim))


def pins():
    """The cma_alloc checks' scope (Normal = U, M, C, C; pinned blockdev pages) with two
    blockdev pages and cma_alloc off (tested on its own below): pin/unpin, pinned pages neither
    freed nor reclaimed, zone_reclaimable with only pinned LRU pages."""
    from mmspec.check import effective_scope
    s = effective_scope(default_scope(), get_checks(["cma_alloc_no_ebusy"])[0])
    lim = list(s.limits)
    lim[BLOCKDEV_BUFFER] = 2
    return s.with_changes(cma_alloc_pageblocks=0, limits=tuple(lim))


def page_age():
    """The page-age checks' scope (LRU age order; two zones under zone_cma) with pinned
    blockdev pages as well: the oldest page of a zone, the pinned ones skipped."""
    from mmspec.check import effective_scope
    s = effective_scope(default_scope(), get_checks(["page_age_inversion"])[0])
    lim = list(s.limits)
    lim[0] = 0                  # no GFP_ATOMIC: fewer states, the same LRU rules
    return s.with_changes(pin_blockdev=True, limits=tuple(lim))


#: full agreement at these (at tiny every successor list is compared instead, below)
SCOPES = {"reclaimable": reclaimable, "two_rounds": two_rounds, "pins": pins,
          "page_age": page_age}
CAP = 100_000          # every scope above has < 40,000 states for every design


def assert_same(a, b, parents=True):
    """Two Results of the same exploration are identical."""
    sa, sb = a.stats, b.stats
    assert (sa.generated, sa.distinct, sa.depth, sa.complete, sa.stop_reason) == \
        (sb.generated, sb.distinct, sb.depth, sb.complete, sb.stop_reason)
    assert a.coverage == b.coverage
    for ca, cb in zip(a.cells, b.cells, strict=True):
        assert (ca.check.name, ca.verdict, ca.witness_count) == \
            (cb.check.name, cb.verdict, cb.witness_count)
        for ta, tb in ((ca.trace, cb.trace), (ca.witness_trace, cb.witness_trace)):
            assert (ta is None) == (tb is None)
            if ta is not None:
                assert (ta.init, ta.steps, ta.loop_start) == (tb.init, tb.steps, tb.loop_start)
    if parents:
        assert list(a.parents.items()) == list(b.parents.items())


@pytest.mark.parametrize("scope_name", list(SCOPES))
@pytest.mark.parametrize("design", DESIGNS)
def test_engines_agree(design, scope_name):
    scope = SCOPES[scope_name]()
    checks = get_checks(None)
    rc = explore(get_design(design)(scope), checks, engine="compiled", keep_parents=True,
                 max_states=CAP)
    rp = explore(get_design(design)(scope), checks, engine="python", keep_parents=True,
                 max_states=CAP)
    assert rc.stats.complete
    assert_same(rc, rp)


@pytest.mark.parametrize("design", DESIGNS)
def test_capped_prefix_agrees_at_the_default_scope(design):
    """At the default scope (too big for the Python engine in the suite) the first 15,000
    states, their parents and everything found among them agree."""
    checks = get_checks(None)
    rc = explore(get_design(design)(default_scope()), checks, engine="compiled",
                 keep_parents=True, max_states=15_000)
    rp = explore(get_design(design)(default_scope()), checks, engine="python",
                 keep_parents=True, max_states=15_000)
    assert rc.stats.stop_reason == "state cap 15000 reached"
    assert_same(rc, rp)


def _python_successors(model, s):
    return [(a, t, e.ok, e.zone, e.block, Counter(e.paths)) for a, t, e in model.successors(s)]


def _compiled_successors(built, s):
    """The compiled step function's successors of ``s``, in ``_python_successors``' form."""
    sh = built.shape
    got = []
    for a, post, o in built.successors(sh.layout.encode(s)):
        tags = Counter({t: o[sh.off_tag + i] for i, t in enumerate(sh.tags)
                        if o[sh.off_tag + i]})
        got.append((a, sh.layout.decode(post), bool(o[sh.nleaf]), o[sh.nleaf + 1],
                    o[sh.nleaf + 2], tags))
    return got


#: the feature scopes' successor lists for four designs (one zone, two zones, the v5.8 rule,
#: the sticky-movable switch); test_engines_agree covers all ten there
_FEATURE_DESIGNS = ("migrate_cma", "zone_cma", "prefer_cma_v58", "sticky_movable")


@pytest.mark.parametrize("design,scope_name",
                         [(d, "tiny") for d in DESIGNS]
                         + [(d, sc) for sc in ("pins", "page_age") for d in _FEATURE_DESIGNS])
def test_every_successor_list_agrees(design, scope_name):
    """The compiled step function alone, on every reachable state of the tiny scope and of
    the pinned-pages and page-age scopes: the same successors (action with its reclaim choices, next
    state, ok, zone, pageblock, coverage tags) in the same order as
    ``Allocator.successors``."""
    from mmspec.engine.build import build
    model = get_design(design)({"tiny": tiny, "pins": pins, "page_age": page_age}[scope_name]())
    built = build(model, [])
    r = explore(model, [], engine="compiled", keep_parents=True, max_states=CAP)
    for s in r.parents:
        assert _compiled_successors(built, s) == _python_successors(model, s), s


def test_a_hook_the_old_encoding_ignored_is_traced():
    """A design overriding only ``watermark_counts_cma`` (the old symbolic encoding
    accepted it and disagreed with the step function on 53 of 197 states): the tracer runs
    the override itself, so both engines agree."""
    from mmspec.models.migrate_cma import MigrateCma

    class NeverCounts(MigrateCma):
        name = "never_counts"

        def watermark_counts_cma(self, alloc_flags):
            return False

    checks = get_checks(None)
    rc = explore(NeverCounts(tiny()), checks, engine="compiled", keep_parents=True,
                 max_states=CAP)
    rp = explore(NeverCounts(tiny()), checks, engine="python", keep_parents=True,
                 max_states=CAP)
    assert_same(rc, rp)
    plain = explore(MigrateCma(tiny()), [], engine="compiled", max_states=CAP)
    assert rc.stats.distinct != plain.stats.distinct      # the override matters


def test_memory_guard_and_interrupt():
    model = get_design("migrate_cma")(tiny())
    r = explore(model, get_checks(["atomic_while_kswapd_sleeps"]), engine="compiled",
                memory_limit_kib=1)
    assert not r.stats.complete and r.stats.stop_reason.startswith("memory guard")
    assert r.cells[0].verdict.value in ("BOUNDED", "VIOLATED")

    def stop(_):
        raise KeyboardInterrupt
    big = get_design("zone_cma")(cli_scope("--pageblocks", "Normal=U,M,M,M,C,C"))
    with pytest.raises(SearchInterrupted) as exc:
        explore(big, [], engine="compiled", progress=stop, max_states=5_000_000)
    assert exc.value.stats.distinct > 0


@pytest.mark.parametrize("design", ["migrate_cma", "zone_cma"])
def test_engines_agree_on_cma_alloc(design):
    """cma_alloc (alloc_contig_range: isolation, one migration target allocation per page,
    -EBUSY on a pinned or unmovable page, -ENOMEM) on both engines at the cma_alloc
    checks' own scope: migrate_cma reaches -EBUSY and success, zone_cma -ENOMEM."""
    from mmspec.check import effective_scope
    checks = get_checks(["cma_alloc_no_ebusy", "cma_alloc_never_fails"])
    scope = effective_scope(default_scope(), checks[0])
    rc = explore(get_design(design)(scope), checks, engine="compiled", keep_parents=True,
                 max_states=CAP)
    rp = explore(get_design(design)(scope), checks, engine="python", keep_parents=True,
                 max_states=CAP)
    assert rc.stats.complete and dict(rc.coverage).get("cma_alloc: success", 0) > 0
    assert_same(rc, rp)


#: states of the compaction scope each engine explores in the tests below (of 111,456 for
#: migrate_cma; the counterexample, 16 steps deep, lies within them)
_COMPACTION_CAP = 25_000


@pytest.mark.parametrize("design,tag", [("migrate_cma", "compaction: migrate page"),
                                        ("zone_cma", "direct compaction")])
def test_engines_agree_on_direct_compaction(design, tag):
    """Direct compaction (compaction_suitable, compact_zone's passes, isolate_freepages,
    migrate_pages: traced once as functions and called per pass) on both engines at the
    compaction check's own scope: the same states in the same order, the same verdicts,
    witnesses and traces (migrate_cma's counterexample among them)."""
    from mmspec.check import effective_scope
    checks = get_checks(["compaction_empties_unusable_cma"])
    scope = effective_scope(default_scope(), checks[0])
    rc = explore(get_design(design)(scope), checks, engine="compiled", keep_parents=True,
                 max_states=_COMPACTION_CAP)
    rp = explore(get_design(design)(scope), checks, engine="python", keep_parents=True,
                 max_states=_COMPACTION_CAP)
    assert dict(rc.coverage).get(tag, 0) > 0
    assert_same(rc, rp)


def test_successor_lists_agree_where_compaction_runs():
    """The compiled step function alone on every 4th state of migrate_cma's compaction
    scope (up to the cap): the same successors (action and reclaim choices, next state, ok,
    zone, pageblock, coverage tags) in the same order as ``Allocator.successors``, among
    them steps that migrate pages (the function calls' lazy C blocks taken)."""
    from mmspec.check import effective_scope
    from mmspec.engine.build import build
    checks = get_checks(["compaction_empties_unusable_cma"])
    model = get_design("migrate_cma")(effective_scope(default_scope(), checks[0]))
    built = build(model, checks)        # the program test_engines_agree_... built already
    r = explore(model, checks, engine="compiled", keep_parents=True,
                max_states=_COMPACTION_CAP)
    migrated = 0
    for s in list(r.parents)[::4]:
        got = _compiled_successors(built, s)
        assert got == _python_successors(model, s), s
        migrated += sum(t[5]["compaction: migrate page"] > 0 for t in got)
    assert migrated > 0


def test_function_joins_start_within_the_derived_bounds():
    """The traced functions' inputs take the state leaves' derived bounds as their
    domains (mmspec.engine.tracer._fin_dom): on the Python engine, every scratch state at
    a function join's entry lies within them, on every state reached at the compaction
    scope (up to the cap)."""
    from mmspec.check import effective_scope
    from mmspec.engine.lower import leaf_layout
    from mmspec.engine.tracer import FUNC_JOINS
    checks = get_checks(["compaction_empties_unusable_cma"])
    model = get_design("migrate_cma")(effective_scope(default_scope(), checks[0]))
    lay = leaf_layout(model)
    seen = Counter()

    def wrap(name):
        fn = getattr(model, name)

        def checked(w, *args):
            vals = lay.encode(w.freeze())
            bad = [lay.names[i] for i, v in enumerate(vals) if not lay.lo[i] <= v <= lay.hi[i]]
            assert not bad, (name, bad)
            seen[name] += 1
            return fn(w, *args)
        return checked
    for name in FUNC_JOINS:
        setattr(model, name, wrap(name))
    explore(model, checks, engine="python", max_states=_COMPACTION_CAP)
    assert set(seen) == set(FUNC_JOINS), seen


def test_auto_does_not_build_cma_alloc_programs_up_front(tmp_path):
    """compare under --engine auto leaves the costly cma_alloc programs unbuilt (the
    Python engine finishes these scopes in well under a second)."""
    env = dict(os.environ, MMSPEC_CACHE_DIR=str(tmp_path))
    r = _run_cli(["compare", "--check", "cma_alloc_no_ebusy", "--design", "migrate_cma"], env)
    assert r.returncode == 0 and "building" not in r.stderr
    assert not list(tmp_path.glob("*.so"))


def _run_cli(args, env):
    return subprocess.run([sys.executable, "-m", "mmspec"] + args, capture_output=True,
                          text=True, env=env, timeout=300)


def test_no_compiler_falls_back_or_refuses(tmp_path):
    env = dict(os.environ, CC="/nonexistent/cc", MMSPEC_CACHE_DIR=str(tmp_path))
    args = ["check", "--design", "migrate_cma", "--scope", "tiny",
            "--check", "atomic_while_kswapd_sleeps", "--max-states", "20000"]
    auto = _run_cli(args, env)
    py = _run_cli(args + ["--engine", "python"], env)
    assert auto.returncode == py.returncode == 1
    assert auto.stdout == py.stdout
    notes = [ln for ln in auto.stderr.splitlines() if ln.startswith("mmspec: note:")]
    assert len(notes) == 1 and "C compiler" in notes[0]
    comp = _run_cli(args + ["--engine", "compiled"], env)
    assert comp.returncode == 2 and comp.stdout == ""
    errs = comp.stderr.strip().splitlines()
    assert len(errs) == 1 and errs[0].startswith("mmspec: error:") and "C compiler" in errs[0]
    assert "Traceback" not in comp.stderr


def test_corrupted_or_stale_cache_entries_are_rebuilt(tmp_path):
    """Each run in a fresh process, as a user would: a library whose bytes do not match
    its checksum, a missing checksum, or a plan whose source is gone is rebuilt."""
    from mmspec.engine.build import _cached_lib
    env = dict(os.environ, MMSPEC_CACHE_DIR=str(tmp_path))
    args = ["check", "--design", "migrate_cma", "--scope", "tiny", "--engine", "compiled",
            "--check", "atomic_while_kswapd_sleeps", "--max-states", "20000"]
    first = _run_cli(args, env)
    assert first.returncode == 1
    libs = sorted(tmp_path.glob("*.so"))
    assert libs and all(_cached_lib(p) for p in libs)
    for lib in libs:                          # garbage of the same size
        lib.write_bytes(b"\0" * lib.stat().st_size)
    again = _run_cli(args, env)
    assert (again.returncode, again.stdout) == (1, first.stdout)
    assert all(_cached_lib(p) for p in tmp_path.glob("*.so"))
    for sig in tmp_path.glob("*.sha256"):     # checksums lost
        sig.unlink()
    again = _run_cli(args, env)
    assert (again.returncode, again.stdout) == (1, first.stdout)
    for plan in tmp_path.glob("plan-*.json"):  # stale: the plan's source is gone
        plan.write_text(plan.read_text().replace('"src": "', '"src": "0'))
    for c in tmp_path.glob("*.c"):
        c.unlink()
    again = _run_cli(args, env)
    assert (again.returncode, again.stdout) == (1, first.stdout)


def test_out_of_range_leaf_stops_with_one_line(monkeypatch, tmp_path):
    """A bound derived from the scope that the rules exceed stops the run with an error
    naming the counter, never a wrapped value."""
    monkeypatch.setenv("MMSPEC_CACHE_DIR", str(tmp_path))
    from mmspec.engine import lower
    real = lower.leaf_layout

    def tight(model):
        lay = real(model)
        i = lay.names.index("kswapd")
        hi = list(lay.hi)
        hi[i] = 1                 # kswapd RUNNING (2) becomes "impossible"
        return lay.__class__(lay.names, lay.lo, tuple(hi), lay.bools, lay.shape)
    monkeypatch.setattr(lower, "leaf_layout", tight)
    with pytest.raises(MmspecError, match=r"kswapd = 2 is outside its derived range \[0, 1\]"):
        explore(get_design("migrate_cma")(tiny()), [], engine="compiled", max_states=CAP)


def test_list_says_what_the_compiled_engine_covers():
    import io
    out = io.StringIO()
    assert main(["list"], out=out) == 0
    text = out.getvalue()
    assert "Engines (" in text and "  compiled  " in text
    assert "every check but:\n              (none)" in text     # compaction is traced
    assert "z3        bmc: every design and every check" in text
    assert "page_age_inversion (" not in text      # page ages are traced
    assert "programs of cma_alloc_no_ebusy, cma_alloc_never_fails only for" in text
