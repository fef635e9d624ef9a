"""``mmspec simulate`` and ``mmspec claims``: the full-scale commands (1 GiB, 512 MiB CMA by
default, or an imported machine's scope). ``simulate`` runs a movable-heavy workload through
the explicit step function; ``claims`` adds the atomic-failure run and bounds every run of
the workload with z3 in the counting abstraction, then cross-checks the two.

Exit codes: 0 done (claims: the simulation lies within the z3 bounds); 1 claims: a
MISMATCH between them; 2 bad input. Timings go to stderr.
"""

from __future__ import annotations

from typing import TextIO

from . import registry
from .cliargs import _unique
from .clirun import reporter
from .errors import MmspecError

EXIT_OK, EXIT_VIOLATION = 0, 1


def register(subparsers, add_scope_args) -> None:
    s = subparsers.add_parser("simulate", help="full-scale simulation (1 GiB, 512 MiB CMA) of "
                              "a movable-heavy workload through the explicit step function")
    _full_scale_args(s)
    s.set_defaults(func=cmd_simulate)
    _register_claims(subparsers)


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
