"""Engines that run the rules of :mod:`mmspec.mm` other than the Python breadth-first search.

The tracer runs the rules on symbolic values and gets one expression DAG per action template
(:mod:`.sym` the hash-consed nodes, :mod:`.fold` their simplification, :mod:`.pathenum` the
path enumeration, :mod:`.tracer` the allocator's joins and choice points); :mod:`.lower` fixes
the state layout and its bounds from the scope. Consumers of those expressions: the compiled
breadth-first search (:mod:`.cgen` emits C, :mod:`.build` builds it with :mod:`.cc` into the
cache of :mod:`.cache`, :mod:`.compiled` runs it; ``bfs.c`` is the driver) and
z3 (:mod:`.z3expr` translates, :mod:`.unroll` and :mod:`.bmc` unroll the transition relation,
:mod:`.invariants`, :mod:`.induction` prove, :mod:`.counting` and :mod:`.parametric` answer
questions over sizes and watermarks)."""
