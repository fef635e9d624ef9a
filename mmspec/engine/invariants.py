"""Auxiliary invariants for the z3 engines: candidates, Houdini, and the range lemma.

The traced expressions equal the Python rules on states whose leaves lie within the
layout's bounds (the tracer folds comparisons with the leaves' domains), and the
bit-vector encoding's width is chosen for those states. The explicit engines check every
state they reach against the bounds; the z3 engines prove instead that the bounds are an
invariant: :func:`range_lemma` runs Houdini over candidates that include every leaf's
bounds, and if every bound survives (holds initially and is inductive together with the
other survivors, each step taken from a state satisfying all of them, so within bounds)
every reachable state satisfies every survivor, at every depth. BMC then asserts the
survivors on every frame (facts about reachable states: they cut the solver's search
without changing the answer); k-induction assumes them on every frame of its step.

Candidates: page conservation and counter accounting per zone and pageblock, per-class
limits, whole blocks for a high-order class, each varying leaf's bounds, and with a sample
of reachable states the ranges observed (per leaf, and the least free pages per zone and
kswapd phase). Houdini keeps the largest subset that holds initially and is inductive, so
none is assumed. Templates too large for Houdini's one-step question (direct compaction's
calls, cma_alloc: :func:`deferred_templates`) are left to BMC, which checks frame by frame
that their steps keep the survivors (:func:`mmspec.engine.bmc.bmc_checks`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import z3

from ..errors import MmspecError
from ..kernel import Allocator
from ..state import State
from ..vocab import GFP_CLASSES, Migratetype
from .lower import Program
from .sym import Sym, postorder
from .unroll import Unrolling, step_roots
from .z3expr import signed_bits

__all__ = ["Candidate", "Sample", "candidates", "Houdini", "houdini", "range_lemma",
           "deferred_templates", "HOUDINI_MAX_NODES", "invariant_width"]

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
            for ci, order in enumerate(model.class_order):
                if order and model.limits[ci]:
                    # a high-order class holds whole blocks of 2**order pages
                    out.append(Candidate(
                        f"{lab} pageblock {b}: {GFP_CLASSES[ci].short} pages in use are "
                        f"whole order-{order} blocks",
                        z3.Or(*[blk.held[ci] == v for v in range(0, model.ppb + 1, 1 << order)])))
    for ci, lim in enumerate(model.limits):
        if lim:
            out.append(Candidate(f"{GFP_CLASSES[ci].short} pages in use <= {lim}",
                                 sum(b.held[ci] for z in s.zones for b in z.blocks) <= lim))
    return out


@dataclass
class Sample:
    """What the candidates need from a sample of reachable states (computed once)."""
    lo: list                      # per leaf: least value observed
    hi: list                      # per leaf: largest value observed
    mts: dict                     # (zone, pageblock) -> migratetypes observed
    least_free: dict              # kswapd phase -> per zone (least NR_FREE_PAGES, least non-CMA)

    @classmethod
    def of(cls, un: Unrolling, observed: Sequence[State]) -> "Sample | None":
        if not observed:
            return None
        enc = [un.lay.encode(o) for o in observed]
        cols = list(zip(*enc))
        mts: dict = {}
        least: dict = {}
        for o in observed:
            for p, z in enumerate(o.zones):
                for b, blk in enumerate(z.blocks):
                    mts.setdefault((p, b), set()).add(int(blk.mt))
            row = least.setdefault(int(o.kswapd), [[z.nr_free, z.nr_free - z.nr_free_cma]
                                                   for z in o.zones])
            for p, z in enumerate(o.zones):
                row[p][0] = min(row[p][0], z.nr_free)
                row[p][1] = min(row[p][1], z.nr_free - z.nr_free_cma)
        return cls([min(c) for c in cols], [max(c) for c in cols],
                   {k: sorted(v) for k, v in mts.items()}, least)


def _observed(model: Allocator, s: State, sample: Sample) -> list[Candidate]:
    out = []
    for p, z in enumerate(s.zones):
        for b, blk in enumerate(z.blocks):
            mts = sample.mts[(p, b)]
            out.append(Candidate(f"{model.layout[p].label} pageblock {b}: migratetype in {mts}",
                                 z3.Or(*[blk.mt == v for v in mts])))
    for ph, row in sorted(sample.least_free.items()):
        for p, z in enumerate(s.zones):
            lab = model.layout[p].label
            for what, term, lo in (("NR_FREE_PAGES", z.nr_free, row[p][0]),
                                   ("free non-CMA", z.nr_free - z.nr_free_cma, row[p][1])):
                out.append(Candidate(f"kswapd phase {ph} => {lab} {what} >= {lo}",
                                     z3.Implies(s.kswapd == ph, term >= lo)))
    return out


def candidates(model: Allocator, un: Unrolling, k: int,
               sample: Sample | None = None) -> list[Candidate]:
    """Candidate invariants on frame k of ``un``: the same list (names, order) for every
    frame. Candidates that are constant for the layout are left out."""
    s = un.state(k)
    lay = un.lay
    out = _structural(model, s)
    if sample is not None:
        out += _observed(model, s, sample)
    for i, x in enumerate(un.frame(k).leaves):
        if isinstance(x, (bool, int)):
            continue
        name, lo, hi = lay.names[i], lay.lo[i], lay.hi[i]
        if z3.is_bool(x):
            if sample is not None and sample.lo[i] == sample.hi[i]:
                out.append(Candidate(f"{name} == {bool(sample.lo[i])}", x == bool(sample.lo[i])))
            continue
        out.append(Candidate(f"{name} in [{lo}, {hi}]", z3.And(x >= lo, x <= hi), True))
        if sample is not None and sample.lo[i] > lo:
            out.append(Candidate(f"{name} >= {sample.lo[i]}", x >= sample.lo[i]))
        if sample is not None and sample.hi[i] < hi:
            out.append(Candidate(f"{name} <= {sample.hi[i]}", x <= sample.hi[i]))
    return [c for c in out if not isinstance(c.term, bool)]


@dataclass
class Houdini:
    names: list[str]              # the invariants proved
    alive: list[int]              # their indices in the candidate list
    dropped: int                  # candidates refuted
    bounds_proved: bool           # every leaf's layout bounds survived
    sample: Sample | None = None  # the sample the candidates were built from
    #: templates whose steps the invariants are NOT proved to keep (deferred_templates:
    #: mmspec.engine.bmc checks them frame by frame instead); () = every step
    partial: tuple = ()

    def on(self, model: Allocator, un: Unrolling, k: int) -> list:
        """The proved invariants on frame k of ``un``."""
        cs = candidates(model, un, k, self.sample)
        return [cs[i].term for i in self.alive]


def houdini(model: Allocator, prog: Program, observed: Sequence[State] = (),
            time_limit: float = 60.0) -> Houdini:
    """The largest subset of the candidates that holds initially and is inductive (Int
    encoding, one step from an unconstrained frame satisfying the subset) -- for the steps
    of every template but :func:`deferred_templates`, which are left to the caller
    (:attr:`Houdini.partial`)."""
    skip = deferred_templates(prog)
    if skip:
        prog = replace(prog, templates=[t for i, t in enumerate(prog.templates)
                                        if i not in skip])
    un = Unrolling(prog, tag="houdini")
    sample = Sample.of(un, observed)
    c0, c1 = candidates(model, un, 0, sample), candidates(model, un, 1, sample)
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
    return Houdini([c0[i].name for i in alive], alive, dropped, bounds, sample, tuple(skip))


#: a template with more expression nodes than this is left out of Houdini (see
#: :func:`deferred_templates`); the order-0 templates have at most a few thousand
HOUDINI_MAX_NODES = 20_000


def deferred_templates(prog: Program) -> list[int]:
    """The templates Houdini leaves to the caller: those whose step calls a function join
    (their expressions reach a ``call`` node: direct compaction) and those over
    :data:`HOUDINI_MAX_NODES` nodes (``cma_alloc``: about 52,000). From an unconstrained
    state either is too large a question for one query (a ``cma_alloc`` program's Houdini
    left z3 at its first query for 5 minutes); from the reachable states of a BMC frame it
    is not."""
    out = []
    for t, tpl in enumerate(prog.templates):
        nodes = 0
        for n in postorder([r for r in step_roots(tpl) if isinstance(r, Sym)]):
            nodes += 1
            if n.op == "call" or nodes > HOUDINI_MAX_NODES:
                out.append(t)
                break
    return out


def range_lemma(model: Allocator, prog: Program, known: Houdini | None = None) -> Houdini | None:
    """The proved invariants of ``prog`` if they include every leaf's layout bounds (so
    every reachable state lies within them, see the module doc), else None; computed once
    per program (``known``: a Houdini run on ``prog`` that may have proved it already)."""
    if not hasattr(prog, "_z3_range_lemma"):
        h = known if known is not None and known.bounds_proved else None
        if h is None:
            try:
                h = houdini(model, prog)
            except MmspecError:                 # z3 gave up: no lemma (BMC checks bounds)
                h = None
        prog._z3_range_lemma = h if h is not None and h.bounds_proved else None  # type: ignore[attr-defined]
    return prog._z3_range_lemma                                    # type: ignore[attr-defined]


def invariant_width(model: Allocator, prog: Program) -> int:
    """Bits of signed bit-vectors holding every term of the candidates on a state within
    the layout's bounds: each is a sum of distinct leaves (at most once each, sign
    either) compared with a constant at most a zone's pages or a class limit."""
    lay = prog.layout
    total = sum(max(abs(a), abs(b)) for a, b in zip(lay.lo, lay.hi))
    const = max([z.managed for z in model.layout] + list(model.limits) + [model.ppb])
    return signed_bits(-(total + const), total + const)
