"""Command line: the parser of every command (``mmspec list | scope | check | compare`` here,
the others from the ``cmd_*`` modules' ``register``), the dispatch and the exit codes. The
commands themselves are the ``mmspec/cmd_*.py`` modules (``cmd_list``, ``cmd_scope``,
``cmd_check``, ``cmd_compare`` and the rest); the options and helpers they share are
:mod:`mmspec.cliargs` and :mod:`mmspec.clirun`. The only modules that do I/O are this one,
the ``cmd_*`` modules, :mod:`mmspec.output` (files) and :mod:`mmspec.progress` (progress on
standard error).

Exit codes: 0 all hold / all as expected; 1 a violation (check) or a verdict that differs
from its recorded expectation (compare); 2 bad input (one ``mmspec: error:`` line on
standard error, nothing written); 3 inconclusive (BOUNDED or VACUOUS); 130 interrupted
(Ctrl-C, with the statistics of the search so far). Standard output is deterministic
(byte-identical for the same input); timings, memory and progress go to standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Sequence, TextIO

from . import __version__
from .cliargs import EXIT_INTERRUPTED, EXIT_USAGE, _Parser, _scope_args, _UsageError
from .cmd_check import cmd_check
from .cmd_compare import cmd_compare
from .cmd_list import cmd_list
from .cmd_scope import cmd_scope
from .errors import MmspecError
from .explore import SearchInterrupted
from .progress import Reporter, stats_block

# Names that lived here before the commands moved to cmd_*.py, kept importable from here:
# cmd_sweep, cmd_docs and users import them from mmspec.cli, and the tests replace
# mmspec.cli._run (cmd_check and cmd_compare call it through this module).
from .cliargs import (EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION,  # noqa: F401
                      SEARCH_OPTIONS, _check_search_args, _scope_cli, _scope_label, _unique,
                      check_degenerate, derived_layout, scope_from_args)
from .clirun import (_MODELS, _model_of, _prebuild, _repro, _run,  # noqa: F401
                     coverage_lines, reporter, search, stats_lines)

__all__ = ["main", "entrypoint", "build_parser", "scope_from_args", "search", "reporter"]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mmspec", description="Model checker for Linux page-allocator designs "
                "(MIGRATE_CMA vs ZONE_CMA and successors), faithful to v4.6.")
    p.add_argument("--version", action="version", version=f"mmspec {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    sub.add_parser("list", help="designs and checks with one-line descriptions")
    sp = sub.add_parser("scope", help="print the scope in effect as a TOML scope file, with "
                        "what each design derives from it")
    _scope_args(sp, search=False)
    c = sub.add_parser("check", help="explore one design and report each check")
    c.add_argument("--design", metavar="NAME", help="design name (see `mmspec list`)")
    c.add_argument("--design-file", metavar="FILE", help="load the design from a Python file "
                   "defining DESIGN")
    c.add_argument("--check", action="append", metavar="NAME", help="check to run (repeatable; "
                   "default: all)")
    c.add_argument("--json", metavar="FILE", help="write the counterexample(s) as ITF JSON "
                   "(- : to standard output, instead of the report)")
    c.add_argument("--all", action="store_true", help="also run the opt-in checks, each at its "
                   "own scope (compaction, cma_alloc, page ages; slower)")
    _scope_args(c)
    m = sub.add_parser("compare", help="every design x every check: verdict matrix")
    m.add_argument("--design", action="append", metavar="NAME", help="restrict to these "
                   "designs (repeatable)")
    m.add_argument("--design-file", action="append", metavar="FILE", help="add the design "
                   "a Python file defines (DESIGN = ...) as a row (repeatable)")
    m.add_argument("--check", action="append", metavar="NAME", help="restrict to these checks "
                   "(repeatable)")
    m.add_argument("--json", metavar="FILE", help="write the matrix with traces as JSON "
                   "(- : to standard output, instead of the report)")
    m.add_argument("--no-traces", action="store_true", help="print the matrix only")
    m.add_argument("--all", action="store_true", help="also run the opt-in checks, each at its "
                   "own scope (compaction, cma_alloc, page ages; slower)")
    _scope_args(m)
    for mod in _command_modules():
        mod.register(sub, _scope_args)
    return p


def _command_modules() -> list:
    """Extra subcommands: every ``mmspec/cmd_*.py`` module with ``register(subparsers,
    add_scope_args)`` (which sets ``func=`` via ``set_defaults``). Sorted by name. (The
    modules of list, scope, check and compare have none: their parsers are built above.)
    ``add_scope_args(parser, search=True)`` adds the scope options and the search options
    (``search``: True, False or a list of :data:`SEARCH_OPTIONS` dests)."""
    import importlib
    import pkgutil
    import mmspec
    mods = [importlib.import_module(f"mmspec.{m.name}")
            for m in sorted(pkgutil.iter_modules(mmspec.__path__), key=lambda m: m.name)
            if m.name.startswith("cmd_")]
    return [mod for mod in mods if hasattr(mod, "register")]


COMMANDS = {"list": cmd_list, "scope": cmd_scope, "check": cmd_check, "compare": cmd_compare}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run the CLI with ``argv``; returns the exit code. Testable without subprocesses."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    rep = Reporter(err)
    try:
        try:
            with contextlib.redirect_stdout(out):      # --help and --version
                args = build_parser().parse_args(list(argv) if argv is not None else None)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        args._reporter = rep
        fn = COMMANDS.get(args.cmd) or getattr(args, "func")
        return fn(args, out, err)
    except (_UsageError, MmspecError) as exc:
        rep.clear()
        err.write(f"mmspec: error: {exc}\n")
        return EXIT_USAGE
    except SearchInterrupted as exc:
        rep.clear()
        err.write(stats_block(rep.label or "search", exc.stats))
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        rep.clear()
        err.write("mmspec: interrupted" + (f" during {rep.label} after {rep.elapsed():.1f} s"
                                            if rep.label else "") + "; no result\n")
        return EXIT_INTERRUPTED


def entrypoint() -> None:
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.stderr.write("mmspec: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(0)
