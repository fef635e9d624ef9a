"""The compiled explicit engine: trace the rules, generate C, compile it, run the BFS in C.

:func:`explore_compiled` returns the same :class:`~mmspec.explore.Result` as the Python
engine (:func:`mmspec.explore.explore`), state for state: the C driver discovers states in
the same order, so distinct states, transitions, depth, the parent map, witness counts,
coverage and every shortest trace are identical. Traces are built from the C parent
pointers and replayed through the Python step function, as the Python engine does.

The shared library is built once per generated source: with the C compiler Python was
built with (``sysconfig``'s ``CC``; ``$CC`` overrides it), cached under the user's cache
directory (``$MMSPEC_CACHE_DIR``, else ``$XDG_CACHE_HOME/mmspec``, else
``~/.cache/mmspec``) keyed by a hash of the source, the compiler and its flags, and
loaded with ctypes. Next to each library its SHA-256 is kept; a library whose bytes do not
match (corrupted, truncated, replaced) is rebuilt, never loaded.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import resource
import shlex
import subprocess
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

from ..check import Check, Verdict
from ..errors import MmspecError
from ..trace import replay
from .cgen import DriverShape, generate
from .lower import Program, trace_program, unsupported_reason
from .tracer import TraceError

__all__ = ["explore_compiled", "compiler", "cache_dir", "build", "Built", "CompilerMissing",
           "why_not_compiled"]

CFLAGS = ("-O2", "-fPIC", "-shared", "-std=gnu11", "-w", "-fno-strict-aliasing")
MM_RUNNING, MM_DONE, MM_CAP, MM_RANGE, MM_MEMORY, MM_NOMEM = range(6)


class CompilerMissing(MmspecError):
    """No working C compiler: the compiled engine is not available."""


_CC_CACHE: dict = {}


def compiler() -> tuple[list[str], str]:
    """``(command, identity)`` of the C compiler: ``$CC`` or the one Python was built with.
    Raises :class:`CompilerMissing` if it does not run."""
    cmd_s = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    hit = _CC_CACHE.get(cmd_s)
    if hit is not None:
        if isinstance(hit, Exception):
            raise hit
        return hit
    cmd = shlex.split(cmd_s)
    try:
        r = subprocess.run(cmd + ["--version"], capture_output=True, text=True, timeout=30)
        ok = r.returncode == 0
        ident = (r.stdout or r.stderr).strip().splitlines()[0] if ok else ""
    except (OSError, subprocess.SubprocessError, IndexError):
        ok, ident = False, ""
    if not ok:
        exc = CompilerMissing(f"no working C compiler ({cmd_s!r} does not run; set CC)")
        _CC_CACHE[cmd_s] = exc
        raise exc
    _CC_CACHE[cmd_s] = (cmd, f"{cmd_s} | {ident}")
    return _CC_CACHE[cmd_s]


def cache_dir() -> Path:
    d = os.environ.get("MMSPEC_CACHE_DIR")
    if d:
        return Path(d)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mmspec"


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Built:
    """A loaded shared library for one program."""

    def __init__(self, prog: Program, shape: DriverShape, path: Path) -> None:
        self.prog, self.shape, self.path = prog, shape, path
        lib = ctypes.CDLL(str(path))
        i64, i32p, u64p = ctypes.c_int64, ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_uint64)
        vp = ctypes.c_void_p
        lib.mm_new.restype = vp
        lib.mm_new.argtypes = [i32p, i64, i64, i64]
        lib.mm_free.argtypes = [vp]
        lib.mm_run.argtypes = [vp, i64]
        lib.mm_run.restype = ctypes.c_int
        lib.mm_stat.argtypes = [vp, ctypes.c_int]
        lib.mm_stat.restype = i64
        lib.mm_check.argtypes = [vp, ctypes.c_int, ctypes.c_int]
        lib.mm_check.restype = i64
        lib.mm_tag.argtypes = [vp, ctypes.c_int]
        lib.mm_tag.restype = i64
        lib.mm_edges.argtypes = [vp]
        lib.mm_edges.restype = ctypes.POINTER(i64)
        lib.mm_key.argtypes = [vp, i64, u64p]
        lib.mm_parent.argtypes = [vp, i64]
        lib.mm_parent.restype = i64
        lib.mm_action.argtypes = [vp, i64]
        lib.mm_action.restype = ctypes.c_uint64
        lib.mm_lookup.argtypes = [vp, u64p]
        lib.mm_lookup.restype = i64
        lib.mm_step.argtypes = [i32p, ctypes.c_int, i32p, ctypes.POINTER(i64)]
        lib.mm_step.restype = ctypes.c_int
        lib.mm_successors.argtypes = [i32p, i64, u64p, i32p, ctypes.POINTER(i64)]
        lib.mm_successors.restype = i64
        self.lib = lib

    # -- keys and states
    def unpack(self, key: Sequence[int]) -> list[int]:
        sh, lay = self.shape, self.prog.layout
        out = []
        for i in range(sh.nleaf):
            b = sh.bits[i]
            out.append(((key[sh.words[i]] >> sh.shifts[i]) & ((1 << b) - 1)) + lay.lo[i]
                       if b else lay.lo[i])
        return out

    def pack(self, leaves: Sequence[int]) -> list[int]:
        sh, lay = self.shape, self.prog.layout
        key = [0] * sh.nw
        for i in range(sh.nleaf):
            if sh.bits[i]:
                key[sh.words[i]] |= (leaves[i] - lay.lo[i]) << sh.shifts[i]
        return key

    def successors(self, leaves: Sequence[int], limit: int = 4096):
        """Every successor of a state (its leaves) as ``(action, post leaves, outputs)``,
        in the explorer's order: the compiled step function alone."""
        sh = self.shape
        s = (ctypes.c_int32 * sh.nleaf)(*leaves)
        codes = (ctypes.c_uint64 * limit)()
        posts = (ctypes.c_int32 * (limit * sh.nleaf))()
        outs = (ctypes.c_int64 * (limit * sh.nout))()
        n = self.lib.mm_successors(s, limit, codes, posts, outs)
        if n < 0:
            raise MmspecError(f"more than {limit} successors")
        return [(sh.decode_action(self.prog, codes[i]),
                 list(posts[i * sh.nleaf:(i + 1) * sh.nleaf]),
                 list(outs[i * sh.nout:(i + 1) * sh.nout])) for i in range(n)]


def build(prog: Program) -> Built:
    """Generate, compile (or find in the cache) and load the library for ``prog``."""
    src, shape = generate(prog)
    cmd, ident = compiler()
    key = hashlib.sha256("\0".join([ident, " ".join(CFLAGS), src]).encode()).hexdigest()[:40]
    d = cache_dir()
    so, sig = d / f"{key}.so", d / f"{key}.sha256"
    if so.is_file() and sig.is_file():
        try:
            if sig.read_text().strip() == _sha(so):
                return Built(prog, shape, so)
        except OSError:
            pass
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MmspecError(f"cannot create the compiled-engine cache {str(d)!r}: {exc}; "
                          "set MMSPEC_CACHE_DIR") from None
    with tempfile.TemporaryDirectory(dir=d, prefix=".build-") as tmp:
        c = Path(tmp) / "step.c"
        c.write_text(src)
        out = Path(tmp) / "step.so"
        r = subprocess.run(cmd + list(CFLAGS) + ["-o", str(out), str(c)], capture_output=True,
                           text=True)
        if r.returncode != 0:
            first = (r.stderr or r.stdout).strip().splitlines()[:1]
            raise CompilerMissing(f"the C compiler failed on the generated engine: "
                                  f"{first[0] if first else 'no message'}")
        digest = _sha(out)
        os.replace(out, so)
        sig_tmp = Path(tmp) / "sig"
        sig_tmp.write_text(digest + "\n")
        os.replace(sig_tmp, sig)
    return Built(prog, shape, so)


def why_not_compiled(model, checks: Sequence[Check]) -> str | None:
    """Why the compiled engine cannot run this exploration (None if it can, as far as can
    be told without tracing)."""
    from ..kernel import Allocator
    if not isinstance(model, Allocator):
        return "the model is not an mmspec design"
    why = unsupported_reason(model)
    if why:
        return why
    for ck in checks:
        if getattr(ck, "is_liveness", False) and getattr(model, "state_reduction", None):
            return "liveness on a reduced state space"
    try:
        compiler()
    except CompilerMissing as exc:
        return str(exc)
    return None


def explore_compiled(model, checks: Sequence[Check], *, max_states: int | None = None,
                     time_limit: float | None = None, keep_parents: bool = False,
                     progress: Callable | None = None, memory_limit_kib: int | None = None):
    """:func:`mmspec.explore.explore` on the compiled engine (same result, same order)."""
    from ..explore import CellResult, Progress, Result, SearchInterrupted, Stats, current_rss_kib
    from ..liveness import find_loop, refuse_reduction
    t0 = time.perf_counter()
    checks = list(checks)
    if any(getattr(ck, "is_liveness", False) for ck in checks):
        refuse_reduction(model)
    prog = trace_program(model, checks)
    built = build(prog)
    lib, sh, lay = built.lib, built.shape, prog.layout
    init_state = model.init_states()[0]
    init = (ctypes.c_int32 * sh.nleaf)(*prog.init)
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
                c0 = time.perf_counter()
                st = lib.mm_run(ctx, budget)
                now = time.perf_counter()
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
        return Result(model.name, tuple(cells), stats, coverage, parents)
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
            s = self._states[idx] = self.b.prog.layout.decode(self.b.unpack(list(self.key)))
        return s

    def action(self, code: int):
        return self.b.shape.decode_action(self.b.prog, code)

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
        lib = self.b.lib
        n = lib.mm_stat(self.ctx, 8)
        raw = lib.mm_edges(self.ctx)
        edges = []
        for j in range(n):
            pre, code, post, tag = raw[4 * j], raw[4 * j + 1], raw[4 * j + 2], raw[4 * j + 3]
            if tag >> 1 == i:
                edges.append((pre, code, post, bool(tag & 1)))
        found = find_loop(edges)
        if found is None:
            return None
        u, loop = found
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
