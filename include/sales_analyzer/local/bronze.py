"""Local bronze stage: land the extracted file under lake/bronze/, byte for byte."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from include.sales_analyzer.bronze import ingest_local
from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.local.layout import Layout
from include.sales_analyzer.report import finish_stage


def upload_bronze(
    extracted: dict[str, Any], ingest_date: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Land the extracted file in bronze for this ingest date."""
    started = time.perf_counter()
    settings = settings or get_settings()
    result = ingest_local(Path(extracted["path"]), Layout.of(settings).lake, ingest_date)
    return finish_stage(result, started)
