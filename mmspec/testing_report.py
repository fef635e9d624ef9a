"""What a failed random walk reports: the shortest counterexample and the text around it.

When a walk of a :class:`~mmspec.testing.DesignMachine` violates a check,
:func:`violation_report` replays the walk, searches the same check breadth-first at the
machine's scope (:func:`shortest_violation`, in :func:`mmspec.explore.explore`'s order and
within :data:`SHORTEST_MAX_STATES` states and :data:`SHORTEST_SECONDS` seconds) and renders
the shorter trace in kernel vocabulary (:func:`mmspec.trace.render_trace`), with the
``mmspec check`` line that reproduces it (:func:`_design_arg`, :func:`_scope_arg`) and the
walk itself when it is longer. The machine raises
:class:`~mmspec.testing.CheckViolated` with it. Needs no hypothesis.
"""

from __future__ import annotations

import os
import sys

from . import registry
from .check import Check
from .kernel import Allocator
from .scope import Scope, default_scope
from .state import Action
from .trace import Trace, render_trace, replay

__all__ = ["shortest_violation", "violation_report", "SHORTEST_MAX_STATES",
           "SHORTEST_SECONDS"]

#: the breadth-first search for the shortest counterexample of a failed walk stops after
#: this many distinct states or seconds (whichever comes first)
SHORTEST_MAX_STATES = 200_000
SHORTEST_SECONDS = 10.0


def _violates(ck: Check, model: Allocator, pre, a, eff, post) -> bool:
    if ck.bad_step is not None:
        return bool(ck.bad_step(model, pre, a, eff, post))
    assert ck.bad_state is not None
    return bool(ck.bad_state(model, post))


#: (design, scope, check name, caps) -> (shortest actions or None, complete depth, cut)
_SHORTEST: dict = {}


def shortest_violation(model: Allocator, check: Check, *,
                       max_states: int = SHORTEST_MAX_STATES,
                       seconds: float = SHORTEST_SECONDS) -> tuple[list[Action] | None, int, bool]:
    """Breadth-first search for ``check``'s first violation from ``model``'s initial state,
    in the order :func:`mmspec.explore.explore` visits transitions (so the same shortest
    counterexample), stopping at it. Returns ``(actions or None, depth, cut)``: the actions
    of the counterexample, the number of BFS levels searched completely and whether a cap
    stopped the search first. Cached per (design, scope, check)."""
    import time
    key = (type(model), model.scope, check.name, max_states, seconds)
    if key in _SHORTEST:
        return _SHORTEST[key]
    t0 = time.perf_counter()
    init = model.init_states()[0]
    if check.bad_state is not None and check.bad_state(model, init):
        _SHORTEST[key] = ([], 0, False)
        return _SHORTEST[key]
    parents: dict = {init: None}
    frontier = [init]
    depth = 0
    found = None
    cut = False
    while frontier and found is None and not cut:
        nxt = []
        for s in frontier:
            for a, t, eff in model.successors(s):
                if _violates(check, model, s, a, eff, t):
                    found = (s, a)
                    break
                if t not in parents:
                    parents[t] = (s, a)
                    nxt.append(t)
            if found is not None:
                break
            if len(parents) >= max_states or time.perf_counter() - t0 > seconds:
                cut = True
                break
        if found is None and not cut:
            depth += 1
            frontier = nxt
    actions = None
    if found is not None:
        s, a = found
        actions = [a]
        while parents[s] is not None:
            s, a0 = parents[s]
            actions.append(a0)
        actions.reverse()
    _SHORTEST[key] = (actions, depth, cut)
    return _SHORTEST[key]


def _design_arg(design: type[Allocator]) -> tuple[str, str]:
    """How ``mmspec check`` names ``design`` and a note for the end of the line:
    ``--design NAME`` for a shipped design, else ``--design-file FILE`` (the file the class
    is defined in, which must define ``DESIGN``)."""
    import inspect
    import shlex
    if any(d is design for d in registry.designs()):
        return f"--design {design.name}", ""
    try:
        path = inspect.getsourcefile(design) or "FILE"
    except TypeError:
        path = "FILE"
    if path != "FILE":
        rel = os.path.relpath(path)
        path = rel if not rel.startswith("..") else path
    mod = sys.modules.get(design.__module__)
    note = ("" if getattr(mod, "DESIGN", None) is design else
            f"  (with DESIGN = {design.__qualname__} in {os.path.basename(path)})")
    return f"--design-file {shlex.quote(path)}", note


def _scope_arg(scope: Scope) -> tuple[str, str]:
    """(``--scope`` argument, scope text to show) for a reproduce line."""
    from .scope import DEFAULT_NAME, scope_names
    names = [n for n in scope_names(scope) if n != DEFAULT_NAME]
    if scope == default_scope():
        return "", ""
    if names:
        return f" --scope {names[0]}", ""
    return (" --scope SCOPE.toml  (SCOPE.toml: the scope below)",
            "\nScope:\n" + scope.to_toml())


def violation_report(model: Allocator, design: type[Allocator], scope: Scope, ck: Check,
                     init, actions: list[Action]) -> tuple[str, Trace, Trace]:
    """``(message, shortest trace, walk)`` for a walk of ``design`` at ``scope`` from
    ``init`` whose ``actions`` violate ``ck``: the message is the rendered shortest
    counterexample known (breadth-first, or the walk if none shorter was found)."""
    __tracebackhide__ = True
    walk = replay(model, init, actions)
    found, depth, cut = shortest_violation(model, ck)
    shortest = walk
    if found is not None and len(found) < len(walk):
        shortest = replay(model, init, found)
        how = (f"this walk took {len(walk)} steps; breadth-first search at this scope "
               f"finds the shortest counterexample, {len(found)} steps, shown here")
    elif found is not None:
        how = f"{len(walk)} steps: as short as the breadth-first search's shortest"
    elif cut:
        how = (f"{len(walk)} steps; breadth-first search at this scope was stopped after "
               f"{depth} complete levels, so the shortest has between {depth + 1} and "
               f"{len(walk)} steps")
    else:   # pragma: no cover - a complete search would have found the walk's violation
        how = f"{len(walk)} steps"
    scope_arg, scope_note = _scope_arg(scope)
    darg, dnote = _design_arg(design)
    repro = f"mmspec check {darg} --check {ck.name}{scope_arg}{dnote}"
    text = render_trace(model, shortest, title=(
        f"{ck.name} on {model.name}: VIOLATED by a random walk ({how})"),
        reproduce=repro)
    walk_line = ("" if shortest is walk else "\nThe walk: " + "; ".join(
        model.describe(a) for a in walk.actions) + "\n")
    return "\n" + text + walk_line + scope_note, shortest, walk
