"""Full-scale simulation (mmspec.simulate): the same step function, a scripted workload.

Small sizes here (CI); the 1 GiB run is `mmspec simulate` / bench/bench_symbolic.py.
"""

import io

import pytest

from mmspec import registry
from mmspec.cli import main
from mmspec.simulate import FullScale, atomic_run, cma_in_use, free_pages, full_scale_scope, \
    sim_model, simulate
from mmspec.state import ALLOC, KSWAPD, Action
from mmspec.vocab import GFP_HIGHUSER_MOVABLE, GFP_KERNEL

SMALL = FullScale(pages=4096, cma_pages=2048, pages_per_pageblock=64)


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = main(argv, out, err)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("design", ["migrate_cma", "zone_cma"])
def test_sim_model_is_the_first_branch_of_the_explicit_successors(design):
    """The simulation's only overrides (reclaim victim = first LRU candidate, no interning)
    give exactly the first successor the unmodified design enumerates for the same action."""
    dcls = registry.get_design(design)
    fs = FullScale(pages=256, cma_pages=128, pages_per_pageblock=16)
    scope = full_scale_scope(dcls, fs)
    plain, sim = dcls(scope), sim_model(dcls, scope)
    s = plain.init_states()[0]
    kinds = {"kswapd": 0, "victims": 0}
    for i in range(900):
        a = Action(ALLOC, GFP_KERNEL if i % 4 == 3 else GFP_HIGHUSER_MOVABLE)
        for act in ([a, Action(KSWAPD)] if s.kswapd else [a]):
            if act.kind == KSWAPD and s.kswapd == 0:
                continue
            want = next((t, e) for b, t, e in plain.successors(s)
                        if b.kind == act.kind and b.cls == act.cls)
            got = sim._run(s, act, None)
            assert got == want
            kinds["kswapd"] += act.kind == KSWAPD
            s = got[0]
    assert kinds["kswapd"] > 10          # kswapd ran and reclaimed along the way
    assert free_pages(s) < 256


def test_small_scale_utilization_contrast():
    mig = simulate("migrate_cma", SMALL, ratio=7, allocations=8192)
    zc = simulate("zone_cma", SMALL, ratio=7, allocations=8192)
    (_, _, (mn, low, high), _), = mig.wmarks
    # MIGRATE_CMA: kswapd is woken by a GFP_KERNEL request once free - free_cma <= low, with
    # the whole CMA area still free (C1, C2)
    assert mig.first_wake_cma_used == 0
    assert SMALL.cma_pages + low - 8 <= mig.first_wake_free <= SMALL.cma_pages + low
    assert mig.wakes > 1 and mig.wake_free_min >= SMALL.cma_pages
    # ZONE_CMA: the CMA zone is used before kswapd is first woken
    assert zc.first_wake_cma_used > SMALL.cma_pages // 2
    assert zc.first_wake_free < mig.first_wake_free // 4
    assert not mig.failures and not zc.failures


def test_atomic_run_matches_the_watermark_arithmetic():
    fs = FullScale(pages=4096, cma_pages=2048, pages_per_pageblock=64, unmovable_pageblocks=2)
    r = atomic_run("migrate_cma", fs)
    dcls = registry.get_design("migrate_cma")
    mn = dcls(full_scale_scope(dcls, fs)).layout[0].wmark[0]
    m = mn - mn // 2
    m -= m // 4                            # ALLOC_HIGH then ALLOC_HARDER (v4.6)
    assert r.failed and r.kswapd_woken_at == -1
    assert r.kernel_pages == 128
    assert r.movable == (fs.pages - fs.cma_pages - r.kernel_pages) - m
    z = atomic_run("zone_cma", fs)
    assert not z.failed and z.kswapd_woken_at > 0


def test_cli_simulate_deterministic_and_bad_input():
    argv = ["simulate", "--pages", "4096", "--cma-pages", "2048", "--pages-per-pageblock", "64",
            "--allocations", "6000", "--ratio", "7"]
    rc, out, err = _run(argv)
    assert rc == 0, err
    assert "first kswapd wake: free" in out and "roughly 512 MB" in out
    assert "steps/s" in err and "steps/s" not in out
    assert _run(argv)[1] == out
    rc, out2, err2 = _run(["simulate", "--pages", "1000"])
    assert rc == 2 and out2 == "" and "multiples" in err2


SMALL_ARGS = ["--pages", "4096", "--cma-pages", "2048", "--pages-per-pageblock", "64",
              "--unmovable-pageblocks", "2", "--allocations", "8000"]


def test_cli_claims_small_scale_consistent():
    rc, out, err = _run(["claims", *SMALL_ARGS])
    assert rc == 0, out + err
    assert "Cross-check (simulation within the z3 bounds): consistent" in out
    # migrate_cma: simulation and z3 agree exactly on the atomic run length (C4): the sound
    # bound is labelled as a bound, and as reached because the simulated run reaches it
    line = next(ln for ln in out.splitlines() if ln.startswith("z3 bound: fewest movable"))
    assert ">= 1886 (sim reaches it)" in line and "UNSAT" in line
    assert "1886 (GFP_ATOMIC fails)" in out
    # the abstraction's bounds are bounds: labelled, never shown as a run of the model
    rows = {ln.split("  ")[0]: ln for ln in out.splitlines()
            if ln.startswith(("sim", "z3")) and "  " in ln}            # the tables' rows
    assert len(rows) == 8 and all(k.startswith(("sim: ", "z3 bound: ")) for k in rows), rows
    wake = rows["z3 bound: most free at any wake"]
    assert wake.count("<= ") == 2 and "(abstraction: " in wake      # zone_cma: 4.6, reached 4.5
    assert "\nsim: one run of the v4.6 step function" in out and "\nz3 bound: a sound bound" in out
    assert "solver time" in err and _run(["claims", *SMALL_ARGS])[1] == out


@pytest.mark.parametrize("design", ["migrate_cma", "zone_cma"])
def test_counting_bounds_bracket_the_simulation(design):
    from mmspec.symbolic import counting_atomic, counting_wake_extremes
    dcls = registry.get_design(design)
    for fs in (SMALL, FullScale(pages=2048, cma_pages=512, pages_per_pageblock=32)):
        model = dcls(full_scale_scope(dcls, fs))
        sim = simulate(dcls, fs, ratio=7, allocations=6000)
        over = counting_wake_extremes(model, 7, mode="over")
        under = counting_wake_extremes(model, 7, mode="under")
        assert under.max_free_at_wake <= over.max_free_at_wake
        assert over.min_cma_used_at_wake <= under.min_cma_used_at_wake
        assert sim.first_wake_step >= 0
        assert sim.first_wake_free <= over.max_free_at_wake
        assert sim.first_wake_cma_used >= over.min_cma_used_at_wake
        a = atomic_run(dcls, fs)
        z = counting_atomic(model, 0, mode="over")
        if a.failed:
            assert z.movable is not None and a.movable >= z.movable
        if design == "migrate_cma":
            assert a.failed and a.movable == z.movable
        else:
            assert not a.failed and z.movable is None
