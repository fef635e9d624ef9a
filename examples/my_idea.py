"""my_idea: an example of a design kept outside models/ (`mmspec compare --design-file
examples/my_idea.py`, `mmspec check --design-file examples/my_idea.py`).

Mechanism
    v4.6 MIGRATE_CMA, but free CMA pages never count in a watermark check, also for movable
    requests with ALLOC_CMA: patch 3 of Joonsoo Kim's 2014 series alone (the shipped design
    ``joonsoo_2014`` also has patch 2, the CMA/movable interleave).
"""

from mmspec.check import Verdict
from mmspec.models.migrate_cma import MigrateCma


class MyIdea(MigrateCma):
    name = "my_idea"
    title = "example: v4.6 MIGRATE_CMA, free CMA pages never count in watermark checks"
    source = "README example; Joonsoo Kim, 2014, patch 3 of 3 (see design joonsoo_2014)"

    #: what the idea is expected to show, per named scope (observed at both)
    expected = {"default": {"atomic_while_kswapd_sleeps": Verdict.HOLDS},
                "tiny": {"atomic_while_kswapd_sleeps": Verdict.HOLDS}}

    def watermark_counts_cma(self, alloc_flags: int) -> bool:
        """Never: ``__zone_watermark_ok`` subtracts free CMA pages for every request."""
        return False


DESIGN = MyIdea
