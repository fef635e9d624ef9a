"""Command line: ``mmspec list | scope | check | compare`` and the ``cmd_*`` modules' commands.
The only modules that do I/O are this one, the ``cmd_*`` modules, :mod:`mmspec.output`
(files) and :mod:`mmspec.progress` (progress on standard error).

Exit codes: 0 all hold / all as expected; 1 a violation (check) or a verdict that differs
from its recorded expectation (compare); 2 bad input (one ``mmspec: error:`` line on
standard error, nothing written); 3 inconclusive (BOUNDED or VACUOUS); 130 interrupted
(Ctrl-C, with the statistics of the search so far). Standard output is deterministic
(byte-identical for the same input); timings, memory and progress go to standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import textwrap
from collections import Counter
from typing import Any, Sequence, TextIO

from . import __version__, registry
from .check import Check, Verdict, effective_scope
from .errors import MmspecError, ScopeError
from .explore import ENGINES, Result, SearchInterrupted
from .kernel import Allocator, zone_watermark_ok_value
from .matrix import (cell_text, judge_cells, legend_lines, matrix_lines, missing_paths,
                     trace_text)
from .output import output_file
from .progress import Reporter, default_memory_limit_kib, stats_block
from .scope import (_ZONE_NAMES, DERIVED, Scope, default_scope, find_scope_file,
                    named_scopes, read_scope_data, resolve_scope, scope_names)
from .trace import render_trace, trace_to_itf, wrap_line
from .vocab import ALLOC_CMA, ALLOC_HARDER, ALLOC_HIGH, CLASS_INDEX

__all__ = ["main", "entrypoint", "build_parser", "scope_from_args", "search", "reporter"]

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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mmspec", description="Model checker for Linux page-allocator designs "
                "(MIGRATE_CMA vs ZONE_CMA and successors), faithful to v4.6.")
    p.add_argument("--version", action="version", version=f"mmspec {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    sub.add_parser("list", help="designs and checks with one-line descriptions")
    sp = sub.add_parser("scope", help="print the scope in effect as a TOML scope file, with "
                        "what each design derives from it")
    _scope_args(sp, search=False)
    c = sub.add_parser("check", help="explore one design and report each check")
    c.add_argument("--design", metavar="NAME", help="design name (see `mmspec list`)")
    c.add_argument("--design-file", metavar="FILE", help="load the design from a Python file "
                   "defining DESIGN")
    c.add_argument("--check", action="append", metavar="NAME", help="check to run (repeatable; "
                   "default: all)")
    c.add_argument("--json", metavar="FILE", help="write the counterexample(s) as ITF JSON "
                   "(- : to standard output, instead of the report)")
    c.add_argument("--all", action="store_true", help="also run the opt-in checks, each at its "
                   "own scope (compaction, cma_alloc, page ages; slower)")
    _scope_args(c)
    m = sub.add_parser("compare", help="every design x every check: verdict matrix")
    m.add_argument("--design", action="append", metavar="NAME", help="restrict to these "
                   "designs (repeatable)")
    m.add_argument("--design-file", action="append", metavar="FILE", help="add the design "
                   "a Python file defines (DESIGN = ...) as a row (repeatable)")
    m.add_argument("--check", action="append", metavar="NAME", help="restrict to these checks "
                   "(repeatable)")
    m.add_argument("--json", metavar="FILE", help="write the matrix with traces as JSON "
                   "(- : to standard output, instead of the report)")
    m.add_argument("--no-traces", action="store_true", help="print the matrix only")
    m.add_argument("--all", action="store_true", help="also run the opt-in checks, each at its "
                   "own scope (compaction, cma_alloc, page ages; slower)")
    _scope_args(m)
    for mod in _command_modules():
        mod.register(sub, _scope_args)
    return p


def _command_modules() -> list:
    """Extra subcommands: every ``mmspec/cmd_*.py`` module with ``register(subparsers,
    add_scope_args)`` (which sets ``func=`` via ``set_defaults``). Sorted by name.
    ``add_scope_args(parser, search=True)`` adds the scope options and the search options
    (``search``: True, False or a list of :data:`SEARCH_OPTIONS` dests)."""
    import importlib
    import pkgutil
    import mmspec
    return [importlib.import_module(f"mmspec.{m.name}")
            for m in sorted(pkgutil.iter_modules(mmspec.__path__), key=lambda m: m.name)
            if m.name.startswith("cmd_")]


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


# ------------------------------------------------------------------------------------------
# Searching with progress, the memory guard and the engine choice.

def reporter(args: argparse.Namespace, err: TextIO) -> Reporter:
    """The run's progress reporter (created by :func:`main`; one on ``err`` otherwise)."""
    rep = getattr(args, "_reporter", None)
    if rep is None:
        rep = Reporter(err)
        args._reporter = rep
    return rep


def search(model: Allocator, checks: Sequence[Check], args: argparse.Namespace, err: TextIO,
           label: str, *, summary: bool = True, **kw: Any) -> Result:
    """:func:`mmspec.explore.explore` with the command's search options, progress lines on
    ``err``, the memory guard and the engine's fallback note; a timing line when done
    (unless not ``summary``)."""
    from .explore import explore
    rep = reporter(args, err)
    mem = getattr(args, "max_memory", None)
    limit = default_memory_limit_kib() if mem is None else (mem * 1024 or None)
    r = explore(model, checks, max_states=getattr(args, "max_states", None),
                time_limit=getattr(args, "time_limit", None), progress=rep.search(label),
                engine=getattr(args, "engine", "auto"), memory_limit_kib=limit,
                notice=rep.note, **kw)
    s = r.stats
    rate = f"{s.states_per_s:,.0f}" if s.elapsed_s > 0 else "-"
    if summary or not s.complete:
            rep.line(f"{label}: {s.distinct:,} states in {s.elapsed_s:.2f} s ({rate} states/s), "
                 f"peak RSS {s.peak_rss_kib // 1024} MiB"
                 + ("" if s.complete else f"; stopped: {s.stop_reason}"))
    return r


# ------------------------------------------------------------------------------------------
# Rendering helpers (pure).

def stats_lines(r: Result) -> list[str]:
    s = r.stats
    return [f"  {r.design}: {s.distinct} distinct states, {s.generated} transitions, "
            f"depth {s.depth}" + ("" if s.complete else f", INCOMPLETE ({s.stop_reason})")]


def coverage_lines(r: Result) -> list[str]:
    if not r.coverage:
        return ["  (no allocator path fired)"]
    return [f"  {n:>8}  {p}" for p, n in sorted(r.coverage, key=lambda x: (-x[1], x[0]))]


def _groups(scope: Scope, checks: Sequence[Check]) -> dict:
    """The checks grouped by the scope they run at (their ``Check.scope`` overrides)."""
    groups: dict = {}
    for ck in checks:
        groups.setdefault(effective_scope(scope, ck), []).append(ck)
    return groups


def _prebuild(designs: Sequence[type[Allocator]], scope: Scope, checks: Sequence[Check],
              args) -> None:
    """Compile the programs of the explorations to come in parallel (compiled engine)."""
    if getattr(args, "engine", "auto") == "python":
        return
    from .engine.compiled import prebuild
    prebuild([(d(sc), cks) for d in designs for sc, cks in _groups(scope, checks).items()])


def _run(design: type[Allocator], scope: Scope, checks: Sequence[Check], args, err: TextIO
         ) -> tuple[Allocator, Result]:
    """Explore ``design`` once per effective scope (checks with ``Check.scope`` overrides
    run at the scope in use with their overrides applied) and combine the cells in check
    order. Statistics and coverage are summed over the explorations; ``_MODELS[id(cell)]``
    is the model a cell's trace belongs to."""
    groups = _groups(scope, checks)
    cells: dict = {}
    parts = []
    for sc, cks in groups.items():
        model = design(sc)
        label = design.name if sc == scope else f"{design.name} ({', '.join(c.name for c in cks)})"
        r = search(model, cks, args, err, label)
        parts.append((model, r))
        for cell in r.cells:
            cells[cell.check.name] = cell
            _MODELS[id(cell)] = model
    if len(parts) == 1:
        return parts[0]
    cov: Counter = Counter()
    for _, r in parts:
        cov.update(dict(r.coverage))
    st = [r.stats for _, r in parts]
    stats = type(st[0])(sum(x.generated for x in st), sum(x.distinct for x in st),
                        max(x.depth for x in st), all(x.complete for x in st),
                        "; ".join(x.stop_reason for x in st if x.stop_reason),
                        sum(x.elapsed_s for x in st), max(x.peak_rss_kib for x in st))
    base = next((m for m, _ in parts if m.scope == scope), parts[0][0])
    return base, Result(design.name, tuple(cells[ck.name] for ck in checks), stats,
                        tuple(sorted(cov.items())))


#: the model each cell's trace was produced by (cells of checks with scope overrides)
_MODELS: dict = {}


def _model_of(cell, default: Allocator) -> Allocator:
    return _MODELS.get(id(cell), default)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _wrap(text: str, indent: str = "") -> str:
    """A paragraph wrapped at 100 columns (words are never broken)."""
    return textwrap.fill(text, 100, subsequent_indent=indent or "  ", break_long_words=False,
                         break_on_hyphens=False)


def _repro(design_arg: str, check: str, sc: str) -> str:
    return f"mmspec check {design_arg} --check {check}" + (f" {sc}" if sc else "")


# ------------------------------------------------------------------------------------------
# Commands.

def cmd_list(args, out: TextIO, err: TextIO) -> int:
    out.write("Designs:\n")
    for d in registry.designs():
        out.write(f"  {d.name:<28} {d.title}\n")
    out.write("\nChecks:\n")
    for c in registry.checks(include_opt_in=True):
        out.write(f"  {c.name:<28} {c.title} [{c.claim}]"
                  + (" (opt-in: runs with --check or --all; scope " + ", ".join(
                      f"{k}={v}" for k, v in c.scope.items()) + ")" if c.scope else "") + "\n")
    out.write("\nNamed scopes (--scope NAME; expected verdicts are recorded per named scope):\n")
    out.write(f"  {'default':<28} the built-in default scope (`mmspec scope`)\n")
    for name, path in named_scopes().items():
        out.write(f"  {name:<28} scopes/{name}.toml\n")
    out.write("\n" + _engines_text())
    return EXIT_OK


def _engines_text() -> str:
    """Which designs and checks the compiled engine covers (``mmspec list``)."""
    from .engine.lower import unsupported_reason
    base = default_scope()
    designs = registry.designs()
    no = [d.name for d in designs if unsupported_reason(d(base))]
    python_only = []
    for c in registry.checks(include_opt_in=True):
        why = unsupported_reason(designs[0](effective_scope(base, c)))
        if why:
            python_only.append(f"{c.name} ({why.split(' (')[0].split(';')[0]})")
    lines = ["Engines (--engine auto: the compiled one wherever it applies, else Python with "
             "a note):",
             "  compiled  the rules traced into C and searched in C: "
             + ("every design above" if not no else "every design but " + ", ".join(no))
             + "; every check but:"]
    lines += [f"              {x}" for x in python_only] or ["              (none)"]
    lines.append("  python    every design and every check")
    return "\n".join(lines) + "\n"


def cmd_scope(args, out: TextIO, err: TextIO) -> int:
    scope = scope_from_args(args)
    designs = registry.designs()
    check_degenerate(scope, designs, args.allow_degenerate)
    out.write(scope.to_toml())
    names = scope_names(scope)
    out.write("\n# Named scope: " + (", ".join(names) if names else "none (no expected "
                                      "verdicts are recorded for this scope)") + "\n")
    out.write("# What each design makes of it: zones, managed pages, min/low/high watermarks\n"
              "# (* derived with the v4.6 formulas; ! no allocatable page):\n")
    w = max(len(d.name) for d in designs)
    for d in designs:
        zones = "; ".join(f"{label} {managed} pages {wm[0]}/{wm[1]}/{wm[2]}"
                          + ("*" if derived else "") + ("!" if dead else "")
                          for label, managed, wm, derived, dead in derived_layout(d(scope)))
        out.write(f"#   {d.name:<{w}}  {zones}\n")
    return EXIT_OK


def _design_of(args) -> tuple[type[Allocator], str]:
    """(design, its reproduce argument) of ``check``."""
    if bool(args.design) == bool(args.design_file):
        raise MmspecError("give exactly one of --design NAME or --design-file FILE "
                          "(see `mmspec list`)")
    if args.design:
        return registry.get_design(args.design), f"--design {args.design}"
    return (registry.load_design_file(args.design_file),
            f"--design-file {shlex.quote(args.design_file)}")


def cmd_check(args, out: TextIO, err: TextIO) -> int:
    design, darg = _design_of(args)
    _unique(args.check, "--check")
    checks = (registry.get_checks(args.check) if args.check
              else registry.checks(include_opt_in=args.all))
    _check_search_args(args)
    target = output_file(args.json)
    scope = scope_from_args(args)
    check_degenerate(scope, [design], args.allow_degenerate)
    _prebuild([design], scope, checks, args)
    model, r = _run(design, scope, checks, args, err)
    sc = _scope_cli(args)
    report = _Wrapped(out if target is None or not target.is_stdout else _Discard())
    report.write(f"mmspec check: design {design.name} ({design.title})\n")
    report.write(f"Source: {design.source}\n")
    report.write("Zones: " + "; ".join(
        f"{z.label} {z.managed} pages, min/low/high {z.wmark[0]}/{z.wmark[1]}/{z.wmark[2]}"
        for z in model.layout) + "\n\n")
    code = EXIT_OK
    inconclusive = False
    for cell in r.cells:
        ck = cell.check
        line = f"{ck.name}: {cell.verdict.value}"
        if cell.verdict == Verdict.VIOLATED:
            assert cell.trace is not None
            line += f" ({trace_text(cell.trace)})"
            code = EXIT_VIOLATION
        elif cell.verdict == Verdict.HOLDS:
            line += f" (witness \"{ck.witness_doc}\" reached on {cell.witness_count} transitions)"
        elif cell.verdict == Verdict.VACUOUS:
            line += f" -- WARNING: witness \"{ck.witness_doc}\" never reached: the check tested nothing"
            inconclusive = True
        else:
            line += f" -- search incomplete ({r.stats.stop_reason}); not a proof"
            inconclusive = True
        missing = missing_paths(r, ck)
        if missing and cell.verdict != Verdict.VIOLATED:
            line += f" -- INCONCLUSIVE: needed path(s) never fired: {', '.join(missing)}"
            inconclusive = True
        report.write(line + "\n")
    report.write("\nStatistics:\n")
    report.write("\n".join(stats_lines(r)) + "\n")
    report.write("\nCoverage (allocator paths, transitions on which they fired):\n")
    report.write("\n".join(coverage_lines(r)) + "\n")
    itf = []
    for cell in r.cells:
        if cell.verdict != Verdict.VIOLATED or cell.trace is None:
            continue
        repro = _repro(darg, cell.check.name, sc)
        report.write("\n" + "=" * 78 + "\n")
        cm = _model_of(cell, model)
        report.write(render_trace(cm, cell.trace, title=(
            f"Counterexample to {cell.check.name} on {design.name} "
            f"({trace_text(cell.trace)}): {cell.check.title}"), reproduce=repro))
        itf.append(trace_to_itf(cm, cell.trace, {
            "description": f"counterexample to {cell.check.name} on {design.name}",
            "design": design.name, "check": cell.check.name, "source": "mmspec",
            "reproduce": repro, "scope": cm.scope.to_toml()}))
    if target is not None:
        doc: Any = itf[0] if len(itf) == 1 else {"traces": itf}
        target.write(json.dumps(doc, indent=1, sort_keys=True) + "\n", out)
    if code == EXIT_OK and inconclusive:
        code = EXIT_INCONCLUSIVE
    return code


class _Discard:
    """A text sink: the report when ``--json -`` takes standard output."""

    def write(self, text: str) -> int:
        return len(text)


class _Wrapped:
    """Writes whole lines to ``out`` wrapped at 100 columns (:func:`mmspec.trace.wrap_line`)."""

    def __init__(self, out) -> None:
        self.out = out

    def write(self, text: str) -> int:
        lines = text.split("\n")
        return self.out.write("\n".join(w for ln in lines for w in (wrap_line(ln) or [""])))


def _compare_designs(args) -> list[tuple[type[Allocator], str]]:
    """(design, reproduce argument) for every row of the matrix: the shipped designs (or
    those named with --design), then the designs of the --design-file files."""
    _unique(args.design, "--design")
    _unique(args.design_file, "--design-file")
    rows = [(d, f"--design {d.name}") for d in (
        [registry.get_design(n) for n in args.design] if args.design else registry.designs())]
    for path in args.design_file or ():
        d = registry.load_design_file(path)
        if any(d.name == o.name for o, _ in rows):
            raise MmspecError(f"design file {path!r} defines a design named {d.name!r}, which "
                              "is already in the matrix; give your design its own name")
        rows.append((d, f"--design-file {shlex.quote(path)}"))
    return rows


def cmd_compare(args, out: TextIO, err: TextIO) -> int:
    rows = _compare_designs(args)
    _unique(args.check, "--check")
    checks = (registry.get_checks(args.check) if args.check
              else registry.checks(include_opt_in=args.all))
    _check_search_args(args)
    target = output_file(args.json)
    scope = scope_from_args(args)
    sc = _scope_cli(args)
    check_degenerate(scope, [d for d, _ in rows], args.allow_degenerate)
    _prebuild([d for d, _ in rows], scope, checks, args)
    results = [_run(d, scope, checks, args, err) for d, _ in rows]
    darg = {m.name: a for (m, _), (_, a) in zip(results, rows)}
    judged = judge_cells(results, checks, scope)
    by_name = {m.name: r for m, r in results}
    report = out if target is None or not target.is_stdout else _Discard()
    report.write(_wrap(f"mmspec compare: {_count(len(rows), 'design')} x "
                       f"{_count(len(checks), 'check')} at "
                       f"{_scope_label(scope, _scope_cli(args, search=False))}") + "\n\n")
    lines, long = matrix_lines(judged, checks)
    report.write("\n".join(lines) + "\n")
    report.write("\nColumns (checks; `mmspec list` describes them):\n")
    nw = max(len(c.name) for c in checks)
    for i, ck in enumerate(checks, 1):
        report.write(f"  {i:>2}  {ck.name:<{nw}}  {ck.claim}\n")
    legend = legend_lines(judged, long)
    if legend:
        report.write("\nCells:\n" + "\n".join(legend) + "\n")
    mismatch = [x for row in judged for x in row if x.differs]
    unjudged = [x for row in judged for x in row if x.expected is None]
    inconclusive = [x for row in judged for x in row if x.inconclusive]
    report.write("\n")
    if mismatch:
        report.write("Verdicts that differ from the expectation recorded for this scope "
                     "(exit 1):\n")
        for x in mismatch:
            assert x.expected is not None
            report.write(_wrap(f"  {x.design} x {x.check.name}: {cell_text(x.cell)}, expected "
                               f"{x.expected.value}", "    ") + "\n")
    if unjudged and len(unjudged) == sum(len(row) for row in judged):
        report.write(_wrap("No expectation at this scope: expected verdicts are recorded per "
                           "named scope (" + ", ".join(["default", *named_scopes()])
                           + "); these verdicts are not judged.") + "\n")
    elif unjudged:
        by: dict[str, list[str]] = {}
        for x in unjudged:
            by.setdefault(x.check.name, []).append(x.design)
        report.write(_wrap("No expectation at this scope (not judged) for: " + "; ".join(
            f"{c} ({'all designs' if len(ds) == len(judged) else ', '.join(ds)})"
            for c, ds in by.items())) + "\n")
    if not mismatch and len(unjudged) < sum(len(row) for row in judged):
        report.write("Every other verdict is as expected.\n" if unjudged else
                     "Every verdict is as expected.\n")
    if inconclusive:
        report.write("Inconclusive (exit 3): these cells test nothing at this scope:\n")
        for x in inconclusive:
            missing = ", ".join(missing_paths(by_name[x.design], x.check))
            why = (f"INCONCLUSIVE (path): {missing} never fired" if x.path_missing else
                   "VACUOUS: the witness was never reached" if x.cell.verdict == Verdict.VACUOUS
                   else "BOUNDED: the search was cut")
            report.write(_wrap(f"  {x.design} x {x.check.name}: {why}", "    ") + "\n")
    report.write("\nStatistics:\n")
    for _, r in results:
        report.write("\n".join(stats_lines(r)) + "\n")
    doc: dict[str, Any] = {"scope": scope.to_toml(), "scope_names": scope_names(scope),
                           "designs": [m.name for m, _ in results], "cells": []}
    for (m, r), row in zip(results, judged):
        for x in row:
            cell = x.cell
            entry: dict[str, Any] = {
                "design": m.name, "check": cell.check.name, "verdict": cell.verdict.value,
                "expected": x.expected.value if x.expected is not None else None,
                "judgement": x.judgement,
                "witness_count": cell.witness_count,
                "trace_length": len(cell.trace) if cell.trace else None,
                "loop_start": cell.trace.loop_start if cell.trace else None,
                "stats": {"distinct": r.stats.distinct, "transitions": r.stats.generated,
                          "depth": r.stats.depth, "complete": r.stats.complete}}
            if cell.trace is not None:
                entry["trace"] = trace_to_itf(_model_of(cell, m), cell.trace, {
                    "design": m.name, "check": cell.check.name,
                    "reproduce": _repro(darg[m.name], cell.check.name, sc)})
            doc["cells"].append(entry)
    if not args.no_traces:
        for m, r in results:
            for cell in r.cells:
                if cell.verdict != Verdict.VIOLATED or cell.trace is None:
                    continue
                report.write("\n" + "=" * 78 + "\n")
                report.write(render_trace(_model_of(cell, m), cell.trace, title=(
                    f"{cell.check.name} on {m.name}: VIOLATED, {trace_text(cell.trace)}"),
                    reproduce=_repro(darg[m.name], cell.check.name, sc)))
    if target is not None:
        target.write(json.dumps(doc, indent=1, sort_keys=True) + "\n", out)
    if mismatch:
        return EXIT_VIOLATION
    return EXIT_INCONCLUSIVE if inconclusive else EXIT_OK


COMMANDS = {"list": cmd_list, "scope": cmd_scope, "check": cmd_check, "compare": cmd_compare}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run the CLI with ``argv``; returns the exit code. Testable without subprocesses."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    rep = Reporter(err)
    try:
        try:
            with contextlib.redirect_stdout(out):      # --help and --version
                args = build_parser().parse_args(list(argv) if argv is not None else None)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        args._reporter = rep
        fn = COMMANDS.get(args.cmd) or getattr(args, "func")
        return fn(args, out, err)
    except (_UsageError, MmspecError) as exc:
        rep.clear()
        err.write(f"mmspec: error: {exc}\n")
        return EXIT_USAGE
    except SearchInterrupted as exc:
        rep.clear()
        err.write(stats_block(rep.label or "search", exc.stats))
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        rep.clear()
        err.write("mmspec: interrupted" + (f" during {rep.label} after {rep.elapsed():.1f} s"
                                            if rep.label else "") + "; no result\n")
        return EXIT_INTERRUPTED


def entrypoint() -> None:
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.stderr.write("mmspec: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(0)
