"""Reading what a user pastes or copies off a machine: one-line errors that name the file and
line, binary detection, kernel-log prefixes, kernel version ranges.

Nothing here knows a /proc format; the parsers (``procfs``, ``report``) use these helpers.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass

from ..errors import MmspecError

__all__ = ["InputError", "special_kind", "Line", "text_lines", "strip_log_prefix", "VERSIONS", "VersionRange",
           "version_index", "shift", "vstr", "parse_version", "fields"]


class InputError(MmspecError):
    """Bad input file: the message is ``<file>:<line>: <what>`` (line 0: the file itself)."""

    def __init__(self, name: str, line: int, what: str) -> None:
        super().__init__(f"{name}:{line}: {what}")
        self.name, self.line, self.what = name, line, what


def special_kind(mode: int) -> str:
    """What a file that is neither a directory nor a regular file is, for messages
    (``os.stat(...).st_mode``): reading a FIFO or a device could block or never end."""
    for test, what in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


@dataclass(frozen=True)
class Line:
    no: int          # 1-based line number in the file
    text: str        # with log prefixes removed (see strip_log_prefix)


def text_lines(name: str, data: bytes, *, log: bool = False) -> list[Line]:
    """Decode ``data`` as text; a binary file (NUL bytes or mostly non-text) is an error.
    ``log``: remove kernel-log prefixes (timestamps, levels, syslog headers) from each line."""
    if b"\x00" in data[:65536]:
        raise InputError(name, 1, "binary file (NUL bytes), expected kernel text output")
    text = data.decode("utf-8", errors="replace")
    sample = text[:65536]
    if sample:
        bad = sum(1 for c in sample if c == "\ufffd" or (ord(c) < 32 and c not in "\t\r\n\f"))
        if bad * 10 > len(sample):
            raise InputError(name, 1, "binary file (mostly non-text bytes), expected kernel "
                             "text output")
    out = []
    for i, raw in enumerate(text.splitlines(), 1):
        out.append(Line(i, strip_log_prefix(raw) if log else raw.rstrip()))
    return out


#: prefixes a pasted kernel log may carry, removed repeatedly from the start of a line:
#: "<4>" console levels, "[  12.345678]" timestamps, "[  T123]"/"[ C0]" printk callers,
#: syslog/journal headers ("Mar  3 12:00:01 host kernel: "), "kern  :warn  : " (dmesg -x)
_PREFIXES = [
    re.compile(r"^<\d>"),
    re.compile(r"^\[\s*\d+\.\d+\]\s?"),
    re.compile(r"^\[\s*[TC]\d+\]\s?"),
    re.compile(r"^[A-Z][a-z]{2}\s+\d+\s+\d\d:\d\d:\d\d\s+\S+\s+kernel:\s?"),
    re.compile(r"^\d{4}-\d\d-\d\dT[\d:.,+-]+\s+\S+\s+kernel:\s?"),
    re.compile(r"^kernel:\s?"),
    re.compile(r"^\w+\s*:\s*(emerg|alert|crit|err|warn|notice|info|debug)\s*:\s?"),
]


def strip_log_prefix(raw: str) -> str:
    s = raw.rstrip()
    changed = True
    while changed:
        changed = False
        for rx in _PREFIXES:
            m = rx.match(s)
            if m and m.end() > 0:
                s = s[m.end():]
                changed = True
    return s


_FIELD = re.compile(r"([A-Za-z_][\w()]*(?:\?)?):\s?(-?\d+)\s?([kK]B)?")


def fields(text: str) -> dict[str, int]:
    """``name:value`` pairs of a show_free_areas line (``free:123kB`` -> 123); the first
    occurrence of a name wins."""
    out: dict[str, int] = {}
    for m in _FIELD.finditer(text):
        out.setdefault(m.group(1), int(m.group(2)))
    return out


# ------------------------------------------------------------------------------------------
# Kernel versions: every mainline release from v4.0 to v6.19, in order. A format feature
# seen in one tree and absent in another bounds the version range; ranges are inclusive.

VERSIONS: tuple[tuple[int, int], ...] = (
    tuple((4, m) for m in range(0, 21)) + tuple((5, m) for m in range(0, 20))
    + tuple((6, m) for m in range(0, 20)))


def version_index(v: tuple[int, int]) -> int:
    return VERSIONS.index(v)


def shift(v: tuple[int, int], by: int) -> tuple[int, int]:
    """The release ``by`` places after (or before) ``v``, clamped to the known range."""
    return VERSIONS[max(0, min(len(VERSIONS) - 1, version_index(v) + by))]


def vstr(v: tuple[int, int]) -> str:
    return f"v{v[0]}.{v[1]}"


def parse_version(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?", text.strip())
    if not m or (int(m.group(1)), int(m.group(2))) not in VERSIONS:
        raise MmspecError(f"--kernel {text!r}: give a mainline version from v4.0 to v6.19, "
                          "e.g. 5.10")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class VersionRange:
    """An inclusive range of kernel versions with the evidence that bounds it."""

    lo: tuple[int, int] = VERSIONS[0]
    hi: tuple[int, int] = VERSIONS[-1]
    evidence: tuple[str, ...] = ()

    def narrow(self, lo: tuple[int, int] | None, hi: tuple[int, int] | None,
               why: str) -> "VersionRange":
        nlo = max(self.lo, lo) if lo else self.lo
        nhi = min(self.hi, hi) if hi else self.hi
        if nlo > nhi:       # contradictory evidence: keep the range, record it
            return VersionRange(self.lo, self.hi, self.evidence + (f"{why} (CONTRADICTS the "
                                                                   "rest; ignored)",))
        return VersionRange(nlo, nhi, self.evidence + (why,))

    def __str__(self) -> str:
        if self.lo == VERSIONS[0] and self.hi == VERSIONS[-1]:
            return "any of v4.0..v6.19 (no distinguishing field)"
        return f"{vstr(self.lo)}..{vstr(self.hi)}"
