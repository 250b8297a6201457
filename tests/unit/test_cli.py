"""`make run`'s progress count and environment, without running Airflow."""

from __future__ import annotations

import importlib.metadata
import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from include.sales_analyzer.cli import RunProgress, airflow_env, count_run_tasks, metadata_db

REPO = Path(__file__).resolve().parents[2]
RUN_ID = "manual__2026-12-01T21:39:50.365811+00:00"
RUNNING = (
    "2026-12-01T21:40:40.483999Z [info     ] [DAG TEST] running task <TaskInstance: "
    f"sales_medallion.build_gold.stg_silver__sales_model_build {RUN_ID} [TaskInstanceState.SCHEDULED]> "
    "[airflow.sdk.definitions.dag] loc=dag.py:1503"
)


def _metadata_db(path: Path, runs: dict[tuple[str, str], int]) -> None:
    """A task_instance table with `count` rows per (dag_id, run_id), as `dags test` leaves it."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("create table task_instance (task_id text, dag_id text, run_id text, map_index int)")
        for (dag_id, run_id), count in runs.items():
            db.executemany(
                "insert into task_instance values (?, ?, ?, -1)",
                [(f"task_{i}", dag_id, run_id) for i in range(count)],
            )


@pytest.mark.parametrize(
    ("env", "cfg", "expected"),
    [
        ({}, None, "{home}/airflow.db"),
        ({}, "[database]\nsql_alchemy_conn = sqlite:////elsewhere/meta.db\n", "/elsewhere/meta.db"),
        ({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////env/meta.db"}, None, "/env/meta.db"),
        ({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://u@h/airflow"}, None, None),
    ],
)
def test_metadata_db_follows_airflows_settings(tmp_path: Path, env: dict, cfg: str | None, expected) -> None:
    if cfg is not None:
        (tmp_path / "airflow.cfg").write_text(cfg)
    found = metadata_db({"AIRFLOW_HOME": str(tmp_path), **env})
    assert found == (None if expected is None else Path(expected.format(home=tmp_path)))


def test_count_is_this_runs_task_instances(tmp_path: Path) -> None:
    _metadata_db(
        tmp_path / "airflow.db",
        {("sales_medallion", RUN_ID): 25, ("sales_medallion", "manual__other"): 7, ("other_dag", RUN_ID): 3},
    )
    progress = RunProgress()
    progress.feed(RUNNING)
    assert progress.run_id == RUN_ID
    assert count_run_tasks({"AIRFLOW_HOME": str(tmp_path)}, progress.run_id) == 25
    assert count_run_tasks({"AIRFLOW_HOME": str(tmp_path)}, "manual__unknown") is None
    assert count_run_tasks({"AIRFLOW_HOME": str(tmp_path / "missing")}, RUN_ID) is None


def test_each_data_dir_keeps_its_own_dbt_partial_parse(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("AIRFLOW__COSMOS__CACHE_DIR", raising=False)
    first, second = airflow_env(tmp_path / "a"), airflow_env(tmp_path / "b")
    assert first["AIRFLOW__COSMOS__CACHE_DIR"] == str(tmp_path / "a" / "warehouse" / "cosmos")
    assert second["AIRFLOW__COSMOS__CACHE_DIR"] == str(tmp_path / "b" / "warehouse" / "cosmos")


def test_the_launcher_resolves_settings_without_importing_airflow(tmp_path: Path) -> None:
    """`make run`'s own process reads settings and paths without Airflow's seconds of imports."""
    child = (
        "import importlib.util, json, sys\n"
        "from include.sales_analyzer import cli\n"
        "from include.sales_analyzer.config import get_settings\n"
        "from include.sales_analyzer.local.layout import Layout\n"
        "env = cli.airflow_env()\n"
        "print(json.dumps({'airflow': sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'),\n"
        "    'logs': str(Layout.of(get_settings()).logs_dir), 'conn': env['AIRFLOW_CONN_SALES_DUCKDB'],\n"
        "    'importable': importlib.util.find_spec('airflow.sdk.exceptions') is not None}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "SALES_DATA_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", child], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["airflow"] == []
    assert found["logs"] == str(tmp_path / "logs")
    assert json.loads(found["conn"])["host"] == str(tmp_path / "warehouse" / "build.duckdb")
    assert found["importable"] is True


# A failed attempt as `dags test` logged it (validate_silver's quality gate, from a real run; the
# traceback's frames cut to one). The exception's message spans three lines.
FAILED_GATE = """\
2026-12-02T03:26:37.181166Z [info     ] [DAG TEST] starting task_id=validate_silver map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1501
2026-12-02T03:26:50.553870Z [info     ] gate | INFO include.sales_analyzer.quality: quality gate: 37 expectations, 1 failed, 0 warned [include.sales_analyzer.quality] loc=quality.py:384
2026-12-02T03:26:50.606558Z [error    ] Task failed with exception     [task] loc=task_runner.py:1639
Traceback (most recent call last):
  File "/work/main/include/sales_analyzer/quality.py", line 445, in raise_if_failed
    raise QualityGateFailed("\\n".join(lines))
include.sales_analyzer.errors.QualityGateFailed: quality gate failed: 1 of 37 expectations not met
- 100 rows in silver; 100 of 200 record lines quarantined (50.00%, limit 1.00%), holding $0.00 of sales
- expect_column_max_to_be_between on quarantine_fraction: observed 0.5
2026-12-02T03:26:50.612435Z [info     ] ::group::Post Execute          [task] loc=task_runner.py:1640
2026-12-02T03:26:50.720125Z [info     ] Task instance state updated    [airflow.api_fastapi.execution_api.routes.task_instances] correlation_id=01a2 loc=task_instances.py:484 new_state=failed rows_affected=1
2026-12-02T03:26:50.754173Z [info     ] [DAG TEST] end task task_id=validate_silver map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1563
"""  # noqa: E501 - Airflow's log lines as they are


def test_a_failed_tasks_error_keeps_every_line_of_its_message() -> None:
    """The gate names each failed expectation on a line of its own: `make run` shows them all."""
    progress = RunProgress(total=30)
    shown = [text for line in FAILED_GATE.splitlines() if (text := progress.feed(line))]
    (attempt,) = progress.finished
    assert (attempt.task_id, attempt.state) == ("validate_silver", "failed")
    assert attempt.error == (
        "include.sales_analyzer.errors.QualityGateFailed: quality gate failed: 1 of 37 expectations not met\n"
        "- 100 rows in silver; 100 of 200 record lines quarantined (50.00%, limit 1.00%), "
        "holding $0.00 of sales\n"
        "- expect_column_max_to_be_between on quarantine_fraction: observed 0.5"
    )
    # The per-task line carries the first line only; the failure summary prints all of them.
    assert shown == [
        "   [ 1/30] failed     13.6s  validate_silver\n"
        + " " * 29
        + "include.sales_analyzer.errors.QualityGateFailed: quality gate failed: 1 of 37 expectations not met"
    ]


def test_airflow_cli_keeps_airflows_exit_code_and_output(tmp_path: Path) -> None:
    """`make run`'s `python -m include.sales_analyzer.airflow_cli` is Airflow's CLI with its exit code."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "no_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
    }
    cmd = [sys.executable, "-m", "include.sales_analyzer.airflow_cli"]
    version = subprocess.run([*cmd, "version"], env=env, capture_output=True, text=True, check=False)
    assert version.returncode == 0, version.stderr[-2000:]
    assert version.stdout.strip() == importlib.metadata.version("apache-airflow")
    missing = subprocess.run(
        [*cmd, "dags", "test", "no_such_dag"], env=env, capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1  # here a metadata DB never migrated: Airflow says so, and fails
    assert "airflow db migrate" in missing.stdout + missing.stderr
    usage = subprocess.run([*cmd, "no-such-command"], env=env, capture_output=True, text=True, check=False)
    assert usage.returncode == 2  # argparse's
    assert "invalid choice: 'no-such-command'" in usage.stderr
