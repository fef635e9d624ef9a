"""Writing TOML: a :class:`~mmspec.scope_spec.Scope` as a scope file, and any table of data.

:func:`scope_to_toml` is :meth:`Scope.to_toml <mmspec.scope_spec.Scope.to_toml>`: every key
the default scope sets, in a fixed order, so the text loads back to the same scope whatever
the default is. :func:`toml_table` writes nested TOML data under a table header (the
``[machine]`` table here, and ``mmspec import``'s files).
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from .scope_parse import default_scope
from .scope_spec import DERIVED, Scope, ZoneSpec, _class_key
from .vocab import GFP_CLASSES

__all__ = ["scope_to_toml", "toml_table"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def scope_to_toml(scope: Scope) -> str:
    """``scope`` as a TOML scope file (deterministic): see :meth:`Scope.to_toml
    <mmspec.scope_spec.Scope.to_toml>`."""
    base = default_scope()
    out = [f"pages_per_pageblock = {scope.pages_per_pageblock}",
           f"fair_zone_policy = {str(scope.fair_zone_policy).lower()}",
           f"direct_reclaim_rounds = {scope.direct_reclaim_rounds}",
           f"kswapd_reclaim_batch = {scope.kswapd_reclaim_batch}",
           f"orders = [{', '.join(str(o) for o in scope.orders)}]"]
    if scope.pin_blockdev or base.pin_blockdev:
        out.append(f"pin_blockdev = {str(scope.pin_blockdev).lower()}")
    if scope.cma_alloc_pageblocks or base.cma_alloc_pageblocks:
        out.append(f"cma_alloc_pageblocks = {scope.cma_alloc_pageblocks}")
    if scope.page_age or base.page_age:
        out.append(f"page_age = {str(scope.page_age).lower()}")
    out.append("")
    types = sorted({z.zone_type for z in scope.zones} | {z.zone_type for z in base.zones})
    for zt in types:
        z = scope.zone(zt) or ZoneSpec(zt)
        b = base.zone(zt) or ZoneSpec(zt)
        out.append(f"[zones.{zt.label}]")
        if z.pageblocks or b.pageblocks:
            out.append("pageblocks = [" + ", ".join(
                f'"{mt.name[len("MIGRATE_"):]}"' for mt in z.pageblocks) + "]")
        out.append(f'watermarks = "{DERIVED}"' if z.watermarks is None else
                   f"watermarks = [{', '.join(str(w) for w in z.watermarks)}]")
        if z.lowmem_reserve or b.lowmem_reserve:
            out.append("lowmem_reserve = { " + ", ".join(
                f"{czt.label} = {v}" for czt, v in z.lowmem_reserve) + " }")
        out.append("")
    if scope.derive:
        out.append("[derive_watermarks]")
        out.extend(f"{k} = {_toml_value(v)}" for k, v in scope.derive)
        out.append("")
    out.append("[requests]")
    out.extend(f"{_class_key(i)} = {n}"
               for i, (c, n, d) in enumerate(zip(GFP_CLASSES, scope.limits, base.limits))
               if n or d or not c.high_order)     # high-order classes only when enabled
    if scope.extra:
        out.extend(["", "[design]"])
        out.extend(f"{k} = {_toml_value(v)}" for k, v in scope.extra)
    if scope.machine:
        out.append("")
        out.extend(toml_table(["machine"], scope.machine_table()))
    return "\n".join(out) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else _toml_str(k)


def _toml_str(v: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too; characters
    beyond the BMP stay as they are, since TOML has no surrogate pairs)."""
    return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, float):
        return "nan" if v != v else repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_scalar(x) for x in v) + "]"
    return str(v)


def toml_table(path: list[str], table: Mapping[str, Any]) -> list[str]:
    """``table`` as TOML lines under ``[path]``: its values, then its sub-tables."""
    values = [f"{_toml_key(k)} = {_toml_scalar(v)}" for k, v in table.items()
              if not isinstance(v, dict)]
    subs = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    out = ["[" + ".".join(_toml_key(p) for p in path) + "]"] + values if values or not subs \
        else []                         # a table of tables only needs no header of its own
    for k, v in subs:
        out += ([""] if out else []) + toml_table(path + [k], v)
    return out
