"""Engines that run the rules of :mod:`mmspec.kernel` other than the Python breadth-first
search: the tracer that turns the rules into expression DAGs (:mod:`.tracer`, :mod:`.lower`),
the C code generator and compiled breadth-first search (:mod:`.cgen`, :mod:`.compiled`)."""
