"""Runs of the real `sales_medallion` DAG with PIPELINE_BACKEND=aws against moto, and their outputs.

Shared by test_aws_backend.py (the undisturbed run, checked in detail) and
tests/reliability/test_aws_faults.py (faulted runs, then a rerun compared with the undisturbed
run's outputs). The undisturbed run's outputs are kept in the pytest session's stash, so the fault
tests reuse them instead of running the DAG once more when both modules run in one session.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import AIRFLOW, dag_env
from tests.integration.aws_emulator import MotoAws, default_names

ROWS, SEED, DAY = 800, 7, "2026-01-15"
# The damaged file quarantines about 2% of its lines: above the 1% default gate on purpose.
CONF = {"source": "synthetic", "rows": ROWS, "seed": SEED, "damaged": True, "max_quarantine_fraction": 0.05}
TIMEOUT = 600
# With gold, each of the ~16 Cosmos tasks starts dbt and runs its statements on the Athena player.
GOLD_TIMEOUT = 1800
# The undisturbed run's outputs (snapshot_outputs), once a module has run it in this session.
UNDISTURBED = pytest.StashKey[dict]()


def airflow(args: list[str], env: dict[str, str], timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
    """Run the airflow CLI; a hung run is killed."""
    cmd = ["timeout", "-s", "KILL", str(timeout), AIRFLOW, *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def run_sales_medallion(
    airflow_home: Path, moto_aws: MotoAws, data_dir: Path, *, gold: bool = False, **extra_env: str
) -> tuple[subprocess.CompletedProcess, str, str | None]:
    """`airflow dags test sales_medallion DAY` on the aws backend: (process, output, final state).

    gold=True runs the build_gold tasks (dbt-athena through Cosmos): the caller must have an
    aws_emulator.AthenaPlayer playing Athena. Otherwise they are marked successful (the fault
    tests, whose faults are upstream of gold, compare everything else).
    """
    env = dag_env(airflow_home, data_dir, **moto_aws.airflow_env(), **extra_env)
    args = ["dags", "test", "sales_medallion", DAY, "--conf", json.dumps(CONF)]
    if not gold:
        args += ["--mark-success-pattern", r"build_gold\..*"]
    proc = airflow(args, env, GOLD_TIMEOUT if gold else TIMEOUT)
    output = proc.stdout + proc.stderr
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "dags_test.log").write_text(output)
    finished = re.search(r"DagRun Finished: .*state=(\w+)", output)
    return proc, output, finished.group(1) if finished else None


def task_logs(airflow_home: Path) -> str:
    """Every task log file Airflow wrote."""
    return "\n".join(p.read_text(errors="replace") for p in (airflow_home / "logs").rglob("*.log"))


def dag_run_ids(airflow_home: Path) -> list[str]:
    """The sales_medallion run ids in the metadata DB, oldest first."""
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        return [
            r
            for (r,) in db.execute(
                "select run_id from dag_run where dag_id = 'sales_medallion' order by id"
            ).fetchall()
        ]


def task_states(airflow_home: Path, run_id: str) -> dict[tuple[str, int], tuple[str, int]]:
    """(task id, map index) -> (state, try number) of one DAG run."""
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        rows = db.execute(
            "select task_id, map_index, state, try_number from task_instance "
            "where dag_id = 'sales_medallion' and run_id = ?",
            [run_id],
        ).fetchall()
    return {(task, index): (state, tries) for task, index, state, tries in rows}


def _rows(files: list[Path], hive: bool) -> list[tuple]:
    if not files:
        return []
    paths = ", ".join(f"'{f}'" for f in files)
    with duckdb.connect() as con:
        return con.execute(
            f"select * from read_parquet([{paths}], hive_partitioning = {str(hive).lower()}) order by all"
        ).fetchall()


def _objects(s3: Any, bucket: str, prefix: str) -> list[dict]:
    out: list[dict] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(page.get("Contents", []))
    return out


def parquet_under(s3: Any, bucket: str, prefix: str, hive: bool) -> dict[str, Any]:
    """Relative keys of the objects under a prefix, and the rows of its Parquet files (sorted)."""
    objects = _objects(s3, bucket, prefix)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for obj in objects:
            rel = obj["Key"][len(prefix) :]
            if rel.endswith(".parquet"):
                target = Path(tmp) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, obj["Key"], str(target))
                files.append(target)
        rows = _rows(files, hive)
    return {"keys": sorted(o["Key"][len(prefix) :] for o in objects), "rows": rows}


def snapshot_outputs(moto_aws: MotoAws) -> dict[str, Any]:
    """What a run leaves for readers, with this run's key taken out so runs can be compared.

    Bronze objects (name, bytes' checksum), the live silver version (file layout and rows), the
    published quarantine and repairs, the silver table's definition, the catalog's tables, what is left in
    the staging and versions prefixes, and the run report's counts.
    """
    names = default_names()
    bucket = names["bucket"]
    s3, glue = moto_aws.client("s3"), moto_aws.client("glue")
    report = json.loads(s3.get_object(Bucket=bucket, Key="reports/run_report.json")["Body"].read())
    key = report["run_key"]
    bronze = {}
    for obj in _objects(s3, bucket, f"bronze/sales/ingest_date={DAY}/"):
        head = s3.head_object(Bucket=bucket, Key=obj["Key"])
        bronze[obj["Key"]] = {"sha256": head["Metadata"].get("sha256"), "bytes": obj["Size"]}
    table = glue.get_table(DatabaseName=names["glue_database"], Name="sales")["Table"]
    location = f"s3://{bucket}/silver/_versions/sales/{key}/"
    assert table["StorageDescriptor"]["Location"] == location, "the table points at the report's run"
    definition = json.loads(
        json.dumps(
            {k: table[k] for k in ("Name", "TableType", "Parameters", "PartitionKeys", "StorageDescriptor")}
        ).replace(key, "<run_key>")
    )
    versions = sorted({o["Key"].split("/")[3] for o in _objects(s3, bucket, "silver/_versions/sales/")})
    return {
        "run_key": key,
        "report": report,
        "bronze": bronze,
        "silver": parquet_under(s3, bucket, f"silver/_versions/sales/{key}/", hive=True),
        "quarantine": parquet_under(s3, bucket, f"quarantine/sales/ingest_date={DAY}/", hive=False),
        "repairs": parquet_under(s3, bucket, f"silver/_repairs/sales/ingest_date={DAY}/", hive=False),
        "table": definition,
        # The silver database's tables only: the gold database, and dbt's staging view in the
        # silver database, depend on whether the run built gold (the fault tests' runs do not).
        "catalog": {
            db: sorted(
                t["Name"]
                for t in glue.get_tables(DatabaseName=db)["TableList"]
                if t.get("TableType") != "VIRTUAL_VIEW"
            )
            for db in (names["glue_database"],)
        },
        "versions": versions,
        "staging": sorted(o["Key"] for o in _objects(s3, bucket, "quarantine/_staging/")),
        "report_counts": report_counts(report),
    }


def report_counts(report: dict[str, Any]) -> dict[str, Any]:
    """The parts of a run report that must not depend on which run wrote it."""
    return {
        "rows": report["rows"],
        "conservation": report["conservation"],
        "quarantine_by_reason": report["quarantine_by_reason"],
        "quarantine": report["quarantine"],
        "repairs": report["repairs"],
        "warnings": report["warnings"],
        "quality": {k: report["quality"][k] for k in ("success", "evaluated", "failed")},
        "expectations": report["quality"]["expectations"],
        "bronze": {k: report["bronze"][k] for k in ("key", "sha256", "bytes", "lines")},
        "glue_state": report["glue"]["state"],
        # silver and the quality report are this run's own (their keys hold the run key)
        "outputs": {k: v for k, v in report["outputs"].items() if k not in ("silver", "quality_report")},
    }
