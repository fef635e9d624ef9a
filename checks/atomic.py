"""Atomic allocation failure while kswapd sleeps (claims C4, C6).

Claim C4 (history-and-claims.md section 7; Aneesh Kumar K.V's 2014 report
<87lhtzng53.fsf@linux.vnet.ibm.com> and Joonsoo Kim's six-step diagnosis
<20140519022922.GC19615@js1304-P5Q-DELUXE>; problem 3 of the ZONE_CMA v2 cover letter):
under MIGRATE_CMA, movable requests pass their low-watermark check by counting free CMA
pages, so they drain ordinary free pages without entering the slow path (kswapd is never
woken), and a later GFP_ATOMIC request, which cannot use CMA pages and cannot reclaim, fails.

Property: no GFP_ATOMIC allocation fails when kswapd was asleep (on its wait queue: asleep
or in its HZ/10 nap) as the request arrived.
Witness: a GFP_ATOMIC request arrives while kswapd is asleep.
Expected: migrate_cma VIOLATED (C4); zone_cma HOLDS at the default and tiny scopes (C6,
Joonsoo's side, under highest-zone-first filling; Mel's fill order is a separate variant).
"""

from mmspec.check import Check, Verdict
from mmspec.state import ALLOC
from mmspec.vocab import GFP_ATOMIC, KswapdPhase

from ._cma import on_kinds

_RUNNING = int(KswapdPhase.RUNNING)


@on_kinds(ALLOC)
def _atomic_request_while_asleep(model, pre, action, effect, post) -> bool:
    return action.kind == "alloc" and action.cls == GFP_ATOMIC and pre.kswapd != _RUNNING


@on_kinds(ALLOC)
def _atomic_fails_while_asleep(model, pre, action, effect, post) -> bool:
    return _atomic_request_while_asleep(model, pre, action, effect, post) and not effect.ok


ATOMIC_WHILE_KSWAPD_SLEEPS = Check(
    name="atomic_while_kswapd_sleeps",
    title="no GFP_ATOMIC allocation fails while kswapd was asleep when it arrived",
    claim="C4, C6",
    witness_doc="a GFP_ATOMIC request arrives while kswapd is asleep",
    witness=_atomic_request_while_asleep,
    bad_step=_atomic_fails_while_asleep,
    # as observed at `tiny` and at the default scope alike
    expected={scope: {"migrate_cma": Verdict.VIOLATED, "zone_cma": Verdict.HOLDS}
              for scope in ("tiny", "default")},
    needs=("slow path",),
)

RANK = 0
CHECKS = (ATOMIC_WHILE_KSWAPD_SLEEPS,)
