"""CMA utilization (claims C1, C2, C3; problem 1 of the ZONE_CMA v2 cover letter).

Claims (history-and-claims.md section 7; sources: the 2014 "Aggressively allocate the pages
on cma reserved memory" series <1401260672-28339-1-git-send-email-iamjoonsoo.kim@lge.com>,
the ZONE_CMA v1/v2 cover letters <1461561670-28012-1-git-send-email-iamjoonsoo.kim@lge.com>,
and Mel Gorman's replies <20160428103927.GM2858@techsingularity.net>,
<20160429092902.GQ2858@techsingularity.net>):

C1/C2: under MIGRATE_CMA, kswapd judges a zone without its free CMA pages
(``zone_balanced`` -> ``zone_watermark_ok_safe`` with alloc_flags 0), so it reclaims ordinary
movable pages while the CMA area is still free; movable requests take CMA pageblocks only
after their own lists are empty (``__rmqueue_cma_fallback``), so free memory hovers at the
CMA size. C3: a design that gives CMA memory to movable requests first shows CMA occupancy
before reclaim starts. Joonsoo: a zone fixes this (highest-zone-first puts movable pages
into ZONE_CMA first). Mel: a zone helps only thanks to the v4.6 fair zone policy, which
node-lru removes.

Checks (polarity: a VIOLATED cell is the utilization problem, with its trace):

``kswapd_reclaims_while_cma_idle`` (C1, C2): kswapd never reclaims a GFP_HIGHUSER_MOVABLE
page from ordinary memory while free CMA memory alone meets the high watermark of the zone
it reclaims (at the default and tiny scopes: while all of CMA memory is free). Such a page could have
been placed in CMA memory by every design. Witness: kswapd reclaims a page.

``movable_bypasses_idle_cma`` (C2, C3, C13): a GFP_HIGHUSER_MOVABLE allocation is never
served from ordinary memory while no page of CMA memory is in use. Witness: a movable
allocation is served from ordinary memory. Under ZONE_CMA with highest-zone-first (v4.8
order, ``--no-fair``) movable requests use ZONE_CMA down to its low watermark first, so the
check HOLDS there; the v4.6 fair zone policy interleaves ZONE_CMA with Normal
(NR_ALLOC_BATCH), so at the default and tiny (fair) scopes it is VIOLATED for zone_cma too (Mel's
point that the zone's benefit rides on, and is shaped by, the fair policy).

``utilization_oscillation`` (liveness, C1/C2): no reachable cycle in which kswapd keeps
reclaiming GFP_HIGHUSER_MOVABLE pages (at least one per round; pages every design may put
in CMA memory) while free CMA memory never drops (every page of CMA memory stays free).
Reported as a lasso. Witness: kswapd reclaims a movable page while all of CMA memory is free
(before and after). Reclaim of pages a design keeps out of CMA memory (blockdev buffers
under ZONE_CMA, kernel pages) is lowmem pressure (C11, C14), not this check.

Expected verdicts at the default and tiny scopes (v4.6 fair policy) are what the model
shows; the tests also pin the ``--no-fair`` outcomes.
"""

from mmspec.check import Check, LivenessCheck, Verdict
from mmspec.state import ALLOC, KSWAPD
from mmspec.vocab import GFP_HIGHUSER_MOVABLE

from ._cma import cma_idle, free_cma, in_cma, on_kinds


@on_kinds(KSWAPD)
def _kswapd_reclaims(model, pre, action, effect, post) -> bool:
    return action.kind == KSWAPD and "kswapd reclaim" in effect.paths


@on_kinds(KSWAPD)
def _kswapd_reclaims_while_cma_idle(model, pre, action, effect, post) -> bool:
    if not _kswapd_reclaims(model, pre, action, effect, post):
        return False
    fc = free_cma(model, pre)
    for p, b, c in action.victims:
        if (c == GFP_HIGHUSER_MOVABLE and not in_cma(model, pre, p, b)
                and fc >= model.wm[p][2]):
            return True
    return False


@on_kinds(ALLOC)
def _movable_from_ordinary(model, pre, action, effect, post) -> bool:
    return (action.kind == ALLOC and action.cls == GFP_HIGHUSER_MOVABLE and effect.ok
            and not in_cma(model, post, effect.zone, effect.block))


@on_kinds(ALLOC)
def _movable_bypasses_idle_cma(model, pre, action, effect, post) -> bool:
    return _movable_from_ordinary(model, pre, action, effect, post) and cma_idle(model, pre)


def _stay_cma_idle(model, s) -> bool:
    return cma_idle(model, s)


@on_kinds(KSWAPD)
def _kswapd_reclaims_movable(model, pre, action, effect, post) -> bool:
    return (_kswapd_reclaims(model, pre, action, effect, post)
            and any(c == GFP_HIGHUSER_MOVABLE for _, _, c in action.victims))


@on_kinds(KSWAPD)
def _reclaim_movable_while_idle(model, pre, action, effect, post) -> bool:
    return (_kswapd_reclaims_movable(model, pre, action, effect, post)
            and cma_idle(model, pre) and cma_idle(model, post))


KSWAPD_RECLAIMS_WHILE_CMA_IDLE = Check(
    name="kswapd_reclaims_while_cma_idle",
    title="kswapd never reclaims a movable page of ordinary memory while free CMA memory "
          "meets the zone's high watermark",
    claim="C1, C2",
    witness_doc="kswapd reclaims a page",
    witness=_kswapd_reclaims,
    bad_step=_kswapd_reclaims_while_cma_idle,
    # as observed at `tiny` and at the default scope alike
    expected={scope: {"migrate_cma": Verdict.VIOLATED,
                      # fair policy: movable pages land in Normal while ZONE_CMA is
                      # NR_ALLOC_BATCH-depleted; frees can then empty ZONE_CMA again
                      # before Normal is reclaimed
                      "zone_cma": Verdict.VIOLATED}
              for scope in ("tiny", "default")},
    needs=("kswapd reclaim",),
)

MOVABLE_BYPASSES_IDLE_CMA = Check(
    name="movable_bypasses_idle_cma",
    title="no movable allocation is served from ordinary memory while no CMA page is in use",
    claim="C2, C3, C13",
    witness_doc="a movable allocation is served from ordinary memory",
    witness=_movable_from_ordinary,
    bad_step=_movable_bypasses_idle_cma,
    # as observed at `tiny` and at the default scope alike
    expected={scope: {"migrate_cma": Verdict.VIOLATED,
                      # HOLDS under --no-fair (highest-zone-first); the fair pass skips
                      # a depleted ZONE_CMA (Mel's point: the zone's benefit depends on
                      # the zone policy)
                      "zone_cma": Verdict.VIOLATED}
              for scope in ("tiny", "default")},
    needs=("fast path: Normal",),
)

UTILIZATION_OSCILLATION = LivenessCheck(
    name="utilization_oscillation",
    title="no cycle in which kswapd keeps reclaiming movable pages while all CMA memory stays free",
    claim="C1, C2 (liveness)",
    witness_doc="kswapd reclaims a movable page while all CMA memory is free",
    witness=_reclaim_movable_while_idle,
    stay=_stay_cma_idle,
    accept=_kswapd_reclaims_movable,
    # as observed at `tiny` and at the default scope alike (zone_cma's lasso is shorter at
    # the default scope: 6 steps to a loop of 7, was 10+8)
    expected={scope: {"migrate_cma": Verdict.VIOLATED, "zone_cma": Verdict.VIOLATED}
              for scope in ("tiny", "default")},
    needs=("kswapd reclaim",),
)

RANK = 10
CHECKS = (KSWAPD_RECLAIMS_WHILE_CMA_IDLE, MOVABLE_BYPASSES_IDLE_CMA, UTILIZATION_OSCILLATION)
