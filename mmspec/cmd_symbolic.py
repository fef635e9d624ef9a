"""``mmspec bmc`` and ``mmspec prove``: the symbolic engine (z3: bounded model checking by
incremental deepening, k-induction) on one design and one check at a scope. The other
commands of the symbolic family are :mod:`mmspec.cmd_symbolic_fullscale` (``simulate``,
``claims``) and :mod:`mmspec.cmd_symbolic_parametric` (``parametric``); their commands are
importable from here too.

Exit codes: 0 PROVED (prove) / no counterexample is never 0 for bmc (BOUNDED -> 3);
1 VIOLATED; 2 bad input; 3 inconclusive (BOUNDED, UNKNOWN). Timings go to stderr.
"""

from __future__ import annotations

import time
from typing import TextIO

from . import registry
from .cliargs import _check_search_args, _scope_cli, check_degenerate, scope_from_args
from .clirun import reporter, search
from .cmd_symbolic_fullscale import (CLAIMS_LEGEND, cmd_claims, cmd_simulate,  # noqa: F401
                                     sim_rows)
from .cmd_symbolic_parametric import BFS_REPRODUCE_MAX_PAGES, cmd_parametric  # noqa: F401
from .errors import MmspecError
from .trace import render_trace

EXIT_OK, EXIT_VIOLATION, EXIT_INCONCLUSIVE = 0, 1, 3
_BMC_DEFAULT_DEPTH = 12


def register(subparsers, add_scope_args) -> None:
    p = subparsers.add_parser("bmc", help="bounded model checking with z3 (shortest "
                              "counterexample by incremental deepening)")
    p.add_argument("--design", required=True, metavar="NAME",
                   help="design name (see `mmspec list`)")
    p.add_argument("--check", required=True, metavar="NAME", help="check name")
    p.add_argument("--depth", type=int, default=_BMC_DEFAULT_DEPTH, metavar="N",
                   help="deepest unrolling (default 12)")
    add_scope_args(p, search=("time_limit",))
    p.set_defaults(func=cmd_bmc)
    q = subparsers.add_parser("prove", help="k-induction with z3: PROVED / VIOLATED / UNKNOWN")
    q.add_argument("--design", required=True, metavar="NAME",
                   help="design name (see `mmspec list`)")
    q.add_argument("--check", required=True, metavar="NAME", help="check name")
    q.add_argument("--max-k", type=int, default=6, metavar="N",
                   help="largest k tried, >= 1 (default 6)")
    q.add_argument("--show-invariants", action="store_true",
                   help="list the auxiliary invariants proved and used")
    add_scope_args(q)
    q.set_defaults(func=cmd_prove)


def _setup(args):
    from .check import effective_scope
    design = registry.get_design(args.design)
    check = registry.get_checks([args.check])[0]
    _check_search_args(args)
    scope = effective_scope(scope_from_args(args), check)    # with the check's own overrides
    check_degenerate(scope, [design], args.allow_degenerate)
    return design, check, design(scope)


def _bmc_command(args, design: str, check: str, length: int) -> str:
    """The `mmspec bmc` command that reproduces a counterexample of ``length`` steps (with
    the run's scope, and --depth if the default would stop short of it)."""
    sc = _scope_cli(args, search=False)
    depth = f" --depth {length}" if length > _BMC_DEFAULT_DEPTH else ""
    return f"mmspec bmc --design {design} --check {check}{depth}" + (f" {sc}" if sc else "")


def cmd_bmc(args, out: TextIO, err: TextIO) -> int:
    from .engine.bmc import bmc
    from .engine.lasso import bmc_lasso
    from .engine.unroll import symbolic_program
    if args.depth < 1:
        raise MmspecError(f"--depth must be >= 1, got {args.depth}")
    design, check, model = _setup(args)
    prog = symbolic_program(model, [check])      # refuses what the traced rules do not cover
    rep = reporter(args, err)
    t0 = time.perf_counter()
    depth = [1]

    def done(d: int, s: float) -> None:
        rep.line(f"bmc: depth {d} checked (no counterexample) in {s:.2f} s, "
                 f"{time.perf_counter() - t0:.1f} s in all")
        depth[0] = d + 1
    with rep.phase(f"bmc: {design.name} x {check.name}",
                   detail=lambda: f"solving depth {depth[0]} of at most {args.depth}"):
        run = bmc_lasso if getattr(check, "is_liveness", False) else bmc
        r = run(model, check, args.depth, time_limit=args.time_limit, progress=done, prog=prog)
    rep.line(f"bmc: solver time {time.perf_counter() - t0:.2f} s"
             + (f", {r.inlined} function calls inlined on demand" if r.inlined else ""))
    out.write(f"mmspec bmc: design {design.name}, check {check.name}\n")
    if r.verdict == "VIOLATED" and r.trace.loop_start is not None:
        stem, loop = r.trace.loop_start, r.depth - r.trace.loop_start
        what = (f"shortest lasso: {r.depth} steps, stem {stem} + loop {loop}, the loop back "
                "marked")
        out.write(f"{check.name}: VIOLATED ({what}; no lasso of 1..{r.depth - 1} steps)\n")
        out.write(f"Statistics: depth reached {r.depth}, lasso replayed through the explicit "
                  "step function\n\n")
        out.write(render_trace(model, r.trace, title=(
            f"Counterexample to {check.name} on {design.name} ({what}, found by z3 BMC): "
            f"{check.title}"), reproduce=_bmc_command(args, design.name, check.name, r.depth)))
        return EXIT_VIOLATION
    if r.verdict == "VIOLATED":
        assert r.trace is not None
        out.write(f"{check.name}: VIOLATED (shortest counterexample: {r.depth} steps; "
                  f"depths 1..{r.depth - 1} UNSAT)\n")
        out.write(f"Statistics: depth reached {r.depth}, trace replayed through the explicit "
                  "step function\n\n")
        out.write(render_trace(model, r.trace, title=(
            f"Counterexample to {check.name} on {design.name} ({r.depth} steps, shortest, "
            f"found by z3 BMC): {check.title}"),
            reproduce=_bmc_command(args, design.name, check.name, r.depth)))
        return EXIT_VIOLATION
    what = "lasso" if getattr(check, "is_liveness", False) else "counterexample"
    out.write(f"{check.name}: BOUNDED (no {what} of length <= {r.depth}; not a proof, "
              "see `mmspec prove`)\n")
    out.write(f"Statistics: depth reached {r.depth}\n")
    return EXIT_INCONCLUSIVE


def cmd_prove(args, out: TextIO, err: TextIO) -> int:
    from .engine.induction import prove
    from .engine.unroll import symbolic_program
    if args.max_k < 1:
        raise MmspecError(f"--max-k must be >= 1, got {args.max_k}")
    design, check, model = _setup(args)
    if getattr(check, "is_liveness", False):
        raise MmspecError(f"check {check.name} is a liveness check; prove takes safety checks "
                          "(for a lasso use `mmspec bmc` or `mmspec check`)")
    prog = symbolic_program(model, [check])      # refuses what the traced rules do not cover
    rep = reporter(args, err)
    t0 = time.perf_counter()
    # candidate invariants are harvested from a (possibly capped) breadth-first sample;
    # Houdini keeps only those that hold initially and are inductive, so none is assumed
    args.max_states = args.max_states or 200000
    sample = search(model, [check], args, err, f"prove: {design.name}: breadth-first sample",
                    keep_parents=True)
    obs = sorted(sample.parents, key=repr)
    with rep.phase(f"prove: {design.name} x {check.name}: Houdini, base case (BMC to k = "
                   f"{args.max_k}) and induction steps k = 1..{args.max_k}"):
        r = prove(model, check, max_k=args.max_k, observed=obs, prog=prog)
    rep.line(f"prove: {time.perf_counter() - t0:.2f} s (sample {len(obs)} states)")
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
            reproduce=_bmc_command(args, design.name, check.name, r.k)))
        return EXIT_VIOLATION
    return EXIT_OK if r.verdict == "PROVED" else EXIT_INCONCLUSIVE
