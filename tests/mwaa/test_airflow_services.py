"""The DAG on real Airflow services, triggered as a user does from the UI.

PostgreSQL (Debian's server, MWAA's metadata database engine) and Airflow's scheduler,
dag-processor, triggerer and API server run on loopback; the test unpauses `sales_medallion` and
triggers it through the REST API the UI calls, waits for the run, checks what it published, saves a
headless Chromium screenshot of the DAG's grid view in artifacts/screenshots/, and stops every
process it started.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from include.sales_analyzer.extract.synthetic import generate_sales_csv
from tests.conftest import dag_env
from tests.integration.test_pipeline_dag import expected_gold, published
from tests.mwaa.services import AirflowServices, Postgres, pg_bin

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
DAG_ID = "sales_medallion"
ROWS, SEED = 2000, 5
RUN_TIMEOUT = 900
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    if pg_bin() is None:
        pytest.fail("PostgreSQL's server is needed: apt-get install -y postgresql (make test does it)")
    root = tmp_path_factory.mktemp("services")
    data_dir = root / "data"
    postgres = Postgres().start()
    airflow = AirflowServices(home=root / "airflow", env=dag_env(root / "airflow", data_dir))
    pids: list[int] = []
    try:
        airflow.configure(postgres.url)
        airflow.migrate()
        airflow.start()
        pids = [p.pid for p in airflow.processes.values()]
        yield {"airflow": airflow, "data_dir": data_dir, "postgres": postgres}
    finally:
        codes = airflow.stop()
        postgres.stop()
        print(f"stopped Airflow components: {codes}")
    for pid in pids:  # nothing it started outlives the test
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not postgres.root.exists(), "PostgreSQL's cluster was not stopped and removed"


def wait_for_dag(airflow: AirflowServices, timeout: float = 300) -> dict:
    """The dag-processor has parsed the DAG into the metadata DB (the UI's DAG list shows it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        airflow.check_alive()
        found = airflow.request("GET", f"/api/v2/dags?dag_id_pattern={DAG_ID}")
        if found["total_entries"]:
            return found["dags"][0]
        time.sleep(3)
    errors = airflow.request("GET", "/api/v2/importErrors")
    raise AssertionError(f"{DAG_ID} never appeared; import errors: {errors}\n{airflow.logs_tail()}")


@pytest.fixture(scope="module")
def triggered_run(services: dict) -> dict:
    airflow: AirflowServices = services["airflow"]
    dag = wait_for_dag(airflow)
    # The UI's pause toggle and its "Trigger DAG" form, as REST calls.
    airflow.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    conf = {"source": "synthetic", "rows": ROWS, "seed": SEED, "damaged": True}
    run = airflow.request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})
    run_id = run["dag_run_id"]
    started = time.monotonic()
    while time.monotonic() - started < RUN_TIMEOUT:
        airflow.check_alive()
        run = airflow.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")
        if run["state"] in ("success", "failed"):
            break
        time.sleep(5)
    elapsed = time.monotonic() - started
    print(f"DAG run {run_id} ended {run['state']} after {elapsed:.0f} s on the real services")
    tis = airflow.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=100")
    return {
        **services,
        "dag": dag,
        "run": run,
        "elapsed": elapsed,
        "task_instances": tis["task_instances"],
        "import_errors": airflow.request("GET", "/api/v2/importErrors"),
    }


def test_dag_parses_without_import_errors(triggered_run: dict) -> None:
    assert triggered_run["import_errors"]["total_entries"] == 0, triggered_run["import_errors"]
    assert triggered_run["dag"]["dag_id"] == DAG_ID
    assert {t["name"] for t in triggered_run["dag"]["tags"]} >= {"sales", "medallion"}


def test_triggered_run_succeeds(triggered_run: dict) -> None:
    run = triggered_run["run"]
    states = {(t["task_id"], t["map_index"]): t["state"] for t in triggered_run["task_instances"]}
    assert run["state"] == "success", (states, triggered_run["airflow"].logs_tail())
    assert run["run_type"] == "manual"
    assert run["conf"]["rows"] == ROWS
    assert not [k for k, s in states.items() if s not in ("success", "skipped")], states
    ran = {task for task, _ in states}
    for task in ("extract_source", "run_bronze_to_silver", "validate_silver", "publish_gold"):
        assert task in ran
    assert any(t.startswith("build_gold.") for t in ran), ran


def test_outputs_match_an_independent_computation(triggered_run: dict, tmp_path: Path) -> None:
    data_dir = triggered_run["data_dir"]
    ref = generate_sales_csv(tmp_path / "ref.csv", rows=ROWS, seed=SEED, damaged=True)
    report = json.loads((data_dir / "run_report.json").read_text())
    assert report["conservation"]["holds"] is True
    assert report["conservation"]["bronze_lines"] == ref.total_lines
    bad = {q.line_number for q in ref.quarantined}
    assert published(data_dir) == expected_gold(ref.path, bad)
    assert report["run_id"] == triggered_run["run"]["dag_run_id"]


def test_grid_view_screenshot(triggered_run: dict) -> None:
    """The grid view of the run, as a user sees it after logging in; saved as a test artifact."""
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM.exists(), "apt-get install -y chromium (make test does it)"
    airflow: AirflowServices = triggered_run["airflow"]
    run_id = triggered_run["run"]["dag_run_id"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "airflow_grid.png"
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    args += ["--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            # What the login form leaves behind: the JWT in the `_token` cookie.
            context.add_cookies([{"name": "_token", "value": airflow.token(), "url": airflow.base_url}])
            page = context.new_page()
            page.goto(f"{airflow.base_url}/dags/{DAG_ID}/runs/{run_id}", wait_until="networkidle")
            expect(page.get_by_text("publish_gold").first).to_be_visible(timeout=60_000)
            expect(page.get_by_text("extract_source").first).to_be_visible()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
