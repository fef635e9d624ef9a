"""``mmspec diagnose REPORT``: explain a pasted "page allocation failure" report.

Prints the request decoded, the watermark arithmetic per zone of its zonelist for the kernel
generation the report's format implies (and what it would be with free CMA counted),
kswapd's view, per-CPU pages, a classification with its evidence line, the mmspec check the
failure instantiates and, for CMA-related failures, that check's verdict for every design
on a scope with the report's proportions (with the shortest trace for the machine's own
design). ``--json FILE`` writes all of it. Exit 0 (diagnosed), 2 (bad input); a cut search
is reported BOUNDED and exits 3.
"""

from __future__ import annotations

import json
import time
from typing import Any, TextIO

__all__ = ["register", "cmd_diagnose"]


def register(subparsers, add_scope_args) -> None:
    p = subparsers.add_parser("diagnose", help="explain a pasted page allocation failure "
                              "report (v4.x..v6.19): arithmetic, classification, designs")
    p.add_argument("report", metavar="REPORT", help="the report (dmesg excerpt); - for stdin")
    p.add_argument("--json", metavar="FILE", help="write the whole diagnosis as JSON "
                   "(- : to standard output, instead of the report)")
    p.add_argument("--kernel", metavar="VERSION", help="the kernel version, if the format "
                   "alone does not pin it (e.g. 5.10)")
    p.add_argument("--design", action="append", metavar="NAME",
                   help="compare only these designs (repeatable; default: every design)")
    p.add_argument("--no-explore", action="store_true", help="skip the design comparison")
    p.add_argument("--scaled-pageblocks", type=int, default=5, metavar="N",
                   help="pageblocks of the scaled-down zone the designs run on (2..12; "
                   "default 5, as the default scope)")
    p.add_argument("--max-states", type=int, default=300000, metavar="N",
                   help="state cap per design (default 300000; a cut search is BOUNDED)")
    p.add_argument("--time-limit", type=float, default=30.0, metavar="SECONDS",
                   help="time limit per design (default 30; a cut search is BOUNDED)")
    p.set_defaults(func=cmd_diagnose)


def _read(path: str) -> tuple[str, bytes]:
    """The report's bytes: a regular file, or standard output of another command with ``-``
    (a FIFO or device path is refused before it is opened: it could block or never end)."""
    import os
    import stat
    import sys
    from .errors import MmspecError
    from .machine.text import special_kind
    if path == "-":
        return "<stdin>", sys.stdin.buffer.read(64 << 20)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise MmspecError(f"{path}:0: is a directory; give the report file")
        if not stat.S_ISREG(mode):
            raise MmspecError(f"{path}:0: is {special_kind(mode)}, not a file; pipe the report "
                              "in instead: ... | mmspec diagnose -")
        with open(path, "rb") as fh:
            return path, fh.read(64 << 20)
    except OSError as exc:
        raise MmspecError(f"{path}:0: cannot read: {exc.strerror or exc}") from None


def cmd_diagnose(args, out: TextIO, err: TextIO) -> int:
    from .errors import MmspecError
    from .machine.designs import report_scope, run_designs
    from .machine.diagnose import diagnose
    from .machine.outfile import emit, target
    from .machine.report import parse_report
    from .machine.text import parse_version
    if args.max_states < 1 or not args.time_limit > 0 or not 2 <= args.scaled_pageblocks <= 12:
        raise MmspecError("need --max-states >= 1, --time-limit > 0 and 2 <= --scaled-pageblocks "
                          "<= 12")
    kernel = parse_version(args.kernel) if args.kernel else None
    if args.design:
        from . import registry
        for n in args.design:
            registry.get_design(n)
    jt = target(args.json, "--json")
    name, data = _read(args.report)
    t0 = time.perf_counter()
    d = diagnose(parse_report(name, data), kernel)
    lines = _render(d)
    doc = _doc(d)
    runs: list = []
    code = 0
    if d.cma_related and d.check and not args.no_explore:
        scope, notes = report_scope(d, args.scaled_pageblocks)
        runs = run_designs(d, scope, args.design, args.max_states, args.time_limit, err)
        lines += _render_runs(d, runs, notes)
        doc["designs"] = {"scope": scope, "scope_notes": notes, "runs": [
            {k: v for k, v in vars(r).items() if k != "trace_text"} for r in runs]}
        if any(r.verdict == "BOUNDED" for r in runs):
            code = 3
    elif d.check and not d.cma_related:
        lines += ["", "Designs: not compared. The failure is not CMA-related and the mmspec "
                  "designs differ only in where CMA memory lives."]
    elif not args.no_explore and d.check is None:
        lines += ["", "Designs: not compared (no check concerns this request)."]
    err.write(f"mmspec: diagnose: {time.perf_counter() - t0:.2f} s\n")
    text = "\n".join(lines) + "\n"
    if jt is not None:
        emit(jt, json.dumps(doc, indent=1, sort_keys=True) + "\n", out)
    if jt is None or not _is_stdout(jt):
        out.write(text)
    return code


def _is_stdout(handle) -> bool:
    return getattr(handle, "is_stdout", None) is True or (
        isinstance(handle, tuple) and handle[1] is None)


def _render(d) -> list[str]:
    rep, req, gen = d.report, d.request, d.gen
    from .machine.rules import fast_flags, slow_flags
    L = [f"mmspec diagnose: {rep.name}", "",
         f"Failure (line {rep.fail_line}): {rep.comm}: order {rep.order}, mode {rep.mode:#x}"
         f"({rep.names or '?'})",
         f"Kernel: the format implies {rep.version}; arithmetic with the {gen.name} rules "
         f"({gen.lo[0]}.{gen.lo[1]}..{gen.hi[0]}.{gen.hi[1]}; verified in {gen.verified})"]
    L += [f"  evidence: {e}" for e in rep.version.evidence]
    L += [f"  {n}" for n in d.gen_notes]
    L += ["", "Request:",
          f"  flags: {' '.join('__GFP_' + f for f in sorted(req.flags)) or 'none'}",
          f"  mmspec class: {req.mmspec_class} ({req.class_note})",
          f"  migratetype {req.migratetype}, highest zone {req.highest_zone}, zonelist "
          f"{' > '.join(z.name for z in d.zonelist)}, classzone index {d.classzone}",
          f"  fast path alloc_flags: {'|'.join(fast_flags(gen, req))}",
          f"  slow path alloc_flags: {'|'.join(slow_flags(gen, req))}",
          "  " + ("may enter direct reclaim" if req.direct_reclaim else
                  "no __GFP_DIRECT_RECLAIM: fails after one MIN-mark attempt, no reclaim")]
    L += ["", "Watermarks (pages; __zone_watermark_ok at the request's mark, as printed):"]
    for z in d.zonelist:
        L.append(f"  {z.name}: fast path  {d.fast[z.name].text()}")
        L.append(f"  {' ' * len(z.name)}  slow path  {d.slow[z.name].text()}")
        if z.free_cma:
            L.append(f"  {' ' * len(z.name)}  CMA counted {d.whatif['cma'][z.name].text()}")
    L += ["", f"Classification: {d.classification}: {d.title}", f"  evidence: {d.evidence}"]
    L += [f"  also: {a}" for a in d.also]
    L += ["  CMA-related: " + ("yes" if d.cma_related else "no" + (
        " (the machine has CMA memory, but counting it would not have made this request "
        "succeed)" if d.cma_machine else " (no CMA memory in the report)"))]
    bal = "balanced" if d.kswapd_balanced else "NOT balanced: kswapd should have been awake"
    L += ["", f"kswapd (its balance test ignores free CMA): node {bal}"]
    L += [f"  {x}" for x in d.kswapd_lines]
    if d.kswapd_balanced != d.kswapd_balanced_with_cma:
        L.append("  with free CMA counted the node would be balanced")
    if any(rep.node_unreclaimable.values()):
        L.append("  all_unreclaimable? yes: kswapd has given up on this node and is not woken")
    L.append("  an order-0 GFP_HIGHUSER_MOVABLE request now (fast path, ALLOC_CMA): " + (
        "passes, so movable allocations do not enter the slow path and do not wake kswapd"
        if d.movable_passes else "fails and would wake kswapd"))
    L += [f"    {x}" for x in d.movable_fast]
    L += ["", "Per-CPU lists:"] + [f"  {x}" for x in d.pcp or ["  none reported"]]
    L += ["", f"mmspec check: {d.check or 'none'}: {d.check_note}"]
    if d.notes:
        L += ["", "Notes:"] + [f"  {n}" for n in d.notes]
    return L


def _render_runs(d, runs, notes) -> list[str]:
    L = ["", f"Designs: {d.check} on a scope with the report's proportions"]
    L += [f"  {n}" for n in notes]
    w = max(len(r.design) for r in runs) + 2
    own = d.gen.design
    for r in runs:
        extra = "  (the machine's design)" if r.design == own else ""
        L.append(f"  {r.design:<{w}}{r.cell():<22}{r.states} states"
                 f"{'' if r.complete else ', search cut'}{extra}")
    holds = [r.design for r in runs if r.verdict == "HOLDS"]
    L.append(f"  unreachable (HOLDS, complete search) under: {', '.join(holds) or 'none'}")
    bounded = [r.design for r in runs if r.verdict == "BOUNDED"]
    if bounded:
        L.append(f"  BOUNDED (search cut by the state cap or time limit; not a proof): "
                 f"{', '.join(bounded)}")
    mine = next((r for r in runs if r.design == own), None)
    if mine is not None and mine.trace_text:
        L += ["", "=" * 78, mine.trace_text.rstrip()]
    elif mine is not None:
        L.append(f"  {own} does not reach it at this scope ({mine.cell()}); the scope may be "
                 "too small: try --scaled-pageblocks 6 or the reproduce command with larger limits")
    return L


def _doc(d) -> dict[str, Any]:
    rep = d.report

    def chk(c):
        return {"ok": c.ok, "free": c.free, "add": dict(c.add), "subtract": dict(c.subtract),
                "mark": c.mark_name, "mark_pages": c.mark, "mark_after_reserves": c.m,
                "lowmem_reserve": c.reserve, "block_ok": c.order_ok, "text": c.text()}
    return {
        "report": rep.name, "failure_line": rep.fail_line, "comm": rep.comm, "order": rep.order,
        "mode": rep.mode, "mode_names": rep.names, "page_kbytes": rep.page_kb,
        "kernel": {"range": [f"{v[0]}.{v[1]}" for v in (rep.version.lo, rep.version.hi)],
                   "evidence": list(rep.version.evidence), "rules": d.gen.name,
                   "other_rules": d.gen_notes},
        "request": {"flags": sorted(d.request.flags), "mmspec_class": d.request.mmspec_class,
                    "class_note": d.request.class_note, "migratetype": d.request.migratetype,
                    "highest_zone": d.request.highest_zone, "classzone_index": d.classzone,
                    "zonelist": [z.name for z in d.zonelist]},
        "zones": {z.name: {"fast": chk(d.fast[z.name]), "slow": chk(d.slow[z.name]),
                           **{f"if_{k}": chk(v[z.name]) for k, v in d.whatif.items()}}
                  for z in d.zonelist},
        "classification": d.classification, "title": d.title, "evidence": d.evidence,
        "also": d.also, "cma_related": d.cma_related, "cma_machine": d.cma_machine,
        "kswapd": {"balanced": d.kswapd_balanced, "balanced_with_cma": d.kswapd_balanced_with_cma,
                   "lines": d.kswapd_lines, "movable_fast_path_passes": d.movable_passes,
                   "movable_lines": d.movable_fast},
        "per_cpu": d.pcp, "check": d.check, "check_note": d.check_note, "notes": d.notes,
    }
