"""Local report stage: run_report.json, runs/<run_key>.json and a line of etl_pipeline.log."""

from __future__ import annotations

import json
import logging
from typing import Any

from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.files import append_json_line, write_json
from include.sales_analyzer.local.layout import Layout
from include.sales_analyzer.report import RunContext, build_run_report, history_line, stage_timings

log = logging.getLogger(__name__)


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
    """Write run_report.json (latest), runs/<key>.json, and one line of etl_pipeline.log.

    Returns the report with, under "report", the path of runs/<key>.json (the task's link).
    """
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
    return {"report": str(lay.run_report_of(run.run_key)), **report}
