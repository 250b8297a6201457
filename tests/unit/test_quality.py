"""The GX gate on a small silver made by the real silver SQL: its DuckDB memory limit is applied."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from include.sales_analyzer import quality
from tests.silver_helpers import HEADER, good, run_silver


@pytest.fixture(scope="module")
def silver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("silver")
    result = run_silver(tmp, [HEADER, good(1), good(2, sales="10.5"), good(3, sales="0.01")])
    assert result["counts"]["silver_rows"] == 3
    return tmp / "lake"


def test_gate_passes_under_a_small_memory_limit(silver: Path, tmp_path: Path) -> None:
    report = quality.validate_silver(
        f"{silver}/silver/**/*.parquet",
        record_lines=3,
        quarantined_lines=0,
        work_dir=tmp_path / "gx",
        docs_dir=tmp_path / "docs",
        memory_limit="64MB",
    )
    assert report["success"] is True
    assert report["failed"] == 0


def test_memory_limit_reaches_duckdb(silver: Path, tmp_path: Path) -> None:
    """A limit DuckDB cannot read fails the gate with DuckDB's own message, not silently."""
    with pytest.raises(duckdb.Error, match="Memory must have a number"):
        quality.validate_silver(
            f"{silver}/silver/**/*.parquet",
            record_lines=3,
            quarantined_lines=0,
            work_dir=tmp_path / "gx",
            docs_dir=tmp_path / "docs",
            memory_limit="twelve parsecs",
        )
