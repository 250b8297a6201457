"""The app as people see it: `streamlit run` on 127.0.0.1 and every page in headless Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.app.conftest import APP, REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
# (url path, page title, screenshot name)
PAGES = [
    ("", "Overview", "overview"),
    ("revenue", "Revenue over time", "revenue"),
    ("breakdowns", "Breakdowns", "breakdowns"),
    ("top", "Top products & customers", "top"),
    ("shipping", "Shipping", "shipping"),
    ("run_report", "Latest run", "run_report"),
    ("quality", "Quality gate", "quality"),
    ("quarantine", "Quarantine", "quarantine"),
    ("history", "Run history", "history"),
]
pytestmark = pytest.mark.slow


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(gold_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run` of the app on a free local port, stopped (with its children) afterwards."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {
        **os.environ,
        "SALES_DATA_DIR": str(gold_dir),
        "PIPELINE_BACKEND": "local",
        "PYTHONPATH": str(REPO_ROOT),
    }
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"streamlit did not start (exit {proc.poll()}):\n{log_path.read_text()[-3000:]}"
                    )
                time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright (its own browser download is not used)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs Playwright's Python package: pip install playwright")
    if not CHROMIUM.exists():
        pytest.fail(f"the browser test needs Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def settle(page: object, title: str) -> None:
    """Wait for the page's title, the end of its script run and its charts; fail on any exception."""
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    # Placeholders (skeletons) stand where elements of a run in progress will go: a page with
    # any left has not rendered yet, whatever the status widget says.
    page.wait_for_function(
        '() => !document.querySelector(\'[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]\')',
        timeout=60_000,
    )
    # Vega draws after the script run ends, and only the charts of the open tab. Charts are
    # SVG (ui.chart), so a chart holds data when its mark groups hold drawn items.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
        ".filter(c => c.offsetParent !== null).every(c => c.querySelector('svg .role-mark'))",
        timeout=30_000,
    )
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.all_inner_texts()
    empty = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
        ".filter(c => c.offsetParent !== null)"
        ".filter(c => ![...c.querySelectorAll('svg .role-mark')].some(g => g.children.length > 0))"
        ".map(c => c.getAttribute('aria-label') || c.innerText.slice(0, 80))"
    )
    assert empty == [], f"{title}: charts drawn without data: {empty}"
    # Every visible metric card shows its whole figure (none cut with an ellipsis).
    clipped = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
        ".filter(v => v.offsetParent !== null)"
        ".filter(v => [v, ...v.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1))"
        ".map(v => v.innerText)"
    )
    assert clipped == [], f"{title}: metric values cut off: {clipped}"


def test_every_page_renders_without_exceptions(server: str, browser: object) -> None:
    """Open the app, then visit each page through the sidebar navigation as a person would."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1600})
    page.goto(server)
    for path, title, name in PAGES:
        if path:
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).click()
        settle(page, title)
        assert page.url.rstrip("/") == f"{server}/{path}".rstrip("/")
        shot = SCREENSHOTS / f"{name}.png"
        shot.unlink(missing_ok=True)
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 0
    page.close()


def test_injected_url_filters_change_nothing(server: str, browser: object, gold) -> None:
    """A shared link carrying SQL in a filter shows the valid filters' figures and nothing else."""
    before = gold("select count(*) as n from fct_sales").n[0]
    query = "&".join(f"region={quote(v)}" for v in ["East'; drop table fct_sales; --", "West"])
    page = browser.new_page(viewport={"width": 1440, "height": 1600})
    page.goto(f"{server}/?{query}")
    settle(page, "Overview")
    west = gold(
        "select sum(f.sales) as revenue from fct_sales as f join dim_geography as g using (geography_key)"
        " where g.region = 'West'"
    ).revenue[0]
    revenue = page.locator('[data-testid="stMetric"]').filter(has_text="Revenue").first
    shown = revenue.locator('[data-testid="stMetricValue"]').inner_text()
    page.close()

    assert float(shown.replace("$", "").replace(",", "")) == pytest.approx(west, abs=0.5)
    assert gold("select count(*) as n from fct_sales").n[0] == before
