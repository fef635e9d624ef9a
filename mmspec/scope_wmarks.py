"""The kernel's watermark and lowmem_reserve setup (v4.6 mm/page_alloc.c), as formulas.

``init_per_zone_wmark_min()`` (``min_free_kbytes`` from the low memory),
``__setup_per_zone_wmarks()`` (each zone's min/low/high from ``min_free_kbytes`` and
``watermark_scale_factor``) and ``setup_per_zone_lowmem_reserve()`` (with
``sysctl_lowmem_reserve_ratio``). A design derives the watermarks of a scope's zones that
give none with them (:mod:`mmspec.mm.model`); a scope's ``[derive_watermarks]`` table sets
their parameters.
"""

from __future__ import annotations

import math
from typing import Mapping

from .vocab import ZoneType

__all__ = ["LOWMEM_RESERVE_RATIO", "init_per_zone_wmark_min", "setup_per_zone_wmarks",
           "setup_per_zone_lowmem_reserve"]

#: v4.6 ``sysctl_lowmem_reserve_ratio`` on a 64-bit kernel with ZONE_DMA and ZONE_DMA32
#: (positional array {256, 256, 32}); zones above NORMAL have no lower zone to protect.
LOWMEM_RESERVE_RATIO = {ZoneType.ZONE_DMA: 256, ZoneType.ZONE_DMA32: 256,
                        ZoneType.ZONE_NORMAL: 32, ZoneType.ZONE_MOVABLE: 32,
                        ZoneType.ZONE_CMA: 32}


def init_per_zone_wmark_min(lowmem_kbytes: int) -> int:
    """``min_free_kbytes`` as v4.6 init_per_zone_wmark_min() computes it.

    ``min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, 65536)``.

    >>> init_per_zone_wmark_min(262144 * 4)
    4096
    >>> init_per_zone_wmark_min(131072 * 4)
    2896
    """
    v = math.isqrt(lowmem_kbytes * 16)
    return max(128, min(65536, v))


def setup_per_zone_wmarks(managed: list[tuple[ZoneType, int]], min_free_kbytes: int,
                          watermark_scale_factor: int = 10, page_kbytes: int = 4,
                          highmem: frozenset[ZoneType] = frozenset()) -> list[tuple[int, int, int]]:
    """Per-zone (min, low, high) as v4.6 __setup_per_zone_wmarks() computes them.

    ``pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)``; ``lowmem_pages`` sums managed pages
    of non-highmem zones; per zone ``tmp = pages_min * managed // lowmem_pages``; ``min = tmp``
    (highmem: ``clamp(managed // 1024, 32, 128)``); ``gap = max(tmp >> 2, managed *
    watermark_scale_factor // 10000)``; ``low = min + gap``; ``high = min + 2 * gap``.

    >>> setup_per_zone_wmarks([(ZoneType.ZONE_NORMAL, 131072)], 2896)
    [(724, 905, 1086)]
    """
    pages_min = min_free_kbytes // page_kbytes
    lowmem_pages = sum(m for zt, m in managed if zt not in highmem)
    out = []
    for zt, m in managed:
        tmp = pages_min * m // lowmem_pages if lowmem_pages else 0
        mn = max(32, min(128, m // 1024)) if zt in highmem else tmp
        gap = max(tmp >> 2, m * watermark_scale_factor // 10000)
        out.append((mn, mn + gap, mn + 2 * gap))
    return out


def setup_per_zone_lowmem_reserve(managed: list[tuple[ZoneType, int]],
                                  ratio: Mapping[ZoneType, int] = LOWMEM_RESERVE_RATIO
                                  ) -> list[dict[ZoneType, int]]:
    """``lowmem_reserve`` per zone, v4.6 setup_per_zone_lowmem_reserve().

    For zone i and a higher classzone j: ``sum(managed[i+1..j]) // ratio[i]``; 0 for j <= i.
    Only populated zones are passed; unpopulated zones add 0 to the sums.
    """
    out = []
    for i, (zi, _) in enumerate(managed):
        res: dict[ZoneType, int] = {zi: 0}
        total = 0
        for zj, mj in managed[i + 1:]:
            total += mj
            res[zj] = total // max(1, ratio.get(zi, 32))
        out.append(res)
    return out
