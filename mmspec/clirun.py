"""What the searching commands share (``check``, ``compare``, ``sweep``, ``docs``, ``prove``):
one search with progress lines, the memory guard and the engine choice (:func:`search`),
a design explored once per effective scope of its checks (:func:`_run`), and the pure
rendering helpers of their reports. No command is implemented here.
"""

from __future__ import annotations

import argparse
import textwrap
from collections import Counter
from typing import Any, Sequence, TextIO

from .check import Check, effective_scope
from .explore import Result
from .kernel import Allocator
from .progress import Reporter, default_memory_limit_kib
from .scope import Scope
from .trace import wrap_line

__all__ = ["reporter", "search", "stats_lines", "coverage_lines"]


# ------------------------------------------------------------------------------------------
# Searching with progress, the memory guard and the engine choice.

def reporter(args: argparse.Namespace, err: TextIO) -> Reporter:
    """The run's progress reporter (created by :func:`mmspec.cli.main`; one on ``err``
    otherwise)."""
    rep = getattr(args, "_reporter", None)
    if rep is None:
        rep = Reporter(err)
        args._reporter = rep
    return rep


def search(model: Allocator, checks: Sequence[Check], args: argparse.Namespace, err: TextIO,
           label: str, *, summary: bool = True, **kw: Any) -> Result:
    """:func:`mmspec.explore.explore` with the command's search options, progress lines on
    ``err``, the memory guard and the engine's fallback note; a timing line when done
    (unless not ``summary``)."""
    from .explore import explore
    rep = reporter(args, err)
    mem = getattr(args, "max_memory", None)
    limit = default_memory_limit_kib() if mem is None else (mem * 1024 or None)
    r = explore(model, checks, max_states=getattr(args, "max_states", None),
                time_limit=getattr(args, "time_limit", None), progress=rep.search(label),
                engine=getattr(args, "engine", "auto"), memory_limit_kib=limit,
                notice=rep.note, **kw)
    s = r.stats
    rate = f"{s.states_per_s:,.0f}" if s.elapsed_s > 0 else "-"
    if summary or not s.complete:
            rep.line(f"{label}: {s.distinct:,} states in {s.elapsed_s:.2f} s ({rate} states/s), "
                 f"peak RSS {s.peak_rss_kib // 1024} MiB"
                 + ("" if s.complete else f"; stopped: {s.stop_reason}"))
    return r


# ------------------------------------------------------------------------------------------
# Rendering helpers (pure).

def stats_lines(r: Result) -> list[str]:
    s = r.stats
    return [f"  {r.design}: {s.distinct} distinct states, {s.generated} transitions, "
            f"depth {s.depth}" + ("" if s.complete else f", INCOMPLETE ({s.stop_reason})")]


def coverage_lines(r: Result) -> list[str]:
    if not r.coverage:
        return ["  (no allocator path fired)"]
    return [f"  {n:>8}  {p}" for p, n in sorted(r.coverage, key=lambda x: (-x[1], x[0]))]


def _groups(scope: Scope, checks: Sequence[Check]) -> dict:
    """The checks grouped by the scope they run at (their ``Check.scope`` overrides)."""
    groups: dict = {}
    for ck in checks:
        groups.setdefault(effective_scope(scope, ck), []).append(ck)
    return groups


def _prebuild(designs: Sequence[type[Allocator]], scope: Scope, checks: Sequence[Check],
              args, err: TextIO | None = None) -> None:
    """Compile the programs of the explorations to come in parallel (compiled engine),
    saying so on ``err``."""
    if getattr(args, "engine", "auto") == "python":
        return
    from .engine.compiled import prebuild
    note = (lambda line: (err.write(f"mmspec: {line}\n"), err.flush())) if err else None
    prebuild([(d(sc), cks) for d in designs for sc, cks in _groups(scope, checks).items()],
             note=note, auto=getattr(args, "engine", "auto") == "auto")


def prepare(args, designs: Sequence[type[Allocator]], err: TextIO):
    """What ``check`` and ``compare`` do before searching, in this order (so the first bad
    input is the one reported): the checks asked for, the search options, the output file,
    the scope and its degenerate watermarks, then the compiled programs built in parallel.
    Returns ``(checks, output target, scope)``."""
    from . import registry
    from .cliargs import _check_search_args, _unique, check_degenerate, scope_from_args
    from .output import output_file
    _unique(args.check, "--check")
    checks = (registry.get_checks(args.check) if args.check
              else registry.checks(include_opt_in=args.all))
    _check_search_args(args)
    target = output_file(args.json)
    scope = scope_from_args(args)
    check_degenerate(scope, designs, args.allow_degenerate)
    _prebuild(designs, scope, checks, args, err)
    return checks, target, scope


def _run(design: type[Allocator], scope: Scope, checks: Sequence[Check], args, err: TextIO
         ) -> tuple[Allocator, Result]:
    """Explore ``design`` once per effective scope (checks with ``Check.scope`` overrides
    run at the scope in use with their overrides applied) and combine the cells in check
    order. Statistics and coverage are summed over the explorations; ``_MODELS[id(cell)]``
    is the model a cell's trace belongs to."""
    groups = _groups(scope, checks)
    cells: dict = {}
    parts = []
    for sc, cks in groups.items():
        model = design(sc)
        label = design.name if sc == scope else f"{design.name} ({', '.join(c.name for c in cks)})"
        r = search(model, cks, args, err, label)
        parts.append((model, r))
        for cell in r.cells:
            cells[cell.check.name] = cell
            _MODELS[id(cell)] = model
    if len(parts) == 1:
        return parts[0]
    cov: Counter = Counter()
    for _, r in parts:
        cov.update(dict(r.coverage))
    st = [r.stats for _, r in parts]
    stats = type(st[0])(sum(x.generated for x in st), sum(x.distinct for x in st),
                        max(x.depth for x in st), all(x.complete for x in st),
                        "; ".join(x.stop_reason for x in st if x.stop_reason),
                        sum(x.elapsed_s for x in st), max(x.peak_rss_kib for x in st))
    base = next((m for m, _ in parts if m.scope == scope), parts[0][0])
    return base, Result(design.name, tuple(cells[ck.name] for ck in checks), stats,
                        tuple(sorted(cov.items())))


#: the model each cell's trace was produced by (cells of checks with scope overrides)
_MODELS: dict = {}


def _model_of(cell, default: Allocator) -> Allocator:
    return _MODELS.get(id(cell), default)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _wrap(text: str, indent: str = "") -> str:
    """A paragraph wrapped at 100 columns (words are never broken)."""
    return textwrap.fill(text, 100, subsequent_indent=indent or "  ", break_long_words=False,
                         break_on_hyphens=False)


def _repro(design_arg: str, check: str, sc: str) -> str:
    return f"mmspec check {design_arg} --check {check}" + (f" {sc}" if sc else "")


class _Discard:
    """A text sink: the report when ``--json -`` takes standard output."""

    def write(self, text: str) -> int:
        return len(text)


class _Wrapped:
    """Writes whole lines to ``out`` wrapped at 100 columns (:func:`mmspec.trace.wrap_line`)."""

    def __init__(self, out) -> None:
        self.out = out

    def write(self, text: str) -> int:
        lines = text.split("\n")
        return self.out.write("\n".join(w for ln in lines for w in (wrap_line(ln) or [""])))
