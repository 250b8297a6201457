"""aws quality: the shared Great Expectations gate on the silver version the Glue job wrote."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from include.sales_analyzer.aws.clients import AwsStepFailed, mask_aws_identity, put_json, s3_client
from include.sales_analyzer.aws.layout import Layout
from include.sales_analyzer.aws.silver import download_parquet, parquet_bytes, read_glue_counts
from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.report import check_conservation, finish_stage


def validate_silver(
    bronze: dict[str, Any],
    run: dict[str, Any],
    max_quarantine_fraction: float | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The same Great Expectations gate as locally, on the silver version the Glue job wrote.

    The counts are the Glue job's own (the JSON beside its output), checked by the conservation
    law both backends share; only the silver rows are downloaded, for the suite. They are checked
    with DuckDB, not queried where they lie: DuckDB's httpfs extension cannot be installed offline
    (MWAA workers in private subnets, these tests), and Athena would cost a query per expectation
    (and moto's Athena returns no rows).
    """
    from include.sales_analyzer.quality import raise_if_failed, validate_counts

    started = time.perf_counter()
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), s3_client(settings)
    counts = read_glue_counts(s3, lay, run["run_key"])
    conservation = check_conservation(bronze["lines"], counts, bronze["uri"])
    with tempfile.TemporaryDirectory() as tmp:
        silver_dir = Path(tmp) / "silver"
        # No silver rows (every line quarantined): the suite runs on an empty table, as locally.
        if counts["silver_rows"] and not download_parquet(s3, lay.bucket, run["silver_prefix"], silver_dir):
            raise AwsStepFailed(
                f"{lay.uri(run['silver_prefix'])}: the Glue run counted {counts['silver_rows']:,} "
                "silver rows but wrote no silver Parquet; expected partition folders "
                "order_year=/order_month= with .parquet files"
            )
        report = validate_counts(
            str(silver_dir / "**" / "*.parquet"),
            counts,
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
    examples, kept = [], None
    if not report["success"] and counts.get("quarantined_lines"):
        examples, kept = _keep_failed_quarantine(s3, lay, run)
    raise_if_failed(report, examples, kept)
    keys = ("success", "evaluated", "failed", "warnings", "quarantine_fraction", "data_docs")
    return finish_stage(
        {
            **{k: report[k] for k in keys},
            "report": report_uri,
            "expectations": [
                {k: x[k] for k in ("expectation", "column", "success", "severity", "observed")}
                for x in report["expectations"]
            ],
            "counts": {
                **counts,
                "silver_bytes": parquet_bytes(s3, lay, run["silver_prefix"]),
                "conservation": conservation,
            },
        },
        started,
    )


def _keep_failed_quarantine(s3: Any, lay: Layout, run: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """Copy a failed run's quarantine beside its quality report (the run's teardown deletes its
    quarantine staging) and read the first line of each main reason, for the failure message."""
    from include.sales_analyzer.quality import quarantine_examples

    kept = lay.report(f"quality/{run['run_key']}/quarantine/")
    with tempfile.TemporaryDirectory() as tmp:
        files = download_parquet(s3, lay.bucket, run["quarantine_staging_prefix"], Path(tmp))
        for path in files:
            s3.upload_file(str(path), lay.bucket, kept + path.relative_to(tmp).as_posix())
        examples = quarantine_examples(files)
    return examples, lay.uri(kept)
