"""Every local stage by name, in pipeline order (tests, benchmarks and the quality operator use it)."""

from __future__ import annotations

from include.sales_analyzer.local.bronze import upload_bronze
from include.sales_analyzer.local.gold import publish_gold
from include.sales_analyzer.local.quality import validate_silver
from include.sales_analyzer.local.report import write_run_report
from include.sales_analyzer.local.silver import (
    discard_unpublished_silver,
    publish_silver,
    run_bronze_to_silver,
)
from include.sales_analyzer.pipeline import extract

__all__ = [
    "discard_unpublished_silver",
    "extract",
    "publish_gold",
    "publish_silver",
    "run_bronze_to_silver",
    "upload_bronze",
    "validate_silver",
    "write_run_report",
]
