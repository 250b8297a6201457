"""What one aws-backend run costs: S3, Glue, Athena and the MWAA environment, from measured sizes.

Pure functions over list prices (us-east-1, constants below with the date they were taken) and
the figures a run already has: bronze bytes, silver bytes, rows and stage seconds. The run
report calls `estimate_run_cost` for its own run; docs/cost.md tabulates `estimate_for_rows`.
Every modelling assumption is a named constant here and is listed in docs/cost.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from include.sales_analyzer.config import default

# The model of the gold build's Athena queries (re-exported: tests and readers import them here).
from include.sales_analyzer.cost_athena import (  # noqa: F401
    ATHENA_MIN_BYTES_PER_QUERY,
    FCT_EXTRA_SHARE,
    GOLD_BUILD_QUERIES,
    MB,
    SILVER_COLUMN_SHARE,
    AthenaQuery,
    athena_query_bytes,
    fct_sales_bytes,
)

REGION = "us-east-1"
PRICES_AS_OF = "2026-11-25"
# Public on-demand list prices for us-east-1 (USD), as published on the AWS pricing pages
# (S3, Glue, Athena, MWAA) on PRICES_AS_OF. Re-check them before quoting a figure.
S3_STANDARD_GB_MONTH = 0.023  # first 50 TB; Intelligent-Tiering's frequent tier costs the same
S3_PUT_PER_1000 = 0.005  # PUT, COPY, POST, LIST
S3_GET_PER_1000 = 0.0004  # GET, SELECT and all other requests
S3_LIFECYCLE_TRANSITION_PER_1000 = 0.01  # into INTELLIGENT_TIERING (the lake's lifecycle rules)
S3_INT_MONITORING_PER_1000_OBJECTS = 0.0025  # per month, objects >= 128 KB only
GLUE_DPU_HOUR = 0.44  # Spark ETL jobs and crawlers alike
GLUE_JOB_MIN_SECONDS = 60  # Glue 2.0+: per-second billing, 1-minute minimum per job run
GLUE_CRAWLER_MIN_SECONDS = 600  # crawlers: per-second billing, 10-minute minimum per run
GLUE_DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0}
ATHENA_USD_PER_TB = 5.0
MWAA_ENVIRONMENT_HOUR = {
    # mw1.micro could not be confirmed from a primary source on PRICES_AS_OF (no network on the
    # machine this was written on): verify it on the MWAA pricing page before relying on it.
    "mw1.micro": 0.258,
    "mw1.small": 0.49,
    "mw1.medium": 0.74,
    "mw1.large": 0.99,
}
MWAA_PRICE_VERIFIED = {"mw1.micro": False, "mw1.small": True, "mw1.medium": False, "mw1.large": True}
TB = 1024**4  # AWS bills Athena and S3 in binary units
GB = 1024**3

# The settings' declared defaults (config.SETTINGS): a run passes its own settings' figures.
GLUE_WORKER_TYPE: str = default("glue_worker_type")
GLUE_WORKERS: int = default("glue_workers")
GLUE_TIMEOUT_MINUTES: int = default("glue_timeout_minutes")
DBT_ATHENA_THREADS: int = default("athena_dbt_threads")
# Configuration the model reads from mwaa/cloudformation/sales-analyzer.yaml.
ATHENA_BYTES_SCANNED_CUTOFF = 1024**3  # AthenaBytesScannedCutoff default: 1 GiB per query
ENVIRONMENT_CLASS = "mw1.micro"

# Measured by bench/run.py on the synthetic file (10 million rows, seed 42), 2026-11-25.
BRONZE_BYTES_PER_ROW = 210.0
SILVER_BYTES_PER_ROW = 21.2  # zstd, 48 files; 35 B/row at 100k rows (smaller dictionaries pay off less)
SILVER_PARTITIONS = 48  # order_year x order_month over the generator's four years
# Assumptions for the parts a local run cannot measure (replace with the first AWS run's figures).
GLUE_BYTES_PER_SECOND_PER_VCPU = 10 * MB  # Spark CSV parse + the contract's regex checks
GLUE_VCPU_PER_DPU = 4
GLUE_JOB_OVERHEAD_SECONDS = 30  # Spark session, listing, the commit of 48 partitions
GLUE_START_LATENCY_SECONDS = 60  # queued/provisioning: on the clock of the DAG run, not billed
CRAWLER_DPUS = 2
CRAWLER_SECONDS = 120  # a crawl of ~50 partitions: well under the 10-minute minimum
S3_UPLOAD_BYTES_PER_SECOND = 60 * MB  # from an MWAA worker to S3 in-region
S3_MULTIPART_CHUNK = 8 * MB  # boto3's default TransferConfig
S3_READ_SPLIT = 128 * MB  # Spark reads bronze in 128 MB splits
ATHENA_QUERY_LATENCY_SECONDS = 3.0  # queueing + planning per query
ATHENA_BYTES_PER_SECOND = 500 * MB
TASK_OVERHEAD_SECONDS = 5.0  # scheduling + start of one Airflow task on MWAA
# Run-report stages that run on the MWAA worker on either backend ("gold" is publish_gold; the
# bronze upload is modelled from its bytes, silver is the Glue job, dbt's queries are Athena's).
WORKER_STAGES = ("extract", "quality", "gold", "report")
PIPELINE_TASKS = 10  # sales_medallion's own tasks on the aws backend (a DagBag parse, 2026-12-01)
DBT_TASKS = 12 + 4  # Cosmos BUILD: a task per model, the 4 relationship tests detached (gold.py)


def glue_job_seconds(
    bronze_bytes: int, workers: int = GLUE_WORKERS, worker_type: str = GLUE_WORKER_TYPE
) -> float:
    """Modelled run time of the bronze-to-silver Glue job (one worker is the Spark driver)."""
    executors = max(1, workers - 1)
    vcpus = executors * GLUE_DPU_PER_WORKER[worker_type] * GLUE_VCPU_PER_DPU
    return GLUE_JOB_OVERHEAD_SECONDS + bronze_bytes / (GLUE_BYTES_PER_SECOND_PER_VCPU * vcpus)


def glue_workers_for_timeout(bronze_bytes: int, worker_type: str = GLUE_WORKER_TYPE) -> int:
    """The fewest workers for which the modelled job fits in the job's timeout."""
    workers = GLUE_WORKERS
    while glue_job_seconds(bronze_bytes, workers, worker_type) > GLUE_TIMEOUT_MINUTES * 60 and workers < 300:
        workers += 1
    return workers


def _item(service: str, item: str, quantity: float, unit: str, unit_usd: float, usd: float) -> dict[str, Any]:
    return {
        "service": service,
        "item": item,
        "quantity": quantity,
        "unit": unit,
        "unit_usd": unit_usd,
        "usd": usd,
    }


def estimate_run_cost(
    bronze_bytes: int,
    silver_bytes: int,
    rows: int,
    stage_seconds: Mapping[str, float | None],
    *,
    backend: str = "local",
    environment_class: str = ENVIRONMENT_CLASS,
    glue_workers: int = GLUE_WORKERS,
    glue_worker_type: str = GLUE_WORKER_TYPE,
    partitions: int = SILVER_PARTITIONS,
    use_crawler: bool = True,
    storage_months: float = 1.0,
    run_seconds: float | None = None,
) -> dict[str, Any]:
    """Estimate one aws-backend run's cost in USD, with line items, from a run's measured figures.

    `stage_seconds` is the run report's timings_seconds. With backend "aws" its "silver" entry is
    the Glue job's time; from a local run the Glue job, crawler and Athena times are modelled from
    the byte counts and only the worker stages are taken as measured. `run_seconds`, when given,
    is the DAG run's wall time and sets the MWAA share directly.
    """
    if bronze_bytes < 0 or silver_bytes < 0 or rows < 0:
        raise ValueError(f"sizes must be >= 0: bronze {bronze_bytes}, silver {silver_bytes}, rows {rows}")
    if environment_class not in MWAA_ENVIRONMENT_HOUR:
        raise ValueError(
            f"unknown MWAA environment class {environment_class!r}: {sorted(MWAA_ENVIRONMENT_HOUR)}"
        )
    if glue_worker_type not in GLUE_DPU_PER_WORKER:
        raise ValueError(f"unknown Glue worker type {glue_worker_type!r}: {sorted(GLUE_DPU_PER_WORKER)}")
    seconds = {k: float(v) for k, v in stage_seconds.items() if v is not None}
    warnings: list[str] = []
    items: list[dict[str, Any]] = []

    # Glue job: bronze -> silver
    measured_glue = backend == "aws" and "silver" in seconds
    glue_seconds = (
        seconds["silver"] if measured_glue else glue_job_seconds(bronze_bytes, glue_workers, glue_worker_type)
    )
    dpus = glue_workers * GLUE_DPU_PER_WORKER[glue_worker_type]
    billed_glue = max(GLUE_JOB_MIN_SECONDS, glue_seconds)
    glue_dpu_hours = dpus * billed_glue / 3600
    items.append(
        _item(
            "Glue",
            f"job bronze->silver, {glue_workers} x {glue_worker_type}, {billed_glue:.0f} s billed",
            glue_dpu_hours,
            "DPU-hour",
            GLUE_DPU_HOUR,
            glue_dpu_hours * GLUE_DPU_HOUR,
        )
    )
    if glue_seconds > GLUE_TIMEOUT_MINUTES * 60:
        need = glue_workers_for_timeout(bronze_bytes, glue_worker_type)
        warnings.append(
            f"the Glue job (~{glue_seconds / 60:.0f} min on {glue_workers} x {glue_worker_type}) exceeds its "
            f"{GLUE_TIMEOUT_MINUTES}-minute Timeout: raise NumberOfWorkers to about {need} "
            "(about the same DPU-hours, so about the same cost)"
        )

    # Glue crawler over silver/ and gold/
    crawler_seconds = 0.0
    if use_crawler:
        crawler_seconds = CRAWLER_SECONDS
        hours = CRAWLER_DPUS * max(GLUE_CRAWLER_MIN_SECONDS, crawler_seconds) / 3600
        items.append(
            _item(
                "Glue",
                "crawler run (10-minute minimum)",
                hours,
                "DPU-hour",
                GLUE_DPU_HOUR,
                hours * GLUE_DPU_HOUR,
            )
        )

    # Athena: the gold build's queries
    scanned = [athena_query_bytes(q, silver_bytes, rows) for q in GOLD_BUILD_QUERIES]
    athena_tb = sum(scanned) / TB
    items.append(
        _item(
            "Athena",
            f"{len(scanned)} gold-build queries, {sum(scanned) / GB:.3f} GiB billed",
            athena_tb,
            "TB scanned",
            ATHENA_USD_PER_TB,
            athena_tb * ATHENA_USD_PER_TB,
        )
    )
    over_cutoff = [
        q.name for q, b in zip(GOLD_BUILD_QUERIES, scanned, strict=True) if b > ATHENA_BYTES_SCANNED_CUTOFF
    ]
    if over_cutoff:
        warnings.append(
            f"{len(over_cutoff)} queries scan more than the workgroup's "
            f"{ATHENA_BYTES_SCANNED_CUTOFF / GB:.0f} GiB BytesScannedCutoffPerQuery and would be "
            f"cancelled (e.g. {', '.join(over_cutoff[:3])}): "
            "raise AthenaBytesScannedCutoff or build gold incrementally"
        )

    # S3 storage and requests
    gold_bytes = fct_sales_bytes(silver_bytes)
    stored = bronze_bytes + silver_bytes + gold_bytes
    items.append(
        _item(
            "S3",
            f"storage of this run's bronze + silver + gold for {storage_months:g} month",
            stored / GB * storage_months,
            "GB-month",
            S3_STANDARD_GB_MONTH,
            stored / GB * storage_months * S3_STANDARD_GB_MONTH,
        )
    )
    bronze_puts = (
        1 if bronze_bytes <= S3_MULTIPART_CHUNK else math.ceil(bronze_bytes / S3_MULTIPART_CHUNK) + 2
    )
    silver_objects = partitions + 2  # one file per partition (the job repartitions), quarantine, marker
    gold_objects = 9 * 2  # nine tables, a file or two each
    athena_results = 2 * len(scanned)  # result file + metadata per query
    puts = (
        bronze_puts + silver_objects + gold_objects + athena_results + partitions
    )  # + crawler/catalog LISTs
    items.append(
        _item(
            "S3",
            "PUT/COPY/POST/LIST requests",
            puts,
            "requests",
            S3_PUT_PER_1000 / 1000,
            puts * S3_PUT_PER_1000 / 1000,
        )
    )
    silver_reads = sum(
        silver_objects * (2 + len(q.columns)) for q in GOLD_BUILD_QUERIES if q.relation != "small"
    )  # footer + one ranged GET per column chunk read
    gets = math.ceil(bronze_bytes / S3_READ_SPLIT) + silver_reads + 2 * silver_objects + len(scanned)
    items.append(
        _item("S3", "GET requests", gets, "requests", S3_GET_PER_1000 / 1000, gets * S3_GET_PER_1000 / 1000)
    )
    # Only objects of 128 KB or more are transitioned and monitored.
    large = (silver_objects if silver_bytes / max(partitions, 1) >= 128 * 1024 else 0) + (
        1 if bronze_bytes >= 128 * 1024 else 0
    )
    items.append(
        _item(
            "S3",
            "lifecycle transitions to Intelligent-Tiering + 1 month monitoring (objects >= 128 KB)",
            large,
            "objects",
            (S3_LIFECYCLE_TRANSITION_PER_1000 + S3_INT_MONITORING_PER_1000_OBJECTS) / 1000,
            large * (S3_LIFECYCLE_TRANSITION_PER_1000 + S3_INT_MONITORING_PER_1000_OBJECTS) / 1000,
        )
    )

    # MWAA: the environment runs around the clock; this run's share is the hours it occupies.
    athena_seconds = (
        len(scanned) * ATHENA_QUERY_LATENCY_SECONDS + sum(scanned) / ATHENA_BYTES_PER_SECOND
    ) / DBT_ATHENA_THREADS
    overhead = (PIPELINE_TASKS + DBT_TASKS) * TASK_OVERHEAD_SECONDS
    if run_seconds is not None:
        run_seconds_source = "given (the DAG run's wall time)"
    elif backend == "aws":
        run_seconds = sum(seconds.values()) + crawler_seconds + athena_seconds + overhead
        run_seconds_source = "stage seconds as measured + crawler, Athena and task overhead modelled"
    else:
        worker = sum(v for k, v in seconds.items() if k in WORKER_STAGES)
        upload = bronze_bytes / S3_UPLOAD_BYTES_PER_SECOND
        run_seconds = (
            worker
            + upload
            + GLUE_START_LATENCY_SECONDS
            + glue_seconds
            + crawler_seconds
            + athena_seconds
            + overhead
        )
        run_seconds_source = "worker stages as measured locally + upload, Glue, crawler, Athena modelled"
    hourly = MWAA_ENVIRONMENT_HOUR[environment_class]
    items.append(
        _item(
            "MWAA",
            f"{environment_class} environment, this run's share ({run_seconds / 60:.1f} min)",
            run_seconds / 3600,
            "environment-hour",
            hourly,
            run_seconds / 3600 * hourly,
        )
    )
    if not MWAA_PRICE_VERIFIED[environment_class]:
        warnings.append(f"the {environment_class} hourly price is not verified against the AWS pricing page")

    for it in items:
        it["usd"] = round(it["usd"], 6)
    total = round(sum(it["usd"] for it in items), 6)
    return {
        "currency": "USD",
        "region": REGION,
        "prices_as_of": PRICES_AS_OF,
        "backend_measured": backend,
        "inputs": {
            "bronze_bytes": bronze_bytes,
            "silver_bytes": silver_bytes,
            "rows": rows,
            "stage_seconds": dict(seconds),
        },
        "line_items": items,
        "total_usd": total,
        "usd_per_million_rows": round(total / rows * 1e6, 6) if rows else None,
        "context": {
            "glue_job_seconds": round(glue_seconds, 1),
            "glue_job_seconds_source": "measured" if measured_glue else "modelled",
            "athena_queries": len(scanned),
            "athena_bytes_billed": sum(scanned),
            "gold_bytes_estimated": gold_bytes,
            "run_seconds_on_mwaa": round(run_seconds, 1),
            "run_seconds_source": run_seconds_source,
            "mwaa_environment_day_usd": round(hourly * 24, 2),
            "mwaa_environment_month_usd": round(hourly * 730, 2),
        },
        "warnings": warnings,
    }


def estimate_for_rows(rows: int, **kwargs: Any) -> dict[str, Any]:
    """Estimate a run of `rows` rows from the bytes per row measured by the benchmark."""
    bronze = int(rows * BRONZE_BYTES_PER_ROW)
    silver = int(rows * SILVER_BYTES_PER_ROW)
    # Worker-side stages that stay on MWAA: extract (download), the gate's SQL, publish, report.
    stages = {
        "extract": 5 + bronze / (100 * MB),
        "quality": 45 + rows / 2_000_000,
        "gold": 5.0,
        "report": 2.0,
    }
    return estimate_run_cost(bronze, silver, rows, stages, **kwargs)


def markdown_table(rows_list: tuple[int, ...] = (10_000, 10_000_000, 1_000_000_000)) -> str:
    """The per-run estimate at each size as a Markdown table (docs/cost.md)."""
    results = {n: estimate_for_rows(n) for n in rows_list}
    small = {n: estimate_for_rows(n, environment_class="mw1.small") for n in rows_list}
    head = "| line item | " + " | ".join(f"{n:,} rows" for n in rows_list) + " |"
    lines = [head, "|---|" + "---:|" * len(rows_list)]
    first = results[rows_list[0]]["line_items"]
    for i, item in enumerate(first):
        label = f"{item['service']}: " + item["item"].split(",")[0].split(" (")[0]
        cells = []
        for n in rows_list:
            it = results[n]["line_items"][i]
            cells.append(f"${it['usd']:.4f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| **total (mw1.micro)** | "
        + " | ".join(f"**${results[n]['total_usd']:.2f}**" for n in rows_list)
        + " |"
    )
    lines.append(
        "| total with mw1.small | " + " | ".join(f"${small[n]['total_usd']:.2f}" for n in rows_list) + " |"
    )
    lines.append(
        "| USD per million rows | "
        + " | ".join(f"${results[n]['usd_per_million_rows']:.4f}" for n in rows_list)
        + " |"
    )
    details = [
        ("bronze (CSV) bytes", lambda r: f"{r['inputs']['bronze_bytes'] / GB:,.3f} GiB"),
        ("silver (Parquet) bytes", lambda r: f"{r['inputs']['silver_bytes'] / GB:,.3f} GiB"),
        ("Glue job seconds (modelled)", lambda r: f"{r['context']['glue_job_seconds']:,.0f}"),
        ("Athena GiB billed", lambda r: f"{r['context']['athena_bytes_billed'] / GB:,.2f}"),
        ("run time on MWAA (modelled)", lambda r: f"{r['context']['run_seconds_on_mwaa'] / 60:,.1f} min"),
    ]
    for label, get in details:
        lines.append(f"| _{label}_ | " + " | ".join(get(results[n]) for n in rows_list) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys

    if sys.argv[1:] == ["--json"]:
        print(json.dumps({n: estimate_for_rows(n) for n in (10_000, 10_000_000, 1_000_000_000)}, indent=2))
    else:
        print(markdown_table())
