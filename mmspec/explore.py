"""Breadth-first explicit-state search with parent pointers: every counterexample is shortest.

Pure apart from reading the clock for statistics (elapsed time never reaches stdout
renderings that must be byte-identical).
"""

from __future__ import annotations

import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, NamedTuple, Sequence

from .check import Check, Verdict
from .errors import MmspecError
from .trace import Trace, build_trace

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Allocator

__all__ = ["explore", "Result", "Stats", "CellResult", "Progress", "SearchInterrupted",
           "ENGINES"]

#: the explicit engines ``explore`` can run: ``auto`` picks the compiled one when the design,
#: scope and checks are covered and a C compiler works, else the Python one
ENGINES = ("auto", "compiled", "python")


class Progress(NamedTuple):
    """What a running search reports about once a second (``explore(progress=...)``)."""

    distinct: int           # distinct states stored so far
    generated: int          # transitions examined so far
    depth: int              # BFS levels completed
    frontier: int           # states discovered but not yet expanded
    elapsed_s: float
    rss_kib: int            # current resident set size of the process


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a search: carries the statistics of the search so far (``stats``)."""

    def __init__(self, stats: "Stats") -> None:
        super().__init__("search interrupted")
        self.stats = stats


def current_rss_kib() -> int:
    """Resident set size of this process now (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * (resource.getpagesize() // 1024)
    except (OSError, ValueError, IndexError):
        return 0


@dataclass(frozen=True)
class Stats:
    """Search statistics, in the style TLC and SPIN print them."""

    generated: int          # transitions examined (successor states generated)
    distinct: int           # distinct states stored
    depth: int              # BFS depth reached (longest shortest path)
    complete: bool          # the whole reachable space was explored
    stop_reason: str        # "" or why the search stopped early
    elapsed_s: float = 0.0
    peak_rss_kib: int = 0

    @property
    def states_per_s(self) -> float:
        return self.distinct / self.elapsed_s if self.elapsed_s > 0 else float("inf")


@dataclass(frozen=True)
class CellResult:
    """The verdict of one check on one design."""

    check: Check
    verdict: Verdict
    trace: Trace | None = None          # counterexample (VIOLATED) or first witness
    witness_count: int = 0              # transitions on which the witness held
    witness_trace: Trace | None = None

    # The expected verdict of a cell is mmspec.registry.expected_verdict(design, check):
    # a design file may record its own expectations, so a cell does not carry one.


@dataclass(frozen=True)
class Result:
    design: str
    cells: tuple[CellResult, ...]
    stats: Stats
    coverage: tuple[tuple[str, int], ...] = field(default=())
    parents: dict | None = field(default=None, repr=False, compare=False)

    def cell(self, name: str) -> CellResult:
        for c in self.cells:
            if c.check.name == name:
                return c
        raise KeyError(name)


def explore(model: "Allocator", checks: Sequence[Check], *, max_states: int | None = None,
            time_limit: float | None = None, keep_parents: bool = False,
            progress: Callable[[Progress], None] | None = None, engine: str = "auto",
            memory_limit_kib: int | None = None,
            notice: Callable[[str], None] | None = None) -> Result:
    """Explore every state reachable from ``model.init_states()`` breadth-first.

    Parameters
    ----------
    model : a design instance (an :class:`~mmspec.kernel.Allocator`).
    checks : the checks to evaluate on every transition (and ``bad_state`` on init states).
    max_states : stop (verdict BOUNDED for undecided checks) once this many distinct states
        are stored.
    time_limit : stop likewise after this many seconds.
    keep_parents : return the parent map (state -> (parent, action)) in ``Result.parents``.
    progress : called with a :class:`Progress` about once a second.
    engine : ``"python"`` (this module's loop over ``model.successors``), ``"compiled"``
        (:mod:`mmspec.engine.compiled`) or ``"auto"``: the compiled engine whenever it
        covers the design, scope and checks and a C compiler works; a run whose library is
        not compiled yet starts on the Python engine and moves to the compiled one if it
        lasts longer than :data:`AUTO_PYTHON_S`. Same results whichever runs.
    memory_limit_kib : stop (BOUNDED, like ``max_states``) once the process's resident set
        exceeds this many KiB: the memory guard.
    notice : called with a one-line reason when ``auto`` falls back to the Python engine.

    Raises
    ------
    SearchInterrupted
        On Ctrl-C, with the statistics so far.

    Returns
    -------
    Result
        One :class:`CellResult` per check. A violation's trace is a shortest one (BFS
        order), replayed through ``model.explain`` before it is returned.
    """
    if engine not in ENGINES:
        raise MmspecError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    kw = dict(max_states=max_states, keep_parents=keep_parents, progress=progress,
              memory_limit_kib=memory_limit_kib)
    if engine == "python":
        return _explore_python(model, checks, time_limit=time_limit, **kw)
    from .engine.compiled import CompilerMissing, explore_compiled, is_built, why_not_compiled
    from .engine.tracer import TraceError
    why = why_not_compiled(model, checks)
    if why is None and (engine == "compiled" or is_built(model, checks)):
        try:
            return explore_compiled(model, checks, time_limit=time_limit, **kw)
        except (TraceError, CompilerMissing) as exc:
            why = str(exc)
    if why is not None:
        if engine == "compiled":
            raise MmspecError(f"the compiled engine cannot run this: {why} "
                              "(use --engine python or --engine auto)")
        if notice is not None:
            notice(f"Python engine: {why}")
        return _explore_python(model, checks, time_limit=time_limit, **kw)
    # auto, the compiled engine covers the run but its library is not built yet: a run the
    # Python engine finishes within AUTO_PYTHON_S does not wait for the C compiler; a longer
    # one starts again on the compiled engine (the results are the same either way)
    budget = AUTO_PYTHON_S if time_limit is None else min(time_limit, AUTO_PYTHON_S)
    r = _explore_python(model, checks, time_limit=budget, **kw)
    if (r.stats.complete or budget != AUTO_PYTHON_S
            or not r.stats.stop_reason.startswith("time limit")):
        return r
    left = None if time_limit is None else max(time_limit - r.stats.elapsed_s, 0.001)
    try:
        return explore_compiled(model, checks, time_limit=left, **kw)
    except (TraceError, CompilerMissing) as exc:
        if notice is not None:
            notice(f"Python engine: {exc}")
        return _explore_python(model, checks, time_limit=left, **kw)


#: seconds the ``auto`` engine lets the Python engine run before it compiles (when the
#: compiled library is not in the cache yet)
AUTO_PYTHON_S = 1.5


def _explore_python(model: "Allocator", checks: Sequence[Check], *,
                    max_states: int | None = None, time_limit: float | None = None,
                    keep_parents: bool = False,
                    progress: Callable[[Progress], None] | None = None,
                    memory_limit_kib: int | None = None) -> Result:
    """The Python engine: breadth-first over ``model.successors`` (see :func:`explore`)."""
    t0 = time.perf_counter()
    inits = model.init_states()
    parents: dict = {}
    frontier: list = []
    for s in inits:
        if s not in parents:
            parents[s] = None
            frontier.append(s)
    nchecks = len(checks)
    bad: list = [None] * nchecks        # (pre, action, post) of the first violation
    wit: list = [None] * nchecks
    wcount = [0] * nchecks
    for i, ck in enumerate(checks):
        if ck.bad_state is not None:
            for s in inits:
                if bad[i] is None and ck.bad_state(model, s):
                    bad[i] = (None, None, s)
    path_counts: dict = {}              # effect.paths tuple -> transitions (coverage)
    generated = 0
    depth = 0
    stop = ""
    next_report = t0 + 1.0
    succ = model.successors
    # Transition predicates, split by the action kinds they can hold on: a predicate with a
    # ``kinds`` attribute (a set of Action.kind values) is false on every other kind, so it
    # is only evaluated on those (same truth values, fewer calls).
    tr_fns = [(i, ck.witness, False) for i, ck in enumerate(checks)]
    tr_fns += [(i, ck.bad_step, True) for i, ck in enumerate(checks) if ck.bad_step is not None]
    kinds_known = set()
    for _, fn, _ in tr_fns:
        kinds_known.update(getattr(fn, "kinds", ()))
    by_kind = {k: tuple((i, fn, isbad) for i, fn, isbad in tr_fns
                        if k in getattr(fn, "kinds", (k,)))
               for k in kinds_known}
    generic = tuple((i, fn, isbad) for i, fn, isbad in tr_fns if not hasattr(fn, "kinds"))
    state_fns = [(i, ck.bad_state) for i, ck in enumerate(checks) if ck.bad_state is not None]
    # liveness checks (mmspec.liveness): record the transitions inside their `stay` region
    live = [(i, ck) for i, ck in enumerate(checks) if getattr(ck, "is_liveness", False)]
    live_edges: dict = {i: [] for i, _ in live}
    if live:
        from .liveness import refuse_reduction
        refuse_reduction(model)
    # Actions are shared between the parent entries that name equal actions.
    actions: dict = {}
    pos = 0                             # index in the frontier of the state being expanded
    timed = progress is not None or time_limit is not None or memory_limit_kib is not None

    def stats_now(complete: bool, reason: str) -> Stats:
        return Stats(generated, len(parents), depth, complete, reason,
                     time.perf_counter() - t0,
                     resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    try:
        while frontier and not stop:
            nxt: list = []
            append = nxt.append
            for pos, s in enumerate(frontier):
                # stay(pre) does not depend on the transition: evaluate it once per state
                live_s = [(i, ck, live_edges[i].append) for i, ck in live if ck.stay(model, s)]
                for a, t, eff in succ(s):
                    generated += 1
                    paths = eff.paths
                    if paths:
                        path_counts[paths] = path_counts.get(paths, 0) + 1
                    fns = by_kind.get(getattr(a, "kind", None), generic) if by_kind else generic
                    for i, fn, isbad in fns:
                        if isbad:
                            if bad[i] is None and fn(model, s, a, eff, t):
                                bad[i] = (s, a, t)
                        elif fn(model, s, a, eff, t):
                            wcount[i] += 1
                            if wit[i] is None:
                                wit[i] = (s, a, t)
                    for i, ck, rec in live_s:
                        if ck.stay(model, t):
                            rec((s, a, t, bool(ck.accept(model, s, a, eff, t))))
                    if t not in parents:
                        try:
                            a = actions.setdefault(a, a)
                        except TypeError:       # an unhashable action (toy models): keep it
                            pass
                        parents[t] = (s, a)
                        append(t)
                        for i, bad_state in state_fns:
                            if bad[i] is None and bad_state(model, t):
                                bad[i] = (s, a, t)
                if max_states is not None and len(parents) >= max_states:
                    stop = f"state cap {max_states} reached"
                    break
                if timed:
                    now = time.perf_counter()
                    if time_limit is not None and now - t0 > time_limit:
                        stop = f"time limit {time_limit:g} s reached"
                        break
                    if now >= next_report:
                        next_report = now + 1.0
                        rss = current_rss_kib()
                        if memory_limit_kib is not None and rss > memory_limit_kib:
                            stop = (f"memory guard: {rss // 1024} MiB resident exceeds "
                                    f"{memory_limit_kib // 1024} MiB (set --max-states)")
                            break
                        if progress is not None:
                            progress(Progress(len(parents), generated, depth,
                                              len(frontier) - pos - 1 + len(nxt),
                                              now - t0, rss))
            if nxt and not stop:
                depth += 1
            frontier = nxt
    except KeyboardInterrupt:
        raise SearchInterrupted(stats_now(False, "interrupted")) from None
    coverage: Counter = Counter()
    for paths, n in path_counts.items():
        for pth in paths:
            coverage[pth] += n
    complete = not stop
    elapsed = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stats = Stats(generated, len(parents), depth, complete, stop, elapsed, rss)
    cells = []
    for i, ck in enumerate(checks):
        wtrace = build_trace(model, parents, *wit[i]) if wit[i] is not None else None
        if i in live_edges:
            from .liveness import lasso_trace
            lasso = lasso_trace(model, parents, live_edges[i])
            live_edges[i] = []
            if lasso is not None:
                cells.append(CellResult(ck, Verdict.VIOLATED, lasso, wcount[i], wtrace))
                continue
        if bad[i] is not None:
            tr = build_trace(model, parents, *bad[i])
            cells.append(CellResult(ck, Verdict.VIOLATED, tr, wcount[i], wtrace))
        elif not complete:
            cells.append(CellResult(ck, Verdict.BOUNDED, None, wcount[i], wtrace))
        elif wit[i] is None:
            cells.append(CellResult(ck, Verdict.VACUOUS, None, 0, None))
        else:
            cells.append(CellResult(ck, Verdict.HOLDS, None, wcount[i], wtrace))
    return Result(model.name, tuple(cells), stats, tuple(sorted(coverage.items())),
                  parents if keep_parents else None)
