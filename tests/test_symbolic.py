"""The z3 engine reads the traced rules: agreement between backends of the one rule source.

- the z3 translation of a DAG node is Python's semantics: every operation on every pair of
  small values (Int and bit-vector encodings), and every template of three designs on
  sampled states, against mmspec.engine.sym.evaluate;
- for every design at the tiny scope, BMC and breadth-first search agree on the verdict and
  the shortest counterexample length of every default check BFS finds violated within 8
  steps, and each z3 trace (replayed through the step function) ends in a violation;
- the states z3 reaches in <= 3 steps are exactly the BFS states at depth <= 3 (with pinned
  pages 4, with cma_alloc 2);
- a BFS counterexample satisfies the unrolled formula, a witness trace does not;
- k-induction proves zone_cma and refutes migrate_cma (atomic_while_kswapd_sleeps).
"""

import dataclasses
import io
import random

import pytest
import z3

from mmspec import registry
from mmspec.check import Verdict
from mmspec.cli import main
from mmspec.engine.bmc import bmc, bmc_checks, reachable_states, trace_satisfies
from mmspec.engine.induction import prove
from mmspec.engine.invariants import range_lemma
from mmspec.engine.sym import Graph, binop, cmp, evaluate, ite
from mmspec.engine.unroll import Unrolling, symbolic_program
from mmspec.engine.z3expr import Z3Expr, node_ranges, signed_bits
from mmspec.errors import MmspecError
from mmspec.explore import explore
from mmspec.scope import find_scope_file, load_scope

TINY = load_scope(find_scope_file("tiny"))
SAFETY = [c for c in registry.checks() if not getattr(c, "is_liveness", False)]
ATOMIC = registry.get_checks(["atomic_while_kswapd_sleeps"])[0]
def _model(name, scope=TINY):
    return registry.get_design(name)(scope)


# ------------------------------------------------------------------------------------------
# The translation.

def _value(t):
    v = z3.simplify(t)
    if z3.is_bool(v):
        return z3.is_true(v)
    return v.as_signed_long() if z3.is_bv(v) else v.as_long()


@pytest.mark.parametrize("op,brange", [("+", (-9, 9)), ("-", (-9, 9)), ("*", (-9, 9)),
                                       ("//", (1, 5)), ("//", (-5, -1)), ("%", (1, 5)),
                                       ("%", (-5, -1)), ("<<", (0, 3)), (">>", (0, 3)),
                                       ("&", (-9, 9)), ("|", (-9, 9)), ("^", (-9, 9)),
                                       ("<", (-9, 9)), ("<=", (-9, 9)), ("==", (-9, 9)),
                                       ("!=", (-9, 9))])
def test_every_operation_has_pythons_semantics(op, brange):
    g = Graph()
    a, b = g.leaf("in", 0, -9, 9), g.leaf("in", 1, *brange)
    c = g.leaf("in", 2, 0, 1, isbool=True)
    node = (cmp if op in ("<", "<=", "==", "!=") else binop)(op, a, b)
    roots = [node, ite(c, node, a), binop("*", c, b), binop("+", c, a)]  # bool as 0/1 too
    rng = node_ranges(roots, lambda x: x.bounds).values()
    width = signed_bits(min(lo for lo, _ in rng), max(hi for _, hi in rng))
    for w in (None, width):
        for x in range(-9, 10):
            for y in range(brange[0], brange[1] + 1):
                for cv in (False, True):
                    env = [x, y, cv]
                    tx = Z3Expr(lambda i: z3.BoolVal(env[i]) if i == 2 else
                                (z3.BitVecVal(env[i], w) if w else z3.IntVal(env[i])),
                                lambda j: None, w)
                    want = evaluate(roots, env)
                    got = [_value(tx.bool(r)) if getattr(r, "isbool", False) else _value(tx.int(r))
                           for r in roots]
                    assert got == [int(v) if not isinstance(v, bool) else v for v in want], \
                        (op, w, x, y, cv)


@pytest.mark.parametrize("design", ["migrate_cma", "zone_cma", "sticky_movable"])
def test_templates_translate_like_evaluate(design):
    """Every template's guard, post-state, effect, choice and check expressions, on the
    initial state and a random state within the layout's bounds, for every candidate of
    its choice slots, in both encodings."""
    m = _model(design)
    prog = symbolic_program(m, SAFETY)
    lay = prog.layout
    rnd = random.Random(1)
    states = [lay.encode(m.init_states()[0])] + [
        [rnd.randint(lo, hi) for lo, hi in zip(lay.lo, lay.hi)]]
    picks = {t: max([len(c) for (_, c), x in zip(tpl.slots, tpl.choice_inputs)
                     if not isinstance(x, int)] + [1]) for t, tpl in enumerate(prog.templates)}
    for width in (None, Unrolling.width_for(prog, range(len(SAFETY)))):
        un = Unrolling(prog, width)
        f = un.frame(0)
        roots = {t: [tpl.guard, *tpl.post, tpl.ok, *tpl.need, *(e for el in tpl.elig for e in el),
                     *tpl.checks.values()] for t, tpl in enumerate(prog.templates)}
        terms = {t: [f.tx.bool(r) if (isinstance(r, bool) or getattr(r, "isbool", False))
                     else f.tx.int(r) for r in rs] for t, rs in roots.items()}
        sol = z3.Solver()
        for leaves in states:
            for pick in range(max(picks.values())):
                sol.push()                          # every choice slot takes candidate `pick`
                sol.add(un.equal(0, lay.decode(leaves)), *[c == pick for c in f.ch])
                assert sol.check() == z3.sat
                mdl = sol.model()
                sol.pop()
                env_ch = [pick] * prog.graph.nchoices
                for t in (t for t in roots if pick < picks[t]):
                    got = [int(un._value(mdl, x)) for x in terms[t]]
                    want = [int(x) for x in evaluate(roots[t], leaves, env_ch)]
                    assert got == want, (design, width, t, leaves, pick)


# ------------------------------------------------------------------------------------------
# BMC against breadth-first search.

@pytest.mark.parametrize("design", [d.name for d in registry.designs()])
def test_bmc_agrees_with_bfs(design):
    m = _model(design)
    # every state within 8 steps is expanded before 4000 are stored (at most 1635 are)
    res = explore(m, SAFETY, max_states=4000)
    assert res.stats.complete or res.stats.depth > 8
    want = {c.check.name: len(c.trace) for c in res.cells
            if c.verdict == Verdict.VIOLATED and len(c.trace) <= 8}
    assert want, "every design violates some default check within 8 steps at tiny"
    checks = [c for c in SAFETY if c.name in want]
    got = bmc_checks(m, checks, max(want.values()), prog=symbolic_program(m, checks))
    for ck, r in zip(checks, got):
        assert (r.verdict, r.depth) == ("VIOLATED", want[ck.name]), ck.name
        last = r.trace.steps[-1]
        assert ck.violated_by(m, r.trace.states[-2], last.action, last.effect, last.state)


def test_bmc_bounded_where_bfs_holds():
    m = _model("migrate_cma")
    ck = registry.get_checks(["page_conservation"])[0]
    prog = symbolic_program(m, [ck])
    r = bmc(m, ck, 3, prog=prog)
    assert (r.verdict, r.depth, len(r.per_depth_s)) == ("BOUNDED", 3, 3)
    assert range_lemma(m, prog) is not None


def test_bmc_without_the_range_lemma_checks_the_bounds_at_every_depth():
    m = _model("migrate_cma")
    prog = symbolic_program(m, [ATOMIC])
    prog._z3_range_lemma = None                 # as if Houdini had not proved the bounds
    r = bmc(m, ATOMIC, 6, prog=prog)
    assert (r.verdict, r.depth) == ("VIOLATED", 6)
    # a layout whose bounds the rules leave (NR_FREE_PAGES >= 6: six allocations go below)
    lay = prog.layout
    lo = list(lay.lo)
    lo[lay.names.index("Normal.NR_FREE_PAGES")] = 6
    narrow = dataclasses.replace(prog, layout=dataclasses.replace(lay, lo=tuple(lo)))
    narrow._z3_range_lemma = None
    with pytest.raises(MmspecError, match=r"Normal.NR_FREE_PAGES = 5, outside its derived range"):
        bmc(m, ATOMIC, 6, prog=narrow)


def test_z3_reachable_with_pinned_pages_equals_bfs_levels():
    """Pinned blockdev pages (State.pins, one counter per pageblock) on z3: the states
    within 4 steps, pin/unpin and the pinned-page rules of free and reclaim included."""
    from mmspec.check import effective_scope
    sc = effective_scope(TINY, registry.get_checks(["cma_alloc_no_ebusy"])[0])
    m = registry.get_design("migrate_cma")(sc.with_changes(cma_alloc_pageblocks=0))
    got = reachable_states(m, 4, limit=5000, bitvec=True)
    assert got == _bfs_levels(m, 4)
    assert any(any(s.pins) for s in got)


def test_z3_reachable_with_cma_alloc_equals_bfs_levels():
    """cma_alloc/cma_release on z3 (their templates, about 52,000 expression nodes, left
    out of Houdini and checked frame by frame): the states within 2 steps."""
    from mmspec.check import effective_scope
    m = registry.get_design("migrate_cma")(effective_scope(
        TINY, registry.get_checks(["cma_alloc_never_fails"])[0]))
    got = reachable_states(m, 2, limit=5000)
    assert got == _bfs_levels(m, 2) and any(any(s.cma) for s in got)


def test_bmc_finds_the_page_age_inversion_bfs_finds():
    """LRU page ages (State.lru, one code per slot) on z3: BMC's shortest counterexample
    to page_age_inversion on zone_cma has BFS's length and replays."""
    from mmspec.check import effective_scope
    ck = registry.get_checks(["page_age_inversion"])[0]
    m = registry.get_design("zone_cma")(effective_scope(TINY, ck))
    want = explore(m, [ck], max_states=40_000).cells[0]
    assert want.verdict == Verdict.VIOLATED
    r = bmc(m, ck, len(want.trace), prog=symbolic_program(m, [ck]))
    assert (r.verdict, r.depth) == ("VIOLATED", len(want.trace))
    last = r.trace.steps[-1]
    assert ck.violated_by(m, r.trace.states[-2], last.action, last.effect, last.state)


def _bfs_levels(model, depth):
    level = {s: 0 for s in model.init_states()}
    frontier = list(level)
    for d in range(1, depth + 1):
        nxt = []
        for s in frontier:
            for _, t, _ in model.successors(s):
                if t not in level:
                    level[t] = d
                    nxt.append(t)
        frontier = nxt
    return set(level)


@pytest.mark.parametrize("design,bitvec", [("migrate_cma", True), ("zone_cma", False),
                                           ("sticky_movable", True)])
def test_z3_reachable_equals_bfs_levels(design, bitvec):
    m = _model(design)
    assert reachable_states(m, 3, limit=5000, bitvec=bitvec) == _bfs_levels(m, 3)


def test_bfs_trace_satisfies_formula_and_witness_does_not():
    m = _model("migrate_cma")
    cell = explore(m, [ATOMIC], max_states=4000).cells[0]
    assert cell.verdict == Verdict.VIOLATED
    assert trace_satisfies(m, ATOMIC, cell.trace)
    # a trace ending in a legal, non-violating step must not satisfy "bad at the end"
    wt = explore(_model("zone_cma"), [ATOMIC], max_states=4000).cells[0].witness_trace
    assert wt is not None and not trace_satisfies(_model("zone_cma"), ATOMIC, wt)


# ------------------------------------------------------------------------------------------
# k-induction.

def test_prove_zone_cma_atomic_and_refute_migrate_cma():
    m = _model("zone_cma")
    # a sample of reachable states for the candidates' ranges (the first 3000 of 36588)
    obs = list(explore(m, [ATOMIC], keep_parents=True, max_states=3000).parents)
    p = prove(m, ATOMIC, max_k=3, observed=obs)
    assert p.verdict == "PROVED" and p.invariants
    assert any(n.startswith("Normal.NR_FREE_PAGES in [") for n in p.invariants)
    m2 = _model("migrate_cma")
    p2 = prove(m2, ATOMIC, max_k=8)
    assert p2.verdict == "VIOLATED" and p2.k == 6 and p2.trace is not None


def test_prove_without_sample_is_not_proved_by_accident():
    # with only the initial state as sample its point ranges are not inductive: Houdini
    # must drop them, and the result is PROVED only if the rest really is inductive
    ck = registry.get_checks(["no_unmovable_in_cma"])[0]
    p = prove(_model("migrate_cma"), ck, max_k=1)
    assert p.verdict in ("PROVED", "UNKNOWN")
    assert p.dropped > 0


# ------------------------------------------------------------------------------------------
# The command line and what the engine refuses.

def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


def test_cli_bmc_a_check_and_design_the_old_encoding_lacked():
    code, out, _ = _cli("bmc", "--design", "prefer_cma_v58", "--check", "blockdev_in_cma",
                        "--scope", "tiny")
    assert code == 1 and "VIOLATED (shortest counterexample: 4 steps" in out and "Step 4:" in out
    assert "Reproduce: mmspec bmc --design prefer_cma_v58 --check blockdev_in_cma --scope tiny" in out


@pytest.mark.parametrize("argv,msg", [
    (["prove", "--design", "migrate_cma", "--check", "utilization_oscillation"], "liveness"),
    (["bmc", "--design", "migrate_cma", "--check", "nope"], "unknown check"),
])
def test_cli_refuses_in_one_line(argv, msg):
    code, out, err = _cli(*argv)
    assert code == 2 and msg in err and len(err.strip().splitlines()) == 1 and not out
