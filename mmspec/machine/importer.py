"""``mmspec import``: a machine's /proc and /sys files -> scope files.

Two scopes: the machine at full scale (``simulate``/``claims --scope``) and a scaled-down
scope for exhaustive search (:mod:`mmspec.machine.scaling`, one unit of real pages per
model page). Both say ``complete = true``: each is the whole scope, not changes to mmspec's
default scope, so a zone the machine lacks (a DMA32-only board has no Normal zone) is
absent, whatever the default holds (:mod:`mmspec.scope`). What the model's rules do not use
(the kernel version range and its evidence, free counts at import time, highatomic
reserve, per-CPU pages, tunables, CMA areas, meminfo) is kept in the ``[machine]`` table,
which ``mmspec scope --scope FILE`` shows.
"""

from __future__ import annotations

import lzma
import os
import stat
import tarfile
import tomllib
import zlib
from fractions import Fraction

from ..scope import parse_scope, toml_table
from .procfs import Machine
from .rules import zone_indices
from .scaling import RULE, SMALL_REQUESTS, round_half_up, scale_blocks, scale_marks, scale_pages
from .text import InputError, special_kind

__all__ = ["read_source", "machine_scopes", "MAX_BYTES"]

MAX_BYTES = 64 << 20
_MODEL = {"DMA": "DMA", "DMA32": "DMA32", "Normal": "Normal", "Movable": "Movable"}


def read_source(path: str) -> dict[str, bytes]:
    """Regular files of a directory or tarball (never extracted to disk), by relative path.
    Anything else (a FIFO, a device, a socket) is refused before it is opened: reading one
    could block or never end."""
    out: dict[str, bytes] = {}
    total = 0
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, 0, "no such directory or tarball") from None
    except OSError as exc:
        raise InputError(path, 0, f"cannot read: {exc.strerror or exc}") from None
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise InputError(path, 0, f"is {special_kind(st.st_mode)}, not a directory or a tarball; copy "
                         "the files into a directory (or a tar file) and give that")
    if stat.S_ISDIR(st.st_mode):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for f in sorted(files):
                full = os.path.join(root, f)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                try:
                    with open(full, "rb") as fh:
                        data = fh.read(MAX_BYTES + 1)
                except OSError as exc:
                    raise InputError(full, 0, f"cannot read: {exc.strerror or exc}") from None
                total += len(data)
                if total > MAX_BYTES:
                    raise InputError(path, 0, f"more than {MAX_BYTES >> 20} MiB of files")
                out[os.path.relpath(full, path)] = data
        if not out:
            raise InputError(path, 0, "empty directory (no regular file in it): copy "
                             "/proc/zoneinfo (and pagetypeinfo, buddyinfo, meminfo, vmstat, "
                             "/proc/sys/vm, /sys/kernel/mm/cma) into it")
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
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise InputError(path, 0, "neither a directory nor a readable tarball (tar, tar.gz, "
                         f"tar.bz2, tar.xz): {type(exc).__name__}") from None
    except OSError as exc:
        raise InputError(path, 0, f"cannot read the tarball: {exc.strerror or exc}") from None
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
    mzones: dict = {}        # [machine.zones.<kernel zone>]
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
        mz = {"model_zone": lab, "managed": managed, "cma": cma, "cma_source": cma_src}
        for key, fname in (("free", "pages free"), ("nr_free_cma", "nr_free_cma"),
                           ("boost", "boost"), ("reserved_highatomic", "reserved_highatomic"),
                           ("free_highatomic", "free_highatomic")):
            if fname in z.f:
                mz[key] = z.f[fname]
        mz["watermarks"] = [z.f.get(k, 0) for k in ("min", "low", "high")]
        if z.protection:
            mz["protection"] = list(z.protection)
        mz["per_cpu_pages"] = z.pcp
        if z.blocks:
            mz["pageblocks_by_type"] = dict(z.blocks)
        mzones[z.name] = mz
        full.append(_zone_toml(lab, split, nc, wm, res, [
            f"{z.name}: pageblocks = round_half_up(managed {managed} / {ppb}) = {nb}, of which "
            f"CMA round_half_up({cma} / {ppb}) = {nc} ({cma_src}); the rest split as the "
            "pagetypeinfo counts (HighAtomic counted UNMOVABLE, Isolate MOVABLE)"]))
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
    machine = _machine_table(m, node, notes, mzones)
    body = (f"{_COMPLETE}pages_per_pageblock = {ppb}\nfair_zone_policy = {fair}\n\n"
            "[derive_watermarks]   # for a ZONE_CMA design's CMA zone\n" + "\n".join(derive)
            + "\n\n" + "\n".join(full) + "\n" + cma_zone + _requests() + "\n"
            + "\n".join(toml_table(["machine"], machine)) + "\n")
    full_text = head + body
    parse_scope(tomllib.loads(full_text), origin="imported scope")
    small_text = None
    if unit is not None:
        scaled = dict(machine, scaled_unit_pages=float(unit), scaled_rounding=RULE)
        small_text = (head + f"# scaled down: 1 model page = {float(unit):g} real pages\n"
                      f"# rounding: {RULE}\n" + _COMPLETE + f"pages_per_pageblock = {small_ppb}\n"
                      f"fair_zone_policy = {fair}\n\n" + "\n".join(small) + "\n"
                      + cma_zone.replace(f"[{cw[0]}, {cw[1]}, {cw[2]}]", "[{}, {}, {}]".format(
                          *scale_marks(cw, unit))) + _requests() + "\n"
                      + "\n".join(toml_table(["machine"], scaled)) + "\n")
        parse_scope(tomllib.loads(small_text), origin="scaled scope")
    summary["notes"] = notes
    return full_text, small_text, summary


#: both files are the whole scope (mmspec.scope: complete files)
_COMPLETE = ("complete = true             # the whole scope: nothing is taken from mmspec's "
             "default scope\n")


def _number(tok: str) -> int | str:
    try:
        return int(tok)
    except ValueError:
        return tok


def _machine_table(m: Machine, node: int, notes: list, zones: dict) -> dict:
    """The ``[machine]`` table: what the model does not use, kept with the scope."""
    t: dict = {"node": node, "files": list(m.files), "kernel": str(m.version),
               "kernel_evidence": list(m.version.evidence)}
    if notes:
        t["notes"] = list(notes)
    if m.pages_per_block:
        t["pages_per_pageblock"] = m.pages_per_block
    if m.tunables:
        tun = {k: [_number(x) for x in v] for k, v in sorted(m.tunables.items()) if v}
        t["tunables"] = {k: v[0] if len(v) == 1 else v for k, v in tun.items()}
    if m.meminfo:
        t["meminfo_kB"] = {k: m.meminfo[k] for k in _MEMINFO if k in m.meminfo}
    if m.cma:
        t["cma"] = {area: dict(sorted(attrs.items())) for area, attrs in sorted(m.cma.items())}
    t["zones"] = zones
    return t


_MEMINFO = ("MemTotal", "MemFree", "MemAvailable", "CmaTotal", "CmaFree", "HighTotal",
            "HighFree")


def _requests() -> str:
    """The ``[requests]`` table: the scope ``tiny``'s workload (:data:`SMALL_REQUESTS`;
    ``simulate``/``claims`` replace the limits of a full-scale file with their workload)."""
    return ("[requests]                  # the workload of the scope tiny\n"
            + "".join(f"{k} = {v}\n" for k, v in SMALL_REQUESTS.items()))


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
    h = [f"# mmspec import: node {node} of a machine, kernel version implied by the formats: "
         f"{m.version}",
         "# order within a zone is not in /proc: UNMOVABLE, RECLAIMABLE, MOVABLE, then CMA "
         "pageblocks (highest pfn), as in mmspec simulate",
         "# watermarks: zoneinfo min/low/high minus boost (the unboosted marks); "
         "lowmem_reserve: zoneinfo protection",
         "# [machine] (at the end) keeps what the model does not use: files read, version "
         "evidence, tunables, CMA areas, meminfo, per zone free counts, highatomic reserve and "
         "per-CPU pages"]
    h += [f"# note: {n}" for n in notes]
    return "\n".join(h) + "\n"
