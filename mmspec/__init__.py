"""mmspec: a model checker for Linux page-allocator designs.

Public API (everything else is internal)::

    from mmspec import default_scope, get_design, get_checks, explore
    model = get_design("migrate_cma")(default_scope())
    result = explore(model, get_checks(["atomic_while_kswapd_sleeps"]))
    result.cells[0].verdict      # Verdict.VIOLATED
    result.cells[0].trace        # shortest counterexample, replayed
"""

from .check import Check, Verdict
from .errors import MmspecError, ScopeError, TraceReplayError, UnknownName
from .explore import CellResult, Result, Stats, explore
from .kernel import Allocator
from .registry import checks, designs, get_checks, get_design
from .scope import Scope, default_scope, load_scope, parse_scope
from .state import Action, Effect, State
from .trace import Trace, replay

__all__ = [
    "Action", "Allocator", "CellResult", "Check", "Effect", "MmspecError", "Result", "Scope",
    "ScopeError", "State", "Stats", "Trace", "TraceReplayError", "UnknownName", "Verdict",
    "checks", "default_scope", "designs", "explore", "get_checks", "get_design", "load_scope",
    "parse_scope", "replay",
]
__version__ = "0.1.0"
