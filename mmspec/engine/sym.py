"""Symbolic values for tracing the rules: a hash-consed expression DAG over the state leaves.

The rules of :mod:`mmspec.kernel` are ordinary Python over ints. Run with a state whose
leaves are :class:`Sym` nodes instead of ints, every arithmetic operation builds a node of
one shared DAG (equal expressions are the same object, constants fold to plain Python
ints and bools), and every Python ``if``/``and``/``or``/index on a node asks the
:mod:`tracer <mmspec.engine.tracer>` which way to go (``Sym.__bool__`` / ``__index__``).
The DAG is what the code generator compiles (:mod:`mmspec.engine.cgen`) and what z3 reads.

This module holds the nodes (:class:`Sym`, hash-consed by :class:`Graph`), the operations'
Python semantics (``_BIN``, ``_CMP``), and walks over the DAG (:func:`postorder`,
:func:`evaluate`). The constructors with their folding rules (``binop``, ``cmp``, ``ite``,
``and_``, ``or_``, ``not_``) are in :mod:`mmspec.engine.fold` and re-exported here.

A ``let`` node stands for its one argument (the same value); the tracer puts one over each
result of an *opaque* join (:data:`mmspec.engine.tracer.OPAQUE_JOINS`) so that later
operations build on it instead of rewriting into its ``ite`` trees.

*Functions* (:class:`Func`, kept in ``Graph.funcs``) are the bodies of the tracer's
function joins (:data:`mmspec.engine.tracer.FUNC_JOINS`): expressions over their own
inputs, ``fin`` leaves (``args = (fid, j)``), traced once and used at every call site. A
``call`` node (``args = (fid, x0, x1, ...)``, one argument per ``fin``) stands for the
tuple of the function's outputs on those arguments; a ``proj`` node (``args = (call,
j)``) for output ``j``. Engines evaluate a body per call (the C code calls a C function;
z3 substitutes the arguments).

Semantics are Python's: ``//`` and ``%`` floor, ``>>`` is arithmetic, ints are unbounded
(the code generator checks that the scope's values fit 64 bits). A node carries a finite
*domain* (the set of values it can take) whenever that set is small; comparisons whose
outcome is the same on the whole domain fold to a constant, and comparisons of an
``ite`` of constants with a constant are pushed into the ``ite`` (so ``b < 0`` and
``b == -1`` become the same node when ``-1`` is ``b``'s only negative value).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Sym", "Graph", "Func", "LEAF_OPS", "const_value", "is_sym", "ite", "and_", "or_", "not_", "evaluate",
           "postorder"]

#: operations of input nodes (no node arguments)
LEAF_OPS = ("in", "ch", "fin")

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


class Graph:
    """One DAG: the hash-consing table and the tracer that answers branch questions."""

    def __init__(self) -> None:
        self.table: dict = {}
        self.nodes: list[Sym] = []
        self.dist: dict = {}          # (ite node id, operation) -> node with it pushed inside
        self.neg: dict = {}           # node id -> its negation
        self.nchoices = 0             # choice inputs made so far (``ch`` leaves)
        self.funcs: list = []         # fid -> Func (None while its body is being traced)
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


class Func:
    """A traced function body: ``outs`` are expressions over the ``fin`` leaves of
    function ``fid`` (``nin`` of them) and constants."""

    __slots__ = ("fid", "name", "nin", "outs", "ranges")

    def __init__(self, fid: int, name: str, nin: int, outs: list) -> None:
        self.fid, self.name, self.nin, self.outs = fid, name, nin, outs
        self.ranges = None            # node value ranges of the body (z3expr.node_ranges)


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


def postorder(roots, skip=frozenset(), forward: bool = False) -> list:
    """The nodes under ``roots`` (not under a node whose number is in ``skip``), every
    node after its arguments (no recursion). With ``forward``, roots and arguments are
    visited first to last (the order C statements are emitted in), else last to first."""
    order, seen = [], set()
    side = reversed if forward else (lambda xs: xs)
    stack = [(r, False) for r in side(roots) if isinstance(r, Sym) and r.nid not in skip]
    while stack:
        n, expanded = stack.pop()
        if expanded:
            order.append(n)
            continue
        if n.nid in seen:
            continue
        seen.add(n.nid)
        stack.append((n, True))
        if n.op not in LEAF_OPS:
            stack.extend((a, False) for a in side(n.args)
                         if isinstance(a, Sym) and a.nid not in seen and a.nid not in skip)
    return order


def evaluate(roots, env_in, env_ch=(), env_fin=(), call=None) -> list:
    """Evaluate nodes on concrete inputs (Python semantics): for tests and the reference
    check of generated code. ``env_in[i]`` is leaf ``in i``; ``env_ch[k]`` slot ``ch k``;
    ``env_fin[j]`` input ``j`` of the function whose body is evaluated. An ``ite``
    evaluates only its taken branch. ``call(node, argument values)``, if given, supplies
    the outputs of each ``call`` node reached (default: the body evaluated on them)."""
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
            elif op == "let":
                r = vals[0]
            elif op == "fin":
                r = env_fin[n.args[1]]
            elif op == "call":
                r = (call(n, vals[1:]) if call is not None
                     else tuple(evaluate(n.g.funcs[vals[0]].outs, (), (), vals[1:])))
            elif op == "proj":
                r = vals[0][vals[1]]
            else:
                raise AssertionError(op)
            memo[n.nid] = r
            stack.pop()
        return memo[x.nid]

    return [ev(r) for r in roots]


# the constructors with their folding rules (they use Sym: imported once it is defined)
from .fold import and_, binop, cmp, ite, not_, or_  # noqa: E402,F401
