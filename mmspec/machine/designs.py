"""The designs on a scope built from a report's proportions (``mmspec diagnose``).

The zone that holds the report's CMA memory (else the first zone of the request's zonelist)
becomes the model's one zone, ``Normal``, scaled with :mod:`mmspec.machine.scaling` to a few
pageblocks; its CMA share, watermarks (unboosted) and, for designs that move CMA memory into
ZONE_CMA, that zone's watermarks (the zone's marks times the CMA share) come from the report.
Movable requests may hold enough pages to drain the ordinary memory down to the min mark
(the mechanism of claim C4; at least 3, at most 4 to keep the search small); the other
request limits are the scope ``tiny``'s (:data:`~mmspec.machine.scaling.SMALL_REQUESTS`).
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from fractions import Fraction

from .. import registry
from ..check import Verdict
from ..errors import MmspecError
from ..explore import explore
from ..scope import DEFAULT_SCOPE_TOML, parse_scope
from ..trace import render_trace, trace_to_itf
from .diagnose import Diagnosis
from .scaling import RULE, SMALL_REQUESTS, scale_blocks, scale_marks

__all__ = ["report_scope", "DesignRun", "run_designs", "reproduce_args"]


def report_scope(d: Diagnosis, pageblocks: int = 5, ppb: int = 2) -> tuple[dict, list[str]]:
    """A scope (TOML mapping) with the report's proportions, and how it was derived."""
    import tomllib
    rep = d.report
    z = next((z for z in d.zonelist if z.name == d.cma_zone), d.zonelist[0])
    managed = z.managed or z.free
    total_cma = rep.tail.get("cma reserved")
    cma_zones = [x for x in rep.zones if x.free_cma]
    notes = []
    if total_cma is None:
        cma = z.free_cma
        notes.append("no 'pages cma reserved' line: the zone's free CMA is taken as its CMA size "
                     "(a lower bound)")
    elif len(cma_zones) <= 1:
        cma = min(total_cma, managed)
    else:
        cma = total_cma * z.free_cma // max(1, sum(x.free_cma for x in cma_zones))
        notes.append("CMA in several zones: this zone's share of 'pages cma reserved' estimated "
                     "from its share of free CMA")
    unit = Fraction(managed, pageblocks * ppb)
    nb, nc = scale_blocks(managed, cma, unit, ppb)
    boost = z.boost or 0
    real = (z.min - boost, z.low - boost, z.high - boost)
    wm = scale_marks(real, unit)
    cwm = scale_marks(tuple(m * cma // managed for m in real), unit) if managed else (1, 2, 3)
    data = tomllib.loads(DEFAULT_SCOPE_TOML)
    data["requests"] = dict(SMALL_REQUESTS)      # a small workload: searches end in seconds
    blocks = ["UNMOVABLE"] + ["MOVABLE"] * (nb - nc - 1) + ["CMA"] * nc if nb - nc >= 1 else (
        ["CMA"] * nc)
    data["pages_per_pageblock"] = ppb
    data["fair_zone_policy"] = d.gen.fair
    data["zones"] = {"Normal": {"pageblocks": blocks, "watermarks": list(wm)},
                     "CMA": {"watermarks": list(cwm)}}
    # enough movable pages to drain the ordinary memory GFP_KERNEL leaves down to the min
    # mark (claim C4's mechanism), at least tiny's 3 and at most 4 (state space)
    spare = (nb - nc) * ppb - data["requests"]["GFP_KERNEL"] - wm[0] - 1
    data["requests"]["GFP_HIGHUSER_MOVABLE"] = min(4, max(3, spare))
    notes[:0] = [f"zone {z.name} ({managed} managed pages, {cma} CMA, marks {real[0]}/{real[1]}/"
                 f"{real[2]}{' unboosted' if boost else ''}) -> model zone Normal: {nb} pageblocks "
                 f"of {ppb} pages, {nc} CMA, marks {wm[0]}/{wm[1]}/{wm[2]}; ZONE_CMA designs: "
                 f"marks {cwm[0]}/{cwm[1]}/{cwm[2]} (1 model page = {float(unit):.0f} real pages)",
                 f"rounding: {RULE}",
                 f"fair zone policy: {'on (v4.6)' if d.gen.fair else 'off (v4.8+ kernels)'}; "
                 f"GFP_HIGHUSER_MOVABLE may hold {data['requests']['GFP_HIGHUSER_MOVABLE']} pages"]
    return data, notes


def reproduce_args(data: dict) -> str:
    """The scope options that turn the default scope into ``data`` (a report scope): its
    pageblocks, watermarks, policy and every request limit that differs from the default's."""
    import tomllib
    z = data["zones"]
    out = ["--pageblocks", "Normal=" + ",".join(b[0] for b in z["Normal"]["pageblocks"]),
           "--watermarks", "Normal=" + ",".join(map(str, z["Normal"]["watermarks"])),
           "--watermarks", "CMA=" + ",".join(map(str, z["CMA"]["watermarks"])),
           "--limit", f"GFP_HIGHUSER_MOVABLE={data['requests']['GFP_HIGHUSER_MOVABLE']}"]
    default = tomllib.loads(DEFAULT_SCOPE_TOML)["requests"]
    for k, v in data["requests"].items():
        if k != "GFP_HIGHUSER_MOVABLE" and default.get(k, 0) != v:
            out += ["--limit", f"{k}={v}"]
    if data["pages_per_pageblock"] != 2:
        out += ["--pages-per-pageblock", str(data["pages_per_pageblock"])]
    if not data["fair_zone_policy"]:
        out.append("--no-fair")
    return " ".join(shlex.quote(x) for x in out)


@dataclass
class DesignRun:
    design: str
    verdict: str
    steps: int | None
    witness: int
    states: int
    complete: bool
    seconds: float
    trace_text: str = ""
    itf: dict | None = None
    reproduce: str = ""

    def cell(self) -> str:
        if self.verdict == "VIOLATED":
            return f"VIOLATED {self.steps} steps"
        if self.verdict == "HOLDS":
            return f"HOLDS w={self.witness}"
        return self.verdict


def _prebuild(classes, scope, check, err) -> None:
    """Compile the compiled engine's programs for every design at once (in parallel, into
    the cache) so that a first run does not build them one after the other."""
    from ..engine.compiled import prebuild
    jobs = []
    for cls in classes:
        try:
            jobs.append((cls(scope), [check]))
        except MmspecError:
            pass
    prebuild(jobs, note=lambda line: (err.write(f"mmspec: diagnose: {line}\n"), err.flush()))


def run_designs(d: Diagnosis, data: dict, designs: list[str] | None, max_states: int,
                time_limit: float, err) -> list[DesignRun]:
    """Explore every design (or the named ones) on the scope for ``d.check``; each search has
    the state cap and time limit (a cut search is BOUNDED, never HOLDS)."""
    scope = parse_scope(data, origin="report scope")
    check = registry.get_checks([d.check])[0]
    classes = registry.designs() if not designs else [registry.get_design(n) for n in designs]
    args = reproduce_args(data)
    _prebuild(classes, scope, check, err)
    out = []
    for cls in classes:
        try:
            model = cls(scope)
        except MmspecError as exc:
            out.append(DesignRun(cls.name, f"n/a ({exc})", None, 0, 0, True, 0.0))
            continue
        t0 = time.perf_counter()
        r = explore(model, [check], max_states=max_states, time_limit=time_limit)
        cell = r.cell(check.name)
        run = DesignRun(cls.name, cell.verdict.value,
                        len(cell.trace) if cell.verdict == Verdict.VIOLATED and cell.trace else None,
                        cell.witness_count, r.stats.distinct, r.stats.complete,
                        time.perf_counter() - t0)
        run.reproduce = f"mmspec check --design {cls.name} --check {check.name} {args}"
        if cell.verdict == Verdict.VIOLATED and cell.trace is not None:
            run.trace_text = render_trace(model, cell.trace, title=(
                f"{check.name} on {cls.name}, scope from the report: VIOLATED, shortest "
                f"counterexample: {len(cell.trace)} steps"), reproduce=run.reproduce)
            run.itf = trace_to_itf(model, cell.trace, {"design": cls.name, "check": check.name,
                                                       "reproduce": run.reproduce})
        err.write(f"mmspec: diagnose: {cls.name}: {r.stats.distinct} states in "
                  f"{run.seconds:.2f} s{'' if r.stats.complete else ' (cut)'}\n")
        out.append(run)
    return out
