"""One measured workload per process: `python bench/variants.py NAME --csv F --out DIR`, JSON on stdout.

bench/run.py and bench/scale.py start each variant in a fresh interpreter and read its
wall time, CPU time and peak RSS from os.wait4, so one variant's memory never counts
against another's. The child prints one JSON line: `work_seconds` (the timed section,
interpreter start and imports excluded) plus whatever the variant reports.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

INGEST_DATE = "2026-01-01"
RUN_KEY = "bench"
# Source header name -> silver name, in file order (the contract's 18 columns).
SOURCE_TO_SILVER = {
    "Row ID": "row_id",
    "Order ID": "order_id",
    "Order Date": "order_date",
    "Ship Date": "ship_date",
    "Ship Mode": "ship_mode",
    "Customer ID": "customer_id",
    "Customer Name": "customer_name",
    "Segment": "segment",
    "Country": "country",
    "City": "city",
    "State": "state",
    "Postal Code": "postal_code",
    "Region": "region",
    "Product ID": "product_id",
    "Category": "category",
    "Sub-Category": "sub_category",
    "Product Name": "product_name",
    "Sales": "sales",
}


def duckdb_config(spill: Path) -> dict[str, Any]:
    """The connection config pipeline.run_bronze_to_silver gets from DuckDBHook.get_connect_config."""
    from include.sales_analyzer.config import get_settings

    settings = get_settings()
    config: dict[str, Any] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
        "allow_community_extensions": False,
        "memory_limit": settings.duckdb_memory_limit,
        "temp_directory": str(spill),
    }
    if settings.duckdb_threads is not None:
        config["threads"] = settings.duckdb_threads
    return config


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _statement_label(statement: str) -> str:
    """A short name for one statement of bronze_to_silver.sql (which file it writes)."""
    text = " ".join(line for line in statement.splitlines() if not line.strip().startswith("--"))
    if text.strip().startswith("copy"):
        target = text.rsplit(" to '", 1)[-1].split("'", 1)[0]
        return "copy -> " + Path(target).name
    return " ".join(text.split()[:6])


def run_pipeline_silver(
    csv: Path, out: Path, profile: bool = False, crlf: bool | None = None
) -> dict[str, Any]:
    """The pipeline's silver stage: the real functions, DuckDB configured as in the DAG.

    With `profile`, the rendered script runs one statement at a time to show where the time goes.
    `crlf`: whether the file has CRLF line ends, which the DAG's silver has from bronze's scan
    (`crlf_lines`); looked up here (a read of the whole file, untimed) when not given.
    """
    import duckdb

    from include.sales_analyzer import silver as sv

    lake = _fresh(out) / "lake"
    crlf = sv.has_crlf(csv) if crlf is None else crlf
    started = time.perf_counter()
    header = sv.inspect_header(csv)
    paths = sv.SilverPaths.for_run(lake, csv, INGEST_DATE, RUN_KEY)
    sv.prepare_dirs(paths)
    sql = sv.render_silver_sql(header, paths, INGEST_DATE, csv.name, crlf=crlf)
    con = duckdb.connect(config=duckdb_config(paths.staging_dir / "spill"))
    statements: list[list[Any]] = []
    try:
        if profile:
            for statement in (s for s in sql.split(";\n") if s.strip()):
                began = time.perf_counter()
                con.execute(statement)
                statements.append([_statement_label(statement), round(time.perf_counter() - began, 3)])
        else:
            con.execute(sql)
        began = time.perf_counter()
        counts = sv.summarize(paths, con)
        statements.append(["summarize", round(time.perf_counter() - began, 3)])
    finally:
        con.close()
    seconds = time.perf_counter() - started
    return {
        "work_seconds": seconds,
        "statements": statements if profile else None,
        "rows_out": counts["silver_rows"],
        "counts": counts,
        "silver_glob": str(paths.silver_version_dir / "**" / "*.parquet"),
        "silver_dir": str(paths.silver_version_dir),
        "staging_file": str(paths.staging_file),
    }


def contract_casts(value_of: Callable[[int, str], str], try_: bool = False) -> str:
    """The 18 contract columns cast to their types, and nothing else: no rule of the contract.

    `value_of(position, source_name)` gives each column's SQL value; `try_` casts to NULL
    instead of failing (the floors read the header line as a record).
    """
    from include.sales_analyzer.contract import load_contract

    prefix = "TRY_" if try_ else ""
    casts = []
    for i, c in enumerate(load_contract().columns, start=1):
        value = value_of(i, c.source)
        if c.type == "date":
            casts.append(f"{prefix}strptime({value}, '{c.strptime_format}')::DATE AS {c.name}")
        elif c.type == "string":
            casts.append(f"{value} AS {c.name}")
        else:
            casts.append(f"{prefix}CAST({value} AS {c.sql_type}) AS {c.name}")
    return ", ".join(casts)


def bare_duckdb_sql(csv: Path, target: Path) -> str:
    """COPY with the 18 casts and nothing else: what DuckDB itself needs for CSV -> typed Parquet."""
    casts = contract_casts(lambda _, source: '"' + source.replace('"', '""') + '"')
    path = str(csv).replace("'", "''")
    return (
        f"COPY (SELECT {casts} FROM read_csv('{path}', header = true, all_varchar = true)) "
        f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
    )


def run_duckdb_bare(csv: Path, out: Path) -> dict[str, Any]:
    """Bare DuckDB: read_csv all_varchar, cast, COPY to one Parquet file; same memory settings."""
    import duckdb

    work = _fresh(out)
    target = work / "silver.parquet"
    started = time.perf_counter()
    con = duckdb.connect(config=duckdb_config(work / "spill"))
    try:
        con.execute(bare_duckdb_sql(csv, target))
        rows = con.execute(f"select count(*) from read_parquet('{target}')").fetchone()[0]
    finally:
        con.close()
    return {"work_seconds": time.perf_counter() - started, "rows_out": rows}


# The partitioned write as bronze_to_silver.sql makes it (settings, partitions, file names).
_FLOOR_PARTITIONED = (
    "(format parquet, compression zstd, partition_by (order_year, order_month), filename_pattern 'part-{i}')"
)
_FLOOR_WRITE_SETTINGS = (
    "set partitioned_write_flush_threshold = 8192",
    "set write_buffer_row_group_count = 1",
)


def run_duckdb_floor(
    csv: Path, out: Path, numbering: str = "staging", crlf: bool | None = None
) -> dict[str, Any]:
    """Silver's shape with the contract taken out: the floor of any design that numbers the lines.

    `numbering` "staging" (the default) is silver's own structure: its line reader
    (silver_sql.bronze_lines_relation), one ordered pass that splits every line on commas
    and casts the 18 fields into a staging file whose row k is line k + 1, then the
    partitioned write with `source_line` from that position. "table" numbers the lines the
    other way DuckDB can: an ordered load of the raw lines into a temp table, whose rowid is
    the line's index, then one unordered pass (split, cast, partitioned write) over it. No
    parsing of quotes, no normalisation, no check, no quarantine, repairs or duplicates: every
    cost left is one that a design keeping physical line numbers pays before the contract does
    any work. "none": the split and casts straight into the partitioned write, no line numbers
    (DuckDB's CSV reader gives none, docs/benchmarks.md "Silver reader comparison").
    """
    import duckdb

    from include.sales_analyzer import silver as sv

    work = _fresh(out)
    paths = sv.SilverPaths.for_run(work / "lake", csv, INGEST_DATE, RUN_KEY)
    sv.prepare_dirs(paths)
    lines = sv.bronze_lines_relation(paths, crlf)  # as the pipeline variant reads the file
    casts = contract_casts(lambda i, _: f"f[{i}]", try_=True)
    split = f"(select string_split(raw_line, ',') as f from {lines})"
    silver = sv.sql_string(paths.silver_version_dir)
    started = time.perf_counter()
    con = duckdb.connect(config=duckdb_config(paths.staging_dir / "spill"))
    try:
        if numbering == "staging":
            con.execute("set preserve_insertion_order = true")
            con.execute(
                f"copy (select {casts} from {split}) to {sv.sql_string(paths.staging_file)} "
                "(format parquet, compression lz4_raw)"
            )
            source = (
                f"(select *, file_row_number + 1 as source_line from read_parquet("
                f"{sv.read_path(paths.staging_file)}, file_row_number = true) where file_row_number > 0)"
            )
        elif numbering == "table":
            con.execute("set preserve_insertion_order = true")
            con.execute(f"create temp table bronze_lines as select raw_line from {lines}")
            source = (
                f"(select {casts}, source_line from (select string_split(raw_line, ',') as f, "
                "rowid + 1 as source_line from bronze_lines where rowid > 0))"
            )
        else:
            source = f"(select {casts} from {split} where f is not null)"
        con.execute("set preserve_insertion_order = false")
        for setting in _FLOOR_WRITE_SETTINGS:
            con.execute(setting)
        con.execute(
            f"copy (select *, year(order_date)::integer as order_year, month(order_date)::integer as "
            f"order_month from {source} where row_id is not null) to {silver} {_FLOOR_PARTITIONED}"
        )
        written = sv.sql_string(sv.glob_literal(paths.silver_version_dir) + "/**/*.parquet")
        rows = con.execute(f"select count(*) from read_parquet({written})").fetchone()[0]
    finally:
        con.close()
    return {"work_seconds": time.perf_counter() - started, "rows_out": rows}


def run_duckdb_floor_table(csv: Path, out: Path, crlf: bool | None = None) -> dict[str, Any]:
    """The floor with the lines numbered by a temp table's rowid (run_duckdb_floor's docstring)."""
    return run_duckdb_floor(csv, out, numbering="table", crlf=crlf)


def run_duckdb_floor_unnumbered(csv: Path, out: Path, crlf: bool | None = None) -> dict[str, Any]:
    """The floor without line numbers (run_duckdb_floor's docstring)."""
    return run_duckdb_floor(csv, out, numbering="none", crlf=crlf)


def run_pandas(csv: Path, out: Path) -> dict[str, Any]:
    """The usual pandas way: read_csv, to_datetime day-first, float money, drop_duplicates, to_parquet."""
    import pandas as pd

    target = _fresh(out) / "silver"
    started = time.perf_counter()
    df = pd.read_csv(csv, dtype={"Postal Code": "string"})
    df = df.rename(columns=SOURCE_TO_SILVER)
    for col in ("order_date", "ship_date"):
        df[col] = pd.to_datetime(df[col], format="%d/%m/%Y")
    df["sales"] = df["sales"].astype("float64").round(4)  # money as float, rounded to the contract's scale
    df = df.drop_duplicates(subset="row_id", keep="first")
    df["order_year"] = df["order_date"].dt.year.astype("int32")
    df["order_month"] = df["order_date"].dt.month.astype("int32")
    df.to_parquet(target, partition_cols=["order_year", "order_month"], compression="zstd", index=False)
    return {"work_seconds": time.perf_counter() - started, "rows_out": len(df)}


def _polars_frame(csv: Path) -> Any:
    """The lazy polars query shared by both polars variants."""
    import polars as pl

    lf = pl.scan_csv(
        csv,
        schema_overrides={"Postal Code": pl.String, "Sales": pl.Decimal(18, 4)},
    ).rename(SOURCE_TO_SILVER)
    return (
        lf.with_columns(
            pl.col("order_date").str.strptime(pl.Date, "%d/%m/%Y"),
            pl.col("ship_date").str.strptime(pl.Date, "%d/%m/%Y"),
        )
        .unique(subset=["row_id"], keep="first", maintain_order=True)
        .with_columns(
            pl.col("order_date").dt.year().cast(pl.Int32).alias("order_year"),
            pl.col("order_date").dt.month().cast(pl.Int32).alias("order_month"),
        )
    )


def run_polars(csv: Path, out: Path) -> dict[str, Any]:
    """The usual polars way: scan_csv, collect on the streaming engine, write_parquet partitioned."""
    target = _fresh(out) / "silver"
    started = time.perf_counter()
    df = _polars_frame(csv).collect(engine="streaming")
    df.write_parquet(target, partition_by=["order_year", "order_month"], compression="zstd")
    return {"work_seconds": time.perf_counter() - started, "rows_out": df.height}


def run_polars_sink(csv: Path, out: Path) -> dict[str, Any]:
    """Polars end to end streaming: scan_csv -> sink_parquet into key-partitioned files."""
    import polars as pl

    target = _fresh(out) / "silver"
    started = time.perf_counter()
    _polars_frame(csv).sink_parquet(
        pl.PartitionBy(target, key=["order_year", "order_month"]), compression="zstd", mkdir=True
    )
    seconds = time.perf_counter() - started
    rows = pl.scan_parquet(target / "**" / "*.parquet").select(pl.len()).collect().item()
    return {"work_seconds": seconds, "rows_out": rows}


def run_quality(silver_glob: str, out: Path, record_lines: int, quarantined: int) -> dict[str, Any]:
    """The Great Expectations gate alone, on a silver version the pipeline variant wrote.

    Through validate_counts, as the DAG calls it: in this process, whose import of GX is part
    of the figure (the variant's process starts before the clock).
    """
    from include.sales_analyzer.quality import validate_counts

    work = _fresh(out)
    started = time.perf_counter()
    report = validate_counts(
        silver_glob,
        {"record_lines": record_lines, "quarantined_lines": quarantined},
        work_dir=work / "warehouse",
        docs_dir=work / "data_docs",
    )
    return {
        "work_seconds": time.perf_counter() - started,
        "success": report["success"],
        "evaluated": report["evaluated"],
        "failed": report["failed"],
    }


def create_silver_view(warehouse: Path, silver_glob: str) -> None:
    """Run the catalog stage's SQL (create_silver_views.sql) against the warehouse, as the DAG does."""
    import duckdb
    from jinja2 import Template

    from include.sales_analyzer.config import SQL_DIR

    class PublishedSilver:
        """What the template reads from Airflow's context: publish_silver's XCom."""

        @staticmethod
        def xcom_pull(task_ids: str) -> dict[str, str]:
            assert task_ids == "publish_silver", task_ids
            return {"silver_glob": silver_glob}

    template = Template((SQL_DIR / "catalog" / "create_silver_views.sql").read_text())
    sql = template.render(ti=PublishedSilver())
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql)


def run_gold(silver_glob: str, out: Path, memory_limit: str | None) -> dict[str, Any]:
    """Gold alone: the silver.sales view, then `dbt build` through dbt_project.run_dbt.

    SALES_DATA_DIR must point at `out` (bench/run.py sets it) so the warehouse lands there.
    With `memory_limit`, dbt gets a profile that caps DuckDB (bench/scale.py).
    """
    import yaml

    from include.sales_analyzer.config import get_settings
    from include.sales_analyzer.dbt_project import duckdb_profile, run_dbt

    settings = get_settings()
    if settings.data_dir.resolve() != out.resolve():
        raise SystemExit(f"SALES_DATA_DIR is {settings.data_dir}, expected {out}")
    if settings.warehouse_path.exists():
        settings.warehouse_path.unlink()
    create_silver_view(settings.warehouse_path, silver_glob)
    profiles_dir = None
    if memory_limit:
        profiles_dir = out / "profiles"
        profiles_dir.mkdir(parents=True, exist_ok=True)
        # memory_limit only: dbt-duckdb re-applies settings on every cursor and DuckDB refuses to
        # switch temp_directory once used; the default spill folder is <warehouse>.tmp, under `out`.
        profile = duckdb_profile(settings.warehouse_path, memory_limit=memory_limit)
        (profiles_dir / "profiles.yml").write_text(yaml.safe_dump(profile))
    started = time.perf_counter()
    # Its own target folder: the project's target/ holds the manifest and partial parse Cosmos
    # uses, built for the DAG's profile; a bench build there would replace them with its own.
    proc = run_dbt(["build", "--target-path", str(out / "dbt_target")], profiles_dir=profiles_dir)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-6000:] + proc.stderr[-3000:])
        raise SystemExit(f"dbt build failed (exit {proc.returncode})")
    summary = [line for line in proc.stdout.splitlines() if "PASS=" in line]
    return {"work_seconds": seconds, "dbt_summary": summary[-1].strip() if summary else ""}


def run_dagbag(dags: Path) -> dict[str, Any]:
    """One DagBag load of dags/ (Cosmos renders the dbt task group from the manifest here)."""
    started = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag

    imported = time.perf_counter()
    bag = DagBag(dag_folder=str(dags))
    done = time.perf_counter()
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    tasks = sum(len(d.tasks) for d in bag.dags.values())
    return {
        "work_seconds": done - imported,
        "import_airflow_seconds": imported - started,
        "dags": sorted(bag.dags),
        "tasks": tasks,
    }


def run_bronze(csv: Path, out: Path) -> dict[str, Any]:
    """The bronze stage: bronze.ingest_local (checksum, copy, line count) into a lake under `out`."""
    from include.sales_analyzer.bronze import ingest_local

    lake = _fresh(out) / "lake"
    started = time.perf_counter()
    result = ingest_local(csv, lake, INGEST_DATE)
    return {"work_seconds": time.perf_counter() - started, **result}


VARIANTS: dict[str, Callable[..., dict[str, Any]]] = {
    "bronze": run_bronze,
    "pipeline": run_pipeline_silver,
    "duckdb_bare": run_duckdb_bare,
    "duckdb_floor": run_duckdb_floor,
    "duckdb_floor_table": run_duckdb_floor_table,
    "duckdb_floor_unnumbered": run_duckdb_floor_unnumbered,
    "pandas": run_pandas,
    "polars": run_polars,
    "polars_sink": run_polars_sink,
}


def main(argv: list[str] | None = None) -> int:
    """Run one variant and print its JSON result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=[*VARIANTS, "quality", "gold", "dagbag"])
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--silver-glob")
    parser.add_argument("--record-lines", type=int, default=0)
    parser.add_argument("--quarantined", type=int, default=0)
    parser.add_argument("--memory-limit", default=None, help="gold: DuckDB memory_limit for dbt")
    parser.add_argument("--dags", type=Path, default=REPO_ROOT / "dags")
    parser.add_argument("--profile", action="store_true", help="pipeline: time each SQL statement")
    parser.add_argument(
        "--crlf-lines",
        type=int,
        default=None,
        help="pipeline, floors: the CRLF line ends bronze counted (else the file is read for a CR)",
    )
    args = parser.parse_args(argv)
    if args.variant == "quality":
        result = run_quality(args.silver_glob, args.out, args.record_lines, args.quarantined)
    elif args.variant == "gold":
        result = run_gold(args.silver_glob, args.out, args.memory_limit)
    elif args.variant == "dagbag":
        result = run_dagbag(args.dags)
    elif args.variant == "pipeline":
        crlf = None if args.crlf_lines is None else args.crlf_lines > 0
        result = run_pipeline_silver(args.csv.resolve(), args.out.resolve(), profile=args.profile, crlf=crlf)
    elif args.variant.startswith("duckdb_floor"):
        crlf = None if args.crlf_lines is None else args.crlf_lines > 0
        result = VARIANTS[args.variant](args.csv.resolve(), args.out.resolve(), crlf=crlf)
    else:
        result = VARIANTS[args.variant](args.csv.resolve(), args.out.resolve())
    result["pid"] = os.getpid()
    print("BENCH_RESULT " + json.dumps(result, default=str), flush=True)
    sys.stderr.flush()
    # Skip interpreter teardown: pyarrow's thread pool can abort at exit ("terminate called
    # without an active exception") after the work is done and measured.
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
