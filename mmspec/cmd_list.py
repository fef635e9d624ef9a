"""``mmspec list``: the designs, the checks (with their claims and the opt-in checks'
scopes), the named scopes and what each engine covers. Exit 0.
"""

from __future__ import annotations

from typing import TextIO

from . import registry
from .check import effective_scope
from .cliargs import EXIT_OK
from .scope import default_scope, named_scopes

__all__ = ["cmd_list"]


def cmd_list(args, out: TextIO, err: TextIO) -> int:
    out.write("Designs:\n")
    for d in registry.designs():
        out.write(f"  {d.name:<28} {d.title}\n")
    out.write("\nChecks:\n")
    for c in registry.checks(include_opt_in=True):
        out.write(f"  {c.name:<28} {c.title} [{c.claim}]"
                  + (" (opt-in: runs with --check or --all; scope " + ", ".join(
                      f"{k}={v}" for k, v in c.scope.items()) + ")" if c.scope else "") + "\n")
    out.write("\nNamed scopes (--scope NAME; expected verdicts are recorded per named scope):\n")
    out.write(f"  {'default':<28} the built-in default scope (`mmspec scope`)\n")
    for name, path in named_scopes().items():
        out.write(f"  {name:<28} scopes/{name}.toml\n")
    out.write("\n" + _engines_text())
    return EXIT_OK


def _engines_text() -> str:
    """Which designs and checks the compiled engine covers (``mmspec list``)."""
    from .engine.lower import unsupported_reason
    base = default_scope()
    designs = registry.designs()
    no = [d.name for d in designs if unsupported_reason(d(base))]
    from .engine.build import costly
    python_only, slow = [], []
    for c in registry.checks(include_opt_in=True):
        m = designs[0](effective_scope(base, c))
        why = unsupported_reason(m)
        if why:
            python_only.append(f"{c.name} ({why.split(' (')[0].split(';')[0]})")
        elif costly(m):
            slow.append(c.name)
    lines = ["Engines (--engine auto: the compiled one wherever it applies, else Python with "
             "a note):",
             "  compiled  the rules traced into C and searched in C: "
             + ("every design above" if not no else "every design but " + ", ".join(no))
             + "; every check but:"]
    lines += [f"              {x}" for x in python_only] or ["              (none)"]
    if slow:
        lines += ["            auto builds the programs of " + ", ".join(slow) + " only for",
                  "            a search that outlasts 1.5 s on the Python engine (tracing and",
                  "            compiling take 15-25 s per design); --engine compiled always"]
    lines += ["  z3        bmc: every design and every check (a liveness check's shortest lasso;",
              "            direct compaction's calls inlined on demand); prove: safety checks,",
              "            UNKNOWN for high-order classes and cma_alloc (left out of Houdini)"]
    lines.append("  python    every design and every check")
    return "\n".join(lines) + "\n"
