"""The pipeline's stages as plain functions; the DAG's tasks are thin wrappers over them."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from include.sales_analyzer import silver as sv
from include.sales_analyzer.bronze import check_allowed_path, ingest_local
from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.errors import DeterministicError, InputFileError, PipelineError
from include.sales_analyzer.files import append_json_line, swap_symlink, write_json
from include.sales_analyzer.local.layout import Layout
from include.sales_analyzer.report import (
    RunContext,
    build_run_report,
    check_conservation,
    finish_stage,
    history_line,
    stage_timings,
)

log = logging.getLogger(__name__)

SOURCES = ("synthetic", "kaggle", "file")
GOLD_SCHEMA = "gold"
# Each mart exported in its meaning's order; the other gold tables by all their columns, so
# the same gold always exports to the same bytes (each order below is a unique key).
EXPORT_ORDER = {
    "top_products": "revenue_rank",
    "yearly": "order_year",
    "monthly": "order_year, order_month",
    "regional_revenue": "revenue desc, region",
    "segment_yearly": "order_year, segment",
}
# OWASP's CSV injection advice: a cell that starts with one of these is a formula to a
# spreadsheet, so the CSV export prefixes it with a single quote (Parquet and DuckDB keep it).
FORMULA_START = r"^[=+\-@\t\r]"


def csv_safe_select(con: Any, table: str) -> str:
    """A select of `table` whose text cells a spreadsheet will not evaluate as formulas."""
    cols = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = 'main' and table_name = ? "
        "order by ordinal_position",
        [table],
    ).fetchall()
    out = []
    for name, data_type in cols:
        q = '"' + name.replace('"', '""') + '"'
        if data_type == "VARCHAR":
            out.append(
                f"case when regexp_matches({q}, '{FORMULA_START}') then chr(39) || {q} else {q} end as {q}"
            )
        else:
            out.append(q)
    return ", ".join(out)


def extract(
    source: str,
    *,
    rows: int = 9800,
    seed: int = 42,
    damaged: bool = False,
    source_path: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Produce the input file: generated, downloaded from Kaggle, or the user's own."""
    started = time.perf_counter()
    settings = settings or get_settings()
    landing = Layout.of(settings).landing
    if source == "synthetic":
        from include.sales_analyzer.extract.synthetic import generate_sales_csv

        name = f"sales_synthetic_{rows}r_seed{seed}{'_damaged' if damaged else ''}.csv"
        generated = generate_sales_csv(landing / "synthetic" / name, rows=rows, seed=seed, damaged=damaged)
        result = {
            "source": "synthetic",
            "path": str(generated.path),
            "description": f"seeded synthetic generator: {rows} rows, seed {seed}"
            + (", damaged-file quirks injected" if damaged else ""),
            "rows": rows,
            "seed": seed,
            "damaged": damaged,
        }
    elif source == "kaggle":
        from include.sales_analyzer.extract.kaggle import download_kaggle_dataset, kaggle_credentials

        username, key = kaggle_credentials()
        path = download_kaggle_dataset(landing / "kaggle", username=username, key=key)
        result = {
            "source": "kaggle",
            "path": str(path),
            "description": "Kaggle dataset rohitsahoo/sales-forecasting, file train.csv",
        }
    elif source == "file":
        if not source_path:
            raise InputFileError("(none)", "source 'file' needs a path", expected="Param source_path")
        path = check_allowed_path(Path(source_path), settings.allowed_input_roots)
        result = {"source": "file", "path": str(path), "description": f"user file {path}"}
    else:
        raise DeterministicError(f"unknown source {source!r}: expected one of {', '.join(SOURCES)}")
    log.info("extracted %s -> %s", result["description"], result["path"])
    return finish_stage(result, started)


def upload_bronze(
    extracted: dict[str, Any], ingest_date: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Land the extracted file in bronze for this ingest date."""
    started = time.perf_counter()
    settings = settings or get_settings()
    result = ingest_local(Path(extracted["path"]), Layout.of(settings).lake, ingest_date)
    return finish_stage(result, started)


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
    sql = sv.render_silver_sql(header, paths, ingest_date, bronze_path.name)
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


def validate_silver(
    silver: dict[str, Any], max_quarantine_fraction: float | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Run the Great Expectations gate on the new silver version; fail the run if unmet."""
    from include.sales_analyzer.quality import raise_if_failed
    from include.sales_analyzer.quality import validate_silver as gx_validate

    started = time.perf_counter()
    settings = settings or get_settings()
    lay = Layout.of(settings)
    report = gx_validate(
        silver["silver_glob"],
        record_lines=silver["record_lines"],
        quarantined_lines=silver["quarantined_lines"],
        work_dir=lay.warehouse_dir,
        docs_dir=lay.data_docs_dir,
        max_quarantine_fraction=max_quarantine_fraction,
        memory_limit=settings.duckdb_memory_limit,
        quarantine_revenue=silver.get("quarantine_revenue"),
        silver_rows=silver.get("silver_rows"),
    )
    report["run_key"] = silver["run_key"]
    write_json(lay.quality_report, report)
    raise_if_failed(report)
    keys = ("success", "evaluated", "failed", "warnings", "quarantine_fraction", "data_docs")
    return finish_stage({k: report[k] for k in keys}, started)


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
        {"silver_live": str(paths.silver_live), "quarantine": str(paths.quarantine_file)}, started
    )


def publish_gold(key: str, settings: Settings | None = None) -> dict[str, Any]:
    """Copy the gold schema dbt built into a fresh sales_analytics.duckdb and CSV/Parquet exports.

    Each output is written aside and renamed into place, so a reader (the app, BI) sees the
    previous complete gold or the new complete gold, never a half-written table.
    """
    import duckdb

    started = time.perf_counter()
    settings = settings or get_settings()
    lay = Layout.of(settings)
    published = lay.published_path
    tmp_db = published.with_name(f".{published.name}.tmp-{key}")
    tmp_db.unlink(missing_ok=True)
    versions = lay.gold_versions
    export_dir = versions / key
    if export_dir.exists():
        shutil.rmtree(export_dir)
    export_dir.mkdir(parents=True)
    refreshed_at = datetime.now(UTC).isoformat(timespec="seconds")
    tables: dict[str, int] = {}
    with duckdb.connect(str(tmp_db)) as con:
        con.execute(f"attach '{lay.warehouse_path}' as build (read_only)")
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'build' and table_schema = ? order by 1",
                [GOLD_SCHEMA],
            ).fetchall()
        ]
        if not names:
            raise PipelineError(f"no gold tables in {lay.warehouse_path}: did dbt run?")
        for name in names:
            con.execute(f'create table main."{name}" as select * from build.{GOLD_SCHEMA}."{name}"')
            tables[name] = con.execute(f'select count(*) from main."{name}"').fetchone()[0]
            order = EXPORT_ORDER.get(name, "all")
            columns = {r[0] for r in con.execute(f'describe main."{name}"').fetchall()}
            if not {part.split()[0] for part in order.split(", ")} <= columns | {"all"}:
                order = "all"  # a table that is not the mart this order was written for
            ordered = f'(select * from main."{name}" order by {order})'
            safe = f'(select {csv_safe_select(con, name)} from main."{name}" order by {order})'
            con.execute(f"copy {safe} to '{export_dir / (name + '.csv')}' (header)")
            con.execute(f"copy {ordered} to '{export_dir / (name + '.parquet')}' (format parquet)")
        con.execute(
            "create table main._pipeline_refresh as select ? as run_key, ?::timestamptz as refreshed_at",
            [key, refreshed_at],
        )
        con.execute("detach build")
    published.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp_db, published)
    swap_symlink(lay.gold_dir, export_dir)
    for old in sorted(versions.iterdir(), key=lambda p: p.stat().st_mtime)[:-2]:
        if old.resolve() != export_dir.resolve():
            shutil.rmtree(old, ignore_errors=True)
    log.info("gold published: %s (%s)", published, ", ".join(f"{t}={n:,}" for t, n in tables.items()))
    return finish_stage(
        {
            "database": str(published),
            "exports": str(lay.gold_dir),
            "tables": tables,
            "refreshed_at": refreshed_at,
        },
        started,
    )


def _cost_estimate(settings: Settings, lay: Layout, stages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What this run would cost on the aws backend, from its measured sizes and timings."""
    from include.sales_analyzer.cost import estimate_run_cost

    silver_bytes = sum(p.stat().st_size for p in lay.silver_live.rglob("*.parquet"))
    return estimate_run_cost(
        bronze_bytes=int(stages.get("bronze", {}).get("bytes") or 0),
        silver_bytes=silver_bytes,
        rows=int(stages.get("silver", {}).get("silver_rows") or 0),
        stage_seconds=stage_timings(stages),
        glue_workers=settings.glue_workers,
        glue_worker_type=settings.glue_worker_type,
    )


def write_run_report(
    run: RunContext,
    *,
    params: dict[str, Any],
    stages: dict[str, dict[str, Any]],
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Write run_report.json (latest), runs/<key>.json, and one line of etl_pipeline.log."""
    settings = settings or get_settings()
    lay = Layout.of(settings)
    silver = stages.get("silver", {})
    quality = json.loads(lay.quality_report.read_text()) if lay.quality_report.exists() else {}
    report = build_run_report(
        run,
        backend=settings.backend,
        params=params,
        stages=stages,
        counts=silver,
        quality=quality,
        outputs={
            "silver": str(lay.silver_live),
            "quarantine": silver.get("quarantine_file"),
            "repairs": silver.get("repairs_file"),
            "gold_database": str(lay.published_path),
            "gold_exports": str(lay.gold_dir),
            "quality_report": str(lay.quality_report),
        },
        cost=_cost_estimate(settings, lay, stages),
    )
    write_json(lay.run_report_of(run.run_key), report)
    write_json(lay.run_report, report)
    append_json_line(lay.history_log, history_line(report))
    from include.sales_analyzer.summary import summary_lines

    for text in summary_lines(report):
        log.info("%s", text)
    log.info("run report: %s", lay.run_report)
    return report
