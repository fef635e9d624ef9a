"""``mmspec bmc``, ``mmspec prove``, ``mmspec simulate``, ``mmspec claims``: the symbolic
engine and the full-scale claims on the command line.

Exit codes: 0 PROVED (prove) / no counterexample is never 0 for bmc (BOUNDED -> 3);
1 VIOLATED; 2 bad input; 3 inconclusive (BOUNDED, UNKNOWN). Timings go to stderr.
"""

from __future__ import annotations

import time
from typing import TextIO

from . import registry
from .errors import MmspecError
from .trace import render_trace


def reporter(args, err: TextIO):
    """The run's progress reporter (:func:`mmspec.cli.reporter`)."""
    from .cli import reporter as _reporter
    return _reporter(args, err)

EXIT_OK, EXIT_VIOLATION, EXIT_INCONCLUSIVE = 0, 1, 3


def register(subparsers, add_scope_args) -> None:
    p = subparsers.add_parser("bmc", help="bounded model checking with z3 (shortest "
                              "counterexample by incremental deepening)")
    p.add_argument("--design", required=True, metavar="NAME",
                   help="design name (see `mmspec list`)")
    p.add_argument("--check", required=True, metavar="NAME", help="check name")
    p.add_argument("--depth", type=int, default=12, metavar="N",
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
    s = subparsers.add_parser("simulate", help="full-scale simulation (1 GiB, 512 MiB CMA) of "
                              "a movable-heavy workload through the explicit step function")
    _full_scale_args(s)
    s.set_defaults(func=cmd_simulate)
    _register_claims(subparsers)
    _register_parametric(subparsers)


def _full_scale_args(p) -> None:
    """The options of simulate and claims: designs, memory and the workload."""
    p.add_argument("--design", action="append", metavar="NAME", help="design (repeatable; "
                   "default migrate_cma and zone_cma)")
    p.add_argument("--ratio", type=int, default=15, metavar="N", help="movable requests per "
                   "GFP_KERNEL request in each cycle (default 15)")
    p.add_argument("--kswapd-every", type=int, default=1, metavar="N", help="simulation: "
                   "kswapd takes one step after every N allocations while awake (default 1)")
    p.add_argument("--allocations", type=int, default=524288, metavar="N",
                   help="allocations simulated (default 524288 = 2 x the default zone; "
                   "claims: also the most movable allocations of its atomic-failure run)")
    g = p.add_argument_group("full-scale memory (default: 1 GiB, 512 MiB CMA, 4 KiB pages)")
    g.add_argument("--pages", type=int, default=262144, metavar="N",
                   help="pages of memory (default 262144)")
    g.add_argument("--cma-pages", type=int, default=131072, metavar="N",
                   help="of which CMA (default 131072)")
    g.add_argument("--pages-per-pageblock", type=int, default=512, metavar="N",
                   help="pages in a pageblock, a power of two >= 2 (default 512)")
    g.add_argument("--unmovable-pageblocks", type=int, default=0, metavar="N",
                   help="MIGRATE_UNMOVABLE pageblocks at boot (default 0: v4.6 marks all MOVABLE)")
    g.add_argument("--cma-in-boot-basis", choices=("design", "true", "false"), default="design",
                   help="CMA pages managed when the watermarks are derived (default: the "
                   "design's own boot order: migrate_cma false, zone_cma true)")
    g.add_argument("--scope", metavar="FILE", help="a full-scale scope file (`mmspec import`): "
                   "your machine's zones, CMA and watermarks instead of the options above")


def _full_scale(args):
    from .simulate import FullScale
    if args.scope:
        from .machine.fullscale import full_scale_of
        return full_scale_of(args.scope)
    if args.pages_per_pageblock is None or args.pages_per_pageblock < 2:
        raise MmspecError("--pages-per-pageblock must be a power of two >= 2")
    cib = {"design": None, "true": True, "false": False}[args.cma_in_boot_basis]
    fs = FullScale(pages=args.pages, cma_pages=args.cma_pages,
                   pages_per_pageblock=args.pages_per_pageblock,
                   unmovable_pageblocks=args.unmovable_pageblocks, cma_in_boot_basis=cib)
    fs.check()
    return fs


def _designs(args) -> list:
    from .cli import _unique
    _unique(args.design, "--design")
    return [registry.get_design(d) for d in (args.design or ["migrate_cma", "zone_cma"])]


def _mib(fs, pages: int) -> str:
    return f"{fs.mib(pages):.1f} MiB ({pages})"


def _wm(r) -> str:
    top = r.wmarks[-1][0]       # the reserve shown is against the design's highest zone
    return ", ".join(f"{lab} {w[0]}/{w[1]}/{w[2]}"
                     + (f" +lowmem_reserve[{top}] {lr}" if lr else "")
                     for lab, _, w, lr in r.wmarks)


def _table(out: TextIO, names: list[str], rows: list[tuple[str, list[str]]]) -> None:
    w0 = max(len(r[0]) for r in rows) + 2
    ws = [max([len(n)] + [len(r[1][i]) for r in rows]) + 2 for i, n in enumerate(names)]
    out.write(" " * w0 + "".join(n.ljust(w) for n, w in zip(names, ws)).rstrip() + "\n")
    for label, cells in rows:
        out.write(label.ljust(w0) + "".join(c.ljust(w) for c, w in zip(cells, ws)).rstrip() + "\n")


def _describe_memory(out: TextIO, fs) -> None:
    if fs.scope is not None:
        zones = ", ".join(z.zone_type.label for z in fs.scope.zones if z.pageblocks)
        out.write(f"memory: imported scope, {fs.mib(fs.pages):.0f} MiB ({fs.pages} pages of "
                  f"{fs.page_kbytes} KiB) in {zones}, CMA {fs.mib(fs.cma_pages):.0f} MiB ({fs.cma_pages} pages), "
                  f"{fs.pages_per_pageblock}-page pageblocks, {fs.unmovable_pageblocks} UNMOVABLE; "
                  "watermarks and lowmem_reserve as imported\n")
        return
    out.write(f"memory: {fs.mib(fs.pages):.0f} MiB ({fs.pages} pages of {fs.page_kbytes} KiB), CMA "
              f"{fs.mib(fs.cma_pages):.0f} MiB ({fs.cma_pages} pages), {fs.pages_per_pageblock}-page "
              f"pageblocks, {fs.unmovable_pageblocks} UNMOVABLE at boot; watermarks from the v4.6 "
              "formulas, CMA in the boot basis: "
              + {None: "per design", True: "yes", False: "no"}[fs.cma_in_boot_basis] + "\n")


def sim_rows(fs, results) -> list[tuple[str, list[str]]]:
    return [
        ("watermarks min/low/high", [_wm(r) for r in results]),
        ("kswapd batch (pages/pass)", [str(r.kswapd_batch) for r in results]),
        ("first kswapd wake: free", [_mib(fs, r.first_wake_free) if r.first_wake_step >= 0
                                     else "never woken" for r in results]),
        ("first kswapd wake: CMA in use", [_mib(fs, r.first_wake_cma_used)
                                           if r.first_wake_step >= 0 else "-" for r in results]),
        ("first wake after (steps)", [str(r.first_wake_step) for r in results]),
        ("kswapd wakes", [str(r.wakes) for r in results]),
        ("free at wakes min..max", [f"{fs.mib(r.wake_free_min):.1f}..{fs.mib(r.wake_free_max):.1f} MiB"
                                    if r.wakes else "-" for r in results]),
        ("CMA in use at wakes", [f"{r.wake_cma_used_min}..{r.wake_cma_used_max} pages"
                                 if r.wakes else "-" for r in results]),
        ("free after 1st wake min..max", [
            f"{fs.mib(r.free_min_after):.1f}..{fs.mib(r.free_max_after):.1f} MiB"
            if r.wakes else "-" for r in results]),
        ("pages reclaimed", [str(r.reclaimed) for r in results]),
        ("failed requests", [", ".join(f"{k} {v}" for k, v in sorted(r.failures.items()))
                             or "none" for r in results]),
        ("steps simulated", [str(r.steps) for r in results]),
    ]


def cmd_simulate(args, out: TextIO, err: TextIO) -> int:
    from .simulate import SEED_CLAIM_MIB, simulate
    fs = _full_scale(args)
    if args.ratio < 0 or args.kswapd_every < 1 or args.allocations < 1:
        raise MmspecError("need --ratio >= 0, --kswapd-every >= 1 and --allocations >= 1")
    designs = _designs(args)
    from functools import partial

    from .simulate import run_parallel
    rep = reporter(args, err)
    with rep.phase(f"simulate: {len(designs)} design(s), {args.allocations} allocations each"):
        results = run_parallel([partial(simulate, d, fs, ratio=args.ratio,
                                        kswapd_every=args.kswapd_every,
                                        allocations=args.allocations) for d in designs])
    for r in results:
        rep.line(f"simulate: {r.design}: {r.steps} steps in {r.seconds:.2f} s "
                 f"({r.steps / max(r.seconds, 1e-9):.0f} steps/s)")
    out.write("mmspec simulate: the explicit step function (mmspec.kernel) along one workload\n")
    _describe_memory(out, fs)
    out.write(f"workload: {args.allocations} order-0 allocations in cycles of {args.ratio} "
              f"GFP_HIGHUSER_MOVABLE + 1 GFP_KERNEL; kswapd takes one step after every "
              f"{args.kswapd_every} allocation(s) while awake; nothing freed but by reclaim\n")
    out.write("reclaim: kswapd max(32, high) pages per zone per pass; direct reclaim 1 page per "
              "round (the model has no batch), up to 32 rounds; victim = first LRU page in "
              "(zone, pfn, class) order (LRU age is not modelled)\n\n")
    _table(out, [r.design for r in results], sim_rows(fs, results))
    out.write(f"\nseed's claim (C1, MIGRATE_CMA, 1024 MB RAM / 512 MB CMA): kswapd woken mostly "
              f"at roughly {SEED_CLAIM_MIB} MB free\n")
    return EXIT_OK


def _setup(args):
    from .check import effective_scope
    from .cli import _check_search_args, check_degenerate, scope_from_args
    design = registry.get_design(args.design)
    check = registry.get_checks([args.check])[0]
    _check_search_args(args)
    scope = effective_scope(scope_from_args(args), check)    # with the check's own overrides
    check_degenerate(scope, [design], args.allow_degenerate)
    return design, check, design(scope)


def _bmc_command(args, design: str, check: str) -> str:
    """The `mmspec bmc` command that reproduces a counterexample (with the run's scope)."""
    from .cli import _scope_cli
    sc = _scope_cli(args, search=False)
    return f"mmspec bmc --design {design} --check {check}" + (f" {sc}" if sc else "")


def cmd_bmc(args, out: TextIO, err: TextIO) -> int:
    from .engine.bmc import bmc
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
        r = bmc(model, check, args.depth, time_limit=args.time_limit, progress=done, prog=prog)
    rep.line(f"bmc: solver time {time.perf_counter() - t0:.2f} s")
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
            reproduce=_bmc_command(args, design.name, check.name)))
        return EXIT_VIOLATION
    out.write(f"{check.name}: BOUNDED (no counterexample of length <= {r.depth}; not a proof, "
              "see `mmspec prove`)\n")
    out.write(f"Statistics: depth reached {r.depth}\n")
    return EXIT_INCONCLUSIVE


def cmd_prove(args, out: TextIO, err: TextIO) -> int:
    from .cli import search
    from .engine.induction import prove
    from .engine.unroll import symbolic_program
    if args.max_k < 1:
        raise MmspecError(f"--max-k must be >= 1, got {args.max_k}")
    design, check, model = _setup(args)
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
            reproduce=_bmc_command(args, design.name, check.name)))
        return EXIT_VIOLATION
    return EXIT_OK if r.verdict == "PROVED" else EXIT_INCONCLUSIVE


def _register_claims(subparsers) -> None:
    c = subparsers.add_parser("claims", help="full-scale utilization (C1, C2) and atomic-"
                              "failure (C4, C6) claims, by simulation and by z3")
    _full_scale_args(c)
    c.add_argument("--segments", type=int, default=3, metavar="N", help="z3: phases of "
                   "symbolic length per run in the counting abstraction (default 3)")
    c.set_defaults(func=cmd_claims)


#: what the rows of `mmspec claims` are: reachable runs, and sound bounds from the abstraction
CLAIMS_LEGEND = (
    "\nsim: one run of the v4.6 step function (mmspec.kernel) along the scripted workload: "
    "reachable states.\n"
    "z3 bound: a sound bound over every run of the workload, from the counting abstraction, "
    "in which a request may take a page from any zone of its zonelist that passes its "
    "watermark (zone order, fair-policy batches and pageblock types are free choices): its "
    "runs include every v4.6 run and runs v4.6 cannot make. A bound is a reachable value "
    "only where \"sim reaches it\"; \"(abstraction: X)\" is the extremum a run "
    "of the abstraction reaches, which no v4.6 run need reach.\n")


def cmd_claims(args, out: TextIO, err: TextIO) -> int:
    from functools import partial

    from .simulate import SEED_CLAIM_MIB, atomic_run, full_scale_scope, run_parallel, simulate
    from .symbolic import counting_atomic, counting_wake_extremes
    fs = _full_scale(args)
    if args.ratio < 1 or args.kswapd_every < 1 or args.allocations < 1 or args.segments < 1:
        raise MmspecError("need --ratio, --kswapd-every, --allocations and --segments >= 1")
    designs = _designs(args)
    from .scope import default_scope
    from .engine.counting import check_supported  # the counting abstraction assumes the hooks
    for d in designs:
        check_supported(d(default_scope()))
    rep = reporter(args, err)
    sims, ext, atoms, zat = [], [], [], []
    solver = 0.0
    ok = True
    # the simulations of every design at once, one process per core (the atomic-failure
    # runs, the longest, first)
    jobs = [partial(atomic_run, d, fs, max_movable=min(fs.pages, args.allocations))
            for d in designs]
    jobs += [partial(simulate, d, fs, ratio=args.ratio, kswapd_every=args.kswapd_every,
                     allocations=args.allocations) for d in designs]
    with rep.phase(f"claims: phases 1-2 of 4 for {len(designs)} design(s): simulation of "
                   "the mix and atomic-failure run"):
        runs = run_parallel(jobs)
    for i, d in enumerate(designs):
        model = d(full_scale_scope(d, fs))
        a, s = runs[i], runs[len(designs) + i]
        with rep.phase(f"claims: {d.name}: phase 3 of 4, z3 wake extremes"):
            e = {m: counting_wake_extremes(model, args.ratio, segments=args.segments, mode=m)
                 for m in ("over", "under")}
        with rep.phase(f"claims: {d.name}: phase 4 of 4, z3 atomic failure"):
            z = {m: counting_atomic(model, a.kernel_pages, segments=args.segments, mode=m)
                 for m in ("over", "under")}
        z3s = sum(x.seconds for x in (*e.values(), *z.values()))
        solver += z3s
        rep.line(f"claims: {d.name}: simulation {s.steps + a.steps} steps in "
                 f"{s.seconds + a.seconds:.2f} s; z3 {z3s:.2f} s")
        sims.append(s), ext.append(e), atoms.append(a), zat.append(z)
        # cross-checks: the explicit run lies within the abstraction's sound bounds
        if s.first_wake_step >= 0:
            hi, lo = e["over"].max_free_at_wake, e["over"].min_cma_used_at_wake
            ok &= hi is not None and s.first_wake_free <= hi and s.first_wake_cma_used >= lo
        zo = z["over"].movable
        # (the abstraction over-approximates: z3 may find a failing run the script does not)
        ok &= not (a.failed and (zo is None or a.movable < zo))
        if a.failed and z["under"].movable is not None and z["over"].movable == z["under"].movable:
            ok &= a.movable == zo

    def bound(rel, sound, reached, sim, unit=True):
        # a sound bound on every run (the over-approximation); then whether the simulated
        # v4.6 run reaches it, else the extremum a run of the abstraction reaches (the
        # under-approximation) where it differs in print
        if sound is None or reached is None:
            return "unsat"
        f = (lambda v: f"{fs.mib(v):.1f} MiB") if unit else (lambda v: f"{v} pages")
        if sim == sound:
            return f"{rel} {f(sound)} (sim reaches it)"
        return f"{rel} {f(sound)}" + ("" if f(sound) == f(reached)
                                      else f" (abstraction: {f(reached)})")

    out.write("mmspec claims: full-scale utilization (C1, C2) and atomic failure (C4, C6)\n")
    _describe_memory(out, fs)
    out.write(f"\nUtilization. Simulation: {args.allocations} allocations in cycles of "
              f"{args.ratio} GFP_HIGHUSER_MOVABLE + 1 GFP_KERNEL, kswapd one step per "
              f"{args.kswapd_every} allocation(s) while awake (mmspec simulate).\n"
              f"z3: every run of the mix (each prefix: {args.ratio} * (kernel - 1) <= movable "
              f"<= {args.ratio} * (kernel + 1)) in the counting abstraction, up to the first "
              f"kswapd wake ({args.segments} phases).\n\n")
    names = [d.name for d in designs]
    rows = [r for r in sim_rows(fs, sims) if r[0] in (
        "watermarks min/low/high", "first kswapd wake: free", "first kswapd wake: CMA in use",
        "free after 1st wake min..max", "steps simulated")]
    rows = [("sim: " + r[0], r[1]) if not r[0].startswith("water") else r for r in rows]
    rows.append(("z3 bound: most free at any wake", [
        bound("<=", e["over"].max_free_at_wake, e["under"].max_free_at_wake,
              s.first_wake_free if s.first_wake_step >= 0 else None)
        for e, s in zip(ext, sims)]))
    rows.append(("z3 bound: fewest CMA in use at a wake", [
        bound(">=", e["over"].min_cma_used_at_wake, e["under"].min_cma_used_at_wake,
              s.first_wake_cma_used if s.first_wake_step >= 0 else None, False)
        for e, s in zip(ext, sims)]))
    rows.append(("seed's claim (C1)", [f"~{SEED_CLAIM_MIB} MB free at wake"
                                       if d.name == "migrate_cma" else "-" for d in designs]))
    _table(out, names, rows)
    out.write(CLAIMS_LEGEND)
    out.write(f"\nAtomic failure (Joonsoo's six steps): from all free, "
              f"{atoms[0].kernel_pages} GFP_KERNEL pages first, then GFP_HIGHUSER_MOVABLE "
              "allocations with kswapd asleep; the fewest after which a GFP_ATOMIC request "
              "fails while kswapd sleeps.\n\n")
    arows = [
        ("sim: movable allocations", [
            f"{a.movable} (GFP_ATOMIC fails)" if a.failed else
            (f"none: kswapd woken by allocation {a.kswapd_woken_at}" if a.kswapd_woken_at >= 0
             else f"none within {a.movable}") for a in atoms]),
        ("sim: steps simulated", [str(a.steps) for a in atoms]),
        ("z3 bound: fewest movable allocations", [
            "none (UNSAT: no run fails)" if z["over"].movable is None else
            f">= {z['over'].movable}" + (
                " (sim reaches it)" if a.failed and a.movable == z["over"].movable
                else "" if z["over"].movable == z["under"].movable
                else f" (abstraction: {z['under'].movable})")
            for z, a in zip(zat, atoms)]),
    ]
    _table(out, names, arows)
    out.write(f"\nStatistics: {sum(s.steps for s in sims) + sum(a.steps for a in atoms)} steps "
              "simulated; z3 solver time on stderr\n")
    out.write("Cross-check (simulation within the z3 bounds): "
              + ("consistent" if ok else "MISMATCH") + "\n")
    rep.line(f"claims: z3 solver time {solver:.2f} s")
    return EXIT_OK if ok else EXIT_VIOLATION


# ------------------------------------------------------------------------------------------
# mmspec parametric (issue 7 item 4)

def _range(text: str, what: str) -> tuple[int, int]:
    try:
        lo, _, hi = text.partition(":")
        r = (int(lo), int(hi if hi else lo))
    except ValueError:
        raise MmspecError(f"{what} must be LO:HI (integers), got {text!r}") from None
    if r[0] < 0 or r[0] > r[1]:
        raise MmspecError(f"{what} must satisfy 0 <= LO <= HI, got {text!r}")
    return r


#: a configuration this small is also checked by `mmspec check` in seconds
BFS_REPRODUCE_MAX_PAGES = 16


def _register_parametric(subparsers) -> None:
    p = subparsers.add_parser("parametric", help="atomic_while_kswapd_sleeps over every "
                              "configuration (pages, CMA pages, watermarks) in a range, in the "
                              "counting abstraction: the smallest violating one, or HOLDS")
    p.add_argument("--design", required=True, metavar="NAME",
                   help="design name (see `mmspec list`)")
    p.add_argument("--check", default="atomic_while_kswapd_sleeps", metavar="NAME",
                   help="only atomic_while_kswapd_sleeps is encoded")
    p.add_argument("--pages", default="2:4096", metavar="LO:HI",
                   help="total pages (default 2:4096)")
    p.add_argument("--cma-pages", default="1:4096", metavar="LO:HI",
                   help="CMA pages (default 1:4096)")
    p.add_argument("--watermark-mode", dest="watermark_mode", choices=("derived", "free"),
                   default=None, help="derived (default): the v4.6 formulas (min_free_kbytes, "
                   "per-zone split, watermark_scale_factor, lowmem_reserve); free: any "
                   "0 <= min <= low <= high")
    p.add_argument("--watermark-scale-factor", type=int, default=10, metavar="N",
                   help="derived watermarks: watermark_scale_factor (default 10)")
    p.add_argument("--page-kbytes", type=int, default=4, metavar="N",
                   help="derived watermarks: page size in KiB (default 4)")
    p.add_argument("--segments", type=int, default=2, metavar="N", help="phases of symbolic "
                   "length per run (default 2)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="z3 seconds per query (default 60)")
    p.set_defaults(func=cmd_parametric)


def _bfs_command(design: str, cfg: dict) -> str | None:
    """A `mmspec check` command on the configuration (one page per pageblock is not a
    scope the checker takes, so pageblocks of 2 pages: even page counts only)."""
    n, c = cfg["pages"], cfg["cma_pages"]
    if n > BFS_REPRODUCE_MAX_PAGES or n % 2 or c % 2:
        return None
    o = n - c
    wms = cfg["watermarks"]
    parts = [f"mmspec check --design {design} --check atomic_while_kswapd_sleeps",
             "--pages-per-pageblock 2"]
    if len(wms) == 2:     # a zone design moves the CMA pageblocks of Normal into its own zone
        parts.append("--pageblocks Normal=" + ",".join(["M"] * (o // 2) + ["C"] * (c // 2)))
        parts.append("--watermarks Normal=%d,%d,%d" % wms[0])
        parts.append("--watermarks CMA=%d,%d,%d" % wms[1])
    else:
        parts.append("--pageblocks Normal=" + ",".join(["M"] * (o // 2) + ["C"] * (c // 2)))
        parts.append("--watermarks Normal=%d,%d,%d" % wms[0])
    parts += ["--limit", f"GFP_KERNEL={cfg['kernel_pages']}", "--limit",
              f"GFP_HIGHUSER_MOVABLE={cfg['movable_pages']}", "--limit", "GFP_ATOMIC=1",
              "--limit", "BLOCKDEV=0"]
    return " ".join(parts)


def cmd_parametric(args, out: TextIO, err: TextIO) -> int:
    from .symbolic import parametric_atomic
    if args.check != "atomic_while_kswapd_sleeps":
        raise MmspecError(f"mmspec parametric encodes atomic_while_kswapd_sleeps only, not "
                          f"{args.check!r}; use `mmspec sweep` or `mmspec check` for others")
    design = registry.get_design(args.design)
    pages = _range(args.pages, "--pages")
    cma = _range(args.cma_pages, "--cma-pages")
    if pages[1] < 2 or cma[0] >= pages[1]:
        raise MmspecError("--pages must allow >= 2 pages and more pages than --cma-pages' LO")
    if args.segments < 1 or args.timeout <= 0 or args.page_kbytes < 1 \
            or args.watermark_scale_factor < 1:
        raise MmspecError("need --segments >= 1, --timeout > 0, --page-kbytes >= 1 and "
                          "--watermark-scale-factor >= 1")
    from .engine.counting import check_supported  # the counting abstraction assumes the hooks
    from .scope import default_scope
    check_supported(design(default_scope()))
    mode = args.watermark_mode or "derived"
    kw = dict(pages=pages, cma_pages=cma, derive=mode == "derived",
              page_kbytes=args.page_kbytes, wsf=args.watermark_scale_factor,
              segments=args.segments, timeout_ms=int(args.timeout * 1000))
    rep = reporter(args, err)
    with rep.phase("parametric: query 1 of 2, over-approximation (z3)"):
        over = parametric_atomic(design, mode="over", **kw)
    rep.line(f"parametric: over-approximation {over.verdict} in {over.seconds:.2f} s")
    under = None
    if over.verdict == "VIOLATED":
        with rep.phase("parametric: query 2 of 2, under-approximation (z3)"):
            under = parametric_atomic(design, mode="under", **kw)
        rep.line(f"parametric: under-approximation {under.verdict} in {under.seconds:.2f} s")
    out.write(f"mmspec parametric: design {design.name}, check atomic_while_kswapd_sleeps\n")
    out.write(f"range: {pages[0]}..{pages[1]} pages, {cma[0]}..{cma[1]} CMA pages (CMA < pages); "
              f"watermarks {'from the v4.6 formulas (watermark_scale_factor %d, %d KiB pages)' % (args.watermark_scale_factor, args.page_kbytes) if kw['derive'] else 'free (0 <= min <= low <= high, lowmem_reserve >= 0)'}\n")
    out.write("runs: GFP_KERNEL and GFP_HIGHUSER_MOVABLE allocations in any order without "
              "waking kswapd, then a GFP_ATOMIC request failing its fast and slow paths "
              f"(counting abstraction, {args.segments} phases)\n")
    out.write("Statistics: 2 z3 queries at most (sound over-approximation, then a witness "
              "search); solver time on stderr\n")

    def cfg_line(cfg):
        wm = "; ".join("%d/%d/%d" % w for w in cfg["watermarks"])
        return (f"pages {cfg['pages']}, CMA pages {cfg['cma_pages']}, watermarks min/low/high "
                f"{wm}, lowmem_reserve[CMA] {cfg['lowmem_reserve']}; run: "
                f"{cfg['kernel_pages']} GFP_KERNEL + {cfg['movable_pages']} GFP_HIGHUSER_MOVABLE "
                "pages, then GFP_ATOMIC fails")
    if over.verdict == "HOLDS":
        out.write("atomic_while_kswapd_sleeps: HOLDS for every configuration in the range "
                  "(over-approximation UNSAT; configurations in which GFP_ATOMIC fails with "
                  "every page free are excluded, so a range of only those holds vacuously)\n")
        return EXIT_OK
    if over.verdict == "UNKNOWN" or (under is not None and under.verdict == "UNKNOWN"):
        r = over if over.verdict == "UNKNOWN" else under
        out.write(f"atomic_while_kswapd_sleeps: UNKNOWN (z3: {r.config.get('reason', '?')}; "
                  "raise --timeout or narrow the ranges)\n")
        return EXIT_INCONCLUSIVE
    assert under is not None
    out.write(f"lower bound (over-approximation): no configuration with fewer than "
              f"{over.config['pages']} pages violates it\n")
    if under.verdict != "VIOLATED":
        out.write("atomic_while_kswapd_sleeps: UNKNOWN (the over-approximation's candidate "
                  f"{cfg_line(over.config)} has no witness run in the under-approximation)\n")
        return EXIT_INCONCLUSIVE
    exact = under.config["pages"] == over.config["pages"]
    out.write("atomic_while_kswapd_sleeps: VIOLATED; smallest violating configuration found"
              + (" (exact: equals the lower bound)" if exact else
                 f" (smallest is between {over.config['pages']} and {under.config['pages']} pages)")
              + ":\n  " + cfg_line(under.config) + "\n")
    cmd = _bfs_command(design.name, under.config)
    if cmd:
        out.write(f"reproduce with breadth-first search: {cmd}\n")
    else:
        out.write(f"(no breadth-first reproduce command: more than {BFS_REPRODUCE_MAX_PAGES} "
                  "pages or an odd page count)\n")
    return EXIT_VIOLATION
