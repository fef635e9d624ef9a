"""Replay files: every counterexample the checker finds, kept as data.

:func:`replay_documents` explores the shipped designs at a scope with every shipped check
and gives one JSON document per VIOLATED cell (design, check, scope TOML, length, the
actions and their kernel descriptions, the ``mmspec check`` line that reproduces it);
:func:`write_replays` writes them into a directory (``python -m mmspec.testing
--write-replays DIR``, ``tests/replay``) and :func:`load_replay` reads one back and replays
it. Needs no hypothesis.
"""

from __future__ import annotations

import json
import os
import tomllib
from typing import Sequence

from . import registry
from .check import Check, Verdict
from .errors import MmspecError
from .kernel import Allocator
from .scope import Scope, default_scope, parse_scope
from .testing_report import _scope_arg
from .trace import Trace, action_from_json, action_to_json, replay

__all__ = ["replay_documents", "write_replays", "load_replay"]


def _reproduce(design: str, check: str, scope: Scope) -> str:
    return f"mmspec check --design {design} --check {check}" + _scope_arg(scope)[0].split("  (")[0]


def replay_documents(scope: Scope | None = None,
                     designs: Sequence[type[Allocator]] | None = None) -> dict[str, str]:
    """Explore every design (default: ``registry.designs()``) at ``scope`` (default scope)
    with every shipped check and return ``{file name: JSON text}``, one
    ``<design>--<check>.json`` per VIOLATED cell: the shortest counterexample's actions (in
    :func:`mmspec.trace.action_to_json` form), their kernel descriptions, design, check,
    scope TOML and length. Deterministic."""
    from .explore import explore  # here: explore is not needed to run machines

    sc = scope if scope is not None else default_scope()
    out: dict[str, str] = {}
    checks = registry.checks()
    for d in (designs if designs is not None else registry.designs()):
        model = d(sc)
        res = explore(model, checks)
        if not res.stats.complete:  # pragma: no cover - explore without limits completes
            raise MmspecError(f"design {d.name}: search did not complete")
        for cell in res.cells:
            if cell.verdict != Verdict.VIOLATED or cell.trace is None:
                continue
            doc = {"design": d.name, "check": cell.check.name, "scope": sc.to_toml(),
                   "length": len(cell.trace), "loop_start": cell.trace.loop_start,
                   "reproduce": _reproduce(d.name, cell.check.name, sc),
                   "steps": [model.describe(a) for a in cell.trace.actions],
                   "actions": [action_to_json(a) for a in cell.trace.actions]}
            out[f"{d.name}--{cell.check.name}.json"] = json.dumps(doc, indent=1,
                                                                  sort_keys=True) + "\n"
    return dict(sorted(out.items()))


def write_replays(directory: str, scope: Scope | None = None,
                  documents: dict[str, str] | None = None) -> list[str]:
    """Write ``documents`` (default: :func:`replay_documents` at ``scope``) into
    ``directory`` (created if missing; checked with :func:`mmspec.output.output_dir` before
    anything is explored) and delete stale ``*--*.json`` files there. Returns the file names
    written, sorted."""
    from .output import check_regular, output_dir, write_text
    real = output_dir(directory, "--write-replays")
    docs = documents if documents is not None else replay_documents(scope)
    for name in docs:
        check_regular(os.path.join(real, name), "--write-replays")
    os.makedirs(real, exist_ok=True)
    for name in sorted(os.listdir(real)):
        if name.endswith(".json") and "--" in name and name not in docs:
            os.unlink(os.path.join(real, name))
    for name, text in docs.items():
        write_text(os.path.join(real, name), text, "--write-replays")
    return list(docs)


def load_replay(path: str) -> tuple[Allocator, Check, Trace, int]:
    """Read a replay file and replay it: ``(model, check, trace, recorded length)``
    (``trace.loop_start`` is set for a liveness lasso, whose closure replay verifies).

    Raises MmspecError / TraceReplayError (one line) if the file is malformed, names an
    unknown design or check, or its actions no longer replay."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        design, check, scope_text = doc["design"], doc["check"], doc["scope"]
        actions_raw, length = doc["actions"], int(doc["length"])
        loop_start = doc.get("loop_start")
        if loop_start is not None:
            loop_start = int(loop_start)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MmspecError(f"replay file {path!r} is malformed: {exc}") from None
    try:
        data = tomllib.loads(scope_text)
    except (TypeError, ValueError, RecursionError) as exc:
        raise MmspecError(f"replay file {path!r} is malformed: its scope: {exc}") from None
    model = registry.get_design(design)(parse_scope(data, origin=path))
    ck = registry.get_checks([check])[0]
    if not isinstance(actions_raw, list):
        raise MmspecError(f"replay file {path!r} is malformed: actions must be a list")
    trace = replay(model, model.init_states()[0], [action_from_json(a) for a in actions_raw],
                   loop_start=loop_start)
    return model, ck, trace, length
