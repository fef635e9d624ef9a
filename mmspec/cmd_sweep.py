"""``mmspec sweep``: the smallest scope at which each violation first appears.

The scope in effect (the default scope, or ``--scope``/overrides) is the top of a ladder of
smaller scopes: the zone that holds the CMA pageblocks keeps its first ``i`` ordinary and
first ``j`` CMA pageblocks (``i``, ``j`` >= 1) and every request limit is capped at ``k``.
Rungs are ordered by size: pageblocks ``i + j``, then the cap ``k``, then ``i``, ``j``. The
sweep first explores the full scope to learn which cells are VIOLATED, then climbs the
ladder from the bottom and reports, per violated (design, check) cell, the first rung on
which it is VIOLATED, with the counterexample length there and a command that reproduces
it. Only designs with cells still unanswered are explored on each rung.

Output is deterministic; timings go to standard error. Exit code 0 (every violated cell
located; the full scope is always a rung), 3 if a rung was cut by a search limit.
"""

from __future__ import annotations

import argparse
import copy
import shlex
import time
from typing import TextIO

from . import registry
from .check import Verdict
from .vocab import GFP_CLASSES, MT_SHORT, Migratetype

__all__ = ["register", "cmd_sweep", "ladder"]

_CLI_CLASS = {0: "GFP_ATOMIC", 1: "GFP_KERNEL", 2: "GFP_HIGHUSER_MOVABLE", 3: "BLOCKDEV",
              4: "SLAB"}


def register(subparsers, add_scope_args) -> None:
    p = subparsers.add_parser("sweep", help="smallest scope at which each violation first "
                              "appears (grows pageblocks and request limits)")
    p.add_argument("--design", action="append", metavar="NAME", help="restrict to these "
                   "designs (repeatable)")
    p.add_argument("--check", action="append", metavar="NAME", help="restrict to these checks "
                   "(repeatable)")
    add_scope_args(p)
    p.set_defaults(func=cmd_sweep)


def ladder(scope) -> list[tuple[str, tuple[str, ...], tuple[int, ...], int]]:
    """Rungs below and including ``scope``: ``(zone label, pageblock letters, limits, pbs)``
    in ascending size order; the last rung is ``scope`` itself."""
    zone = next((z for z in scope.zones if Migratetype.MIGRATE_CMA in z.pageblocks), None)
    if zone is None:
        from .errors import ScopeError
        raise ScopeError("sweep: the scope has no CMA pageblocks to sweep over; add CMA "
                         "pageblocks to a zone (e.g. --pageblocks Normal=U,M,C)")
    ordinary = [b for b in zone.pageblocks if b != Migratetype.MIGRATE_CMA]
    cma = [b for b in zone.pageblocks if b == Migratetype.MIGRATE_CMA]
    top = max(scope.limits)
    rungs = []
    for i in range(1 if ordinary else 0, len(ordinary) + 1):
        for j in range(1, len(cma) + 1):
            for k in range(1, top + 1):
                rungs.append((i + j, k, i, j))
    rungs.sort()
    out = []
    for _, k, i, j in rungs:
        if (i, j, k) == (len(ordinary), len(cma), top):
            continue            # the full scope itself, appended last in its own order
        blocks = tuple(MT_SHORT[b] for b in ordinary[:i] + cma[:j])
        limits = tuple(min(lim, k) for lim in scope.limits)
        out.append((zone.zone_type.label, blocks, limits, i + j))
    out.append((zone.zone_type.label, tuple(MT_SHORT[b] for b in zone.pageblocks),
                tuple(scope.limits), len(zone.pageblocks)))
    return out


def _rung_args(args: argparse.Namespace, rung) -> argparse.Namespace:
    label, blocks, limits, _ = rung
    a = copy.copy(args)
    a.pageblocks = list(args.pageblocks or ()) + [f"{label}={','.join(blocks)}"]
    a.limit = list(args.limit or ()) + [f"{_CLI_CLASS.get(i, GFP_CLASSES[i].name)}={n}"
                                        for i, n in enumerate(limits)]
    return a


def _rung_text(rung) -> str:
    label, blocks, limits, _ = rung
    lim = ",".join(str(n) for n in limits)
    return f"{label}={','.join(blocks)} limits={lim}"


def _rung_cli(rung) -> str:
    label, blocks, limits, _ = rung
    out = ["--pageblocks", f"{label}={','.join(blocks)}"]
    for i, n in enumerate(limits):
        out += ["--limit", f"{_CLI_CLASS.get(i, GFP_CLASSES[i].name)}={n}"]
    return " ".join(shlex.quote(x) for x in out)


def cmd_sweep(args, out: TextIO, err: TextIO) -> int:
    from .cli import (_check_search_args, _scope_cli, _unique, check_degenerate, search,
                      scope_from_args)
    _unique(args.design, "--design")
    _unique(args.check, "--check")
    designs = ([registry.get_design(n) for n in args.design] if args.design
               else registry.designs())
    checks = registry.get_checks(args.check)
    _check_search_args(args)
    base = scope_from_args(args)
    check_degenerate(base, designs, args.allow_degenerate)
    rungs = ladder(base)
    t0 = time.perf_counter()
    cut = False
    # 1. the full scope: which cells are violated
    full: dict = {}
    for d in designs:
        r = search(d(base), checks, args, err, f"sweep: {d.name} (full scope)")
        cut |= not r.stats.complete
        for cell in r.cells:
            if cell.verdict == Verdict.VIOLATED:
                full[(d.name, cell.check.name)] = cell
    first: dict = {}
    explored = 0
    # 2. climb the ladder
    for n, rung in enumerate(rungs):
        todo = [(d, [c for c in checks if (d.name, c.name) in full
                     and (d.name, c.name) not in first]) for d in designs]
        todo = [(d, cs) for d, cs in todo if cs]
        if not todo:
            break
        if n == len(rungs) - 1:
            for d, cs in todo:
                for c in cs:
                    first[(d.name, c.name)] = (n, full[(d.name, c.name)])
            break
        scope = scope_from_args(_rung_args(args, rung))
        for d, cs in todo:
            r = search(d(scope), cs, args, err, f"sweep: {d.name} at {_rung_text(rung)}",
                       summary=False)
            explored += 1
            cut |= not r.stats.complete
            for cell in r.cells:
                if cell.verdict == Verdict.VIOLATED:
                    first[(d.name, cell.check.name)] = (n, cell)
    err.write(f"mmspec: sweep: {explored} explorations below the full scope in "
              f"{time.perf_counter() - t0:.2f} s\n")
    sc = _scope_cli(args)
    out.write("mmspec sweep: smallest scope at which each violation first appears\n")
    out.write(f"Full scope: {'the default scope' if not sc else sc}; ladder of {len(rungs)} "
              "scopes (CMA zone's ordinary x CMA pageblocks, request limits capped at k);\n"
              f"limits are in the order {', '.join(_CLI_CLASS.get(i, c.name) for i, c in enumerate(GFP_CLASSES))}\n\n")
    if not full:
        out.write("No violated cell at the full scope.\n")
        return 3 if cut else 0
    cw = max(len(c) for _, c in full) + 2
    dw = max(len(d) for d, _ in full) + 2
    out.write(f"{'check':<{cw}}{'design':<{dw}}{'first VIOLATED at':<40}{'length':<14}full scope\n")
    out.write("-" * (cw + dw + 40 + 14 + 16) + "\n")
    order = {c.name: i for i, c in enumerate(checks)}
    dorder = {d.name: i for i, d in enumerate(designs)}
    for key in sorted(full, key=lambda k: (order[k[1]], dorder[k[0]])):
        n, cell = first[key]
        fc = full[key]
        out.write(f"{key[1]:<{cw}}{key[0]:<{dw}}{_rung_text(rungs[n]):<40}"
                  f"{_len(cell):<14}{_len(fc)}\n")
    out.write("\nReproduce a cell at its smallest scope:\n")
    for key in sorted(full, key=lambda k: (order[k[1]], dorder[k[0]])):
        n, _ = first[key]
        out.write(f"  mmspec check --design {key[0]} --check {key[1]} {_rung_cli(rungs[n])}\n")
    return 3 if cut else 0


def _len(cell) -> str:
    tr = cell.trace
    if tr.loop_start is not None:
        return f"lasso {tr.loop_start}+{len(tr) - tr.loop_start}"
    return f"{len(tr)} steps"
