"""Every counterexample the checker finds for the shipped designs, kept as a replay file
(issue 4, item 4).

``tests/replay/<design>--<check>.json`` holds the actions of the shortest counterexample at
the file's scope (written by ``python -m mmspec.testing --write-replays tests/replay``).
Each file is replayed through the step function and must still end in a violation of its
check (and only there); regenerating must give byte-identical files, so a semantic change
that removes, adds or alters a counterexample fails here until the files are regenerated
and the change reviewed.
"""

from __future__ import annotations

import glob
import os

import pytest

import mmspec.testing as mt
from mmspec.errors import MmspecError

REPLAY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "replay")
FILES = sorted(glob.glob(os.path.join(REPLAY_DIR, "*.json")))


def test_replay_files_exist():
    names = {os.path.basename(f) for f in FILES}
    assert "migrate_cma--atomic_while_kswapd_sleeps.json" in names


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f)[:-5] for f in FILES])
def test_counterexample_still_replays_and_violates(path):
    model, check, trace, length = mt.load_replay(path)
    assert len(trace) == length
    assert os.path.basename(path) == f"{model.name}--{check.name}.json"
    states = trace.states
    if check.bad_step is None and check.bad_state is None:
        # a liveness lasso: replay() already checked that the loop closes; every loop state
        # stays inside the property's region and the loop takes an accepting step.
        assert trace.loop_start is not None
        loop = range(trace.loop_start, len(trace))
        assert all(check.stay(model, states[i + 1]) for i in loop)
        assert any(check.accept(model, states[i], trace.steps[i].action, trace.steps[i].effect,
                                states[i + 1]) for i in loop)
        return
    if check.bad_state is not None:
        assert not check.bad_state(model, trace.init)
    violations = [i for i, st in enumerate(trace.steps)
                  if check.violated_by(model, states[i], st.action, st.effect, st.state)]
    assert violations == [len(trace) - 1], (
        f"{os.path.basename(path)}: violating steps {violations}, expected only the last")


def test_regenerating_gives_the_same_files():
    docs = mt.replay_documents()
    on_disk = {}
    for f in FILES:
        with open(f, encoding="utf-8") as fh:
            on_disk[os.path.basename(f)] = fh.read()
    assert sorted(docs) == sorted(on_disk), (
        "counterexamples changed: regenerate with "
        "`python -m mmspec.testing --write-replays tests/replay` and review the diff")
    for name, text in docs.items():
        assert text == on_disk[name], f"{name} changed (regenerate and review)"


def test_write_replays_removes_stale_files(tmp_path):
    stale = tmp_path / "gone_design--gone_check.json"
    stale.write_text("{}")
    keep = tmp_path / "notes.json"
    keep.write_text("{}")
    docs = {"migrate_cma--atomic_while_kswapd_sleeps.json": "x"}
    written = mt.write_replays(str(tmp_path), documents=docs)
    assert written == list(docs)
    assert not stale.exists() and keep.exists()
    assert (tmp_path / written[0]).read_text() == "x"


def test_tampered_replay_is_a_one_line_error(tmp_path):
    src = os.path.join(REPLAY_DIR, "migrate_cma--atomic_while_kswapd_sleeps.json")
    with open(src, encoding="utf-8") as fh:
        text = fh.read()
    bad = tmp_path / "bad.json"
    bad.write_text(text.replace('"kind": "alloc"', '"kind": "kswapd"', 1))
    with pytest.raises(MmspecError) as info:
        mt.load_replay(str(bad))
    assert "\n" not in str(info.value)
    bad.write_text("not json")
    with pytest.raises(MmspecError, match="malformed"):
        mt.load_replay(str(bad))
