"""``mmspec import DIR|TARBALL``: a machine's /proc and /sys files -> scope files.

Writes the machine at full scale (``--full FILE``, default standard output; for
``simulate``, ``claims`` with ``--scope``) and, with ``--scaled FILE``, a scaled-down scope
for exhaustive search (``--unit``: real pages per model page, e.g. ``pageblock`` or ``64M``;
the rounding rule is stated in the file). Both files are complete scopes (``complete =
true``: exactly the machine's zones, nothing merged from the default scope) with a
``[machine]`` table of what the model does not use (:mod:`mmspec.machine.importer`).
Exit 0, or 2 for bad input (one line naming file and line).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TextIO

__all__ = ["register", "cmd_import"]


def register(subparsers, add_scope_args) -> None:
    p = subparsers.add_parser("import", help="read a machine's /proc and /sys files (a "
                              "directory or tarball) and write scope files",
                              description="Write a machine's zones as scope files for "
                              "`--scope FILE`. Both files are complete scopes (complete = "
                              "true: exactly the machine's zones, nothing taken from the "
                              "default scope); what the model does not use (kernel version, "
                              "free counts, highatomic reserve, tunables, CMA areas) is kept "
                              "in their [machine] table, shown by `mmspec scope --scope FILE`.")
    p.add_argument("source", metavar="DIR|TARBALL", help="copies of /proc/zoneinfo, "
                   "pagetypeinfo, buddyinfo, meminfo, vmstat, /proc/sys/vm/*, /sys/kernel/mm/cma/*")
    p.add_argument("--full", metavar="FILE", default="-",
                   help="write the full-scale scope here (- : standard output, the default)")
    p.add_argument("--scaled", metavar="FILE", help="also write a scaled-down scope for "
                   "exhaustive search (- : standard output)")
    p.add_argument("--unit", metavar="UNIT",
                   help="with --scaled: real memory per model page of the scaled scope: "
                   "'pageblock' (default), a page count (e.g. 4096) or a size (e.g. 64M, 1G)")
    p.add_argument("--node", type=int, default=0, metavar="N",
                   help="NUMA node to import (default 0)")
    p.set_defaults(func=cmd_import)


def _unit(text: str, ppb: int, page_kb: int = 4) -> Fraction:
    from .errors import MmspecError
    t = text.strip()
    if t == "pageblock":
        return Fraction(ppb)
    m = re.fullmatch(r"(\d+)([KMGkmg])?", t)
    if not m or int(m.group(1)) <= 0:
        raise MmspecError(f"--unit {text!r}: give 'pageblock', a page count or a size like 64M")
    if not m.group(2):
        return Fraction(int(m.group(1)))
    kb = int(m.group(1)) * {"k": 1, "m": 1024, "g": 1 << 20}[m.group(2).lower()]
    return Fraction(kb, page_kb)


def cmd_import(args, out: TextIO, err: TextIO) -> int:
    from .errors import MmspecError
    from .machine.importer import machine_scopes, read_source
    from .machine.outfile import emit, target
    from .machine.procfs import parse_files
    if args.node < 0:
        raise MmspecError(f"--node must be >= 0, got {args.node}")
    if args.unit is not None and args.scaled is None:
        raise MmspecError("--unit sets the scale of --scaled FILE; give --scaled too")
    _unit(args.unit or "pageblock", 512)        # a bad --unit is an error before any work
    if args.scaled == "-" and args.full == "-":
        raise MmspecError("--full and --scaled cannot both be standard output; give --full FILE")
    fo = target(args.full, "--full")
    so = target(args.scaled, "--scaled")
    m = parse_files(read_source(args.source))
    if not m.files:
        raise MmspecError(f"{args.source}:0: no /proc or /sys file recognised (expected "
                          "zoneinfo, pagetypeinfo, buddyinfo, meminfo, vmstat, sys/vm/*, "
                          "mm/cma/<area>/*)")
    unit = _unit(args.unit or "pageblock", m.pages_per_block or 512) if args.scaled else None
    full, small, summary = machine_scopes(m, args.node, unit)
    for lab, z in summary["zones"].items():
        err.write(f"mmspec: import: {z['kernel_zone']} -> {lab}: {z['pageblocks']} pageblocks, "
                  f"{z['cma_pageblocks']} CMA, marks {z['watermarks']}\n")
    emit(fo, full, out)
    if so is not None and small is not None:
        emit(so, small, out)
    return 0
