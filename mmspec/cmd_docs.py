"""``mmspec docs [--out DIR]``: regenerate the documentation pages from the checker's results.

Explores every shipped design once at the default scope with every shipped check, renders
the pages with :mod:`mmspec.docsgen` (in memory, so nothing is half-written on an error),
then writes them: ``index.md``, ``mmspec.css``, ``designs/*.md``, ``traces/*.md`` and
``traces/*.svg`` under the output folder, removing stale ``designs/``/``traces/`` files.
Without ``--out`` the folder is the checkout's ``docs/`` (found from the current directory
upwards) and the checkout's ``mkdocs.yml`` is rewritten too (its nav lists every page).
``docs/semantics.md`` and ``docs/claims.md`` are hand-written and never touched. The output
folder and every file to be replaced are checked (:mod:`mmspec.output`) before the search.
"""

from __future__ import annotations

import os
from typing import TextIO

from . import registry
from .docsgen import SEMANTICS_PAGE, render_mkdocs_yml, render_site
from .errors import MmspecError
from .explore import ENGINES, explore
from .output import check_regular, output_dir, write_text
from .scope import default_scope

__all__ = ["register", "cmd", "find_checkout", "explore_all", "generate", "GENERATED_DIRS"]

#: Folders under docs/ whose every file is generated (stale files there are removed).
GENERATED_DIRS = ("designs", "traces")


def register(subparsers, add_scope_args) -> None:
    p = subparsers.add_parser(
        "docs", help="regenerate docs/ (matrix, design pages, trace pages with charts) at the "
        "default scope")
    p.add_argument("--out", metavar="DIR", help="write the pages into DIR instead of the "
                   "checkout's docs/ (mkdocs.yml is then left alone)")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="explicit-state engine (default auto: the compiled one where it "
                   "covers the design, scope and checks, else python, with a note)")
    p.set_defaults(func=cmd)


def find_checkout(start: str) -> str | None:
    """The mmspec checkout containing ``start`` (a folder with pyproject.toml naming the
    project mmspec and the mmspec/ package), or None."""
    d = os.path.abspath(start)
    while True:
        pp = os.path.join(d, "pyproject.toml")
        if os.path.isfile(pp) and os.path.isdir(os.path.join(d, "mmspec")):
            with open(pp, encoding="utf-8") as fh:
                if 'name = "mmspec"' in fh.read():
                    return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def explore_all(err: TextIO | None = None, args=None, max_states: int | None = None):
    """(results, checks): every shipped design explored once at the default scope (with the
    command's engine, progress and memory guard when ``args`` is given; ``max_states``, for
    tests, makes a search that hits it an error rather than a page of BOUNDED verdicts)."""
    scope = default_scope()
    checks = registry.checks()
    results = []
    for d in registry.designs():
        model = d(scope)
        if args is not None and err is not None:
            from .cli import search
            r = search(model, checks, args, err, f"docs: {d.name}")
        else:
            r = explore(model, checks, max_states=max_states)
        if not r.stats.complete:
            raise MmspecError(f"docs: the search of {d.name} did not complete "
                              f"({r.stats.stop_reason}); the pages need every state")
        results.append((model, r))
    return results, checks


def generate(err: TextIO | None = None, args=None) -> tuple[dict[str, str], str]:
    """(files under docs/, mkdocs.yml text), rendered in memory."""
    results, checks = explore_all(err, args)
    files = render_site(results, checks)
    return files, render_mkdocs_yml(list(files), [m.name for m, _ in results])


def _write(path: str, text: str) -> bool:
    """Write ``text`` if it differs from the file's content; True if written."""
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_text(path, text, "docs")
    return True


def cmd(args, out: TextIO, err: TextIO) -> int:
    root = None
    if args.out is not None:
        docs = output_dir(args.out, "--out")
    else:
        root = find_checkout(os.getcwd())
        if root is None:
            raise MmspecError("not inside an mmspec checkout (no pyproject.toml for mmspec "
                              "here or above); run from the repository or give --out DIR")
        docs = output_dir(os.path.join(root, "docs"), "docs")
    files, mkdocs_yml = generate(err, args)
    targets = [os.path.join(docs, rel) for rel in files]
    if root is not None:
        targets.append(os.path.join(root, "mkdocs.yml"))
    for path in targets:                # nothing is written if any target is not a file
        check_regular(path, "docs")
    written = sum(_write(os.path.join(docs, rel), text) for rel, text in files.items())
    removed = 0
    for sub in GENERATED_DIRS:
        d = os.path.join(docs, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if f"{sub}/{name}" not in files and os.path.isfile(os.path.join(d, name)):
                os.unlink(os.path.join(d, name))
                removed += 1
    if root is not None:
        written += _write(os.path.join(root, "mkdocs.yml"), mkdocs_yml)
    ntr = sum(1 for f in files if f.startswith("traces/") and f.endswith(".md"))
    out.write(f"mmspec docs: {len(files)} files in {docs} ({ntr} trace page"
              + ("" if ntr == 1 else "s") + ")"
              + ("" if root is None else " and mkdocs.yml") + "\n")
    err.write(f"mmspec: docs: {written} files written, {removed} stale removed\n")
    if not os.path.exists(os.path.join(docs, SEMANTICS_PAGE)):
        err.write(f"mmspec: docs: note: {SEMANTICS_PAGE} is missing from {docs} "
                  "(hand-written, linked from every page)\n")
    return 0
