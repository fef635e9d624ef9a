"""The design x check matrix of ``mmspec compare`` and ``docs/index.md`` (pure: results in,
text out).

Designs are rows and checks are numbered columns, so ten designs by ten checks fit in 100
columns of text (and in a 1400-pixel page); a legend names the columns and explains the cell
codes. A cell is judged against the expectation recorded for the scope it ran at
(:func:`mmspec.registry.expected_verdict`); the judgement is stated only where it is not
"as expected": a differing cell is marked ``*`` and listed, a scope without expectations
says so once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from .check import Check, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from .explore import CellResult, Result
    from .kernel import Allocator
    from .scope import Scope

__all__ = ["steps", "trace_text", "cell_code", "cell_text", "Judged", "judge_cells",
           "missing_paths", "MARK_DIFFERS", "MARK_PATH", "CODE_LEGEND", "legend_lines",
           "matrix_lines"]

MARK_DIFFERS = "*"     # the verdict differs from the recorded expectation
MARK_PATH = "?"        # a coverage path the check needs never fired (inconclusive)

#: (code, meaning) for the legend, in display order
CODE_LEGEND = (
    ("V n", "VIOLATED: the shortest counterexample has n steps"),
    ("V s+l", "VIOLATED (liveness): a lasso, s steps to a loop of l steps that repeats"),
    ("H", "HOLDS: every reachable state explored and the witness reached (counts: --json)"),
    ("VAC", "VACUOUS: the witness was never reached, so the check tested nothing"),
    ("BND", "BOUNDED: the search was cut (state cap, time limit or memory guard)"),
    (MARK_DIFFERS, "the verdict differs from the expectation recorded for this scope"),
    (MARK_PATH, "inconclusive: an allocator path the check needs never fired"),
)


def steps(n: int) -> str:
    """``1 step``, ``6 steps``."""
    return f"{n} step" if n == 1 else f"{n} steps"


def trace_text(tr) -> str:
    """How a counterexample is described: a shortest trace, or a lasso (stem + loop)."""
    if tr.loop_start is not None:
        return (f"lasso: stem {steps(tr.loop_start)} + loop {steps(len(tr) - tr.loop_start)}, "
                "the loop back marked")
    return f"shortest counterexample: {steps(len(tr))}"


def _parts(cell: "CellResult") -> tuple[str, str]:
    """(verdict word, detail): the detail is the counterexample's length (``6`` for 6 steps,
    ``4+3`` for a lasso), the witness count of a HOLDS, or empty."""
    v = cell.verdict
    tr = cell.trace
    if v == Verdict.VIOLATED:
        assert tr is not None
        if tr.loop_start is not None:
            return v.value, f"{tr.loop_start}+{len(tr) - tr.loop_start}"
        return v.value, str(len(tr))
    return v.value, str(cell.witness_count) if v == Verdict.HOLDS else ""


def cell_code(cell: "CellResult") -> str:
    """The short cell of the matrix: ``V 6``, ``V 4+3``, ``H``, ``VAC``, ``BND``."""
    word, detail = _parts(cell)
    if cell.verdict == Verdict.VIOLATED:
        return f"V {detail}"
    return {Verdict.HOLDS: "H", Verdict.VACUOUS: "VAC", Verdict.BOUNDED: "BND"}[cell.verdict]


def cell_text(cell: "CellResult") -> str:
    """The long form: ``VIOLATED 6 steps``, ``VIOLATED lasso 4+3``, ``HOLDS w=4082``."""
    word, detail = _parts(cell)
    if cell.verdict == Verdict.VIOLATED:
        return f"{word} lasso {detail}" if "+" in detail else f"{word} {steps(int(detail))}"
    return f"{word} w={detail}" if detail else word


def missing_paths(r: "Result", ck: Check) -> list[str]:
    """Coverage paths ``ck`` needs that never fired in ``r``."""
    fired = {p for p, _ in r.coverage}
    return [p for p in ck.needs if p not in fired]


@dataclass(frozen=True)
class Judged:
    """One cell with its judgement."""

    design: str
    check: Check
    cell: "CellResult"
    expected: Verdict | None      # None: no expectation at this scope
    path_missing: bool            # a needed path never fired (and not VIOLATED)

    @property
    def differs(self) -> bool:
        return self.expected is not None and self.expected != self.cell.verdict

    @property
    def inconclusive(self) -> bool:
        return self.path_missing or not self.cell.verdict.conclusive

    @property
    def judgement(self) -> str:
        if self.expected is None:
            return "no expectation at this scope"
        return "as expected" if not self.differs else f"differs: expected {self.expected.value}"


def judge_cells(results: Sequence[tuple["Allocator", "Result"]], checks: Sequence[Check],
                scope: "Scope") -> list[list[Judged]]:
    """``[design][check]`` judged cells (rows in ``results`` order)."""
    from .registry import expected_verdict
    rows = []
    for m, r in results:
        row = []
        for ck in checks:
            cell = r.cell(ck.name)
            row.append(Judged(m.name, ck, cell, expected_verdict(type(m), ck, scope),
                              bool(missing_paths(r, ck)) and cell.verdict != Verdict.VIOLATED))
        rows.append(row)
    return rows


def _marks(x: Judged) -> str:
    return (MARK_DIFFERS if x.differs else "") + (MARK_PATH if x.path_missing else "")


def legend_lines(rows: Sequence[Sequence[Judged]], long: bool) -> list[str]:
    """The legend entries for the codes and marks that occur in ``rows`` (``long``: the
    matrix shows :func:`cell_text`, which needs only the marks and ``w`` explained)."""
    keys = set()
    for row in rows:
        for x in row:
            c = cell_code(x.cell)
            keys.add("V s+l" if "+" in c else "V n" if c.startswith("V ") else c)
            if x.differs:
                keys.add(MARK_DIFFERS)
            if x.path_missing:
                keys.add(MARK_PATH)
    out = [f"  {code:<6} {meaning}" for code, meaning in CODE_LEGEND if code in keys
           and (not long or code in (MARK_DIFFERS, MARK_PATH))]
    if long and "H" in keys:
        out.append("  w=n    HOLDS: the check's witness held on n transitions (never vacuous)")
    return out


def matrix_lines(rows: Sequence[Sequence[Judged]], checks: Sequence[Check],
                 width: int = 100) -> tuple[list[str], bool]:
    """The matrix as text lines (a header of column numbers, one row per design) and
    whether the cells are in the long form (:func:`cell_text`, used when it fits in
    ``width`` columns) rather than the short codes (:func:`cell_code`)."""
    heads = [str(i) for i in range(1, len(checks) + 1)]
    dw = max([len("design")] + [len(row[0].design) for row in rows if row]) + 2
    for long in (True, False):
        cells = [[(cell_text(x.cell) if long else cell_code(x.cell)) + _marks(x) for x in row]
                 for row in rows]
        widths = [max([len(h)] + [len(row[j]) for row in cells]) for j, h in enumerate(heads)]
        if not long or dw + sum(widths) + 2 * (len(widths) - 1) <= width:
            break
    lines = ["design".ljust(dw) + "  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip()]
    lines.append("-" * len(lines[0]))
    for row, texts in zip(rows, cells):
        name = row[0].design if row else ""
        lines.append(name.ljust(dw) + "  ".join(c.ljust(w) for c, w in zip(texts, widths))
                     .rstrip())
    return lines, long
