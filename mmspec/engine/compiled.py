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
from pathlib import Path
from typing import Callable, Sequence

from ..check import Check, Verdict
from ..errors import MmspecError
from ..trace import replay
from .cgen import DriverShape, generate
from .lower import Program, trace_program, unsupported_reason

__all__ = ["explore_compiled", "compiler", "cache_dir", "build", "Built", "CompilerMissing",
           "why_not_compiled"]

#: flags besides the optimisation level (-O0 for a quick first build, -O1 for the one that
#: replaces it: as fast as -O2 on these sources and three times quicker to build)
CFLAGS = ("-fPIC", "-shared", "-std=gnu11", "-w", "-fno-strict-aliasing")
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


def _plan_dict(prog: Program, src_hash: str) -> dict:
    lay = prog.layout
    return {"design": prog.design, "src": src_hash, "init": list(prog.init),
            "layout": {"names": list(lay.names), "lo": list(lay.lo), "hi": list(lay.hi),
                       "bools": sorted(lay.bools), "shape": [list(x) for x in lay.shape]},
            "actions": [list(t.action[:5]) for t in prog.templates],
            "slots": [[[repr(k), [list(c) for c in cands]] for k, cands in t.slots]
                      for t in prog.templates],
            "tags": list(prog.tags), "nchk": len(prog.checks)}


def _shape_of(plan: dict) -> DriverShape:
    from ..state import Action
    from .lower import Layout
    L = plan["layout"]
    lay = Layout(tuple(L["names"]), tuple(L["lo"]), tuple(L["hi"]), frozenset(L["bools"]),
                 tuple(tuple(x) for x in L["shape"]))
    actions = [Action(*a) for a in plan["actions"]]
    slots = [[(k, [tuple(c) for c in cands]) for k, cands in sl] for sl in plan["slots"]]
    return DriverShape(lay, actions, slots, plan["tags"], plan["nchk"])


class Built:
    """A compiled program: its plan (what decoding needs) and its loaded library. A run
    that lasts starts the optimised build in the background (:meth:`start_fast`) and
    switches to it between two chunks once it is in the cache (:meth:`upgrade`)."""

    def __init__(self, plan: dict, path: Path, fast: Path | None = None,
                 c_path: Path | None = None) -> None:
        self.plan = plan
        self.shape = _shape_of(plan)
        self.lib = _load(path)
        self.fast, self.c_path = fast, c_path     # the -O1 library to come, and its source
        self.proc = None

    def start_fast(self) -> None:
        """Have the -O1 library built, unless a background build is running already (it
        may be building this one: compare queues them all)."""
        if self.fast is not None and self.proc is None:
            self.proc = _background_build((self.c_path, self.fast))

    def upgrade(self) -> None:
        if self.fast is not None and self.fast.with_suffix(".sha256").exists() \
                and _cached_lib(self.fast):
            self.lib = _load(self.fast)
            self.fast = None

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
        return [(sh.decode_action(codes[i]), list(posts[i * sh.nleaf:(i + 1) * sh.nleaf]),
                 list(outs[i * sh.nout:(i + 1) * sh.nout])) for i in range(n)]


_LIBS: dict = {}


def _load(path: Path):
    lib = _LIBS.get(str(path))
    if lib is not None:
        return lib
    lib = ctypes.CDLL(str(path))
    i64, i32p = ctypes.c_int64, ctypes.POINTER(ctypes.c_int32)
    u64p, vp = ctypes.POINTER(ctypes.c_uint64), ctypes.c_void_p
    for name, res, args in (
            ("mm_new", vp, [i32p, i64, i64, i64]), ("mm_free", None, [vp]),
            ("mm_run", ctypes.c_int, [vp, i64]), ("mm_stat", i64, [vp, ctypes.c_int]),
            ("mm_check", i64, [vp, ctypes.c_int, ctypes.c_int]),
            ("mm_tag", i64, [vp, ctypes.c_int]), ("mm_edges", ctypes.POINTER(i64), [vp]),
            ("mm_first_lasso_edge", i64, [vp, ctypes.c_int]),
            ("mm_keys", ctypes.c_void_p, [vp]), ("mm_parents", ctypes.c_void_p, [vp]),
            ("mm_actions", ctypes.c_void_p, [vp]),
            ("mm_key", None, [vp, i64, u64p]), ("mm_parent", i64, [vp, i64]),
            ("mm_action", ctypes.c_uint64, [vp, i64]), ("mm_lookup", i64, [vp, u64p]),
            ("mm_step", ctypes.c_int, [i32p, ctypes.c_int, i32p, ctypes.POINTER(i64)]),
            ("mm_successors", i64, [i32p, i64, u64p, i32p, ctypes.POINTER(i64)])):
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _LIBS[str(path)] = lib
    return lib


def _install(out: Path, so: Path) -> None:
    """Move a fresh library into the cache with its checksum beside it."""
    digest = _sha(out)
    os.replace(out, so)
    sig = so.with_suffix(".sha256")
    tmp = sig.with_name(sig.name + f".{os.getpid()}.tmp")
    tmp.write_text(digest + "\n")
    os.replace(tmp, sig)


def _cached_lib(so: Path) -> bool:
    sig = so.with_suffix(".sha256")
    try:
        return so.is_file() and sig.is_file() and sig.read_text().strip() == _sha(so)
    except OSError:
        return False


def _cache() -> Path:
    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MmspecError(f"cannot create the compiled-engine cache {str(d)!r}: {exc}; "
                          "set MMSPEC_CACHE_DIR to a writable directory") from None
    return d


def _compile(level: str, c_path: Path, so: Path) -> None:
    """Compile ``c_path`` into the cache entry ``so`` (with its checksum)."""
    cmd, _ = compiler()
    with tempfile.TemporaryDirectory(dir=so.parent, prefix=".build-") as tmp:
        out = Path(tmp) / "lib.so"
        r = subprocess.run(cmd + [level] + list(CFLAGS) + ["-o", str(out), str(c_path)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            first = (r.stderr or r.stdout).strip().splitlines()[:1]
            raise CompilerMissing("the C compiler failed on the generated engine: "
                                  f"{first[0] if first else 'no message'}")
        _install(out, so)


_BACKGROUND: list = []


def _background_build(*pairs: tuple[Path, Path]):
    """Build -O1 libraries (``(source, library)`` pairs, in order) in a separate process that
    installs each in the cache itself (it may outlive this process); at most one such
    process at a time."""
    import sys
    _BACKGROUND[:] = [p for p in _BACKGROUND if p.poll() is None]
    if _BACKGROUND or not pairs:
        return None
    args = [str(x) for pair in pairs for x in pair]
    proc = subprocess.Popen([sys.executable, "-m", "mmspec.engine.compiled", "-O1", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    _BACKGROUND.append(proc)
    return proc


_PKG_HASH: list = []
#: model attributes that are caches of the int engine, not part of what is traced
_SKIP_ATTRS = {"_intern", "_zid", "_zmemo", "_bintern", "_ztuples", "_cand_cache", "_scan_cache",
               "_checks_cma_positions", "_cma_area_cache", "_pure_hooks_v", "_tracer"}


def _file_bytes(obj) -> bytes | None:
    import inspect
    import sys
    mod = sys.modules.get(getattr(obj, "__module__", None) or "")
    f = getattr(mod, "__file__", None)
    if not f:
        try:
            f = inspect.getsourcefile(obj)
        except TypeError:
            f = None
    if not f:
        return None
    try:
        return Path(f).read_bytes()
    except OSError:
        return None


def _package_hash() -> str:
    if not _PKG_HASH:
        import importlib
        h = hashlib.sha256()
        for pkg in ("mmspec", "mmspec.models", "mmspec.checks"):
            for d in importlib.import_module(pkg).__path__:
                for f in sorted(Path(d).rglob("*")):
                    if f.suffix in (".py", ".c") and "__pycache__" not in f.parts:
                        h.update(str(f.relative_to(d)).encode() + b"\0" + f.read_bytes())
        _PKG_HASH.append(h.hexdigest())
    return _PKG_HASH[0]


def _plan_key(model, checks: Sequence[Check]) -> str | None:
    """A key naming everything a trace depends on (the package's code, the design's and
    the checks' code outside it, the model's attributes and scope), or None."""
    h = hashlib.sha256(_package_hash().encode())
    objs = [c for c in type(model).__mro__ if c is not object]
    for ck in checks:
        objs += [fn for fn in (ck.witness, ck.bad_step, ck.bad_state,
                               getattr(ck, "stay", None), getattr(ck, "accept", None)) if fn]
    for o in objs:
        mod = getattr(o, "__module__", "") or ""
        if mod.split(".")[0] == "mmspec" and not mod.startswith("mmspec_user"):
            h.update(mod.encode())
            continue
        data = _file_bytes(o)
        if data is None:
            return None
        h.update(mod.encode() + b"\0" + data)
    h.update(repr([ck.name for ck in checks]).encode())
    h.update(repr(type(model).__qualname__).encode())
    attrs = sorted((k, v) for k, v in model.__dict__.items() if k not in _SKIP_ATTRS)
    h.update(repr(attrs).encode())
    return h.hexdigest()[:40]


def build(model, checks: Sequence[Check] = (), prog: Program | None = None) -> Built:
    """The compiled library for exploring ``model`` with ``checks``: from the cache when the
    same code, scope and checks were compiled before, else traced, generated and compiled
    (``-O0`` now; ``-O1`` in the background, used once it is ready)."""
    import json
    _, ident = compiler()
    d = _cache()
    key = _plan_key(model, checks) if prog is None else None
    plan_file = d / f"plan-{key}.json" if key else None
    plan = None
    if plan_file is not None and plan_file.is_file():
        try:
            plan = json.loads(plan_file.read_text())
        except (OSError, ValueError):
            plan = None
    c_path = None
    if plan is not None:
        c_path = d / f"{plan['src']}.c"
    if plan is None or not c_path.is_file():
        prog = prog or trace_program(model, checks)
        src, _ = generate(prog)
        src_hash = hashlib.sha256("\0".join([ident, " ".join(CFLAGS), src]).encode()
                                  ).hexdigest()[:40]
        plan = _plan_dict(prog, src_hash)
        c_path = d / f"{src_hash}.c"
        tmp = c_path.with_name(c_path.name + f".{os.getpid()}.tmp")
        tmp.write_text(src)
        os.replace(tmp, c_path)
        if plan_file is not None:
            tmp = plan_file.with_name(plan_file.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(plan))
            os.replace(tmp, plan_file)
    fast, quick = d / f"{plan['src']}.O1.so", d / f"{plan['src']}.O0.so"
    if _cached_lib(fast):
        return Built(plan, fast)
    if not _cached_lib(quick):
        _compile("-O0", c_path, quick)
    return Built(plan, quick, fast, c_path)


def _plan_src(model, checks) -> str | None:
    """The source hash of this exploration's cached plan (None if none is cached)."""
    key = _plan_key(model, checks)
    if key is None:
        return None
    try:
        import json
        return json.loads((cache_dir() / f"plan-{key}.json").read_text())["src"]
    except (OSError, ValueError, KeyError):
        return None


def is_built(model, checks) -> bool:
    """Whether the compiled library for this exploration is in the cache already."""
    src = _plan_src(model, checks)
    d = cache_dir()
    return src is not None and (_cached_lib(d / f"{src}.O1.so") or _cached_lib(d / f"{src}.O0.so"))


def prebuild(jobs: Sequence[tuple], workers: int | None = None) -> None:
    """Trace and compile the programs of several explorations (``(model, checks)`` pairs)
    at once, one forked process per program and one per core, so that the explorations
    that follow find them in the cache. Best effort: any failure is left for the
    exploration itself to meet and report."""
    todo = [(m, c) for m, c in jobs if why_not_compiled(m, c) is None and not is_built(m, c)]
    if len(todo) < 2 or not hasattr(os, "fork"):
        return
    workers = workers or os.cpu_count() or 1
    running: list[int] = []
    for model, checks in todo:
        while len(running) >= workers:
            pid, _ = os.wait()
            if pid in running:
                running.remove(pid)
        pid = os.fork()
        if pid == 0:                  # the child: build into the cache, then leave at once
            code = 0
            try:
                build(model, checks)
            except BaseException:
                code = 1
            os._exit(code)
        running.append(pid)
    for pid in running:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    # then the optimised libraries, one after the other, while the explorations run
    pairs = []
    for model, checks in todo:
        src = _plan_src(model, checks)
        if src is not None:
            pairs.append((cache_dir() / f"{src}.c", cache_dir() / f"{src}.O1.so"))
    _background_build(*pairs)


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


def digest_arrays(keys: bytes, parents: bytes, actions: bytes) -> str:
    """A digest of a search's parent map in discovery order: the packed states (8-byte
    words), parent indices (int32) and action codes (uint64), little-endian."""
    h = hashlib.sha256()
    for part in (keys, parents, actions):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def explore_compiled(model, checks: Sequence[Check], *, max_states: int | None = None,
                     time_limit: float | None = None, keep_parents: bool = False,
                     progress: Callable | None = None, memory_limit_kib: int | None = None,
                     digest: bool = False):
    """:func:`mmspec.explore.explore` on the compiled engine (same result, same order).
    With ``digest``, returns ``(result, digest_arrays(...) of the parent map)``."""
    from ..explore import CellResult, Progress, Result, SearchInterrupted, current_rss_kib
    from ..liveness import find_loop, refuse_reduction
    t0 = time.perf_counter()
    checks = list(checks)
    if any(getattr(ck, "is_liveness", False) for ck in checks):
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
        import array
        n = stats.distinct
        keys = ctypes.string_at(lib.mm_keys(ctx), 8 * sh.nw * n)
        par = ctypes.string_at(lib.mm_parents(ctx), 4 * n)
        asz = 4 if sh.action_t == "uint32_t" else 8
        acts = array.array("Q", array.array("I" if asz == 4 else "Q",
                                            ctypes.string_at(lib.mm_actions(ctx), asz * n)))
        return res, digest_arrays(keys, par, acts.tobytes())
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


if __name__ == "__main__":       # background builds: python -m mmspec.engine.compiled LEVEL C SO ...
    import sys as _sys
    _a = _sys.argv[2:]
    for _c, _so in zip(_a[::2], _a[1::2]):
        if not _cached_lib(Path(_so)):
            try:
                _compile(_sys.argv[1], Path(_c), Path(_so))
            except MmspecError:
                pass
