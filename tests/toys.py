"""Toy designs for testing the explorer itself (not the allocator).

They implement exactly the protocol :func:`mmspec.explore` and :mod:`mmspec.trace` use:

* ``name``
* ``init_states()`` -> tuple of states
* ``successors(state)`` -> iterable of ``(action, next_state, effect)``; ``effect`` has ``.ok``
  and ``.paths``
* ``explain(state, action)`` -> ``(next_state, effect, log_lines)``; raises
  :class:`~mmspec.errors.TraceReplayError` for an action that is not enabled
* ``describe(action)`` -> str

:class:`DGraph` is an explicit edge list (in the spirit of stateright's ``test_util::dgraph``):
states are node labels, the action of an edge is the pair ``(src, dst)``, and successors
are yielded in edge-list order, so the breadth-first visit order is fully determined by the
list. :class:`Counter2D` is a bounded two-dimensional counter whose reachable set, depth and
shortest paths are known in closed form.

Also here: small constructors for :class:`~mmspec.check.Check` objects, including a
``Recorder`` whose witness logs every transition in the order the explorer generates it.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable, Sequence

from mmspec.check import Check
from mmspec.errors import TraceReplayError
from mmspec.state import Effect


class DGraph:
    """A directed graph given as an edge list; ``failing`` edges have ``effect.ok == False``."""

    name = "dgraph"

    def __init__(self, edges: Iterable[tuple[Hashable, Hashable]],
                 inits: Sequence[Hashable] = (0,),
                 failing: Iterable[tuple[Hashable, Hashable]] = ()) -> None:
        self.edges = tuple(edges)
        self.inits = tuple(inits)
        self.failing = frozenset(failing)
        self.expanded: list = []          # states in the order successors() was called

    def init_states(self) -> tuple:
        return self.inits

    def _effect(self, edge) -> Effect:
        return Effect(edge not in self.failing, (f"edge {edge[0]}->{edge[1]}",))

    def successors(self, s):
        self.expanded.append(s)
        for edge in self.edges:
            if edge[0] == s:
                yield edge, edge[1], self._effect(edge)

    def explain(self, s, a):
        if a not in self.edges or a[0] != s:
            raise TraceReplayError(f"no edge {a!r} from {s!r}")
        return a[1], self._effect(a), [f"take edge {a[0]} -> {a[1]}"]

    def describe(self, a) -> str:
        return f"{a[0]} -> {a[1]}"


class Counter2D:
    """States ``(x, y)`` with ``0 <= x, y <= n``; actions ``"x"`` and ``"y"`` increment one
    coordinate (in that order). Reachable: ``(n+1)**2`` states, depth ``2n``, ``2n(n+1)``
    transitions; the shortest path to ``(a, b)`` has ``a + b`` steps."""

    name = "counter2d"

    def __init__(self, n: int) -> None:
        self.n = n

    def init_states(self) -> tuple:
        return ((0, 0),)

    def _next(self, s, a):
        x, y = s
        if a == "x" and x < self.n:
            return (x + 1, y)
        if a == "y" and y < self.n:
            return (x, y + 1)
        return None

    def successors(self, s):
        for a in ("x", "y"):
            t = self._next(s, a)
            if t is not None:
                yield a, t, Effect(True, (f"inc {a}",))

    def explain(self, s, a):
        t = self._next(s, a)
        if t is None:
            raise TraceReplayError(f"action {a!r} not enabled in {s!r}")
        return t, Effect(True, (f"inc {a}",)), [f"{a} += 1"]

    def describe(self, a) -> str:
        return f"inc {a}"


# ------------------------------------------------------------------------------------------
# Check constructors.

def _never(model, pre, action, effect, post) -> bool:
    return False


def _always(model, pre, action, effect, post) -> bool:
    return True


def state_check(bad: Callable[[Any], bool], witness: Callable = _always,
                name: str = "toy_state") -> Check:
    """An invariant over states: violated in a state where ``bad(state)``."""
    return Check(name=name, title=name, claim="toy", witness_doc="toy", witness=witness,
                 bad_state=lambda model, s: bad(s))


def step_check(bad: Callable[[Any, Any, Any, Any], bool], witness: Callable = _always,
               name: str = "toy_step") -> Check:
    """An invariant over transitions: violated on a transition where
    ``bad(pre, action, effect, post)``."""
    return Check(name=name, title=name, claim="toy", witness_doc="toy", witness=witness,
                 bad_step=lambda model, pre, a, eff, post: bad(pre, a, eff, post))


class Recorder:
    """A check whose witness records every ``(pre, action, post)`` the explorer generates,
    in generation order. ``hit`` decides whether the witness counts the transition."""

    def __init__(self, hit: Callable[[Any, Any, Any], bool] | None = None,
                 name: str = "recorder") -> None:
        self.transitions: list[tuple] = []
        self._hit = hit
        self.check = Check(name=name, title=name, claim="toy", witness_doc="records",
                           witness=self._witness, bad_state=lambda model, s: False)

    def _witness(self, model, pre, action, effect, post) -> bool:
        self.transitions.append((pre, action, post))
        return bool(self._hit and self._hit(pre, action, post))

    @property
    def expansion_order(self) -> list:
        """Pre-states in the order they were first expanded."""
        seen: list = []
        for pre, _, _ in self.transitions:
            if pre not in seen:
                seen.append(pre)
        return seen


__all__ = ["DGraph", "Counter2D", "state_check", "step_check", "Recorder"]
