"""Auxiliary invariants for the z3 engines: candidates, Houdini, and the range lemma.

The traced expressions equal the Python rules on states whose leaves lie within the
layout's bounds (the tracer folds comparisons with the leaves' domains), and the
bit-vector encoding's width is chosen for those states. The explicit engines check every
state they reach against the bounds; the z3 engines prove instead that the bounds are an
invariant: :func:`range_lemma` runs Houdini over candidates that include every leaf's
bounds, and if every bound survives (holds initially and is inductive together with the
other survivors, each step taken from a state satisfying all of them, so within bounds)
every reachable state is within bounds, at every depth. BMC then asserts the bounds on
every frame; k-induction assumes the survivors on every frame of its step.

Candidates: page conservation and counter accounting per zone and pageblock, per-class
limits, each varying leaf's bounds, and with a sample of reachable states the ranges
observed (per leaf, and the least free pages per zone and kswapd phase). Houdini keeps the
largest subset that holds initially and is inductive, so none is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import z3

from ..errors import MmspecError
from ..kernel import Allocator
from ..state import State
from ..vocab import GFP_CLASSES, Migratetype
from .lower import Program
from .unroll import Unrolling

__all__ = ["Candidate", "candidates", "Houdini", "houdini", "range_lemma"]

_C = int(Migratetype.MIGRATE_CMA)


@dataclass
class Candidate:
    name: str
    term: Any
    bound: bool = False          # one leaf's layout bounds


def _if(c, a, b):
    return (a if c else b) if isinstance(c, bool) else z3.If(c, a, b)


def _structural(model: Allocator, s: State) -> list[Candidate]:
    out = []
    for p, z in enumerate(s.zones):
        lab = model.layout[p].label
        free = sum(b.free for b in z.blocks)
        used = sum(sum(b.held) for b in z.blocks)
        out.append(Candidate(f"{lab}: free + in use = managed",
                             free + used == model.layout[p].managed))
        out.append(Candidate(f"{lab}: NR_FREE_PAGES = free pages of its pageblocks",
                             z.nr_free == free))
        out.append(Candidate(f"{lab}: NR_FREE_CMA_PAGES = free pages of MIGRATE_CMA pageblocks",
                             z.nr_free_cma == sum(_if(b.mt == _C, b.free, 0) for b in z.blocks)))
        out.append(Candidate(f"{lab}: ZONE_FAIR_DEPLETED iff NR_ALLOC_BATCH <= 0",
                             z.fair_depleted == (z.alloc_batch <= 0)))
        for b, blk in enumerate(z.blocks):
            out.append(Candidate(f"{lab} pageblock {b}: free + in use = pageblock_nr_pages",
                                 blk.free + sum(blk.held) == model.ppb))
    for ci, lim in enumerate(model.limits):
        if lim:
            out.append(Candidate(f"{GFP_CLASSES[ci].short} pages in use <= {lim}",
                                 sum(b.held[ci] for z in s.zones for b in z.blocks) <= lim))
    return out


def _observed(model: Allocator, s: State, observed: Sequence[State]) -> list[Candidate]:
    out = []
    for p, z in enumerate(s.zones):
        for b, blk in enumerate(z.blocks):
            mts = sorted({int(o.zones[p].blocks[b].mt) for o in observed})
            out.append(Candidate(f"{model.layout[p].label} pageblock {b}: migratetype in {mts}",
                                 z3.Or(*[blk.mt == v for v in mts])))
    for ph in sorted({int(o.kswapd) for o in observed}):
        sub = [o for o in observed if o.kswapd == ph]
        for p, z in enumerate(s.zones):
            lab = model.layout[p].label
            for what, term, val in (("NR_FREE_PAGES", z.nr_free, lambda o: o.zones[p].nr_free),
                                    ("free non-CMA", z.nr_free - z.nr_free_cma,
                                     lambda o: o.zones[p].nr_free - o.zones[p].nr_free_cma)):
                lo = min(val(o) for o in sub)
                out.append(Candidate(f"kswapd phase {ph} => {lab} {what} >= {lo}",
                                     z3.Implies(s.kswapd == ph, term >= lo)))
    return out


def candidates(model: Allocator, un: Unrolling, k: int,
               observed: Sequence[State] = ()) -> list[Candidate]:
    """Candidate invariants on frame k of ``un``: the same list (names, order) for every
    frame. Candidates that are constant for the layout are left out."""
    s = un.state(k)
    lay = un.lay
    out = _structural(model, s)
    if observed:
        out += _observed(model, s, observed)
    obs = [lay.encode(o) for o in observed]
    for i, x in enumerate(un.frame(k).leaves):
        if isinstance(x, (bool, int)):
            continue
        name, lo, hi = lay.names[i], lay.lo[i], lay.hi[i]
        if z3.is_bool(x):
            if obs and len({o[i] for o in obs}) == 1:
                out.append(Candidate(f"{name} == {bool(obs[0][i])}", x == bool(obs[0][i])))
            continue
        out.append(Candidate(f"{name} in [{lo}, {hi}]", z3.And(x >= lo, x <= hi), True))
        if obs:
            olo, ohi = min(o[i] for o in obs), max(o[i] for o in obs)
            if olo > lo:
                out.append(Candidate(f"{name} >= {olo}", x >= olo))
            if ohi < hi:
                out.append(Candidate(f"{name} <= {ohi}", x <= ohi))
    return [c for c in out if not isinstance(c.term, bool)]


@dataclass
class Houdini:
    names: list[str]              # the invariants proved
    alive: list[int]              # their indices in the candidate list
    dropped: int                  # candidates refuted
    bounds_proved: bool           # every leaf's layout bounds survived

    def on(self, model: Allocator, un: Unrolling, k: int, observed: Sequence[State] = ()) -> list:
        """The proved invariants on frame k of ``un`` (built with the same ``observed``)."""
        cs = candidates(model, un, k, observed)
        return [cs[i].term for i in self.alive]


def houdini(model: Allocator, prog: Program, observed: Sequence[State] = (),
            time_limit: float = 60.0) -> Houdini:
    """The largest subset of the candidates that holds initially and is inductive (Int
    encoding, one step from an unconstrained frame satisfying the subset)."""
    un = Unrolling(prog, tag="houdini")
    c0, c1 = candidates(model, un, 0, observed), candidates(model, un, 1, observed)
    sol = z3.Solver()
    sol.set("timeout", int(time_limit * 1000))
    sol.add(*un.trans(0))
    init = z3.Solver()
    init.add(un.init_constraint())
    alive = [i for i in range(len(c0)) if init.check(z3.Not(c0[i].term)) == z3.unsat]
    dropped = len(c0) - len(alive)
    while alive:
        sol.push()
        sol.add(*[c0[i].term for i in alive])
        sol.add(z3.Or(*[z3.Not(c1[i].term) for i in alive]))
        r = sol.check()
        if r == z3.unsat:
            sol.pop()
            break
        if r != z3.sat:
            sol.pop()
            raise MmspecError("Houdini: z3 gave up (timeout); no invariants assumed")
        mdl = sol.model()
        bad = {i for i in alive if z3.is_false(mdl.eval(c1[i].term, model_completion=True))}
        sol.pop()
        alive = [i for i in alive if i not in bad]
        dropped += len(bad)
    kept = set(alive)
    bounds = all(i in kept for i, c in enumerate(c0) if c.bound)
    return Houdini([c0[i].name for i in alive], alive, dropped, bounds)


def range_lemma(model: Allocator, prog: Program) -> bool:
    """Whether every reachable state is proved to lie within the layout's bounds (see the
    module doc); computed once per program."""
    hit = getattr(prog, "_z3_range_lemma", None)
    if hit is None:
        hit = houdini(model, prog).bounds_proved
        prog._z3_range_lemma = hit              # type: ignore[attr-defined]
    return hit
