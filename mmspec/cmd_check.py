"""``mmspec check --design NAME|--design-file FILE``: explore one design (once per effective
scope of its checks) and report each check's verdict, the statistics, the coverage of the
allocator paths and every counterexample (``--json``: as ITF JSON). Exit 0 all hold, 1 a
violation, 3 inconclusive (see :mod:`mmspec.cli`).
"""

from __future__ import annotations

import json
import shlex
from typing import Any, TextIO

from . import registry
from .check import Verdict
from .cliargs import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION, _scope_cli
from .clirun import (_Discard, _model_of, _repro, _Wrapped, coverage_lines, prepare,
                     stats_lines)
from .errors import MmspecError
from .kernel import Allocator
from .matrix import missing_paths, trace_text
from .trace import render_trace, trace_to_itf

__all__ = ["cmd_check"]


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
    checks, target, scope = prepare(args, [design], err)
    from . import cli       # _run is looked up there: tests replace mmspec.cli._run
    model, r = cli._run(design, scope, checks, args, err)
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
