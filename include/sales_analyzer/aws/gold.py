"""aws gold: publish_gold names the BI views dbt-athena built in the gold database.

The marts and the BI views (include/dbt/sales_analytics/models/bi/, materialized as views) are
built by the Cosmos build_gold tasks with dbt-athena; publish_gold makes no AWS call. It lists the
BI views from the manifest Cosmos renders, for the run report, and carries the gold asset.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.dbt_project import MANIFEST
from include.sales_analyzer.errors import PipelineError
from include.sales_analyzer.report import finish_stage

log = logging.getLogger(__name__)
BI_FOLDER = "bi"  # models/bi/ of the dbt project


def bi_views(manifest: Path = MANIFEST) -> list[str]:
    """The BI views' names: the models under models/bi/ that dbt materializes as views."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    return sorted(
        n["name"]
        for n in nodes
        if n["resource_type"] == "model"
        and n["config"].get("materialized") == "view"
        and n["fqn"][1:2] == [BI_FOLDER]
    )


def publish_gold(settings: Settings | None = None, manifest: Path = MANIFEST) -> dict[str, Any]:
    """publish_gold: the gold database and the BI views in it (database.view), from the manifest."""
    started = time.perf_counter()
    settings = settings or get_settings()
    views = [f"{settings.gold_database}.{name}" for name in bi_views(manifest)]
    if not views:
        raise PipelineError(f"no BI views (models/{BI_FOLDER}/) in {manifest}: rebuild it, `make manifest`")
    log.info("gold published: %s", ", ".join(views))
    return finish_stage({"database": settings.gold_database, "bi_views": views}, started)
