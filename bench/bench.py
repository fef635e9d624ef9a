"""Explicit-state benchmark: the compiled and the Python engine back to back.

For each scope size and design it runs both engines, each in a fresh subprocess (so peak
memory is that run's own), on the same model with no checks (the engines' own speed), and
prints a Markdown table: distinct states per second and bytes per state of each engine,
the ratio compiled/python of states per second, and whether the results are identical
(distinct states, transitions, depth and a digest of the whole parent map in discovery
order: every state, its parent and the action that found it). Not a test: run it by hand,
preferably on an idle machine; it prints the load average before and after, because only
the ratios of runs made back to back on the same machine mean anything::

    .venv/bin/python bench/bench.py                         # small, medium, large; all designs
    .venv/bin/python bench/bench.py --designs migrate_cma zone_cma --sizes medium large
    .venv/bin/python bench/bench.py --designs migrate_cma --sizes huge --engines compiled
    .venv/bin/python bench/bench.py --designs migrate_cma zone_cma --sizes compaction

bytes/state = (peak RSS at the end - RSS after building the model) / distinct states: the
visited set, parent pointers and actions (and, for the Python engine, the frontier,
interned zones and memo tables). The compiled engine's library is built (or found in the
cache) before the timed run; ``build s`` is what building took when it was not cached.
The ``huge`` scope (more than 10^7 states) is meant for the compiled engine alone: the
Python engine would need hours and tens of GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

SCOPES = {
    # scope arguments (as for `mmspec check`), relative to the scope `tiny` unless they name
    # a scope
    "small": [],
    "medium": ["--limit", "GFP_HIGHUSER_MOVABLE=4", "--limit", "BLOCKDEV=2"],
    "large": ["--limit", "GFP_HIGHUSER_MOVABLE=5", "--limit", "BLOCKDEV=2", "--limit",
              "GFP_KERNEL=3", "--pageblocks", "Normal=U,M,M,M,C,C"],
    # the compaction check's scope (scopes/compaction.toml): a high-order class and direct
    # compaction, whose traced functions the compiled engine calls
    "compaction": ["--scope", "compaction"],
    # more than 10^7 states: migrate_cma 34,333,270 (zone_cma's is larger still)
    "huge": ["--limit", "GFP_HIGHUSER_MOVABLE=7", "--limit", "BLOCKDEV=2", "--limit",
             "GFP_KERNEL=4", "--limit", "GFP_ATOMIC=2", "--pageblocks", "Normal=U,M,M,M,C,C,C"],
}


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _model(design: str, scope_args: list[str]):
    from mmspec import get_design
    from mmspec.cli import build_parser, scope_from_args
    base = [] if "--scope" in scope_args else ["--scope", "tiny"]
    args = build_parser().parse_args(["check", "--design", design] + base + scope_args)
    return get_design(design)(scope_from_args(args))


def _digest_python(model, parents, shape) -> str:
    """The compiled engine's digest of a parent map, computed from the Python engine's:
    packed states, parent indices and action codes in discovery order."""
    import array
    from mmspec.engine.compiled import digest_arrays
    keys, par, acts = array.array("Q"), array.array("i"), array.array("Q")
    index: dict = {}
    for i, (s, pa) in enumerate(parents.items()):
        index[s] = i
        keys.extend(shape.pack(shape.layout.encode(s)))
        par.append(-1 if pa is None else index[pa[0]])
        acts.append(0 if pa is None else shape.encode_action(pa[1]))
    return digest_arrays(keys.tobytes(), par.tobytes(), acts.tobytes())


def run_one(design: str, size: str, engine: str) -> dict:
    from mmspec import explore
    from mmspec.engine import build, compiled
    model = _model(design, SCOPES[size])
    built = None
    build_s = 0.0
    if engine == "compiled" or size != "huge":
        t0 = time.perf_counter()
        built = build.build(model, [])
        built.start_fast()
        while built.fast is not None and built.proc is not None and built.proc.poll() is None:
            time.sleep(0.05)          # benchmark the optimised library
        built.upgrade()
        build_s = time.perf_counter() - t0
    base = _rss_kib()
    t0 = time.perf_counter()
    if engine == "compiled":
        r, digest = compiled.explore_compiled(model, [], digest=True)
    else:
        r = explore(model, [], engine="python", keep_parents=True)
        digest = None
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if engine == "python":
        digest = _digest_python(model, r.parents, built.shape)
    return {"design": design, "engine": engine, "distinct": r.stats.distinct,
            "transitions": r.stats.generated, "depth": r.stats.depth,
            "seconds": round(dt, 3), "build_s": round(build_s, 2),
            "states_per_s": round(r.stats.distinct / dt),
            "bytes_per_state": round((peak - base) * 1024 / max(1, r.stats.distinct), 1),
            "digest": digest}


def _load() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", nargs="*", default=None)
    ap.add_argument("--sizes", nargs="*", default=["small", "medium", "large"])
    ap.add_argument("--engines", nargs="*", default=["compiled", "python"])
    ap.add_argument("--one", nargs=3, metavar=("DESIGN", "SIZE", "ENGINE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(*a.one)))
        return
    from mmspec import designs
    names = a.designs or [d.name for d in designs()]
    print(f"load average before: {_load()} ({os.cpu_count()} CPUs)\n")
    print("| design | scope | distinct states | transitions | depth | compiled s | build s "
          "| compiled states/s | compiled B/state | python s | python states/s "
          "| python B/state | ratio | identical |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size in a.sizes:
        for name in names:
            res = {}
            for engine in a.engines:
                out = subprocess.run([sys.executable, __file__, "--one", name, size, engine],
                                     capture_output=True, text=True, check=True).stdout
                res[engine] = json.loads(out)
            c, p = res.get("compiled"), res.get("python")
            first = c or p
            cell = lambda r, k, fmt="{:,}": fmt.format(r[k]) if r else "-"     # noqa: E731
            same = "-"
            if c and p:
                same = "yes" if all(c[k] == p[k] for k in
                                    ("distinct", "transitions", "depth", "digest")) else "NO"
            ratio = f"{c['states_per_s'] / p['states_per_s']:.0f}x" if c and p else "-"
            print(f"| {name} | {size} | {first['distinct']:,} | {first['transitions']:,} "
                  f"| {first['depth']} | {cell(c, 'seconds', '{}')} | {cell(c, 'build_s', '{}')} "
                  f"| {cell(c, 'states_per_s')} | {cell(c, 'bytes_per_state', '{}')} "
                  f"| {cell(p, 'seconds', '{}')} | {cell(p, 'states_per_s')} "
                  f"| {cell(p, 'bytes_per_state', '{}')} | {ratio} | {same} |", flush=True)
    print(f"\nload average after: {_load()}")


if __name__ == "__main__":
    main()
