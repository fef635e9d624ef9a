"""The compiled explicit engine: trace the rules, generate C, compile it, run the BFS in C.

:func:`explore_compiled` returns the same :class:`~mmspec.explore.Result` as the Python
engine (:func:`mmspec.explore.explore`), state for state: the C driver discovers states in
the same order, so distinct states, transitions, depth, the parent map, witness counts,
coverage and every shortest trace are identical. Traces are built from the C parent
pointers and replayed through the Python step function, as the Python engine does.

The library comes from :mod:`mmspec.engine.build` (generated, compiled, cached);
``MM_*`` are the driver's status codes (``bfs.c``).
"""

from __future__ import annotations

import ctypes
import hashlib
import resource
import time
from typing import Callable, Sequence

from ..check import Check, Verdict
from ..errors import MmspecError
from ..trace import replay
from .build import Built, CompilerMissing, build, is_built, prebuild, why_not_compiled

__all__ = ["explore_compiled", "digest_arrays", "CompilerMissing", "is_built", "prebuild",
           "why_not_compiled"]

#: the driver's status codes (bfs.c)
MM_RUNNING, MM_DONE, MM_CAP, MM_RANGE, MM_MEMORY, MM_NOMEM = range(6)


def digest_arrays(keys, parents, actions) -> str:
    """A digest of a search's parent map in discovery order: the packed states (8-byte
    words), parent indices (int32) and action codes (uint64), little-endian. Each part is a
    bytes-like object or an iterable of them (its chunks, hashed in order: the digest does
    not depend on how a part is cut)."""
    h = hashlib.sha256()
    for part in (keys, parents, actions):
        ph = hashlib.sha256()
        for chunk in ((part,) if isinstance(part, (bytes, bytearray, memoryview)) else part):
            ph.update(chunk)
        h.update(ph.digest())
    return h.hexdigest()


def _c_view(addr: int, nbytes: int) -> memoryview:
    """The driver's array at ``addr`` as a read-only view, without copying it."""
    return memoryview((ctypes.c_char * nbytes).from_address(addr)).cast("B").toreadonly()


def _actions_u64(view: memoryview, asz: int, chunk: int = 1 << 20):
    """The action codes widened to uint64 a chunk at a time (so digesting them does not
    hold a second copy of the whole array)."""
    import array
    for i in range(0, len(view), chunk * asz):
        part = view[i:i + chunk * asz]
        if asz == 8:
            yield part
        else:
            narrow = array.array("I")
            narrow.frombytes(part)
            yield array.array("Q", narrow).tobytes()


def explore_compiled(model, checks: Sequence[Check], *, max_states: int | None = None,
                     time_limit: float | None = None, keep_parents: bool = False,
                     progress: Callable | None = None, memory_limit_kib: int | None = None,
                     digest: bool = False):
    """:func:`mmspec.explore.explore` on the compiled engine (same result, same order).
    With ``digest``, returns ``(result, digest_arrays(...) of the parent map)``."""
    from ..explore import CellResult, Progress, Result, SearchInterrupted, current_rss_kib
    t0 = time.perf_counter()
    checks = list(checks)
    if any(getattr(ck, "is_liveness", False) for ck in checks):
        from ..liveness import refuse_reduction     # (networkx: imported only when needed)
        refuse_reduction(model)
    built = build(model, checks)
    sh = built.shape
    lay = sh.layout
    init_state = model.init_states()[0]
    init = (ctypes.c_int32 * sh.nleaf)(*built.plan["init"])
    lib = built.lib
    max_bytes = 0
    if memory_limit_kib is not None:
        max_bytes = max(1, (memory_limit_kib - current_rss_kib()) * 1024)
    ctx = lib.mm_new(init, max_states or 0, max_bytes, 1024)
    if not ctx:
        raise MmspecError("the compiled engine could not allocate its tables")
    try:
        stop = ""
        budget = 2000
        next_report = t0 + 1.0
        try:
            while True:
                built.upgrade()
                lib = built.lib
                c0 = time.perf_counter()
                st = lib.mm_run(ctx, budget)
                now = time.perf_counter()
                if now - t0 > 1.0:
                    built.start_fast()     # a long run: build the optimised library meanwhile
                if st != MM_RUNNING:
                    break
                # about a tenth of a second per call: progress, time limit and Ctrl-C
                dt = now - c0
                budget = max(100, min(1 << 22, int(budget * (0.1 / dt)) if dt > 0 else budget * 4))
                if time_limit is not None and now - t0 > time_limit:
                    stop = f"time limit {time_limit:g} s reached"
                    break
                if progress is not None and now >= next_report:
                    next_report = now + 1.0
                    n, head = lib.mm_stat(ctx, 0), lib.mm_stat(ctx, 4)
                    progress(Progress(n, lib.mm_stat(ctx, 1), lib.mm_stat(ctx, 2), n - head,
                                      now - t0, current_rss_kib()))
        except KeyboardInterrupt:
            raise SearchInterrupted(_stats(lib, ctx, t0, False, "interrupted")) from None
        if st == MM_RANGE:
            i = lib.mm_stat(ctx, 5)
            raise MmspecError(
                f"compiled engine: {lay.names[i]} = {lib.mm_stat(ctx, 6)} is outside its derived "
                f"range [{lay.lo[i]}, {lay.hi[i]}] (a model bound mmspec derives from the scope "
                "is wrong for this design); rerun with --engine python and report it")
        if st == MM_NOMEM:
            raise MmspecError("compiled engine: out of memory (set --max-states)")
        if st == MM_CAP:
            stop = f"state cap {max_states} reached"
        elif st == MM_MEMORY:
            stop = (f"memory guard: the search tables would exceed {memory_limit_kib // 1024} MiB "
                    "resident (set --max-states or --max-memory)")
        stats = _stats(lib, ctx, t0, not stop, stop)
        dec = _Decoder(built, ctx, model)
        cells = []
        for i, ck in enumerate(checks):
            wcount = lib.mm_check(ctx, i, 0)
            wfirst = [lib.mm_check(ctx, i, k) for k in (1, 2, 3)]
            bfirst = [lib.mm_check(ctx, i, k) for k in (4, 5, 6)]
            wtrace = dec.trace(*wfirst) if wfirst[0] != -2 else None
            if getattr(ck, "is_liveness", False):
                from ..liveness import find_loop
                lasso = dec.lasso(i, find_loop)
                if lasso is not None:
                    cells.append(CellResult(ck, Verdict.VIOLATED, lasso, wcount, wtrace))
                    continue
            bad_trace = None
            if ck.bad_state is not None and ck.bad_state(model, init_state):
                bad_trace = replay(model, init_state, [], [])
            elif bfirst[0] != -2:
                bad_trace = dec.trace(*bfirst)
            if bad_trace is not None:
                cells.append(CellResult(ck, Verdict.VIOLATED, bad_trace, wcount, wtrace))
            elif not stats.complete:
                cells.append(CellResult(ck, Verdict.BOUNDED, None, wcount, wtrace))
            elif wfirst[0] == -2:
                cells.append(CellResult(ck, Verdict.VACUOUS, None, 0, None))
            else:
                cells.append(CellResult(ck, Verdict.HOLDS, None, wcount, wtrace))
        coverage = tuple(sorted((t, lib.mm_tag(ctx, j)) for j, t in enumerate(sh.tags)
                                if lib.mm_tag(ctx, j)))
        parents = dec.parent_dict() if keep_parents else None
        res = Result(model.name, tuple(cells), stats, coverage, parents)
        if not digest:
            return res
        n = stats.distinct
        asz = 4 if sh.action_t == "uint32_t" else 8
        keys = _c_view(lib.mm_keys(ctx), 8 * sh.nw * n)
        par = _c_view(lib.mm_parents(ctx), 4 * n)
        acts = _c_view(lib.mm_actions(ctx), asz * n)
        return res, digest_arrays(keys, par, _actions_u64(acts, asz))
    finally:
        lib.mm_free(ctx)


def _stats(lib, ctx, t0: float, complete: bool, reason: str):
    from ..explore import Stats
    return Stats(lib.mm_stat(ctx, 1), lib.mm_stat(ctx, 0), lib.mm_stat(ctx, 2), complete,
                 reason, time.perf_counter() - t0,
                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class _Decoder:
    """States, actions and traces from the C tables (state indices, action codes)."""

    def __init__(self, built: Built, ctx, model) -> None:
        self.b, self.ctx, self.model = built, ctx, model
        self.key = (ctypes.c_uint64 * built.shape.nw)()
        self._states: dict = {}

    def state(self, idx: int):
        s = self._states.get(idx)
        if s is None:
            self.b.lib.mm_key(self.ctx, idx, self.key)
            sh = self.b.shape
            s = self._states[idx] = sh.layout.decode(sh.unpack(list(self.key)))
        return s

    def action(self, code: int):
        return self.b.shape.decode_action(code)

    def path(self, idx: int):
        """(initial state, [(action, state), ...]) ending at state ``idx``."""
        lib = self.b.lib
        steps = []
        while True:
            p = lib.mm_parent(self.ctx, idx)
            if p < 0:
                break
            steps.append((self.action(lib.mm_action(self.ctx, idx)), self.state(idx)))
            idx = p
        steps.reverse()
        return self.state(idx), steps

    def trace(self, pre: int, code: int, post: int):
        s0, steps = self.path(pre)
        steps.append((self.action(code), self.state(post)))
        return replay(self.model, s0, [a for a, _ in steps], [t for _, t in steps])

    def lasso(self, i: int, find_loop):
        """The lasso of liveness check ``i`` exactly as :func:`mmspec.liveness.find_loop`
        finds it on the recorded edges; which accepting edge closes a loop is decided in C
        (strongly connected components), so a check without a lasso never builds the
        graph in Python."""
        lib = self.b.lib
        k = lib.mm_first_lasso_edge(self.ctx, i)
        if k == -2:
            raise MmspecError("compiled engine: out of memory finding a lasso")
        if k < 0:
            return None
        n = lib.mm_stat(self.ctx, 8)
        raw = lib.mm_edges(self.ctx)
        edges = []
        for j in range(n):
            pre, code, post, tag = raw[4 * j], raw[4 * j + 1], raw[4 * j + 2], raw[4 * j + 3]
            if tag >> 1 == i:
                edges.append((pre, code, post, bool(tag & 1)))
        u, loop = find_loop(edges, first=k)
        s0, steps = self.path(u)
        loop_start = len(steps)
        steps += [(self.action(code), self.state(v)) for code, v in loop]
        return replay(self.model, s0, [a for a, _ in steps], [t for _, t in steps],
                      loop_start=loop_start)

    def parent_dict(self) -> dict:
        lib = self.b.lib
        out: dict = {}
        for idx in range(lib.mm_stat(self.ctx, 0)):
            p = lib.mm_parent(self.ctx, idx)
            s = self.state(idx)
            out[s] = None if p < 0 else (self.state(p), self.action(lib.mm_action(self.ctx, idx)))
        return out


