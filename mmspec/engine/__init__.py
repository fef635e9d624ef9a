"""Engines that run the rules of :mod:`mmspec.mm` other than the Python breadth-first search.

The tracer runs the rules on symbolic values and gets one expression DAG per action template
(:mod:`.sym`, :mod:`.tracer`); :mod:`.lower` fixes the state layout and its bounds from the
scope. Consumers of those expressions: the compiled breadth-first search (:mod:`.cgen` emits C,
:mod:`.build` compiles and caches it, :mod:`.compiled` runs it; ``bfs.c`` is the driver) and
z3 (:mod:`.z3expr` translates, :mod:`.unroll` and :mod:`.bmc` unroll the transition relation,
:mod:`.invariants`, :mod:`.induction` prove, :mod:`.counting` and :mod:`.parametric` answer
questions over sizes and watermarks)."""
