"""Counterexamples found by z3 BMC at the tiny scope, kept as replay data.

One tests/replay_symbolic/<design>--<check>.json per (design, safety check) cell of
:data:`DESIGNS` that breadth-first search finds violated within :data:`MAX_LEN` steps
(same format as mmspec.testing.write_replays, read by load_replay; the scope is in the
file). Each replays through the explicit step function (mmspec.trace.replay), its last
step violates the check, and its length equals the breadth-first shortest length at the
file's scope. Regenerate with ``python tests/test_replay_symbolic.py --write`` (runs BFS
and BMC; a few seconds).
"""

import functools
import glob
import json
import os
import sys

import pytest

from mmspec.testing import load_replay

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "replay_symbolic")
#: migrate_cma (v4.6) and a design the hand-written encoding did not cover
DESIGNS = ("migrate_cma", "prefer_cma_v58")
MAX_LEN = 8
#: BFS stores every state within MAX_LEN steps of these designs before this many (< 1700)
BFS_CAP = 4000
FILES = sorted(glob.glob(os.path.join(DIR, "*--*.json")))


def _safety():
    from mmspec import registry
    return [c for c in registry.checks() if not getattr(c, "is_liveness", False)]


def documents() -> dict[str, str]:
    from mmspec import registry
    from mmspec.check import Verdict
    from mmspec.engine.bmc import bmc_checks
    from mmspec.explore import explore
    from mmspec.scope import find_scope_file, load_scope
    from mmspec.trace import action_to_json
    sc = load_scope(find_scope_file("tiny"))
    out = {}
    for d in DESIGNS:
        model = registry.get_design(d)(sc)
        cells = [c for c in explore(model, _safety(), max_states=BFS_CAP).cells
                 if c.verdict == Verdict.VIOLATED and len(c.trace) <= MAX_LEN]
        found = bmc_checks(model, [c.check for c in cells], MAX_LEN)
        for cell, r in zip(cells, found):
            assert r.verdict == "VIOLATED" and r.depth == len(cell.trace), (d, cell.check.name)
            name = cell.check.name
            doc = {"design": d, "check": name, "scope": sc.to_toml(), "length": r.depth,
                   "loop_start": None, "found_by": "z3 BMC",
                   "reproduce": f"mmspec bmc --design {d} --check {name} --scope tiny",
                   "steps": [model.describe(a) for a in r.trace.actions],
                   "actions": [action_to_json(a) for a in r.trace.actions]}
            out[f"{d}--{name}.json"] = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    return out


@functools.lru_cache(maxsize=None)
def _bfs_lengths(path_scope: str, design: str) -> dict:
    import tomllib

    from mmspec import registry
    from mmspec.check import Verdict
    from mmspec.explore import explore
    from mmspec.scope import parse_scope
    model = registry.get_design(design)(parse_scope(tomllib.loads(path_scope)))
    res = explore(model, _safety(), max_states=BFS_CAP)
    assert res.stats.complete or res.stats.depth > MAX_LEN
    return {c.check.name: len(c.trace) for c in res.cells if c.verdict == Verdict.VIOLATED}


def test_there_are_symbolic_replays():
    # migrate_cma violates atomic_while_kswapd_sleeps at the tiny scope (C4, C6); every
    # design of DESIGNS has a file
    assert os.path.join(DIR, "migrate_cma--atomic_while_kswapd_sleeps.json") in FILES
    assert {os.path.basename(f).split("--")[0] for f in FILES} == set(DESIGNS)


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_symbolic_replay(path):
    model, ck, trace, length = load_replay(path)
    assert len(trace) == length
    last = trace.steps[-1]
    assert ck.violated_by(model, trace.states[-2], last.action, last.effect, last.state)
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    assert _bfs_lengths(doc["scope"], doc["design"])[ck.name] == length   # BFS shortest


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_replay_symbolic.py --write")
    docs = documents()
    os.makedirs(DIR, exist_ok=True)
    for name in os.listdir(DIR):
        if name.endswith(".json") and name not in docs:
            os.unlink(os.path.join(DIR, name))
    for name, text in sorted(docs.items()):
        with open(os.path.join(DIR, name), "w", encoding="utf-8") as fh:
            fh.write(text)
        print(os.path.join(DIR, name))
