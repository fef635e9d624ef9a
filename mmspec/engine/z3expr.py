"""Traced expression DAGs (:mod:`mmspec.engine.sym`) as z3 terms, with Python's semantics.

:class:`Z3Expr` translates the nodes reachable from some roots for one *environment* (the
z3 terms standing for the ``in`` leaves of one state and the ``ch`` leaves of one step's
choice slots), keeping a memo per environment: a BMC frame translates each shared node of
its templates once. Two encodings:

- **Int** (``width=None``): mathematical integers; every operation is exact for every
  value (``//`` and ``%`` floor as in Python, shifts by constants as multiplication and
  floor division by powers of two, bitwise operations through two's complement bit-vectors
  of :data:`BITWISE_BITS` bits).
- **bit-vectors** (``width=w``): signed w-bit terms, bit-blasted by z3. Python's
  semantics are kept exactly while no value leaves the signed w-bit range: ``//`` is
  ``bvsdiv`` corrected towards minus infinity, ``%`` is ``bvsmod`` (sign of the divisor,
  as Python's), ``>>`` is the arithmetic shift. :func:`program_width` picks a w that holds
  every node's value whenever the state's leaves lie within the layout's bounds
  (interval analysis over the DAG, :func:`node_ranges`); the engines check that every
  state they reach lies within those bounds, so the premise is proved, not assumed.

A truth-valued node used in arithmetic counts as 0/1, and a number used as a condition
means ``!= 0``, as in Python. tests/test_symbolic.py compares the translation with
:func:`mmspec.engine.sym.evaluate` on every operation and on the templates of every design.
"""

from __future__ import annotations

from typing import Callable

import z3
from z3 import z3core as _C

from .sym import LEAF_OPS, Sym, postorder

__all__ = ["Z3Expr", "node_ranges", "program_width", "signed_bits", "BITWISE_BITS"]

#: Int encoding: bitwise operations on values outside this signed range are not exact
BITWISE_BITS = 64

_ARITH = ("+", "-", "*", "//", "%", "<<", ">>", "&", "|", "^")


def signed_bits(lo: int, hi: int) -> int:
    """Bits of the smallest two's complement type holding every value in [lo, hi]."""
    b = 1
    while not (-(1 << (b - 1)) <= lo and hi < (1 << (b - 1))):
        b += 1
    return b


class Z3Expr:
    """Nodes as z3 terms in one environment: ``leaf(i)`` is the term (or Python value) of
    state leaf ``in i``, ``choice(j)`` that of choice input ``ch j``."""

    def __init__(self, leaf: Callable[[int], object], choice: Callable[[int], object],
                 width: int | None = None, calls=None, key: tuple = ()) -> None:
        self.leaf, self.choice, self.width = leaf, choice, width
        #: None: a ``call`` node is its function's body with the arguments substituted;
        #: else a :class:`~mmspec.engine.lazycall.LazyCalls` gives its outputs (fresh
        #: terms, constrained once the call is inlined); ``key`` names this environment
        #: among the calls' (a frame, or a call inlined in one)
        self.calls, self.key = calls, key
        self.memo: dict[int, object] = {}
        self.ctx = z3.main_ctx()
        self.cref = self.ctx.ref()
        self._lt = _C.Z3_mk_bvslt if width else _C.Z3_mk_lt
        self._le = _C.Z3_mk_bvsle if width else _C.Z3_mk_le
        self._consts: dict[int, object] = {}
        self.fin: list = []           # a function body's inputs (terms of the call's arguments)

    # -- public: a node (or Python constant) as a z3 Bool / number
    def bool(self, x) -> z3.BoolRef:
        return self._as_bool(self._term(x))

    def int(self, x):
        return self._as_int(self._term(x))

    def _sort_ref(self, isbool: bool):
        """The z3py class of a term of this encoding (a truth value or a number)."""
        return z3.BoolRef if isbool else z3.BitVecRef if self.width else z3.ArithRef

    # -- coercions
    def _const(self, v: int):
        c = self._consts.get(v)
        if c is None:
            c = self._consts[v] = z3.BitVecVal(v, self.width) if self.width else z3.IntVal(v)
        return c

    def _as_bool(self, t):
        if isinstance(t, bool):
            return z3.BoolVal(t)
        if isinstance(t, int):
            return z3.BoolVal(t != 0)
        return t if z3.is_bool(t) else t != self._const(0)

    def _as_int(self, t):
        if isinstance(t, bool) or isinstance(t, int):
            return self._const(int(t))
        return z3.If(t, self._const(1), self._const(0)) if z3.is_bool(t) else t

    def _term(self, x):
        if not isinstance(x, Sym):
            return x
        t = self.memo.get(x.nid)
        if t is None:
            for n in postorder([x], self.memo):
                self.memo[n.nid] = self._node(n)
            t = self.memo[x.nid]
        return t

    def _arg(self, a):
        return self.memo[a.nid] if isinstance(a, Sym) else a

    def _node(self, n: Sym):
        op = n.op
        if op == "in":
            return self.leaf(n.args[0])
        if op == "ch":
            return self.choice(n.args[0])
        args = [self._arg(a) for a in n.args]
        if op == "let":
            return args[0]
        if op == "fin":
            return self.fin[n.args[1]]
        if op == "call":
            if self.calls is not None:
                return self.calls.instance(self, n, args[1:])
            # the function's body with its inputs bound to this call's arguments
            sub = Z3Expr(self.leaf, self.choice, self.width)
            sub.fin = args[1:]
            return tuple(sub._term(o) for o in n.g.funcs[args[0]].outs)
        if op == "proj":
            return args[0][args[1]]
        # the frequent operations straight through z3's C API (z3py's And/If/== re-check
        # and coerce every argument: 3x slower on these DAGs); the same terms
        # (the z3py objects are kept referenced until the C call: a dropped temporary, such
        # as BoolVal(True) for a constant argument, would free its term first)
        if op == "and" or op == "or":
            refs = [self._as_bool(a) for a in args]
            xs = [t.as_ast() for t in refs]
            arr = (z3.Ast * len(xs))(*xs)
            mk = _C.Z3_mk_and if op == "and" else _C.Z3_mk_or
            return z3.BoolRef(mk(self.cref, len(xs), arr), self.ctx)
        if op == "not":
            a0 = self._as_bool(args[0])
            return z3.BoolRef(_C.Z3_mk_not(self.cref, a0.as_ast()), self.ctx)
        if op == "ite":
            c, x, y = args
            conv = self._as_bool if n.isbool else self._as_int
            x, y, c = conv(x), conv(y), self._as_bool(c)
            r = _C.Z3_mk_ite(self.cref, c.as_ast(), x.as_ast(), y.as_ast())
            return self._sort_ref(n.isbool)(r, self.ctx)
        if op in ("==", "!="):
            a, b = args
            conv = self._as_bool if _is_boolish(a) and _is_boolish(b) else self._as_int
            a, b = conv(a), conv(b)
            r = _C.Z3_mk_eq(self.cref, a.as_ast(), b.as_ast())
            if op == "!=":
                r = _C.Z3_mk_not(self.cref, r)
            return z3.BoolRef(r, self.ctx)
        if op in ("<", "<="):
            a, b = (self._as_int(v) for v in args)
            mk = self._lt if op == "<" else self._le
            return z3.BoolRef(mk(self.cref, a.as_ast(), b.as_ast()), self.ctx)
        if op in _ARITH:
            return self._arith(op, n, args)
        raise AssertionError(f"no z3 translation for operation {op!r}")

    def _arith(self, op: str, n: Sym, args: list):
        ra, rb = args
        if op == "*":
            # a truth value times a number (what a branch-free count produces): no product
            for x, y in ((ra, rb), (rb, ra)):
                if _is_boolish(x) and not isinstance(x, (bool, int)):
                    return z3.If(x, self._as_int(y), self._const(0))
        a, b = self._as_int(ra), self._as_int(rb)
        kb = rb if isinstance(rb, int) else None        # a constant right operand
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if self.width:
            return self._bv_arith(op, a, b)
        if op == "//":
            return _int_floordiv(a, b, kb)
        if op == "%":
            return a - b * _int_floordiv(a, b, kb)
        if op in ("<<", ">>"):
            amounts = [kb] if kb is not None else sorted(n.args[1].dom or ())
            if not amounts or min(amounts) < 0:
                raise AssertionError(f"shift by an unbounded or negative amount in {n!r}")
            out = None
            for k in reversed(amounts):
                v = a * (1 << k) if op == "<<" else a / (1 << k)   # Int '/' floors for k > 0
                out = v if out is None else z3.If(b == k, v, out)
            return out
        # bitwise: two's complement on BITWISE_BITS bits, read back as a signed number
        w = BITWISE_BITS
        x, y = z3.Int2BV(a, w), z3.Int2BV(b, w)
        r = z3.BV2Int(x & y if op == "&" else x | y if op == "|" else x ^ y)
        return z3.If(r >= 1 << (w - 1), r - (1 << w), r)

    def _bv_arith(self, op: str, a, b):
        if op == "//":
            q, r = a / b, z3.SRem(a, b)       # z3py '/' on bit-vectors: bvsdiv (truncates)
            zero = self._const(0)
            return z3.If(z3.And(r != zero, (r < zero) != (b < zero)), q - 1, q)
        if op == "%":
            return a % b                      # z3py: bvsmod, the divisor's sign (as Python)
        if op == "<<":
            return a << b
        if op == ">>":
            return a >> b                      # arithmetic on BitVecRef
        return a & b if op == "&" else a | b if op == "|" else a ^ b


def _is_boolish(t) -> bool:
    return isinstance(t, bool) or (z3.is_expr(t) and z3.is_bool(t))


def _int_floordiv(a, b, kb):
    """Python's ``a // b`` on z3 Ints (z3's ``/`` is Euclidean: floor for b > 0)."""
    if kb is not None:
        return a / b if kb > 0 else (-a) / (-b)
    return z3.If(b > 0, a / b, (-a) / (-b))


# ------------------------------------------------------------------------------------------
# Value ranges: how many bits the bit-vector encoding needs.

def _floordiv_range(a, b):
    lo_b, hi_b = b
    if lo_b <= 0 <= hi_b:
        # a quotient the rules compute only for a non-zero divisor (fragmentation_index
        # after ``if not total``) may be evaluated on a branch not taken: 0 there (the C
        # code's mm_fdiv; z3's value is unused)
        ends = [y for y in (lo_b, -1, 1, hi_b) if y != 0 and lo_b <= y <= hi_b]
        if not ends:
            return 0, 0
        vals = [x // y for x in a for y in ends] + [0]
        return min(vals), max(vals)
    vals = [x // y for x in a for y in b]
    return min(vals), max(vals)


def _op_range(op: str, a: tuple, b: tuple) -> tuple[int, int]:
    if op in ("+", "-", "*"):
        f = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}[op]
        vals = [f(x, y) for x in a for y in b]
        return min(vals), max(vals)
    if op == "//":
        return _floordiv_range(a, b)
    if op == "%":
        m = max(abs(b[0]), abs(b[1]))
        return (0 if b[0] > 0 else -m + 1), (0 if b[1] < 0 else m - 1)
    if op in ("<<", ">>"):
        if b[0] < 0:
            raise ValueError("shift by a value that may be negative")
        if op == "<<":
            vals = [x << y for x in a for y in b]
        else:
            vals = [x >> y for x in a for y in b]
        return min(vals), max(vals)
    # bitwise: within the two's complement range of the wider operand
    bits = max(signed_bits(*a), signed_bits(*b))
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def node_ranges(roots, leaf_range: Callable[[Sym], tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """An interval holding every value each node under ``roots`` can take when every input
    node ``x`` (``in``/``ch``) takes values in ``leaf_range(x)``. Truth values are [0, 1].
    Raises ValueError where no bound follows (a shift by an amount that may be negative)."""
    rng: dict[int, tuple[int, int]] = {}

    def r(x):
        if isinstance(x, Sym):
            return rng[x.nid]
        return int(x), int(x)
    for n in postorder(roots):
        if n.op in LEAF_OPS:
            rng[n.nid] = (0, 1) if n.isbool else leaf_range(n) if n.op != "fin" else n.bounds
        elif n.op == "call":
            # a function's body ranges follow from its inputs' bounds, which cover every
            # argument (mmspec.engine.tracer): the same for every call
            f = n.g.funcs[n.args[0]]
            if f.ranges is None:
                f.ranges = node_ranges(f.outs, leaf_range)
            rng.update(f.ranges)
            rng[n.nid] = (0, 0)
        elif n.op == "proj":
            o = n.g.funcs[n.args[0].args[0]].outs[n.args[1]]
            rng[n.nid] = (0, 1) if n.isbool else r(o)
        elif n.isbool or n.op in ("and", "or", "not", "<", "<=", "==", "!="):
            rng[n.nid] = (0, 1)
        elif n.op == "let":
            rng[n.nid] = r(n.args[0])
        elif n.op == "ite":
            (a, b), (c, d) = r(n.args[1]), r(n.args[2])
            rng[n.nid] = (min(a, c), max(b, d))
        else:
            rng[n.nid] = _op_range(n.op, r(n.args[0]), r(n.args[1]))
        if n.dom:                                  # the tracer's exact value set: tighter
            lo, hi = rng[n.nid]
            rng[n.nid] = (max(lo, min(n.dom)), min(hi, max(n.dom)))
    return rng


def program_width(prog, roots) -> int:
    """Bits of the signed bit-vectors that hold every value of the nodes under ``roots``
    (expressions over one state of ``prog`` and a step's choices) when the state's leaves
    lie within ``prog.layout``'s bounds and every choice within its candidates; and the
    leaves' own bounds, the template numbers and the choice numbers."""
    lay = prog.layout

    def leaf_range(x: Sym) -> tuple[int, int]:
        if x.op == "in":
            return lay.lo[x.args[0]], lay.hi[x.args[0]]
        return x.bounds
    rng = node_ranges(roots, leaf_range)
    lo = min([0, *lay.lo, *(a for a, _ in rng.values())])
    hi = max([len(prog.templates), *lay.hi, *(b for _, b in rng.values())]
             + [len(c) for t in prog.templates for _, c in t.slots])
    return signed_bits(lo, hi)
