"""Shared fixtures: an isolated Airflow home and data dir, and a real `airflow dags test` runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
# `airflow dags test` of the whole DAG; a hung run is killed, never waited on forever.
DAG_TEST_TIMEOUT = 900

# Imported by Airflow and GX: keep them quiet and offline in every test process.
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated Airflow home of the test session's own (SQLite metadata DB)."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags")}
    proc = subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return home


def dag_env(airflow_home: Path, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a subprocess that runs the DAG against `data_dir`."""
    from include.sales_analyzer.cli import airflow_env

    env = airflow_env(data_dir)
    env["AIRFLOW_HOME"] = str(airflow_home)
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
    env["AIRFLOW_CONN_SALES_DUCKDB"] = json.dumps(
        {"conn_type": "duckdb", "host": str(data_dir / "warehouse" / "build.duckdb")}
    )
    env.update(extra)
    return env


def run_dag_test(
    airflow_home: Path, data_dir: Path, conf: dict, logical_date: str = "2026-01-15", **extra: str
) -> subprocess.CompletedProcess:
    """Run `airflow dags test sales_medallion` for real and return the finished process."""
    cmd = ["timeout", "-s", "KILL", str(DAG_TEST_TIMEOUT), AIRFLOW, "dags", "test", "sales_medallion"]
    cmd += [logical_date, "--conf", json.dumps(conf)]
    return subprocess.run(
        cmd, env=dag_env(airflow_home, data_dir, **extra), capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (tests/browser.py), launched once per test process for every browser test."""
    from tests.browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def airflow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Airflow as `make airflow` starts it, on PostgreSQL as on MWAA; started once per test process.

    Under xdist its two files run on one worker, so one stack (`pytest_xdist_make_scheduler`).
    """
    from tests.mwaa.services import AirflowStack, pg_bin

    if pg_bin() is None:
        pytest.fail("PostgreSQL's server is needed: apt-get install -y postgresql (make test does it)")
    stack = AirflowStack(root=tmp_path_factory.mktemp("airflow_stack"))
    try:
        stack.start()
        yield stack
    finally:
        stopped = stack.stop()
        print(f"stopped Airflow components: {stopped}")
    assert not stack.leftovers(), "an Airflow component outlived the tests"
    assert not stack.postgres.root.exists(), "PostgreSQL's cluster was not stopped and removed"


@pytest.fixture(scope="session")
def ui_triggered_run(airflow_stack: Any, browser: Any) -> Any:
    """The session's one DAG run on the stack, triggered by a person through the UI's Params form."""
    from tests.airflow_ui.person import trigger_from_form

    return trigger_from_form(airflow_stack, browser)


# `make test` runs the files on TEST_WORKERS processes (`--dist loadfile --no-loadscope-reorder`),
# each file whole on one worker, the two files that share one Airflow stack (`airflow_stack`) on
# the same worker (`pytest_xdist_make_scheduler` below; xdist's own `xdist_group` marks do nothing
# under pytest 9.2, whose node ids xdist 3.8 can no longer suffix). The run lasts as long as its
# busiest worker, so the costliest files start first: xdist's default order (most tests first)
# started the two Airflow-stack files, two tests each, last, and one ran alone for its last ~20
# minutes. Ordered by what a full run on 2 workers spent per file (each a full DAG run or more;
# the app files share one pipeline run, paid by the first); the others follow in collection order.
AIRFLOW_STACK_FILES = ("tests/airflow_ui/test_trigger_in_browser.py", "tests/mwaa/test_airflow_services.py")
# The fault tests compare their reruns with test_aws_backend's undisturbed aws run, kept in the
# session's stash (tests/integration/aws_runs.py): on one worker, backend first, it is made once.
AWS_RUN_FILES = ("tests/integration/test_aws_backend.py", "tests/reliability/test_aws_faults.py")
# The app files share one pipeline run (tests/app/conftest.py `gold_dir`, built under a file lock):
# on two workers the second one waited out the first one's run (~70 s) instead of working.
APP_GOLD_FILES = ("tests/app/test_data.py", "tests/app/test_pages.py", "tests/app/test_browser.py")
COSTLIEST_FIRST = (  # seconds per file in a full run on a loaded 2-core machine (2026-12-01)
    *AIRFLOW_STACK_FILES,  # 1,304 + 213 (the latter errored early; ~1,550 together when run alone)
    *AWS_RUN_FILES,  # 1,467 + 1,577 when each made its own undisturbed run
    "tests/integration/test_pipeline_dag.py",  # 938
    "tests/airflow_ui/test_make_run.py",  # 495
    "tests/reliability/test_faults.py",  # 490
    "tests/reliability/test_round2.py",  # 447
    "tests/parity/test_silver_parity.py",  # 435
    "tests/integration/test_aws_failures.py",  # 406
    *APP_GOLD_FILES,  # 398 for test_data.py (the app files' one pipeline run), then the others
    "tests/integration/test_real_format.py",  # 377
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Costliest files first (a stable sort: each file's tests keep their order)."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return COSTLIEST_FIRST.index(path) if path in COSTLIEST_FIRST else len(COSTLIEST_FIRST)

    items.sort(key=rank)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadfile`, the files that share the Airflow stack form one unit of work, and
    so do the files that share the undisturbed aws run, and those that share the app's run."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedStackScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            if scope in AIRFLOW_STACK_FILES:
                return "airflow_stack"
            if scope in AWS_RUN_FILES:
                return "aws_run"
            return "app_gold" if scope in APP_GOLD_FILES else scope

    return SharedStackScheduling(config, log)
