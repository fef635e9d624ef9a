"""`mmspec docs`: the committed docs/ is current, byte-identical on re-render, matches
`mmspec compare`, and the migrate_cma atomic-failure page shows what the issue promises."""

from __future__ import annotations

import io
import json
import os
import re

import pytest

from mmspec import cli, cmd_docs, docsgen, registry
from mmspec.check import Verdict
from mmspec.explore import explore
from mmspec.scope import default_scope
from mmspec.vocab import KswapdPhase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
STALE = "docs/ is stale: run `mmspec docs` in the repository and commit the result"


@pytest.fixture(scope="module")
def generated():
    """(files, mkdocs.yml, results, checks) for the current tree (explores each design once)."""
    results, checks = cmd_docs.explore_all(max_states=420000)   # 2x the largest (209622)
    files = docsgen.render_site(results, checks)
    yml = docsgen.render_mkdocs_yml(list(files), [m.name for m, _ in results])
    return files, yml, results, checks


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def test_committed_docs_are_current(generated):
    files, yml, _, _ = generated
    stale = [rel for rel, text in files.items() if _read(os.path.join(DOCS, rel)) != text]
    for sub in cmd_docs.GENERATED_DIRS:
        d = os.path.join(DOCS, sub)
        extra = [f"{sub}/{n}" for n in sorted(os.listdir(d)) if f"{sub}/{n}" not in files] \
            if os.path.isdir(d) else []
        stale += [f"{x} (not generated any more)" for x in extra]
    if _read(os.path.join(ROOT, "mkdocs.yml")) != yml:
        stale.append("mkdocs.yml")
    assert not stale, f"{STALE}; differing: {', '.join(stale[:10])}" + (
        f" and {len(stale) - 10} more" if len(stale) > 10 else "")


def test_every_finding_has_a_page(generated):
    files, _, results, _ = generated
    for m, r in results:
        assert f"designs/{m.name}.md" in files
        for cell in r.cells:
            if cell.verdict == Verdict.VIOLATED:
                stem = f"traces/{m.name}--{cell.check.name}"
                assert stem + ".md" in files and stem + ".svg" in files


def test_render_is_byte_identical(generated):
    _, _, results, checks = generated
    one = [results[0]]
    a = docsgen.render_site(one, checks)
    b = docsgen.render_site(one, checks)
    assert a == b
    svg = next(t for p, t in a.items() if p.endswith(".svg"))
    assert "<dc:date>" not in svg and not re.search(r"\b20\d\d-\d\d-\d\d", svg)
    assert 'id="wmark-Normal-min"' in svg


def _detail(cell: dict) -> str:
    """The second line of a docs matrix cell, from a `mmspec compare --json` cell."""
    if cell["verdict"] == "VIOLATED":
        n, ls = cell["trace_length"], cell["loop_start"]
        return f"lasso {ls}+{n - ls}" if ls is not None else f"{n} step" + ("" if n == 1 else "s")
    return f"w={cell['witness_count']}" if cell["verdict"] == "HOLDS" else ""


def test_index_matrix_matches_compare(generated, monkeypatch):
    # `mmspec compare` itself computes the cells; it is fed the fixture's exploration results
    # (the search is deterministic) so that the suite explores every design only once
    _, _, results, checks = generated
    by_name = {m.name: (m, r) for m, r in results}

    def run(design, scope, cks, args, err):
        assert [c.name for c in cks] == [c.name for c in checks]
        return by_name[design.name]
    monkeypatch.setattr(cli, "_run", run)
    out, err = io.StringIO(), io.StringIO()
    cli.main(["compare", "--no-traces", "--json", "-"], out, err)
    doc = json.loads(out.getvalue())
    cells = {(c["design"], c["check"]): c for c in doc["cells"]}
    assert {c["judgement"] for c in doc["cells"]} == {"as expected"}
    index = _read(os.path.join(DOCS, "index.md")) or ""
    header = next(ln for ln in index.splitlines() if ln.startswith("| design | "))
    names = [re.sub(r"<[^>]+>", "", h).strip() for h in header.split(" | ")[1:]]
    names[-1] = names[-1].rstrip(" |")
    assert names == [c.name for c in registry.checks()]
    rows = {}
    for ln in index.splitlines():
        m = re.match(r"\| \[`([a-z0-9_]+)`\]\(designs/[a-z0-9_]+\.md\) \| (.*) \|$", ln)
        if m:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split(" | ")]
    assert list(rows) == [d.name for d in registry.designs()]
    for d, cols in rows.items():
        for ck, col in zip(names, cols):
            c = cells[(d, ck)]
            text = re.sub(r"<[^>]+>", "|", re.sub(r"\]\(traces/[^)]+\)", "", col)).replace("[", "")
            parts = [p for p in text.split("|") if p]
            assert parts[0].split()[-1] == c["verdict"], (d, ck, col)
            assert (parts[1] if len(parts) > 1 else "") == _detail(c), (d, ck, col)


def test_migrate_cma_atomic_page_shows_the_crossing(generated):
    files, _, results, _ = generated
    model, r = next((m, r) for m, r in results if m.name == "migrate_cma")
    tr = r.cell("atomic_while_kswapd_sleeps").trace
    assert tr is not None
    wmin = model.layout[0].wmark[0]
    states = tr.states
    asleep_below = [i for i, s in enumerate(states)
                    if docsgen.free_split(model, s, 0)[0] < wmin
                    and s.kswapd != int(KswapdPhase.RUNNING)]
    assert asleep_below, "ordinary free pages never cross the min line while kswapd sleeps"
    assert docsgen.free_split(model, states[0], 0)[0] >= wmin
    fail = [i for i, st in enumerate(tr.steps, 1) if not st.effect.ok]
    assert fail == [len(tr)] and asleep_below[0] < fail[0]
    page = files["traces/migrate_cma--atomic_while_kswapd_sleeps.md"]
    svg = files["traces/migrate_cma--atomic_while_kswapd_sleeps.svg"]
    for wm in ("min", "low", "high"):
        assert f'id="wmark-Normal-{wm}"' in svg and f'id="wmark-Normal-{wm}"' in page
    assert f'id="fail-{fail[0]}-Normal"' in svg
    assert f'<tr id="step-{fail[0]}" class="failing">' in page
    assert "free 5 - free_cma 4 = 1 &lt;= min 2-&gt;1" in re.sub(r"<[^>]+>", "", page)
    assert "mmspec check --design migrate_cma --check atomic_while_kswapd_sleeps" in page
    # the chart draws what the trace holds: every bar of the non-CMA free pages
    assert all(f'id="free-noncma-Normal-{i}"' in svg for i in range(len(states)))


def test_design_page_has_docstring_switches_and_verdicts(generated):
    files, _, _, checks = generated
    page = files["designs/zone_cma.md"]
    assert "### Mechanism" in page and "ZONE\\_CMA" in page
    assert "| `cma_zone` | `True` |" in page
    assert "`gfp_zone` (ZoneCma)" in page
    for ck in checks:
        assert f"| `{ck.name}` |" in page


def test_cli_writes_pages_and_removes_stale(tmp_path, monkeypatch):
    files = {"index.md": "# x\n", "traces/a--b.md": "a\n", "traces/a--b.svg": "<svg/>\n",
             "designs/a.md": "d\n"}
    monkeypatch.setattr(cmd_docs, "generate", lambda err=None, args=None: (files, "nav: []\n"))
    out = tmp_path / "site-src"
    (out / "traces").mkdir(parents=True)
    (out / "traces" / "old--gone.md").write_text("stale\n")
    (out / "semantics.md").write_text("hand-written\n")
    so, se = io.StringIO(), io.StringIO()
    assert cli.main(["docs", "--out", str(out)], so, se) == 0
    assert so.getvalue() == f"mmspec docs: 4 files in {out} (1 trace page)\n"
    assert not (out / "traces" / "old--gone.md").exists()
    assert (out / "semantics.md").read_text() == "hand-written\n"
    assert (out / "traces" / "a--b.svg").read_text() == "<svg/>\n"
    assert not (tmp_path / "mkdocs.yml").exists()


def test_cli_refuses_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cmd_docs, "generate", lambda err=None, args=None: pytest.fail("explored"))
    so, se = io.StringIO(), io.StringIO()
    assert cli.main(["docs"], so, se) == 2
    assert so.getvalue() == ""
    assert se.getvalue().startswith("mmspec: error: not inside an mmspec checkout")
    assert se.getvalue().count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_find_checkout_from_a_subfolder():
    assert cmd_docs.find_checkout(os.path.join(ROOT, "docs")) == ROOT
