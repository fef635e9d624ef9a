"""``mmspec compare``: every design (or those given, plus ``--design-file`` rows) x every
check: the verdict matrix judged against the expectations recorded for the scope, the
statistics and the counterexamples (``--json``: the matrix with traces as JSON). Exit 0 all
as expected, 1 a verdict that differs from its expectation, 3 inconclusive (see
:mod:`mmspec.cli`).
"""

from __future__ import annotations

import json
import shlex
from typing import Any, TextIO

from . import registry
from .check import Verdict
from .cliargs import (EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION, _scope_cli, _scope_label,
                      _unique)
from .clirun import _count, _Discard, _model_of, _repro, _wrap, prepare, stats_lines
from .errors import MmspecError
from .kernel import Allocator
from .matrix import cell_text, judge_cells, legend_lines, matrix_lines, missing_paths, trace_text
from .scope import named_scopes, scope_names
from .trace import render_trace, trace_to_itf

__all__ = ["cmd_compare"]


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
    checks, target, scope = prepare(args, [d for d, _ in rows], err)
    sc = _scope_cli(args)
    from . import cli       # _run is looked up there: tests replace mmspec.cli._run
    results = [cli._run(d, scope, checks, args, err) for d, _ in rows]
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
