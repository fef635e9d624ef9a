"""Progress on standard error for long runs, in the manner of TLC's and SPIN's progress lines.

Nothing here touches standard output (which stays byte-identical across runs). A run shorter
than :data:`FIRST_AFTER_S` prints nothing. After that:

* when standard error is a terminal, one live line is rewritten in place about once a second
  and cleared when the phase ends;
* otherwise (a file, a pipe, CI logs) a full line is written every :data:`EVERY_S` seconds.

:meth:`Reporter.search` gives the callback for :func:`mmspec.explore.explore` (states
generated, distinct states, frontier, depth, distinct states per second, resident memory);
:meth:`Reporter.phase` covers work without a callback of its own (z3 queries, full-scale
simulations) with a heartbeat thread that names the phase, its elapsed time and memory.

The terminal part is a carriage return and an erase-to-end-of-line sequence; a library such
as rich would add a dependency for one line of output.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Callable, Iterator, TextIO

from .explore import Progress, Stats, current_rss_kib

__all__ = ["Reporter", "FIRST_AFTER_S", "EVERY_S", "memory_available_kib",
           "default_memory_limit_kib", "stats_block"]

#: no progress output for runs (phases) shorter than this
FIRST_AFTER_S = 2.0
#: seconds between two progress lines when standard error is not a terminal
EVERY_S = 5.0
#: the default memory guard: stop a search once it holds this share of the memory that was
#: available when it started
GUARD_SHARE = 0.8


def memory_available_kib() -> int | None:
    """``MemAvailable`` from /proc/meminfo (None where unavailable)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_memory_limit_kib() -> int | None:
    """The default memory guard: the resident set now plus 80 % of MemAvailable."""
    avail = memory_available_kib()
    if avail is None:
        return None
    return current_rss_kib() + int(avail * GUARD_SHARE)


def _mib(kib: int) -> str:
    return f"{kib // 1024:,} MiB"


def progress_text(p: Progress) -> str:
    rate = p.distinct / p.elapsed_s if p.elapsed_s > 0 else 0.0
    return (f"{p.generated:,} states generated, {p.distinct:,} distinct, "
            f"{p.frontier:,} on the frontier, depth {p.depth}, {rate:,.0f} distinct/s, "
            f"RSS {_mib(p.rss_kib)}, {p.elapsed_s:.0f} s")


def stats_block(label: str, s: Stats) -> str:
    """The statistics of a search cut short (Ctrl-C), one fact per line."""
    rate = f" ({s.distinct / s.elapsed_s:,.0f} distinct/s)" if s.elapsed_s > 0 else ""
    return (f"mmspec: interrupted: statistics of the search so far ({label}; not a result):\n"
            f"  distinct states   {s.distinct:,}\n"
            f"  states generated  {s.generated:,}\n"
            f"  depth completed   {s.depth}\n"
            f"  elapsed           {s.elapsed_s:.1f} s{rate}\n"
            f"  peak RSS          {_mib(s.peak_rss_kib)}\n")


class Reporter:
    """Writes progress lines to ``err`` (see the module docstring).

    ``tty`` overrides the terminal test; ``first_after``/``every`` the timings."""

    def __init__(self, err: TextIO, *, tty: bool | None = None,
                 first_after: float = FIRST_AFTER_S, every: float = EVERY_S) -> None:
        self.err = err
        if tty is None:
            try:
                tty = bool(err.isatty())
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.first_after = first_after
        self.every = every
        self.label = ""                 # what is running now (for an interrupt message)
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._live = False
        self._notes: set[str] = set()

    # -- output ---------------------------------------------------------------------------

    def _emit(self, text: str) -> None:
        with self._lock:
            if self.tty:
                self.err.write("\r" + text[:200] + "\x1b[K")
                self._live = True
            else:
                self.err.write(text + "\n")
            self.err.flush()

    def clear(self) -> None:
        """Remove the live line (before anything else is written to the terminal)."""
        with self._lock:
            if self._live:
                self.err.write("\r\x1b[K")
                self.err.flush()
                self._live = False

    def line(self, text: str) -> None:
        """A permanent line on standard error (``mmspec: `` is prepended)."""
        self.clear()
        with self._lock:
            self.err.write(f"mmspec: {text}\n")
            self.err.flush()

    def note(self, text: str) -> None:
        """``mmspec: note: text``, once per distinct text in this run."""
        if text not in self._notes:
            self._notes.add(text)
            self.line(f"note: {text}")

    # -- explicit search -------------------------------------------------------------------

    def search(self, label: str) -> Callable[[Progress], None]:
        """The ``progress=`` callback of :func:`mmspec.explore.explore` for one search."""
        self.label = label
        self.started = time.monotonic()
        last = [-self.every]

        def report(p: Progress) -> None:
            if p.elapsed_s < self.first_after:
                return
            if not self.tty and p.elapsed_s - last[0] < self.every:
                return
            last[0] = p.elapsed_s
            self._emit(f"mmspec: {label}: {progress_text(p)}")
        return report

    # -- any other long phase --------------------------------------------------------------

    @contextlib.contextmanager
    def phase(self, label: str, detail: Callable[[], str] | None = None) -> Iterator[None]:
        """Report ``label`` (and ``detail()``, if given) while the block runs: a heartbeat
        every second (terminal) or every :attr:`every` seconds, from :attr:`first_after` on."""
        self.label = label
        t0 = time.monotonic()
        self.started = t0
        stop = threading.Event()

        def beat() -> None:
            wait = self.first_after
            while not stop.wait(wait):
                extra = detail() if detail is not None else ""
                self._emit(f"mmspec: {label}: running, {time.monotonic() - t0:.0f} s, "
                           f"RSS {_mib(current_rss_kib())}" + (f", {extra}" if extra else ""))
                wait = 1.0 if self.tty else self.every
        th = threading.Thread(target=beat, name="mmspec-progress", daemon=True)
        th.start()
        try:
            yield
        finally:
            stop.set()
            th.join()
            self.clear()

    def elapsed(self) -> float:
        return time.monotonic() - self.started
