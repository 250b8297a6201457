"""Local quality stage: the Great Expectations gate on the new silver version."""

from __future__ import annotations

import time
from typing import Any

from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.files import write_json
from include.sales_analyzer.local.layout import Layout
from include.sales_analyzer.report import finish_stage


def validate_silver(
    silver: dict[str, Any], max_quarantine_fraction: float | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Run the Great Expectations gate on the new silver version; fail the run if unmet."""
    from include.sales_analyzer.quality import raise_if_failed, validate_counts

    started = time.perf_counter()
    settings = settings or get_settings()
    lay = Layout.of(settings)
    report = validate_counts(
        silver["silver_glob"],
        silver,  # summarize's counts, as the aws stage passes the Glue job's
        work_dir=lay.warehouse_dir,
        docs_dir=lay.data_docs_dir,
        max_quarantine_fraction=max_quarantine_fraction,
        memory_limit=settings.duckdb_memory_limit,
    )
    report["run_key"] = silver["run_key"]
    write_json(lay.quality_report, report)
    raise_if_failed(report)
    keys = ("success", "evaluated", "failed", "warnings", "quarantine_fraction", "data_docs")
    return finish_stage({k: report[k] for k in keys}, started)
