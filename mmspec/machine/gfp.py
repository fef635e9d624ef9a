"""gfp masks as failure reports print them: ``mode:0x...(NAMES)`` -> flags -> request.

Names (the ``%pGg`` list) are decoded by meaning; the hex value is decoded with the bit
layout of a kernel generation. Layouts (values read from include/linux/gfp.h and
gfp_types.h of the trees named in docs; facts only):

* ``A``: v4.6 and v4.8 trees: __GFP_ATOMIC 0x80000, __GFP_DIRECT_RECLAIM 0x400000,
  __GFP_KSWAPD_RECLAIM 0x2000000 (GFP_ATOMIC = 0x2080020).
* ``B``: v4.19 tree: __GFP_ATOMIC 0x80000, DIRECT_RECLAIM 0x200000, KSWAPD_RECLAIM 0x400000.
* ``C``: v5.7 and v5.10 trees: __GFP_ATOMIC 0x200, DIRECT_RECLAIM 0x400, KSWAPD_RECLAIM 0x800
  (GFP_ATOMIC = 0xa20).
* ``D``: v6.13 and v6.19 trees: as C without __GFP_ATOMIC (GFP_ATOMIC = 0x820).

The version ranges a layout implies are bounded by the neighbouring verified trees.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LAYOUTS", "decode_names", "decode_hex", "Request", "request_of", "to_hex"]

_LOW = {"DMA": 0x1, "HIGHMEM": 0x2, "DMA32": 0x4, "MOVABLE": 0x8, "RECLAIMABLE": 0x10,
        "HIGH": 0x20, "IO": 0x40, "FS": 0x80}


def _layout(**bits: int) -> dict[str, int]:
    d = dict(_LOW)
    d.update(bits)
    return d


#: layout name -> (flag -> bit, versions it implies (lo, hi) inclusive, trees verified)
LAYOUTS: dict[str, tuple[dict[str, int], tuple[tuple[int, int], tuple[int, int]], str]] = {
    "A": (_layout(COLD=0x100, NOWARN=0x200, REPEAT=0x400, NOFAIL=0x800, NORETRY=0x1000,
                  MEMALLOC=0x2000, COMP=0x4000, ZERO=0x8000, NOMEMALLOC=0x10000,
                  HARDWALL=0x20000, THISNODE=0x40000, ATOMIC=0x80000, ACCOUNT=0x100000,
                  NOTRACK=0x200000, DIRECT_RECLAIM=0x400000, OTHER_NODE=0x800000,
                  WRITE=0x1000000, KSWAPD_RECLAIM=0x2000000),
          ((4, 0), (4, 18)), "v4.6, v4.8"),
    "B": (_layout(WRITE=0x100, NOWARN=0x200, RETRY_MAYFAIL=0x400, NOFAIL=0x800,
                  NORETRY=0x1000, MEMALLOC=0x2000, COMP=0x4000, ZERO=0x8000,
                  NOMEMALLOC=0x10000, HARDWALL=0x20000, THISNODE=0x40000, ATOMIC=0x80000,
                  ACCOUNT=0x100000, DIRECT_RECLAIM=0x200000, KSWAPD_RECLAIM=0x400000),
          ((4, 9), (5, 6)), "v4.19"),
    "C": (_layout(ZERO=0x100, ATOMIC=0x200, DIRECT_RECLAIM=0x400, KSWAPD_RECLAIM=0x800,
                  WRITE=0x1000, NOWARN=0x2000, RETRY_MAYFAIL=0x4000, NOFAIL=0x8000,
                  NORETRY=0x10000, MEMALLOC=0x20000, COMP=0x40000, NOMEMALLOC=0x80000,
                  HARDWALL=0x100000, THISNODE=0x200000, ACCOUNT=0x400000),
          ((4, 20), (6, 12)), "v5.7, v5.10"),
    "D": (_layout(ZERO=0x100, DIRECT_RECLAIM=0x400, KSWAPD_RECLAIM=0x800, WRITE=0x1000,
                  NOWARN=0x2000, RETRY_MAYFAIL=0x4000, NOFAIL=0x8000, NORETRY=0x10000,
                  MEMALLOC=0x20000, COMP=0x40000, NOMEMALLOC=0x80000, HARDWALL=0x100000,
                  THISNODE=0x200000, ACCOUNT=0x400000),
          ((5, 11), (6, 19)), "v6.13, v6.19"),
}

_RECLAIM = {"DIRECT_RECLAIM", "KSWAPD_RECLAIM"}
_KERNEL = _RECLAIM | {"IO", "FS"}
_USER = _KERNEL | {"HARDWALL"}
_HIGHUSER_MOVABLE = _USER | {"HIGHMEM", "MOVABLE"}
#: composite masks as include/linux/gfp.h defines them; GFP_ATOMIC carries __GFP_ATOMIC only
#: while that flag exists (layouts A-C); GFP_TRANSHUGE* have no reclaim bits of their own
#: (v4.6 GFP_TRANSHUGE also __GFP_NORETRY; v4.10+ GFP_TRANSHUGE = _LIGHT | DIRECT_RECLAIM)
_COMPOSITE = {
    "GFP_KERNEL": _KERNEL, "GFP_KERNEL_ACCOUNT": _KERNEL | {"ACCOUNT"},
    "GFP_NOWAIT": {"KSWAPD_RECLAIM"}, "GFP_NOIO": set(_RECLAIM), "GFP_NOFS": _RECLAIM | {"IO"},
    "GFP_TEMPORARY": _KERNEL | {"RECLAIMABLE"}, "GFP_USER": _USER, "GFP_DMA": {"DMA"},
    "GFP_DMA32": {"DMA32"}, "GFP_HIGHUSER": _USER | {"HIGHMEM"},
    "GFP_HIGHUSER_MOVABLE": _HIGHUSER_MOVABLE,
    "GFP_TRANSHUGE_LIGHT": {"HIGHMEM", "MOVABLE", "IO", "FS", "HARDWALL", "COMP", "NOMEMALLOC",
                            "NOWARN"},
    "__GFP_RECLAIM": set(_RECLAIM),
}


def decode_names(names: str, atomic_flag: bool, transhuge_direct: bool) -> tuple[set[str], list[str]]:
    """Flags of a ``%pGg`` list such as ``GFP_KERNEL|__GFP_NOWARN|__GFP_COMP``; returns
    (flags, names not understood). ``atomic_flag``: GFP_ATOMIC includes __GFP_ATOMIC (kernels
    before its removal); ``transhuge_direct``: GFP_TRANSHUGE includes DIRECT_RECLAIM (v4.10+)."""
    flags: set[str] = set()
    unknown = []
    for part in (p.strip() for p in names.split("|")):
        if not part or part == "none":
            continue
        if part == "GFP_ATOMIC":
            flags |= {"HIGH", "KSWAPD_RECLAIM"} | ({"ATOMIC"} if atomic_flag else set())
        elif part == "GFP_TRANSHUGE":
            flags |= _COMPOSITE["GFP_TRANSHUGE_LIGHT"] | (
                {"DIRECT_RECLAIM"} if transhuge_direct else {"NORETRY"})
        elif part in _COMPOSITE:
            flags |= _COMPOSITE[part]
        elif part.startswith("__GFP_") and len(part) > 6:
            flags.add(part[6:])
        elif part.startswith("0x"):
            unknown.append(part)            # bits %pGg could not name
        else:
            unknown.append(part)
    return flags, unknown


def decode_hex(value: int, layout: str) -> tuple[set[str], int]:
    """Flags of a mode value in a layout; returns (flags, bits the layout does not name)."""
    bits = LAYOUTS[layout][0]
    flags = {n for n, b in bits.items() if value & b}
    rest = value & ~sum(bits.values())
    return flags, rest


def to_hex(flags: set[str], layout: str) -> int | None:
    """The mode value of ``flags`` in a layout (None if a flag does not exist there)."""
    bits = LAYOUTS[layout][0]
    if any(f not in bits for f in flags):
        return None
    return sum(bits[f] for f in flags)


@dataclass(frozen=True)
class Request:
    """A decoded request: what the allocator derives from the gfp mask and order."""

    flags: frozenset[str]
    order: int
    migratetype: str           # MIGRATE_UNMOVABLE / MOVABLE / RECLAIMABLE
    highest_zone: str          # gfp_zone(): DMA, DMA32, Normal, HighMem or Movable
    mmspec_class: str          # the nearest mmspec request class (vocab.GFP_CLASSES name)
    class_note: str            # how exact that mapping is

    @property
    def direct_reclaim(self) -> bool:
        return "DIRECT_RECLAIM" in self.flags

    @property
    def kswapd_reclaim(self) -> bool:
        return "KSWAPD_RECLAIM" in self.flags


def request_of(flags: set[str], order: int) -> Request:
    """gfp_migratetype(), gfp_zone() and the nearest mmspec class of a mask."""
    mt = {(False, False): "MIGRATE_UNMOVABLE", (True, False): "MIGRATE_MOVABLE",
          (False, True): "MIGRATE_RECLAIMABLE", (True, True): "MIGRATE_HIGHATOMIC?"}[
        ("MOVABLE" in flags, "RECLAIMABLE" in flags)]
    if "DMA" in flags:
        hz = "DMA"
    elif "DMA32" in flags:
        hz = "DMA32"
    elif "HIGHMEM" in flags and "MOVABLE" in flags:
        hz = "Movable"
    elif "HIGHMEM" in flags:
        hz = "HighMem"
    else:
        hz = "Normal"
    direct = "DIRECT_RECLAIM" in flags
    if mt == "MIGRATE_MOVABLE":
        if hz == "Movable":
            cls, note = "GFP_HIGHUSER_MOVABLE", "exact class (movable, highmem, may reclaim)"
        else:
            cls, note = "GFP_USER|__GFP_MOVABLE|__GFP_NOFAIL", (
                "nearest class: a movable request limited to ZONE_NORMAL (the model's "
                "blockdev buffer class)")
    elif mt == "MIGRATE_RECLAIMABLE":
        cls, note = "GFP_KERNEL|__GFP_RECLAIMABLE", "nearest class: reclaimable slab"
    elif not direct:
        cls = "GFP_ATOMIC"
        note = ("exact class (unmovable, __GFP_HIGH, no direct reclaim)" if "HIGH" in flags
                else "nearest class: GFP_ATOMIC (this request lacks __GFP_HIGH, so it gets "
                "no share of the min reserve)")
    elif order > 0:
        cls, note = "GFP_KERNEL|__GFP_COMP", (f"nearest class: the model's high-order kernel "
                                             f"request (order pageblock_order; here order {order})")
    else:
        cls, note = "GFP_KERNEL", "exact class (unmovable, may reclaim)"
    if hz in ("DMA", "DMA32") and mt != "MIGRATE_MOVABLE":
        note += f"; limited to ZONE_{hz.upper()}, which the model's classes never are"
    return Request(frozenset(flags), order, mt, hz, cls, note)
