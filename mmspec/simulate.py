"""Full-scale simulation: the explicit step function along a scripted workload.

The breadth-first checker explores every state of a small scope; this module runs the SAME
step function (:meth:`mmspec.kernel.Allocator.step` of a design instance) along one scripted
workload at real size: 4 KiB pages, 262144 pages (1 GiB) of which 131072 (512 MiB) are the
CMA area, ``pageblock_nr_pages`` 512, watermarks derived with the v4.6 formulas
(``init_per_zone_wmark_min`` / ``__setup_per_zone_wmarks`` / ``setup_per_zone_lowmem_reserve``
via the scope's ``[derive_watermarks]``), and the boot-order switch ``cma_in_boot_basis``
(whether the CMA pages are managed when the watermarks are computed).

Workload (explicit, every parameter printed): cycles of ``ratio`` GFP_HIGHUSER_MOVABLE
order-0 requests then one GFP_KERNEL order-0 request; after every ``kswapd_every``
allocations, if kswapd is awake (running balance_pgdat or in its HZ/10 nap) it takes one
step (one balance_pgdat priority pass, or the end of its nap). Nothing is freed except by
reclaim (a kernel build: page cache and anonymous memory grow, kernel pages stay).

Scale choices (v4.6 vmscan.c): kswapd reclaims ``max(SWAP_CLUSTER_MAX, high_wmark_pages)``
pages per zone per pass (``kswapd_shrink_zone``: ``nr_to_reclaim = max(SWAP_CLUSTER_MAX,
high_wmark_pages(zone))``), using the largest high watermark of the design's zones (the
scope has one batch). Direct reclaim: the model's ``try_to_free_pages`` reclaims ONE page
per round (it has no batch; v4.6 reclaims up to SWAP_CLUSTER_MAX = 32); a request may run
up to ``direct_reclaim_rounds`` = 32 rounds, so it can free as many pages, one per retry.

Reclaim victims: the model leaves the choice open (the checker branches over every LRU
page). The simulation takes the FIRST candidate in the model's own order (zone position,
pageblock pfn, class): the lowest-pfn in-use LRU page. LRU age is not modelled, so this is
one deterministic policy among many, not the kernel's inactive-list order.

Only the victim choice and state interning are overridden (in a subclass built here);
every rule, watermark decision and kswapd phase is the design's own code in mmspec.kernel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import registry
from .errors import MmspecError
from .kernel import Allocator
from .scope import Scope, parse_scope
from .state import ALLOC, KSWAPD, Action, State
from .vocab import GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, KswapdPhase

__all__ = ["FullScale", "SimResult", "AtomicResult", "full_scale_scope", "sim_model",
           "simulate", "atomic_run", "SEED_CLAIM_MIB", "free_pages", "cma_in_use",
           "run_parallel"]

RUNNING = int(KswapdPhase.RUNNING)
SLEEPING = int(KswapdPhase.SLEEPING)
#: the seed's utilization claim (history-and-claims.md C1): with 1024 MB RAM and 512 MB CMA,
#: kswapd is woken mostly when roughly 512 MB are still free.
SEED_CLAIM_MIB = 512
SWAP_CLUSTER_MAX = 32
BIG = 1 << 40


@dataclass(frozen=True)
class FullScale:
    """The memory of a full-scale run (defaults: 1 GiB with 512 MiB CMA, 4 KiB pages).

    ``unmovable_pageblocks``: MIGRATE_UNMOVABLE pageblocks at the start of the zone (at boot
    v4.6 marks every pageblock MOVABLE, so the default is 0; GFP_KERNEL then claims movable
    pageblocks by ``__rmqueue_fallback``). The CMA area lies at the top of the zone.
    ``cma_in_boot_basis``: None = the design's own boot order.
    """

    pages: int = 262144
    cma_pages: int = 131072
    pages_per_pageblock: int = 512
    page_kbytes: int = 4
    unmovable_pageblocks: int = 0
    cma_in_boot_basis: bool | None = None
    direct_reclaim_rounds: int = 32
    fair_zone_policy: bool = True
    #: an imported machine (``mmspec import``, ``--scope FILE``): its zones, pageblocks,
    #: watermarks and lowmem_reserve replace the single derived zone; the sizes above then
    #: only describe it (mmspec.machine.fullscale.full_scale_of)
    scope: Scope | None = None

    def check(self) -> None:
        if self.scope is not None:
            return
        ppb = self.pages_per_pageblock
        if ppb < 2 or ppb & (ppb - 1):
            raise MmspecError(f"pages per pageblock must be a power of two >= 2, got {ppb}")
        if self.pages <= 0 or self.pages % ppb or self.cma_pages % ppb:
            raise MmspecError(f"--pages {self.pages} and --cma-pages {self.cma_pages} must be "
                              f"positive multiples of the pageblock size {ppb}")
        if not 0 <= self.cma_pages < self.pages:
            raise MmspecError(f"--cma-pages {self.cma_pages} must be >= 0 and below --pages "
                              f"{self.pages}")
        if self.unmovable_pageblocks * ppb > self.pages - self.cma_pages:
            raise MmspecError(f"--unmovable-pageblocks {self.unmovable_pageblocks} does not fit "
                              "in the non-CMA memory")

    def mib(self, pages: int) -> float:
        return pages * self.page_kbytes / 1024


def full_scale_scope(design: type[Allocator], fs: FullScale, kswapd_batch: int | None = None
                     ) -> Scope:
    """The scope of a full-scale run for ``design`` (watermarks derived, limits unbounded).

    ``kswapd_batch`` None: ``max(SWAP_CLUSTER_MAX, high)`` over the design's zones."""
    fs.check()
    if fs.scope is not None:
        scope = fs.scope.with_changes(
            limits=tuple(BIG if i in (GFP_ATOMIC, GFP_KERNEL, GFP_HIGHUSER_MOVABLE) else 0
                         for i in range(len(fs.scope.limits))),
            direct_reclaim_rounds=fs.direct_reclaim_rounds,
            kswapd_reclaim_batch=kswapd_batch or SWAP_CLUSTER_MAX)
        return _with_batch(design, scope, kswapd_batch)
    ppb = fs.pages_per_pageblock
    nblocks, ncma = fs.pages // ppb, fs.cma_pages // ppb
    blocks = (["UNMOVABLE"] * fs.unmovable_pageblocks
              + ["MOVABLE"] * (nblocks - ncma - fs.unmovable_pageblocks) + ["CMA"] * ncma)
    derive = {"page_kbytes": fs.page_kbytes}
    if fs.cma_in_boot_basis is not None:
        derive["cma_in_boot_basis"] = fs.cma_in_boot_basis
    data = {"pages_per_pageblock": ppb, "fair_zone_policy": fs.fair_zone_policy,
            "direct_reclaim_rounds": fs.direct_reclaim_rounds,
            "kswapd_reclaim_batch": kswapd_batch or SWAP_CLUSTER_MAX,
            "zones": {"Normal": {"pageblocks": blocks}},
            "derive_watermarks": derive,
            "requests": {"GFP_ATOMIC": BIG, "GFP_KERNEL": BIG, "GFP_HIGHUSER_MOVABLE": BIG}}
    return _with_batch(design, parse_scope(data, origin="full-scale scope"), kswapd_batch)


def _with_batch(design: type[Allocator], scope: Scope, kswapd_batch: int | None) -> Scope:
    if kswapd_batch is None:
        high = max(z.wmark[2] for z in design(scope).layout)
        scope = scope.with_changes(kswapd_reclaim_batch=max(SWAP_CLUSTER_MAX, high))
    return scope


_SIM_CLASSES: dict[type, type] = {}


def sim_model(design: type[Allocator], scope: Scope) -> Allocator:
    """A design instance whose reclaim takes the first LRU candidate in the model's order
    (zone, pfn, class) and which does not intern states; everything else is the design's."""
    cls = _SIM_CLASSES.get(design)
    if cls is None:
        class _Sim(design):  # type: ignore[misc, valid-type]
            _memo = False           # one run: no state is seen twice
            def _interned(self, s: State) -> State:
                return s

            def _lru_candidates(self, w, zones):
                # the first candidate of Allocator._lru_candidates' order, found lazily
                for p in zones:
                    for b, blk in enumerate(w.zones[p].blocks):
                        for ci in self.lru_classes:
                            if blk.held[ci]:
                                return ((p, b, ci),), (True,)
                return (), ()

            def _choose(self, w, key, cands, eligible):
                return 0

        _Sim.__name__ = _Sim.__qualname__ = f"Sim_{design.__name__}"
        _Sim.name = design.name
        cls = _SIM_CLASSES[design] = _Sim
    return cls(scope)


def free_pages(s: State) -> int:
    return sum(z.nr_free for z in s.zones)


def cma_in_use(model: Allocator, s: State) -> int:
    """Pages of CMA memory in use (MIGRATE_CMA pageblocks, or ZONE_CMA's pageblocks)."""
    n = 0
    for p, z in enumerate(s.zones):
        for b, blk in enumerate(z.blocks):
            if model.is_cma_memory(p, b, blk.mt):
                n += model.ppb - blk.free
    return n


@dataclass
class SimResult:
    design: str
    wmarks: tuple                 # per zone (label, managed, (min, low, high), lowmem_reserve)
    kswapd_batch: int
    steps: int = 0                # transitions taken (allocations + kswapd steps)
    allocations: int = 0
    failures: dict = field(default_factory=dict)     # class name -> failed requests
    first_wake_step: int = -1
    first_wake_free: int = -1
    first_wake_cma_used: int = -1
    wakes: int = 0
    wake_free_min: int = -1
    wake_free_max: int = -1
    wake_cma_used_min: int = -1
    wake_cma_used_max: int = -1
    free_min_after: int = -1      # range of total free pages after the first wake
    free_max_after: int = -1
    reclaimed: int = 0            # pages freed by reclaim (kswapd and direct)
    seconds: float = 0.0


def simulate(design: str | type[Allocator], fs: FullScale = FullScale(), *, ratio: int = 15,
             kswapd_every: int = 1, allocations: int = 524288) -> SimResult:
    """Run the workload; see the module docstring."""
    if ratio < 0 or kswapd_every < 1 or allocations < 0:
        raise MmspecError("need --ratio >= 0, --kswapd-every >= 1, --allocations >= 0")
    dcls = registry.get_design(design) if isinstance(design, str) else design
    scope = full_scale_scope(dcls, fs)
    m = sim_model(dcls, scope)
    res = SimResult(dcls.name, tuple((z.label, z.managed, z.wmark, z.lowmem_reserve[-1])
                                     for z in m.layout), scope.kswapd_reclaim_batch)
    s = m.init_states()[0]
    t0 = time.perf_counter()
    step = m._run
    movable, kernel, kswapd = Action(ALLOC, GFP_HIGHUSER_MOVABLE), Action(ALLOC, GFP_KERNEL), Action(KSWAPD)
    since = 0
    for i in range(allocations):
        a = kernel if ratio == 0 or i % (ratio + 1) == ratio else movable
        before = s.kswapd
        # Allocator._run is what Allocator.step runs after its enabled check; the enabled
        # check (per-class limits, summed over 512 pageblocks) is vacuous here (limits 2**40)
        s, eff = step(s, a, None)
        res.steps += 1
        res.allocations += 1
        if not eff.ok:
            name = m.classes[a.cls].name
            res.failures[name] = res.failures.get(name, 0) + 1
        if "direct reclaim" in eff.paths:
            res.reclaimed += eff.paths.count("direct reclaim")
        if before != RUNNING and s.kswapd == RUNNING:
            _wake(m, s, res)
        if res.first_wake_step >= 0:
            f = free_pages(s)
            if res.free_min_after < 0 or f < res.free_min_after:
                res.free_min_after = f
            if f > res.free_max_after:
                res.free_max_after = f
        since += 1
        if since >= kswapd_every:
            since = 0
            if s.kswapd != SLEEPING:
                f0 = free_pages(s)
                s, eff = step(s, kswapd, None)
                res.steps += 1
                res.reclaimed += max(0, free_pages(s) - f0)
                if res.first_wake_step >= 0:
                    f = free_pages(s)
                    res.free_min_after = min(res.free_min_after, f)
                    res.free_max_after = max(res.free_max_after, f)
    res.seconds = time.perf_counter() - t0
    return res


def _wake(m: Allocator, s: State, res: SimResult) -> None:
    f, c = free_pages(s), cma_in_use(m, s)
    res.wakes += 1
    if res.first_wake_step < 0:
        res.first_wake_step, res.first_wake_free, res.first_wake_cma_used = res.steps, f, c
        res.wake_free_min = res.wake_free_max = f
        res.wake_cma_used_min = res.wake_cma_used_max = c
    res.wake_free_min, res.wake_free_max = min(res.wake_free_min, f), max(res.wake_free_max, f)
    res.wake_cma_used_min = min(res.wake_cma_used_min, c)
    res.wake_cma_used_max = max(res.wake_cma_used_max, c)


@dataclass
class AtomicResult:
    design: str
    kernel_pages: int             # GFP_KERNEL pages allocated first (the unmovable pageblocks)
    movable: int                  # movable allocations before the GFP_ATOMIC request
    failed: bool                  # the GFP_ATOMIC request failed while kswapd slept
    kswapd_woken_at: int          # movable allocation that woke kswapd first (-1: never)
    steps: int = 0
    seconds: float = 0.0


def atomic_run(design: str | type[Allocator], fs: FullScale = FullScale(), *,
               kernel_pages: int | None = None, max_movable: int | None = None) -> AtomicResult:
    """Joonsoo Kim's six steps at full scale, by simulation.

    From all free: ``kernel_pages`` GFP_KERNEL allocations (default: the pages of the
    unmovable pageblocks, so they are consumed first), then movable allocations one by one,
    kswapd never stepped; after each, probe a GFP_ATOMIC request on a copy of the state. The
    answer is the smallest number of movable allocations after which the probe fails while
    kswapd sleeps, or, if kswapd is woken first (the probe then no longer counts), where
    that happened. States are immutable, so the probe does not disturb the run (the probe
    is one real step of the step function after every movable allocation, never a
    prediction)."""
    dcls = registry.get_design(design) if isinstance(design, str) else design
    scope = full_scale_scope(dcls, fs)
    m = sim_model(dcls, scope)
    s = m.init_states()[0]
    t0 = time.perf_counter()
    steps = 0
    if kernel_pages is None:
        kernel_pages = fs.unmovable_pageblocks * fs.pages_per_pageblock
    kernel, movable, atomic = (Action(ALLOC, GFP_KERNEL), Action(ALLOC, GFP_HIGHUSER_MOVABLE),
                               Action(ALLOC, GFP_ATOMIC))
    for _ in range(kernel_pages):
        s, eff = m._run(s, kernel, None)
        steps += 1
        if s.kswapd != SLEEPING:
            raise MmspecError(f"{dcls.name}: the {kernel_pages} GFP_KERNEL pages already wake "
                              "kswapd; use fewer --unmovable-pageblocks")
    limit = max_movable if max_movable is not None else fs.pages
    n = 0
    while True:
        _, eff = m._run(s, atomic, None)
        steps += 1
        if not eff.ok:
            return AtomicResult(dcls.name, kernel_pages, n, True, -1, steps,
                                time.perf_counter() - t0)
        if n >= limit:
            break
        s, eff = m._run(s, movable, None)
        steps += 1
        n += 1
        if s.kswapd != SLEEPING:
            return AtomicResult(dcls.name, kernel_pages, n, False, n, steps,
                                time.perf_counter() - t0)
    return AtomicResult(dcls.name, kernel_pages, n, False, -1, steps, time.perf_counter() - t0)


_JOBS: list = []


def _job(i: int):
    return _JOBS[i]()


def run_parallel(jobs: list) -> list:
    """``[job() for job in jobs]``, run in forked worker processes (one per core; the
    longest jobs should come first). Each job is a full-scale run of pure computation, so
    the results are the same as in one process; where fork is unavailable, in order."""
    import multiprocessing
    import os
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [job() for job in jobs]
    _JOBS[:] = jobs
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_job, range(len(jobs)), chunksize=1)
    finally:
        _JOBS.clear()
