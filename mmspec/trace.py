"""Traces: built from parent pointers, replayed through the step function, rendered.

A :class:`Trace` is only ever created by :func:`replay`, which re-runs every action through
``model.explain`` from the initial state and checks each recorded state; a trace that does
not replay raises :class:`~mmspec.errors.TraceReplayError`.
"""

from __future__ import annotations

import textwrap

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from .errors import TraceReplayError
from .state import (ALLOC, CMA_ALLOC, CMA_RELEASE, FREE, KSWAPD, PIN, UNPIN, Action, Effect,
                    State)

_FEATURE_KINDS = (PIN, UNPIN, CMA_ALLOC, CMA_RELEASE)
from .vocab import GFP_CLASSES, MT_SHORT, KswapdPhase, Migratetype, ZoneType

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Allocator

__all__ = ["Step", "Trace", "build_trace", "path_to", "replay", "state_fields", "render_state",
           "render_trace", "trace_to_itf", "actions_from_itf", "action_to_json",
           "action_from_json"]


@dataclass(frozen=True)
class Step:
    action: Action
    state: State          # the state after the action
    effect: Effect
    log: tuple[str, ...]  # kernel-vocabulary lines explaining the step


@dataclass(frozen=True)
class Trace:
    """A replayed path: ``init`` then ``steps``; ``loop_start`` marks a lasso's loop-back."""

    design: str
    init: State
    steps: tuple[Step, ...]
    loop_start: int | None = None

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(s.action for s in self.steps)

    @property
    def states(self) -> tuple[State, ...]:
        return (self.init,) + tuple(s.state for s in self.steps)


def replay(model: "Allocator", init: State, actions: Sequence[Action],
           expected_states: Sequence[State] | None = None, loop_start: int | None = None) -> Trace:
    """Re-run ``actions`` from ``init`` through the step function and return the trace.

    Raises
    ------
    TraceReplayError
        If ``init`` is not an initial state, an action is not enabled, or a recorded state in
        ``expected_states`` differs from the one the step function computes.
    """
    if init not in model.init_states():
        raise TraceReplayError("trace does not start in an initial state of this design and scope")
    steps = []
    s = init
    for i, a in enumerate(actions):
        try:
            t, eff, log = model.explain(s, a)
        except TraceReplayError as exc:
            raise TraceReplayError(f"step {i + 1}: {exc}") from None
        if expected_states is not None and expected_states[i] != t:
            raise TraceReplayError(f"step {i + 1}: {model.describe(a)} does not lead to the "
                                   "recorded state (tampered or stale trace)")
        steps.append(Step(a, t, eff, tuple(log)))
        s = t
    if loop_start is not None and (not 0 <= loop_start <= len(steps) or
                                   (steps and s != ((init,) + tuple(x.state for x in steps))[loop_start])):
        raise TraceReplayError("lasso does not close: the last state differs from the loop start")
    return Trace(model.name, init, tuple(steps), loop_start)


def path_to(parents: dict, state) -> tuple[Any, list]:
    """Follow BFS parent pointers back from ``state``: ``(initial state, [(action, state),
    ...])`` in forward order, ending at ``state``."""
    path: list = []
    s = state
    while parents[s] is not None:
        ps, pa = parents[s]
        path.append((pa, s))
        s = ps
    path.reverse()
    return s, path


def build_trace(model: "Allocator", parents: dict, pre: State | None, action: Action | None,
                post: State) -> Trace:
    """Follow parent pointers back from ``pre`` (then take ``action`` to ``post``) and replay."""
    s, path = path_to(parents, pre if pre is not None else post)
    if pre is not None:
        path.append((action, post))
    return replay(model, s, [a for a, _ in path], [t for _, t in path])


# ------------------------------------------------------------------------------------------
# Rendering.

_PHASE = {int(KswapdPhase.SLEEPING): "asleep", int(KswapdPhase.NAPPING): "napping (HZ/10)",
          int(KswapdPhase.RUNNING): "running balance_pgdat"}


def _block_str(model: "Allocator", blk) -> str:
    parts = [f"free {blk.free}"] if blk.free else []
    parts += [f"{GFP_CLASSES[i].short} {n}" for i, n in enumerate(blk.held) if n]
    return f"{MT_SHORT[Migratetype(blk.mt)]}[{', '.join(parts) or 'empty'}]"


def state_fields(model: "Allocator", s: State) -> dict[str, str]:
    """The state flattened to named fields in kernel vocabulary (for diffs), in fixed order."""
    out: dict[str, str] = {}
    for p, z in enumerate(s.zones):
        lab = model.layout[p].label
        out[f"{lab}.NR_FREE_PAGES"] = str(z.nr_free)
        if model.cma_migratetype:
            out[f"{lab}.NR_FREE_CMA_PAGES"] = str(z.nr_free_cma)
        if model.fair:
            out[f"{lab}.NR_ALLOC_BATCH"] = str(z.alloc_batch)
            out[f"{lab}.ZONE_FAIR_DEPLETED"] = "set" if z.fair_depleted else "clear"
        for b, blk in enumerate(z.blocks):
            out[f"{lab}.pageblock[{b}]"] = _block_str(model, blk)
    out["kswapd"] = _PHASE[s.kswapd]
    out.update(_feature_fields(model, s))
    out["pgdat.kswapd_max_order"] = str(s.kswapd_max_order)
    out["pgdat.classzone_idx"] = ZoneType(s.pgdat_classzone).label
    out["kswapd.order"] = str(s.order)
    out["kswapd.classzone_idx"] = ZoneType(s.classzone).label
    out["kswapd.end_zone"] = ZoneType(s.end_zone).label
    return out


def _feature_fields(model: "Allocator", s: State) -> dict[str, str]:
    # the feature fields (docs/semantics.md section 10), only when their switch is on
    out: dict[str, str] = {}
    lab = lambda p: model.layout[p].label  # noqa: E731
    if model.scope.pin_blockdev:
        out["pinned blockdev pages"] = ", ".join(f"{lab(p)}:{b}" for p, b in model.pinned_pages(s)) or "none"
    if model.scope.cma_alloc_pageblocks:
        out["cma allocations"] = "; ".join(
            "pageblock(s) " + ", ".join(f"{lab(p)}:{b}" for p, b in r) for r in model.cma_ranges(s)) or "none"
    if model.scope.page_age:
        out["LRU (oldest first)"] = " ".join(
            f"{GFP_CLASSES[c].short}@{lab(p)}:{b}" for p, b, c in model.lru_pages(s)) or "empty"
    return out


def render_state(model: "Allocator", s: State, indent: str = "  ") -> list[str]:
    """Full state, one zone per line plus kswapd, with the zone's watermarks."""
    lines = []
    for p, z in enumerate(s.zones):
        lay = model.layout[p]
        cma = f" (free CMA {z.nr_free_cma})" if model.cma_migratetype else ""
        fair = (f", NR_ALLOC_BATCH {z.alloc_batch}{' DEPLETED' if z.fair_depleted else ''}"
                if model.fair else "")
        lines.append(f"{indent}{lay.label}: free {z.nr_free}{cma}, min/low/high "
                     f"{lay.wmark[0]}/{lay.wmark[1]}/{lay.wmark[2]}{fair}")
        lines.append(f"{indent}  pageblocks " + " ".join(_block_str(model, b) for b in z.blocks))
    lines += [f"{indent}{k}: {v}" for k, v in _feature_fields(model, s).items()]
    lines.append(f"{indent}kswapd: {_PHASE[s.kswapd]} (order {s.order}, classzone "
                 f"{ZoneType(s.classzone).label}, end_zone {ZoneType(s.end_zone).label})")
    return lines


#: rendered traces are wrapped at this many columns (words are never broken)
WIDTH = 100


def wrap_line(line: str) -> list[str]:
    """``line`` wrapped at :data:`WIDTH` columns, continuation lines indented four more; a
    ``Reproduce:`` line stays whole (it is copied and pasted)."""
    if len(line) <= WIDTH or line.startswith("Reproduce: "):
        return [line]
    indent = line[:len(line) - len(line.lstrip())]
    return textwrap.wrap(line, WIDTH, subsequent_indent=indent + "    ",
                         break_long_words=False, break_on_hyphens=False) or [line]


def render_trace(model: "Allocator", trace: Trace, *, title: str, reproduce: str) -> str:
    """A trace as text: title, reproduce command, full first state, each step with its kernel
    log and only the changed fields, full last state; lines wrapped at :data:`WIDTH`."""
    out = [title, f"Reproduce: {reproduce}", "", "State 0 (initial):"]
    out += render_state(model, trace.init)
    prev = state_fields(model, trace.init)
    for i, st in enumerate(trace.steps, 1):
        mark = ""
        if trace.loop_start is not None and i == len(trace.steps):
            mark = f"   <- loops back to state {trace.loop_start}"
        fail = "" if st.effect.ok else "   ** FAILS **"
        out.append("")
        out.append(f"Step {i}: {model.describe(st.action)}{fail}{mark}")
        if trace.loop_start is not None and i == trace.loop_start + 1:
            out.append("  (loop starts here)")
        out += ["  " + line for line in st.log]
        cur = state_fields(model, st.state)
        changed = [f"{k}: {prev[k]} -> {v}" for k, v in cur.items() if prev.get(k) != v]
        if changed:
            out.append("  changed: " + "; ".join(changed))
        prev = cur
    out.append("")
    out.append(f"State {len(trace.steps)} (last):")
    out += render_state(model, trace.states[-1])
    return "\n".join(w for line in out for w in wrap_line(line)) + "\n"


# ------------------------------------------------------------------------------------------
# Informal Trace Format (ITF) JSON, as emitted by Apalache and Quint.

def action_to_json(a: Action) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": a.kind}
    if a.kind in (ALLOC, FREE):
        d["gfp"] = GFP_CLASSES[a.cls].name
    if a.kind == ALLOC:
        d["order"] = a.order
    if a.kind == FREE:
        d["zone"] = a.zone
        d["pageblock"] = a.block
        if a.order:
            d["order"] = a.order
    if a.kind in _FEATURE_KINDS:
        d["zone"] = a.zone
        d["pageblock"] = a.block
    if a.victims:
        d["reclaim"] = [{"zone": z, "pageblock": b, "gfp": GFP_CLASSES[c].name}
                        for z, b, c in a.victims]
    return d


def action_from_json(d: Any) -> Action:
    """Inverse of :func:`action_to_json`. Raises TraceReplayError for malformed input."""
    names = {c.name: i for i, c in enumerate(GFP_CLASSES)}
    try:
        kind = d["kind"]
        if kind not in (ALLOC, FREE, KSWAPD) + _FEATURE_KINDS:
            raise KeyError(kind)
        if kind in _FEATURE_KINDS:
            victims = tuple((int(v["zone"]), int(v["pageblock"]), names[v["gfp"]])
                            for v in d.get("reclaim", ()))
            return Action(kind, 3 if kind in (PIN, UNPIN) else -1, 0, int(d["zone"]),
                          int(d["pageblock"]), victims)
        cls = names[d["gfp"]] if kind != KSWAPD else -1
        victims = tuple((int(v["zone"]), int(v["pageblock"]), names[v["gfp"]])
                        for v in d.get("reclaim", ()))
        if kind == ALLOC:
            return Action(ALLOC, cls, int(d.get("order", 0)), victims=victims)
        if kind == FREE:
            return Action(FREE, cls, int(d.get("order", 0)), int(d["zone"]),
                          int(d["pageblock"]), victims)
        return Action(KSWAPD, victims=victims)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise TraceReplayError(f"malformed action in trace: {json.dumps(d, sort_keys=True)[:120]}") from None


def _itf_state(model: "Allocator", s: State, index: int, action: Action | None,
               effect: Effect | None) -> dict[str, Any]:
    zones = {}
    for p, z in enumerate(s.zones):
        lay = model.layout[p]
        zones[lay.label] = {
            "NR_FREE_PAGES": z.nr_free,
            "NR_FREE_CMA_PAGES": z.nr_free_cma,
            "NR_ALLOC_BATCH": z.alloc_batch,
            "ZONE_FAIR_DEPLETED": z.fair_depleted,
            "watermark": {"min": lay.wmark[0], "low": lay.wmark[1], "high": lay.wmark[2]},
            "pageblocks": [{"migratetype": Migratetype(b.mt).name, "free": b.free,
                            "held": {GFP_CLASSES[i].name: n for i, n in enumerate(b.held)}}
                           for b in z.blocks],
        }
    doc = {
        "#meta": {"index": index},
        "action": action_to_json(action) if action is not None else {"kind": "init"},
        "allocation_failed": bool(effect is not None and not effect.ok),
        "kswapd": KswapdPhase(s.kswapd).name,
        "pgdat": {"kswapd_max_order": s.kswapd_max_order,
                  "classzone_idx": ZoneType(s.pgdat_classzone).name},
        "kswapd_local": {"order": s.order, "classzone_idx": ZoneType(s.classzone).name,
                         "end_zone": ZoneType(s.end_zone).name},
        "zones": zones,
    }
    feat = model.scope
    if feat.pin_blockdev:
        doc["pins"] = [{"zone": p, "pageblock": b} for p, b in model.pinned_pages(s)]
    if feat.cma_alloc_pageblocks:
        doc["cma_allocations"] = [[{"zone": p, "pageblock": b} for p, b in r] for r in model.cma_ranges(s)]
    if feat.page_age:
        doc["lru"] = [{"zone": p, "pageblock": b, "gfp": GFP_CLASSES[c].name}
                     for p, b, c in model.lru_pages(s)]
    return doc


def trace_to_itf(model: "Allocator", trace: Trace, meta: dict[str, Any]) -> dict[str, Any]:
    """The trace as an ITF document (``vars``, ``states``; ``loop`` for a lasso)."""
    states = [_itf_state(model, trace.init, 0, None, None)]
    for i, st in enumerate(trace.steps, 1):
        states.append(_itf_state(model, st.state, i, st.action, st.effect))
    doc: dict[str, Any] = {
        "#meta": dict(meta, format="ITF", **{"format-description":
                      "https://apalache-mc.org/docs/adr/015adr-trace.html"}),
        "vars": ["action", "allocation_failed", "kswapd", "pgdat", "kswapd_local", "zones"],
        "states": states,
    }
    doc["vars"] += [k for k, on in (("pins", model.scope.pin_blockdev),
                                     ("cma_allocations", model.scope.cma_alloc_pageblocks),
                                     ("lru", model.scope.page_age)) if on]
    if trace.loop_start is not None:
        doc["loop"] = trace.loop_start
    return doc


def actions_from_itf(doc: Any) -> list[Action]:
    """The actions of an ITF trace written by :func:`trace_to_itf` (state 0 is the init)."""
    try:
        states = doc["states"]
        return [action_from_json(st["action"]) for st in states[1:]]
    except (KeyError, TypeError):
        raise TraceReplayError("not an mmspec ITF trace: missing states/action") from None
