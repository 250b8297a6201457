"""Read what the pipeline writes about itself: run reports, the run log, quality and quarantine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from include.sales_analyzer.local.layout import Layout

QUARANTINE_COLUMNS = [
    "source_line",
    "reason",
    "column_name",
    "value",
    "expected",
    "revenue",
    "raw_line",
    "source_file",
]
REPAIRS_COLUMNS = ["source_line", "action", "rule", "column_name", "value_before", "value_after", "expected"]


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when the file does not exist (yet)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def latest_run(data_dir: Path) -> dict[str, Any] | None:
    """run_report.json: the report of the latest run that finished."""
    return read_json(Layout.at(data_dir).run_report)


def quality_report(data_dir: Path) -> dict[str, Any] | None:
    """quality_report.json: the latest quality gate, every expectation with kwargs and samples."""
    return read_json(Layout.at(data_dir).quality_report)


def layer_rows(report: dict[str, Any]) -> pd.DataFrame:
    """Rows per layer of one run: bronze lines, silver, quarantine, header/blank, each gold table."""
    rows = report.get("rows") or {}
    records = [
        {"layer": "bronze", "table": "lines in the file", "rows": rows.get("bronze_lines")},
        {"layer": "bronze", "table": "header and blank lines", "rows": rows.get("non_record_lines")},
        {"layer": "quarantine", "table": "sales", "rows": rows.get("quarantine")},
        {"layer": "silver", "table": "sales", "rows": rows.get("silver")},
    ]
    records += [{"layer": "gold", "table": t, "rows": n} for t, n in (rows.get("gold_tables") or {}).items()]
    return pd.DataFrame(records, columns=["layer", "table", "rows"])


def timings(report: dict[str, Any]) -> pd.DataFrame:
    """Seconds per stage of one run, in pipeline order."""
    items = (report.get("timings_seconds") or {}).items()
    return pd.DataFrame([{"stage": k, "seconds": v} for k, v in items], columns=["stage", "seconds"])


def expectations(report: dict[str, Any]) -> pd.DataFrame:
    """One row per expectation of a quality report, failures first; lists and dicts as JSON text."""
    records = [
        {
            "success": x.get("success"),
            "severity": x.get("severity", "critical"),
            "expectation": x.get("expectation"),
            "column": x.get("column"),
            "observed": _text(x.get("observed")),
            "kwargs": _text(x.get("kwargs")),
            "unexpected_sample": _text(x.get("unexpected_sample") or None),
            "error": _text(x.get("error")),
        }
        for x in report.get("expectations", [])
    ]
    frame = pd.DataFrame(
        records,
        columns=[
            "success",
            "severity",
            "expectation",
            "column",
            "observed",
            "kwargs",
            "unexpected_sample",
            "error",
        ],
    )
    return frame.sort_values("success", kind="stable", key=lambda s: s.astype(bool)).reset_index(drop=True)


def run_history(data_dir: Path) -> pd.DataFrame:
    """One row per report under runs/, newest first."""
    records = []
    for path in Layout.at(data_dir).runs_dir.glob("*.json"):
        report = read_json(path) or {}
        rows, law = report.get("rows") or {}, report.get("conservation") or {}
        records.append(
            {
                "written_at": report.get("written_at"),
                "run_key": report.get("run_key", path.stem),
                "source": (report.get("source") or {}).get("description"),
                "sha256": ((report.get("bronze") or {}).get("sha256") or "")[:12],
                "bronze_lines": rows.get("bronze_lines"),
                "silver_rows": rows.get("silver"),
                "quarantined": rows.get("quarantine"),
                "quality_success": (report.get("quality") or {}).get("success"),
                "conservation_holds": law.get("holds"),
                "seconds": round(sum(v or 0 for v in (report.get("timings_seconds") or {}).values()), 1),
            }
        )
    columns = [
        "written_at",
        "run_key",
        "source",
        "sha256",
        "bronze_lines",
        "silver_rows",
        "quarantined",
        "quality_success",
        "conservation_holds",
        "seconds",
    ]
    frame = pd.DataFrame(records, columns=columns)
    return frame.sort_values("written_at", ascending=False, ignore_index=True)


def pipeline_log(data_dir: Path) -> tuple[pd.DataFrame, list[int]]:
    """etl_pipeline.log as rows, newest first, and the numbers of lines that are not JSON objects."""
    path = Layout.at(data_dir).history_log
    records, bad = [], []
    if path.exists():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                bad.append(number)
                continue
            if isinstance(record, dict):
                records.append(record)
            else:
                bad.append(number)
    frame = pd.DataFrame.from_records(records)
    if not frame.empty and "at" in frame:
        frame = frame.sort_values("at", ascending=False, ignore_index=True)
    return frame, bad


def quarantine_partitions(data_dir: Path) -> dict[str, Path]:
    """Quarantine files by ingest date, newest first."""
    root = Layout.at(data_dir).quarantine_root
    found = {
        p.parent.name.removeprefix("ingest_date="): p for p in root.glob("ingest_date=*/quarantine.parquet")
    }
    return dict(sorted(found.items(), reverse=True))


def read_quarantine(path: Path) -> pd.DataFrame:
    """The quarantined lines of one file, in line order."""
    frame = pd.read_parquet(path)
    for column in QUARANTINE_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame.sort_values("source_line", ignore_index=True)


def read_repairs(path: Path) -> pd.DataFrame:
    """The repairs and warnings of one run's silver rows (repairs.parquet), in line order."""
    if not path.exists():
        return pd.DataFrame(columns=REPAIRS_COLUMNS)
    frame = pd.read_parquet(path)
    return frame.sort_values(["source_line", "column_name", "rule"], ignore_index=True)[REPAIRS_COLUMNS]


def finding_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Repairs and warnings per action, rule and column, most frequent first."""
    if frame.empty:
        return pd.DataFrame(columns=["action", "rule", "column_name", "values"])
    counts = frame.groupby(["action", "rule", "column_name"]).size().reset_index(name="values")
    return counts.sort_values(["values", "rule"], ascending=[False, True], ignore_index=True)


def reason_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Quarantined lines per reason, most frequent first."""
    if frame.empty:
        return pd.DataFrame(columns=["reason", "lines"])
    counts = frame.groupby("reason").size().reset_index(name="lines")
    return counts.sort_values(["lines", "reason"], ascending=[False, True], ignore_index=True)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
