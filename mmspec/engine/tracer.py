"""Run the rules of :mod:`mmspec.kernel` on symbolic state leaves: one expression DAG per action.

The rules are ordinary Python with ``if``, ``for``, ``return`` and indexing. To turn one
action (an *action template*: allocate for class c, free a page of class c in pageblock b
of zone p, one kswapd step) into expressions over the state's leaves, the tracer runs the
design's own code (a subclass with ``_tracing = True``) on a state whose leaves are
:class:`~mmspec.engine.sym.Sym` inputs, in the manner of CrossHair or a symbolic
executor: each Python branch on a symbolic value (``Sym.__bool__``, ``Sym.__index__``) is
a *decision*; the code is re-run once per sequence of decisions (a *path*) and the
results of all paths are merged into ``ite`` expressions along the decision tree (that
machinery, which knows expressions but not the allocator, is
:mod:`mmspec.engine.pathenum`; this module adds what tracing the allocator needs).

Re-running whole actions would multiply the branches of every function it calls, so some
methods are *joins* (:data:`JOINS`): a call to one is enumerated on its own (its inputs are
the scratch state at the call and its arguments), merged, and returned to the caller as a
single symbolic result, and the caller goes on with one path. Joins are pure functions of
their inputs, so a repeated call with the same inputs is answered from a cache.

A join whose calls are many and chained is better still traced once as a *function*
and called at each use (:data:`FUNC_JOINS`, :mod:`mmspec.engine.funcjoin`).

Besides the state, a path accumulates per-action outputs: the coverage tags it appends
(``w.paths``, merged as counts), and for every *choice point* (``Allocator._choose``: the
page reclaim takes) whether the path reached it (``need``) and which candidates were
eligible there. A choice is an input of the action (``ch k``, the index of the candidate
taken), as in the explicit engine, where it is part of the action (``Action.victims``).

Nothing here knows the kernel: the rules, the designs' hooks and the checks are run as
they are. What the tracer needs from them is that every symbolic branch has finitely many
outcomes (booleans, or an index whose values are known: see ``Sym.dom``).
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..mm import Allocator
from ..mm.common import _Work
from ..state import Block, State, Zone
from .funcjoin import FUNC_JOINS, FunctionJoins, _flatten, _unflatten
from .pathenum import MAX_PATHS, PathEnumerator, TraceError  # noqa: F401 (re-exported)
from .sym import Graph, Sym, cmp, or_

__all__ = ["Tracer", "TraceError", "TWork", "JOINS", "FUNC_JOINS", "traced_class", "TagCounts"]

#: Allocator methods run as joins (enumerated on their own, merged, cached); every one takes
#: the scratch state ``w`` as its first argument
JOINS = ("get_page_from_freelist", "rmqueue", "zone_watermark_ok", "wake_all_kswapds",
         "direct_reclaim", "kswapd_shrink_page", "pgdat_balanced", "zone_reclaimable",
         "compaction_suitable", "_compact_pass", "_isolate_freepages", "_isolate_from",
         "_migrate_to_isolated", "migrate_range_page", "compact_zone", "_compaction_migrate")

#: joins whose results (state leaves and return value) are wrapped in ``let`` nodes: calls
#: in sequence, each on the state the last one left (the pages one cma_alloc migrates),
#: would otherwise multiply the expressions (each call's merged ``ite`` trees rewritten
#: into the next call's); with ``let`` they add up
OPAQUE_JOINS = frozenset({"migrate_range_page"})



class TagCounts:
    """``w.paths`` while tracing: how often each coverage tag was appended (counts may be
    symbolic after a join). ``append`` and ``in`` work as on the list they stand for."""

    __slots__ = ("counts",)

    def __init__(self, counts: dict | None = None) -> None:
        self.counts = dict(counts) if counts else {}

    def append(self, tag: str) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def __contains__(self, tag: str):
        return cmp("<", 0, self.counts.get(tag, 0))

    def count(self, tag: str):
        return self.counts.get(tag, 0)

    def __iter__(self):
        raise TraceError("coverage tags cannot be iterated while tracing; test membership")


class TWork(_Work):
    """The scratch state of one step while tracing: leaves may be symbolic, and it carries
    the per-action accumulators (tags, choice points)."""

    __slots__ = ("need", "elig")

    def __init__(self, s: State) -> None:
        super().__init__(s, (), None)
        self.paths = TagCounts()      # type: ignore[assignment]
        self.need: dict = {}
        self.elig: dict = {}

    def leaves(self) -> list:
        out = []
        for z in self.zones:
            out += (z.nr_free, z.nr_free_cma, z.alloc_batch, z.fair_depleted)
            for b in z.blocks:
                out.append(b.mt)
                out.append(b.free)
                out.extend(b.held)
        out += (self.kswapd, self.max_order, self.pgdat_cz, self.order, self.cz, self.end_zone)
        out += self.feat[0]         # State.pins, State.cma, State.lru (each of fixed size)
        out += self.feat[1]
        out += self.feat[2]
        return out

    def set_leaves(self, vals: Sequence) -> None:
        it = iter(vals)
        zones = []
        for z in self.zones:
            nf, nc, ab, fd = next(it), next(it), next(it), next(it)
            blocks = []
            for b in z.blocks:
                mt, free = next(it), next(it)
                held = tuple(next(it) for _ in b.held)
                blocks.append(Block(mt, free, held))
            zones.append(Zone(nf, nc, ab, fd, tuple(blocks)))
        self.zones = zones
        (self.kswapd, self.max_order, self.pgdat_cz, self.order, self.cz,
         self.end_zone) = (next(it) for _ in range(6))
        pins, cma, lru = self.feat
        self.feat = (tuple(next(it) for _ in pins), tuple(next(it) for _ in cma),
                     tuple(next(it) for _ in lru))

    def take_acc(self) -> tuple:
        acc = (self.paths.counts, self.need, self.elig)
        self.paths, self.need, self.elig = TagCounts(), {}, {}
        return acc

    def put_acc(self, acc: tuple) -> None:
        self.paths, self.need, self.elig = TagCounts(acc[0]), dict(acc[1]), dict(acc[2])


def _let(x):
    if isinstance(x, Sym) and x.op not in ("in", "ch", "let"):
        return x.g.make("let", (x,), x.isbool, x.dom)
    return x


def _unflatten_let(x):
    if isinstance(x, tuple):
        vals = [_unflatten_let(v) for v in x]
        return type(x)(*vals) if hasattr(x, "_fields") else tuple(vals)
    return _let(x)


def _sig(x):
    """A hashable key for a (nested) value of Syms and ints (node ids, never ``==`` on Syms)."""
    if isinstance(x, Sym):
        return ("s", x.nid)
    if isinstance(x, (tuple, list)):
        return ("t",) + tuple(_sig(v) for v in x)
    if isinstance(x, dict):
        return ("d",) + tuple(sorted((k, _sig(v)) for k, v in x.items()))
    return ("v", type(x).__name__, x)


class Tracer(FunctionJoins, PathEnumerator):
    """Runs rules on symbolic values: paths decided, enumerated and merged as in
    :class:`~mmspec.engine.pathenum.PathEnumerator`, plus joins (a cache of merged
    results) and choice points (see the module doc)."""

    def __init__(self, graph: Graph, leaf_bounds: tuple = ((), ())) -> None:
        super().__init__(graph)
        self.cache: dict = {}
        self._init_functions()
        self.leaf_bounds = leaf_bounds  # (lo, hi) per state leaf: the layout's bounds
        self.slots: dict = {}          # choice key -> candidate tuple
        self.choice_nodes: dict = {}   # choice key -> Sym

    # ------------------------------------------------------------------ joins
    def join(self, fn: Callable, model: Allocator, w: TWork, args: tuple):
        """Call ``fn(model, w, *args)`` as a join (see the module doc)."""
        leaves = w.leaves()
        self.stats["joins"] += 1
        # a function call depends on the calling path (its inputs' domains there), so it
        # is not cached by its arguments; its body is cached by the inputs' domains
        hit = self._call_function(fn, model, w, args, leaves) \
            if fn.__name__ in FUNC_JOINS else None
        key = (fn, _sig(leaves), _sig(args))
        if hit is None:
            hit = self.cache.get(key)
        if hit is None:
            hit = self.cache[key] = self._run_join(fn, model, w, args, leaves)
        else:
            self.stats["join cache hits"] += 1
        new_leaves, tags, need, elig, ret = hit
        if fn.__name__ in OPAQUE_JOINS:
            new_leaves = [_let(x) for x in new_leaves]
            ret = _unflatten_let(ret)
        w.set_leaves(new_leaves)
        for t, n in tags.items():
            w.paths.counts[t] = w.paths.counts.get(t, 0) + n
        for k, v in need.items():
            w.need[k] = or_(w.need.get(k, False), v)
            old = w.elig.get(k)
            w.elig[k] = elig[k] if old is None else tuple(or_(a, b) for a, b in zip(old, elig[k]))
        return ret

    def _run_join(self, fn, model, w: TWork, args: tuple, leaves: list):
        outs, shape = self.enumerate_call(fn, model, w, args, leaves)
        new_leaves, tag_d, need, elig, it = self.merge_outputs(outs)
        ret = _unflatten(shape, it)
        return new_leaves, tag_d, need, elig, ret

    def enumerate_call(self, fn, model, w: TWork, args: tuple, leaves: list, each=None):
        """Run ``fn(model, w, *args)`` from the state ``leaves`` once per path, with the
        caller's accumulators set aside. Returns the paths' outputs, each ``(decisions,
        (leaves, tag counts, need, elig, flat return value))``, and the return value's
        shape; ``each(output)`` is called at the end of every path (still on it)."""
        caller_acc = w.take_acc()
        shapes = []

        def body():
            w.set_leaves(leaves)
            w.take_acc()
            ret = fn(model, w, *args)
            flat: list = []
            shapes.append(_flatten(ret, flat))
            res = (w.leaves(), dict(w.paths.counts), dict(w.need), dict(w.elig), flat)
            if each is not None:
                each(res)
            return res

        try:
            outs = self.enumerate(body)
        finally:
            w.put_acc(caller_acc)
        if any(s != shapes[0] for s in shapes):
            raise TraceError(f"{fn.__name__} returns values of different shapes on different "
                             "paths; return the same structure on every path")
        return outs, shapes[0]

    def merge_outputs(self, outs: list):
        """Merge the outputs of the paths of one enumeration, each ``(decisions, (leaves,
        tag counts, need, elig, rest))``: tags and choice slots absent on a path count 0 and
        not reached. Returns the merged leaves, ``{tag: count}``, ``{slot: reached}``,
        ``{slot: eligible per candidate}`` (slots in key order) and an iterator over the
        merged ``rest``."""
        tags = sorted({t for _, r in outs for t in r[1]})
        keys = sorted({k for _, r in outs for k in r[2]})
        ncands = {k: len(self.slots[k]) for k in keys}
        rows = []
        for dec, (lv, tg, nd, el, rest) in outs:
            row = list(lv) + [tg.get(t, 0) for t in tags]
            for k in keys:
                row.append(nd.get(k, False))
                row.extend(el.get(k, (False,) * ncands[k]))
            rows.append((dec, row + list(rest)))
        it = iter(self.merge(rows))
        nleaf = len(outs[0][1][0])
        leaves = [next(it) for _ in range(nleaf)]
        tag_d = {t: next(it) for t in tags}
        need, elig = {}, {}
        for k in keys:
            need[k] = next(it)
            elig[k] = tuple(next(it) for _ in range(ncands[k]))
        return leaves, tag_d, need, elig, it

    # ------------------------------------------------------------------ choices
    def choose(self, w: TWork, key: tuple, cands: tuple, eligible: tuple):
        """A choice point reached on this path: record it and return its input ``ch``."""
        old = self.slots.get(key)
        if old is None:
            self.slots[key] = tuple(cands)
            # choice inputs are numbered across the whole graph (never shared by templates)
            self.g.nchoices += 1
            node = self.g.leaf("ch", self.g.nchoices - 1, 0, max(len(cands) - 1, 0))
            self.choice_nodes[key] = node
        elif old != tuple(cands):
            raise TraceError(f"choice point {key} has different candidates on different paths")
        if len(cands) == 1:
            idx = 0
        else:
            idx = self.choice_nodes[key]
        w.need[key] = True
        w.elig[key] = tuple(eligible)
        return idx


_TRACED: dict = {}


def traced_class(design: type[Allocator]) -> type[Allocator]:
    """The subclass of ``design`` the tracer runs: joins wrapped, choices symbolic, the
    int engine's memo tables off. Built once per design class."""
    cls = _TRACED.get(design)
    if cls is not None:
        return cls
    ns: dict = {"_tracing": True, "__module__": design.__module__}

    def make_join(name: str):
        fn = getattr(design, name)

        def joined(self, w, *args):
            return self._tracer.join(fn, self, w, args)
        joined.__name__ = name
        joined.__doc__ = fn.__doc__
        return joined

    for name in JOINS:
        ns[name] = make_join(name)

    def _choose(self, w, key, cands, eligible):
        return self._tracer.choose(w, key, cands, eligible)
    ns["_choose"] = _choose
    cls = type(f"Traced_{design.__name__}", (design,), ns)
    cls.name = design.name
    _TRACED[design] = cls
    return cls
