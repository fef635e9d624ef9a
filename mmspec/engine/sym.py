"""Symbolic values for tracing the rules: a hash-consed expression DAG over the state leaves.

The rules of :mod:`mmspec.kernel` are ordinary Python over ints. Run with a state whose
leaves are :class:`Sym` nodes instead of ints, every arithmetic operation builds a node of
one shared DAG (equal expressions are the same object, constants fold to plain Python
ints and bools), and every Python ``if``/``and``/``or``/index on a node asks the
:mod:`tracer <mmspec.engine.tracer>` which way to go (``Sym.__bool__`` / ``__index__``).
The DAG is what the code generator compiles (:mod:`mmspec.engine.cgen`) and what z3 reads.

Semantics are Python's: ``//`` and ``%`` floor, ``>>`` is arithmetic, ints are unbounded
(the code generator checks that the scope's values fit 64 bits). A node carries a finite
*domain* (the set of values it can take) whenever that set is small; comparisons whose
outcome is the same on the whole domain fold to a constant, and comparisons of an
``ite`` of constants with a constant are pushed into the ``ite`` (so ``b < 0`` and
``b == -1`` become the same node when ``-1`` is ``b``'s only negative value).
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["Sym", "Graph", "const_value", "is_sym", "ite", "and_", "or_", "not_", "evaluate"]

#: largest domain kept per node (values); larger sets are dropped (domain unknown)
DOM_MAX = 64

_BIN = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "//": lambda a, b: a // b, "%": lambda a, b: a % b, "<<": lambda a, b: a << b,
    ">>": lambda a, b: a >> b, "&": lambda a, b: a & b, "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
}
_CMP = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b}
_COMMUTATIVE = {"+", "*", "&", "|", "^", "==", "!="}


class Graph:
    """One DAG: the hash-consing table and the tracer that answers branch questions."""

    def __init__(self) -> None:
        self.table: dict = {}
        self.nodes: list[Sym] = []
        self.dist: dict = {}
        self.neg: dict = {}           # node id -> its negation
        self.nchoices = 0             # choice inputs made so far (``ch`` leaves)          # (ite node id, operation) -> node with it pushed inside
        self.tracer: Any = None       # set by the tracer; decides __bool__ / __index__

    def make(self, op: str, args: tuple, isbool: bool, dom) -> "Sym":
        key = (op,) + tuple(a.nid if isinstance(a, Sym) else ("k", a) for a in args)
        n = self.table.get(key)
        if n is None:
            n = Sym(self, op, args, isbool, dom, len(self.nodes))
            self.table[key] = n
            self.nodes.append(n)
        return n

    def leaf(self, op: str, index: int, lo: int, hi: int, isbool: bool = False) -> "Sym":
        """An input: ``op`` is ``in`` (a state leaf) or ``ch`` (a reclaim choice slot)."""
        dom = frozenset(range(lo, hi + 1)) if hi - lo < DOM_MAX else None
        n = self.make(op, (index,), isbool, dom)
        n.bounds = (lo, hi)
        return n


def is_sym(x) -> bool:
    return isinstance(x, Sym)


def const_value(x):
    """``x`` as a Python int if it is a constant (bools become 0/1), else None."""
    if isinstance(x, Sym):
        return None
    return int(x)


class Sym:
    """One DAG node. Do not construct directly: operators and :class:`Graph` do.

    ``op`` names the operation (``in``, ``ch``, ``+``, ``<``, ``ite``, ``and``, ...);
    ``args`` are nodes or Python ints; ``isbool`` says the value is a truth value;
    ``dom`` is a frozenset of the possible values or None; ``nid`` the node's number.
    Hashing is by identity (nodes are hash-consed); ``==`` builds a node.
    """

    __slots__ = ("g", "op", "args", "isbool", "dom", "nid", "bounds")

    def __init__(self, g: Graph, op: str, args: tuple, isbool: bool, dom, nid: int) -> None:
        self.g, self.op, self.args, self.isbool, self.dom, self.nid = g, op, args, isbool, dom, nid
        self.bounds = None

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        if self.op in ("in", "ch"):
            return f"{self.op}{self.args[0]}"
        return f"n{self.nid}:{self.op}"

    # -- branching: the tracer decides
    def __bool__(self) -> bool:
        t = self.g.tracer
        if t is None:
            raise TypeError(f"symbolic value {self!r} used as a truth value outside a trace")
        return t.decide_bool(self)

    def __index__(self) -> int:
        t = self.g.tracer
        if t is None:
            raise TypeError(f"symbolic value {self!r} used as an index outside a trace")
        return t.decide_index(self)

    __int__ = __index__

    # -- arithmetic
    def __add__(self, o): return binop("+", self, o)
    def __radd__(self, o): return binop("+", o, self)
    def __sub__(self, o): return binop("-", self, o)
    def __rsub__(self, o): return binop("-", o, self)
    def __mul__(self, o): return binop("*", self, o)
    def __rmul__(self, o): return binop("*", o, self)
    def __floordiv__(self, o): return binop("//", self, o)
    def __rfloordiv__(self, o): return binop("//", o, self)
    def __mod__(self, o): return binop("%", self, o)
    def __rmod__(self, o): return binop("%", o, self)
    def __lshift__(self, o): return binop("<<", self, o)
    def __rlshift__(self, o): return binop("<<", o, self)
    def __rshift__(self, o): return binop(">>", self, o)
    def __rrshift__(self, o): return binop(">>", o, self)

    def __and__(self, o):
        if self.isbool and (isinstance(o, bool) or (isinstance(o, Sym) and o.isbool)):
            return and_(self, o)
        return binop("&", self, o)

    __rand__ = __and__

    def __or__(self, o):
        if self.isbool and (isinstance(o, bool) or (isinstance(o, Sym) and o.isbool)):
            return or_(self, o)
        return binop("|", self, o)

    __ror__ = __or__

    def __xor__(self, o): return binop("^", self, o)
    __rxor__ = __xor__

    def __neg__(self): return binop("-", 0, self)
    def __pos__(self): return self
    def __invert__(self): return binop("^", self, -1)

    # -- the scans of mmspec.ops, as expressions
    @staticmethod
    def first_true(conds, offset: int = 0):
        """``mmspec.ops.first_true`` of the conditions ``conds``, numbered from ``offset``
        (the conditions before it were false)."""
        res = -1
        for i in range(len(conds) - 1, -1, -1):
            res = ite(conds[i], offset + i, res)
        return res

    @staticmethod
    def any_(xs):
        return or_(*xs)

    @staticmethod
    def select(c, x, y):
        return ite(c, x, y)

    @staticmethod
    def all_(xs):
        return and_(*xs)

    # -- comparisons (return nodes or Python bools)
    def __lt__(self, o): return cmp("<", self, o)
    def __le__(self, o): return cmp("<=", self, o)
    def __gt__(self, o): return cmp("<", o, self)
    def __ge__(self, o): return cmp("<=", o, self)
    def __eq__(self, o): return cmp("==", self, o)   # type: ignore[override]
    def __ne__(self, o): return cmp("!=", self, o)   # type: ignore[override]


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


def evaluate(roots, env_in, env_ch=()) -> list:
    """Evaluate nodes on concrete inputs (Python semantics): for tests and the reference
    check of generated code. ``env_in[i]`` is leaf ``in i``; ``env_ch[k]`` slot ``ch k``."""
    memo: dict = {}

    def ev(x):
        if not isinstance(x, Sym):
            return x
        v = memo.get(x.nid)
        if v is not None:
            return v
        stack = [x]
        while stack:
            n = stack[-1]
            if n.nid in memo:
                stack.pop()
                continue
            pend = [a for a in n.args if isinstance(a, Sym) and a.nid not in memo]
            if n.op == "ite":
                c = n.args[0]
                if isinstance(c, Sym) and c.nid not in memo:
                    stack.append(c)
                    continue
                cv = memo[c.nid] if isinstance(c, Sym) else c
                br = n.args[1] if cv else n.args[2]
                if isinstance(br, Sym) and br.nid not in memo:
                    stack.append(br)
                    continue
                memo[n.nid] = memo[br.nid] if isinstance(br, Sym) else br
                stack.pop()
                continue
            if pend:
                stack.extend(pend)
                continue
            vals = [memo[a.nid] if isinstance(a, Sym) else a for a in n.args]
            op = n.op
            if op == "in":
                r = env_in[n.args[0]]
            elif op == "ch":
                r = env_ch[n.args[0]]
            elif op in _BIN:
                r = _BIN[op](*vals)
            elif op in _CMP:
                r = _CMP[op](*vals)
            elif op == "and":
                r = all(vals)
            elif op == "or":
                r = any(vals)
            elif op == "not":
                r = not vals[0]
            else:
                raise AssertionError(op)
            memo[n.nid] = r
            stack.pop()
        return memo[x.nid]

    return [ev(r) for r in roots]
