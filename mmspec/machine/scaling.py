"""Scaling a real zone down to a scope small enough for exhaustive search.

One rule, used by ``mmspec import --unit`` and by ``mmspec diagnose``, stated in every file
and output that uses it:

* a count of real pages ``x`` becomes ``round_half_up(x / unit)`` model pages (``unit`` =
  real pages per model page; it may be a fraction);
* a zone gets ``round_half_up(managed / (unit * ppb))`` pageblocks of ``ppb`` model pages, at
  least one; its CMA pageblocks are ``round_half_up(cma / (unit * ppb))``, at least one if the
  zone has CMA pages and at most all but one if it also has other pages;
* watermarks and lowmem_reserve are scaled like page counts; because real watermarks are a
  fraction of a percent of a zone they would round to 0, so the order of the real marks is
  kept: a positive min becomes at least 1, and a mark above the previous one stays at least
  one page above it in the model (min 1 / low 2 / high 3 at the smallest).
"""

from __future__ import annotations

from fractions import Fraction

__all__ = ["RULE", "round_half_up", "scale_pages", "scale_marks", "scale_blocks",
           "SMALL_REQUESTS"]

#: the request limits of the scaled-down scopes (``mmspec import --scaled``, ``mmspec
#: diagnose``): the workload of the shipped scope ``tiny`` (the built-in default before it
#: grew), so that an exhaustive search of a few pageblocks ends in seconds
SMALL_REQUESTS = {"GFP_ATOMIC": 1, "GFP_KERNEL": 2, "GFP_HIGHUSER_MOVABLE": 3, "BLOCKDEV": 1}

RULE = ("x real pages -> round_half_up(x / unit) model pages; pageblocks per zone = "
        "round_half_up(managed / (unit * pages_per_pageblock)) >= 1; CMA pageblocks likewise "
        "(>= 1 if the zone has CMA, <= all but one if it has other memory); watermarks and "
        "lowmem_reserve scaled like pages, then a positive min >= 1 and each higher mark >= "
        "the one below + 1 where the real one is higher (real marks would round to 0)")


def round_half_up(x: Fraction) -> int:
    return int((Fraction(x) + Fraction(1, 2)) // 1)


def scale_pages(x: int, unit: Fraction) -> int:
    return round_half_up(Fraction(x) / unit)


def scale_marks(marks: tuple[int, int, int], unit: Fraction) -> tuple[int, int, int]:
    out = []
    prev_real = prev = 0
    for i, real in enumerate(marks):
        v = scale_pages(real, unit)
        if i == 0 and real > 0:
            v = max(v, 1)
        elif i > 0 and real > prev_real:
            v = max(v, prev + 1)
        elif i > 0:
            v = max(v, prev)
        out.append(v)
        prev_real, prev = real, v
    return out[0], out[1], out[2]


def scale_blocks(managed: int, cma: int, unit: Fraction, ppb: int) -> tuple[int, int]:
    """(pageblocks, of which CMA) for a zone of ``managed`` pages with ``cma`` CMA pages."""
    blocks = max(1, round_half_up(Fraction(managed) / (unit * ppb)))
    c = round_half_up(Fraction(cma) / (unit * ppb))
    if cma > 0:
        c = max(c, 1)
    if cma < managed:
        c = min(c, blocks - 1) if blocks > 1 else 0
    return blocks, min(c, blocks)
