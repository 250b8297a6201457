"""The DAG on real Airflow services, run as MWAA runs it and triggered as a person does from the UI.

PostgreSQL (Debian's server, MWAA's metadata database engine) and Airflow's scheduler,
dag-processor, triggerer and API server run on loopback, started by `make airflow`'s code (the
`airflow_stack` fixture). The run checked here is the one a person triggers from the UI's Params
form in headless Chromium (`ui_triggered_run`; the form POSTs the same REST endpoint a script
would): a generated damaged file, whose published gold must equal an independent computation from
the file itself. A screenshot of the DAG's grid view lands in artifacts/screenshots/. The stack
is shared with tests/airflow_ui/test_trigger_in_browser.py, which checks the UI side of that run.
"""

from __future__ import annotations

import json

import pytest

from tests.airflow_ui.person import DAG_ID, ROWS, TriggeredRun
from tests.browser import screenshot
from tests.integration.test_pipeline_dag import expected_gold, published
from tests.mwaa.services import AirflowStack

pytestmark = pytest.mark.slow  # shares the airflow_stack fixture: one worker (tests/conftest.py)


def test_dag_parses_without_import_errors(ui_triggered_run: TriggeredRun) -> None:
    assert ui_triggered_run.import_errors["total_entries"] == 0, ui_triggered_run.import_errors
    assert ui_triggered_run.dag["dag_id"] == DAG_ID
    assert {t["name"] for t in ui_triggered_run.dag["tags"]} >= {"sales", "medallion"}


def test_triggered_run_succeeds(ui_triggered_run: TriggeredRun, airflow_stack: AirflowStack) -> None:
    run = ui_triggered_run.run
    states = {(t["task_id"], t["map_index"]): t["state"] for t in ui_triggered_run.task_instances}
    assert run["state"] == "success", (states, airflow_stack.logs_tail())
    assert run["run_type"] == "manual"
    assert run["conf"]["source"] == "file"
    assert not [k for k, s in states.items() if s not in ("success", "skipped")], states
    ran = {task for task, _ in states}
    for task in ("extract_source", "run_bronze_to_silver", "validate_silver", "publish_gold"):
        assert task in ran
    assert any(t.startswith("build_gold.") for t in ran), ran


def test_outputs_match_an_independent_computation(
    ui_triggered_run: TriggeredRun, airflow_stack: AirflowStack
) -> None:
    ref = ui_triggered_run.file  # what the generator wrote, and which lines it damaged
    assert ref.data_rows == ROWS + 1  # every Row ID once, plus the duplicate Row ID line
    report = json.loads((airflow_stack.data_dir / "run_report.json").read_text())
    assert report["run_id"] == ui_triggered_run.run["dag_run_id"]
    assert report["conservation"]["holds"] is True
    assert report["conservation"]["bronze_lines"] == ref.total_lines
    bad = {q.line_number for q in ref.quarantined}
    assert published(airflow_stack.data_dir) == expected_gold(ref.path, bad)


def test_grid_view_screenshot(ui_triggered_run: TriggeredRun, airflow_stack: AirflowStack, browser) -> None:
    """The grid view of the run, as a user sees it after logging in; saved as a test artifact."""
    from playwright.sync_api import expect

    run_id = ui_triggered_run.run["dag_run_id"]
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        # What the login form leaves behind: the JWT in the `_token` cookie.
        base = airflow_stack.base_url
        context.add_cookies([{"name": "_token", "value": airflow_stack.token(), "url": base}])
        page = context.new_page()
        page.goto(f"{base}/dags/{DAG_ID}/runs/{run_id}", wait_until="networkidle")
        expect(page.get_by_text("publish_gold").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("extract_source").first).to_be_visible()
        shot = screenshot(page, "airflow_grid")
    finally:
        context.close()
    assert shot.stat().st_size > 10_000
