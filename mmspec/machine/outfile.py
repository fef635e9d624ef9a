"""Output targets of ``import`` and ``diagnose``: the shared checker of mmspec.output when it
is present (issue 11), else a minimal equivalent (regular files only, ``-`` = stdout,
checked before any work, written atomically)."""

from __future__ import annotations

import os
from typing import TextIO

from ..errors import MmspecError

__all__ = ["target", "emit"]

try:                                            # pragma: no cover - depends on issue 11
    from ..output import output_file as _output_file
except ImportError:                             # pragma: no cover
    _output_file = None


def target(path: str | None, option: str):
    """Check ``path`` before any work; returns a handle for :func:`emit` (None: not given)."""
    if path is None:
        return None
    if _output_file is not None:
        return _output_file(path, option)
    if path == "-":
        return ("-", None)
    real = os.path.realpath(path)
    d = os.path.dirname(real)
    if os.path.lexists(path) and not os.path.isfile(real):
        raise MmspecError(f"cannot write {option} {path!r}: not a regular file")
    if not os.path.isdir(d) or not os.access(d, os.W_OK):
        raise MmspecError(f"cannot write {option} {path!r}: directory {d!r} is missing or "
                          "not writable")
    return (path, real)


def emit(handle, text: str, out: TextIO) -> None:
    """Write ``text`` to a checked target (standard output for ``-``)."""
    if hasattr(handle, "write"):
        handle.write(text, out)
        return
    if handle[1] is None:
        out.write(text)
        return
    from ..cli import _atomic_write
    _atomic_write(handle[1], text)
