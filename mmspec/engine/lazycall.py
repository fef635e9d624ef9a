"""Function calls in z3, inlined on demand (counterexample-guided inlining).

A traced program with function joins (direct compaction: :data:`~mmspec.engine.funcjoin.
FUNC_JOINS`) calls its function bodies hundreds of times per step: substituted at every
call, the high-order template of scopes/compaction.toml is 307,000 expression nodes per
frame, and z3 gave no depth-1 answer in 80 s. Here a call starts *abstract*: its outputs
are fresh, unconstrained terms (an output that is an input passed through stays that
input). The abstraction over-approximates the step (every real step is one of its steps,
with each output set to the body's value), so UNSAT is a proof about the real steps.

A model (SAT) is checked by :meth:`LazyCalls.refine`: each frame's selected template is
evaluated on the model's values, following only the branches taken, so only the calls the
model's run depends on are looked at; every such abstract call whose model outputs differ
from its body's outputs on the model's arguments is *inlined* -- its outputs are defined
as the body on its arguments, with the body's own calls abstract in turn -- together with
the calls its body makes on those arguments (the path the run takes through it). A model
with no wrong call is a run of the real steps (BMC still replays it through the Python
step function before reporting it). Calls are finitely many (bodies do not recurse), so
refinement ends; in practice only calls on the paths z3 tries are inlined.

An inlined output is *defined*, never otherwise constrained: a call on a branch the run
does not take may get arguments outside the input domains its body was traced for, where
the body's value means nothing, and a definition can always be met. (Constraining outputs
to their traced domains as well made the real counterexample UNSAT: tests/test_lazycall.py.)

This is the lazy-inlining idea of stratified inlining (Lal, Qadeer and Lahiri, "A solver
for reachability modulo theories", CAV 2012) applied to one step's call tree.
"""

from __future__ import annotations

import z3

from .sym import Sym, evaluate
from .z3expr import Z3Expr

__all__ = ["LazyCalls"]


class _Call:
    __slots__ = ("fid", "args", "outs", "body")

    def __init__(self, fid: int, args: list, outs: tuple) -> None:
        self.fid, self.args, self.outs = fid, args, outs
        self.body: Z3Expr | None = None       # set once inlined


class LazyCalls:
    """The call instances of one unrolling: ``key`` -> instance, where a key is the
    environment's key (a frame's ``(tag, k)``, or an inlined call's key) plus the call
    node's number. Constraints to add to the solver collect in :attr:`pending`."""

    def __init__(self, graph, width: int | None, tag: str = "") -> None:
        self.g, self.width, self.tag = graph, width, tag
        self.calls: dict[tuple, _Call] = {}
        self.pending: list = []
        self.inlined = 0

    def take(self) -> list:
        """The constraints made since the last call (the definitions of inlined
        bodies): add them to the solver before the next check."""
        out, self.pending = self.pending, []
        return out

    def instance(self, tx: Z3Expr, n: Sym, args: list) -> tuple:
        """The outputs of call node ``n`` in environment ``tx`` (``args``: its argument
        terms): fresh terms (constants stay constants, inputs passed through stay the
        arguments)."""
        key = tx.key + (n.nid,)
        c = self.calls.get(key)
        if c is not None:
            return c.outs
        fid = n.args[0]
        f = self.g.funcs[fid]
        outs = []
        for j, o in enumerate(f.outs):
            if not isinstance(o, Sym):
                outs.append(o)
                continue
            if o.op == "fin" and o.args[0] == fid:          # an input passed through
                outs.append(args[o.args[1]])
                continue
            name = f"{self.tag}call{len(self.calls)}:{f.name}.{j}"
            if o.isbool:
                outs.append(z3.Bool(name))
                continue
            outs.append(z3.BitVec(name, self.width) if self.width else z3.Int(name))
        c = self.calls[key] = _Call(fid, list(args), tuple(outs))
        return c.outs

    def _inline(self, key: tuple, c: _Call, tx: Z3Expr) -> None:
        sub = Z3Expr(tx.leaf, tx.choice, self.width, calls=self, key=key)
        sub.fin = c.args
        c.body = sub
        for o, v in zip(self.g.funcs[c.fid].outs, c.outs):
            if isinstance(o, Sym):
                self.pending.append(v == (sub.bool(o) if o.isbool else sub.int(o)))
        self.inlined += 1

    def _inline_path(self, key: tuple, c: _Call, tx: Z3Expr, vals: list) -> tuple:
        """Inline call ``c`` and, below it, every call its body makes on arguments
        ``vals`` (the path the model's run takes through it): the next model would
        otherwise find them wrong one level at a time. Its real outputs."""
        if c.body is None:
            self._inline(key, c, tx)

        def call(n: Sym, cvals: list) -> tuple:
            k2 = key + (n.nid,)
            c2 = self.calls.get(k2)
            if c2 is None:
                return tuple(evaluate(self.g.funcs[n.args[0]].outs, (), (), cvals))
            return self._inline_path(k2, c2, c.body, cvals)
        return tuple(evaluate(self.g.funcs[c.fid].outs, (), (), vals, call))

    def refine(self, mdl, envs) -> int:
        """Inline every abstract call on the model's path that ``mdl`` gives wrong
        outputs, with the calls below it on that path; the number inlined (0: the model
        is a run of the real steps). ``envs``: per
        environment to check, ``(tx, roots, env_in, env_ch)`` -- a frame's Z3Expr, the
        nodes the query uses there, and the model's values of its leaves and choices."""
        wrong: list[tuple] = []

        def value(t):
            if isinstance(t, (bool, int)):
                return int(t)
            v = mdl.eval(t, model_completion=True)
            if z3.is_bool(v):
                return int(z3.is_true(v))
            return v.as_signed_long() if z3.is_bv(v) else v.as_long()

        def hook(prefix: tuple, tx: Z3Expr):
            def call(n: Sym, vals: list) -> tuple:
                key = prefix + (n.nid,)
                c = self.calls.get(key)
                f = self.g.funcs[n.args[0]]
                if c is None:                   # not in the query: its real outputs
                    return tuple(evaluate(f.outs, (), (), vals))
                if c.body is not None:          # inlined: its own calls, relevant ones
                    return tuple(evaluate(f.outs, (), (), vals, hook(key, c.body)))
                got = tuple(value(t) for t in c.outs)
                real = evaluate(f.outs, (), (), vals)
                if any(int(a) != int(b) for a, b in zip(got, real)):
                    wrong.append((key, c, tx, vals))
                return got
            return call
        for tx, roots, env_in, env_ch in envs:
            evaluate(roots, env_in, env_ch, (), hook(tx.key, tx))
        before = self.inlined
        for key, c, tx, vals in wrong:
            self._inline_path(key, c, tx, vals)
        return self.inlined - before
