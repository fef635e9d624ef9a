"""Render the checker's results as documentation pages (pure: results in, strings out).

:func:`render_site` turns the results of every design at one scope into a mapping
``relative path -> text``: ``index.md`` (the design x check matrix, the same cells and
expectation marks ``mmspec compare`` prints), ``designs/<design>.md`` (the design module's
docstring, its switches and hooks, its verdicts) and, per found trace,
``traces/<design>--<check>[--witness].md`` with a step table in kernel vocabulary and
``traces/<...>.svg``, a chart of the free pages per zone (CMA and non-CMA) against the
zone's min/low/high watermarks with kswapd's phase as a band and the failing step marked.
:func:`render_mkdocs_yml` writes the site configuration with a complete navigation.

Everything is deterministic: no timestamps, sorted or registry order only, and SVGs drawn
with a fixed ``svg.hashsalt``, no metadata dates and text kept as text (so the output is
byte-identical on every run with the same matplotlib). The only I/O is done by
:mod:`mmspec.cmd_docs`.
"""

from __future__ import annotations

import html
import inspect
import io
import re
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from .check import Check, Verdict
from .errors import MmspecError
from .kernel import Allocator
from .matrix import Judged, cell_text, judge_cells, steps
from .scope import default_scope
from .state import ALLOC, FREE
from .trace import Trace, state_fields
from .vocab import KswapdPhase

if TYPE_CHECKING:  # pragma: no cover
    from .explore import Result

__all__ = ["Page", "trace_pages", "render_site", "render_mkdocs_yml", "render_chart_svg",
           "free_split", "SEMANTICS_PAGE"]

SEMANTICS_PAGE = "semantics.md"
#: the claims list (hand-written like the semantics page)
CLAIMS_PAGE = "claims.md"
_RUNNING = int(KswapdPhase.RUNNING)
_NAPPING = int(KswapdPhase.NAPPING)

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


# ------------------------------------------------------------------------------------------
# Chart.

def free_split(model: Allocator, s, p: int) -> tuple[int, int]:
    """(non-CMA free pages, free CMA pages) of zone position ``p`` in state ``s``.

    Designs with MIGRATE_CMA pageblocks: the zone's NR_FREE_CMA_PAGES (what
    ``__zone_watermark_ok`` subtracts). Otherwise: the free pages of the zone's pageblocks
    that are CMA memory (``model.is_cma_memory``; the whole zone for a ZONE_CMA)."""
    z = s.zones[p]
    if model.cma_migratetype:
        cma = z.nr_free_cma
    else:
        cma = sum(b.free for i, b in enumerate(z.blocks) if model.is_cma_memory(p, i, b.mt))
    return z.nr_free - cma, cma


def _failing_steps(trace: Trace) -> list[int]:
    return [i for i, st in enumerate(trace.steps, 1) if not st.effect.ok]


_WM_STYLE = (("min", "#d62728", (0, (6, 2))), ("low", "#ff7f0e", (0, (3, 2))),
             ("high", "#2ca02c", (0, (1, 1.5))))
_NONCMA_COLOR = "#1f77b4"
_CMA_COLOR = "#c5b0d5"
_KSWAPD_COLOR = {0: "#e0e0e0", _NAPPING: "#fdd49e", _RUNNING: "#31a354"}
_KSWAPD_LABEL = {0: "asleep", _NAPPING: "napping (HZ/10)", _RUNNING: "running (balance_pgdat)"}


def render_chart_svg(model: Allocator, trace: Trace, title: str) -> str:
    """The trace as an SVG chart (deterministic bytes for one matplotlib version).

    One panel per zone: stacked bars of non-CMA and CMA free pages at each state (state 0 is
    the initial state, state i the state after step i), the zone's min/low/high watermark
    lines (SVG ids ``wmark-<zone>-min`` etc.), a kswapd band under the panels (green while
    balance_pgdat runs), the failing step(s) marked with a vertical line (id ``fail-<i>``).
    """
    try:
        import matplotlib
        matplotlib.use("Agg", force=True)
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError:  # pragma: no cover - depends on the installation
        raise MmspecError("rendering charts needs matplotlib: pip install 'mmspec[docs]'") from None
    rc = {"svg.hashsalt": "mmspec-docs", "svg.fonttype": "none", "font.family": "DejaVu Sans",
          "font.size": 9, "axes.titlesize": 10, "path.simplify": False}
    states = trace.states
    n = len(states)
    xs = list(range(n))
    fails = _failing_steps(trace)
    with matplotlib.rc_context(rc):
        nz = model.nz
        ratios = [3] * nz + [0.45]
        fig = Figure(figsize=(9.0, 1.1 + 2.1 * nz + 0.45))
        axes = fig.subplots(nz + 1, 1, sharex=True, gridspec_kw={"height_ratios": ratios})
        fig.suptitle(title, fontsize=10)
        for p in range(nz):
            ax = axes[p]
            lay = model.layout[p]
            split = [free_split(model, s, p) for s in states]
            non = [a for a, _ in split]
            cma = [b for _, b in split]
            b1 = ax.bar(xs, non, width=0.7, color=_NONCMA_COLOR, label="free, not CMA")
            for i, rect in enumerate(b1):
                rect.set_gid(f"free-noncma-{lay.label}-{i}")
            if any(cma) or model.cma_migratetype or any(
                    model.is_cma_memory(p, i, mt) for i, mt in enumerate(lay.blocks)):
                b2 = ax.bar(xs, cma, width=0.7, bottom=non, color=_CMA_COLOR, hatch="//",
                            edgecolor="#7b5ea7", linewidth=0.0, label="free CMA")
                for i, rect in enumerate(b2):
                    rect.set_gid(f"free-cma-{lay.label}-{i}")
            for k, (name, color, dash) in enumerate(_WM_STYLE):
                ln = ax.axhline(lay.wmark[k], color=color, linestyle=dash, linewidth=1.6,
                                label=f"{name} {lay.wmark[k]}")
                ln.set_gid(f"wmark-{lay.label}-{name}")
            for i in fails:
                vl = ax.axvline(i, color="#d62728", linewidth=1.2,
                                label=f"step {i}: allocation fails")
                vl.set_gid(f"fail-{i}-{lay.label}")
            if trace.loop_start is not None:
                ls = trace.loop_start
                vl = ax.axvline(ls, color="#555555", linestyle=":", linewidth=1.4,
                                label=f"loop start: state {ls}")
                vl.set_gid(f"loop-start-{lay.label}")
                vl = ax.axvline(n - 1, color="#555555", linestyle="--", linewidth=1.4,
                                label=f"loop back: state {n - 1} = state {ls}")
                vl.set_gid(f"loop-back-{lay.label}")
            ax.patch.set_gid(f"axes-{lay.label}")
            reserve = [r for r in lay.lowmem_reserve if r]
            extra = f", lowmem_reserve {max(reserve)} for higher classzones" if reserve else ""
            ax.set_title(f"{lay.label}: {lay.managed} managed pages, min/low/high "
                         f"{lay.wmark[0]}/{lay.wmark[1]}/{lay.wmark[2]}{extra}", loc="left")
            ax.set_ylabel("free pages")
            ax.set_ylim(0, max(lay.managed, lay.wmark[2]) + 0.5)
            ax.yaxis.get_major_locator().set_params(integer=True)
            # beside the panel, never over the bars
            leg = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                            frameon=False, borderaxespad=0.0)
            leg.set_gid(f"legend-{lay.label}")
            ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
            ax.set_axisbelow(True)
        band = axes[nz]
        for i, s in enumerate(states):
            r = band.axvspan(i - 0.5, i + 0.5, color=_KSWAPD_COLOR[s.kswapd], linewidth=0)
            r.set_gid(f"kswapd-{i}")
        for i in fails:
            band.axvline(i, color="#d62728", linewidth=1.2)
        band.set_yticks([])
        band.set_ylabel("kswapd", rotation=0, ha="right", va="center")
        band.set_xlim(-0.6, n - 0.4)
        band.set_xticks(xs)
        band.set_xlabel("state (0 = initial, i = after step i)")
        phases = sorted({s.kswapd for s in states})
        band.legend(handles=[Patch(color=_KSWAPD_COLOR[k], label=_KSWAPD_LABEL[k]) for k in phases],
                    loc="upper center", bbox_to_anchor=(0.5, -1.6), ncols=3, fontsize=7,
                    frameon=False)
        fig.subplots_adjust(left=0.08, right=0.74, top=1 - 0.55 / fig.get_figheight(),
                            bottom=0.9 / fig.get_figheight(), hspace=0.45)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None,
                                                  "Contributor": None, "Title": title})
    return buf.getvalue()


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


#: front matter of the wide pages: mkdocs-material hides the navigation and table of contents
_WIDE = "---\nhide:\n  - navigation\n  - toc\n---\n"
#: front matter of the trace pages: the table of contents is hidden (room for the step table)
_NO_TOC = "---\nhide:\n  - toc\n---\n"
_MARK = {Verdict.VIOLATED: "✗", Verdict.HOLDS: "✓", Verdict.VACUOUS: "○", Verdict.BOUNDED: "…"}


def _ident(name: str) -> str:
    """An identifier that may wrap only after its underscores (never inside a word)."""
    parts = name.split("_")
    segs = [p + "_" for p in parts[:-1]] + [parts[-1]]
    return "<wbr>".join(f'<span class="seg">{_h(x)}</span>' for x in segs if x)


def _matrix_cell(x: "Judged", page: Page | None) -> str:
    """One cell of the docs matrix: a symbol and the verdict in words (never colour alone),
    the length or witness count, and the judgement only where it is not "as expected"."""
    v = x.cell.verdict
    detail = cell_text(x.cell).partition(" ")[2]        # "6 steps", "lasso 4+3", "w=4082"
    text = f'<span class="v-{v.value.lower()}">{_MARK[v]} {v.value}</span>'
    if page is not None:
        text = f"[{text}](traces/{page.stem}.md)"
    if detail:
        text += f"<br>{detail}"
    if x.differs:
        assert x.expected is not None
        text += f'<br><span class="v-differs">≠ expected {x.expected.value}</span>'
    if x.path_missing:
        text += '<br><span class="v-differs">INCONCLUSIVE (path)</span>'
    if x.expected is None:
        text += "<br>no expectation"
    return text


def _index_page(results: Sequence[tuple[Allocator, "Result"]], checks: Sequence[Check],
                pages: dict[str, list[Page]], scope) -> str:
    judged = judge_cells(results, checks, scope)
    differ = [x for row in judged for x in row if x.differs]
    lines = [
        _WIDE,
        "# mmspec: Linux page-allocator designs, checked", "",
        "mmspec is a model checker for Linux page-allocator designs. It models zones, "
        "pageblocks and migratetypes, watermarks, gfp request classes, the allocation fast "
        "and slow paths, the fallback lists, kswapd and direct reclaim faithfully to Linux "
        "v4.6, explores every reachable state of a small scope breadth-first, and reports "
        "per design and check either **HOLDS** (the whole state space explored, with a "
        "witness that the guarded situation is reachable) or the **shortest "
        "counterexample**, replayed through the step function and written in kernel "
        "vocabulary.", "",
        f"How the model works, rule by rule: [semantics]({SEMANTICS_PAGE}). The claims the "
        f"checks encode: [claims]({CLAIMS_PAGE}). Every other page here is generated by "
        "`mmspec docs` from the checker's results; do not edit them by hand.", "",
        "## Design × check matrix (default scope)", "",
        "Rows are designs, columns are checks (the same cells as `mmspec compare`). Each "
        "cell links to its counterexample, or to the witness trace of a HOLDS that another "
        "design violates. ✗ VIOLATED: the shortest counterexample's length (a lasso: steps "
        "to the loop + steps around it); ✓ HOLDS: every reachable state explored, w = "
        "transitions on which the check's witness held (HOLDS is never vacuous); ○ VACUOUS: "
        "the witness was never reached, so the check tested nothing. "
        + ("Every verdict is the expectation recorded for this scope." if not differ else
           "A cell marked ≠ differs from the expectation recorded for this scope."), "",
        '<div class="mmspec-matrix" markdown="1">', "",
        "| design | " + " | ".join(_ident(ck.name) for ck in checks) + " |",
        "| --- | " + " | ".join("---" for _ in checks) + " |",
    ]
    for (m, r), row in zip(results, judged):
        by = {(p.check.name, p.kind == "witness"): p for p in pages[m.name]}
        cells = [_matrix_cell(x, by.get((x.check.name, False)) or by.get((x.check.name, True)))
                 for x in row]
        lines.append(f"| [`{m.name}`](designs/{m.name}.md) | " + " | ".join(cells) + " |")
    lines += ["", "</div>", "", "## Checks", ""]
    for ck in checks:
        lines.append(f"- `{ck.name}`: {md(ck.title)} (claim {md(ck.claim)}; witness: "
                     f"{md(ck.witness_doc)})")
    lines += ["", "## Designs", ""]
    for m, r in results:
        lines.append(f"- [`{m.name}`](designs/{m.name}.md): {md(type(m).title)}")
    lines += ["", "## Statistics", ""]
    for m, r in results:
        s = r.stats
        lines.append(f"- `{m.name}`: {s.distinct} distinct states, {s.generated} transitions, "
                     f"depth {s.depth}" + ("" if s.complete else f", INCOMPLETE ({s.stop_reason})"))
    lines += ["", "## Reproduce", "", "```sh", "mmspec compare      # the matrix, with the "
              "counterexamples in full", "mmspec docs         # regenerate these pages",
              "```", ""]
    return "\n".join(lines)


def render_site(results: Sequence[tuple[Allocator, "Result"]], checks: Sequence[Check]
                ) -> dict[str, str]:
    """Every generated file as ``{path relative to docs/: text}``, sorted by path.

    ``results`` are (design instance, explore result) pairs at the default scope, in
    registry order, each explored with ``checks``."""
    files: dict[str, str] = {}
    pages: dict[str, list[Page]] = {}
    violated = frozenset(c.check.name for _, r in results for c in r.cells
                         if c.verdict == Verdict.VIOLATED)
    for m, r in results:
        pg = trace_pages(m, r, violated)
        pages[m.name] = pg
        files[f"designs/{m.name}.md"] = _design_page(m, r, pg, checks)
        for page in pg:
            tr = page.trace
            title = (f"{page.check.name} on {m.name}: "
                     + ("witness" if page.kind == "witness" else page.kind)
                     + (f" ({tr.loop_start}+{len(tr) - tr.loop_start} steps)"
                        if tr.loop_start is not None else f" ({steps(len(tr))})"))
            svg = render_chart_svg(m, page.trace, title)
            files[f"traces/{page.stem}.svg"] = svg
            files[f"traces/{page.stem}.md"] = _trace_page(m, page, svg)
    files["index.md"] = _index_page(results, checks, pages,
                                    results[0][0].scope if results else default_scope())
    files["mmspec.css"] = CSS
    return dict(sorted(files.items()))


def render_mkdocs_yml(files: Sequence[str], designs: Sequence[str]) -> str:
    """mkdocs.yml for the generated pages (``files`` relative to docs/), nav complete: the
    matrix, the semantics, the designs in ``designs`` order, then each design's traces."""
    out = [
        "# Generated by `mmspec docs` (the navigation lists every generated page); edit",
        "# mmspec/docsgen.py:render_mkdocs_yml instead of this file.",
        "site_name: mmspec",
        "site_description: Model-checked Linux page-allocator designs (MIGRATE_CMA vs ZONE_CMA)",
        "docs_dir: docs",
        "use_directory_urls: false",
        "theme:",
        "  name: material",
        "  font: false",
        "  features:",
        "    - navigation.sections",
        "markdown_extensions:",
        "  - tables",
        "  - md_in_html",
        "  - toc:",
        "      permalink: true",
        "extra_css:",
        "  - mmspec.css",
        "nav:",
        "  - Matrix: index.md",
        f"  - Semantics: {SEMANTICS_PAGE}",
        f"  - Claims: {CLAIMS_PAGE}",
        "  - Designs:",
    ]
    out += [f"      - {d}: designs/{d}.md" for d in designs if f"designs/{d}.md" in files]
    out.append("  - Traces:")
    for d in designs:
        mine = sorted(f for f in files if f.startswith(f"traces/{d}--") and f.endswith(".md"))
        if mine:
            out.append(f"      - {d}:")
            out += [f"          - \"{f[len('traces/') + len(d) + 2:-3]}\": {f}" for f in mine]
    return "\n".join(out) + "\n"


#: Stylesheet for the site (written as docs/mmspec.css).
CSS = """\
/* Generated by `mmspec docs`. */
.md-grid { max-width: 90rem; }
.mmspec-chart-box { overflow-x: auto; margin: 1em 0; }
.mmspec-chart-box svg { max-width: 100%; height: auto; }
/* the matrix: identifiers wrap only after an underscore, never inside a word */
.md-typeset .mmspec-matrix table:not([class]) { font-size: 0.6rem; }
.md-typeset .mmspec-matrix th, .md-typeset .mmspec-matrix td {
  padding: 0.45em 0.55em; vertical-align: top; }
.mmspec-matrix .seg, .md-typeset .mmspec-matrix code { white-space: nowrap; }
.mmspec-matrix td { white-space: nowrap; }
.md-typeset .mmspec-matrix th { vertical-align: bottom; min-width: 0; }
.v-violated { font-weight: bold; color: #b2182b; }
.v-holds { color: #1a7837; }
.v-vacuous, .v-bounded { font-style: italic; color: #8c510a; }
.v-differs { font-weight: bold; text-decoration: underline; }
/* the step table: text wraps between words only, never inside one */
.md-typeset #step-table { font-size: 0.66rem; }
#step-table td, #step-table th { vertical-align: top; padding: 0.5em 0.6em; }
#step-table td { overflow-wrap: normal; word-break: normal; }
.md-typeset #step-table code { word-break: keep-all; overflow-wrap: normal; }
#step-table .nw { white-space: nowrap; }
#step-table td:nth-child(1) { width: 2.5em; }
#step-table td:nth-child(2) { width: 26%; }
#step-table td:nth-child(3) { width: 34%; }
#step-table tr.failing td { background: #fde0dd; }
"""
