"""The extract stage, shared by both backends: make the input file on the worker that runs it.

The local backend's other stages are in include/sales_analyzer/local/, the aws backend's in
include/sales_analyzer/aws/; both call `extract` (aws then lands the file in S3 in the same task).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from include.sales_analyzer.bronze import check_allowed_path
from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.errors import DeterministicError, InputFileError
from include.sales_analyzer.local.layout import Layout
from include.sales_analyzer.report import finish_stage

log = logging.getLogger(__name__)

SOURCES = ("synthetic", "kaggle", "file")


def extract(
    source: str,
    *,
    rows: int = 9800,
    seed: int = 42,
    damaged: bool = False,
    source_path: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Produce the input file: generated, downloaded from Kaggle, or the user's own."""
    started = time.perf_counter()
    settings = settings or get_settings()
    landing = Layout.of(settings).landing
    if source == "synthetic":
        from include.sales_analyzer.extract.synthetic import generate_sales_csv

        name = f"sales_synthetic_{rows}r_seed{seed}{'_damaged' if damaged else ''}.csv"
        generated = generate_sales_csv(landing / "synthetic" / name, rows=rows, seed=seed, damaged=damaged)
        result = {
            "source": "synthetic",
            "path": str(generated.path),
            "description": f"seeded synthetic generator: {rows} rows, seed {seed}"
            + (", damaged-file quirks injected" if damaged else ""),
            "rows": rows,
            "seed": seed,
            "damaged": damaged,
        }
    elif source == "kaggle":
        from include.sales_analyzer.extract.kaggle import download_kaggle_dataset, kaggle_credentials

        username, key = kaggle_credentials()
        path = download_kaggle_dataset(landing / "kaggle", username=username, key=key)
        result = {
            "source": "kaggle",
            "path": str(path),
            "description": "Kaggle dataset rohitsahoo/sales-forecasting, file train.csv",
        }
    elif source == "file":
        if not source_path:
            raise InputFileError("(none)", "source 'file' needs a path", expected="Param source_path")
        path = check_allowed_path(Path(source_path), settings.allowed_input_roots)
        result = {"source": "file", "path": str(path), "description": f"user file {path}"}
    else:
        raise DeterministicError(f"unknown source {source!r}: expected one of {', '.join(SOURCES)}")
    log.info("extracted %s -> %s", result["description"], result["path"])
    return finish_stage(result, started)
