"""Building the compiled engine's libraries: plan and source, loading, background builds.

A program (:func:`mmspec.engine.lower.trace_program`) is generated as C
(:mod:`mmspec.engine.cgen`), compiled with the C compiler Python itself was built with
(:mod:`mmspec.engine.cc`; ``$CC`` overrides it) and cached under the user's cache directory
(:mod:`mmspec.engine.cache` lists its entries): :func:`build` writes the plan (what
decoding needs, keyed by everything the trace depends on, so a cached program is used
without tracing again) and the source, compiles it, and loads the library with its
``ctypes`` prototypes (:class:`Built`).

``-O0`` is built at once (under a second); ``-O1`` (as fast as ``-O2`` on these sources,
three times quicker to build) in a background process for runs that last, and the run
switches to it between two chunks.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence

from ..check import Check
from ..errors import MmspecError
from .cache import CACHE_BYTES, _cache, _cached_lib, _plan_key, _plan_src, cache_dir  # noqa: F401
from .cc import CFLAGS, CompilerMissing, _compile, compiler
from .cgen import DriverShape, generate
from .lower import Program, trace_program, unsupported_reason

__all__ = ["compiler", "cache_dir", "build", "Built", "CompilerMissing", "is_built",
           "prebuild", "why_not_compiled", "CFLAGS"]


def _plan_dict(prog: Program, src_hash: str) -> dict:
    lay = prog.layout
    return {"design": prog.design, "src": src_hash, "init": list(prog.init),
            "layout": {"names": list(lay.names), "lo": list(lay.lo), "hi": list(lay.hi),
                       "bools": sorted(lay.bools), "shape": [list(x) for x in lay.shape],
                       "feat": list(lay.feat)},
            "actions": [list(t.action[:5]) for t in prog.templates],
            "slots": [[[repr(k), [list(c) for c in cands]] for k, cands in t.slots]
                      for t in prog.templates],
            "tags": list(prog.tags), "nchk": len(prog.checks)}


def _shape_of(plan: dict) -> DriverShape:
    from ..state import Action
    from .lower import Layout
    L = plan["layout"]
    lay = Layout(tuple(L["names"]), tuple(L["lo"]), tuple(L["hi"]), frozenset(L["bools"]),
                 tuple(tuple(x) for x in L["shape"]), feat=tuple(L.get("feat", (0, 0, 0))))
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
    proc = subprocess.Popen([sys.executable, "-m", "mmspec.engine.build", "-O1", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    _BACKGROUND.append(proc)
    return proc


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
    if c_path.stat().st_size > O1_MAX_SOURCE:
        return Built(plan, quick)
    return Built(plan, quick, fast, c_path)


#: sources larger than this get no -O1 build: cma_alloc's template (~50,000 expression
#: nodes, 2.1 MB of C) took 10 s at -O0 and 3 min 21 s at -O1 on the 2-core machine, for
#: searches that last a fraction of a second; a compaction program (0.8-1.1 MB of C) used
#: 3.7 GB and minutes at -O1. The order-0 programs of the shipped scopes are 0.27-0.49 MB
O1_MAX_SOURCE = 600_000


def costly(model) -> str | None:
    """Why building this design's program costs far more than the Python engine needs at
    the scopes it is used at (``auto`` builds it only for a search that outlasts
    :data:`mmspec.explore.AUTO_PYTHON_S`; ``--engine compiled`` always), or None."""
    if model.scope.cma_alloc_pageblocks:
        return ("cma_alloc's template (one migration-target allocation per page it may "
                "migrate) takes 15-25 s to trace and compile per design")
    return None


def is_built(model, checks) -> bool:
    """Whether the compiled library for this exploration is in the cache already."""
    src = _plan_src(model, checks)
    d = cache_dir()
    return src is not None and (_cached_lib(d / f"{src}.O1.so") or _cached_lib(d / f"{src}.O0.so"))


def prebuild(jobs: Sequence[tuple], workers: int | None = None,
             note: Callable[[str], None] | None = None, auto: bool = False) -> None:
    """Trace and compile the programs of several explorations (``(model, checks)`` pairs)
    at once, one forked process per program and one per core, so that the explorations
    that follow find them in the cache. Best effort: any failure is left for the
    exploration itself to meet and report. ``note`` gets a line before and after the
    builds (progress for the user: a first run spends seconds here). With ``auto``, the
    :func:`costly` programs are left out."""
    todo = [(m, c) for m, c in jobs if why_not_compiled(m, c) is None and not is_built(m, c)
            and not (auto and costly(m))]
    if len(todo) < 2 or not hasattr(os, "fork"):
        return
    workers = workers or os.cpu_count() or 1
    t0 = time.perf_counter()
    if note:
        note(f"compiled engine: building {len(todo)} programs ({workers} at a time; they "
             f"are cached for later runs)")
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
    if note:
        note(f"compiled engine: built in {time.perf_counter() - t0:.1f} s")
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


if __name__ == "__main__":       # background builds: python -m mmspec.engine.build LEVEL C SO ...
    import sys as _sys
    _a = _sys.argv[2:]
    for _c, _so in zip(_a[::2], _a[1::2]):
        if not _cached_lib(Path(_so)):
            try:
                _compile(_sys.argv[1], Path(_c), Path(_so))
            except MmspecError:
                pass
