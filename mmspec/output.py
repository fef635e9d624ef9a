"""Output files: checked before any work is done, written whole, never over a special file.

Every command that writes files goes through this module (``check``/``compare --json``,
``docs --out``, ``python -m mmspec.testing --write-replays``):

* :func:`output_file` checks a ``--json``-style target before the search starts: ``-`` is
  standard output; an existing target must be a regular file, or a symbolic link to one
  (the file is written through the link, the link stays); devices, FIFOs, sockets,
  directories and dangling links are refused; the directory must accept a new file (a
  probe file is created and removed, so ``/proc/x.json`` fails here, not after the search).
* :func:`output_dir` does the same for a folder of generated files.
* :func:`write_text` writes a file atomically: a temporary file in the same directory,
  renamed over the target. A new file gets the usual mode (``0666`` less the umask), an
  existing file keeps its mode.

Every problem is an :class:`~mmspec.errors.MmspecError` with a one-line message.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from typing import TextIO

from .errors import MmspecError

__all__ = ["Output", "output_file", "output_dir", "write_text", "check_regular"]

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _err(option: str, path: str, why: str) -> MmspecError:
    return MmspecError(f"cannot write {option} {path!r}: {why}")


def check_regular(path: str, option: str = "output") -> str:
    """The file a write to ``path`` would replace: ``path`` itself (absolute) when it is
    missing or a regular file, the file a symbolic link points to when that is a regular
    file. Raises MmspecError for anything else (nothing is written)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return os.path.abspath(path)
    except OSError as exc:
        raise _err(option, path, exc.strerror or str(exc)) from None
    if stat.S_ISREG(st.st_mode):
        return os.path.abspath(path)
    hint = "; give a regular file, or - for standard output"
    if not stat.S_ISLNK(st.st_mode):
        raise _err(option, path, f"it is {_kind(st.st_mode)}, not a regular file" + (
            "" if stat.S_ISDIR(st.st_mode) else hint))
    real = os.path.realpath(path)
    try:
        target = os.stat(path)
    except OSError:
        raise _err(option, path, f"it is a symbolic link to {real!r}, which does not exist; "
                   "remove the link or give another path") from None
    if not stat.S_ISREG(target.st_mode):
        raise _err(option, path, f"it is a symbolic link to {_kind(target.st_mode)} "
                   f"({real!r})" + hint)
    return real


def _probe(directory: str, option: str, path: str) -> None:
    """Create and remove a file in ``directory``: the write will be allowed there."""
    if not os.path.isdir(directory):
        raise _err(option, path, f"directory {directory!r} does not exist")
    probe = os.path.join(directory, f".mmspec-probe-{secrets.token_hex(4)}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise _err(option, path, f"cannot create a file in {directory!r} "
                   f"({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


@dataclass(frozen=True)
class Output:
    """A checked output target: ``path`` is None for standard output."""

    option: str
    given: str
    path: str | None

    @property
    def is_stdout(self) -> bool:
        return self.path is None

    def write(self, text: str, out: TextIO) -> None:
        """Write ``text`` to the target (``out`` when the target is standard output)."""
        if self.path is None:
            out.write(text)
        else:
            write_text(self.path, text, self.option)


def output_file(path: str | None, option: str = "--json") -> Output | None:
    """Check a file target named on the command line, before any work (None: none given)."""
    if path is None:
        return None
    if path == "":
        raise MmspecError(f"{option} needs a file name (or - for standard output), got ''")
    if path == "-":
        return Output(option, path, None)
    real = check_regular(path, option)
    if os.path.exists(real) and not os.access(real, os.W_OK):
        raise _err(option, path, "the file is not writable")
    _probe(os.path.dirname(real), option, path)
    return Output(option, path, real)


def output_dir(path: str, option: str = "--out") -> str:
    """Check a folder target (created later if missing; its parent must exist). Returns the
    folder's real path."""
    if path == "":
        raise MmspecError(f"{option} needs a directory name, got ''")
    real = os.path.realpath(path)
    if os.path.lexists(path):
        if not os.path.isdir(real):
            try:
                kind = _kind(os.stat(path).st_mode)
            except OSError:
                kind = "a dangling symbolic link"
            raise _err(option, path, f"it is {kind}, not a directory")
        _probe(real, option, path)
    else:
        _probe(os.path.dirname(real), option, path)
    return real


def write_text(path: str, text: str, option: str = "output") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see the module docstring)."""
    real = check_regular(path, option)
    directory = os.path.dirname(real)
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        mode = None
    tmp = os.path.join(directory, f".mmspec-{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # umask applies
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(text)
        os.replace(tmp, real)
    except OSError as exc:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise _err(option, path, exc.strerror or str(exc)) from None
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
