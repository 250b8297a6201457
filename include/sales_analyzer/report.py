"""What both backends share about a run: its context, stage results, conservation, the run report.

The local stages (include/sales_analyzer/local/) and the aws stages use these, so a stage
result, the conservation law and the run report's sections are written once:

- `run_context()` -> `RunContext(ingest_date, run_id, run_key)` of the running DAG run;
- `finish_stage(result, started)` stamps a stage's result with its seconds, Airflow try number
  and finish time (the run report's timings and retries are read from these);
- `check_conservation(bronze_lines, counts, source)` checks the "nothing lost" law on the
  silver counts both engines produce (DuckDB's `silver.summarize`, the Glue job's counts);
- `build_run_report(run, backend=..., params=..., stages=..., counts=..., quality=...,
  outputs=..., cost=...)` builds run_report.json's sections; each backend writes it where it
  keeps reports.

Stage results stay dicts rather than dataclasses: each becomes a section of run_report.json
as it is, on both backends, and a dataclass XCom is read back only in a process that
allow-listed its class (`[core] allowed_deserialization_classes` is `airflow.*` by default;
airflow.sdk.serde.allow_class does it per process) and comes back as a dict when nested. The
dicts are built in one place per stage instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from include.sales_analyzer.errors import ConservationError

# The section each backend's cost figures go under (the names the app and readers know).
COST_SECTION = {"local": "cost_estimate_aws", "aws": "cost_usd"}
QUALITY_KEYS = ("success", "evaluated", "failed", "warnings", "data_docs")
EXPECTATION_KEYS = ("expectation", "column", "success", "severity", "observed")


@dataclass(frozen=True)
class RunContext:
    """The DAG run a stage works for: its ingest date, Airflow run id and file-system-safe key."""

    ingest_date: str  # YYYY-MM-DD: the bronze, quarantine and repairs partition
    run_id: str  # Airflow's run id
    run_key: str  # names this run's silver version, staging area and report

    @classmethod
    def of(cls, ingest_date: str, run_id: str) -> RunContext:
        """The context of run `run_id` for `ingest_date` (tests, benchmarks, the CLI)."""
        return cls(ingest_date, run_id, run_key(ingest_date, run_id))


def run_key(ingest_date: str, run_id: str) -> str:
    """A file-system-safe name for one run's versions and reports."""
    return f"{ingest_date}_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)[:80]


def run_context(context: Mapping[str, Any] | None = None) -> RunContext:
    """The RunContext of the running DAG run, from its Airflow context (the current one by default)."""
    if context is None:
        from airflow.sdk import get_current_context

        context = get_current_context()
    # A manual run may have no logical date (Airflow 3): its run_after is the day it ran for.
    when = context.get("logical_date") or context["dag_run"].run_after
    return RunContext.of(when.strftime("%Y-%m-%d"), context["run_id"])


def try_number() -> int | None:
    """The Airflow try number of the running task, or None outside Airflow."""
    try:
        from airflow.sdk import get_current_context

        return int(get_current_context()["ti"].try_number)
    except Exception:  # not inside a task: called from a test, a benchmark or the CLI
        return None


def finish_stage(result: dict[str, Any], started: float) -> dict[str, Any]:
    """Stamp a stage's result with its seconds (since `started`, a perf_counter), try number and end."""
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["try_number"] = try_number()
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def check_conservation(bronze_lines: int, counts: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Lines in bronze must equal silver rows + quarantined lines + non-record lines.

    `counts` holds silver_rows, quarantined_lines, header_lines, blank_lines and lines_read
    (the lines the engine read), as both engines count them. Raises ConservationError naming
    `source` and every figure when the law does not hold; returns the law's figures.
    """
    non_record = counts["header_lines"] + counts["blank_lines"]
    accounted = counts["silver_rows"] + counts["quarantined_lines"] + non_record
    law = {
        "bronze_lines": bronze_lines,
        "silver_rows": counts["silver_rows"],
        "quarantined_lines": counts["quarantined_lines"],
        "non_record_lines": non_record,
        "holds": bronze_lines == accounted == counts["lines_read"],
    }
    if not law["holds"]:
        raise ConservationError(
            f"{source}: {bronze_lines} lines in bronze but {accounted} accounted for "
            f"(silver {counts['silver_rows']} + quarantine {counts['quarantined_lines']} + "
            f"header/blank {non_record}; the engine read {counts['lines_read']})"
        )
    return law


def stage_timings(stages: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Seconds of each stage that was timed."""
    return {name: s.get("seconds") for name, s in stages.items() if "seconds" in s}


def _total(by_rule: Mapping[str, int] | None) -> int:
    return sum((by_rule or {}).values())


def build_run_report(
    run: RunContext,
    *,
    backend: str,
    params: Mapping[str, Any],
    stages: Mapping[str, Mapping[str, Any]],
    counts: Mapping[str, Any],
    quality: Mapping[str, Any],
    outputs: Mapping[str, Any],
    cost: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    reliability: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """run_report.json's sections, the same on both backends.

    - `stages`: stage name -> its result (finish_stage-stamped); `extract` and `bronze` become
      the report's `source` and `bronze` sections, `gold`'s `tables` its gold row counts.
    - `counts`: the silver counts (as `check_conservation` reads them) with the `conservation`
      it returned, and `quarantine_by_reason`, `quarantine_revenue`,
      `quarantine_lines_with_revenue`, `repairs_by_rule`, `warnings_by_rule`.
    - `quality`: the quality report (or the gate's result); `outputs`: where each output is,
      `quarantine` and `repairs` included; `cost`: the backend's cost figures, under
      COST_SECTION[backend].
    - `extra`: backend-only sections (aws: glue, athena); `reliability`: backend-only entries
      of the reliability section (aws: glue_attempt).
    """
    conservation = counts.get("conservation")
    by_reason = counts.get("quarantine_by_reason") or {}
    repairs = counts.get("repairs_by_rule") or {}
    warnings = counts.get("warnings_by_rule") or {}
    bronze = stages.get("bronze", {})
    report: dict[str, Any] = {
        "run_id": run.run_id,
        "run_key": run.run_key,
        "backend": backend,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": dict(params),
        "source": stages.get("extract", {}),
        "bronze": bronze,
        "rows": {
            "bronze_lines": bronze.get("lines"),
            "silver": counts.get("silver_rows"),
            "quarantine": counts.get("quarantined_lines"),
            "non_record_lines": (conservation or {}).get("non_record_lines"),
            "gold_tables": stages.get("gold", {}).get("tables"),
        },
        "quarantine_by_reason": by_reason,
        "quarantine": {
            "lines": counts.get("quarantined_lines"),
            "revenue": counts.get("quarantine_revenue"),
            "lines_with_sales": counts.get("quarantine_lines_with_revenue"),
            "by_reason": by_reason,
            "file": outputs.get("quarantine"),
        },
        "repairs": {"total": _total(repairs), "by_rule": repairs, "file": outputs.get("repairs")},
        "warnings": {"total": _total(warnings), "by_rule": warnings, "file": outputs.get("repairs")},
        "conservation": conservation,
        "quality": {
            **{k: quality.get(k) for k in QUALITY_KEYS},
            "expectations": [
                {k: x.get(k) for k in EXPECTATION_KEYS} for x in quality.get("expectations", [])
            ],
        },
        "outputs": dict(outputs),
        "timings_seconds": stage_timings(stages),
        "reliability": {
            "retries": {name: (s.get("try_number") or 1) - 1 for name, s in stages.items()},
            **(reliability or {}),
            "quarantine_by_reason": by_reason,
            "conservation_holds": (conservation or {}).get("holds"),
        },
        COST_SECTION[backend]: dict(cost),
        **(extra or {}),
    }
    return report


def history_line(report: Mapping[str, Any]) -> dict[str, Any]:
    """The run's one line in the run history (etl_pipeline.log locally)."""
    return {
        "at": report["written_at"],
        "run_id": report["run_id"],
        "source": report["source"].get("source"),
        "sha256": report["bronze"].get("sha256"),
        "bronze_lines": report["rows"]["bronze_lines"],
        "silver_rows": report["rows"]["silver"],
        "quarantined": report["rows"]["quarantine"],
        "quarantine_revenue": report["quarantine"]["revenue"],
        "repairs": report["repairs"]["total"],
        "warnings": report["warnings"]["total"],
        "quality_success": report["quality"]["success"],
        "conservation_holds": (report["conservation"] or {}).get("holds"),
    }
