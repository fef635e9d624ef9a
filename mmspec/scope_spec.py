"""The Scope data type: one model instance's constants, and the default scope's text.

:class:`Scope` (immutable, hashable) and :class:`ZoneSpec` hold what a scope file gives,
already validated: ``pageblock_nr_pages``, the zones in kernel index order with their
pageblocks' migratetypes, watermarks and ``lowmem_reserve``, the request classes' limits and
the switches. :data:`DEFAULT_SCOPE_TOML` is the built-in default scope. The ``[machine]``
table is kept frozen (nested tuples, so a Scope stays hashable): :func:`_freeze_machine`
and :func:`_thaw` convert it.

Reading a scope file into a Scope is :mod:`mmspec.scope_parse`; writing one back
(:meth:`Scope.to_toml`) is :mod:`mmspec.scope_toml`; the layering of files and flags and
the named scopes are :mod:`mmspec.scope`, which re-exports every public name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ScopeError
from .vocab import GFP_CLASSES, Migratetype, ZoneType

__all__ = ["Scope", "ZoneSpec", "DEFAULT_SCOPE_TOML", "DERIVED", "MACHINE_DEPTH"]

#: the keyword for derived watermarks in a zone table (``watermarks = "derived"``)
DERIVED = "derived"

#: zones that hold memory only through their own pageblocks (ZONE_MOVABLE and ZONE_CMA
#: may receive the CMA pageblocks of other zones, depending on the design)
_PHYSICAL_ONLY = frozenset({ZoneType.ZONE_DMA, ZoneType.ZONE_DMA32, ZoneType.ZONE_NORMAL})

_ZONE_NAMES = {"DMA": ZoneType.ZONE_DMA, "DMA32": ZoneType.ZONE_DMA32,
               "Normal": ZoneType.ZONE_NORMAL, "NORMAL": ZoneType.ZONE_NORMAL,
               "Movable": ZoneType.ZONE_MOVABLE, "MOVABLE": ZoneType.ZONE_MOVABLE,
               "CMA": ZoneType.ZONE_CMA}

DEFAULT_SCOPE_TOML = """\
# mmspec default scope: one node, a Normal zone of 5 pageblocks (2 pages each), two of
# them the CMA area; GFP_KERNEL may hold 3 pages, GFP_HIGHUSER_MOVABLE 4 and blockdev
# buffers 2 (the scope `tiny`, the default before the compiled engine, has 2/3/1).
# 33,600-210,000 states per design, every cell of `mmspec compare` conclusive, and every
# verdict the same with one more page of any request class.
pages_per_pageblock = 2
fair_zone_policy = true        # v4.6 ALLOC_FAIR / NR_ALLOC_BATCH; false = v4.8 highest zone first
direct_reclaim_rounds = 1      # direct-reclaim rounds before a request gives up (model bound)
kswapd_reclaim_batch = 1       # pages kswapd reclaims per zone per balance_pgdat pass (scaled)

[zones.Normal]
pageblocks = ["UNMOVABLE", "MOVABLE", "MOVABLE", "CMA", "CMA"]
watermarks = [2, 3, 4]         # min, low, high (pages)

[zones.CMA]                    # only for designs that move CMA memory into its own zone
watermarks = [1, 2, 3]

[requests]                     # most pages each class may hold at once; 0 disables the class
GFP_ATOMIC = 1
GFP_KERNEL = 3
GFP_HIGHUSER_MOVABLE = 4
BLOCKDEV = 2
SLAB = 0
"""


@dataclass(frozen=True)
class ZoneSpec:
    """One zone as the scope gives it.

    ``pageblocks`` is empty for the ``CMA`` entry (its pageblocks are the CMA pageblocks
    of the other zones); ``watermarks`` is ``(min, low, high)`` or None to derive them;
    ``lowmem_reserve`` maps a classzone label to an explicit reserve in pages.
    """

    zone_type: ZoneType
    pageblocks: tuple[Migratetype, ...] = ()
    watermarks: tuple[int, int, int] | None = None
    lowmem_reserve: tuple[tuple[ZoneType, int], ...] = ()


@dataclass(frozen=True)
class Scope:
    """All constants of one model instance. Immutable and hashable.

    Attributes
    ----------
    pages_per_pageblock : ``pageblock_nr_pages``; ``pageblock_order`` is its log2 and the
        model's ``MAX_ORDER - 1`` equals ``pageblock_order`` (no buddy block spans pageblocks).
    zones : the scope's zones in kernel index order.
    limits : most pages each request class (``vocab.GFP_CLASSES`` order) may hold at once;
        for a high-order class (KERNEL_HIGH: order pageblock_order) the number of
        allocations it may hold at once.
    fair_zone_policy : v4.6 ALLOC_FAIR with NR_ALLOC_BATCH (True) or v4.8 highest zone first.
    direct_reclaim_rounds : how many direct-reclaim rounds a request may run before the model
        stops it (v4.6 loops while reclaim makes progress; the bound keeps the model finite).
    kswapd_reclaim_batch : pages kswapd reclaims from one zone in one balance_pgdat pass
        (v4.6: max(SWAP_CLUSTER_MAX, high_wmark), scaled down).
    derive : parameters for derived watermarks (used for zones without explicit ones).
    orders : allocation orders requested (0 and/or pageblock_order).
    """

    pages_per_pageblock: int = 2
    zones: tuple[ZoneSpec, ...] = ()
    limits: tuple[int, ...] = (1, 2, 3, 1, 0)
    fair_zone_policy: bool = True
    direct_reclaim_rounds: int = 1
    kswapd_reclaim_batch: int = 1
    derive: tuple[tuple[str, Any], ...] = ()
    orders: tuple[int, ...] = (0,)
    extra: tuple[tuple[str, Any], ...] = field(default=())
    #: feature switches (docs/semantics.md section 10), off by default: pin/unpin actions for
    #: blockdev buffer pages, cma_alloc of this many pageblocks (0: no cma_alloc action), and
    #: LRU page ages (reclaim takes the oldest page of a zone).
    pin_blockdev: bool = False
    cma_alloc_pageblocks: int = 0
    page_age: bool = False
    #: the ``[machine]`` table, frozen (nested ``(key, value)`` tuples): facts about a real
    #: machine the rules do not use; not part of the model, so left out of ==, hash and repr
    machine: tuple[tuple[str, Any], ...] = field(default=(), compare=False, repr=False)

    @property
    def pageblock_order(self) -> int:
        return self.pages_per_pageblock.bit_length() - 1

    def zone(self, zone_type: ZoneType) -> ZoneSpec | None:
        for z in self.zones:
            if z.zone_type == zone_type:
                return z
        return None

    def option(self, name: str, default: Any = None) -> Any:
        """A design-specific switch from the scope's ``[design]`` table."""
        return dict(self.extra).get(name, default)

    def switch(self, name: str, default: bool) -> bool:
        """A true/false design switch from the ``[design]`` table (ScopeError otherwise)."""
        v = self.option(name, default)
        if not isinstance(v, bool):
            raise ScopeError(f"[design] {name} must be true or false, got {v!r}")
        return v

    def with_changes(self, **kw: Any) -> "Scope":
        return replace(self, **kw)

    def machine_table(self) -> dict[str, Any]:
        """The ``[machine]`` table as TOML data (empty when the scope has none)."""
        return _thaw(self.machine)

    def to_toml(self) -> str:
        """Render the scope as a TOML scope file (deterministic).

        Every key the default scope sets is written (a zone of the default scope this scope
        lacks as ``pageblocks = []``, watermarks left to the formulas as ``"derived"``), so
        the text loads back (:func:`~mmspec.scope.load_scope`) to this scope
        (:func:`mmspec.scope_toml.scope_to_toml`)."""
        from .scope_toml import scope_to_toml   # here: rendering needs the default scope
        return scope_to_toml(self)


def _class_key(i: int) -> str:
    """The spelling of request class ``i`` in scope files (``GFP_KERNEL``, ``BLOCKDEV``)."""
    c = GFP_CLASSES[i]
    return c.name if c.name.isidentifier() else c.short.upper()


#: how many tables deep ``[machine]`` may nest (``[machine.zones.DMA32]`` is 3)
MACHINE_DEPTH = 4


def _freeze_machine(value: Any, where: str, depth: int = 1) -> Any:
    """``[machine]`` data as nested tuples (hashable), validated; ScopeError otherwise."""
    if isinstance(value, dict):
        if depth > MACHINE_DEPTH:
            raise ScopeError(f"{where} nests tables more than {MACHINE_DEPTH} deep")
        return tuple((k, _freeze_machine(v, f"{where}.{k}", depth + 1))
                     for k, v in sorted(value.items()))
    if isinstance(value, list):
        if any(isinstance(v, (list, dict)) for v in value):
            raise ScopeError(f"{where} must be an array of strings, numbers or booleans")
        return ("__array__", tuple(_freeze_machine(v, where, depth) for v in value))
    if isinstance(value, (str, bool, int, float)):
        return value
    raise ScopeError(f"{where} must be a string, number, boolean, array or table, "
                     f"got {type(value).__name__}")


def _thaw(frozen: Any) -> Any:
    if isinstance(frozen, tuple):
        if len(frozen) == 2 and frozen[0] == "__array__" and isinstance(frozen[1], tuple):
            return [_thaw(v) for v in frozen[1]]
        return {k: _thaw(v) for k, v in frozen}
    return frozen
