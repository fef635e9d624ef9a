"""Where designs import the allocator from: ``from mmspec.kernel import Allocator``.

The rules themselves live in :mod:`mmspec.mm`, one module per kernel source file
(mm/page_alloc.c, mm/vmscan.c, mm/compaction.c, mm/cma.c); this module re-exports what a
design or a user's test needs.
"""

from .mm import FALLBACKS, Allocator, NeedVictim, ZoneLayout, zone_watermark_ok_value
from .mm.common import _Work  # noqa: F401  (tests build scratch states by hand)

__all__ = ["Allocator", "ZoneLayout", "zone_watermark_ok_value", "NeedVictim", "FALLBACKS"]
