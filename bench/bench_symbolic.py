"""Symbolic-engine benchmark (issue 7): BMC time per depth on the tiny scope (up to 30 or
until the time budget runs out), k-induction time, full-scale claim times.

    .venv/bin/python bench/bench_symbolic.py [--budget SECONDS] [--max-depth 30] [--no-claims]
    .venv/bin/python bench/bench_symbolic.py --compaction [--budget SECONDS]

``--compaction``: BMC of compaction_empties_unusable_cma at scopes/compaction.toml (high-order
requests; compaction's calls inlined on demand) for migrate_cma (counterexample at 16) and
migrate_cma_compaction_skip (no counterexample expected), to depth 16, with the calls inlined.

Prints one line per measurement; stops a BMC series at the first depth that ends after the
budget (per series) and reports the depth reached.
"""

import argparse
import sys
import time

from mmspec import registry
from mmspec.explore import explore
from mmspec.scope import find_scope_file, load_scope


def tiny():
    return load_scope(find_scope_file("tiny"))


def bmc_series(design, check, max_depth, budget, scope=None):
    from mmspec.engine.bmc import bmc
    m = registry.get_design(design)(scope or tiny())
    ck = registry.get_checks([check])[0]
    t0 = time.perf_counter()
    r = bmc(m, ck, max_depth, time_limit=budget,
            progress=lambda d, s: print(f"  bmc {design} {check}: depth {d} {s:.2f} s "
                                        f"(total {time.perf_counter() - t0:.1f} s)", flush=True))
    print(f"bmc {design} {check}: {r.verdict} at depth {r.depth} in {r.elapsed_s:.1f} s"
          + (f", {r.inlined} calls inlined" if r.inlined else ""), flush=True)


def prove_one(design, check, max_k):
    from mmspec.engine.induction import prove
    m = registry.get_design(design)(tiny())
    ck = registry.get_checks([check])[0]
    t0 = time.perf_counter()
    obs = sorted(explore(m, [ck], keep_parents=True).parents, key=repr)
    t1 = time.perf_counter()
    p = prove(m, ck, max_k=max_k, observed=obs)
    print(f"prove {design} {check}: {p.verdict} k={p.k} BFS sample {t1 - t0:.1f} s, "
          f"z3 {p.elapsed_s:.1f} s, {len(p.invariants)} invariants", flush=True)


def claims():
    from mmspec.cli import main
    for argv in (["simulate"], ["claims"], ["parametric", "--design", "zone_cma"],
                 ["parametric", "--design", "migrate_cma"]):
        t0 = time.perf_counter()
        rc = main(argv, open("/dev/null", "w"), sys.stderr)
        print(f"mmspec {' '.join(argv)}: exit {rc} in {time.perf_counter() - t0:.1f} s",
              flush=True)


def main_():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per BMC series")
    ap.add_argument("--max-depth", type=int, default=30)
    ap.add_argument("--no-claims", action="store_true",
                    help="BMC and prove only (no simulate / claims / parametric)")
    ap.add_argument("--compaction", action="store_true",
                    help="only the BMC series at scopes/compaction.toml")
    a = ap.parse_args()
    if a.compaction:
        sc = load_scope(find_scope_file("compaction"))
        for d in ("migrate_cma", "migrate_cma_compaction_skip"):
            bmc_series(d, "compaction_empties_unusable_cma", 16, a.budget, sc)
        return
    for d, c in (("migrate_cma", "atomic_while_kswapd_sleeps"),
                 ("zone_cma", "atomic_while_kswapd_sleeps"), ("zone_cma", "page_conservation"),
                 ("prefer_cma_v58", "blockdev_in_cma")):
        bmc_series(d, c, a.max_depth, a.budget)
    prove_one("zone_cma", "atomic_while_kswapd_sleeps", 6)
    prove_one("prefer_cma_v58", "atomic_while_kswapd_sleeps", 6)
    if not a.no_claims:
        claims()


if __name__ == "__main__":
    main_()
