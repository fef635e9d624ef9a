"""Properties: a check is an invariant over transitions plus a witness, with expected verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Allocator
    from .state import Action, Effect, State

__all__ = ["Verdict", "Check", "LivenessCheck", "TransitionPredicate", "StatePredicate",
           "effective_scope"]

TransitionPredicate = Callable[["Allocator", "State", "Action", "Effect", "State"], bool]
StatePredicate = Callable[["Allocator", "State"], bool]


class Verdict(str, Enum):
    """Outcome of one (design, check) cell.

    HOLDS: the full reachable state space was explored, no violation, witness reached.
    VIOLATED: a (shortest) counterexample exists.  VACUOUS: nothing violated but the witness
    was never reached (the check tested nothing: a failure).  BOUNDED: the search was cut by
    a state cap or time limit before finding a violation (never reported as HOLDS).
    """

    HOLDS = "HOLDS"
    VIOLATED = "VIOLATED"
    VACUOUS = "VACUOUS"
    BOUNDED = "BOUNDED"

    @property
    def conclusive(self) -> bool:
        return self in (Verdict.HOLDS, Verdict.VIOLATED)


@dataclass(frozen=True)
class Check:
    """A safety property ("always") with its witness ("sometimes") and expected verdicts.

    Exactly one of ``bad_step`` / ``bad_state`` is given. ``bad_step(model, pre, action,
    effect, post)`` is true on a violating transition; ``bad_state(model, state)`` on a
    violating state (also tested on initial states). ``witness`` (same signature as
    ``bad_step``) is true on a transition that reaches the situation the invariant guards.
    ``expected`` records the verdicts expected (hypotheses from the debate, as data) per
    *named scope*: ``{scope name: {design name: Verdict}}``, e.g. ``{"tiny": {"migrate_cma":
    Verdict.VIOLATED}}``; a design name ``"*"`` stands for every design and a scope name
    ``"*"`` for every scope. Cells are judged by :func:`mmspec.registry.expected_verdict`
    (a design's own ``expected`` table wins over the check's); at a scope without a name
    nothing is expected.
    ``needs`` lists coverage paths the check depends on. ``scope`` holds scope overrides in
    the TOML form of a scope file (e.g. ``{"cma_alloc_pageblocks": 1}``; tables such as
    ``zones``/``requests`` are merged key by key) that the check needs: they are applied
    onto the scope in use (:func:`effective_scope`), and a check with overrides is opt-in:
    it runs only when named (``--check NAME``), never in the default set of checks.
    """

    name: str
    title: str
    claim: str
    witness_doc: str
    witness: TransitionPredicate
    bad_step: TransitionPredicate | None = None
    bad_state: StatePredicate | None = None
    expected: Mapping[str, Mapping[str, Verdict]] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    doc: str = ""
    scope: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.bad_step is None) == (self.bad_state is None):
            raise ValueError(f"check {self.name}: give exactly one of bad_step, bad_state")

    def violated_by(self, model: "Allocator", pre: "State", action: "Action",
                    effect: "Effect", post: "State") -> bool:
        if self.bad_step is not None:
            return self.bad_step(model, pre, action, effect, post)
        assert self.bad_state is not None
        return self.bad_state(model, post)


def effective_scope(scope, check: Check):
    """``scope`` with ``check.scope``'s overrides applied (the same object if it has none).

    The scope is rendered to TOML data, the overrides are merged in (nested tables key by
    key) and the result is parsed and validated again (ScopeError on a bad override)."""
    if not check.scope:
        return scope
    import tomllib

    from .scope import parse_scope
    data = tomllib.loads(scope.to_toml())
    for key, val in check.scope.items():
        if isinstance(val, Mapping):
            tab = data.setdefault(key, {})
            for k2, v2 in val.items():
                if isinstance(v2, Mapping):
                    tab.setdefault(k2, {}).update(v2)
                else:
                    tab[k2] = v2
        else:
            data[key] = val
    return parse_scope(data, origin=f"scope of check {check.name}")


@dataclass(frozen=True)
class LivenessCheck(Check):
    """A check VIOLATED by a lasso: a reachable loop inside ``stay`` with an ``accept`` step.

    ``stay(model, state)``: the condition that holds on every state of the loop.
    ``accept(model, pre, action, effect, post)``: the transition that must recur.
    ``witness`` (as for every check): a transition that shows the situation is reachable;
    without it being reached a "no lasso" answer is VACUOUS, not HOLDS.
    ``bad_step``/``bad_state`` are not used.
    """

    stay: StatePredicate | None = None
    accept: TransitionPredicate | None = None

    is_liveness = True

    def __post_init__(self) -> None:
        if self.stay is None or self.accept is None:
            raise ValueError(f"liveness check {self.name}: give stay and accept")
        if self.bad_step is not None or self.bad_state is not None:
            raise ValueError(f"liveness check {self.name}: bad_step/bad_state are not used")

    def violated_by(self, model, pre, action, effect, post) -> bool:  # pragma: no cover
        return False
