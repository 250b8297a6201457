"""`make run` as a person sees it: a line per task, the summary, Airflow's output in a log file.

The CLI `make run` calls is run for real (`airflow dags test` underneath) on a migrated Airflow
home of the session's own; the expected task count comes from parsing the DAG here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from include.sales_analyzer.extract.synthetic import generate_sales_csv
from tests.conftest import dag_env

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "include.sales_analyzer.cli", "run"]
TASK_LINE = re.compile(r"^   \[\s*(\d+)/(\d+)\] (\w+)\s+([\d.]+)s  (\S+)$")


def run_cli(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["timeout", "-s", "KILL", str(int(timeout)), *CLI, *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_missing_source_is_refused_before_airflow_starts(airflow_home: Path, tmp_path: Path) -> None:
    """Refused up front (how fast is `make bench`'s business, not a test's): Airflow never started."""
    missing = tmp_path / "nowhere" / "train.csv"
    proc = run_cli(["--source", str(missing)], dag_env(airflow_home, tmp_path / "data"), timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.strip() == f"!! SOURCE={missing}: {missing} does not exist; expected a CSV file"
    assert not (tmp_path / "data" / "logs").exists()  # Airflow never started


@pytest.mark.slow
def test_make_run_prints_a_line_per_task_and_a_short_summary(airflow_home: Path, tmp_path: Path) -> None:
    """A file outside the input roots, named at the shell: allowed for this run, said so."""
    outside = tmp_path / "elsewhere"
    generated = generate_sales_csv(outside / "sales.csv", rows=300, seed=5)
    data_dir = tmp_path / "data"
    env = dag_env(airflow_home, data_dir)
    env.pop("SALES_INPUT_ROOTS", None)
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "sales_medallion.py")).dags["sales_medallion"]
    tasks = set(dag.task_ids)

    proc = run_cli(["--source", str(generated.path)], env, timeout=1800)
    out = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert f">> sales.csv is outside the input roots: allowing {outside} for this run" in out
    logs = sorted((data_dir / "logs").glob("make-run-*.log"))
    assert len(logs) == 1
    assert f">> full Airflow output: {logs[0]}" in out

    task_lines = [m for m in map(TASK_LINE.match, out) if m]
    assert {m.group(5) for m in task_lines} == tasks
    assert [int(m.group(1)) for m in task_lines] == list(range(1, len(tasks) + 1))
    assert {int(m.group(2)) for m in task_lines} == {len(tasks)}
    assert {m.group(3) for m in task_lines} == {"success"}
    # 2 header lines (and here one more: the allowed folder), a line per task, 9 of summary.
    assert len(out) <= len(tasks) + 12, "\n".join(out)
    assert "nanobind" not in proc.stdout + proc.stderr

    summary = out[out.index(next(line for line in out if line.startswith("== sales_medallion finished"))) :]
    lines = generated.total_lines
    assert summary[1].startswith(f"   bronze {lines:,} lines = silver ")
    assert summary[1].endswith("-> conservation holds")
    # Every output the summary names, relative to the data dir it names, is there.
    assert f"   outputs, under {data_dir}/" in summary
    named = summary[summary.index(f"   outputs, under {data_dir}/") + 1 :]
    assert [line.split()[0] for line in named] == ["gold", "silver", "reports"]
    paths = [word for line in named for word in line.split()[1:] if "." in word or word.endswith("/")]
    assert len(paths) == 7, named
    assert all((data_dir / path).exists() for path in paths), named
    # The log file holds Airflow's own output, which the terminal did not get.
    log_text = logs[0].read_text()
    assert log_text.count("[DAG TEST] end task") == len(tasks)
    assert "[DAG TEST]" not in proc.stdout
    assert os.path.getsize(logs[0]) > 20 * len(proc.stdout)
    # The process's exit is in the log too: no "nanobind: leaked ..." report at its end (it
    # ended every run while the gate's GX ran inside the `dags test` process; make run's Airflow
    # now also ends with os._exit, so test_pipeline_dag checks a plain `airflow dags test`).
    assert "nanobind" not in log_text
