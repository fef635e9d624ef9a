"""The SVG chart of a trace page: free pages per zone against the watermarks (matplotlib).

:func:`render_chart_svg` draws one panel per zone -- stacked bars of non-CMA and CMA free
pages at each state (:func:`free_split`), the zone's min/low/high watermark lines, the
failing step(s) and a lasso's loop marked -- and a band for kswapd's phase under the panels.
The bytes are deterministic for one matplotlib version: a fixed ``svg.hashsalt``, no
metadata dates, text kept as text. Embedding the SVG in a page is :mod:`mmspec.docsgen_pages`.
"""

from __future__ import annotations

import io

from .errors import MmspecError
from .kernel import Allocator
from .trace import Trace
from .vocab import KswapdPhase

__all__ = ["render_chart_svg", "free_split"]

_RUNNING = int(KswapdPhase.RUNNING)
_NAPPING = int(KswapdPhase.NAPPING)


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
