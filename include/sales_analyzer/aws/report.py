"""aws report: the run report in the lake bucket, with the Glue run and its cost."""

from __future__ import annotations

import logging
from typing import Any

from include.sales_analyzer.aws.clients import mask_aws_identity, put_json, s3_client
from include.sales_analyzer.aws.layout import Layout
from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.contract import load_contract
from include.sales_analyzer.report import RunContext, build_run_report, stage_timings

log = logging.getLogger(__name__)


def _glue_run(settings: Settings, run_id: str | None) -> dict[str, Any]:
    if not run_id:
        return {}
    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

    from include.sales_analyzer import cost

    job_run = (
        GlueJobHook(aws_conn_id=settings.aws_conn_id)
        .conn.get_job_run(JobName=settings.glue_job_name, RunId=run_id)
        .get("JobRun", {})
    )
    seconds = int(job_run.get("ExecutionTime") or 0)
    workers = job_run.get("NumberOfWorkers") or settings.glue_workers
    dpu = cost.GLUE_DPU_PER_WORKER.get(job_run.get("WorkerType") or settings.glue_worker_type, 1.0)
    billed = max(seconds, cost.GLUE_JOB_MIN_SECONDS)
    return {
        "job_name": settings.glue_job_name,
        "run_id": run_id,
        "state": job_run.get("JobRunState"),
        "attempt": job_run.get("Attempt"),
        "execution_seconds": seconds,
        "usd": round(billed / 3600 * workers * dpu * cost.GLUE_DPU_HOUR, 4),
    }


def write_run_report(
    run_context: RunContext,
    *,
    run: dict[str, Any],
    params: dict[str, Any],
    stages: dict[str, dict[str, Any]],
    glue_run_id: str | None,
    gold: dict[str, Any],
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Write reports/runs/<key>.json and reports/run_report.json (latest) to the lake bucket.

    The sections are report.build_run_report's, as locally; the silver counts are the Glue
    job's (carried by the quality stage with the conservation it checked), the BI views are
    publish_gold's (`gold`), and the aws-only section is the Glue run with its cost.
    """
    from include.sales_analyzer import cost

    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), s3_client(settings)
    quality = stages.get("quality", {})
    counts = quality.get("counts", {})
    glue = _glue_run(settings, glue_run_id)
    timings = stage_timings(stages)
    estimate = cost.estimate_run_cost(
        stages.get("bronze", {}).get("bytes") or 0,
        counts.get("silver_bytes") or 0,
        counts.get("silver_rows") or 0,
        {**timings, "silver": glue.get("execution_seconds")},
        backend="aws",
        glue_workers=settings.glue_workers,
        glue_worker_type=settings.glue_worker_type,
        partitions=counts.get("silver_partitions") or cost.SILVER_PARTITIONS,
        use_crawler=settings.catalog_mode == "crawler",
    )
    outputs = {
        "bronze": stages.get("bronze", {}).get("uri"),
        "silver_table": f"{settings.glue_database}.{load_contract().name}",
        "silver": lay.uri(run["silver_prefix"]),
        "quarantine": lay.uri(lay.quarantine_dir(run["ingest_date"])),
        "repairs": lay.uri(lay.repairs_dir(run["ingest_date"])),
        "quality_report": quality.get("report"),
        "gold_database": settings.gold_database,
        "bi_views": list(gold["bi_views"]),
    }
    report = build_run_report(
        run_context,
        backend="aws",
        params=params,
        stages=stages,
        counts=counts,
        quality=quality,
        outputs=outputs,
        # Measured: this run's Glue job at list prices. Modelled: the whole run (gold-build
        # queries, S3, MWAA share) by include/sales_analyzer/cost.py.
        cost={"glue_job": glue.get("usd"), "estimate": estimate},
        extra={"glue": glue},
        reliability={"glue_attempt": glue.get("attempt")},
    )
    uri = put_json(s3, lay.bucket, lay.report(f"runs/{run_context.run_key}.json"), report)
    put_json(s3, lay.bucket, lay.report("run_report.json"), report)
    log.info("run report: %s", uri)
    return {"report": uri, **report}
