"""Local gold stage: publish the gold schema dbt built as sales_analytics.duckdb and CSV/Parquet."""

from __future__ import annotations

import logging
import os
import shutil
import time
from datetime import UTC, datetime
from typing import Any

from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.errors import PipelineError
from include.sales_analyzer.files import swap_symlink
from include.sales_analyzer.local.layout import Layout
from include.sales_analyzer.report import finish_stage

log = logging.getLogger(__name__)

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
