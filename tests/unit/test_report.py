"""What both backends share about a run: run context, conservation, the run report's sections."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from include.sales_analyzer.errors import ConservationError
from include.sales_analyzer.report import (
    RunContext,
    build_run_report,
    check_conservation,
    finish_stage,
    history_line,
    run_context,
    run_key,
)

COUNTS = {
    "lines_read": 10,
    "header_lines": 1,
    "blank_lines": 2,
    "record_lines": 7,
    "silver_rows": 5,
    "quarantined_lines": 2,
}


def test_run_key_keeps_only_file_name_characters() -> None:
    assert run_key("2026-01-15", "manual__2026-01-15T00:00:00+00:00") == (
        "2026-01-15_manual__2026-01-15T00_00_00_00_00"
    )
    assert run_key("2026-01-15", "a/b c") == "2026-01-15_a_b_c"
    assert len(run_key("2026-01-15", "x" * 200)) == len("2026-01-15_") + 80


def test_run_context_from_an_airflow_context() -> None:
    scheduled = {"logical_date": datetime(2026, 1, 15, 6), "run_id": "scheduled__2026-01-15", "dag_run": None}
    assert run_context(scheduled) == RunContext(
        "2026-01-15", "scheduled__2026-01-15", "2026-01-15_scheduled__2026-01-15"
    )
    # a manual run in Airflow 3 may have no logical date: the day it ran for is its run_after
    dag_run = SimpleNamespace(run_after=datetime(2026, 2, 3))
    manual = {"logical_date": None, "run_id": "m1", "dag_run": dag_run}
    assert run_context(manual) == RunContext.of("2026-02-03", "m1")
    assert run_context(manual).run_key == "2026-02-03_m1"


def test_finish_stage_outside_airflow_has_no_try_number() -> None:
    result = finish_stage({"path": "x"}, started=0.0)
    assert result["path"] == "x"
    assert result["try_number"] is None
    assert result["seconds"] > 0
    datetime.fromisoformat(result["finished_at"])


def test_conservation_holds_and_names_its_figures() -> None:
    assert check_conservation(10, COUNTS, "x.csv") == {
        "bronze_lines": 10,
        "silver_rows": 5,
        "quarantined_lines": 2,
        "non_record_lines": 3,
        "holds": True,
    }


@pytest.mark.parametrize(
    ("bronze_lines", "counts", "message"),
    [
        (11, COUNTS, "x.csv: 11 lines in bronze but 10 accounted for"),
        # every line accounted for, but the engine read one line fewer than bronze holds
        (10, {**COUNTS, "lines_read": 9}, "the engine read 9"),
        (10, {**COUNTS, "silver_rows": 4}, "10 lines in bronze but 9 accounted for (silver 4 + quarantine 2"),
    ],
)
def test_conservation_violation_is_an_error(bronze_lines: int, counts: dict, message: str) -> None:
    with pytest.raises(ConservationError, match=message.replace("(", r"\(").replace("+", r"\+")):
        check_conservation(bronze_lines, counts, "x.csv")


def _report(backend: str = "local", **kwargs: object) -> dict:
    counts = {
        **COUNTS,
        "conservation": check_conservation(10, COUNTS, "x.csv"),
        "quarantine_by_reason": {"too_few_fields": 2},
        "quarantine_revenue": "12.5000",
        "quarantine_lines_with_revenue": 1,
        "repairs_by_rule": {"zip_leading_zero": 3},
        "warnings_by_rule": {"pattern_mismatch": 1, "nbsp": 2},
    }
    stages = {
        "extract": {"source": "synthetic", "seconds": 1.5, "try_number": 1},
        "bronze": {"lines": 10, "sha256": "ab", "bytes": 99, "seconds": 0.5, "try_number": 2},
        "silver": {**counts, "seconds": 3.0, "try_number": None},
        "gold": {"tables": {"yearly": 4}},
    }
    quality = {
        "success": True,
        "evaluated": 2,
        "failed": 0,
        "warnings": 1,
        "data_docs": "docs/index.html",
        "kwargs": "left out",
        "expectations": [{"expectation": "e", "column": "c", "success": True, "observed": 1, "kwargs": {}}],
    }
    return build_run_report(
        RunContext.of("2026-01-15", "r1"),
        backend=backend,
        params={"rows": 10},
        stages=stages,
        counts=counts,
        quality=quality,
        outputs={"quarantine": "q.parquet", "repairs": "r.parquet"},
        cost={"total_usd": 0.01},
        **kwargs,
    )


def test_run_report_sections() -> None:
    report = _report()
    assert (report["run_id"], report["run_key"], report["backend"]) == ("r1", "2026-01-15_r1", "local")
    assert report["rows"] == {
        "bronze_lines": 10,
        "silver": 5,
        "quarantine": 2,
        "non_record_lines": 3,
        "gold_tables": {"yearly": 4},
    }
    assert report["quarantine"] == {
        "lines": 2,
        "revenue": "12.5000",
        "lines_with_sales": 1,
        "by_reason": {"too_few_fields": 2},
        "file": "q.parquet",
    }
    assert report["repairs"] == {"total": 3, "by_rule": {"zip_leading_zero": 3}, "file": "r.parquet"}
    assert report["warnings"]["total"] == 3
    assert report["quality"] == {
        "success": True,
        "evaluated": 2,
        "failed": 0,
        "warnings": 1,
        "data_docs": "docs/index.html",
        "expectations": [
            {"expectation": "e", "column": "c", "success": True, "severity": None, "observed": 1}
        ],
    }
    assert report["timings_seconds"] == {"extract": 1.5, "bronze": 0.5, "silver": 3.0}
    # try 2 of bronze is one retry; a stage run outside Airflow (no try number) counts none
    assert report["reliability"] == {
        "retries": {"extract": 0, "bronze": 1, "silver": 0, "gold": 0},
        "quarantine_by_reason": {"too_few_fields": 2},
        "conservation_holds": True,
    }
    assert report["cost_estimate_aws"] == {"total_usd": 0.01}
    assert "cost_usd" not in report


def test_aws_report_has_its_cost_section_and_extra_sections() -> None:
    report = _report("aws", extra={"glue": {"run_id": "jr_1"}}, reliability={"glue_attempt": 0})
    assert report["cost_usd"] == {"total_usd": 0.01}
    assert "cost_estimate_aws" not in report
    assert report["glue"] == {"run_id": "jr_1"}
    assert report["reliability"]["glue_attempt"] == 0
    assert report["reliability"]["conservation_holds"] is True


def test_history_line() -> None:
    line = history_line(_report())
    assert line == {
        "at": line["at"],
        "run_id": "r1",
        "source": "synthetic",
        "sha256": "ab",
        "bronze_lines": 10,
        "silver_rows": 5,
        "quarantined": 2,
        "quarantine_revenue": "12.5000",
        "repairs": 3,
        "warnings": 3,
        "quality_success": True,
        "conservation_holds": True,
    }
