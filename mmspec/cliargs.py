"""The command line's shared options, for ``mmspec/cli.py`` and the ``cmd_*`` modules: the
parser (one-line usage errors, an option given once), the scope options and the search
options every searching command takes, the scope they build (:func:`scope_from_args`), the
reproduce arguments they stand for, and the checks on them before any search. No command
is implemented here; the exit codes are :mod:`mmspec.cli`'s.
"""

from __future__ import annotations

import argparse
import shlex
from collections import Counter
from typing import Any, Sequence

from .errors import MmspecError, ScopeError
from .explore import ENGINES
from .kernel import Allocator, zone_watermark_ok_value
from .scope import (_ZONE_NAMES, DERIVED, Scope, find_scope_file, named_scopes,
                    read_scope_data, resolve_scope, scope_names)
from .vocab import ALLOC_CMA, ALLOC_HARDER, ALLOC_HIGH, CLASS_INDEX

__all__ = ["SEARCH_OPTIONS", "scope_from_args", "derived_layout", "check_degenerate"]

#: the exit codes of every command (see :mod:`mmspec.cli`)
EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class _UsageError(Exception):
    pass


# ------------------------------------------------------------------------------------------
# The parser: one-line usage errors; an option that takes one value (or a switch) may be
# given once, and two switches for the same setting (--fair --no-fair) contradict.

def _given_once(parser, namespace, action, option_string) -> None:
    seen = namespace.__dict__.setdefault("_mmspec_given", {})
    prev = seen.get(action.dest)
    if prev is not None:
        if prev == option_string:
            parser.error(f"{option_string} is given twice; give it once")
        parser.error(f"{option_string} contradicts {prev}; give one of them")
    seen[action.dest] = option_string


class _Once:
    """Mixin for argparse actions: the option may be given once (see :func:`_given_once`)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string is not None:
            _given_once(parser, namespace, self, option_string)
        super().__call__(parser, namespace, values, option_string)  # type: ignore[misc]


class _StoreOnce(_Once, argparse._StoreAction):
    pass


class _StoreConstOnce(_Once, argparse._StoreConstAction):
    pass


class _StoreTrueOnce(_Once, argparse._StoreTrueAction):
    pass


class _StoreFalseOnce(_Once, argparse._StoreFalseAction):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (raised, not printed), and
    options that take one value may be given once (for every command, also ``cmd_*``)."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)
        self.register("action", "store_const", _StoreConstOnce)
        self.register("action", "store_true", _StoreTrueOnce)
        self.register("action", "store_false", _StoreFalseOnce)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


#: the search options, by dest (a command takes all or some of them)
SEARCH_OPTIONS = ("max_states", "time_limit", "max_memory", "engine")


def _scope_args(p: argparse.ArgumentParser, *, search: bool | Sequence[str] = True) -> None:
    """The scope options (and the search options ``search`` names: True for all of
    :data:`SEARCH_OPTIONS`, False for none) of a command that builds a scope."""
    g = p.add_argument_group("scope (the model's constants: changes to the default scope, "
                             "see `mmspec scope`)")
    g.add_argument("--scope", metavar="FILE", help="TOML scope file, or the name of a shipped "
                   "scope (" + ", ".join(["default"] + list(named_scopes())) + ")")
    g.add_argument("--pages-per-pageblock", type=int, metavar="N",
                   help="pages in a pageblock (a power of two >= 2; pageblock_order is its log2)")
    g.add_argument("--pageblocks", action="append", metavar="ZONE=MT,MT,...",
                   help="pageblock migratetypes of a zone, e.g. Normal=U,M,M,C,C (repeatable, "
                   "once per zone)")
    g.add_argument("--watermarks", action="append", metavar="ZONE=MIN,LOW,HIGH",
                   help="explicit watermarks of a zone, e.g. Normal=2,3,4 or CMA=1,2,3, or "
                   f"ZONE={DERIVED} for the v4.6 formulas (repeatable; a later one for the same "
                   "zone wins)")
    g.add_argument("--limit", action="append", metavar="CLASS=N",
                   help="most pages a request class may hold, e.g. GFP_KERNEL=3; 0 disables "
                   "(repeatable; a later one for the same class wins)")
    g.add_argument("--fair", dest="fair", action="store_true", default=None,
                   help="v4.6 fair zone allocation policy (the default scope's)")
    g.add_argument("--no-fair", dest="fair", action="store_false",
                   help="v4.8 highest-zone-first (no ALLOC_FAIR)")
    g.add_argument("--reclaim-rounds", type=int, metavar="N",
                   help="direct-reclaim rounds before a request gives up")
    g.add_argument("--allow-degenerate", action="store_true",
                   help="run even if derived watermarks leave a zone with no allocatable page")
    wanted = SEARCH_OPTIONS if search is True else () if search is False else tuple(search)
    if not wanted:
        return
    s = p.add_argument_group("search")
    if "max_states" in wanted:
        s.add_argument("--max-states", type=int, metavar="N",
                       help="stop after N distinct states (undecided checks become BOUNDED)")
    if "time_limit" in wanted:
        s.add_argument("--time-limit", type=float, metavar="SECONDS",
                       help="stop after this many seconds (undecided checks become BOUNDED)")
    if "max_memory" in wanted:
        s.add_argument("--max-memory", type=int, metavar="MIB",
                       help="memory guard: stop (BOUNDED) once the process holds this many "
                       "MiB (default: 80%% of the memory available at the start; 0: no guard)")
    if "engine" in wanted:
        s.add_argument("--engine", choices=ENGINES, default="auto",
                       help="explicit-state engine (default auto: the compiled one where it "
                       "covers the design, scope and checks, else python, with a note)")


# ------------------------------------------------------------------------------------------
# Scope from arguments: the command-line options are one more layer of changes, applied
# after the scope file, exactly like a file holding the same keys (mmspec.scope).

def _split_kv(item: str, what: str) -> tuple[str, str]:
    if "=" not in item:
        raise ScopeError(f"{what} {item!r} must look like NAME=VALUE")
    k, v = item.split("=", 1)
    return k.strip(), v.strip()


def _zone_key(name: str) -> str:
    return _ZONE_NAMES[name].label if name in _ZONE_NAMES else name


def _flag_layer(args: argparse.Namespace) -> dict[str, Any]:
    """The scope options as TOML data (the keys a scope file would hold)."""
    data: dict[str, Any] = {}
    zones: dict[str, dict[str, Any]] = {}
    if args.pages_per_pageblock is not None:
        data["pages_per_pageblock"] = args.pages_per_pageblock

    # a later option for the same zone or class replaces an earlier one (as a later layer
    # replaces an earlier one)
    for item in args.pageblocks or ():
        z, v = _split_kv(item, "--pageblocks")
        zones.setdefault(_zone_key(z), {})["pageblocks"] = [
            x.strip() for x in v.split(",") if x.strip()]
    for item in args.watermarks or ():
        z, v = _split_kv(item, "--watermarks")
        tab = zones.setdefault(_zone_key(z), {})
        if v == DERIVED:
            tab["watermarks"] = DERIVED
            continue
        try:
            tab["watermarks"] = [int(x) for x in v.split(",")]
        except ValueError:
            raise ScopeError(f"--watermarks {item!r}: give three integers min,low,high "
                             f"(or {DERIVED})") from None
    if zones:
        data["zones"] = zones
    req: dict[str, int] = {}
    for item in args.limit or ():
        k, v = _split_kv(item, "--limit")
        if k not in CLASS_INDEX:
            raise ScopeError(f"--limit: unknown request class {k!r}; use GFP_ATOMIC, GFP_KERNEL, "
                             "GFP_HIGHUSER_MOVABLE, BLOCKDEV, SLAB or KERNEL_HIGH")
        for o in [o for o in req if CLASS_INDEX[o] == CLASS_INDEX[k]]:
            del req[o]
        try:
            req[k] = int(v)
        except ValueError:
            raise ScopeError(f"--limit {item!r}: the page count must be an integer") from None
    if req:
        data["requests"] = req
    if args.fair is not None:
        data["fair_zone_policy"] = args.fair
    if args.reclaim_rounds is not None:
        data["direct_reclaim_rounds"] = args.reclaim_rounds
    return data


def scope_from_args(args: argparse.Namespace) -> Scope:
    """The default scope, changed by ``--scope FILE`` (or NAME), then by the other scope
    options (see :mod:`mmspec.scope`)."""
    layers = []
    if args.scope is not None:
        path = find_scope_file(args.scope)
        layers.append((read_scope_data(path), args.scope))
        resolve_scope(*layers)           # the file on its own first: errors name the file
    flags = _flag_layer(args)
    if flags:
        layers.append((flags, "command line"))
    return resolve_scope(*layers)


def _scope_cli(args: argparse.Namespace, search: bool = True) -> str:
    """The scope arguments as given (and ``--max-states``, with ``search``), for reproduce
    commands."""
    out = []
    if args.scope:
        out += ["--scope", args.scope]
    if args.pages_per_pageblock is not None:
        out += ["--pages-per-pageblock", str(args.pages_per_pageblock)]
    for flag, vals in (("--pageblocks", args.pageblocks), ("--watermarks", args.watermarks),
                       ("--limit", args.limit)):
        for v in vals or ():
            out += [flag, v]
    if args.fair is not None:
        out.append("--fair" if args.fair else "--no-fair")
    if args.reclaim_rounds is not None:
        out += ["--reclaim-rounds", str(args.reclaim_rounds)]
    if getattr(args, "allow_degenerate", False):
        out.append("--allow-degenerate")
    if search and getattr(args, "max_states", None) is not None:
        out += ["--max-states", str(args.max_states)]
    return " ".join(shlex.quote(x) for x in out)


def _scope_label(scope: Scope, sc: str) -> str:
    names = scope_names(scope)
    what = "the default scope" if not sc else f"scope [{sc}]"
    return what + (f" (named scope: {', '.join(names)})" if names else " (not a named scope)")


def derived_layout(model: Allocator) -> list[tuple[str, int, tuple[int, int, int], bool, bool]]:
    """Per zone of a design instance: (label, managed pages, watermarks, derived by the
    formulas?, no allocatable page?). A zone has no allocatable page when even a GFP_ATOMIC
    request (ALLOC_HIGH|ALLOC_HARDER, CMA pages counted) fails with every page free."""
    out = []
    for lay in model.layout:
        derived = model._explicit_wmark(model.scope, lay.ztype) is None
        dead = not zone_watermark_ok_value(lay.managed, 0, lay.wmark[0], 0,
                                           ALLOC_HIGH | ALLOC_HARDER | ALLOC_CMA)
        out.append((lay.label, lay.managed, lay.wmark, derived, dead))
    return out


def check_degenerate(scope: Scope, designs: Sequence[type[Allocator]], allow: bool) -> None:
    """Refuse (ScopeError, one line with the numbers) derived watermarks that leave a zone of
    some design with no allocatable page, unless ``allow``. Also maps the scope onto every
    design first, so a design that cannot take it fails before any output."""
    bad: dict[str, list[str]] = {}
    for d in designs:
        for label, managed, wm, derived, dead in derived_layout(d(scope)):
            if derived and dead:
                bad.setdefault(f"{label} {wm[0]}/{wm[1]}/{wm[2]} of {managed} pages", []).append(
                    d.name)
    if bad and not allow:
        what = "; ".join(f"{k} ({', '.join(v)})" for k, v in bad.items())
        raise ScopeError(f"derived watermarks leave no allocatable page (v4.6 formulas, min/low/"
                         f"high): {what}; give watermarks (--watermarks ZONE=MIN,LOW,HIGH or "
                         "in the scope file) or --allow-degenerate")


def _check_search_args(args: argparse.Namespace) -> None:
    if getattr(args, "max_states", None) is not None and args.max_states < 1:
        raise ScopeError(f"--max-states must be at least 1, got {args.max_states}")
    tl = getattr(args, "time_limit", None)
    if tl is not None and not tl > 0:
        raise ScopeError(f"--time-limit must be positive, got {tl}")
    if getattr(args, "max_memory", None) is not None and args.max_memory < 0:
        raise ScopeError(f"--max-memory must be >= 0 (0: no guard), got {args.max_memory}")


def _unique(names: Sequence[str] | None, option: str) -> None:
    dup = [n for n, k in Counter(names or ()).items() if k > 1]
    if dup:
        raise MmspecError(f"{option} {dup[0]} is given twice; give it once")
