"""`make run`: run the DAG once with `airflow dags test` and say where the outputs are."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from include.sales_analyzer.config import REPO_ROOT, get_settings
from include.sales_analyzer.gold import DUCKDB_CONN_ID

DAG_ID = "sales_medallion"


def airflow_env(data_dir: Path | None = None) -> dict[str, str]:
    """Environment for running the DAG offline from this checkout."""
    settings = get_settings()
    data_dir = data_dir or settings.data_dir
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", str(REPO_ROOT / ".airflow"))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    env["SALES_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    conn = f"AIRFLOW_CONN_{DUCKDB_CONN_ID.upper()}"
    env.setdefault(
        conn,
        json.dumps({"conn_type": "duckdb", "host": str(data_dir / "warehouse" / "build.duckdb")}),
    )
    return env


def dag_conf(source: str | None, rows: int, seed: int, damaged: bool = False) -> dict:
    """DAG run conf for a source path (empty: the synthetic generator)."""
    if source:
        return {"source": "file", "source_path": str(Path(source).expanduser().resolve())}
    return {"source": "synthetic", "rows": rows, "seed": seed, "damaged": damaged}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the DAG, print the outputs."""
    parser = argparse.ArgumentParser(prog="make run")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the pipeline once offline")
    run.add_argument("--source", default="", help="your CSV (default: the synthetic generator)")
    run.add_argument("--rows", type=int, default=9800)
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--damaged", action="store_true")
    args = parser.parse_args(argv)

    settings = get_settings()
    conf = dag_conf(args.source, args.rows, args.seed, args.damaged)
    airflow = str(Path(sys.executable).with_name("airflow"))
    cmd = [airflow, "dags", "test", DAG_ID, "--conf", json.dumps(conf)]
    print(f">> running {DAG_ID} offline: {json.dumps(conf)}", flush=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=airflow_env(), check=False)
    elapsed = time.perf_counter() - started
    report_path = settings.data_dir / "run_report.json"
    if proc.returncode != 0 or not report_path.exists():
        print(f"!! {DAG_ID} failed after {elapsed:.0f}s (exit {proc.returncode}); see the task logs above")
        return proc.returncode or 1
    report = json.loads(report_path.read_text())
    if report.get("run_id") is None:
        return 1
    rows, law = report["rows"], report["conservation"]
    print(f"\n== {DAG_ID} finished in {elapsed:.0f}s ({report['source'].get('description')})")
    print(
        f"   bronze {rows['bronze_lines']:,} lines = silver {rows['silver']:,} rows"
        f" + quarantine {rows['quarantine']:,} + header/blank {rows['non_record_lines']:,}"
        f" -> conservation {'holds' if law['holds'] else 'BROKEN'}"
    )
    for label, key in (
        ("gold tables (DuckDB)", "gold_database"),
        ("gold CSV/Parquet", "gold_exports"),
        ("silver Parquet", "silver"),
        ("quarantine", "quarantine"),
        ("quality report", "quality_report"),
    ):
        print(f"   {label:22} {report['outputs'][key]}")
    print(f"   {'Data Docs':22} {report['quality'].get('data_docs')}")
    print(f"   {'run report':22} {report_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
