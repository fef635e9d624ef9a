"""Find the shipped designs (``mmspec.models``) and checks (``mmspec.checks``).

``models/`` and ``checks/`` at the top of the repository are mapped into mmspec's namespace
by pyproject.toml (``package-dir``), so the installed CLI finds them without installing
top-level packages with generic names. Extra files can be loaded by path
(``--design-file``/``--check-file``).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType
from typing import Mapping, Sequence

from .check import Check, Verdict, effective_scope
from .errors import MmspecError, UnknownName
from .kernel import Allocator
from .scope import Scope, default_scope, scope_names

__all__ = ["designs", "checks", "expected_verdict", "get_design", "get_checks", "load_design_file", "load_check_file"]


def _modules(package: str) -> list[ModuleType]:
    pkg = importlib.import_module(package)
    mods = [importlib.import_module(f"{package}.{m.name}")
            for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    return sorted(mods, key=lambda m: (getattr(m, "RANK", 100), m.__name__))


def designs() -> list[type[Allocator]]:
    """Every shipped design class, in display order (rank, then name)."""
    out = [m.DESIGN for m in _modules("mmspec.models") if hasattr(m, "DESIGN")]
    return sorted(out, key=lambda d: (d.rank, d.name))


def checks(include_opt_in: bool = False) -> list[Check]:
    """Every shipped check, in display order (file rank, then order within the file).
    Checks with scope overrides (``Check.scope``) are opt-in: only with ``include_opt_in``
    (they run when named, see :func:`get_checks`)."""
    out: list[Check] = []
    for m in _modules("mmspec.checks"):
        out.extend(getattr(m, "CHECKS", ()))
    return out if include_opt_in else [c for c in out if not c.scope]


def get_design(name: str) -> type[Allocator]:
    for d in designs():
        if d.name == name:
            return d
    raise UnknownName(f"unknown design {name!r}; known designs: "
                      f"{', '.join(d.name for d in designs())} (see `mmspec list`)")


def get_checks(names: Sequence[str] | None) -> list[Check]:
    if not names:
        return checks()
    allc = checks(include_opt_in=True)
    by = {c.name: c for c in allc}
    out = []
    for n in names:
        if n not in by:
            raise UnknownName(f"unknown check {n!r}; known checks: {', '.join(by)} "
                              "(see `mmspec list`)")
        if by[n] not in out:
            out.append(by[n])
    return out


def _load_file(path: str, what: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"mmspec_user_{what}", path)
    if spec is None or spec.loader is None:
        raise MmspecError(f"cannot load {what} file {path!r}: not a Python file")
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except FileNotFoundError:
        raise MmspecError(f"{what} file {path!r} does not exist") from None
    except SystemExit as exc:   # sys.exit() while importing must not end mmspec's run
        raise MmspecError(f"{what} file {path!r} called sys.exit({exc.code!r}) while being "
                          "imported; a design or check file must only define classes") from None
    except Exception as exc:  # the user's file failed to import: report it in one line
        raise MmspecError(f"{what} file {path!r} failed to import: "
                          f"{type(exc).__name__}: {exc}") from None
    return mod


def load_design_file(path: str) -> type[Allocator]:
    """Load a design from a Python file defining ``DESIGN`` (an Allocator subclass)."""
    mod = _load_file(path, "design")
    d = getattr(mod, "DESIGN", None)
    if not (isinstance(d, type) and issubclass(d, Allocator)):
        raise MmspecError(f"design file {path!r} must define DESIGN = <Allocator subclass>")
    return d


def load_check_file(path: str) -> list[Check]:
    """Load checks from a Python file defining ``CHECKS`` (a sequence of Check)."""
    mod = _load_file(path, "check")
    cs = getattr(mod, "CHECKS", None)
    if not cs or not all(isinstance(c, Check) for c in cs):
        raise MmspecError(f"check file {path!r} must define CHECKS = (Check(...), ...)")
    return list(cs)


def _table(expected, name: str, where: str) -> Mapping:
    """The expectations recorded for scope ``name`` in an ``expected`` mapping
    ``{scope name: {key: Verdict}}``."""
    if not isinstance(expected, Mapping):
        raise MmspecError(f"{where}: expected must map scope names to tables, e.g. "
                          '{"tiny": {...}}')
    tab = expected.get(name, {})
    if not isinstance(tab, Mapping):
        raise MmspecError(f"{where}: expected[{name!r}] must be a table {{name: Verdict}}")
    return tab


def expected_verdict(design: type[Allocator], check: Check, scope: Scope | None = None
                     ) -> Verdict | None:
    """The expectation recorded for ``check`` on ``design`` at ``scope`` (default: the
    default scope), or None.

    Expectations are data recorded per *named scope* (:func:`mmspec.scope.scope_names`:
    ``default`` and the files ``scopes/NAME.toml``): a design's ``expected`` and a check's
    ``expected`` map a scope name to ``{check name: Verdict}`` and ``{design name:
    Verdict}`` respectively (a check's ``"*"`` entry holds for every design; a scope key
    ``"*"`` holds at every scope, e.g. bookkeeping invariants). A cell is judged by the
    names of the scope it ran at (``scope`` with the check's own overrides,
    :func:`~mmspec.check.effective_scope`), then by the names of ``scope`` itself, then by
    ``"*"``; in each, the design's own table wins over the check's. Otherwise there is no
    expectation at that scope.
    """
    base = scope if scope is not None else default_scope()
    names = scope_names(effective_scope(base, check))
    if check.scope:
        names += [n for n in scope_names(base) if n not in names]
    names.append("*")
    where_d = f"design {design.name}"
    where_c = f"check {check.name}"
    for name in names:
        own = _table(getattr(design, "expected", None) or {}, name, where_d)
        if check.name in own:
            return own[check.name]
        tab = _table(check.expected, name, where_c)
        if design.name in tab:
            return tab[design.name]
        if "*" in tab:
            return tab["*"]
    return None
