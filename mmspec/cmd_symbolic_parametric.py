"""``mmspec parametric``: atomic_while_kswapd_sleeps over every configuration (pages, CMA
pages, watermarks) in a range, in the counting abstraction with z3: HOLDS for all, or the
smallest violating configuration (with a breadth-first reproduce command when it is small).

Exit codes: 0 HOLDS; 1 VIOLATED; 2 bad input; 3 UNKNOWN. Timings go to stderr.
"""

from __future__ import annotations

from typing import TextIO

from . import registry
from .clirun import reporter
from .errors import MmspecError

EXIT_OK, EXIT_VIOLATION, EXIT_INCONCLUSIVE = 0, 1, 3


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


def register(subparsers, add_scope_args) -> None:
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
