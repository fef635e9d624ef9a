"""``mmspec import``: a machine's /proc and /sys files -> scope files.

Two scopes: the machine at full scale (``simulate``/``claims --scope``) and a scaled-down
scope for exhaustive search (:mod:`mmspec.machine.scaling`, one unit of real pages per
model page). What the scope format has no field for (highatomic reserve, tunables, CMA
areas, free counts at import time, version evidence) is written as TOML comments.
"""

from __future__ import annotations

import os
import tarfile
from fractions import Fraction

from ..scope import parse_scope
from .procfs import Machine, parse_files
from .rules import zone_indices
from .scaling import RULE, round_half_up, scale_blocks, scale_marks, scale_pages
from .text import InputError

__all__ = ["read_source", "machine_scopes", "MAX_BYTES"]

MAX_BYTES = 64 << 20
_MODEL = {"DMA": "DMA", "DMA32": "DMA32", "Normal": "Normal", "Movable": "Movable"}


def read_source(path: str) -> dict[str, bytes]:
    """Regular files of a directory or tarball (never extracted to disk), by relative path."""
    out: dict[str, bytes] = {}
    total = 0
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for f in sorted(files):
                full = os.path.join(root, f)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                with open(full, "rb") as fh:
                    data = fh.read(MAX_BYTES + 1)
                total += len(data)
                if total > MAX_BYTES:
                    raise InputError(path, 0, f"more than {MAX_BYTES >> 20} MiB of files")
                out[os.path.relpath(full, path)] = data
        if not out:
            raise InputError(path, 0, "empty directory: copy /proc/zoneinfo (and pagetypeinfo, "
                             "buddyinfo, meminfo, vmstat, /proc/sys/vm, /sys/kernel/mm/cma) into it")
        return out
    try:
        with tarfile.open(path) as tf:
            for mem in tf.getmembers():
                if not mem.isreg():
                    continue
                total += mem.size
                if total > MAX_BYTES:
                    raise InputError(path, 0, f"more than {MAX_BYTES >> 20} MiB in the tarball")
                fh = tf.extractfile(mem)
                if fh is not None:
                    out[mem.name.lstrip("./")] = fh.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        if not os.path.exists(path):
            raise InputError(path, 0, "no such directory or tarball") from None
        raise InputError(path, 0, f"neither a directory nor a readable tarball ({exc})") from None
    if not out:
        raise InputError(path, 0, "empty tarball")
    return out


def _cma_pages(m: Machine, z, ppb: int, zones: list) -> tuple[int, str]:
    if "cma" in z.f:
        return z.f["cma"], "zoneinfo cma"
    if "CMA" in z.blocks:
        return z.blocks["CMA"] * ppb, "pagetypeinfo CMA pageblocks"
    total = m.meminfo.get("CmaTotal", 0) // 4
    with_cma = [x for x in zones if x.f.get("nr_free_cma")]
    if total and len(with_cma) == 1 and with_cma[0] is z:
        return total, "meminfo CmaTotal (the only zone with free CMA)"
    return 0, "no CMA size for this zone"


def _split(n: int, weights: dict[str, int]) -> dict[str, int]:
    """``n`` pageblocks split by ``weights`` (largest remainder; ties by type order)."""
    tot = sum(weights.values())
    if n <= 0 or not tot:
        return {k: 0 for k in weights}
    exact = {k: Fraction(v * n, tot) for k, v in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: -(exact[k] - out[k]))[: n - sum(out.values())]:
        out[k] += 1
    return out


def machine_scopes(m: Machine, node: int = 0, unit: Fraction | None = None,
                   small_ppb: int = 2) -> tuple[str, str | None, dict]:
    """(full-scale TOML, scaled TOML or None, summary) of node ``node``."""
    if not m.zones:
        raise InputError(m.files[0] if m.files else "input", 0, "no zone found: need "
                         "/proc/zoneinfo, /proc/pagetypeinfo or /proc/buddyinfo")
    zones = [z for (n, _), z in sorted(m.zones.items(), key=lambda kv: kv[0]) if n == node]
    if not zones:
        raise InputError(m.files[0], 0, f"node {node} has no zone (nodes: "
                         f"{sorted({n for n, _ in m.zones})})")
    names = {z.name for z in zones}
    plen = max((len(z.protection) for z in zones if z.protection), default=None)
    index, inote = zone_indices(names, plen)
    notes = [inote] if inote else []
    ppb = m.pages_per_block or 512
    if m.pages_per_block is None:
        notes.append("no pagetypeinfo: pageblocks assumed 512 pages (order 9)")
    pop = [z for z in zones if z.f.get("managed", 0) > 0 or (z.blocks and "managed" not in z.f)]
    if "HighMem" in {z.name for z in pop} and "Movable" in {z.name for z in pop}:
        raise InputError(pop[0].line and m.files[0], pop[0].line, "both HighMem and Movable "
                         "are populated; the model has one zone above Normal")
    label = dict(_MODEL, HighMem="Movable")
    if any(z.name == "HighMem" for z in pop):
        notes.append("HighMem imported as the model's Movable zone: only GFP_HIGHUSER_MOVABLE "
                     "reaches it, as HighMem on a 32-bit kernel without ZONE_MOVABLE")
    full, small, summary = [], [], {"zones": {}}
    cma_marks = None        # ZONE_CMA designs: the CMA zone's marks, the holder's times its share
    for z in pop:
        if z.name not in label:
            notes.append(f"zone {z.name} skipped (not a page-allocator zone in the model)")
            continue
        managed = z.f.get("managed") or sum(z.blocks.values()) * ppb
        cma, cma_src = _cma_pages(m, z, ppb, zones)
        boost = z.f.get("boost", 0)
        wm = tuple(z.f.get(k, 0) - boost for k in ("min", "low", "high"))
        nb = max(1, round_half_up(Fraction(managed, ppb)))
        nc = min(nb, round_half_up(Fraction(cma, ppb)))
        weights = {t: z.blocks.get(k, 0) for t, k in (("UNMOVABLE", "Unmovable"),
                                                      ("RECLAIMABLE", "Reclaimable"),
                                                      ("MOVABLE", "Movable"))}
        weights["UNMOVABLE"] += z.blocks.get("HighAtomic", 0)
        weights["MOVABLE"] += z.blocks.get("Isolate", 0)
        if not any(weights.values()):
            weights["MOVABLE"] = 1          # v4.6 boot: every pageblock MOVABLE
        split = _split(nb - nc, weights)
        res = {}             # protection[j]: this zone's lowmem_reserve for classzone j
        for other, j in sorted(index.items(), key=lambda kv: kv[1]):
            if z.protection and index[z.name] < j < len(z.protection) and other in label:
                if z.protection[j]:
                    res[label[other]] = z.protection[j]
        lab = label[z.name]
        if cma and (cma_marks is None or cma > cma_marks[0]):
            cma_marks = (cma, tuple(w * cma // managed for w in wm), z.name)
        summary["zones"][lab] = {"kernel_zone": z.name, "managed": managed, "cma": cma,
                                 "pageblocks": nb, "cma_pageblocks": nc, "watermarks": wm}
        full.append(_zone_toml(lab, split, nc, wm, res, [
            f"{z.name}: managed {managed}, CMA {cma} ({cma_src}), free {z.f.get('pages free', '?')}"
            f", nr_free_cma {z.f.get('nr_free_cma', '?')}, boost {boost}, reserved_highatomic "
            f"{z.f.get('reserved_highatomic', '?')}, free_highatomic "
            f"{z.f.get('free_highatomic', '?')}, per-CPU pages {z.pcp}",
            f"pageblocks: round_half_up(managed / {ppb}) = {nb}, {nc} CMA; pagetypeinfo "
            f"counts {z.blocks or 'none'} (HighAtomic counted UNMOVABLE, Isolate MOVABLE)"]))
        if unit is not None:
            sb, sc = scale_blocks(managed, cma, unit, small_ppb)
            sw = scale_marks(wm, unit)
            ssplit = _split(sb - sc, weights)
            summary["zones"][lab]["scaled"] = (sb, sc, sw)
            sres = {k: scale_pages(v, unit) for k, v in res.items()}
            small.append(_zone_toml(lab, ssplit, sc, sw, {k: v for k, v in sres.items() if v},
                                    [f"{z.name}: {managed} pages -> {sb} pageblocks of "
                                     f"{small_ppb}, {sc} CMA; marks {wm} -> {sw}"]))
    if not full:
        raise InputError(m.files[0], 0, f"node {node} has no populated zone the model knows")
    # zones of the default scope the machine does not have are removed explicitly
    absent = "".join(f"[zones.{lab}]\npageblocks = []\n\n" for lab in _MODEL.values()
                     if lab not in summary["zones"])
    cw = cma_marks[1] if cma_marks else (0, 0, 0)
    cma_zone = (f"# ZONE_CMA designs: {cma_marks[2] if cma_marks else 'no'} CMA zone marks = the "
                "holder's marks times its CMA share (watermarks are split by managed pages)\n"
                f"[zones.CMA]\nwatermarks = [{cw[0]}, {cw[1]}, {cw[2]}]\n\n")
    head = _header(m, node, notes)
    derive = ["page_kbytes = 4"]
    for k, cap in (("min_free_kbytes", None), ("watermark_scale_factor", 1000)):
        v = m.tunables.get(k, [""])[0]
        if v.isdigit() and int(v) > 0:
            derive.append(f"{k} = {min(int(v), cap) if cap else int(v)}")
    fair = "true" if m.version.hi <= (4, 7) else "false"
    body = (f"pages_per_pageblock = {ppb}\nfair_zone_policy = {fair}\n\n[derive_watermarks]   "
            "# for a ZONE_CMA design's CMA zone\n" + "\n".join(derive) + "\n\n"
            + "\n".join(full) + "\n" + absent + cma_zone + _REQ)
    full_text = head + body
    parse_scope(__import__("tomllib").loads(full_text), origin="imported scope")
    small_text = None
    if unit is not None:
        small_text = (head + f"# scaled down: 1 model page = {float(unit):g} real pages\n"
                      f"# rounding: {RULE}\n" + f"pages_per_pageblock = {small_ppb}\n"
                      f"fair_zone_policy = {fair}\n\n" + "\n".join(small) + "\n" + absent
                      + cma_zone.replace(f"[{cw[0]}, {cw[1]}, {cw[2]}]", "[{}, {}, {}]".format(
                          *scale_marks(cw, unit))) + _REQ)
        parse_scope(__import__("tomllib").loads(small_text), origin="scaled scope")
    summary["notes"] = notes
    return full_text, small_text, summary


_REQ = ("[requests]                  # the default scope's request limits\nGFP_ATOMIC = 1\n"
        "GFP_KERNEL = 2\nGFP_HIGHUSER_MOVABLE = 3\nBLOCKDEV = 1\n")


def _zone_toml(lab: str, split: dict, ncma: int, wm: tuple, res: dict, comments: list) -> str:
    blocks = (["UNMOVABLE"] * split["UNMOVABLE"] + ["RECLAIMABLE"] * split["RECLAIMABLE"]
              + ["MOVABLE"] * split["MOVABLE"] + ["CMA"] * ncma)
    out = [f"# {c}" for c in comments] + [f"[zones.{lab}]"]
    out.append("pageblocks = [" + ", ".join(f'"{b}"' for b in blocks) + "]")
    out.append(f"watermarks = [{wm[0]}, {wm[1]}, {wm[2]}]")
    if res:
        out.append("lowmem_reserve = { " + ", ".join(f"{k} = {v}" for k, v in res.items()) + " }")
    return "\n".join(out) + "\n"


def _header(m: Machine, node: int, notes: list) -> str:
    h = [f"# mmspec import: node {node} of the machine in {', '.join(m.files)}",
         f"# kernel version implied by the formats: {m.version}"]
    h += [f"#   {e}" for e in m.version.evidence]
    h += ["# order within a zone is not in /proc: UNMOVABLE, RECLAIMABLE, MOVABLE, then CMA "
          "pageblocks (highest pfn), as in mmspec simulate",
          "# watermarks: zoneinfo min/low/high minus boost (the unboosted marks); "
          "lowmem_reserve: zoneinfo protection"]
    for k, v in sorted(m.tunables.items()):
        h.append(f"# tunable vm.{k} = {' '.join(v)}")
    for area, attrs in sorted(m.cma.items()):
        h.append(f"# CMA area {area}: " + ", ".join(f"{k} {v}" for k, v in sorted(attrs.items())))
    for k in ("MemTotal", "CmaTotal", "CmaFree", "HighTotal"):
        if k in m.meminfo:
            h.append(f"# meminfo {k}: {m.meminfo[k]} kB")
    h += [f"# note: {n}" for n in notes]
    return "\n".join(h) + "\n"
