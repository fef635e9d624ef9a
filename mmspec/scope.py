"""Scopes: the model's constants, kept apart from the designs (like a TLA+ ``.cfg``).

A scope names the physical memory (zones, their pageblocks and each pageblock's
migratetype, with the CMA area given as ``CMA`` pageblocks where it physically lies), the
watermarks (explicit, or derived with the v4.6 formulas), ``lowmem_reserve``, which
request classes are enabled and how many pages each may hold at once, and the switches
that select kernel behaviour (v4.6 fair zone allocation policy or v4.8 highest-zone-first).
Each design maps the same scope onto its own zone layout, so designs are compared on the
same memory.

**One semantics for files and flags.** A scope file (``--scope FILE``, :func:`load_scope`)
and the command-line options (``--pageblocks``, ``--watermarks``, ``--limit``, ...) are both
*changes to the default scope*, applied in that order by :func:`merge_scope_data`: a key
given replaces the default's, tables are merged key by key (``[requests]`` class by class,
``[zones.X]`` zone by zone and key by key), so an omitted request class keeps the default
scope's limit and a zone given only ``pageblocks`` keeps the default scope's watermarks for
that zone. ``watermarks = "derived"`` (``--watermarks Normal=derived``) asks for the v4.6
formulas instead; a zone the default scope does not have and that gives no watermarks is
derived too. ``pageblocks = []`` (``--pageblocks Normal=``) removes a zone: its table
replaces the zone's whole table instead of being merged into it, so the default's
watermarks and lowmem_reserve for that zone go with it (a ``pageblocks = []`` table that
also gives watermarks for DMA, DMA32 or Normal is an error). :meth:`Scope.to_toml` writes
every key, so its output loads back to the same scope whatever the default is.

**Complete files.** A file whose top level says ``complete = true`` is the whole scope, not a
set of changes: it is not merged onto the default scope, so what it omits takes
:func:`parse_scope`'s values (omitted request classes 0, omitted zones absent, omitted
watermarks derived, switches off) whatever the default scope holds. Command-line options
are still changes applied to it. ``mmspec import`` writes ``complete = true``: an imported
file describes exactly the machine (a DMA32-only machine has no Normal zone) and does not
depend on the default scope.

**The** ``[machine]`` **table** holds what a scope file records about a real machine but the
model's rules do not use (``mmspec import`` writes it: the kernel version range and its
evidence, free counts, highatomic reserve, per-CPU pages, tunables, CMA areas, meminfo).
Its values are strings, numbers, booleans, arrays of those, and tables of the same, at most
four tables deep. It is kept (:attr:`Scope.machine`, :meth:`Scope.machine_table`) and written
back by :meth:`Scope.to_toml` (so ``mmspec scope`` shows it), but it is not part of the
model: two scopes that differ only in ``[machine]`` are equal, hash alike and share named
scopes, expectations and compiled plans, since every verdict and trace is the same.

:func:`parse_scope` is the lower layer: its data is the whole scope (omitted request
classes 0, omitted watermarks derived).

**Named scopes** are the built-in default (``default``) and the files ``scopes/NAME.toml``
(shipped with the package); :func:`scope_names` says which names a scope equals, and
``--scope NAME`` loads one. Expected verdicts are recorded per named scope
(:func:`mmspec.registry.expected_verdict`).

**Where things are.** This module layers files and flags onto the default scope and names
the shipped scopes; it re-exports every public name of the others:

=========================  ==============================================================
module                     holds
=========================  ==============================================================
:mod:`mmspec.scope_spec`   the :class:`Scope` and :class:`ZoneSpec` data types, the
                           default scope's text, the frozen ``[machine]`` table
:mod:`mmspec.scope_parse`  :func:`parse_scope`: TOML data validated into a Scope;
                           :func:`default_scope`
:mod:`mmspec.scope_toml`   :meth:`Scope.to_toml` and :func:`toml_table`: writing TOML
:mod:`mmspec.scope_wmarks` v4.6 mm/page_alloc.c ``init_per_zone_wmark_min``,
                           ``__setup_per_zone_wmarks``, ``setup_per_zone_lowmem_reserve``
=========================  ==============================================================
"""

from __future__ import annotations

import functools
import os
import tomllib
from typing import Any, Mapping

from .errors import ScopeError
from .scope_parse import default_scope, parse_scope
from .scope_spec import (_ZONE_NAMES, DEFAULT_SCOPE_TOML, MACHINE_DEPTH, Scope, ZoneSpec,
                         _class_key)
from .scope_spec import DERIVED  # noqa: F401 - re-exported (mmspec.cli)
from .scope_toml import toml_table
from .scope_wmarks import (LOWMEM_RESERVE_RATIO, init_per_zone_wmark_min,
                           setup_per_zone_lowmem_reserve, setup_per_zone_wmarks)
from .vocab import CLASS_INDEX

__all__ = [
    "Scope", "ZoneSpec", "DEFAULT_SCOPE_TOML", "DEFAULT_NAME", "default_scope", "load_scope",
    "parse_scope", "read_scope_data", "merge_scope_data", "resolve_scope", "named_scopes",
    "scope_names", "find_scope_file", "init_per_zone_wmark_min", "setup_per_zone_wmarks",
    "setup_per_zone_lowmem_reserve", "LOWMEM_RESERVE_RATIO", "toml_table", "MACHINE_DEPTH",
]

#: the name of the built-in default scope among the named scopes
DEFAULT_NAME = "default"


def read_scope_data(path: str) -> dict[str, Any]:
    """The TOML data of a scope file. Raises ScopeError (one line) for any problem."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScopeError(f"scope file {path!r} does not exist") from None
    except IsADirectoryError:
        raise ScopeError(f"scope file {path!r} is a directory, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScopeError(f"scope file {path!r} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ScopeError(f"scope file {path!r} nests arrays or tables too deeply to be a "
                         "scope file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScopeError(f"scope file {path!r} cannot be read: {exc}") from None


def _canonical(key: str, names: Mapping[str, Any], spell) -> str:
    return spell(names[key]) if key in names else key


def merge_scope_data(base: Mapping[str, Any], over: Mapping[str, Any],
                     origin: str = "scope") -> dict[str, Any]:
    """``over`` applied to ``base`` (TOML data of scopes): a key of ``over`` replaces the
    base's; the tables ``[requests]``, ``[derive_watermarks]`` and ``[design]`` are merged
    key by key and ``[zones]`` zone by zone, each zone key by key. Zone and request-class
    aliases (``NORMAL``, ``atomic``) are merged under one spelling; naming one twice in
    ``over`` is a ScopeError. A zone table of ``over`` with ``pageblocks = []`` replaces the
    zone's table (it removes the zone); ``complete = true`` in ``over`` drops ``base``
    altogether. Malformed values are left for :func:`parse_scope` to report."""
    out = {} if over.get("complete") is True else dict(base)
    for key, val in over.items():
        old = out.get(key)
        if not (isinstance(val, dict) and isinstance(old, dict)):
            out[key] = val
            continue
        if key == "zones":
            names, spell = _ZONE_NAMES, lambda zt: zt.label
        elif key == "requests":
            names, spell = CLASS_INDEX, _class_key
        else:
            names, spell = {}, str
        merged = {_canonical(k, names, spell): v for k, v in old.items()}
        seen: dict[str, str] = {}
        for k, v in val.items():
            c = _canonical(k, names, spell)
            if c in seen:
                what = "zone" if key == "zones" else "request class" if key == "requests" else "key"
                raise ScopeError(f"{origin}: {what} {c} is given twice (as {seen[c]!r} and "
                                 f"{k!r}); give it once")
            seen[c] = k
            if (key == "zones" and isinstance(v, dict) and isinstance(merged.get(c), dict)
                    and v.get("pageblocks") != []):
                merged[c] = {**merged[c], **v}
            else:
                merged[c] = v
        out[key] = merged
    return out


def resolve_scope(*layers: tuple[Mapping[str, Any], str]) -> Scope:
    """The default scope with each ``(data, origin)`` layer applied in turn
    (:func:`merge_scope_data`); errors name the origin of the last layer."""
    data: dict[str, Any] = tomllib.loads(DEFAULT_SCOPE_TOML)
    origin = "default scope"
    for layer, origin in layers:
        data = merge_scope_data(data, layer, origin)
    return parse_scope(data, origin=origin)


def load_scope(path: str) -> Scope:
    """Read a TOML scope file: changes to the default scope (see the module docstring).
    Raises ScopeError (one line) for any problem."""
    return resolve_scope((read_scope_data(path), path))


def _scopes_dir() -> str | None:
    """``scopes/``: installed inside the package, or at the top of a checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(here, "scopes"), os.path.join(os.path.dirname(here), "scopes")):
        if os.path.isdir(d):
            return d
    return None


def named_scopes() -> dict[str, str]:
    """``{name: path}`` of the shipped scope files ``scopes/NAME.toml``, sorted by name
    (the built-in default is :data:`DEFAULT_NAME`, not a file)."""
    d = _scopes_dir()
    if d is None:
        return {}
    return {f[:-5]: os.path.join(d, f) for f in sorted(os.listdir(d))
            if f.endswith(".toml") and f[:-5] != DEFAULT_NAME}


@functools.lru_cache(maxsize=None)
def _named(name: str, path: str) -> Scope | None:
    try:
        return load_scope(path)
    except ScopeError:
        return None


def scope_names(scope: Scope) -> list[str]:
    """The names of the named scopes equal to ``scope`` (``default`` first)."""
    out = [DEFAULT_NAME] if scope == default_scope() else []
    return out + [n for n, p in named_scopes().items() if _named(n, p) == scope]


def find_scope_file(arg: str) -> str:
    """``--scope ARG``: a path, or the name of a shipped scope (``--scope tiny``)."""
    if os.path.lexists(arg) or "/" in arg or arg.endswith(".toml"):
        return arg
    named = named_scopes()
    if arg in named:
        return named[arg]
    raise ScopeError(f"scope file {arg!r} does not exist (named scopes: "
                     f"{', '.join(named) or 'none'})")
