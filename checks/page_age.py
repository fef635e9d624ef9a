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
from mmspec.ops import any_, first_true, select


def _two_zone_reclaim(model, pre, action, effect, post) -> bool:
    if not action.victims:
        return False
    zones = 0
    for p in range(len(model.layout)):
        lo, hi = model.lru_code_range(p)
        zones += select(any_((lo <= x) & (x < hi) for x in pre.lru), 1, 0)
    return zones >= 2


def _inversion(model, pre, action, effect, post) -> bool:
    """Some victim, in the LRU as it is before that victim goes (the earlier victims of the
    step removed), has an older page of another zone before it."""
    lru = pre.lru
    found = False
    for v in action.victims:
        code = model.lru_code(*v)
        lo, hi = model.lru_code_range(v[0])
        i = first_true(x == code for x in lru)      # -1: not on the LRU
        found = found | any_((j < i) & (x != 0) & ((x < lo) | (x >= hi))
                             for j, x in enumerate(lru))
        lru = model._lru_remove(lru, code)
    return found


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
