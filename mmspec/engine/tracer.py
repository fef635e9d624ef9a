"""Run the rules of :mod:`mmspec.kernel` on symbolic state leaves: one expression DAG per action.

The rules are ordinary Python with ``if``, ``for``, ``return`` and indexing. To turn one
action (an *action template*: allocate for class c, free a page of class c in pageblock b
of zone p, one kswapd step) into expressions over the state's leaves, the tracer runs the
design's own code (a subclass with ``_tracing = True``) on a state whose leaves are
:class:`~mmspec.engine.sym.Sym` inputs, in the manner of CrossHair or a symbolic
executor: each Python branch on a symbolic value (``Sym.__bool__``, ``Sym.__index__``) is
a *decision*; the code is re-run once per sequence of decisions (a *path*) and the
results of all paths are merged into ``ite`` expressions along the decision tree.

Re-running whole actions would multiply the branches of every function it calls, so some
methods are *joins* (:data:`JOINS`): a call to one is enumerated on its own (its inputs are
the scratch state at the call and its arguments), merged, and returned to the caller as a
single symbolic result, and the caller goes on with one path. Joins are pure functions of
their inputs, so a repeated call with the same inputs is answered from a cache.

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

from collections import Counter
from typing import Any, Callable, Sequence

from ..errors import MmspecError
from ..mm import Allocator
from ..mm.common import _Work
from ..state import Block, State, Zone
from .sym import Graph, Sym, _CMP, cmp, ite, or_

__all__ = ["Tracer", "TraceError", "TWork", "JOINS", "traced_class", "TagCounts"]

#: Allocator methods run as joins (enumerated on their own, merged, cached); every one takes
#: the scratch state ``w`` as its first argument
JOINS = ("get_page_from_freelist", "rmqueue", "zone_watermark_ok", "wake_all_kswapds",
         "direct_reclaim", "kswapd_shrink_page", "pgdat_balanced", "zone_reclaimable",
         "compaction_suitable", "_compact_pass", "_isolate_freepages", "_isolate_from",
         "_migrate_to_isolated")

#: most paths one enumeration may take before the trace gives up (a rule that branches
#: without bound on symbolic values)
MAX_PATHS = 200_000


class TraceError(MmspecError):
    """The rules could not be traced (unbounded branching, an index with unknown values)."""


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

    def take_acc(self) -> tuple:
        acc = (self.paths.counts, self.need, self.elig)
        self.paths, self.need, self.elig = TagCounts(), {}, {}
        return acc

    def put_acc(self, acc: tuple) -> None:
        self.paths, self.need, self.elig = TagCounts(acc[0]), dict(acc[1]), dict(acc[2])


class _Path:
    __slots__ = ("prefix", "pos", "decisions", "facts", "doms", "forks", "memo")

    def __init__(self, prefix: tuple) -> None:
        self.prefix = prefix
        self.pos = 0
        self.decisions: list = []     # (node, value) in order
        self.facts: dict = {}         # nid -> decided value (bool nodes) or int value
        self.doms: dict = {}          # nid -> refined domain (int nodes)
        self.forks: list = []         # prefixes still to run
        self.memo: dict = {}          # nid -> what the facts imply of a bool node (or None)


def _sig(x):
    """A hashable key for a (nested) value of Syms and ints (node ids, never ``==`` on Syms)."""
    if isinstance(x, Sym):
        return ("s", x.nid)
    if isinstance(x, (tuple, list)):
        return ("t",) + tuple(_sig(v) for v in x)
    if isinstance(x, dict):
        return ("d",) + tuple(sorted((k, _sig(v)) for k, v in x.items()))
    return ("v", type(x).__name__, x)


def _flatten(x, out: list):
    """Leaves of a nested return value, and its shape."""
    if isinstance(x, tuple):
        return ("t", type(x) if hasattr(x, "_fields") else tuple,
                tuple(_flatten(v, out) for v in x))
    if x is None or isinstance(x, str):
        return ("c", x)
    out.append(x)
    return ("l",)


def _unflatten(shape, it):
    kind = shape[0]
    if kind == "t":
        vals = [_unflatten(s, it) for s in shape[2]]
        return shape[1](*vals) if shape[1] is not tuple else tuple(vals)
    if kind == "c":
        return shape[1]
    return next(it)


class Tracer:
    """Decides symbolic branches, enumerates paths and merges them (see the module doc)."""

    def __init__(self, graph: Graph) -> None:
        self.g = graph
        graph.tracer = self
        self.path: _Path | None = None
        self.cache: dict = {}
        self.slots: dict = {}          # choice key -> candidate tuple
        self.choice_nodes: dict = {}   # choice key -> Sym
        self.stats: Counter = Counter()

    # ------------------------------------------------------------------ decisions
    def _known(self, node: Sym, path: _Path, depth: int = 0):
        """The value of bool node ``node`` implied by the path's facts, or None."""
        v = path.facts.get(node.nid)
        if v is not None:
            return v
        if depth > 3:
            return None
        memo = path.memo
        if node.nid in memo:
            return memo[node.nid]
        v = self._known_uncached(node, path, depth)
        memo[node.nid] = v
        return v

    def _known_uncached(self, node: Sym, path: _Path, depth: int):
        op = node.op
        if op == "not":
            v = self._known(node.args[0], path, depth + 1)
            return None if v is None else not v
        if op in _CMP:
            a, b = node.args
            da = path.doms.get(a.nid, a.dom) if isinstance(a, Sym) else frozenset((a,))
            db = path.doms.get(b.nid, b.dom) if isinstance(b, Sym) else frozenset((b,))
            if da is not None and db is not None and len(da) * len(db) <= 4096:
                fn = _CMP[op]
                outs = {fn(x, y) for x in da for y in db}
                if len(outs) == 1:
                    return outs.pop()
            return None
        if op == "and":
            allt = True
            for a in node.args:
                v = self._known(a, path, depth + 1)
                if v is False:
                    return False
                if v is None:
                    allt = False
            return True if allt else None
        if op == "or":
            allf = True
            for a in node.args:
                v = self._known(a, path, depth + 1)
                if v is True:
                    return True
                if v is None:
                    allf = False
            return False if allf else None
        if op == "ite":
            c = self._known(node.args[0], path, depth + 1)
            if c is None:
                x = node.args[1]
                y = node.args[2]
                vx = x if not isinstance(x, Sym) else self._known(x, path, depth + 1)
                vy = y if not isinstance(y, Sym) else self._known(y, path, depth + 1)
                return vx if vx is not None and vx == vy else None
            br = node.args[1] if c else node.args[2]
            return br if not isinstance(br, Sym) else self._known(br, path, depth + 1)
        return None

    def _assume(self, node: Sym, v: bool, path: _Path, depth: int = 0) -> None:
        if depth == 0:
            path.memo.clear()
        path.facts[node.nid] = v
        if depth > 6:
            return
        op = node.op
        if op == "not":
            self._assume(node.args[0], not v, path, depth + 1)
        elif op == "and" and v:
            for a in node.args:
                self._assume(a, True, path, depth + 1)
        elif op == "or" and not v:
            for a in node.args:
                self._assume(a, False, path, depth + 1)
        elif op in _CMP:
            a, b = node.args
            fn = _CMP[op]
            if isinstance(a, Sym) and not isinstance(b, Sym):
                da = path.doms.get(a.nid, a.dom)
                if da is not None:
                    path.doms[a.nid] = frozenset(x for x in da if fn(x, b) == v)
            elif isinstance(b, Sym) and not isinstance(a, Sym):
                db = path.doms.get(b.nid, b.dom)
                if db is not None:
                    path.doms[b.nid] = frozenset(y for y in db if fn(a, y) == v)

    def _next(self, path: _Path, alts: list):
        """The value this path takes at its next decision (alternatives in order)."""
        if path.pos < len(path.prefix):
            v = path.prefix[path.pos]
        else:
            v = alts[0]
            done = tuple(d[1] for d in path.decisions)
            for alt in alts[1:]:
                path.forks.append(done + (alt,))
        path.pos += 1
        return v

    def decide_bool(self, node: Sym) -> bool:
        path = self.path
        if path is None:
            raise TraceError(f"symbolic value {node!r} used as a truth value outside a trace")
        if not node.isbool:                   # an int as a truth value: != 0
            node = cmp("!=", node, 0)
            if not isinstance(node, Sym):
                return node
        k = self._known(node, path)
        if k is not None:
            return bool(k)
        v = self._next(path, [True, False])
        path.decisions.append((node, v))
        self._assume(node, v, path)
        return v

    def decide_index(self, node: Sym) -> int:
        path = self.path
        if path is None:
            raise TraceError(f"symbolic value {node!r} used as an index outside a trace")
        dom = path.doms.get(node.nid, node.dom)
        if dom is None:
            raise TraceError(f"a symbolic value ({node.op}) with unknown range is used as an "
                             "index or int(); the rules must index with bounded values")
        alts = []
        for val in sorted(dom):
            c = cmp("==", node, val)
            if isinstance(c, Sym):
                if self._known(c, path) is False:
                    continue
            elif not c:
                continue
            alts.append(val)
        if not alts:
            raise _Infeasible()
        if len(alts) == 1:
            v = alts[0]
        else:
            v = self._next(path, alts)
            path.decisions.append((node, v))
        path.doms[node.nid] = frozenset((v,))
        path.memo.clear()
        c = cmp("==", node, v)
        if isinstance(c, Sym):
            self._assume(c, True, path)
        return v

    # ------------------------------------------------------------------ enumeration
    def enumerate(self, body: Callable[[], Any]) -> list:
        """Run ``body`` once per path; return ``[(decisions, result), ...]``."""
        outs = []
        work = [()]
        saved = self.path
        try:
            while work:
                prefix = work.pop()
                path = _Path(prefix)
                self.path = path
                try:
                    res = body()
                except _Infeasible:
                    work.extend(path.forks)
                    continue
                except IndexError:
                    # This path indexes past the end of a sequence: no concrete run takes it
                    # (the same code on the same values would raise in the Python engine,
                    # which runs every reachable state), so the values that lead here are
                    # combinations no state has (e.g. a zone with another zone's pageblock).
                    work.extend(path.forks)
                    self.stats["paths dropped (index out of range)"] += 1
                    continue
                work.extend(path.forks)
                outs.append((path.decisions, res))
                if len(outs) > MAX_PATHS:
                    raise TraceError(f"more than {MAX_PATHS} paths through one rule")
        finally:
            self.path = saved
        self.stats["paths"] += len(outs)
        if not outs:
            raise _Infeasible()
        return outs

    def merge(self, outs: list) -> list:
        """Merge the flat result lists of ``outs`` (equal lengths) along the decision tree."""
        return self._merge(outs, 0)

    def _merge(self, outs: list, d: int) -> list:
        while True:
            if len(outs) == 1 and len(outs[0][0]) == d:
                return list(outs[0][1])
            live = [o for o in outs if len(o[0]) > d]
            if len(live) != len(outs):
                raise AssertionError("paths with a common prefix ended differently")
            node = outs[0][0][d][0]
            groups: dict = {}
            for o in outs:
                if o[0][d][0] is not node:
                    raise AssertionError("paths with a common prefix decided different nodes")
                groups.setdefault(o[0][d][1], []).append(o)
            if len(groups) == 1:
                outs = next(iter(groups.values()))
                d += 1
                continue
            break
        if node.isbool:
            t = self._merge(groups[True], d + 1)
            f = self._merge(groups[False], d + 1)
            return [ite(node, a, b) for a, b in zip(t, f)]
        vals = sorted(groups)
        res = self._merge(groups[vals[-1]], d + 1)
        for v in reversed(vals[:-1]):
            c = cmp("==", node, v)
            r = self._merge(groups[v], d + 1)
            res = [ite(c, a, b) for a, b in zip(r, res)]
        return res

    # ------------------------------------------------------------------ joins
    def join(self, fn: Callable, model: Allocator, w: TWork, args: tuple):
        """Call ``fn(model, w, *args)`` as a join (see the module doc)."""
        leaves = w.leaves()
        key = (fn, _sig(leaves), _sig(args))
        hit = self.cache.get(key)
        self.stats["joins"] += 1
        if hit is None:
            hit = self.cache[key] = self._run_join(fn, model, w, args, leaves)
        else:
            self.stats["join cache hits"] += 1
        new_leaves, tags, need, elig, ret = hit
        w.set_leaves(new_leaves)
        for t, n in tags.items():
            w.paths.counts[t] = w.paths.counts.get(t, 0) + n
        for k, v in need.items():
            w.need[k] = or_(w.need.get(k, False), v)
            old = w.elig.get(k)
            w.elig[k] = elig[k] if old is None else tuple(or_(a, b) for a, b in zip(old, elig[k]))
        return ret

    def _run_join(self, fn, model, w: TWork, args: tuple, leaves: list):
        caller_acc = w.take_acc()
        shapes = []

        def body():
            w.set_leaves(leaves)
            w.take_acc()
            ret = fn(model, w, *args)
            flat: list = []
            shapes.append(_flatten(ret, flat))
            return (w.leaves(), dict(w.paths.counts), dict(w.need), dict(w.elig), flat)

        try:
            outs = self.enumerate(body)
        finally:
            w.put_acc(caller_acc)
        if any(s != shapes[0] for s in shapes):
            raise TraceError(f"{fn.__name__} returns values of different shapes on different "
                             "paths; return the same structure on every path")
        tags = sorted({t for _, r in outs for t in r[1]})
        keys = sorted({k for _, r in outs for k in r[2]})
        ncands = {k: len(self.slots[k]) for k in keys}
        flat_outs = []
        for dec, (lv, tg, nd, el, rv) in outs:
            row = list(lv) + [tg.get(t, 0) for t in tags]
            for k in keys:
                row.append(nd.get(k, False))
                row.extend(el.get(k, (False,) * ncands[k]))
            row += rv
            flat_outs.append((dec, row))
        merged = self.merge(flat_outs)
        it = iter(merged)
        new_leaves = [next(it) for _ in leaves]
        tag_d = {t: next(it) for t in tags}
        need, elig = {}, {}
        for k in keys:
            need[k] = next(it)
            elig[k] = tuple(next(it) for _ in range(ncands[k]))
        ret = _unflatten(shapes[0], it)
        return new_leaves, tag_d, need, elig, ret

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


class _Infeasible(Exception):
    """No alternative of a decision is consistent with the path: drop the path."""


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
