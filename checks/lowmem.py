"""Lowmem exhaustion (claim C11; Mel Gorman's objection to zones, Joonsoo Kim's reply).

Claim (history-and-claims.md section 7 and 1.4; Mel <20160429092902.GQ2858@techsingularity.net>,
Joonsoo <20160502061423.GA31646@js1304-P5Q-DELUXE>): when kernel (unmovable) pages are
confined to the memory outside CMA, unmovable requests fail or reclaim prematurely while
plenty of memory is free overall. Mel raises it against zones; Joonsoo answers that it is
inherent to every design that keeps kernel pages out of CMA memory, MIGRATE_CMA included.

Check ``unmovable_pressure_while_half_free``: no unmovable request (GFP_ATOMIC, GFP_KERNEL)
fails or enters direct reclaim while more than half of all managed memory is free.
Polarity: VIOLATED means "the exhaustion is reachable"; the debate's point (Joonsoo) is
that it is VIOLATED in every design that keeps kernel pages out of CMA memory.
Witness: an unmovable request arrives while more than half of all managed memory is free
(the situation the invariant guards: had it failed or reclaimed, that would be a violation).
Expected: VIOLATED for migrate_cma and zone_cma.
"""

from mmspec.check import Check, Verdict
from mmspec.state import ALLOC

from ._cma import UNMOVABLE_CLASSES, cma_positions, on_kinds, total_free


@on_kinds(ALLOC)
def _unmovable_pressure(model, pre, action, effect, post) -> bool:
    return (action.kind == ALLOC and action.cls in UNMOVABLE_CLASSES
            and (not effect.ok or "direct reclaim" in effect.paths))


@on_kinds(ALLOC)
def _unmovable_request_while_half_free(model, pre, action, effect, post) -> bool:
    return (action.kind == ALLOC and action.cls in UNMOVABLE_CLASSES
            and 2 * total_free(pre) > cma_positions(model)[2])


@on_kinds(ALLOC)
def _pressure_while_half_free(model, pre, action, effect, post) -> bool:
    return (_unmovable_pressure(model, pre, action, effect, post)
            and 2 * total_free(pre) > cma_positions(model)[2])


UNMOVABLE_PRESSURE_WHILE_HALF_FREE = Check(
    name="unmovable_pressure_while_half_free",
    title="no unmovable request fails or enters direct reclaim while over half of memory is free",
    claim="C11",
    witness_doc="an unmovable request arrives while more than half of memory is free",
    witness=_unmovable_request_while_half_free,
    bad_step=_pressure_while_half_free,
    # as observed at `tiny` and at the default scope alike
    expected={scope: {"migrate_cma": Verdict.VIOLATED, "zone_cma": Verdict.VIOLATED}
              for scope in ("tiny", "default")},
    needs=("slow path",),
)

RANK = 30
CHECKS = (UNMOVABLE_PRESSURE_WHILE_HALF_FREE,)
