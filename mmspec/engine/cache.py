"""The compiled engine's cache: where it is, what names an entry, checksums and pruning.

Generated programs are cached under the user's cache directory (``$MMSPEC_CACHE_DIR``,
else ``$XDG_CACHE_HOME/mmspec``, else ``~/.cache/mmspec``):

* ``plan-KEY.json``: what decoding needs (leaf layout, templates, choice slots, tags),
  keyed by a hash of everything the trace depends on (:func:`_plan_key`: the package's
  code, the design's and the checks' code outside it, the model's attributes and scope),
  so a cached program is used without tracing again;
* ``SRC.c``, ``SRC.O0.so``, ``SRC.O1.so``: the generated source (``SRC`` hashes it with
  the compiler's identity and flags) and its libraries, each with a ``.sha256`` beside
  it. A library whose bytes do not match is rebuilt, never loaded (:func:`_cached_lib`).

Past :data:`CACHE_BYTES` the least recently used files are removed (:func:`_prune`).
Writing plans and sources, and loading libraries, is :mod:`mmspec.engine.build`'s.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

from ..check import Check
from ..errors import MmspecError

__all__ = ["cache_dir", "CACHE_BYTES"]


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


#: the cache is pruned to half this size (oldest files first) when it grows beyond it
CACHE_BYTES = 512 << 20


def _prune(d: Path) -> None:
    """Keep the cache bounded: past :data:`CACHE_BYTES`, remove the least recently used
    entries (a library and its checksum, a source, a plan) down to half of it."""
    try:
        files = [(f.stat().st_atime, f.stat().st_size, f) for f in d.iterdir() if f.is_file()]
    except OSError:
        return
    total = sum(size for _, size, _ in files)
    if total <= CACHE_BYTES:
        return
    for _, size, f in sorted(files):
        if total <= CACHE_BYTES // 2:
            break
        try:
            f.unlink()
            total -= size
        except OSError:
            pass


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
