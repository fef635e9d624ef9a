"""v4.6 __zone_watermark_ok() on numbers, and the v4.6 watermark / lowmem_reserve formulas.

Every expected value is computed by hand in the comment next to the case, following
kernel-semantics.md section 1.1:

    F = free - (2**order - 1)
    m = mark;  ALLOC_HIGH: m -= m // 2
    ALLOC_HARDER: m -= m // 4   else: F -= nr_reserved_highatomic
    no ALLOC_CMA: F -= free_cma
    fail if F <= m + lowmem_reserve[classzone]      (strict)
    order 0: ok;  order > 0: ok iff a usable free block of order >= `order` exists
"""

from __future__ import annotations

import pytest

from mmspec.kernel import zone_watermark_ok_value as wok
from mmspec.scope import (LOWMEM_RESERVE_RATIO, init_per_zone_wmark_min,
                          setup_per_zone_lowmem_reserve, setup_per_zone_wmarks)
from mmspec.vocab import (ALLOC_CMA, ALLOC_CPUSET, ALLOC_FAIR, ALLOC_HARDER, ALLOC_HIGH,
                          ALLOC_WMARK_LOW, ALLOC_WMARK_MIN, ZoneType)

HIGH, HARDER, CMA = ALLOC_HIGH, ALLOC_HARDER, ALLOC_CMA
ATOMIC_SLOW = ALLOC_WMARK_MIN | ALLOC_HIGH | ALLOC_HARDER      # gfp_to_alloc_flags(GFP_ATOMIC)

# (free, order, mark, lowmem_reserve, alloc_flags, nr_free_cma, highatomic, expected)
ORDER0_CASES = [
    # plain, strict comparison
    pytest.param(11, 0, 10, 0, 0, 0, 0, True, id="plain: 11 > 10"),
    pytest.param(10, 0, 10, 0, 0, 0, 0, False, id="plain: 10 <= 10 (strict)"),
    pytest.param(0, 0, 0, 0, 0, 0, 0, False, id="plain: 0 <= 0"),
    pytest.param(1, 0, 0, 0, 0, 0, 0, True, id="plain: 1 > 0"),
    # ALLOC_HIGH: m - m//2 (rounds the mark UP, not m//2)
    pytest.param(2, 0, 1, 0, HIGH, 0, 0, True, id="HIGH mark1: m=1-0=1; 2 > 1"),
    pytest.param(1, 0, 1, 0, HIGH, 0, 0, False, id="HIGH mark1: m=1-0=1; 1 <= 1"),
    pytest.param(4, 0, 5, 0, HIGH, 0, 0, True, id="HIGH mark5: m=5-2=3; 4 > 3"),
    pytest.param(3, 0, 5, 0, HIGH, 0, 0, False, id="HIGH mark5: m=5-2=3; 3 <= 3"),
    pytest.param(5, 0, 7, 0, HIGH, 0, 0, True, id="HIGH mark7: m=7-3=4; 5 > 4"),
    pytest.param(4, 0, 7, 0, HIGH, 0, 0, False, id="HIGH mark7: m=7-3=4; 4 <= 4"),
    # ALLOC_HARDER alone: m - m//4
    pytest.param(7, 0, 7, 0, HARDER, 0, 0, True, id="HARDER mark7: m=7-1=6; 7 > 6"),
    pytest.param(6, 0, 7, 0, HARDER, 0, 0, False, id="HARDER mark7: m=7-1=6; 6 <= 6"),
    pytest.param(4, 0, 3, 0, HARDER, 0, 0, True, id="HARDER mark3: m=3-0=3; 4 > 3"),
    pytest.param(3, 0, 3, 0, HARDER, 0, 0, False, id="HARDER mark3: m=3-0=3; 3 <= 3"),
    # HIGH then HARDER (order matters: mark 13 -> 13-6=7 -> 7-1=6; HARDER first would give 5)
    pytest.param(7, 0, 13, 0, HIGH | HARDER, 0, 0, True, id="HIGH+HARDER mark13: m=6; 7 > 6"),
    pytest.param(6, 0, 13, 0, HIGH | HARDER, 0, 0, False, id="HIGH+HARDER mark13: m=6; 6 <= 6"),
    pytest.param(5, 0, 7, 0, HIGH | HARDER, 0, 0, True, id="HIGH+HARDER mark7: 7-3=4, 4-1=3; 5 > 3"),
    pytest.param(4, 0, 7, 0, HIGH | HARDER, 0, 0, True, id="HIGH+HARDER mark7: m=3; 4 > 3"),
    pytest.param(3, 0, 7, 0, HIGH | HARDER, 0, 0, False, id="HIGH+HARDER mark7: m=3; 3 <= 3"),
    pytest.param(3, 0, 3, 0, ATOMIC_SLOW, 0, 0, True, id="GFP_ATOMIC slow mark3: 3-1=2, 2-0=2; 3 > 2"),
    pytest.param(2, 0, 3, 0, ATOMIC_SLOW, 0, 0, False, id="GFP_ATOMIC slow mark3: m=2; 2 <= 2"),
    pytest.param(2, 0, 2, 0, ATOMIC_SLOW, 0, 0, True, id="GFP_ATOMIC slow mark2: 2-1=1, 1-0=1; 2 > 1"),
    pytest.param(1, 0, 2, 0, ATOMIC_SLOW, 0, 0, False, id="GFP_ATOMIC slow mark2: m=1; 1 <= 1"),
    # highatomic reserve: subtracted only without HARDER
    pytest.param(10, 0, 7, 0, 0, 0, 2, True, id="highatomic2: F=10-2=8 > 7"),
    pytest.param(9, 0, 7, 0, 0, 0, 2, False, id="highatomic2: F=9-2=7 <= 7"),
    pytest.param(7, 0, 7, 0, HIGH, 0, 2, True, id="HIGH highatomic2: m=4, F=7-2=5 > 4"),
    pytest.param(6, 0, 7, 0, HIGH, 0, 2, False, id="HIGH highatomic2: m=4, F=6-2=4 <= 4"),
    pytest.param(7, 0, 7, 0, HARDER, 0, 5, True, id="HARDER highatomic5: m=6, F=7 (not reduced) > 6"),
    pytest.param(3, 0, 3, 0, ATOMIC_SLOW, 0, 100, True, id="ATOMIC highatomic100 ignored: 3 > 2"),
    # free CMA pages: subtracted only without ALLOC_CMA
    pytest.param(10, 0, 5, 0, 0, 4, 0, True, id="cma4: F=10-4=6 > 5"),
    pytest.param(9, 0, 5, 0, 0, 4, 0, False, id="cma4: F=9-4=5 <= 5"),
    pytest.param(9, 0, 5, 0, CMA, 4, 0, True, id="ALLOC_CMA cma4: F=9 > 5"),
    pytest.param(6, 0, 5, 0, CMA, 4, 0, True, id="ALLOC_CMA cma4: F=6 > 5"),
    pytest.param(5, 0, 5, 0, CMA, 4, 0, False, id="ALLOC_CMA cma4: F=5 <= 5"),
    pytest.param(5, 0, 3, 0, ATOMIC_SLOW, 4, 0, False, id="ATOMIC cma4: m=2, F=5-4=1 <= 2"),
    pytest.param(7, 0, 3, 0, ATOMIC_SLOW, 4, 0, True, id="ATOMIC cma4: m=2, F=7-4=3 > 2"),
    pytest.param(5, 0, 3, 0, ALLOC_WMARK_LOW | CMA | ALLOC_FAIR | ALLOC_CPUSET, 4, 0, True,
                 id="movable fast path: F=5 > low 3 (other bits ignored)"),
    pytest.param(5, 0, 3, 0, ALLOC_WMARK_LOW | ALLOC_FAIR | ALLOC_CPUSET, 4, 0, False,
                 id="kernel fast path: F=5-4=1 <= low 3"),
    pytest.param(12, 0, 6, 0, 0, 3, 2, True, id="cma3+highatomic2: F=12-2-3=7 > 6"),
    pytest.param(11, 0, 6, 0, 0, 3, 2, False, id="cma3+highatomic2: F=11-2-3=6 <= 6"),
    pytest.param(9, 0, 6, 0, HARDER, 3, 2, True, id="HARDER cma3 highatomic2: m=5, F=9-3=6 > 5"),
    pytest.param(8, 0, 6, 0, HARDER, 3, 2, False, id="HARDER cma3 highatomic2: m=5, F=8-3=5 <= 5"),
    pytest.param(7, 0, 6, 0, HARDER | CMA, 3, 2, True, id="HARDER|CMA: m=5, F=7 > 5"),
    # lowmem_reserve: added to the (reduced) mark, never halved
    pytest.param(10, 0, 3, 6, 0, 0, 0, True, id="reserve6: 10 > 3+6"),
    pytest.param(9, 0, 3, 6, 0, 0, 0, False, id="reserve6: 9 <= 3+6"),
    pytest.param(9, 0, 4, 6, HIGH, 0, 0, True, id="HIGH reserve6: m=2, 9 > 2+6"),
    pytest.param(8, 0, 4, 6, HIGH, 0, 0, False, id="HIGH reserve6: m=2, 8 <= 2+6"),
    pytest.param(4101, 0, 724, 4096, 0, 0, 0, False, id="Normal vs ZONE_CMA class: 4101 <= 724+4096"),
    pytest.param(4821, 0, 724, 4096, 0, 0, 0, True, id="Normal vs ZONE_CMA class: 4821 > 4820"),
    pytest.param(12, 0, 8, 4, HIGH, 3, 0, True, id="HIGH reserve4 cma3: m=4, F=12-3=9 > 4+4"),
    pytest.param(11, 0, 8, 4, HIGH, 3, 0, False, id="HIGH reserve4 cma3: m=4, F=11-3=8 <= 4+4"),
]


@pytest.mark.parametrize("free, order, mark, reserve, flags, cma, ha, expected", ORDER0_CASES)
def test_order0(free, order, mark, reserve, flags, cma, ha, expected):
    def boom(o):  # order 0 must never reach the high-order step
        raise AssertionError("high_order_ok consulted for order 0")

    assert wok(free, order, mark, reserve, flags, cma, ha, boom) is expected


# order > 0: F = free - (2**order - 1); then the high_order_ok predicate decides.
HIGH_ORDER_CASES = [
    # order 2: F = free - 3
    pytest.param(10, 2, 6, 0, 0, 0, True, True, id="o2: F=10-3=7 > 6, block ok"),
    pytest.param(9, 2, 6, 0, 0, 0, True, False, id="o2: F=9-3=6 <= 6"),
    pytest.param(10, 2, 6, 0, 0, 0, False, False, id="o2: F=7 > 6 but no usable block"),
    # order 1: F = free - 1
    pytest.param(4, 1, 2, 0, 0, 0, True, True, id="o1: F=4-1=3 > 2"),
    pytest.param(3, 1, 2, 0, 0, 0, True, False, id="o1: F=3-1=2 <= 2"),
    pytest.param(0, 1, 0, 0, 0, 0, True, False, id="o1: F=0-1=-1 <= 0 (negative allowed)"),
    # order 3 with CMA and reserve: F = 20 - 7 - 4 = 9 vs 3 + 5 = 8
    pytest.param(20, 3, 3, 5, 0, 4, True, True, id="o3 cma4 res5: F=9 > 8"),
    pytest.param(19, 3, 3, 5, 0, 4, True, False, id="o3 cma4 res5: F=8 <= 8"),
    pytest.param(19, 3, 3, 5, CMA, 4, True, True, id="o3 ALLOC_CMA res5: F=12 > 8"),
    # order 1, GFP_ATOMIC slow: m = 3-1 = 2, 2-0 = 2; F = free - 1
    pytest.param(4, 1, 3, 0, ATOMIC_SLOW, 0, True, True, id="o1 atomic: F=3 > 2"),
    pytest.param(3, 1, 3, 0, ATOMIC_SLOW, 0, True, False, id="o1 atomic: F=2 <= 2"),
]


@pytest.mark.parametrize("free, order, mark, reserve, flags, cma, block_ok, expected",
                         HIGH_ORDER_CASES)
def test_high_order(free, order, mark, reserve, flags, cma, block_ok, expected):
    asked = []

    def high_order_ok(o):
        asked.append(o)
        return block_ok

    assert wok(free, order, mark, reserve, flags, cma, 0, high_order_ok) is expected
    # the predicate is asked (with the request's order) only after the order-0 gate passed
    gate_passed = (free - ((1 << order) - 1) - (0 if flags & CMA else cma)
                   > _reduced(mark, flags) + reserve)
    assert asked == ([order] if gate_passed else [])


def _reduced(mark, flags):
    m = mark
    if flags & HIGH:
        m -= m // 2
    if flags & HARDER:
        m -= m // 4
    return m


def test_high_order_without_predicate_fails():
    # a huge surplus, but no predicate means "no free block of that order"
    assert wok(1000, 1, 0, 0, 0) is False
    assert wok(1000, 0, 0, 0, 0) is True


def test_default_arguments_subtract_nothing():
    # nr_free_cma and nr_reserved_highatomic default to 0
    assert wok(4, 0, 3, 0, 0) is True
    assert wok(3, 0, 3, 0, 0) is False


# ------------------------------------------------------------------------------------------
# init_per_zone_wmark_min: clamp(isqrt(16 * lowmem_kbytes), 128, 65536)

@pytest.mark.parametrize("lowmem_kbytes, expected", [
    (131072 * 4, 2896),      # isqrt(8388608) = 2896 (2896^2 = 8386816, 2897^2 = 8392609)
    (262144 * 4, 4096),      # isqrt(16777216) = 4096 exactly
    (1089, 132),             # 16 * 1089 = 17424 = 132^2: not clamped
    (1024, 128),             # isqrt(16384) = 128: exactly the lower clamp
    (1000, 128),             # isqrt(16000) = 126 -> clamped up to 128
    (0, 128),                # clamped up
    (2 ** 28, 65536),        # isqrt(2^32) = 65536: exactly the upper clamp
    (2 ** 30, 65536),        # isqrt(2^34) = 131072 -> clamped down to 65536
])
def test_init_per_zone_wmark_min(lowmem_kbytes, expected):
    assert init_per_zone_wmark_min(lowmem_kbytes) == expected


# ------------------------------------------------------------------------------------------
# setup_per_zone_wmarks: pages_min = mfk // 4; tmp = pages_min * managed // lowmem;
# gap = max(tmp >> 2, managed * wsf // 10000); (min, min + gap, min + 2 gap)

N, MV, CZ = ZoneType.ZONE_NORMAL, ZoneType.ZONE_MOVABLE, ZoneType.ZONE_CMA


def test_wmarks_migrate_cma_boot_values():
    # kernel-semantics.md 6.4 row 1: CMA not yet managed -> Normal has 131072 pages.
    # pages_min = 2896 // 4 = 724; tmp = 724; gap = max(724 >> 2 = 181, 131072*10//10000 = 131)
    # = 181 -> 724 / 905 / 1086
    mfk = init_per_zone_wmark_min(131072 * 4)
    assert mfk == 2896
    assert setup_per_zone_wmarks([(N, 131072)], mfk) == [(724, 905, 1086)]


def test_wmarks_migrate_cma_recomputed_with_cma_managed():
    # row 2: same min_free_kbytes, 262144 managed: tmp = 724;
    # gap = max(181, 262144*10//10000 = 262) = 262 -> 724 / 986 / 1248
    assert setup_per_zone_wmarks([(N, 262144)], 2896) == [(724, 986, 1248)]


def test_wmarks_zone_cma_64bit():
    # row 3: lowmem = 262144 (ZONE_CMA is lowmem on 64-bit); tmp = 724*131072//262144 = 362;
    # gap = max(362 >> 2 = 90, 131) = 131 -> 362 / 493 / 624 for both zones
    assert setup_per_zone_wmarks([(N, 131072), (CZ, 131072)], 2896) == [
        (362, 493, 624), (362, 493, 624)]


def test_wmarks_zone_cma_as_highmem():
    # row 4: lowmem = 131072 (ZONE_CMA highmem): Normal tmp = 724 -> 724/905/1086;
    # ZONE_CMA tmp = 724*131072//131072 = 724, min = clamp(131072//1024 = 128, 32, 128) = 128,
    # gap = max(724 >> 2 = 181, 131) = 181 -> 128 / 309 / 490
    assert setup_per_zone_wmarks([(N, 131072), (CZ, 131072)], 2896,
                                 highmem=frozenset({CZ})) == [(724, 905, 1086), (128, 309, 490)]


def test_wmarks_highmem_min_clamps():
    # highmem min = clamp(managed // 1024, 32, 128): 10240 // 1024 = 10 -> 32
    # lowmem = 131072; tmp(CMA) = 724 * 10240 // 131072 = 56; gap = max(14, 10) = 14
    assert setup_per_zone_wmarks([(N, 131072), (CZ, 10240)], 2896,
                                 highmem=frozenset({CZ}))[1] == (32, 46, 60)


def test_wmarks_split_floors_per_zone():
    # mfk 400 -> pages_min 100; lowmem 1000. DMA32: tmp = 100*300//1000 = 30,
    # gap = max(30 >> 2 = 7, 300*10//10000 = 0) = 7 -> 30/37/44.
    # Normal: tmp = 100*700//1000 = 70, gap = max(17, 0) = 17 -> 70/87/104
    assert setup_per_zone_wmarks([(ZoneType.ZONE_DMA32, 300), (N, 700)], 400) == [
        (30, 37, 44), (70, 87, 104)]


@pytest.mark.parametrize("wsf, expected", [
    (10, (32, 40, 48)),       # gap = max(32 >> 2 = 8, 1000*10//10000 = 1) = 8
    (100, (32, 42, 52)),      # gap = max(8, 1000*100//10000 = 10) = 10
    (1000, (32, 132, 232)),   # gap = max(8, 100) = 100
])
def test_wmarks_scale_factor(wsf, expected):
    # mfk 128 -> pages_min 32, one zone of 1000 pages -> tmp = 32
    assert setup_per_zone_wmarks([(N, 1000)], 128, wsf) == [expected]


def test_wmarks_page_kbytes():
    # 16 KiB pages: pages_min = 2896 // 16 = 181; gap = max(181 >> 2 = 45, 0) = 45
    assert setup_per_zone_wmarks([(N, 100)], 2896, page_kbytes=16) == [(181, 226, 271)]


# ------------------------------------------------------------------------------------------
# setup_per_zone_lowmem_reserve: lowmem_reserve_i[j] = sum(managed[i+1..j]) // ratio[i]

def test_lowmem_reserve_normal_against_zone_cma():
    # ZONE_CMA of 131072 pages above Normal: 131072 // 32 = 4096
    assert setup_per_zone_lowmem_reserve([(N, 131072), (CZ, 131072)]) == [
        {N: 0, CZ: 4096}, {CZ: 0}]


def test_lowmem_reserve_three_zones():
    # DMA ratio 256: DMA32 class 1000 // 256 = 3; Normal class (1000 + 25600) // 256 = 103
    # DMA32 ratio 256: Normal class 25600 // 256 = 100
    out = setup_per_zone_lowmem_reserve([(ZoneType.ZONE_DMA, 4096), (ZoneType.ZONE_DMA32, 1000),
                                         (N, 25600)])
    assert out == [{ZoneType.ZONE_DMA: 0, ZoneType.ZONE_DMA32: 3, N: 103},
                   {ZoneType.ZONE_DMA32: 0, N: 100},
                   {N: 0}]


def test_lowmem_reserve_small_zone_cma_rounds_to_zero():
    # the default scope: 4 CMA pages over Normal -> 4 // 32 = 0
    assert setup_per_zone_lowmem_reserve([(N, 6), (CZ, 4)]) == [{N: 0, CZ: 0}, {CZ: 0}]
    assert setup_per_zone_lowmem_reserve([(N, 6), (CZ, 64)])[0][CZ] == 2   # 64 // 32


def test_lowmem_reserve_ratio_table():
    assert LOWMEM_RESERVE_RATIO[ZoneType.ZONE_DMA] == 256
    assert LOWMEM_RESERVE_RATIO[ZoneType.ZONE_DMA32] == 256
    assert LOWMEM_RESERVE_RATIO[N] == 32
