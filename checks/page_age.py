"""Page-age inversion across zones (claim C12).

Claim (history-and-claims.md C12; Mel Gorman in the ZONE_CMA thread,
<20160428103927.GM2858@techsingularity.net>): with per-zone LRUs (v4.6) and zones filled
highest zone first, reclaim works per zone, so a newer page of one zone can be reclaimed
while an older reclaimable page of another zone survives; the v4.6 fair zone allocation
policy (ALLOC_FAIR, NR_ALLOC_BATCH) interleaves allocations across zones to mitigate it.

Model extension (docs/semantics.md section 10): scope switch ``page_age`` records LRU pages
in allocation order and makes reclaim take the oldest page of a zone's LRU (the inactive
list tail; active/inactive abstracted); which zone reclaim works on is unchanged.

Check ``page_age_inversion`` (scope: page_age on, fair zone policy off -- v4.8's highest
zone first): no reclaim step frees an LRU page while an older LRU page of another zone
survives. Witness: reclaim frees a page while two zones hold LRU pages. Expected: zone_cma
VIOLATED; single-zone designs (migrate_cma) VACUOUS (one zone, no other zone to compare).

Check ``page_age_inversion_fair``: the same with the v4.6 fair zone policy on (and
GFP_ATOMIC off to keep the search small). Recorded what the model shows: VIOLATED under
zone_cma as well -- the fair policy interleaves allocations but cannot make per-zone reclaim
follow global age (e.g. kswapd balances only the zone below its watermark).
"""

from mmspec.check import Check, Verdict


def _victims_in_age_order(pre, action):
    """Yield (victim, lru before it is freed) for each reclaim victim of the step."""
    lru = list(pre.lru)
    for v in action.victims:
        yield v, lru
        if v in lru:
            lru.remove(v)


def _two_zone_reclaim(model, pre, action, effect, post) -> bool:
    return bool(action.victims) and len({e[0] for e in pre.lru}) >= 2


def _inversion(model, pre, action, effect, post) -> bool:
    for v, lru in _victims_in_age_order(pre, action):
        if v not in lru:
            continue
        i = lru.index(v)
        if any(e[0] != v[0] for e in lru[:i]):
            return True
    return False


#: the workload of the scope `tiny` (the default before it grew): LRU page ages multiply the
#: state space, so these checks keep the small workload whatever the default is
_TINY_REQUESTS = {"GFP_ATOMIC": 1, "GFP_KERNEL": 2, "GFP_HIGHUSER_MOVABLE": 3, "BLOCKDEV": 1,
                  "SLAB": 0}

#: as observed from `tiny` and from the default scope alike (the same scope after the
#: overrides: the request limits are tiny's)
_EXPECTED = {scope: {"zone_cma": Verdict.VIOLATED, "migrate_cma": Verdict.VACUOUS}
             for scope in ("tiny", "default")}

PAGE_AGE_INVERSION = Check(
    name="page_age_inversion",
    title="reclaim never frees a newer LRU page while an older one of another zone survives "
          "(highest zone first)",
    claim="C12",
    witness_doc="reclaim frees a page while two zones hold LRU pages",
    witness=_two_zone_reclaim,
    bad_step=_inversion,
    expected=_EXPECTED,
    scope={"page_age": True, "fair_zone_policy": False, "requests": _TINY_REQUESTS},
)

PAGE_AGE_INVERSION_FAIR = Check(
    name="page_age_inversion_fair",
    title="as page_age_inversion, with the v4.6 fair zone allocation policy",
    claim="C12",
    witness_doc="reclaim frees a page while two zones hold LRU pages",
    witness=_two_zone_reclaim,
    bad_step=_inversion,
    expected=_EXPECTED,
    scope={"page_age": True, "fair_zone_policy": True,
           "requests": dict(_TINY_REQUESTS, GFP_ATOMIC=0)},
)

RANK = 46
CHECKS = (PAGE_AGE_INVERSION, PAGE_AGE_INVERSION_FAIR)
