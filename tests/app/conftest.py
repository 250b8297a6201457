"""Fixtures for the app tests: a data dir one real pipeline run filled, and helpers around it.

The pipeline runs once (`cli run --damaged --rows 2000`, about 1-2 minutes, with the test
session's own AIRFLOW_HOME and SALES_DATA_DIR, so nothing is shared with `make run`). Its output is kept
under artifacts/app-test-data/<fingerprint>/ and reused by later sessions for as long as
the pipeline's code, dbt project, DAG and requirements are byte for byte the same; delete
that folder to force a fresh run.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "include" / "sales_analyzer" / "app" / "app.py"
CACHE_ROOT = REPO_ROOT / "artifacts" / "app-test-data"
PIPELINE_INPUTS = [
    "include/sales_analyzer",
    "include/dbt/sales_analytics",
    "dags",
    "requirements.txt",
    "requirements-dbt.txt",
    "mwaa/constraints.txt",
]
NOT_INPUTS = {"app", "target", "logs", "dbt_packages", "__pycache__"}
PIPELINE_TIMEOUT = 600
PIPELINE_ARGS = ["run", "--damaged", "--rows", "2000", "--seed", "42"]
# Variables that would point the test run at the shared Airflow DB or warehouse.
SHARED_ENV = (
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__SQL_ALCHEMY_CONN",
    "AIRFLOW_CONN_SALES_DUCKDB",
)


def pipeline_fingerprint() -> str:
    """Hash of every file that decides what the pipeline writes."""
    digest = hashlib.sha256(" ".join(PIPELINE_ARGS).encode())
    for entry in PIPELINE_INPUTS:
        root = REPO_ROOT / entry
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if NOT_INPUTS.intersection(path.relative_to(REPO_ROOT).parts) or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(REPO_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_pipeline(data_dir: Path, airflow_home: Path) -> None:
    """Run the real DAG offline through the CLI into data_dir, on a migrated Airflow home."""
    env = {k: v for k, v in os.environ.items() if k not in SHARED_ENV}
    env.update(
        SALES_DATA_DIR=str(data_dir),
        AIRFLOW_HOME=str(airflow_home),
        PYTHONPATH=str(REPO_ROOT),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    cmd = [sys.executable, "-m", "include.sales_analyzer.cli", *PIPELINE_ARGS]
    log_path = data_dir.parent / "pipeline.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    outcome = run_logged(cmd, env, log_path)
    if outcome != 0:
        tail = log_path.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({outcome}); full log {log_path}:\n{tail}")


def run_logged(cmd: list[str], env: dict[str, str], log_path: Path) -> int | str:
    """Run a command with its output appended to log_path: its exit code, or why it was stopped."""
    with open(log_path, "a") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        return proc.wait(timeout=PIPELINE_TIMEOUT)
    except subprocess.TimeoutExpired:
        # The CLI runs `airflow dags test`, which runs dbt: stop the whole process group.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return f"no result after {PIPELINE_TIMEOUT} s"


@pytest.fixture(scope="session")
def gold_dir(request: pytest.FixtureRequest) -> Path:
    """SALES_DATA_DIR of a finished pipeline run with quarantined lines (built once, then reused)."""
    key = pipeline_fingerprint()
    target = CACHE_ROOT / key
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(CACHE_ROOT / ".lock", "w") as lock:
        # Two sessions starting together must not both run the pipeline into one folder.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            try:
                # tests/conftest.py's migrated Airflow home, only set up when a run is needed.
                run_pipeline(target / "data", request.getfixturevalue("airflow_home"))
            except BaseException:
                shutil.rmtree(target / "data", ignore_errors=True)
                raise
            (target / ".complete").write_text(key + "\n")
            for stale in CACHE_ROOT.iterdir():
                if stale.is_dir() and stale.name != key:
                    shutil.rmtree(stale, ignore_errors=True)
    return target / "data"


@pytest.fixture
def app_env(gold_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at the test data dir on the local backend."""
    monkeypatch.setenv("SALES_DATA_DIR", str(gold_dir))
    monkeypatch.setenv("PIPELINE_BACKEND", "local")
    return gold_dir


@pytest.fixture
def app(app_env: Path) -> AppTest:
    """The app, not yet run."""
    return AppTest.from_file(str(APP), default_timeout=60)


@pytest.fixture(scope="session")
def gold(gold_dir: Path) -> Callable[..., pd.DataFrame]:
    """Run SQL straight on the published gold tables, read-only."""
    path = gold_dir / "sales_analytics.duckdb"

    def run(sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql, params or {}).df()

    return run


@pytest.fixture
def empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data dir the pipeline never ran into."""
    monkeypatch.setenv("SALES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PIPELINE_BACKEND", "local")
    yield tmp_path
