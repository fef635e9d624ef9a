"""``mmspec bmc`` and ``mmspec prove``: the symbolic engine on the command line.

Exit codes: 0 PROVED (prove) / no counterexample is never 0 for bmc (BOUNDED -> 3);
1 VIOLATED; 2 bad input; 3 inconclusive (BOUNDED, UNKNOWN). Timings go to stderr.
"""

from __future__ import annotations

import time
from typing import TextIO

from . import registry
from .errors import MmspecError
from .trace import render_trace

EXIT_OK, EXIT_VIOLATION, EXIT_INCONCLUSIVE = 0, 1, 3


def register(subparsers, add_scope_args) -> None:
    p = subparsers.add_parser("bmc", help="bounded model checking with z3 (shortest "
                              "counterexample by incremental deepening)")
    p.add_argument("--design", required=True, help="design name (see `mmspec list`)")
    p.add_argument("--check", required=True, help="check name")
    p.add_argument("--depth", type=int, default=12, help="deepest unrolling (default 12)")
    add_scope_args(p)
    p.set_defaults(func=cmd_bmc)
    q = subparsers.add_parser("prove", help="k-induction with z3: PROVED / VIOLATED / UNKNOWN")
    q.add_argument("--design", required=True, help="design name (see `mmspec list`)")
    q.add_argument("--check", required=True, help="check name")
    q.add_argument("--max-k", type=int, default=6, help="largest k tried (default 6)")
    q.add_argument("--show-invariants", action="store_true",
                   help="list the auxiliary invariants proved and used")
    add_scope_args(q)
    q.set_defaults(func=cmd_prove)


def _setup(args):
    from .cli import scope_from_args
    design = registry.get_design(args.design)
    check = registry.get_checks([args.check])[0]
    model = design(scope_from_args(args))
    return design, check, model


def cmd_bmc(args, out: TextIO, err: TextIO) -> int:
    from .symbolic import bmc
    if args.depth < 1:
        raise MmspecError(f"--depth must be >= 1, got {args.depth}")
    design, check, model = _setup(args)
    t0 = time.perf_counter()
    r = bmc(model, check, args.depth, time_limit=args.time_limit,
            progress=lambda d, s: err.write(f"bmc: depth {d} checked in {s:.2f} s\n"))
    err.write(f"bmc: solver time {time.perf_counter() - t0:.2f} s\n")
    out.write(f"mmspec bmc: design {design.name}, check {check.name}\n")
    if r.verdict == "VIOLATED":
        assert r.trace is not None
        out.write(f"{check.name}: VIOLATED (shortest counterexample: {r.depth} steps; "
                  f"depths 1..{r.depth - 1} UNSAT)\n")
        out.write(f"Statistics: depth reached {r.depth}, trace replayed through the explicit "
                  "step function\n\n")
        out.write(render_trace(model, r.trace, title=(
            f"Counterexample to {check.name} on {design.name} ({r.depth} steps, shortest, "
            f"found by z3 BMC): {check.title}"),
            reproduce=f"mmspec bmc --design {design.name} --check {check.name}"))
        return EXIT_VIOLATION
    out.write(f"{check.name}: BOUNDED (no counterexample of length <= {r.depth}; not a proof, "
              "see `mmspec prove`)\n")
    out.write(f"Statistics: depth reached {r.depth}\n")
    return EXIT_INCONCLUSIVE


def cmd_prove(args, out: TextIO, err: TextIO) -> int:
    from .explore import explore
    from .symbolic import prove
    design, check, model = _setup(args)
    t0 = time.perf_counter()
    # candidate invariants are harvested from a (possibly capped) breadth-first sample;
    # Houdini keeps only those that hold initially and are inductive, so none is assumed
    sample = explore(model, [check], keep_parents=True,
                     max_states=args.max_states or 200000, time_limit=args.time_limit)
    obs = sorted(sample.parents, key=repr)
    r = prove(model, check, max_k=args.max_k, observed=obs)
    err.write(f"prove: {time.perf_counter() - t0:.2f} s (sample {len(obs)} states)\n")
    out.write(f"mmspec prove: design {design.name}, check {check.name}\n")
    line = f"{check.name}: {r.verdict} (k = {r.k})"
    if r.verdict == "PROVED":
        line += (f" for every depth, with {len(r.invariants)} auxiliary invariants, each proved "
                 f"(initial + inductive); {r.dropped} candidates refuted")
    elif r.note:
        line += f" -- {r.note}; not a proof"
    out.write(line + "\n")
    if args.show_invariants:
        out.write("Auxiliary invariants:\n" + "".join(f"  {n}\n" for n in r.invariants))
    if r.verdict == "VIOLATED":
        assert r.trace is not None
        out.write("\n" + render_trace(model, r.trace, title=(
            f"Counterexample to {check.name} on {design.name} ({r.k} steps, shortest)"),
            reproduce=f"mmspec bmc --design {design.name} --check {check.name}"))
        return EXIT_VIOLATION
    return EXIT_OK if r.verdict == "PROVED" else EXIT_INCONCLUSIVE
