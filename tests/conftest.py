"""Shared fixtures: an isolated Airflow home and data dir, and a real `airflow dags test` runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
