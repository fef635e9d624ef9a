"""Function joins: rules traced once on fresh inputs and called wherever a step uses them.

A join whose calls are many and chained (compaction's passes, each on the state the last
one left) is traced once as a *function* (:data:`FUNC_JOINS`): its body is enumerated on
fresh inputs (``fin`` leaves whose domains cover the arguments' values), kept in the graph
(:class:`~mmspec.engine.sym.Func`), and each call adds one ``call`` node and a ``proj`` node
per output that is not a constant or an input passed through. Code and expressions then
grow with the number of distinct bodies, not with the number of calls.

A body is traced once per *input specification*: an argument whose value is known on the
calling path is a constant of the body; a state leaf takes the leaf's derived bounds as its
domain; any other argument its domain on the calling path
(:meth:`~mmspec.engine.pathenum.PathEnumerator.path_dom`). A call's outputs take the union,
over the body's paths, of each output's domain on that path, so the next call's inputs stay
tight (``pool[i] - 1`` on the path that took a page from pageblock ``i`` is not -1). A
function may not reach a choice point (its result would depend on the step's choices).

:class:`FunctionJoins` is mixed into :class:`~mmspec.engine.tracer.Tracer`; nothing here
knows the kernel.
"""

from __future__ import annotations

from .pathenum import TraceError, _Infeasible
from .sym import DOM_MAX, Func, Sym

__all__ = ["FUNC_JOINS", "FunctionJoins"]

#: joins traced once as functions of fresh inputs and called at each use (see the module
#: doc): direct compaction runs up to n+1 passes of ``compact_zone``'s loop in one step,
#: each isolating and migrating on the state the last one left
FUNC_JOINS = frozenset({"compact_zone", "_compact_pass", "_compaction_migrate",
                        "_isolate_freepages", "_isolate_from", "_migrate_to_isolated"})


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


class FunctionJoins:
    """The tracer's function joins (see the module doc). Needs the host's ``g`` (the
    graph), ``path``/``path_dom`` (the path enumerator), ``enumerate_call``,
    ``merge_outputs`` and ``leaf_bounds``."""

    def _init_functions(self) -> None:
        # (fn, argument shape, input spec) -> (Func, its tags, its return value's shape,
        # per output its values: see _trace_function)
        self.funcs: dict = {}

    def _fin_dom(self, x: Sym, i: int, nleaf: int):
        """The values input ``x`` can take: for state leaf ``i`` (``i < nleaf``) the
        leaf's derived bounds (every scratch state within a step lies within them, as
        every stored state does: tests/test_compiled.py checks it at the function joins'
        entries over every reachable state of the compaction scope), so that one body
        serves every call; for another argument its domain on the calling path (the
        call's result is used only there). A frozenset, or ``(lo, hi)`` if too many."""
        if i < nleaf:
            lo, hi = self.leaf_bounds[0][i], self.leaf_bounds[1][i]
            if x.isbool:
                lo, hi = 0, 1
            return frozenset(range(lo, hi + 1)) if hi - lo < DOM_MAX else (lo, hi)
        d = self.path_dom(x, {}) if self.path is not None else x.dom
        if d is not None:
            return d if len(d) <= DOM_MAX else (min(d), max(d))
        from .z3expr import node_ranges
        lo_b, hi_b = self.leaf_bounds
        rng = node_ranges([x], lambda n: (lo_b[n.args[0]], hi_b[n.args[0]])
                          if n.op == "in" else n.bounds)
        lo, hi = rng[x.nid]
        if hi - lo >= DOM_MAX:
            return (lo, hi)
        return frozenset(range(lo, hi + 1))

    def _call_function(self, fn, model, w, args: tuple, leaves: list):
        """A call of a function join: its body (traced once per input spec) applied to
        this call's inputs. None if every input is a constant (then it is an ordinary
        join, which folds to constants)."""
        flat: list = []
        ashape = _flatten(args, flat)
        inputs = list(leaves) + flat
        spec = []
        actual = []
        for i, x in enumerate(inputs):
            if isinstance(x, Sym):
                d = self._fin_dom(x, i, len(leaves))
                if isinstance(d, frozenset) and len(d) <= 1 and i >= len(leaves):
                    if not d:                 # no value on this path: it is infeasible
                        raise _Infeasible()
                    v = next(iter(d))       # one value on this path: a constant input
                    spec.append(("k", "bool" if x.isbool else "int", bool(v) if x.isbool else v))
                    inputs[i] = bool(v) if x.isbool else v
                    continue
                spec.append(("s", x.isbool, d))
                actual.append(x)
            else:
                spec.append(("k", type(x).__name__, x))
        if not actual:
            return None
        fkey = (fn, ashape, tuple(spec))
        f = self.funcs.get(fkey)
        if f is None:
            f = self.funcs[fkey] = self._trace_function(fn, model, w, inputs, spec, ashape,
                                                        len(leaves))
        func, tags, rshape, out_doms = f
        g = self.g
        call = g.make("call", (func.fid, *actual), False, None)
        self.stats["function calls"] += 1
        outs = []
        for j, o in enumerate(func.outs):
            if not isinstance(o, Sym):
                outs.append(o)
            elif o.op == "fin" and o.args[0] == func.fid:
                outs.append(actual[o.args[1]])
            else:
                outs.append(g.make("proj", (call, j), o.isbool, out_doms[j]))
        nleaf = len(leaves)
        it = iter(outs[nleaf + len(tags):])
        ret = _unflatten(rshape, it)
        return outs[:nleaf], dict(zip(tags, outs[nleaf:nleaf + len(tags)])), {}, {}, ret

    def _trace_function(self, fn, model, w, inputs: list, spec: list, ashape,
                        nleaf: int):
        g = self.g
        fid = len(g.funcs)
        g.funcs.append(None)
        fresh = []
        nin = 0
        for x, sp in zip(inputs, spec):
            if sp[0] == "k":
                fresh.append(x)
                continue
            dom = sp[2]
            if isinstance(dom, tuple):
                lo, hi = dom
                leaf = g.make("fin", (fid, nin), sp[1], None)
            else:
                lo, hi = min(dom), max(dom)
                leaf = g.make("fin", (fid, nin), sp[1], dom)
            leaf.bounds = (lo, hi)
            fresh.append(leaf)
            nin += 1
        f_leaves = fresh[:nleaf]
        f_args = _unflatten(ashape, iter(fresh[nleaf:]))
        caller_leaves = w.leaves()
        doms: list = []             # per path: {id of an output value: its path domain}

        def path_doms(res):
            memo: dict = {}
            doms.append({x.nid: self.path_dom(x, memo)
                         for x in (*res[0], *res[1].values(), *res[4]) if isinstance(x, Sym)})

        try:
            outs, shape = self.enumerate_call(fn, model, w, f_args, f_leaves, path_doms)
        finally:
            w.set_leaves(caller_leaves)
        new_leaves, tag_d, need, elig, it = self.merge_outputs(outs)
        if need:
            raise TraceError(f"{fn.__name__} is traced as a function but reaches a choice "
                             "point; make it an ordinary join")
        tags = sorted(tag_d)
        func = Func(fid, fn.__name__, nin, list(new_leaves) + [tag_d[t] for t in tags]
                    + list(it))
        # each output's values: the union over paths of its value's domain on that path
        # (the facts of the path an input takes hold for it)
        out_doms = []
        for j, o in enumerate(func.outs):
            u: set | None = set()
            for (dec, res), dm in zip(outs, doms):
                row = (*res[0], *(res[1].get(t, 0) for t in tags), *res[4])
                v = row[j]
                d = dm.get(v.nid) if isinstance(v, Sym) else frozenset((int(v),))
                if d is None or u is None:
                    u = None
                    break
                u |= d
            if u is not None and len(u) > DOM_MAX:
                u = None
            out_doms.append(frozenset(u) if u is not None else
                            (o.dom if isinstance(o, Sym) else None))
        g.funcs[fid] = func
        self.stats["functions traced"] += 1
        return func, tags, shape, out_doms

