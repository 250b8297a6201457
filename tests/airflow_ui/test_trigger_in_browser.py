"""A person's trigger: headless Chromium through the Airflow UI's own login page and trigger form.

Airflow is started the way `make airflow` starts it (include/sales_analyzer/local_airflow.py:
api-server, scheduler, dag-processor, triggerer, LocalExecutor, the project's plugins folder) on
a temporary Airflow home, data directory and port. The browser signs in, opens sales_medallion,
presses Trigger, fills the Params form with a generated damaged file, waits for the grid to show
the run's success, then opens the quality gate's Data Docs link and the plugin page. Each step
leaves a screenshot in artifacts/screenshots/. A second case submits an invalid Param.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from include.sales_analyzer.extract.synthetic import GeneratedFile, generate_sales_csv
from include.sales_analyzer.local_airflow import LocalAirflow
from tests.app.test_browser import CHROMIUM, CHROMIUM_ARGS, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
ROWS = 400
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAirflow]:
    """Airflow as `make airflow` runs it, on a throwaway home, data dir and port."""
    root = tmp_path_factory.mktemp("airflow_ui")
    local = LocalAirflow(home=root / "home", data_dir=root / "data", port=free_port())
    env = local.env()
    # Only the run the person triggers: "unpause on trigger" would otherwise also start the
    # latest @daily interval's run.
    env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"
    env["SALES_DATA_DIR"] = str(local.data_dir)
    try:
        local.start(env=env, timeout=300)
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def damaged_file(airflow: LocalAirflow) -> GeneratedFile:
    """A generated damaged file inside the data dir (an allowed input root for UI Params)."""
    path = airflow.data_dir / "incoming" / "damaged_sales.csv"
    return generate_sales_csv(path, rows=ROWS, seed=11, damaged=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"the browser test needs Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"airflow_{name}.png"), full_page=True)


def sign_in_and_open_trigger_form(page: object, airflow: LocalAirflow) -> object:
    """Sign in through the login page, open the DAG, press Trigger; return the dialog."""
    page.goto(f"{airflow.url}/dags/sales_medallion")
    page.get_by_label("Username").fill(airflow.user)
    page.get_by_label("Password").fill(airflow.password())
    shot(page, "1_login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/dags/sales_medallion.*"), timeout=60_000)
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for(timeout=30_000)
    return dialog


def choose_source(page: object, dialog: object, value: str) -> None:
    """Pick a value in the Params form's enum select (the form's first combobox)."""
    dialog.get_by_role("combobox").first.click()
    page.get_by_role("option", name=value, exact=True).click()


def run_states(airflow: LocalAirflow) -> list[dict]:
    token_req = urllib.request.Request(
        f"{airflow.url}/auth/token",
        data=json.dumps({"username": airflow.user, "password": airflow.password()}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(token_req, timeout=90) as resp:
        token = json.loads(resp.read())["access_token"]
    req = urllib.request.Request(
        f"{airflow.url}/api/v2/dags/sales_medallion/dagRuns",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=90) as resp:
        return json.loads(resp.read())["dag_runs"]


def test_invalid_param_is_refused_by_the_form(airflow: LocalAirflow, browser: object) -> None:
    """The form's number fields clamp to their bounds, so the invalid value goes through the conf JSON."""
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    dialog = sign_in_and_open_trigger_form(page, airflow)
    dialog.locator("[name=element_source_path]").fill("/nowhere.csv")
    dialog.get_by_text("Advanced Options").click()
    dialog.get_by_text('"rows": ').click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(json.dumps({"source": "synthetic", "source_path": "", "rows": 0, "seed": 1}))
    dialog.get_by_role("button", name="Trigger").click()
    error = dialog.get_by_text("Invalid input for param rows: 0 is less than the minimum of 1")
    error.wait_for(timeout=30_000)
    shot(page, "2_invalid_param")
    assert run_states(airflow) == []  # nothing was triggered
    page.close()


def test_person_triggers_a_run_from_the_form(
    airflow: LocalAirflow, browser: object, damaged_file: GeneratedFile
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    dialog = sign_in_and_open_trigger_form(page, airflow)
    choose_source(page, dialog, "file")
    dialog.locator("[name=element_source_path]").fill(str(damaged_file.path))
    threshold = dialog.locator("[name=element_max_quarantine_fraction]")
    threshold.fill("0.5")
    shot(page, "3_trigger_form")
    dialog.get_by_role("button", name="Trigger").click()

    # The grid's run bar turns green: wait on the API, then look at the grid itself.
    deadline = time.monotonic() + 1500
    while time.monotonic() < deadline:
        try:
            runs = run_states(airflow)
        except OSError:  # a busy API server on a loaded machine: ask again
            runs = []
        if runs and runs[0]["state"] in ("success", "failed"):
            break
        time.sleep(5)
    runs = run_states(airflow)
    assert len(runs) == 1, runs
    run = runs[0]
    assert run["conf"]["source"] == "file"
    assert run["conf"]["source_path"] == str(damaged_file.path)
    assert float(run["conf"]["max_quarantine_fraction"]) == 0.5
    assert run["state"] == "success", run
    page.goto(f"{airflow.url}/dags/sales_medallion/runs/{run['dag_run_id']}")
    page.get_by_text("success", exact=False).first.wait_for(timeout=60_000)
    shot(page, "4_grid_success")

    # The quality gate's extra link to its Data Docs.
    page.goto(f"{airflow.url}/dags/sales_medallion/runs/{run['dag_run_id']}/tasks/validate_silver")
    page.get_by_text("Details", exact=True).click()  # the task's extra links are on this tab
    link = page.get_by_role("link", name="Data Docs")
    link.wait_for(timeout=60_000)
    href = link.get_attribute("href")
    assert href == f"{airflow.url}/sales-analyzer/data-docs/index.html"
    shot(page, "5_gate_task_links")
    page.goto(href, wait_until="domcontentloaded")  # its CSS/JS come from CDNs, offline here
    assert page.title() == "Data Docs created by Great Expectations"
    assert "silver_sales" in page.content()  # the contract's suite
    shot(page, "6_data_docs")

    # The plugin page in the UI's navigation, showing this run.
    lines = damaged_file.total_lines  # as the generator wrote them, not as the pipeline counts
    page.goto(f"{airflow.url}/plugin/sales-run-summary")
    frame = page.frame_locator("iframe").first
    frame.locator("#conservation").wait_for(timeout=60_000)
    shot(page, "7_plugin_page")
    assert frame.locator("#run-id").inner_text() == run["dag_run_id"]
    assert "holds" in frame.locator("#conservation").inner_text()
    assert f"bronze {lines:,}" in frame.locator("#conservation").inner_text()
    assert "passed" in frame.locator("#gate").inner_text()
    page.close()
