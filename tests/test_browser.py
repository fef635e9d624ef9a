"""The documentation site in a real browser: build docs/ with mkdocs, open the migrate_cma
atomic-failure trace page in headless Chromium, and check that the step table and the chart
(an inline SVG with its watermark lines) are rendered. The screenshot is kept in the test's
temporary folder. In CI (CI=true) a missing Chromium is a failure, never a skip."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = "traces/migrate_cma--atomic_while_kswapd_sleeps.html"
CHART_ID = "chart-migrate_cma--atomic_while_kswapd_sleeps"


def _chromium() -> str:
    path = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
    if path:
        return path
    msg = "chromium not installed (Debian package `chromium`; `bash .ci/setup-system` installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg)
    pytest.skip(msg)


def _run_chromium(exe: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f",
                        os.path.join(ROOT, "mkdocs.yml"), "-d", str(out / "html")],
                       capture_output=True, text=True, timeout=300, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "html" / PAGE).is_file()
    return out / "html"


def test_trace_page_renders_table_and_chart(site, tmp_path):
    exe = _chromium()
    url = (site / PAGE).as_uri()
    dom = _run_chromium(exe, str(tmp_path / "profile-dom"), "--virtual-time-budget=5000",
                        "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    (tmp_path / "dom.html").write_text(html)
    # the step table: six steps, the last one failing
    assert '<table id="step-table">' in html
    rows = re.findall(r'<tr id="step-(\d+)"( class="failing")?>', html)
    assert [int(n) for n, _ in rows] == [1, 2, 3, 4, 5, 6]
    assert [n for n, f in rows if f] == ["6"]
    assert "GFP_ATOMIC page allocation failure" not in html or "FAILS" in html
    # the chart: an inline SVG with a non-zero size and its three watermark lines
    m = re.search(r'<svg id="' + CHART_ID + r'"[^>]*>', html)
    assert m, "chart SVG element missing from the rendered DOM"
    w = re.search(r'width="([\d.]+)pt"', m.group(0))
    h = re.search(r'height="([\d.]+)pt"', m.group(0))
    assert w and h and float(w.group(1)) > 100 and float(h.group(1)) > 100
    for name in ("min", "low", "high"):
        assert f'<g id="wmark-Normal-{name}">' in html
    assert '<g id="fail-6-Normal">' in html

    shot = tmp_path / "shot.png"
    r = _run_chromium(exe, str(tmp_path / "profile-shot"), "--virtual-time-budget=5000",
                      f"--screenshot={shot}", "--window-size=1200,2000", url)
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    from PIL import Image
    img = Image.open(shot).convert("RGB")
    assert img.size == (1200, 2000)
    colors = img.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50, "screenshot is blank"

    def count(rgb: tuple[int, int, int], tol: int = 12) -> int:
        return sum(n for n, c in colors if all(abs(a - b) <= tol for a, b in zip(c, rgb)))
    # the chart is painted: non-CMA bars (#1f77b4) and the min line (#d62728) are on screen
    assert count((0x1F, 0x77, 0xB4)) > 2000, "no non-CMA bars visible in the screenshot"
    assert count((0xD6, 0x27, 0x28)) > 50, "no min watermark line visible in the screenshot"
