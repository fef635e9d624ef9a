"""`mmspec docs`: the committed docs/ is current, byte-identical on re-render, matches
`mmspec compare`, and the migrate_cma atomic-failure page shows what the issue promises."""

from __future__ import annotations

import io
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
    results, checks = cmd_docs.explore_all()
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


def _compare_cells(stdout: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(check, design) -> (verdict text, expectation mark) from `mmspec compare` output."""
    lines = stdout.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("check "))
    names = lines[head].split()[1:]
    starts = [lines[head].index(" " + n + " ") + 1 if " " + n + " " in lines[head] + " "
              else lines[head].rindex(n) for n in names]
    out = {}
    i = head + 2
    while i + 1 < len(lines) and lines[i].strip():
        r1, r2 = lines[i], lines[i + 1]
        ck = r1.split()[0]
        for k, n in enumerate(names):
            a, b = starts[k], starts[k + 1] if k + 1 < len(starts) else None
            out[(ck, n)] = (r1[a:b].strip(), r2[a:b].strip())
        i += 2
    return out


def test_index_matrix_matches_compare(generated, monkeypatch):
    # `mmspec compare` itself renders the matrix; it is fed the fixture's exploration results
    # (the search is deterministic) so that the suite explores every design only once
    _, _, results, checks = generated
    by_name = {m.name: (m, r) for m, r in results}

    def run(design, scope, cks, args, err):
        assert [c.name for c in cks] == [c.name for c in checks]
        return by_name[design.name]
    monkeypatch.setattr(cli, "_run", run)
    out, err = io.StringIO(), io.StringIO()
    cli.main(["compare", "--no-traces"], out, err)
    cells = _compare_cells(out.getvalue())
    index = _read(os.path.join(DOCS, "index.md")) or ""
    rows = {}
    for ln in index.splitlines():
        m = re.match(r"\| `([a-z0-9_]+)` \| (.*) \|$", ln)
        if m and "<br>" in ln:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split(" | ")]
    header = next(ln for ln in index.splitlines() if ln.startswith("| check | "))
    designs = re.findall(r"\[`([a-z0-9_]+)`\]", header)
    assert designs == [d.name for d in registry.designs()]
    assert set(rows) == {c.name for c in registry.checks()}
    assert len(cells) == len(rows) * len(designs)
    for ck, cols in rows.items():
        for d, col in zip(designs, cols):
            verdict, mark = col.split("<br>")
            verdict = re.sub(r"^\[(.*)\]\(traces/[^)]+\)$", r"\1", verdict)
            assert (verdict, mark) == cells[(ck, d)], (ck, d)


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
    assert "free 5 - free_cma 4 = 1 &lt;= min 2-&gt;1" in page
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
    monkeypatch.setattr(cmd_docs, "generate", lambda err=None: (files, "nav: []\n"))
    out = tmp_path / "site-src"
    (out / "traces").mkdir(parents=True)
    (out / "traces" / "old--gone.md").write_text("stale\n")
    (out / "semantics.md").write_text("hand-written\n")
    so, se = io.StringIO(), io.StringIO()
    assert cli.main(["docs", "--out", str(out)], so, se) == 0
    assert so.getvalue() == f"mmspec docs: 4 files in {out} (1 trace pages)\n"
    assert not (out / "traces" / "old--gone.md").exists()
    assert (out / "semantics.md").read_text() == "hand-written\n"
    assert (out / "traces" / "a--b.svg").read_text() == "<svg/>\n"
    assert not (tmp_path / "mkdocs.yml").exists()


def test_cli_refuses_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cmd_docs, "generate", lambda err=None: pytest.fail("explored"))
    so, se = io.StringIO(), io.StringIO()
    assert cli.main(["docs"], so, se) == 2
    assert so.getvalue() == ""
    assert se.getvalue().startswith("mmspec: error: not inside an mmspec checkout")
    assert se.getvalue().count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_find_checkout_from_a_subfolder():
    assert cmd_docs.find_checkout(os.path.join(ROOT, "docs")) == ROOT
