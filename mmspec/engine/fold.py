"""Building DAG nodes with folding: the constructors behind :class:`~mmspec.engine.sym.Sym`'s
operators (``binop``, ``cmp``, ``ite``, ``and_``, ``or_``, ``not_``) and their rules.

Every operator on a node calls one of these; they return a plain Python int or bool
whenever the value is known and a hash-consed node (``Graph.make``) otherwise:

- constants fold, and so do identities (``x + 0``, ``x * 1``, ``x - x``, shifts by 0);
- *domains*: a node's set of possible values is computed from its operands' while it stays
  small (``DOM_MAX``); an operation or comparison with a single possible outcome folds to
  it;
- an operation or comparison of an ``ite`` of constants with a constant is pushed into
  the ``ite`` (cached per graph: ``Graph.dist``);
- commutative operands are put in node-number order, ``and``/``or`` are flattened and
  deduplicated (``x and not x`` folds), and ``ite`` chains that keep one value on most
  branches (what merging the tracer's paths produces) become one ``ite`` of a condition.

:mod:`mmspec.engine.sym` defines the nodes and re-exports these functions; the two modules
import each other at their ends (names are only used when called), so either may be
imported first.
"""

from __future__ import annotations

from typing import Callable

__all__ = ["binop", "cmp", "ite", "and_", "or_", "not_"]

_COMMUTATIVE = {"+", "*", "&", "|", "^", "==", "!="}


def _graph(*xs) -> Graph:
    for x in xs:
        if isinstance(x, Sym):
            return x.g
    raise AssertionError("no symbolic operand")


def _num(x):
    return int(x) if isinstance(x, bool) else x


def _small(dom) -> bool:
    return dom is not None and len(dom) <= DOM_MAX


def _is_const_tree(x) -> bool:
    """An ``ite`` whose leaves are all constants (bounded by the domain size)."""
    return isinstance(x, Sym) and x.op == "ite" and _small(x.dom)


def binop(op: str, a, b):
    a, b = _num(a), _num(b)
    sa, sb = isinstance(a, Sym), isinstance(b, Sym)
    if not sa and not sb:
        return _BIN[op](a, b)
    # identities
    if op == "+":
        if not sa and a == 0:
            return b
        if not sb and b == 0:
            return a
    elif op == "-":
        if not sb and b == 0:
            return a
        if sa and sb and a is b:
            return 0
    elif op == "*":
        for x, y in ((a, b), (b, a)):
            if not isinstance(x, Sym) and x == 0:
                return 0
            if not isinstance(x, Sym) and x == 1:
                return y
    elif op in ("//",):
        if not sb and b == 1:
            return a
    elif op in ("<<", ">>"):
        if not sb and b == 0:
            return a
        if not sa and a == 0:
            return 0
    # push an operation with a constant into an ite of constants
    if _is_const_tree(a) and not sb:
        return _distribute(a, lambda v: binop(op, v, b), (op, "l", b))
    if _is_const_tree(b) and not sa:
        return _distribute(b, lambda v: binop(op, a, v), (op, "r", a))
    g = _graph(a, b)
    if op in _COMMUTATIVE and sa and sb and a.nid > b.nid:
        a, b = b, a
    elif op in _COMMUTATIVE and not sa:
        a, b = b, a
    dom = _combine_dom(op, a, b)
    if dom is not None and len(dom) == 1:
        return next(iter(dom))
    return g.make(op, (a, b), False, dom)


def _dom(x):
    if isinstance(x, Sym):
        return x.dom
    return frozenset((_num(x),))


def _combine_dom(op: str, a, b):
    da, db = _dom(a), _dom(b)
    if da is None or db is None or len(da) * len(db) > 4 * DOM_MAX:
        return None
    fn = _BIN[op]
    try:
        out = frozenset(fn(x, y) for x in da for y in db)
    except (ZeroDivisionError, ValueError):
        return None
    return out if len(out) <= DOM_MAX else None


def _distribute(t: Sym, fn: Callable, key=None):
    """``fn`` applied at the constant leaves of the ite tree ``t`` (a DAG: each shared
    subtree is rewritten once; with ``key``, results are kept in the graph's cache)."""
    cache = t.g.dist if key is not None else {}
    memo: dict = {}

    def go(n):
        if not _is_const_tree(n):
            return fn(n)
        r = memo.get(n.nid)
        if r is None:
            ck = (n.nid, key)
            r = cache.get(ck) if key is not None else None
            if r is None:
                c, x, y = n.args
                r = ite(c, go(x), go(y))
                if key is not None:
                    cache[ck] = r
            memo[n.nid] = r
        return r
    return go(t)


def cmp(op: str, a, b):
    a, b = _num(a), _num(b)
    sa, sb = isinstance(a, Sym), isinstance(b, Sym)
    if not sa and not sb:
        return _CMP[op](a, b)
    if sa and sb and a is b:
        return op in ("<=", "==")
    da, db = _dom(a), _dom(b)
    if da is not None and db is not None and len(da) * len(db) <= 4 * DOM_MAX:
        fn = _CMP[op]
        outs = {fn(x, y) for x in da for y in db}
        if len(outs) == 1:
            return outs.pop()
    if _is_const_tree(a) and not sb:
        return _distribute(a, lambda v: cmp(op, v, b), (op, "l", b))
    if _is_const_tree(b) and not sa:
        return _distribute(b, lambda v: cmp(op, a, v), (op, "r", a))
    g = _graph(a, b)
    if op in _COMMUTATIVE and ((sa and sb and a.nid > b.nid) or not sa):
        a, b = b, a
    return g.make(op, (a, b), True, None)


def not_(x):
    if not isinstance(x, Sym):
        return not x
    if x.op == "not":
        return x.args[0]
    r = x.g.neg.get(x.nid)
    if r is None:
        r = x.g.make("not", (x,), True, None)
        x.g.neg[x.nid] = r
    return r


def and_(*xs):
    ys = []
    for x in xs:
        if isinstance(x, Sym):
            if x.op == "and":
                ys.extend(x.args)
            else:
                ys.append(x)
        elif not x:
            return False
    return _mk_assoc("and", ys, True)


def or_(*xs):
    ys = []
    for x in xs:
        if isinstance(x, Sym):
            if x.op == "or":
                ys.extend(x.args)
            else:
                ys.append(x)
        elif x:
            return True
    return _mk_assoc("or", ys, False)


def _mk_assoc(op: str, ys: list, unit: bool):
    seen: dict = {}
    for y in ys:
        seen.setdefault(y.nid, y)
    if not seen:
        return unit
    ids = set(seen)
    for y in seen.values():            # x and not x / x or not x
        if y.op == "not" and y.args[0].nid in ids:
            return not unit
    args = tuple(seen[k] for k in sorted(seen))
    if len(args) == 1:
        return args[0]
    return args[0].g.make(op, args, True, None)


def _same(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, Sym) or isinstance(b, Sym):
        return False
    return type(a) is type(b) and a == b


def ite(c, x, y):
    """``x if c else y`` as a node (folded when possible)."""
    if not isinstance(c, Sym):
        return x if c else y
    if x is y or (not isinstance(x, Sym) and not isinstance(y, Sym) and _num(x) == _num(y)
                  and type(x) is type(y)):
        return x
    if c.op == "not":
        return ite(c.args[0], y, x)
    # same condition inside: ite(c, ite(c, a, b), d) = ite(c, a, d)
    if isinstance(x, Sym) and x.op == "ite" and x.args[0] is c:
        x = x.args[1]
    if isinstance(y, Sym) and y.op == "ite" and y.args[0] is c:
        y = y.args[2]
    if _same(x, y):
        return x
    # chains that keep one value on most branches (what merging paths produces):
    # ite(c, x, ite(d, x, z)) = ite(c or d, x, z); ite(c, x, ite(d, z, x)) = ite(!c and d, z, x)
    if isinstance(y, Sym) and y.op == "ite":
        d, y1, y2 = y.args
        if _same(y1, x):
            return ite(or_(c, d), x, y2)
        if _same(y2, x):
            return ite(and_(not_(c), d), y1, x)
    if isinstance(x, Sym) and x.op == "ite":
        d, x1, x2 = x.args
        if _same(x2, y):
            return ite(and_(c, d), x1, y)
        if _same(x1, y):
            return ite(and_(c, not_(d)), x2, y)
    xb = isinstance(x, bool) or (isinstance(x, Sym) and x.isbool)
    yb = isinstance(y, bool) or (isinstance(y, Sym) and y.isbool)
    if xb and yb:
        if x is True and y is False:
            return c
        if x is False and y is True:
            return not_(c)
        if x is True:
            return or_(c, y)
        if x is False:
            return and_(not_(c), y)
        if y is False:
            return and_(c, x)
        if y is True:
            return or_(not_(c), x)
    x, y = _num(x) if not xb else x, _num(y) if not yb else y
    dx, dy = _dom(x), _dom(y)
    dom = dx | dy if dx is not None and dy is not None and len(dx) + len(dy) <= DOM_MAX else None
    if xb and yb:
        dom = None
    return c.g.make("ite", (c, x, y), xb and yb, dom)


# the nodes these functions build (sym imports this module at its end, after defining them)
from .sym import DOM_MAX, Graph, Sym, _BIN, _CMP  # noqa: E402
