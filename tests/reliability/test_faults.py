"""Faults (docs/reliability.md): a crash or a concurrent reader costs nothing but a rerun.

Each test disturbs the real code (a process killed with SIGKILL, two writers at once, a
reader holding the file) and then checks that readers only ever saw complete outputs and
that a rerun gives the same outputs as an undisturbed run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from include.sales_analyzer import silver as sv
from include.sales_analyzer.config import get_settings
from include.sales_analyzer.errors import QualityGateFailed
from include.sales_analyzer.extract.synthetic import generate_sales_csv
from include.sales_analyzer.local import stages

REPO = Path(__file__).resolve().parents[2]
INGEST = "2026-01-15"


def settings_for(data_dir: Path):
    return replace(get_settings(), data_dir=data_dir)


def silver_rows(data_dir: Path) -> list[tuple]:
    glob = data_dir / "lake" / "silver" / "sales" / "**" / "*.parquet"
    with duckdb.connect() as con:
        return con.execute(
            f"select * from read_parquet('{glob}', hive_partitioning = true) order by row_id"
        ).fetchall()


def run_silver_stage(data_dir: Path, source: Path, key: str) -> dict:
    """Bronze, silver and publish, the way the DAG chains them (without the GX gate)."""
    settings = settings_for(data_dir)
    bronze = stages.upload_bronze({"path": str(source)}, INGEST, settings=settings)
    result = stages.run_bronze_to_silver(bronze, INGEST, key, settings=settings)
    stages.publish_silver(result)
    return result


CHILD = """
import sys, json
from dataclasses import replace
from pathlib import Path
from include.sales_analyzer.local import stages
from include.sales_analyzer.config import get_settings
data_dir, source, key = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
settings = replace(get_settings(), data_dir=data_dir, duckdb_threads=1)
bronze = stages.upload_bronze({"path": source}, "2026-01-15", settings=settings)
print("STARTED", flush=True)
result = stages.run_bronze_to_silver(bronze, "2026-01-15", key, settings=settings)
stages.publish_silver(result)
print("DONE", flush=True)
"""


def wait_started(child: subprocess.Popen) -> None:
    """Read the child's output up to its STARTED line (log lines may come first)."""
    for _ in range(1000):
        line = child.stdout.readline()
        if not line or line.strip() == "STARTED":
            break
    assert line.strip() == "STARTED", "the child ended before it started its work"


def start_child(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Large enough that silver takes a few seconds, so a kill lands mid-write."""
    return generate_sales_csv(tmp_path_factory.mktemp("src") / "sales.csv", rows=150_000, seed=3).path


@pytest.fixture(scope="module")
def baseline(big_file: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    data_dir = tmp_path_factory.mktemp("baseline")
    run_silver_stage(data_dir, big_file, "undisturbed")
    return silver_rows(data_dir)


def test_killed_during_silver_write_then_rerun(big_file: Path, baseline: list, tmp_path: Path) -> None:
    run_silver_stage(tmp_path, big_file, "first")
    live_before = (tmp_path / "lake" / "silver" / "sales").resolve()
    child = start_child(CHILD, str(tmp_path), str(big_file), "killed")
    wait_started(child)
    staging = tmp_path / "lake" / "_staging" / "killed" / "lines.parquet"
    deadline = time.monotonic() + 60
    while not staging.exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # kill as soon as DuckDB has begun writing
    assert child.poll() is None, "silver finished before the kill: make the file bigger"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    # Readers still see the previous complete version.
    assert (tmp_path / "lake" / "silver" / "sales").resolve() == live_before
    assert silver_rows(tmp_path) == baseline
    # The rerun (Airflow's retry) cleans the half-written staging area and completes.
    run_silver_stage(tmp_path, big_file, "killed")
    assert silver_rows(tmp_path) == baseline
    assert not (tmp_path / "lake" / "_staging" / "killed").exists()


def test_two_runs_at_once(big_file: Path, baseline: list, tmp_path: Path) -> None:
    children = [start_child(CHILD, str(tmp_path), str(big_file), key) for key in ("run_a", "run_b")]
    for child in children:
        out, _ = child.communicate(timeout=600)
        assert child.returncode == 0 and "DONE" in out
    assert silver_rows(tmp_path) == baseline
    bronze = list((tmp_path / "lake" / "bronze" / "sales").rglob("*.csv"))
    assert len(bronze) == 1, "the same bytes are stored once"


def make_warehouse(data_dir: Path, rows: int, marker: str) -> None:
    """A warehouse whose gold schema holds `rows` rows per table, tagged with `marker`."""
    settings = settings_for(data_dir)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    settings.warehouse_path.unlink(missing_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema gold")
        for table in ("fct_sales", "yearly", "monthly"):
            con.execute(
                f"create table gold.{table} as select range as id, '{marker}' as marker, "
                f"md5(range::varchar) as payload from range({rows})"
            )


PUBLISH_CHILD = """
import sys
from dataclasses import replace
from pathlib import Path
from include.sales_analyzer.local import stages
from include.sales_analyzer.config import get_settings
settings = replace(get_settings(), data_dir=Path(sys.argv[1]))
print("STARTED", flush=True)
stages.publish_gold(sys.argv[2], settings=settings)
print("DONE", flush=True)
"""


def read_published(data_dir: Path) -> tuple[str, set[str], int]:
    with duckdb.connect(str(data_dir / "sales_analytics.duckdb"), read_only=True) as con:
        key = con.execute("select run_key from _pipeline_refresh").fetchone()[0]
        markers = {r[0] for r in con.execute("select distinct marker from fct_sales").fetchall()}
        count = con.execute("select count(*) from monthly").fetchone()[0]
    return key, markers, count


@pytest.mark.parametrize("kill_after", [0.2, 0.8])
def test_killed_during_gold_publish_readers_keep_previous_gold(tmp_path: Path, kill_after: float) -> None:
    make_warehouse(tmp_path, 1_000, "old")
    stages.publish_gold("old", settings=settings_for(tmp_path))
    make_warehouse(tmp_path, 1_000_000, "new")
    child = start_child(PUBLISH_CHILD, str(tmp_path), "new")
    wait_started(child)
    time.sleep(kill_after)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    key, markers, count = read_published(tmp_path)
    # Either the old gold or the complete new gold, never a mixture or a partial table.
    assert (key, markers, count) in [("old", {"old"}, 1_000), ("new", {"new"}, 1_000_000)]
    csvs = {p.name for p in (tmp_path / "gold").glob("*.csv")}
    assert csvs == {"fct_sales.csv", "yearly.csv", "monthly.csv"}
    # The rerun completes and publishes the new gold.
    stages.publish_gold("new", settings=settings_for(tmp_path))
    assert read_published(tmp_path) == ("new", {"new"}, 1_000_000)


def test_reader_holding_the_database_open_while_publishing(tmp_path: Path) -> None:
    make_warehouse(tmp_path, 10, "old")
    stages.publish_gold("old", settings=settings_for(tmp_path))
    reader = duckdb.connect(str(tmp_path / "sales_analytics.duckdb"), read_only=True)
    try:
        make_warehouse(tmp_path, 20, "new")
        stages.publish_gold("new", settings=settings_for(tmp_path))  # does not wait for the reader
        assert reader.execute("select run_key from _pipeline_refresh").fetchone()[0] == "old"
        assert reader.execute("select count(*) from monthly").fetchone()[0] == 10
    finally:
        reader.close()
    assert read_published(tmp_path) == ("new", {"new"}, 20)


def test_task_retries_are_idempotent(tmp_path: Path) -> None:
    """Every local stage run twice (as Airflow retries do) gives the same outputs."""
    source = generate_sales_csv(tmp_path / "src.csv", rows=2_000, seed=5, damaged=True).path
    settings = settings_for(tmp_path / "data")
    first = stages.upload_bronze({"path": str(source)}, INGEST, settings=settings)
    again = stages.upload_bronze({"path": str(source)}, INGEST, settings=settings)
    assert (first["path"], first["sha256"], again["reused"]) == (again["path"], again["sha256"], True)
    results = [stages.run_bronze_to_silver(first, INGEST, "retry", settings=settings) for _ in range(2)]
    assert results[0]["quarantine_by_reason"] == results[1]["quarantine_by_reason"]
    assert results[0]["silver_rows"] == results[1]["silver_rows"]
    stages.publish_silver(results[1])
    rows = silver_rows(settings.data_dir)
    stages.publish_silver(results[1])  # a retry after a successful publish
    assert silver_rows(settings.data_dir) == rows
    make_warehouse(settings.data_dir, 5, "x")
    one = stages.publish_gold("retry", settings=settings)
    two = stages.publish_gold("retry", settings=settings)
    assert one["tables"] == two["tables"]


def test_failed_quality_gate_keeps_previous_silver_live(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    good = generate_sales_csv(tmp_path / "good.csv", rows=500, seed=1).path
    run_silver_stage(tmp_path, good, "good")
    before = silver_rows(tmp_path)
    bad = generate_sales_csv(tmp_path / "bad.csv", rows=500, seed=2, damaged=True).path
    bronze = stages.upload_bronze({"path": str(bad)}, INGEST, settings=settings)
    result = stages.run_bronze_to_silver(bronze, INGEST, "bad", settings=settings)
    with pytest.raises(QualityGateFailed) as err:
        stages.validate_silver(result, max_quarantine_fraction=0.001, settings=settings)
    assert "expect_column_max_to_be_between on quarantine_fraction" in str(err.value)
    sv.discard_unpublished(result)  # the DAG's teardown
    assert silver_rows(tmp_path) == before
    assert not Path(result["version_dir"]).exists()
    report = json.loads((tmp_path / "quality_report.json").read_text())
    assert report["success"] is False and report["failed"] == 1
