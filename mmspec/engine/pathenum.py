"""Path enumeration for the tracer: symbolic branches decided one path at a time, results merged.

Code run on :class:`~mmspec.engine.sym.Sym` values asks, at every Python branch on a
symbolic value (``Sym.__bool__``, ``Sym.__index__``), which way to go. A
:class:`PathEnumerator` answers for the path being run: a value the path's facts already
imply (decided conditions, domains refined by comparisons with constants) is answered
without a decision; otherwise the path takes the first alternative and each other one is
queued as a prefix to re-run. :meth:`PathEnumerator.enumerate` runs a body once per
feasible path, and :meth:`PathEnumerator.merge` merges the paths' results into ``ite``
expressions along the decision tree.

This is the generic part of the tracer: it knows expressions, not the allocator.
:class:`mmspec.engine.tracer.Tracer` adds joins and choice points on top of it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from ..errors import MmspecError
from .sym import DOM_MAX, Graph, Sym, _BIN, _CMP, cmp, ite

__all__ = ["PathEnumerator", "TraceError", "MAX_PATHS"]

#: most paths one enumeration may take before the trace gives up (a rule that branches
#: without bound on symbolic values)
MAX_PATHS = 200_000


class TraceError(MmspecError):
    """The rules could not be traced (unbounded branching, an index with unknown values)."""


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


class PathEnumerator:
    """Decides symbolic branches, enumerates paths and merges them (see the module doc)."""

    def __init__(self, graph: Graph) -> None:
        self.g = graph
        graph.tracer = self
        self.path: _Path | None = None
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
        if op == "let":
            return self._known(node.args[0], path, depth)
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
        elif op == "ite":
            c, x, y = node.args
            if isinstance(c, Sym):        # a constant branch of the other value rules it out
                if not isinstance(x, Sym) and bool(x) != v:
                    self._assume(c, False, path, depth + 1)
                    if isinstance(y, Sym):
                        self._assume(y, v, path, depth + 1)
                elif not isinstance(y, Sym) and bool(y) != v:
                    self._assume(c, True, path, depth + 1)
                    if isinstance(x, Sym):
                        self._assume(x, v, path, depth + 1)
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

    def path_dom(self, x, memo: dict, depth: int = 0):
        """The values ``x`` can take on the current path (its facts and refined domains
        applied through arithmetic, comparisons and ``ite``), or None if unknown. Tighter
        than ``x.dom``, which holds on every path: ``free - 1`` on a path where ``free >
        0`` was decided cannot be -1."""
        if not isinstance(x, Sym):
            return frozenset((int(x),))
        path = self.path
        d = path.doms.get(x.nid)
        if d is not None:
            return d
        f = path.facts.get(x.nid)
        if f is not None:
            return frozenset((int(f),))
        if x.nid in memo:
            return memo[x.nid]
        r = x.dom
        if x.isbool:
            k = self._known(x, path)
            r = frozenset((0, 1)) if k is None else frozenset((int(k),))
        elif depth < 40:
            op = x.op
            if op in _BIN:
                a = self.path_dom(x.args[0], memo, depth + 1)
                b = self.path_dom(x.args[1], memo, depth + 1)
                if a is not None and b is not None and len(a) * len(b) <= 4096:
                    fn = _BIN[op]
                    try:
                        vals = frozenset(int(fn(u, v)) for u in a for v in b)
                    except (ZeroDivisionError, ValueError):
                        vals = None
                    if vals is not None and len(vals) <= DOM_MAX:
                        r = vals
            elif op == "ite":
                c = self._known(x.args[0], path) if isinstance(x.args[0], Sym) else x.args[0]
                if c is not None:
                    r = self.path_dom(x.args[1] if c else x.args[2], memo, depth + 1)
                else:
                    a = self.path_dom(x.args[1], memo, depth + 1)
                    b = self.path_dom(x.args[2], memo, depth + 1)
                    if a is not None and b is not None and len(a | b) <= DOM_MAX:
                        r = a | b
            elif op == "let":
                r = self.path_dom(x.args[0], memo, depth + 1)
        if r is not None and x.dom is not None:
            r = r & x.dom
        memo[x.nid] = r
        return r

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


class _Infeasible(Exception):
    """No alternative of a decision is consistent with the path: drop the path."""
