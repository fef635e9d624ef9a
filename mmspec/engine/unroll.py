"""The transition relation of a traced :class:`~mmspec.engine.lower.Program`, frame by frame, in z3.

Frame k holds one z3 variable per varying state leaf (leaves the layout fixes stay Python
constants), a *template index* ``act`` (which action template the step from frame k
takes) and one *choice variable* per choice slot (the reclaim victim each choice point
takes, as an index into the slot's candidates). The step from frame k to k+1 is:

- ``0 <= act < T`` and the chosen template's guard holds in frame k;
- every leaf of frame k+1 equals the chosen template's post expression (templates with
  the same expression for a leaf share one branch of the leaf's ``If`` chain);
- for the chosen template, a slot it reaches (``need``) takes an eligible candidate, and
  every other slot is pinned to 0, so that each transition has exactly one encoding.

Each template's expressions are the tracer's DAG of the design's own rules, translated by
:class:`~mmspec.engine.z3expr.Z3Expr` with one memo per frame; each check's violation is
the check's own predicate traced into the same program (``tpl.checks[(i, "bad")]`` on the
step, ``prog.state_checks[(i, "bad_state")]`` on the state after it). A model is decoded
into :class:`~mmspec.state.Action` values (template action plus victims) and states, for
replay through the Python step function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import z3

from ..check import Check
from ..errors import MmspecError
from ..kernel import Allocator
from ..state import Action, State
from .lazycall import LazyCalls
from .lower import Program, trace_program, unsupported_reason
from .sym import Sym, evaluate
from .z3expr import Z3Expr, program_width

__all__ = ["Unrolling", "symbolic_program", "solver_for", "step_roots"]


def symbolic_program(model: Allocator, checks: Sequence[Check]) -> Program:
    """The traced program of ``model`` with ``checks``, or a one-line MmspecError when the
    z3 engine cannot take them (a scope or design the tracer refuses)."""
    why = unsupported_reason(model)
    if why:
        raise MmspecError(f"the z3 engine runs on the traced rules, which refuse this: {why}")
    return trace_program(model, checks)


def step_roots(tpl) -> list:
    """The expressions of a template's step: guard, post-state, the choice slots reached
    and their candidates' eligibility."""
    return [tpl.guard, *tpl.post, *tpl.need, *(e for el in tpl.elig for e in el)]


def solver_for(width: int | None) -> z3.Solver:
    """QF_BV (z3's incremental bit-blasting SAT solver) for bit-vectors, else the default."""
    return z3.SolverFor("QF_BV") if width else z3.Solver()


@dataclass
class Frame:
    leaves: list                        # per layout leaf: z3 variable or Python constant
    act: Any                            # template index of the step from this frame
    ch: list                            # per choice slot: candidate index
    tx: Z3Expr = field(repr=False, default=None)  # type: ignore[assignment]


def _key(x) -> tuple:
    return ("n", x.nid) if isinstance(x, Sym) else ("k", int(x))


class Unrolling:
    """Frames of ``prog`` in z3: Ints (``width=None``) or signed ``width``-bit vectors
    (see :func:`mmspec.engine.z3expr.program_width` and :meth:`out_of_range`)."""

    def __init__(self, prog: Program, width: int | None = None, tag: str = "") -> None:
        self.prog, self.lay, self.width, self.tag = prog, prog.layout, width, tag
        self.templates = prog.templates
        self.nslot = max([len(t.slots) for t in self.templates] + [0])
        #: graph-wide choice input number -> slot index (per template, slots are 0, 1, ...)
        self.slot_of = {node.args[0]: k for t in self.templates
                        for k, node in enumerate(t.choice_inputs) if isinstance(node, Sym)}
        self.frames: list[Frame] = []
        #: a program with function joins (direct compaction) has its calls inlined on
        #: demand (mmspec.engine.lazycall); the order-0 programs have none
        self.lazy = LazyCalls(prog.graph, width, tag) if prog.graph.funcs else None

    @classmethod
    def roots(cls, prog: Program, checks: Sequence[int]) -> list:
        """Every expression the unrolling translates for the checks numbered ``checks``."""
        out: list = []
        for t in prog.templates:
            out += step_roots(t)
            out += [t.checks.get((i, "bad"), False) for i in checks]
        out += [prog.state_checks.get((i, "bad_state"), False) for i in checks]
        return out

    @classmethod
    def width_for(cls, prog: Program, checks: Sequence[int]) -> int:
        return program_width(prog, cls.roots(prog, checks))

    # -- variables
    def _num(self, name: str):
        return z3.BitVec(name, self.width) if self.width else z3.Int(name)

    def _const(self, v: int):
        return z3.BitVecVal(v, self.width) if self.width else z3.IntVal(v)

    def frame(self, k: int) -> Frame:
        lay = self.lay
        while len(self.frames) <= k:
            j = len(self.frames)
            p = f"{self.tag}f{j}"
            leaves: list = []
            for i, name in enumerate(lay.names):
                if lay.lo[i] == lay.hi[i]:
                    leaves.append(bool(lay.lo[i]) if i in lay.bools else lay.lo[i])
                elif i in lay.bools:
                    leaves.append(z3.Bool(f"{p}:{name}"))
                else:
                    leaves.append(self._num(f"{p}:{name}"))
            f = Frame(leaves, self._num(f"{p}:template"),
                      [self._num(f"{p}:choice{s}") for s in range(self.nslot)])
            f.tx = Z3Expr(leaves.__getitem__, lambda c, f=f: f.ch[self.slot_of[c]], self.width,
                          calls=self.lazy, key=(self.tag, j))
            self.frames.append(f)
        return self.frames[k]

    def state(self, k: int) -> State:
        """Frame k as a :class:`~mmspec.state.State` of z3 terms (and constants)."""
        return self.lay.state(self.frame(k).leaves)

    # -- constraints
    def equal(self, k: int, other) -> Any:
        """Frame k's leaves equal ``other``: a frame number or a concrete State."""
        a = self.frame(k).leaves
        b = self.frame(other).leaves if isinstance(other, int) else self.lay.encode(other)
        eqs = []
        for x, y in zip(a, b):
            if isinstance(x, (bool, int)) and isinstance(y, (bool, int)):
                if int(x) != int(y):
                    return z3.BoolVal(False)
                continue
            if isinstance(x, (bool, int)):
                x, y = y, x
            eqs.append(x == (bool(y) if z3.is_bool(x) and isinstance(y, int) else y))
        return z3.And(*eqs)

    def init_constraint(self) -> Any:
        return self.equal(0, self.lay.decode(self.prog.init))

    def selects(self, f: Frame, t: int):
        """Frame ``f``'s step takes template ``t``."""
        return f.act == self._const(t)

    def trans(self, k: int) -> list:
        """The constraints of the step from frame k to frame k+1."""
        f, g = self.frame(k), self.frame(k + 1)
        tx = f.tx
        T = len(self.templates)
        zero = self._const(0)
        cons = [f.act >= zero, f.act < self._const(T)]
        users: dict[int, list[int]] = {s: [] for s in range(self.nslot)}
        for t, tpl in enumerate(self.templates):
            sel = self.selects(f, t)
            cons.append(z3.Implies(sel, tx.bool(tpl.guard)))
            for s, ((_, cands), need) in enumerate(zip(tpl.slots, tpl.need)):
                users[s].append(t)
                pick = z3.Or(*[z3.And(f.ch[s] == self._const(c), tx.bool(tpl.elig[s][c]))
                               for c in range(len(cands)) if tpl.elig[s][c] is not False]
                             or [z3.BoolVal(False)])
                cons.append(z3.Implies(sel, z3.If(tx.bool(need), pick, f.ch[s] == zero)))
        for s, ts in users.items():
            cons.append(z3.Or(f.ch[s] == zero, *[self.selects(f, t) for t in ts]))
        for i, y in enumerate(g.leaves):
            if isinstance(y, (bool, int)):
                continue                      # a fixed leaf: see out_of_range
            groups: dict[tuple, list[int]] = {}
            rep: dict[tuple, Any] = {}
            for t, tpl in enumerate(self.templates):
                kk = _key(tpl.post[i])
                groups.setdefault(kk, []).append(t)
                rep[kk] = tpl.post[i]
            order = sorted(groups, key=lambda kk: len(groups[kk]))
            conv = tx.bool if z3.is_bool(y) else tx.int
            rhs = conv(rep[order[-1]])
            for kk in order[:-1]:
                rhs = z3.If(z3.Or(*[self.selects(f, t) for t in groups[kk]]), conv(rep[kk]), rhs)
            cons.append(y == rhs)
        return cons + self.take()

    # -- calls inlined on demand (programs with function joins)
    def take(self) -> list:
        """Constraints that translating terms made since the last call (the definitions of
        inlined calls): add them before the next check."""
        return self.lazy.take() if self.lazy is not None else []

    def refine(self, mdl, depth: int, checks: Sequence[int] = ()) -> int:
        """Inline the calls ``mdl`` (a model of frames 0..depth and the violation of the
        checks numbered ``checks`` by the step from frame depth-1) gives wrong outputs on
        the path it takes (:meth:`mmspec.engine.lazycall.LazyCalls.refine`); the number
        inlined, 0 if the model is a run of the real steps."""
        if self.lazy is None:
            return 0
        envs = []
        for k in range(depth + 1):
            f = self.frame(k)
            roots: list = []
            # a liveness check's stay and accept on every frame (a lasso may loop from any)
            roots += [self.prog.state_checks.get((ci, "stay"), False) for ci in checks]
            if k < depth:
                tpl = self.templates[self._value(mdl, f.act)]
                roots += step_roots(tpl)
                roots += [tpl.checks.get((ci, "accept"), False) for ci in checks]
                if k == depth - 1:
                    roots += [tpl.checks.get((ci, "bad"), False) for ci in checks]
            if k == depth:
                roots += [self.prog.state_checks.get((ci, "bad_state"), False) for ci in checks]
            roots = [r for r in roots if isinstance(r, Sym)]
            if not roots:
                continue
            env_in = [self._value(mdl, x) for x in f.leaves]
            env_ch = [0] * self.prog.graph.nchoices
            for c, s in self.slot_of.items():
                env_ch[c] = self._value(mdl, f.ch[s])
            envs.append((f.tx, roots, env_in, env_ch))
        return self.lazy.refine(mdl, envs)

    def out_of_range(self, k: int) -> Any:
        """The step from frame k leads outside the layout's bounds (frame k+1 unconstrained
        otherwise): what the bit-vector width assumes never happens."""
        f, g = self.frame(k), self.frame(k + 1)
        lay = self.lay
        parts = []
        for i, y in enumerate(g.leaves):
            if isinstance(y, (bool, int)):
                for t, tpl in enumerate(self.templates):
                    if _key(tpl.post[i]) != _key(y):
                        parts.append(z3.And(self.selects(f, t), f.tx.int(tpl.post[i])
                                            != self._const(int(y))))
            elif not z3.is_bool(y):
                parts += [y < self._const(lay.lo[i]), y > self._const(lay.hi[i])]
        return z3.Or(*parts) if parts else z3.BoolVal(False)

    def bad(self, k: int, ci: int) -> Any:
        """Check ``ci`` (its index in the program) violated by the step from frame k (a
        state check: by frame k+1)."""
        ck = self.prog.checks[ci]
        if ck.bad_state is not None:
            return self.frame(k + 1).tx.bool(self.prog.state_checks[(ci, "bad_state")])
        return self.step_check(k, ci, "bad")

    def step_check(self, k: int, ci: int, what: str) -> Any:
        """Check ``ci``'s traced transition predicate ``what`` (``bad``, ``accept``) on the
        step from frame k, whichever template it takes."""
        f = self.frame(k)
        return z3.Or(*[z3.And(self.selects(f, t), f.tx.bool(tpl.checks.get((ci, what), False)))
                       for t, tpl in enumerate(self.templates)])

    def bad_initial(self, ci: int) -> Any:
        """Check ``ci`` violated by frame 0 (state checks only; False for step checks)."""
        if self.prog.checks[ci].bad_state is None:
            return z3.BoolVal(False)
        return self.frame(0).tx.bool(self.prog.state_checks[(ci, "bad_state")])

    # -- models
    @staticmethod
    def _value(mdl, x) -> Any:
        if isinstance(x, (bool, int)):
            return x
        v = mdl.eval(x, model_completion=True)
        if z3.is_bool(v):
            return z3.is_true(v)
        return v.as_signed_long() if z3.is_bv(v) else v.as_long()

    def decode_state(self, mdl, k: int) -> State:
        vals = [self._value(mdl, x) for x in self.frame(k).leaves]
        for i, v in enumerate(vals):
            if not self.lay.lo[i] <= int(v) <= self.lay.hi[i]:
                raise MmspecError(f"z3: a state reached at depth {k} has {self.lay.names[i]} = "
                                  f"{int(v)}, outside its derived range [{self.lay.lo[i]}, "
                                  f"{self.lay.hi[i]}]")
        return self.lay.decode(vals)

    def decode_action(self, mdl, k: int) -> Action:
        f = self.frame(k)
        tpl = self.templates[self._value(mdl, f.act)]
        choices = [self._value(mdl, f.ch[s]) if self._value(mdl, f.tx.bool(need)) else -1
                   for s, need in enumerate(tpl.need)]
        return tpl.action._replace(victims=tpl.victims(choices))

    def decode_actions(self, mdl, depth: int) -> list[Action]:
        return [self.decode_action(mdl, k) for k in range(depth)]

    def pin_step(self, k: int, pre: State, a: Action) -> list:
        """Constraints fixing the step from frame k (in state ``pre``) to action ``a``: its
        template and the choice of every slot it reaches."""
        bare = a._replace(victims=())
        t = next((t for t, tpl in enumerate(self.templates) if tpl.action == bare), None)
        if t is None:
            raise MmspecError(f"action {a} has no template")
        tpl, f = self.templates[t], self.frame(k)
        leaves = self.lay.encode(pre)
        env_ch = [0] * self.prog.graph.nchoices
        choices = [0] * self.nslot
        victims = list(a.victims)
        for s, (_, cands) in enumerate(tpl.slots):
            if evaluate([tpl.need[s]], leaves, env_ch)[0]:
                choices[s] = list(cands).index(victims.pop(0))
                node = tpl.choice_inputs[s]
                if isinstance(node, Sym):
                    env_ch[node.args[0]] = choices[s]
        return [self.selects(f, t)] + [c == self._const(v) for c, v in zip(f.ch, choices)]
