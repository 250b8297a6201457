"""What a person does in the Airflow UI, step by step in headless Chromium, with a screenshot of each.

Sign in through the login page, open sales_medallion, press Trigger, fill the Params form. The
`ui_triggered_run` fixture (tests/conftest.py) triggers the session's one DAG run this way: the
MWAA checks (tests/mwaa/test_airflow_services.py) and the browser test
(tests/airflow_ui/test_trigger_in_browser.py) both look at that run.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from include.sales_analyzer.extract.synthetic import GeneratedFile, generate_sales_csv
from tests.browser import screenshot
from tests.mwaa.services import AirflowStack

DAG_ID = "sales_medallion"
# Every quirk the damaged generator injects is already in a file this small (the same kinds
# and counts as at 2,000 rows); the run's time is Airflow's and dbt's, not the rows'.
ROWS, SEED = 400, 11
THRESHOLD = 0.5  # above the file's quarantined share (14 of 401 records); the default 0.01 is not
RUN_TIMEOUT = 1500
VIEWPORT = {"width": 1440, "height": 1100}


@dataclass
class TriggeredRun:
    """The DAG run a person triggered from the UI's form, and what the test session knew before it."""

    file: GeneratedFile
    dag: dict[str, Any]
    runs_before: list[str]
    run: dict[str, Any]
    task_instances: list[dict[str, Any]]
    import_errors: dict[str, Any]


def shot(page: Any, name: str) -> None:
    screenshot(page, f"airflow_{name}")


def sign_in(page: Any, stack: AirflowStack, screenshot_name: str | None = None) -> None:
    """Open the DAG's page, which sends a new visitor to the login page; sign in there."""
    page.goto(f"{stack.base_url}/dags/{DAG_ID}")
    page.get_by_label("Username").fill(stack.airflow.user)
    page.get_by_label("Password").fill(stack.airflow.password())
    if screenshot_name:
        shot(page, screenshot_name)
    page.get_by_role("button", name="Sign in").click()
    # Anchored: the login page's own URL names the DAG's page too (where to go back to).
    page.wait_for_url(re.compile(rf"^{re.escape(stack.base_url)}/dags/{DAG_ID}\b"), timeout=60_000)


def sign_in_and_open_trigger_form(page: Any, stack: AirflowStack) -> Any:
    """Sign in through the login page, open the DAG, press Trigger; return the dialog."""
    sign_in(page, stack, "1_login")
    page.get_by_role("button", name="Trigger").first.click(timeout=90_000)
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for(timeout=60_000)
    return dialog


def choose_source(page: Any, dialog: Any, value: str) -> None:
    """Pick a value in the Params form's enum select (the form's first combobox)."""
    dialog.get_by_role("combobox").first.click()
    page.get_by_role("option", name=value, exact=True).click()


def new_runs(stack: AirflowStack, before: list[str], wait: float = 60) -> list[dict[str, Any]]:
    """The DAG's runs that are not in `before`, once there is one (or after `wait` seconds)."""
    deadline = time.monotonic() + wait
    while True:
        new = [r for r in stack.dag_runs(DAG_ID) if r["dag_run_id"] not in before]
        if new or time.monotonic() > deadline:
            return new
        time.sleep(1)


def trigger_from_form(stack: AirflowStack, browser: Any) -> TriggeredRun:
    """Generate a damaged file in the data dir, trigger a run of it from the form, wait for its end."""
    # Inside the data dir: an allowed input root for a `file` source given through the UI.
    damaged = generate_sales_csv(
        stack.data_dir / "incoming" / "damaged_sales.csv", rows=ROWS, seed=SEED, damaged=True
    )
    dag = stack.wait_for_dag(DAG_ID)
    before = [r["dag_run_id"] for r in stack.dag_runs(DAG_ID)]
    page = browser.new_page(viewport=VIEWPORT)
    try:
        dialog = sign_in_and_open_trigger_form(page, stack)
        choose_source(page, dialog, "file")
        dialog.locator("[name=element_source_path]").fill(str(damaged.path))
        dialog.locator("[name=element_max_quarantine_fraction]").fill(str(THRESHOLD))
        shot(page, "3_trigger_form")
        dialog.get_by_role("button", name="Trigger").click()
        new = new_runs(stack, before)
    finally:
        page.close()
    assert len(new) == 1, f"the form's Trigger created {len(new)} runs: {new}"
    run = stack.wait_for_run(DAG_ID, new[0]["dag_run_id"], RUN_TIMEOUT)
    tis = stack.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances?limit=100")
    return TriggeredRun(
        file=damaged,
        dag=dag,
        runs_before=before,
        run=run,
        task_instances=tis["task_instances"],
        import_errors=stack.request("GET", "/api/v2/importErrors"),
    )
