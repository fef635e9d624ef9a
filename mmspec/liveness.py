"""Liveness: true lassos (a stem, then a loop that closes) on the reachable graph.

A :class:`LivenessCheck` states a persistence-and-recurrence property of the kind
"eventually, forever ``stay`` holds while ``accept`` transitions happen infinitely often"
and is VIOLATED by a *lasso*: a reachable state ``u`` and a cycle from ``u`` back to ``u``
whose every state satisfies ``stay`` and which takes at least one ``accept`` transition.
(The debate's utilization oscillation is one: kswapd keeps reclaiming while free CMA memory
never drops.)

How it is found: the breadth-first search (:func:`mmspec.explore.explore`) records every
transition whose two ends both satisfy ``stay``; after the search, :func:`find_loop` builds
that restricted graph with networkx, computes its strongly connected components and takes
the first (in BFS discovery order) ``accept`` edge ``u -> v`` inside one component; the
loop is that edge plus a shortest path ``v -> u`` inside the restricted graph. The stem is
the BFS parent path to ``u`` (shortest to the loop entry). The lasso is then replayed
through the step function with ``loop_start`` (:func:`mmspec.trace.replay`), which checks
that the last state equals the loop-start state. A BFS alone never reports such a cycle:
the loop's last edge leads to an already-visited state.

Only the restricted graph is stored (built on demand, only when a liveness check runs), so
liveness is meant for small scopes. A state reduction (symmetry, partial order, abstraction)
can merge or drop states a cycle needs, so liveness refuses to run with one: a model that
sets ``state_reduction`` to a true value is rejected.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Sequence

import networkx as nx

from .check import LivenessCheck  # noqa: F401  (the check type lives with the others)
from .errors import MmspecError
from .trace import Trace, path_to, replay

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Allocator

__all__ = ["LivenessCheck", "find_loop", "lasso_search", "lasso_trace", "refuse_reduction"]


def refuse_reduction(model: Any) -> None:
    """Raise :class:`MmspecError` if ``model`` explores a reduced state space."""
    if getattr(model, "state_reduction", None):
        raise MmspecError(f"liveness checks cannot run on a reduced state space "
                          f"(design {getattr(model, 'name', model)!r} uses "
                          f"{model.state_reduction!r}); run them without the reduction")


def find_loop(edges: Sequence[tuple[Hashable, Any, Hashable, bool]], first: int | None = None
              ) -> tuple[Hashable, list[tuple[Any, Hashable]]] | None:
    """A cycle through an accepting edge in the graph given by ``edges``.

    ``edges`` are ``(u, label, v, accepting)`` in discovery order (deterministic). Returns
    ``(u, [(label, node), ...])``: the loop starts at ``u``, takes the listed edges and its
    last node is ``u`` again; or None if no accepting edge lies on a cycle. The loop is the
    first accepting edge ``u -> v`` whose ends are strongly connected, then a shortest path
    from ``v`` back to ``u`` (networkx's); each of its edges is labelled by the first edge
    with the same ends (an accepting one if there is one). ``first``: the position of that
    accepting edge when the caller has found it already (the compiled engine does, in C).
    """
    g = nx.DiGraph()
    g.add_edges_from((u, v) for u, _, v, _ in edges)
    if first is None:
        comp: dict = {}
        for k, c in enumerate(nx.strongly_connected_components(g)):
            for n in c:
                comp[n] = k
        first = next((j for j, (u, _, v, acc) in enumerate(edges)
                      if acc and comp[u] == comp[v]), None)
        if first is None:
            return None
    u, a, v, _ = edges[first]
    if u == v:
        return u, [(a, v)]
    path = nx.shortest_path(g, v, u)
    want = set(zip(path, path[1:]))
    label: dict = {}
    for x, b, y, acc in edges:
        if (x, y) in want:
            old = label.get((x, y))
            if old is None or (acc and not old[1]):
                label[(x, y)] = (b, acc)
    return u, [(a, v)] + [(label[(x, y)][0], y) for x, y in zip(path, path[1:])]


def lasso_search(inits: Iterable[Hashable],
                 successors: Callable[[Hashable], Iterable[tuple[Any, Hashable]]],
                 stay: Callable[[Hashable], bool],
                 accept: Callable[[Hashable, Any, Hashable], bool]):
    """Breadth-first search of an explicit graph, then :func:`find_loop` (for any graph;
    the model checker does the same inside :func:`mmspec.explore.explore`).

    Returns ``(init, stem, loop)`` with ``stem`` and ``loop`` lists of ``(label, node)``:
    the stem leads from ``init`` to the loop entry (the last stem node, or ``init`` if the
    stem is empty) and the loop's last node is that entry again; or None.
    """
    parents: dict = {}
    q: deque = deque()
    for s in inits:
        if s not in parents:
            parents[s] = None
            q.append(s)
    edges = []
    while q:
        s = q.popleft()
        for a, t in successors(s):
            if stay(s) and stay(t):
                edges.append((s, a, t, bool(accept(s, a, t))))
            if t not in parents:
                parents[t] = (s, a)
                q.append(t)
    found = find_loop(edges)
    if found is None:
        return None
    u, loop = found
    s, stem = path_to(parents, u)
    return s, stem, loop


def lasso_trace(model: "Allocator", parents: dict,
                edges: Sequence[tuple[Hashable, Any, Hashable, bool]]) -> Trace | None:
    """The lasso of ``edges`` (restricted transitions recorded by the search) as a replayed
    :class:`~mmspec.trace.Trace` with ``loop_start``, stem taken from ``parents``."""
    found = find_loop(edges)
    if found is None:
        return None
    u, loop = found
    s, path = path_to(parents, u)
    loop_start = len(path)
    path += loop
    return replay(model, s, [a for a, _ in path], [t for _, t in path], loop_start=loop_start)
