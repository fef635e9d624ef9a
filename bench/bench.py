"""Explicit-state benchmark: distinct states per second and bytes per state.

Runs every (design, scope) in a fresh subprocess so peak memory is that run's own, and
prints a Markdown table for the README. Not a test: run it by hand on an idle machine::

    .venv/bin/python bench/bench.py            # all designs, three scope sizes
    .venv/bin/python bench/bench.py --designs migrate_cma zone_cma --sizes small

bytes/state = (peak RSS at the end - RSS after building the model) / distinct states, so it
includes the parent-pointer map, the frontier and interned zone tuples.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

SCOPES = {
    # scope arguments (as for `mmspec check`) giving roughly 1e4, 1e5 and 1e6 states
    "small": [],
    "medium": ["--limit", "GFP_HIGHUSER_MOVABLE=4", "--limit", "BLOCKDEV=2"],
    "large": ["--limit", "GFP_HIGHUSER_MOVABLE=5", "--limit", "BLOCKDEV=2", "--limit",
              "GFP_KERNEL=3", "--pageblocks", "Normal=U,M,M,M,C,C"],
}


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_one(design: str, scope_args: list[str]) -> dict:
    from mmspec import explore, get_design
    from mmspec.cli import build_parser, scope_from_args
    args = build_parser().parse_args(["check", "--design", design] + scope_args)
    model = get_design(design)(scope_from_args(args))
    base = _rss_kib()
    t0 = time.perf_counter()
    r = explore(model, [])
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"design": design, "distinct": r.stats.distinct, "transitions": r.stats.generated,
            "depth": r.stats.depth, "seconds": round(dt, 2),
            "states_per_s": round(r.stats.distinct / dt),
            "transitions_per_s": round(r.stats.generated / dt),
            "bytes_per_state": round((peak - base) * 1024 / max(1, r.stats.distinct))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", nargs="*", default=None)
    ap.add_argument("--sizes", nargs="*", default=list(SCOPES))
    ap.add_argument("--one", nargs=2, metavar=("DESIGN", "SIZE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one[0], SCOPES[a.one[1]])))
        return
    from mmspec import designs
    names = a.designs or [d.name for d in designs()]
    print("| design | scope | distinct states | transitions | depth | s | states/s | bytes/state |")
    print("|---|---|---|---|---|---|---|---|")
    for size in a.sizes:
        for name in names:
            out = subprocess.run([sys.executable, __file__, "--one", name, size],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out)
            print(f"| {name} | {size} | {r['distinct']:,} | {r['transitions']:,} | {r['depth']} "
                  f"| {r['seconds']} | {r['states_per_s']:,} | {r['bytes_per_state']} |",
                  flush=True)


if __name__ == "__main__":
    main()
