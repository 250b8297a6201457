"""A person's trigger: headless Chromium through the Airflow UI's own login page and trigger form.

Airflow runs as `make airflow` starts it (include/sales_analyzer/local_airflow.py: api-server,
scheduler, dag-processor, triggerer, LocalExecutor, the project's plugins folder), on PostgreSQL
as on MWAA (the `airflow_stack` fixture, shared with tests/mwaa/test_airflow_services.py). The
browser signs in, opens sales_medallion, presses Trigger and fills the Params form with a
generated damaged file and a quality threshold (`ui_triggered_run`, tests/airflow_ui/person.py),
then here: waits for the grid to show the run's success, opens the quality gate's Data Docs link,
the report task's Run report link and the plugin page from the UI's navigation, and checks what
they show against the generated file. Each step leaves a screenshot in artifacts/screenshots/.
A second case submits an invalid Param and checks the form's error.
"""

from __future__ import annotations

import json

import pytest

from tests.airflow_ui.person import (
    DAG_ID,
    THRESHOLD,
    VIEWPORT,
    TriggeredRun,
    new_runs,
    shot,
    sign_in,
    sign_in_and_open_trigger_form,
)
from tests.mwaa.services import AirflowStack

pytestmark = pytest.mark.slow  # shares the airflow_stack fixture: one worker (tests/conftest.py)


def test_invalid_param_is_refused_by_the_form(airflow_stack: AirflowStack, browser) -> None:
    """The form's number fields clamp to their bounds, so the invalid value goes through the conf JSON."""
    airflow_stack.wait_for_dag(DAG_ID)
    before = [r["dag_run_id"] for r in airflow_stack.dag_runs(DAG_ID)]
    page = browser.new_page(viewport=VIEWPORT)
    try:
        dialog = sign_in_and_open_trigger_form(page, airflow_stack)
        dialog.locator("[name=element_source_path]").fill("/nowhere.csv")
        dialog.get_by_text("Advanced Options").click()
        dialog.get_by_text('"rows": ').click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        conf = {"source": "synthetic", "source_path": "", "rows": 0, "seed": 1}
        page.keyboard.insert_text(json.dumps(conf))
        dialog.get_by_role("button", name="Trigger").click()
        error = dialog.get_by_text("Invalid input for param rows: 0 is less than the minimum of 1")
        error.wait_for(timeout=30_000)
        shot(page, "2_invalid_param")
    finally:
        page.close()
    assert new_runs(airflow_stack, before, wait=5) == []  # nothing was triggered


def test_person_triggers_a_run_from_the_form(
    ui_triggered_run: TriggeredRun, airflow_stack: AirflowStack, browser
) -> None:
    damaged, run = ui_triggered_run.file, ui_triggered_run.run
    assert run["conf"]["source"] == "file"
    assert run["conf"]["source_path"] == str(damaged.path)
    assert float(run["conf"]["max_quarantine_fraction"]) == THRESHOLD
    assert run["state"] == "success", (run, airflow_stack.logs_tail())
    base = airflow_stack.base_url

    page = browser.new_page(viewport=VIEWPORT)
    sign_in(page, airflow_stack)
    # The grid: the run's bar, and the run's own page with its state.
    page.goto(f"{base}/dags/{DAG_ID}/runs/{run['dag_run_id']}")
    page.get_by_text("success", exact=False).first.wait_for(timeout=60_000)
    shot(page, "4_grid_success")

    # The quality gate's extra link to its Data Docs.
    page.goto(f"{base}/dags/{DAG_ID}/runs/{run['dag_run_id']}/tasks/validate_silver")
    page.get_by_text("Details", exact=True).click()  # the task's extra links are on this tab
    link = page.get_by_role("link", name="Data Docs")
    link.wait_for(timeout=60_000)
    href = link.get_attribute("href")
    assert href == f"{base}/sales-analyzer/data-docs/index.html"
    shot(page, "5_gate_task_links")
    page.goto(href, wait_until="domcontentloaded")  # its CSS/JS come from CDNs, offline here
    assert page.title() == "Data Docs created by Great Expectations"
    assert "silver_sales" in page.content()  # the contract's suite
    shot(page, "6_data_docs")

    # The report task's extra link: this run's own page of the plugin.
    page.goto(f"{base}/dags/{DAG_ID}/runs/{run['dag_run_id']}/tasks/write_run_report")
    page.get_by_text("Details", exact=True).click()
    link = page.get_by_role("link", name="Run report")
    link.wait_for(timeout=60_000)
    href = link.get_attribute("href")
    assert href.startswith(f"{base}/sales-analyzer/runs/"), href
    page.goto(href, wait_until="domcontentloaded")
    assert page.locator("#run-id").inner_text() == run["dag_run_id"]
    shot(page, "6b_run_report")

    # The plugin page, reached through the UI's navigation (Browse), showing this run.
    page.goto(f"{base}/dags/{DAG_ID}")
    page.get_by_text("Browse", exact=True).click(timeout=60_000)
    page.get_by_role("menuitem", name="Sales run summary").click()
    page.wait_for_url(f"{base}/plugin/sales-run-summary", timeout=60_000)
    frame = page.frame_locator("iframe").first
    frame.locator("#conservation").wait_for(timeout=60_000)
    shot(page, "7_plugin_page")
    lines = damaged.total_lines  # as the generator wrote them, not as the pipeline counts
    quarantined = len(damaged.quarantined)
    not_records = 1 + len(damaged.blank_lines)  # the header and the blank lines
    silver = lines - quarantined - not_records
    assert frame.locator("#run-id").inner_text() == run["dag_run_id"]
    assert frame.locator("#conservation").inner_text() == (
        f"Conservation holds: bronze {lines:,} = silver {silver:,} + quarantine {quarantined:,}"
        f" + header/blank {not_records:,}"
    )
    assert frame.locator("#gate").inner_text().startswith("passed:")
    page.close()
