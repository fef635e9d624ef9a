"""Command line: ``mmspec list | check | compare``. The only module that does I/O.

Exit codes: 0 all hold / all as expected; 1 a violation (check) or a verdict that differs
from its recorded expectation (compare); 2 bad input; 3 inconclusive (BOUNDED or VACUOUS).
Standard output is deterministic (byte-identical for the same input); timings, memory and
progress go to standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import tomllib
from typing import Any, Sequence, TextIO

from . import registry
from .check import Check, Verdict, effective_scope
from .errors import MmspecError, ScopeError
from .explore import Result, explore
from .kernel import Allocator
from .scope import DEFAULT_SCOPE_TOML, Scope, load_scope, parse_scope
from .trace import render_trace, trace_to_itf
from .vocab import CLASS_INDEX

__all__ = ["main", "entrypoint"]

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (raised, not printed)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def _scope_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scope (the model's constants; default: the built-in default scope)")
    g.add_argument("--scope", metavar="FILE", help="TOML scope file (see `mmspec scope`)")
    g.add_argument("--pages-per-pageblock", type=int, metavar="N")
    g.add_argument("--pageblocks", action="append", metavar="ZONE=MT,MT,...",
                   help="pageblock migratetypes of a zone, e.g. Normal=U,M,M,C,C")
    g.add_argument("--watermarks", action="append", metavar="ZONE=MIN,LOW,HIGH",
                   help="explicit watermarks of a zone, e.g. Normal=2,3,4 or CMA=1,2,3")
    g.add_argument("--limit", action="append", metavar="CLASS=N",
                   help="most pages a request class may hold, e.g. GFP_KERNEL=3 (0 disables)")
    g.add_argument("--fair", dest="fair", action="store_true", default=None,
                   help="v4.6 fair zone allocation policy (default)")
    g.add_argument("--no-fair", dest="fair", action="store_false",
                   help="v4.8 highest-zone-first (no ALLOC_FAIR)")
    g.add_argument("--reclaim-rounds", type=int, metavar="N",
                   help="direct-reclaim rounds before a request gives up")
    s = p.add_argument_group("search")
    s.add_argument("--max-states", type=int, metavar="N",
                   help="stop after N distinct states (undecided checks become BOUNDED)")
    s.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="stop after this many seconds (undecided checks become BOUNDED)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mmspec", description="Model checker for Linux page-allocator designs "
                "(MIGRATE_CMA vs ZONE_CMA and successors), faithful to v4.6.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    sub.add_parser("list", help="designs and checks with one-line descriptions")
    sp = sub.add_parser("scope", help="print the scope in effect as a TOML scope file")
    _scope_args(sp)
    c = sub.add_parser("check", help="explore one design and report each check")
    c.add_argument("--design", help="design name (see `mmspec list`)")
    c.add_argument("--design-file", metavar="FILE", help="load the design from a Python file")
    c.add_argument("--check", action="append", metavar="NAME", help="check to run (repeatable; "
                   "default: all)")
    c.add_argument("--json", metavar="FILE", help="write the counterexample(s) as ITF JSON")
    c.add_argument("--all", action="store_true", help="also run the opt-in checks, each at its "
                   "own scope (compaction, cma_alloc, page ages; slower)")
    _scope_args(c)
    m = sub.add_parser("compare", help="every design x every check: verdict matrix")
    m.add_argument("--design", action="append", metavar="NAME", help="restrict to these designs")
    m.add_argument("--check", action="append", metavar="NAME", help="restrict to these checks")
    m.add_argument("--json", metavar="FILE", help="write the matrix with traces as JSON")
    m.add_argument("--no-traces", action="store_true", help="print the matrix only")
    m.add_argument("--all", action="store_true", help="also run the opt-in checks, each at its "
                   "own scope (compaction, cma_alloc, page ages; slower)")
    _scope_args(m)
    for mod in _command_modules():
        mod.register(sub, _scope_args)
    return p


def _command_modules() -> list:
    """Extra subcommands: every ``mmspec/cmd_*.py`` module with ``register(subparsers,
    add_scope_args)`` (which sets ``func=`` via ``set_defaults``). Sorted by name."""
    import importlib
    import pkgutil
    import mmspec
    return [importlib.import_module(f"mmspec.{m.name}")
            for m in sorted(pkgutil.iter_modules(mmspec.__path__), key=lambda m: m.name)
            if m.name.startswith("cmd_")]


# ------------------------------------------------------------------------------------------
# Scope from arguments.

def _split_kv(item: str, what: str) -> tuple[str, str]:
    if "=" not in item:
        raise ScopeError(f"{what} {item!r} must look like NAME=VALUE")
    k, v = item.split("=", 1)
    return k.strip(), v.strip()


def scope_from_args(args: argparse.Namespace) -> Scope:
    """The default scope (or ``--scope FILE``) with the command-line overrides applied."""
    if args.scope:
        load_scope(args.scope)  # validates the file on its own first
        with open(args.scope, "rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
        origin = args.scope
    else:
        data = tomllib.loads(DEFAULT_SCOPE_TOML)
        origin = "command line"
    zones = data.setdefault("zones", {})
    if args.pages_per_pageblock is not None:
        data["pages_per_pageblock"] = args.pages_per_pageblock
    for item in args.pageblocks or ():
        z, v = _split_kv(item, "--pageblocks")
        zones.setdefault(z, {})["pageblocks"] = [x.strip() for x in v.split(",") if x.strip()]
    for item in args.watermarks or ():
        z, v = _split_kv(item, "--watermarks")
        try:
            zones.setdefault(z, {})["watermarks"] = [int(x) for x in v.split(",")]
        except ValueError:
            raise ScopeError(f"--watermarks {item!r}: give three integers min,low,high") from None
    for item in args.limit or ():
        k, v = _split_kv(item, "--limit")
        if k not in CLASS_INDEX:
            raise ScopeError(f"--limit: unknown request class {k!r}; use GFP_ATOMIC, GFP_KERNEL, "
                             "GFP_HIGHUSER_MOVABLE, BLOCKDEV, SLAB or KERNEL_HIGH")
        try:
            data.setdefault("requests", {})[k] = int(v)
        except ValueError:
            raise ScopeError(f"--limit {item!r}: the page count must be an integer") from None
    if args.fair is not None:
        data["fair_zone_policy"] = args.fair
    if args.reclaim_rounds is not None:
        data["direct_reclaim_rounds"] = args.reclaim_rounds
    return parse_scope(data, origin=origin)


def _scope_cli(args: argparse.Namespace) -> str:
    """The scope arguments as given, for reproduce commands."""
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
    if args.max_states is not None:
        out += ["--max-states", str(args.max_states)]
    return " ".join(shlex.quote(x) for x in out)


def _check_output_path(path: str | None) -> None:
    """Refuse an output file whose directory does not exist before any work is done."""
    if path is None:
        return
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise MmspecError(f"cannot write {path!r}: directory {d!r} does not exist")
    if os.path.isdir(path):
        raise MmspecError(f"cannot write {path!r}: it is a directory")


def _check_search_args(args: argparse.Namespace) -> None:
    if args.max_states is not None and args.max_states < 1:
        raise ScopeError(f"--max-states must be at least 1, got {args.max_states}")
    if args.time_limit is not None and not args.time_limit > 0:
        raise ScopeError(f"--time-limit must be positive, got {args.time_limit}")


# ------------------------------------------------------------------------------------------
# Rendering helpers (pure).

def _cell_text(r: Result, ck: Check) -> str:
    cell = r.cell(ck.name)
    if cell.verdict == Verdict.VIOLATED:
        assert cell.trace is not None
        if cell.trace.loop_start is not None:
            return f"VIOLATED lasso {cell.trace.loop_start}+{len(cell.trace) - cell.trace.loop_start}"
        return f"VIOLATED {len(cell.trace)} steps"
    if cell.verdict == Verdict.HOLDS:
        return f"HOLDS w={cell.witness_count}"
    return cell.verdict.value


def _trace_desc(tr) -> str:
    """How a counterexample is described: a shortest trace, or a lasso (stem + loop)."""
    if tr.loop_start is not None:
        return (f"lasso: stem {tr.loop_start} + loop {len(tr) - tr.loop_start} steps, "
                "loop-back step marked")
    return f"shortest counterexample: {len(tr)} steps"


def _expect_mark(design: type[Allocator], ck: Check, verdict: Verdict) -> str:
    exp = registry.expected_verdict(design, ck)
    if exp is None:
        return "(no expectation)"
    return "as expected" if exp == verdict else f"EXPECTED {exp.value}"


def stats_lines(r: Result) -> list[str]:
    s = r.stats
    lines = [f"  {r.design}: {s.distinct} distinct states, {s.generated} transitions, "
             f"depth {s.depth}" + ("" if s.complete else f", INCOMPLETE ({s.stop_reason})")]
    return lines


def coverage_lines(r: Result) -> list[str]:
    if not r.coverage:
        return ["  (no allocator path fired)"]
    return [f"  {n:>8}  {p}" for p, n in sorted(r.coverage, key=lambda x: (-x[1], x[0]))]


def _timing(r: Result, err: TextIO) -> None:
    s = r.stats
    rate = f"{s.states_per_s:,.0f}" if s.elapsed_s > 0 else "-"
    err.write(f"mmspec: {r.design}: {s.distinct} states in {s.elapsed_s:.2f} s "
              f"({rate} states/s), peak RSS {s.peak_rss_kib // 1024} MiB\n")


def _missing_paths(r: Result, ck: Check) -> list[str]:
    fired = {p for p, _ in r.coverage}
    return [p for p in ck.needs if p not in fired]


def _atomic_write(path: str, text: str) -> None:
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise MmspecError(f"cannot write {path!r}: directory {d!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".mmspec-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _progress(err: TextIO):
    if not getattr(err, "isatty", lambda: False)():
        return None

    def report(p) -> None:
        err.write(f"\rmmspec: {p.distinct:,} states, {p.generated:,} transitions, "
                  f"depth {p.depth}   ")
        err.flush()
    return report


def _run(design: type[Allocator], scope: Scope, checks: Sequence[Check], args, err: TextIO
         ) -> tuple[Allocator, Result]:
    """Explore ``design`` once per effective scope (checks with ``Check.scope`` overrides
    run at the scope in use with their overrides applied) and combine the cells in check
    order. Statistics and coverage are summed over the explorations; ``_MODELS[id(cell)]``
    is the model a cell's trace belongs to."""
    groups: dict = {}
    for ck in checks:
        groups.setdefault(effective_scope(scope, ck), []).append(ck)
    cells: dict = {}
    parts = []
    for sc, cks in groups.items():
        model = design(sc)
        prog = _progress(err)
        r = explore(model, cks, max_states=args.max_states, time_limit=args.time_limit,
                    progress=prog)
        if prog is not None:
            err.write("\r" + " " * 70 + "\r")
        _timing(r, err)
        parts.append((model, r))
        for cell in r.cells:
            cells[cell.check.name] = cell
            _MODELS[id(cell)] = model
    if len(parts) == 1:
        return parts[0]
    from collections import Counter
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
    return EXIT_OK


def cmd_scope(args, out: TextIO, err: TextIO) -> int:
    _check_search_args(args)
    out.write(scope_from_args(args).to_toml())
    return EXIT_OK


def cmd_check(args, out: TextIO, err: TextIO) -> int:
    if bool(args.design) == bool(args.design_file):
        raise MmspecError("give exactly one of --design NAME or --design-file FILE "
                          "(see `mmspec list`)")
    design = (registry.get_design(args.design) if args.design
              else registry.load_design_file(args.design_file))
    checks = (registry.get_checks(args.check) if args.check
              else registry.checks(include_opt_in=args.all))
    _check_search_args(args)
    _check_output_path(getattr(args, 'json', None))
    scope = scope_from_args(args)
    model, r = _run(design, scope, checks, args, err)
    sc = _scope_cli(args)
    out.write(f"mmspec check: design {design.name} ({design.title})\n")
    out.write(f"Source: {design.source}\n")
    out.write("Zones: " + "; ".join(
        f"{z.label} {z.managed} pages, min/low/high {z.wmark[0]}/{z.wmark[1]}/{z.wmark[2]}"
        for z in model.layout) + "\n\n")
    code = EXIT_OK
    inconclusive = False
    for cell in r.cells:
        ck = cell.check
        line = f"{ck.name}: {cell.verdict.value}"
        if cell.verdict == Verdict.VIOLATED:
            assert cell.trace is not None
            line += f" ({_trace_desc(cell.trace)})"
            code = EXIT_VIOLATION
        elif cell.verdict == Verdict.HOLDS:
            line += f" (witness \"{ck.witness_doc}\" reached on {cell.witness_count} transitions)"
        elif cell.verdict == Verdict.VACUOUS:
            line += f" -- WARNING: witness \"{ck.witness_doc}\" never reached: the check tested nothing"
            inconclusive = True
        else:
            line += f" -- search incomplete ({r.stats.stop_reason}); not a proof"
            inconclusive = True
        missing = _missing_paths(r, ck)
        if missing and cell.verdict != Verdict.VIOLATED:
            line += f" -- INCONCLUSIVE: needed path(s) never fired: {', '.join(missing)}"
            inconclusive = True
        out.write(line + "\n")
    out.write("\nStatistics:\n")
    out.write("\n".join(stats_lines(r)) + "\n")
    out.write("\nCoverage (allocator paths, transitions on which they fired):\n")
    out.write("\n".join(coverage_lines(r)) + "\n")
    itf = []
    for cell in r.cells:
        if cell.verdict != Verdict.VIOLATED or cell.trace is None:
            continue
        repro = f"mmspec check --design {design.name} --check {cell.check.name}" + (
            f" {sc}" if sc else "")
        if args.design_file:
            repro = repro.replace(f"--design {design.name}", f"--design-file {args.design_file}")
        out.write("\n" + "=" * 78 + "\n")
        cm = _model_of(cell, model)
        out.write(render_trace(cm, cell.trace, title=(
            f"Counterexample to {cell.check.name} on {design.name} "
            f"({_trace_desc(cell.trace)}): {cell.check.title}"), reproduce=repro))
        itf.append(trace_to_itf(cm, cell.trace, {
            "description": f"counterexample to {cell.check.name} on {design.name}",
            "design": design.name, "check": cell.check.name, "source": "mmspec",
            "reproduce": repro, "scope": cm.scope.to_toml()}))
    if args.json:
        doc: Any = itf[0] if len(itf) == 1 else {"traces": itf}
        _atomic_write(args.json, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    if code == EXIT_OK and inconclusive:
        code = EXIT_INCONCLUSIVE
    return code


def cmd_compare(args, out: TextIO, err: TextIO) -> int:
    designs = ([registry.get_design(n) for n in args.design] if args.design
               else registry.designs())
    checks = (registry.get_checks(args.check) if args.check
              else registry.checks(include_opt_in=args.all))
    _check_search_args(args)
    _check_output_path(getattr(args, 'json', None))
    scope = scope_from_args(args)
    sc = _scope_cli(args)
    for d in designs:       # a design that cannot map the scope fails before any output
        d(scope)
    results: list[tuple[Allocator, Result]] = [
        _run(d, scope, checks, args, err) for d in designs]
    names = [m.name for m, _ in results]
    width = max(24, *(len(n) + 2 for n in names))
    cw = max(len(c.name) for c in checks) + 2
    out.write("mmspec compare: every design x every check at "
              + ("the default scope" if not sc else f"scope [{sc}]") + "\n\n")
    out.write(f"{'check':<{cw}}" + "".join(f"{n:<{width}}" for n in names) + "\n")
    out.write("-" * (cw + width * len(names)) + "\n")
    mismatch = inconclusive = False
    for ck in checks:
        row1 = f"{ck.name:<{cw}}"
        row2 = f"{'':<{cw}}"
        for m, r in results:
            cell = r.cell(ck.name)
            row1 += f"{_cell_text(r, ck):<{width}}"
            mark = _expect_mark(type(m), ck, cell.verdict)
            if _missing_paths(r, ck) and cell.verdict != Verdict.VIOLATED:
                mark = "INCONCLUSIVE (path)"
                inconclusive = True
            row2 += f"{mark:<{width}}"
            exp = registry.expected_verdict(type(m), ck)
            if not cell.verdict.conclusive:
                inconclusive = True
            elif exp is not None and exp != cell.verdict:
                mismatch = True
        out.write(row1.rstrip() + "\n" + row2.rstrip() + "\n")
    out.write("\nw = transitions on which the check's witness held (HOLDS is never vacuous)\n")
    open_cells = [f"{m.name} x {ck.name} ({r.cell(ck.name).verdict.value})"
                  for ck in checks for m, r in results
                  if not r.cell(ck.name).verdict.conclusive]
    if open_cells:
        out.write(f"inconclusive (exit 3): {', '.join(open_cells)}: the witness was never "
                  "reached or the search was cut, so these cells test nothing at this scope\n")
    out.write("\nStatistics:\n")
    for _, r in results:
        out.write("\n".join(stats_lines(r)) + "\n")
    doc: dict[str, Any] = {"scope": scope.to_toml(), "designs": names, "cells": []}
    for m, r in results:
        for cell in r.cells:
            entry: dict[str, Any] = {
                "design": m.name, "check": cell.check.name, "verdict": cell.verdict.value,
                "expected": (lambda e: e.value if e is not None else None)(
                    registry.expected_verdict(type(m), cell.check)),
                "witness_count": cell.witness_count,
                "trace_length": len(cell.trace) if cell.trace else None,
                "loop_start": cell.trace.loop_start if cell.trace else None,
                "stats": {"distinct": r.stats.distinct, "transitions": r.stats.generated,
                          "depth": r.stats.depth, "complete": r.stats.complete}}
            if cell.trace is not None:
                repro = f"mmspec check --design {m.name} --check {cell.check.name}" + (
                    f" {sc}" if sc else "")
                entry["trace"] = trace_to_itf(_model_of(cell, m), cell.trace, {
                    "design": m.name, "check": cell.check.name, "reproduce": repro})
            doc["cells"].append(entry)
    if not args.no_traces:
        for m, r in results:
            for cell in r.cells:
                if cell.verdict != Verdict.VIOLATED or cell.trace is None:
                    continue
                repro = f"mmspec check --design {m.name} --check {cell.check.name}" + (
                    f" {sc}" if sc else "")
                out.write("\n" + "=" * 78 + "\n")
                out.write(render_trace(_model_of(cell, m), cell.trace, title=(
                    f"{cell.check.name} on {m.name}: VIOLATED, {_trace_desc(cell.trace)}"),
                    reproduce=repro))
    if args.json:
        _atomic_write(args.json, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    if mismatch:
        return EXIT_VIOLATION
    return EXIT_INCONCLUSIVE if inconclusive else EXIT_OK


COMMANDS = {"list": cmd_list, "scope": cmd_scope, "check": cmd_check, "compare": cmd_compare}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run the CLI with ``argv``; returns the exit code. Testable without subprocesses."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        args = build_parser().parse_args(list(argv) if argv is not None else None)
        fn = COMMANDS.get(args.cmd) or getattr(args, "func")
        return fn(args, out, err)
    except (_UsageError, MmspecError) as exc:
        err.write(f"mmspec: error: {exc}\n")
        return EXIT_USAGE


def entrypoint() -> None:
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.stderr.write("mmspec: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
