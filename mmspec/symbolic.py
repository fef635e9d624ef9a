"""The z3 engines, by their former module name: the names tests and commands import.

The engines live in :mod:`mmspec.engine`, side by side with the compiled BFS, as consumers
of the traced rules (:func:`mmspec.engine.lower.trace_program`):

- :mod:`mmspec.engine.z3expr` — a traced expression DAG as z3 terms (Int / bit-vectors);
- :mod:`mmspec.engine.unroll` — the transition relation and the checks, frame by frame;
- :mod:`mmspec.engine.bmc` — bounded model checking, trace and reachability queries;
- :mod:`mmspec.engine.induction` — k-induction with Houdini-strengthened invariants;
- :mod:`mmspec.engine.counting` — the counting abstraction of the full-scale claims;
- :mod:`mmspec.engine.parametric` — sizes and watermarks symbolic.
"""

from .engine.bmc import BmcResult, bmc, bmc_checks, reachable_states, trace_satisfies
from .engine.counting import (CountingAtomic, CountingExtremes, CountingZones, _threshold,
                              counting_atomic, counting_wake_extremes)
from .engine.induction import ProveResult, prove
from .engine.invariants import houdini
from .engine.parametric import ParametricResult, _wmark_threshold_sym, parametric_atomic

__all__ = ["BmcResult", "bmc", "bmc_checks", "reachable_states", "trace_satisfies",
           "ProveResult", "prove", "houdini", "CountingZones", "CountingExtremes",
           "CountingAtomic", "counting_wake_extremes", "counting_atomic", "ParametricResult",
           "parametric_atomic", "_threshold", "_wmark_threshold_sym"]
