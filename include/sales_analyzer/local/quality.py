"""Local quality stage: the Great Expectations gate on the new silver version."""

from __future__ import annotations

import shutil
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
    from include.sales_analyzer.quality import quarantine_examples, raise_if_failed, validate_counts

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
    examples, kept = [], None
    if not report["success"] and silver.get("quarantined_lines"):
        # the run's quarantine is published only when the gate passes, and its staging area goes:
        # a copy stays for the person who reads why the gate failed
        kept = lay.failed_run_quarantine
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(silver["quarantine_tmp"], kept)
        examples = quarantine_examples([kept])
    raise_if_failed(report, examples, str(kept) if kept else None)
    keys = ("success", "evaluated", "failed", "warnings", "quarantine_fraction", "data_docs")
    return finish_stage({k: report[k] for k in keys}, started)
