"""Properties: a check is an invariant over transitions plus a witness, with expected verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Callable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Allocator
    from .state import Action, Effect, State

__all__ = ["Verdict", "Check", "TransitionPredicate", "StatePredicate"]

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
    ``expected`` maps design name -> Verdict (a hypothesis from the debate, recorded as data).
    ``needs`` lists coverage paths the check depends on.
    """

    name: str
    title: str
    claim: str
    witness_doc: str
    witness: TransitionPredicate
    bad_step: TransitionPredicate | None = None
    bad_state: StatePredicate | None = None
    expected: Mapping[str, Verdict] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        if (self.bad_step is None) == (self.bad_state is None):
            raise ValueError(f"check {self.name}: give exactly one of bad_step, bad_state")

    def violated_by(self, model: "Allocator", pre: "State", action: "Action",
                    effect: "Effect", post: "State") -> bool:
        if self.bad_step is not None:
            return self.bad_step(model, pre, action, effect, post)
        assert self.bad_state is not None
        return self.bad_state(model, post)
