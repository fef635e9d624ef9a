"""The allocator's rules, laid out like the kernel's mm/: the one source of semantics.

The v4.6 page allocator, kswapd, reclaim, direct compaction and cma_alloc as rules over
immutable states (:mod:`mmspec.state`), each method citing the kernel function it models:

=====================  =========================================================
module                 kernel
=====================  =========================================================
:mod:`.watermark`      mm/page_alloc.c ``__zone_watermark_ok``, ``zone_watermark_ok``
:mod:`.page_alloc`     mm/page_alloc.c ``__rmqueue`` and fallbacks, ``buffered_rmqueue``,
                       ``get_page_from_freelist``, ``__alloc_pages_slowpath``,
                       ``wake_all_kswapds``, ``__free_one_page``
:mod:`.vmscan`         mm/vmscan.c ``wakeup_kswapd``, ``zone_balanced``, ``pgdat_balanced``,
                       ``kswapd``/``balance_pgdat``, ``try_to_free_pages``
:mod:`.compaction`     mm/compaction.c ``compaction_suitable``, ``compact_zone``,
                       ``try_to_compact_pages``
:mod:`.cma`            mm/cma.c ``cma_alloc``/``cma_release``; ``alloc_contig_range``
:mod:`.features`       pinned buffer pages, the cma actions, LRU page ages (scope switches)
:mod:`.model`          the design hooks, the model protocol (initial states, successors)
:mod:`.zone_setup`     the zone layout of a scope: zones, pageblocks, watermarks per design
:mod:`.common`         shared tables (``fallbacks[]``) and the scratch state of a step
=====================  =========================================================

Watermark and lowmem_reserve setup (``init_per_zone_wmark_min``,
``__setup_per_zone_wmarks``, ``setup_per_zone_lowmem_reserve``) is in :mod:`mmspec.scope_wmarks`,
with the scope it derives values for. Every engine runs these rules: the Python
breadth-first search and the hypothesis machines on ints, the compiled engine and z3 on
the expressions the tracer (:mod:`mmspec.engine.tracer`) gets by running them on symbolic
values; the kernel-vocabulary log of a trace is written by the same code as it runs.
A design (``models/*.py``) subclasses :class:`Allocator` and overrides documented hooks.
"""

from .common import FALLBACKS, NeedVictim, ZoneLayout
from .model import Allocator
from .watermark import zone_watermark_ok_value

__all__ = ["Allocator", "ZoneLayout", "zone_watermark_ok_value", "NeedVictim", "FALLBACKS"]
