"""The Markdown pages of the site: one per design and one per trace (with its step table).

:func:`trace_pages` picks a design's trace pages (:class:`Page`: a counterexample, a lasso or
the witness of a HOLDS another design violates); :func:`_trace_page` renders one -- what the
check and the design are, how to reproduce the verdict, the initial state, the chart
(:mod:`mmspec.docsgen_chart`, inlined) and the steps as an HTML table in kernel vocabulary
with the decisive ``zone_watermark_ok``/``wakeup_kswapd``/kswapd balance numbers;
:func:`_design_page` renders a design's docstring, switches, overridden hooks, zones and
verdicts. :func:`md` and the other helpers escape text for Markdown and HTML. The index and
the site's assembly are :mod:`mmspec.docsgen`.
"""

from __future__ import annotations

import html
import inspect
import re
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from .check import Check, Verdict
from .docsgen_chart import _KSWAPD_LABEL, _failing_steps, free_split
from .kernel import Allocator
from .matrix import cell_text, judge_cells, steps
from .state import ALLOC, FREE
from .trace import Trace, state_fields

if TYPE_CHECKING:  # pragma: no cover
    from .explore import Result

__all__ = ["Page", "trace_pages", "md", "SEMANTICS_PAGE"]

SEMANTICS_PAGE = "semantics.md"
#: front matter of the trace pages: the table of contents is hidden (room for the step table)
_NO_TOC = "---\nhide:\n  - toc\n---\n"

#: Log lines that carry the decisive watermark numbers of a step.
_DECISIVE = re.compile(r"zone_watermark_ok\(|wakeup_kswapd\(|pgdat_balanced|balance_pgdat pass"
                       r"|zone_balanced|page allocation failure|gives up|try_to_free_pages")


@dataclass(frozen=True)
class Page:
    """One trace page to render: a counterexample (``kind`` "counterexample" or "lasso")
    or a witness of a HOLDS (``kind`` "witness")."""

    design: str
    check: Check
    kind: str
    trace: Trace

    @property
    def stem(self) -> str:
        suffix = "--witness" if self.kind == "witness" else ""
        return f"{self.design}--{self.check.name}{suffix}"


def trace_pages(model: Allocator, result: "Result", contrast: frozenset[str] = frozenset()
                ) -> list[Page]:
    """The trace pages of one design's result, in check order: the counterexample of every
    VIOLATED cell, and the witness trace of a HOLDS cell whose check is in ``contrast``
    (checks violated by some other design: there the witness shows that the situation the
    other design gets wrong is reached and handled)."""
    out = []
    for cell in result.cells:
        if cell.verdict == Verdict.VIOLATED and cell.trace is not None:
            kind = "lasso" if cell.trace.loop_start is not None else "counterexample"
            out.append(Page(model.name, cell.check, kind, cell.trace))
        elif (cell.verdict == Verdict.HOLDS and cell.witness_trace is not None
              and cell.check.name in contrast):
            out.append(Page(model.name, cell.check, "witness", cell.witness_trace))
    return out


# ------------------------------------------------------------------------------------------
# Small Markdown helpers.

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|])")


def md(text: str) -> str:
    """Escape prose for Markdown (kernel identifiers are full of underscores; Message-IDs
    in angle brackets must not become autolinks)."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return f"`{text}`"


def _docstring_md(doc: str) -> str:
    """A design docstring (summary line, then ``Heading`` lines each followed by an indented
    paragraph) as Markdown: headings become ``###``, paragraphs are dedented and escaped."""
    doc = inspect.cleandoc(doc or "")
    if not doc:
        return "*(no docstring)*\n"
    lines = doc.splitlines()
    out = [md(lines[0]), ""]
    i = 1
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and not line.startswith(" ") and nxt.startswith(" "):
            out += [f"### {md(line.strip())}", ""]
            i += 1
            block = []
            while i < len(lines) and (lines[i].startswith(" ") or not lines[i].strip()):
                block.append(lines[i])
                i += 1
            paras = textwrap.dedent("\n".join(block)).strip().split("\n\n")
            for para in paras:
                out += [md(" ".join(x.strip() for x in para.splitlines())), ""]
            continue
        out.append(md(line))
        i += 1
    return "\n".join(out).rstrip() + "\n"


def _repro(design: str, check: str) -> str:
    return f"mmspec check --design {design} --check {check}"


def _inline_svg(svg: str, stem: str) -> str:
    """The SVG as an element to inline in HTML/Markdown: no XML prolog, no blank lines,
    an id on the root element."""
    body = svg[svg.index("<svg"):]
    body = body.replace("<svg ", f'<svg id="chart-{stem}" class="mmspec-chart" role="img" ', 1)
    return "\n".join(line for line in body.splitlines() if line.strip())


# ------------------------------------------------------------------------------------------
# Pages.

def _h(text: str) -> str:
    return html.escape(text, quote=True)


_HYPHENATED = re.compile(r"\S*\w-\S*|\S*-[>\w]\S*")


def _words(text: str) -> str:
    """``text`` as HTML in which a word with a hyphen (``2->1``, ``-EBUSY``) is kept on one
    line: browsers may break after any hyphen."""
    out, pos = [], 0
    for m in _HYPHENATED.finditer(text):
        out.append(_h(text[pos:m.start()]))
        out.append(f'<span class="nw">{_h(m.group(0))}</span>')
        pos = m.end()
    out.append(_h(text[pos:]))
    return "".join(out)


def _step_outcome(model: Allocator, st) -> str:
    a, eff = st.action, st.effect
    phase = _KSWAPD_LABEL[st.state.kswapd]
    if a.kind == ALLOC:
        if not eff.ok:
            return "<strong>FAILS</strong>"
        return _h(f"page from {model.layout[eff.zone].label} pageblock {eff.block}")
    if a.kind == FREE:
        return "page freed"
    return _h(f"kswapd {phase}")


def _step_table(model: Allocator, trace: Trace) -> str:
    """The steps as an HTML table: step, the kernel call and its outcome, the decisive
    watermark numbers, the changed fields (kswapd's phase among them). Calls and field names
    wrap only at their spaces, never inside a word."""
    rows = ['<table id="step-table">',
            "<thead><tr><th>step</th><th>kernel call and outcome</th>"
            "<th>decisive watermark numbers</th><th>changed fields</th></tr></thead>",
            "<tbody>"]
    prev = state_fields(model, trace.init)
    for i, st in enumerate(trace.steps, 1):
        cur = state_fields(model, st.state)
        changed = [f"<code>{_h(k)}</code>: {_words(prev[k])} → {_words(v)}"
                   for k, v in cur.items() if prev.get(k) != v]
        prev = cur
        decisive = [ln.strip() for ln in st.log if _DECISIVE.search(ln)]
        note = ""
        if trace.loop_start is not None and i == trace.loop_start + 1:
            note = f"<br><em>(the loop starts here, from state {trace.loop_start})</em>"
        if trace.loop_start is not None and i == len(trace.steps):
            note += f"<br><em>(loop back to state {trace.loop_start})</em>"
        cls = ' class="failing"' if not st.effect.ok else ""
        rows.append(
            f'<tr id="step-{i}"{cls}><td>{i}</td>'
            f"<td><code>{_h(model.describe(st.action))}</code><br>→ "
            f"{_step_outcome(model, st)}{note}</td>"
            f"<td>{'<br>'.join(_words(x) for x in decisive) or '—'}</td>"
            f"<td>{'<br>'.join(changed) or '—'}</td></tr>")
    rows += ["</tbody>", "</table>"]
    return "\n".join(rows)


def _initial_state_md(model: Allocator, trace: Trace) -> list[str]:
    out = []
    for p, lay in enumerate(model.layout):
        non, cma = free_split(model, trace.init, p)
        out.append(f"- **{lay.label}**: {lay.managed} managed pages, {non} free non-CMA + {cma} "
                   f"free CMA; watermarks min/low/high {lay.wmark[0]}/{lay.wmark[1]}/"
                   f"{lay.wmark[2]}; pageblocks "
                   + md(" ".join(v for k, v in state_fields(model, trace.init).items()
                                 if k.startswith(f"{lay.label}.pageblock["))))
    out.append(f"- **kswapd**: {_KSWAPD_LABEL[trace.init.kswapd]}")
    return out


def _trace_page(model: Allocator, page: Page, svg: str) -> str:
    ck, tr = page.check, page.trace
    design = type(model)
    exp = None
    from .registry import expected_verdict
    exp = expected_verdict(design, ck)
    n = len(tr)
    fails = _failing_steps(tr)
    if page.kind == "witness":
        head = f"Witness: {ck.name} on {model.name}"
        what = (f"The check **holds** on `{model.name}` at the default scope: the whole reachable "
                f"state space was explored and no transition violates it. This is the shortest "
                f"path to the first transition on which its witness held ({md(ck.witness_doc)}), "
                f"which shows the guarded situation is reachable ({steps(n)}).")
    elif page.kind == "lasso":
        head = f"Counterexample: {ck.name} on {model.name}"
        what = (f"The check is **violated** on `{model.name}` at the default scope. Shortest "
                f"lasso: {steps(tr.loop_start)} to the loop start (state {tr.loop_start}), then "
                f"{steps(n - tr.loop_start)} around the loop; the last step is the loop back to "
                f"state {tr.loop_start}, and the loop repeats forever.")
    else:
        head = f"Counterexample: {ck.name} on {model.name}"
        what = (f"The check is **violated** on `{model.name}` at the default scope. Shortest "
                f"counterexample (breadth-first search): {steps(n)}"
                + (f"; step {', '.join(map(str, fails))} fails." if fails else "."))
    exp_txt = (f"Recorded expectation: {exp.value}." if exp is not None
               else "No expectation is recorded.")
    lines = [
        _NO_TOC,
        f"# {md(head)}", "",
        what, "",
        f"**The check.** `{ck.name}`: {md(ck.title)} (claim {md(ck.claim)}). Its witness: "
        f"{md(ck.witness_doc)}." + (f" {md(' '.join(ck.doc.split()))}" if ck.doc else "")
        + f" {exp_txt}", "",
        f"**The design.** [`{model.name}`](../designs/{model.name}.md): {md(design.title)}. "
        f"Source: {md(design.source)}.", "",
        "**Reproduce** the verdict (prints the counterexample in full; `--json FILE` writes it "
        "as ITF):" if page.kind != "witness" else
        "**Reproduce** the verdict (this page is regenerated by `mmspec docs`):", "",
        "```sh", _repro(model.name, ck.name), "```", "",
        "## Initial state", "",
        *_initial_state_md(model, tr), "",
        "## Chart", "",
        "Free pages per zone at each state (blue: not CMA; hatched violet: CMA memory) "
        "against the zone's min, low and high watermarks; the band at the bottom is "
        "kswapd (grey asleep, amber napping, green running balance_pgdat)"
        + (f"; the dotted line marks the loop start (state {tr.loop_start}) and the dashed "
           f"line the loop back (state {n}, the same state as state {tr.loop_start})"
           if tr.loop_start is not None else "")
        + ("; a red vertical line marks a step whose allocation fails." if fails else "."), "",
        '<div class="mmspec-chart-box">',
        _inline_svg(svg, page.stem),
        "</div>", "",
        f"[The chart as an SVG file]({page.stem}.svg)", "",
        "## Steps", "",
        "Each step is one kernel call; *decisive watermark numbers* are the "
        "`zone_watermark_ok`, `wakeup_kswapd` and kswapd balance checks the step made, "
        "with the numbers the kernel compares; *changed fields* is the state diff.", "",
        _step_table(model, tr), "",
        f"[Back to the matrix](../index.md) · [the model's semantics](../{SEMANTICS_PAGE})", "",
    ]
    return "\n".join(lines)


def _switches(design: type[Allocator]) -> list[str]:
    out = []
    for attr in ("cma_zone", "cma_migratetype", "wmark_basis_includes_cma"):
        out.append(f"| `{attr}` | `{getattr(design, attr)}` | "
                   + md(" ".join(_ATTR_DOC[attr].split())) + " |")
    return out


_ATTR_DOC = {
    "cma_zone": "CMA memory is moved into its own ZONE_CMA",
    "cma_migratetype": "MIGRATE_CMA pageblocks, ALLOC_CMA and NR_FREE_CMA_PAGES exist",
    "wmark_basis_includes_cma": "CMA pages are managed when the watermarks are derived",
}


def _hooks(design: type[Allocator]) -> list[str]:
    """Methods of the design that override the v4.6 base rules, with their docstrings."""
    out = []
    for klass in design.__mro__:
        if klass is Allocator or not issubclass(klass, Allocator):
            break
        for name in sorted(klass.__dict__):
            fn = klass.__dict__[name]
            if callable(fn) and not name.startswith("__") and hasattr(Allocator, name):
                doc = " ".join(inspect.cleandoc(fn.__doc__ or "(no docstring)").split())
                out.append(f"- `{name}` ({klass.__name__}): {md(doc)}")
    return out or ["- none: the v4.6 rules unchanged"]


def _design_page(model: Allocator, result: "Result", pages: Sequence[Page],
                 checks: Sequence[Check]) -> str:
    design = type(model)
    mod = sys.modules.get(design.__module__)
    doc = (mod.__doc__ if mod is not None else None) or design.__doc__ or ""
    by = {(p.check.name, p.kind == "witness"): p for p in pages}
    lines = [f"# Design `{model.name}`", "", f"**{md(design.title)}**", "",
             f"Source: {md(design.source)}", "",
             "## What it models", "", _docstring_md(doc),
             "## Switches", "", "| switch | value | meaning |", "| --- | --- | --- |",
             *_switches(design), "",
             "## Hooks overridden (differences from the v4.6 rules)", "", *_hooks(design), "",
             "## Zones at the default scope", "",
             "| zone | managed pages | min/low/high | lowmem_reserve | pageblocks |",
             "| --- | --- | --- | --- | --- |"]
    init = model.init_states()[0]
    for p, lay in enumerate(model.layout):
        blocks = " ".join(v for k, v in state_fields(model, init).items()
                          if k.startswith(f"{lay.label}.pageblock["))
        lines.append(f"| {lay.label} | {lay.managed} | {lay.wmark[0]}/{lay.wmark[1]}/"
                     f"{lay.wmark[2]} | {', '.join(map(str, lay.lowmem_reserve))} | "
                     f"{md(blocks)} |")
    judged = judge_cells([(model, result)], checks, model.scope)[0]
    differ = [x for x in judged if x.differs or x.expected is None]
    lines += ["", "## Verdicts at the default scope", "",
              ("Every verdict is the expectation recorded for this scope." if not differ else
               "A verdict that is not the expectation recorded for this scope says so."), "",
              "| check | verdict | trace |", "| --- | --- | --- |"]
    for x in judged:
        ck = x.check
        cex = by.get((ck.name, False))
        wit = by.get((ck.name, True))
        link = (f"[counterexample](../traces/{cex.stem}.md)" if cex else
                f"[witness](../traces/{wit.stem}.md)" if wit else "—")
        note = ("" if not (x.differs or x.expected is None or x.path_missing)
                else f" ({x.judgement}" + (", INCONCLUSIVE (path)" if x.path_missing else "")
                + ")")
        lines.append(f"| `{ck.name}` | {cell_text(x.cell)}{note} | {link} |")
    s = result.stats
    lines += ["", f"Explored: {s.distinct} distinct states, {s.generated} transitions, "
              f"depth {s.depth}" + ("" if s.complete else f", INCOMPLETE ({s.stop_reason})")
              + ".", "", "```sh", f"mmspec check --design {model.name}", "```", "",
              f"[Back to the matrix](../index.md) · [the model's semantics](../{SEMANTICS_PAGE})",
              ""]
    return "\n".join(lines)
