"""``mmspec scope [scope options]``: the scope in effect as a TOML scope file, its named
scope if any, and what each design derives from it (zones, managed pages, watermarks).
Exit 0, or 2 for a scope that is bad input.
"""

from __future__ import annotations

from typing import TextIO

from . import registry
from .cliargs import EXIT_OK, check_degenerate, derived_layout, scope_from_args
from .scope import scope_names

__all__ = ["cmd_scope"]


def cmd_scope(args, out: TextIO, err: TextIO) -> int:
    scope = scope_from_args(args)
    designs = registry.designs()
    check_degenerate(scope, designs, args.allow_degenerate)
    out.write(scope.to_toml())
    names = scope_names(scope)
    out.write("\n# Named scope: " + (", ".join(names) if names else "none (no expected "
                                      "verdicts are recorded for this scope)") + "\n")
    out.write("# What each design makes of it: zones, managed pages, min/low/high watermarks\n"
              "# (* derived with the v4.6 formulas; ! no allocatable page):\n")
    w = max(len(d.name) for d in designs)
    for d in designs:
        zones = "; ".join(f"{label} {managed} pages {wm[0]}/{wm[1]}/{wm[2]}"
                          + ("*" if derived else "") + ("!" if dead else "")
                          for label, managed, wm, derived, dead in derived_layout(d(scope)))
        out.write(f"#   {d.name:<{w}}  {zones}\n")
    return EXIT_OK
