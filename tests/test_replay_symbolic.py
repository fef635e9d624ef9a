"""Counterexamples found by z3 BMC at the default scope, kept as replay data.

One tests/replay_symbolic/<design>--<check>.json per (design, check) cell the symbolic
engine encodes where BMC finds a counterexample (same format as mmspec.testing.write_replays,
read by load_replay). Each replays through the explicit step function (mmspec.trace.replay),
its last step violates the check, and its length equals the breadth-first shortest length
(the BFS replay file tests/replay/<design>--<check>.json). Regenerate with
``python tests/test_replay_symbolic.py --write`` (runs BFS and BMC; about a minute).
"""

import glob
import json
import os
import sys

import pytest

from mmspec.testing import load_replay

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "replay_symbolic")
BFS_DIR = os.path.join(HERE, "replay")
#: committed designs whose hooks the symbolic engine encodes (symbolic_rules.check_supported)
DESIGNS = ("migrate_cma", "zone_cma", "zone_cma_cma_last")
FILES = sorted(glob.glob(os.path.join(DIR, "*--*.json")))


def documents() -> dict[str, str]:
    from mmspec import registry
    from mmspec.check import Verdict
    from mmspec.explore import explore
    from mmspec.scope import default_scope
    from mmspec.symbolic import SYMBOLIC_CHECKS, bmc
    from mmspec.trace import action_to_json
    sc = default_scope()
    out = {}
    for d in DESIGNS:
        model = registry.get_design(d)(sc)
        checks = registry.get_checks(sorted(SYMBOLIC_CHECKS))
        for cell in explore(model, checks).cells:
            if cell.verdict != Verdict.VIOLATED:
                continue
            r = bmc(model, cell.check, len(cell.trace))
            assert r.verdict == "VIOLATED" and r.depth == len(cell.trace), (d, cell.check.name)
            doc = {"design": d, "check": cell.check.name, "scope": sc.to_toml(),
                   "length": r.depth, "loop_start": None, "found_by": "z3 BMC",
                   "reproduce": f"mmspec bmc --design {d} --check {cell.check.name}",
                   "steps": [model.describe(a) for a in r.trace.actions],
                   "actions": [action_to_json(a) for a in r.trace.actions]}
            out[f"{d}--{cell.check.name}.json"] = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    return out


def test_there_are_symbolic_replays():
    # migrate_cma violates atomic_while_kswapd_sleeps at the default scope (C4, C6)
    assert os.path.join(DIR, "migrate_cma--atomic_while_kswapd_sleeps.json") in FILES


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_symbolic_replay(path):
    model, ck, trace, length = load_replay(path)
    assert len(trace) == length
    last = trace.steps[-1]
    assert ck.violated_by(model, trace.states[-2], last.action, last.effect, last.state)
    with open(os.path.join(BFS_DIR, os.path.basename(path)), encoding="utf-8") as fh:
        assert json.load(fh)["length"] == length        # BFS shortest length


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
