"""Stateful random testing of a design with hypothesis, for the project's suite and for yours.

:func:`machine_for` turns a design and a scope into a hypothesis ``RuleBasedStateMachine``:

* its **rules** are the model's actions, one rule per action kind -- ``alloc_<class>`` for
  every enabled request class (and order), ``free``, ``kswapd`` and, for designs
  that override ``successors()`` (and may add action kinds), ``other``; each rule draws an index that picks among the
  concrete actions of its kind in ``model.successors(state)`` order (which page to free,
  which page reclaim takes), so shrinking towards 0 picks the first choice the checker
  would;
* its **preconditions** are the actions' guards (a rule is enabled exactly when the model
  has an action of that kind in the current state);
* its **invariant** is the checks: ``bad_state`` on every state (the initial one included)
  and ``bad_step`` on every transition. A violation raises :class:`CheckViolated` whose
  message is the trace, replayed through :func:`mmspec.trace.replay` and rendered by
  :func:`mmspec.trace.render_trace` in the same kernel vocabulary as ``mmspec check``.

Every transition is also recomputed with ``model.step`` and compared with what
``successors`` produced (a disagreement raises :class:`ModelDisagreement`).

The invariant also looks one step ahead: a violation by any transition out of the current
state fails the walk, with that transition as its last step. When a walk fails, the same
check is searched breadth-first at the machine's scope (stopping at the first violation,
within :data:`SHORTEST_MAX_STATES` states and :data:`SHORTEST_SECONDS` seconds): the failure
shows the shortest counterexample found that way (``CheckViolated.trace``; the walk itself
is ``CheckViolated.walk``) and says how far the walk was from it. Failures name no mmspec
internals: pytest hides the machine's frames, and hypothesis' explain phase (which lists
mmspec's source lines) is left out.

Use it in a pytest file::

    import mmspec.testing
    TestZoneCma = mmspec.testing.machine_for("zone_cma").TestCase

or subclass: ``class TestMyIdea(mmspec.testing.machine_for(MyDesign, scope=...).TestCase)``.

``python -m mmspec.testing --write-replays DIR`` writes every counterexample the checker
finds for the shipped designs at the default scope as a replay file (see
:func:`replay_documents`).

The failure report (the breadth-first search and the text) is :mod:`mmspec.testing_report`
and the replay files are :mod:`mmspec.testing_replays`; both need no hypothesis, and their
public names are re-exported here.
"""

from __future__ import annotations

import os
import sys
import tomllib
from typing import Any, ClassVar, Iterable, Sequence

try:
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
except ImportError as _exc:  # pragma: no cover - hypothesis is a test dependency
    raise ImportError("mmspec.testing needs hypothesis: pip install 'mmspec[test]' "
                      "(or pip install hypothesis)") from _exc

from . import registry
from .check import Check
from .errors import MmspecError
from .kernel import Allocator
from .scope import Scope, default_scope, find_scope_file, load_scope, parse_scope, resolve_scope
from .state import ALLOC, FREE, KSWAPD, Action
from .testing_replays import load_replay, replay_documents, write_replays
from .testing_report import (SHORTEST_MAX_STATES, SHORTEST_SECONDS,  # noqa: F401 - re-exported
                             _violates, shortest_violation, violation_report)
from .trace import Trace
from .vocab import GFP_CLASSES

__all__ = ["machine_for", "DesignMachine", "CheckViolated", "ModelDisagreement",
           "WIDE_SCOPE_TOML", "wide_scope", "replay_documents", "write_replays",
           "load_replay"]

#: A scope well beyond what breadth-first search finishes in seconds (two zones, nine
#: pageblocks, every request class on; BFS reaches depth ~10 in 10 s), for random walks.
WIDE_SCOPE_TOML = """\
# mmspec wide scope for random walks: two zones, nine pageblocks, all request classes on.
pages_per_pageblock = 2
fair_zone_policy = true
direct_reclaim_rounds = 1
kswapd_reclaim_batch = 1

[zones.DMA32]
pageblocks = ["UNMOVABLE", "MOVABLE", "CMA"]
watermarks = [1, 2, 3]

[zones.Normal]
pageblocks = ["UNMOVABLE", "MOVABLE", "MOVABLE", "RECLAIMABLE", "CMA", "CMA"]
watermarks = [2, 3, 4]

[zones.CMA]
watermarks = [1, 2, 3]

[requests]
GFP_ATOMIC = 2
GFP_KERNEL = 3
GFP_HIGHUSER_MOVABLE = 5
BLOCKDEV = 2
SLAB = 2
"""

#: How far a drawn choice index ranges (taken modulo the number of choices).
_CHOICES = st.integers(min_value=0, max_value=255)


def wide_scope() -> Scope:
    """The scope of :data:`WIDE_SCOPE_TOML`."""
    return parse_scope(tomllib.loads(WIDE_SCOPE_TOML), origin="wide scope")


class CheckViolated(AssertionError):
    """A random walk violated a check. ``str()`` is the rendered counterexample; ``trace`` is
    the shortest counterexample known (breadth-first, or the walk if none shorter was
    found), ``walk`` the walk's own replayed :class:`~mmspec.trace.Trace`, ``check`` the
    :class:`~mmspec.check.Check`."""

    def __init__(self, message: str, check: Check, trace: Trace, walk: Trace | None = None
                 ) -> None:
        super().__init__(message)
        self.check = check
        self.trace = trace
        self.walk = walk if walk is not None else trace


class ModelDisagreement(AssertionError):
    """``model.step`` and ``model.successors`` disagree about a transition (a model bug)."""


def _group(a: Action) -> tuple:
    """The rule an action belongs to."""
    if a.kind == ALLOC:
        return (ALLOC, a.cls, a.order)
    if a.kind == FREE:
        return (FREE,)
    if a.kind == KSWAPD:
        return (KSWAPD,)
    return ("other",)


class DesignMachine(RuleBasedStateMachine):
    """Base class of the machines :func:`machine_for` builds (do not instantiate directly).

    Attributes of an instance: ``model`` (the design instance), ``state`` (current
    :class:`~mmspec.state.State`), ``init`` (the initial state), ``actions`` (actions taken
    so far), ``last`` (``(pre, action, effect, post)`` of the last step, or None). Subclass
    a built machine to add your own ``@invariant()`` or ``@rule()`` methods.
    """

    design: ClassVar[type[Allocator]]
    scope: ClassVar[Scope]
    checks: ClassVar[tuple[Check, ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.model = self.design(self.scope)
        self.init = self.model.init_states()[0]
        self.state = self.init
        self.actions: list[Action] = []
        self.last: tuple | None = None
        self._refresh()

    def _refresh(self) -> None:
        groups: dict[tuple, list] = {}
        for a, t, eff in self.model.successors(self.state):
            groups.setdefault(_group(a), []).append((a, t, eff))
        self._groups = groups

    def _take(self, key: tuple, choice: int) -> None:
        __tracebackhide__ = True
        options = self._groups[key]
        a, t, eff = options[choice % len(options)]
        pre = self.state
        t2, eff2 = self.model.step(pre, a)
        if t2 != t or eff2 != eff:
            raise ModelDisagreement(f"design {self.model.name}: step({self.model.describe(a)}) "
                                    "differs from what successors() yields for the same action")
        self.actions.append(a)
        self.last = (pre, a, eff, t)
        self.state = t
        self._refresh()

    @invariant()
    def checks_hold(self) -> None:
        __tracebackhide__ = True
        for ck in self.checks:
            if ck.bad_state is not None and self.last is None and ck.bad_state(
                    self.model, self.state):
                self._fail(ck, [])
            if self.last is not None and _violates(ck, self.model, *self.last):
                self._fail(ck, [])
        # one step ahead: any transition out of this state that violates a check
        for ck in self.checks:
            for options in self._groups.values():
                for a, t, eff in options:
                    if _violates(ck, self.model, self.state, a, eff, t):
                        self._fail(ck, [a])

    def _fail(self, ck: Check, extra: list[Action]) -> None:
        __tracebackhide__ = True
        message, shortest, walk = violation_report(self.model, self.design, self.scope, ck,
                                                   self.init, self.actions + extra)
        raise CheckViolated(message, ck, shortest, walk)

    @classmethod
    def _to_test_case(cls):
        """hypothesis' TestCase, without its explain phase: that phase lists the library's
        own source lines run only by failing examples (here: mmspec internals)."""
        if "_mmspec_test_case" in cls.__dict__:
            return cls.__dict__["_mmspec_test_case"]
        base = super()._to_test_case()
        from hypothesis import Phase, settings as Settings
        from hypothesis.stateful import run_state_machine_as_test

        def runTest(self):  # noqa: N802 - unittest's name
            __tracebackhide__ = True
            s = self.settings
            run_state_machine_as_test(cls, settings=Settings(s, phases=tuple(
                p for p in s.phases if p is not Phase.explain)))
        runTest.is_hypothesis_test = True  # type: ignore[attr-defined]
        runTest._hypothesis_state_machine_class = cls  # type: ignore[attr-defined]
        tc = type(base.__name__, (base,), {"runTest": runTest,
                                           "__qualname__": base.__qualname__})
        setattr(cls, "_mmspec_test_case", tc)
        return tc


def _design_class(design: Any) -> type[Allocator]:
    if isinstance(design, str):
        return registry.get_design(design)
    if isinstance(design, type) and issubclass(design, Allocator):
        return design
    raise MmspecError(f"machine_for: design must be a design name (see `mmspec list`) or an "
                      f"Allocator subclass, got {design!r}")


def _scope(scope: Any) -> Scope:
    if scope is None:
        return default_scope()
    if isinstance(scope, Scope):
        return scope
    if isinstance(scope, os.PathLike):
        return load_scope(os.fspath(scope))
    if isinstance(scope, str):
        if "=" not in scope and "[" not in scope:
            return load_scope(find_scope_file(scope))      # a path or a named scope
        try:
            data = tomllib.loads(scope)
        except tomllib.TOMLDecodeError as exc:
            raise MmspecError(f"machine_for: scope text is not valid TOML: {exc}") from None
        except RecursionError:
            raise MmspecError("machine_for: scope text nests too deeply") from None
        return resolve_scope((data, "scope text"))     # changes to the default, like a file
    raise MmspecError(f"machine_for: scope must be a Scope, TOML text or a path to a TOML file, "
                      f"got {type(scope).__name__}")


def _is_safety(c: Check) -> bool:
    return c.bad_step is not None or c.bad_state is not None


def _checks(checks: Any) -> tuple[Check, ...]:
    if checks is None:
        return tuple(c for c in registry.checks() if _is_safety(c))
    if isinstance(checks, (str, Check)):
        checks = [checks]
    out: list[Check] = []
    for c in checks:
        if isinstance(c, Check):
            out.append(c)
        elif isinstance(c, str):
            out.extend(registry.get_checks([c]))
        else:
            raise MmspecError(f"machine_for: checks must be check names or Check objects, "
                              f"got {c!r}")
    for c in out:
        if not _is_safety(c):
            raise MmspecError(f"machine_for: check {c.name!r} has no bad_step/bad_state (a "
                              "liveness check); random walks test safety checks only, use "
                              "`mmspec check` for it")
    return tuple(out)


def _make_rule(key: tuple, name: str, argname: str):
    def body(self, **kw):
        __tracebackhide__ = True
        self._take(key, kw[argname])
    body.__name__ = name
    body.__qualname__ = name
    return rule(**{argname: _CHOICES})(precondition(lambda self: key in self._groups)(body))


def machine_for(design: str | type[Allocator], scope: Scope | str | os.PathLike | None = None,
                checks: Iterable[str | Check] | str | Check | None = None
                ) -> type[DesignMachine]:
    """A hypothesis ``RuleBasedStateMachine`` class that walks ``design`` at ``scope``.

    Parameters
    ----------
    design : a design name (``mmspec list``) or an :class:`~mmspec.kernel.Allocator`
        subclass (your own design).
    scope : a :class:`~mmspec.scope.Scope`, TOML scope text, a path to a TOML scope file, or
        None for the default scope (:func:`wide_scope` gives a larger one).
    checks : check names or :class:`~mmspec.check.Check` objects; None for every shipped
        safety check (liveness checks, which need a loop, are left to ``mmspec check``).

    Returns
    -------
    A :class:`DesignMachine` subclass; run it with ``Machine.TestCase`` (a
    ``unittest.TestCase`` pytest collects) or ``hypothesis.stateful.run_state_machine_as_test``.

    Raises
    ------
    MmspecError
        One line naming the problem (unknown design or check, bad scope).
    """
    cls = _design_class(design)
    sc = _scope(scope)
    cks = _checks(checks)
    model = cls(sc)  # validates the scope against the design now, not inside hypothesis
    ns: dict[str, Any] = {"design": cls, "scope": sc, "checks": cks,
                          "__module__": __name__, "__doc__":
                          f"Random walks of design {cls.name} checking "
                          f"{', '.join(c.name for c in cks) or 'no checks'}."}
    multi_order = len(sc.orders) > 1
    for ci, c in enumerate(GFP_CLASSES):
        if not model.limits[ci]:
            continue
        for o in sc.orders:
            name = f"alloc_{c.short}" + (f"_order{o}" if multi_order else "")
            ns[name] = _make_rule((ALLOC, ci, o), name, "reclaim")
    ns["free"] = _make_rule((FREE,), "free", "page")
    ns["kswapd"] = _make_rule((KSWAPD,), "kswapd", "reclaim")
    if cls.successors is not Allocator.successors:
        # a design that overrides successors() may add action kinds of its own (a rule that
        # is never enabled would only make hypothesis discard test cases)
        ns["other"] = _make_rule(("other",), "other", "pick")
    clsname = "".join(p.capitalize() for p in cls.name.replace("-", "_").split("_")) + "Machine"
    return type(clsname, (DesignMachine,), ns)


def _main(argv: Sequence[str], out=None, err=None) -> int:
    """``python -m mmspec.testing --write-replays DIR``: exit 0, or 2 with one line."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        if len(argv) != 2 or argv[0] != "--write-replays":
            raise MmspecError("usage: python -m mmspec.testing --write-replays DIR")
        from .output import output_dir
        output_dir(argv[1], "--write-replays")      # before the search
        for name in write_replays(argv[1]):
            out.write(os.path.join(argv[1], name) + "\n")
    except MmspecError as exc:
        err.write(f"mmspec: error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
