"""Boot-time zone setup: the scope's memory mapped onto a design's zones, with watermarks
and lowmem_reserve.

:class:`ZoneSetup` (mixed into :class:`~mmspec.mm.Allocator`) builds the design's
:class:`~mmspec.mm.common.ZoneLayout` tuple from a scope: the ``build_layout`` hook
(v4.6: CMA pageblocks stay in their zone as MIGRATE_CMA, ``init_cma_reserved_pageblock``;
designs with a CMA zone move them), then each zone's watermarks, explicit in the scope or
derived as v4.6 computes them at boot (``init_per_zone_wmark_min``,
``__setup_per_zone_wmarks``), and its ``lowmem_reserve`` (``setup_per_zone_lowmem_reserve``),
on the pages the design manages at that point of boot. The formulas themselves are in
:mod:`mmspec.scope`.
"""

from __future__ import annotations

from ..scope import (Scope, init_per_zone_wmark_min, setup_per_zone_lowmem_reserve,
                    setup_per_zone_wmarks)
from ..vocab import ZoneType
from .common import C, ZoneLayout

__all__ = ["ZoneSetup"]


class ZoneSetup:
    """The zone layout of a scope (mixed into :class:`~mmspec.mm.Allocator`)."""

    def build_layout(self, scope: Scope) -> tuple[ZoneLayout, ...]:
        """Map the scope's memory onto this design's zones (v4.6: CMA pageblocks stay in
        their zone as MIGRATE_CMA, ``init_cma_reserved_pageblock``)."""
        zones = [(z.zone_type, tuple(z.pageblocks)) for z in scope.zones if z.pageblocks]
        return self._finish_layout(scope, zones)

    def _finish_layout(self, scope: Scope, zones: list[tuple[ZoneType, tuple[int, ...]]]
                       ) -> tuple[ZoneLayout, ...]:
        ppb = scope.pages_per_pageblock
        zones.sort(key=lambda z: z[0])
        derived = None
        if any(self._explicit_wmark(scope, zt) is None for zt, _ in zones):
            derived = self._derive_wmarks(scope, zones)
        # lowmem_reserve is computed at boot by init_per_zone_wmark_min() like the
        # watermarks, so it uses the same basis (CMA pages managed or not yet).
        include_cma = dict(scope.derive).get("cma_in_boot_basis", self.wmark_basis_includes_cma)
        basis = [(zt, sum(ppb for b in blocks if include_cma or b != C)
                  if zt != ZoneType.ZONE_CMA or include_cma else 0) for zt, blocks in zones]
        lrs = setup_per_zone_lowmem_reserve(basis)
        out = []
        for i, (zt, blocks) in enumerate(zones):
            wm = self._explicit_wmark(scope, zt)
            if wm is None:
                assert derived is not None
                wm = derived[i]
            lr = [0] * len(ZoneType)
            for czt, v in lrs[i].items():
                lr[int(czt)] = v
            spec = scope.zone(zt)
            for czt, v in (spec.lowmem_reserve if spec else ()):
                lr[int(czt)] = v
            # zones between populated ones: classzone of an unpopulated index keeps the sum
            for k in range(1, len(lr)):
                if k > int(zt) and lr[k] == 0 and k not in [int(z) for z, _ in zones]:
                    lr[k] = lr[k - 1]
            out.append(ZoneLayout(zt, len(blocks) * ppb, wm, tuple(lr),
                                  tuple(int(b) for b in blocks)))
        return tuple(out)

    def _explicit_wmark(self, scope: Scope, zt: ZoneType) -> tuple[int, int, int] | None:
        spec = scope.zone(zt)
        return spec.watermarks if spec is not None else None

    def _derive_wmarks(self, scope: Scope, zones: list[tuple[ZoneType, tuple[int, ...]]]
                       ) -> list[tuple[int, int, int]]:
        """Watermarks from the v4.6 formulas, on this design's managed pages.

        If ``cma_in_boot_basis`` is false (default: the design's own boot order), CMA pages
        are not yet managed when the watermarks are computed."""
        d = dict(scope.derive)
        ppb = scope.pages_per_pageblock
        page_kb = d.get("page_kbytes", 4)
        include_cma = d.get("cma_in_boot_basis", self.wmark_basis_includes_cma)
        managed = []
        for zt, blocks in zones:
            n = sum(ppb for b in blocks if include_cma or b != C)
            if zt == ZoneType.ZONE_CMA and not include_cma:
                n = 0
            managed.append((zt, n))
        mfk = d.get("min_free_kbytes")
        if mfk is None:
            lowmem = sum(m for zt, m in managed if zt <= ZoneType.ZONE_NORMAL)
            mfk = init_per_zone_wmark_min(lowmem * page_kb)
        return setup_per_zone_wmarks(managed, mfk, d.get("watermark_scale_factor", 10), page_kb)
