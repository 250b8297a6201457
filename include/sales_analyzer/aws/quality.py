"""aws quality: the shared Great Expectations gate on the silver version the Glue job wrote."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from include.sales_analyzer.aws.clients import AwsStepFailed, mask_aws_identity, put_json, s3_client, timed
from include.sales_analyzer.aws.layout import Layout
from include.sales_analyzer.aws.silver import download_parquet, silver_counts
from include.sales_analyzer.config import Settings, get_settings


def validate_silver(
    bronze: dict[str, Any],
    run: dict[str, Any],
    max_quarantine_fraction: float | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The same Great Expectations suite as locally, on the silver version the Glue job wrote.

    The Parquet is downloaded and checked with DuckDB, not queried where it lies: DuckDB's
    httpfs extension cannot be installed offline (MWAA workers in private subnets, these
    tests), and Athena would cost a query per expectation (and moto's Athena returns no rows).
    """
    from include.sales_analyzer.quality import raise_if_failed
    from include.sales_analyzer.quality import validate_silver as gx_validate

    started = time.perf_counter()
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), s3_client(settings)
    with tempfile.TemporaryDirectory() as tmp:
        silver_dir, quarantine_dir = Path(tmp) / "silver", Path(tmp) / "quarantine"
        silver_files = download_parquet(s3, lay.bucket, run["silver_prefix"], silver_dir)
        if not silver_files:
            raise AwsStepFailed(
                f"{lay.uri(run['silver_prefix'])}: the Glue run wrote no silver Parquet; "
                "expected partition folders order_year=/order_month= with .parquet files"
            )
        download_parquet(s3, lay.bucket, run["quarantine_staging_prefix"], quarantine_dir)
        counts = silver_counts(silver_dir, quarantine_dir)
        counts["silver_bytes"] = sum(f.stat().st_size for f in silver_files)
        record_lines = counts["silver_rows"] + counts["quarantined_lines"]
        report = gx_validate(
            str(silver_dir / "**" / "*.parquet"),
            record_lines=record_lines,
            quarantined_lines=counts["quarantined_lines"],
            work_dir=Path(tmp) / "gx",
            docs_dir=Path(tmp) / "data_docs",
            max_quarantine_fraction=max_quarantine_fraction,
            memory_limit=settings.duckdb_memory_limit,
        )
        docs_prefix = lay.report(f"quality/{run['run_key']}/data_docs/")
        for path in sorted((Path(tmp) / "data_docs").rglob("*")):
            if path.is_file():
                s3.upload_file(
                    str(path), lay.bucket, docs_prefix + path.relative_to(Path(tmp) / "data_docs").as_posix()
                )
    report["run_key"] = run["run_key"]
    report["data_docs"] = lay.uri(docs_prefix + "index.html")
    report_uri = put_json(s3, lay.bucket, lay.report(f"quality/{run['run_key']}/quality_report.json"), report)
    non_record = bronze["lines"] - record_lines
    # The Glue job fails unless its own line count reconciles; this checks what it left in S3.
    conservation = {
        "bronze_lines": bronze["lines"],
        "silver_rows": counts["silver_rows"],
        "quarantined_lines": counts["quarantined_lines"],
        "non_record_lines": non_record,
        "holds": non_record >= 1,
    }
    raise_if_failed(report)
    summary = {k: report[k] for k in ("success", "evaluated", "failed", "quarantine_fraction", "data_docs")}
    return timed(
        {
            **summary,
            "report": report_uri,
            "expectations": [
                {k: x[k] for k in ("expectation", "column", "success", "observed")}
                for x in report["expectations"]
            ],
            "counts": {**counts, "record_lines": record_lines, "conservation": conservation},
        },
        started,
    )
