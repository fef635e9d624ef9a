"""cma_alloc and pinned pages (claim C19).

Claim (history-and-claims.md C19; the ZONE_CMA thread, Joonsoo Kim and Vlastimil Babka on
blockdev buffers in CMA memory, see checks/blockdev.py): ``cma_alloc`` fails when a page in
the CMA area cannot be migrated because it is pinned, and block-device buffer pages under
I/O are the classic case; the more CMA memory is used by movable allocations (MIGRATE_CMA's
point), the more such pages sit in it. Under ZONE_CMA blockdev buffers
(GFP_USER|__GFP_MOVABLE, no __GFP_HIGHMEM) never reach ZONE_CMA, so pinned buffers cannot
make ``cma_alloc`` fail there.

Model extension (docs/semantics.md section 10): scope switches ``pin_blockdev`` (pin/unpin
actions: a blockdev buffer page under I/O holds an extra reference) and
``cma_alloc_pageblocks`` (the atomic ``cma_alloc``/``cma_release`` actions:
``alloc_contig_range`` over the CMA bitmap, first fit, -EBUSY on a pinned page or
an unmovable page -> next position, -ENOMEM when no migration target can be allocated).

The checks need those switches, so they carry scope overrides (opt-in checks: run with
``--check NAME``). The overrides also shrink the memory to four pageblocks
(Normal = U, M, C, C) and the workload to GFP_KERNEL 1, GFP_HIGHUSER_MOVABLE 2, BLOCKDEV 1
(GFP_ATOMIC off) so that the search stays around a thousand states; with two MOVABLE pages
filling the one MOVABLE pageblock a blockdev buffer falls back into a CMA pageblock under
MIGRATE_CMA (the C14 path).

Check ``cma_alloc_no_ebusy`` (C19): cma_alloc never fails because of a busy page (every
position it tries returns -EBUSY: a pinned page, or an unmovable page, in the range).
Witness: cma_alloc is attempted while CMA memory holds an in-use page (so there is something
to migrate). Expected: migrate_cma VIOLATED (a pinned blockdev buffer page sits in a CMA
pageblock), zone_cma HOLDS.

Check ``cma_alloc_never_fails``: cma_alloc never fails for any reason. Same witness. What the
model shows: VIOLATED under both designs. Under zone_cma the failure is -ENOMEM: the
migration targets are GFP_USER|__GFP_MOVABLE pages, which may only come from ZONE_NORMAL, and
when Normal is below its watermarks even after the bounded direct reclaim the target
allocation fails (the kernel would keep reclaiming / OOM-kill; the model's reclaim bound
makes this an over-approximation, see docs/semantics.md section 10).
"""

from mmspec.check import Check, Verdict
from mmspec.state import CMA_ALLOC

from ._cma import cma_positions

#: scope overrides shared by both checks (TOML form, merged onto the scope in use)
SCOPE = {
    "pin_blockdev": True,
    "cma_alloc_pageblocks": 1,
    "zones": {"Normal": {"pageblocks": ["UNMOVABLE", "MOVABLE", "CMA", "CMA"]}},
    "requests": {"GFP_ATOMIC": 0, "GFP_KERNEL": 1, "GFP_HIGHUSER_MOVABLE": 2, "BLOCKDEV": 1},
}


def _cma_in_use(model, s) -> bool:
    zs = s.zones
    return any(sum(zs[p].blocks[b].held) for p, b in cma_positions(model)[0])


def _cma_alloc_with_work(model, pre, action, effect, post) -> bool:
    return action.kind == CMA_ALLOC and _cma_in_use(model, pre)


def _cma_alloc_fails(model, pre, action, effect, post) -> bool:
    return action.kind == CMA_ALLOC and not effect.ok


def _cma_alloc_fails_busy(model, pre, action, effect, post) -> bool:
    return (_cma_alloc_fails(model, pre, action, effect, post)
            and "cma_alloc: -EBUSY" in effect.paths and "cma_alloc: -ENOMEM" not in effect.paths)


CMA_ALLOC_NO_EBUSY = Check(
    name="cma_alloc_no_ebusy",
    title="cma_alloc never fails because a page of CMA memory is busy (pinned/unmovable)",
    claim="C19",
    witness_doc="cma_alloc is attempted while CMA memory holds an in-use page",
    witness=_cma_alloc_with_work,
    bad_step=_cma_alloc_fails_busy,
    # as observed from `tiny` and from the default scope alike (the overrides set every
    # request limit the two differ in, so the scope the check runs at is the same)
    expected={scope: {"migrate_cma": Verdict.VIOLATED, "zone_cma": Verdict.HOLDS}
              for scope in ("tiny", "default")},
    needs=("cma_alloc",),
    scope=SCOPE,
)

CMA_ALLOC_NEVER_FAILS = Check(
    name="cma_alloc_never_fails",
    title="cma_alloc never fails (any reason: -EBUSY or -ENOMEM)",
    claim="C19",
    witness_doc="cma_alloc is attempted while CMA memory holds an in-use page",
    witness=_cma_alloc_with_work,
    bad_step=_cma_alloc_fails,
    # what the model shows (zone_cma: -ENOMEM, migration targets confined to ZONE_NORMAL),
    # from `tiny` and from the default scope alike
    expected={scope: {"migrate_cma": Verdict.VIOLATED, "zone_cma": Verdict.VIOLATED}
              for scope in ("tiny", "default")},
    needs=("cma_alloc",),
    scope=SCOPE,
)

RANK = 45
CHECKS = (CMA_ALLOC_NO_EBUSY, CMA_ALLOC_NEVER_FAILS)
