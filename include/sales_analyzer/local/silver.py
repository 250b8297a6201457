"""Local silver stages: bronze to a new silver version with DuckDB, then publish or discard it.

The engine (header, SQL, counts, the atomic publish) is include/sales_analyzer/silver.py; these
are the stage wrappers the DAG's tasks call.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from include.sales_analyzer import silver as sv
from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.errors import InputFileError
from include.sales_analyzer.local.layout import Layout
from include.sales_analyzer.report import check_conservation, finish_stage

log = logging.getLogger(__name__)


def run_bronze_to_silver(
    bronze: dict[str, Any], ingest_date: str, key: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Parse, check and split bronze into a new silver version and quarantine (unpublished)."""
    from airflow.providers.duckdb.hooks.duckdb import DuckDBHook

    started = time.perf_counter()
    settings = settings or get_settings()
    bronze_path = Path(bronze["path"])
    header = sv.inspect_header(bronze_path)
    if header.extra_columns:
        log.info("ignoring columns the contract does not use: %s", ", ".join(header.extra_columns))
    lake = Layout.of(settings).lake
    paths = sv.SilverPaths.for_run(lake, bronze_path, ingest_date, key)
    sv.prepare_dirs(paths)
    crlf = bronze.get("crlf_lines")  # counted by bronze's scan; looked up when absent
    sql = sv.render_silver_sql(
        header,
        paths,
        ingest_date,
        bronze_path.name,
        lines=bronze["lines"],
        crlf=None if crlf is None else crlf > 0,
    )
    spill = paths.staging_dir / "spill"
    hook = DuckDBHook(
        memory_limit=settings.duckdb_memory_limit,
        threads=settings.duckdb_threads,
        temp_directory=str(spill),
    )
    con = hook.get_conn()
    try:
        log.info("silver: reading %s (%s lines)", bronze_path, f"{bronze['lines']:,}")
        try:
            con.execute(sql)
        except Exception as exc:  # duckdb raises several error classes; all mean the same here
            raise InputFileError(str(bronze_path), f"DuckDB could not read the file: {exc}") from exc
        sv.refuse_second_header(paths, con, header)
        date_order = sv.decide_date_order(paths, con)
        counts = sv.summarize(paths, con)
    finally:
        con.close()
    law = check_conservation(bronze["lines"], counts, str(bronze_path))
    log.info(
        "silver: %s rows in %s partitions, %s quarantined %s, %s header/blank lines; conservation holds",
        f"{counts['silver_rows']:,}",
        counts["silver_partitions"],
        f"{counts['quarantined_lines']:,}",
        counts["quarantine_by_reason"],
        law["non_record_lines"],
    )
    result = {
        **counts,
        "conservation": law,
        "date_order_votes": date_order,
        "extra_columns_ignored": header.extra_columns,
        "had_bom": header.has_bom,
        "run_key": key,
        "version_dir": str(paths.silver_version_dir),
        "silver_glob": str(paths.silver_version_dir / "**" / "*.parquet"),
        "quarantine_file": str(paths.quarantine_file),
        "quarantine_tmp": str(paths.quarantine_tmp),
        "repairs_file": str(paths.repairs_file),
        "staging_dir": str(paths.staging_dir),
        "bronze_path": str(bronze_path),
        "ingest_date": ingest_date,
        "lake_dir": str(lake),
    }
    return finish_stage(result, started)


def publish_silver(silver: dict[str, Any]) -> dict[str, Any]:
    """Swap the validated version in as live silver; move quarantine into place."""
    started = time.perf_counter()
    paths = sv.SilverPaths.for_run(
        Path(silver["lake_dir"]),
        Path(silver["bronze_path"]),
        silver["ingest_date"],
        silver["run_key"],
    )
    sv.publish(paths)
    log.info("silver published: %s -> %s", paths.silver_live, paths.silver_version_dir)
    return finish_stage(
        {
            "silver_live": str(paths.silver_live),
            "silver_glob": Layout.of_lake(Path(silver["lake_dir"])).silver_glob,
            "quarantine": str(paths.quarantine_file),
        },
        started,
    )


def discard_unpublished_silver(silver: dict[str, Any]) -> None:
    """Remove a run's staging files, and its silver version if it never went live."""
    sv.discard_unpublished(silver)
