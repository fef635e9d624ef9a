"""The C compiler of the compiled engine: which one, its identity, its flags, a compilation.

The compiler is the one Python itself was built with (``sysconfig``'s ``CC``; ``$CC``
overrides it); its ``--version`` line is its identity, part of the hash that names a
generated source in the cache (:mod:`mmspec.engine.cache`). :func:`_compile` builds a
library from a generated source into its cache entry, with its checksum beside it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
import tempfile
from pathlib import Path

from ..errors import MmspecError
from .cache import _install, _prune

__all__ = ["compiler", "CompilerMissing", "CFLAGS"]

#: flags besides the optimisation level (-O0 for a quick first build, -O1 for the one that
#: replaces it: as fast as -O2 on these sources and three times quicker to build)
CFLAGS = ("-fPIC", "-shared", "-std=gnu11", "-w", "-fno-strict-aliasing")


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


def _compile(level: str, c_path: Path, so: Path) -> None:
    """Compile ``c_path`` into the cache entry ``so`` (with its checksum)."""
    cmd, _ = compiler()
    _prune(so.parent)
    with tempfile.TemporaryDirectory(dir=so.parent, prefix=".build-") as tmp:
        out = Path(tmp) / "lib.so"
        r = subprocess.run(cmd + [level] + list(CFLAGS) + ["-o", str(out), str(c_path)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            first = (r.stderr or r.stdout).strip().splitlines()[:1]
            raise CompilerMissing("the C compiler failed on the generated engine: "
                                  f"{first[0] if first else 'no message'}")
        _install(out, so)
