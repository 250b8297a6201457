"""The quality gate: one Great Expectations suite, derived from the contract, run in SQL.

GX Core 1.x runs on DuckDB through SQLAlchemy (duckdb-engine), so the expectations are
computed by DuckDB over the silver Parquet; no pandas copy of the rows is made.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from include.sales_analyzer.config import get_settings
from include.sales_analyzer.contract import Contract, load_contract

log = logging.getLogger(__name__)

SUITE_NAME = "silver_sales"

# The checkpoint's pass computes counts only: unexpected_count (and percent) for each
# expectation, no sample of unexpected values. GX's SUMMARY default fetches a sample for every
# column-map expectation, which on a passing run is one more full scan each (1.7 s of a 14.5 s
# gate at 10M rows). Samples are fetched afterwards for the expectations that did not pass
# (_add_samples): the run that needs them pays for them.
COUNTS_ONLY = {"result_format": "BASIC", "partial_unexpected_count": 0}
SAMPLE_SIZE = 20  # GX's default partial_unexpected_count


def _allow_duckdb_persisted_connection() -> None:
    """Make GX keep one connection open for DuckDB, as it does for SQLite.

    GX reads a query's rows after closing the connection that ran it; duckdb-engine
    drops unread results when its connection closes, so every metric comes back empty
    (IndexError in resolve_metric_bundle). GX keeps a persistent connection for the
    dialects listed in _PERSISTED_CONNECTION_DIALECTS; DuckDB needs the same treatment.
    Remove this once GX lists DuckDB itself.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    class _Dialect(str):
        @property
        def value(self) -> str:
            return str(self)

    if "duckdb" not in [str(getattr(d, "value", d)) for d in engine._PERSISTED_CONNECTION_DIALECTS]:
        engine._PERSISTED_CONNECTION_DIALECTS = (
            *engine._PERSISTED_CONNECTION_DIALECTS,
            _Dialect("duckdb"),
        )


def _close_connections(context: Any) -> None:
    """Close every DuckDB connection GX opened for the gate and dispose their engines.

    GX leaves two open: the engine the datasource made to test its connection (a pooled
    connection, kept with the datasource), and the persisted connection of the execution
    engine (see above), checked out of SQLAlchemy's pool for good, which
    `SqlAlchemyExecutionEngine.close()` does not close for DuckDB. SQLAlchemy's module-level
    pool records kept them, with their duckdb_engine wrappers and DuckDBPyConnections, alive
    for the rest of the process (an Airflow worker, or every task of `airflow dags test`).
    The gate runs in the task's process (validate_counts): closing them keeps that process clean
    for whatever it runs next.
    """
    for source in context.data_sources.all().values():
        execution_engine = getattr(source, "_execution_engine", None)  # GX's cached engine
        if execution_engine is not None:
            if execution_engine._connection is not None:
                execution_engine._connection.close()
                execution_engine._connection = None
            execution_engine.engine.dispose()
        engine = getattr(source, "_engine", None)  # the one test_connection made
        if engine is not None:
            engine.dispose()


@functools.cache
def _unexpected_row_count_expectation() -> type:
    """GX's UnexpectedRowsExpectation, computing only the count of its query's rows.

    The stock class also fetches the rows themselves (metric `unexpected_rows_query.table`) and
    then uses them only under result_format COMPLETE, which the gate never asks for: a second
    full scan for each of the four pattern rules, ~2 s of the gate at 10M rows. This subclass
    depends on the row count alone and reports it as the stock class does. (GX registers an
    Expectation class by its name when it is defined: hence defined once, on first use, after
    GX's lazy import.)
    """
    from great_expectations.expectations import UnexpectedRowsExpectation

    class UnexpectedRowCountExpectation(UnexpectedRowsExpectation):
        metric_dependencies = ("unexpected_rows_query.row_count",)

        def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
            count = metrics["unexpected_rows_query.row_count"]
            return {"success": count == 0, "result": {"observed_value": count}}

    return UnexpectedRowCountExpectation


def build_expectations(contract: Contract | None = None, max_quarantine_fraction: float | None = None):
    """The suite's expectations for silver rows, from the contract's columns, rules and severities.

    A rule whose contract severity is `warn` becomes a GX expectation of severity "warning":
    it still runs and reports its observed count, but does not fail the gate.
    """
    import great_expectations as gx

    contract = contract or load_contract()
    e = gx.expectations
    out: list = [e.ExpectTableRowCountToBeBetween(min_value=1)]
    names = [n for n, _ in contract.silver_columns]
    out.append(e.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True))
    for key in contract.key:
        # Not GX's ExpectColumnValuesToBeUnique: its SQL joins a count per value back to every
        # row, 1.9 s at 10M rows, against 0.8 s for a group by over the key alone. This counts
        # the key values held by more than one row (GX counted the rows), without a sample.
        out.append(
            _unexpected_row_count_expectation()(
                description=f"{key} is unique: {key} values on more than one row",
                unexpected_rows_query=(
                    f"select {key} from {{batch}} where {key} is not null group by {key} having count(*) > 1"
                ),
            )
        )
    for c in contract.columns:

        def level(rule: str) -> str:
            return "warning" if c.severity(rule) == "warn" else "critical"  # noqa: B023

        if c.required:
            out.append(e.ExpectColumnValuesToNotBeNull(column=c.name, severity=level("required")))
        if c.max_length:
            out.append(
                e.ExpectColumnValueLengthsToBeBetween(
                    column=c.name, max_value=c.max_length, severity=level("max_length")
                )
            )
        if c.allowed:
            out.append(
                e.ExpectColumnValuesToBeInSet(
                    column=c.name, value_set=list(c.allowed), severity=level("allowed")
                )
            )
        if c.pattern:
            # GX has no regex support for the DuckDB dialect, so the pattern rule is a
            # GX UnexpectedRowsExpectation written in the engine's own SQL.
            # GX formats the query with str.format: literal braces are doubled.
            pattern = c.pattern.replace("'", "''").replace("{", "{{").replace("}", "}}")
            out.append(
                _unexpected_row_count_expectation()(
                    description=f"{c.name} matches {c.pattern}",
                    unexpected_rows_query=(
                        f"select {c.name} from {{batch}} where {c.name} is not null "
                        f"and not regexp_matches({c.name}, '{pattern}')"
                    ),
                    severity=level("pattern"),
                )
            )
        if c.min is not None or c.max is not None:
            rule = "min" if c.min is not None else "max"
            out.append(
                e.ExpectColumnValuesToBeBetween(
                    column=c.name, min_value=c.min, max_value=c.max, severity=level(rule)
                )
            )
        if c.earliest:
            out.append(
                e.ExpectColumnValuesToBeBetween(
                    column=c.name, min_value=c.earliest, severity=level("earliest")
                )
            )
        if c.not_before:
            out.append(
                e.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=c.name, column_B=c.not_before, or_equal=True, severity=level("not_before")
                )
            )
    return out


def quarantine_expectation(threshold: float):
    """The quarantined share of record lines must stay at or under `threshold`."""
    import great_expectations as gx

    return gx.expectations.ExpectColumnMaxToBeBetween(
        column="quarantine_fraction", min_value=0, max_value=threshold
    )


def _exception_message(info: Any) -> str | None:
    """The first exception message in a GX result's exception_info, however nested."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception") and info.get("exception_message"):
        return str(info["exception_message"])
    for value in info.values():
        found = _exception_message(value)
        if found:
            return found
    return None


def _key(cfg: Any) -> str:
    """An expectation configuration's identity across two validations: its type and arguments."""
    kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
    return cfg.type + json.dumps(kwargs, sort_keys=True, default=str)


def _summarize(result: Any, samples: dict[str, list[Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in result.results:
        cfg = r.expectation_config
        res = r.result or {}
        observed = res.get("observed_value")
        if observed is None and "unexpected_count" in res:
            observed = f"{res['unexpected_count']} unexpected ({res.get('unexpected_percent') or 0:.4g}%)"
        sample = samples.get(_key(cfg)) or res.get("partial_unexpected_list") or []
        rows.append(
            {
                "expectation": cfg.type,
                "column": cfg.kwargs.get("column") or cfg.kwargs.get("column_A") or cfg.description,
                "description": cfg.description,
                "kwargs": {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)},
                "success": bool(r.success),
                "severity": str(getattr(cfg, "severity", None) or "critical").rsplit(".", 1)[-1].lower(),
                "observed": observed,
                "unexpected_sample": [str(s) for s in sample[:5]],
                "error": _exception_message(r.exception_info),
            }
        )
    return rows


def _sample_unexpected(context: Any, batch_definition: Any, result: Any) -> dict[str, list[Any]]:
    """Samples of the unexpected values of each column-map expectation that did not pass.

    The checkpoint ran under COUNTS_ONLY; this validates those expectations alone again, under
    GX's SUMMARY format, as the `silver_rows_samples` validation (a page of its own in Data
    Docs). Nothing runs when every such expectation passed. Keyed by `_key`.
    """
    import great_expectations as gx

    missed = [
        r.expectation_config
        for run_result in result.run_results.values()
        if run_result.suite_name == SUITE_NAME
        for r in run_result.results
        if not r.success and "unexpected_count" in (r.result or {})
    ]
    if not missed:
        return {}
    expectations = []
    for cfg in missed:
        expectation = cfg.to_domain_obj()
        expectation.id = None  # a new member of the samples suite, not the gate suite's
        expectations.append(expectation)
    suite = context.suites.add(gx.ExpectationSuite(name=SUITE_NAME + "_samples", expectations=expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="silver_rows_samples", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="silver_gate_samples",
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
        )
    )
    samples: dict[str, list[Any]] = {}
    for run_result in checkpoint.run().run_results.values():
        for r in run_result.results:
            samples[_key(r.expectation_config)] = (r.result or {}).get("partial_unexpected_list") or []
    return samples


def validate_silver(
    silver_glob: str,
    record_lines: int,
    quarantined_lines: int,
    work_dir: Path,
    docs_dir: Path,
    max_quarantine_fraction: float | None = None,
    contract: Contract | None = None,
    memory_limit: str | None = None,
    quarantine_revenue: str | None = None,
    silver_rows: int | None = None,
    quarantine_lines_with_revenue: int | None = None,
) -> dict[str, Any]:
    """Run the suite over the silver Parquet at `silver_glob`; return the report.

    DuckDB runs under `memory_limit` (default SALES_DUCKDB_MEMORY_LIMIT, as silver does).
    `silver_rows` = 0 (every line quarantined, or a header-only file) is validated over an
    empty table of the contract's columns, so the gate fails as a gate, not as a read error.
    `raise_if_failed` then names every failed critical expectation and its observed value.
    """
    import duckdb
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    _allow_duckdb_persisted_connection()
    contract = contract or load_contract()
    threshold = (
        contract.max_quarantine_fraction if max_quarantine_fraction is None else max_quarantine_fraction
    )
    duckdb_config = {"memory_limit": memory_limit or get_settings().duckdb_memory_limit}
    work_dir.mkdir(parents=True, exist_ok=True)
    db = work_dir / "quality.duckdb"
    db.unlink(missing_ok=True)
    with duckdb.connect(str(db), config=duckdb_config) as con:
        if silver_rows == 0:
            columns = ", ".join(f"null::{sql_type} as {name}" for name, sql_type in contract.silver_columns)
            con.execute(f"create table silver_sales as select {columns} limit 0")
        else:
            glob = silver_glob.replace("'", "''")
            con.execute(
                f"create view silver_sales as select * from read_parquet('{glob}', hive_partitioning = true)"
            )
        fraction = quarantined_lines / record_lines if record_lines else 1.0
        con.execute(
            "create table load_stats as select ? as record_lines, ? as quarantined_lines, "
            "? as quarantine_fraction",
            [record_lines, quarantined_lines, fraction],
        )

    context = gx.get_context(
        mode="ephemeral",
        # Without a project config GX adds a second Data Docs site in a fresh temporary folder
        # (InMemoryStoreBackendDefaults(init_temp_docs_sites=True)), builds it on every
        # checkpoint and never deletes it: 4.2 MB left in /tmp per gate run. Ours is the only site.
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            # GX's "Calculating Metrics" bars: ~30 lines of a task log per checkpoint.
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )
    docs_dir.mkdir(parents=True, exist_ok=True)
    from include.sales_analyzer.quality_docs import site_config  # imports GX's views

    context.add_data_docs_site(site_name="sales_quality", site_config=site_config(str(docs_dir)))
    source = context.data_sources.add_sql(
        name="silver",
        connection_string=f"duckdb:///{db}",
        kwargs={"connect_args": {"config": duckdb_config}},  # duckdb-engine passes it to duckdb.connect
    )
    rows_batch = source.add_table_asset(name="silver_sales", table_name="silver_sales")
    stats_batch = source.add_table_asset(name="load_stats", table_name="load_stats")

    # Each suite is stored once, whole: added one by one to a stored suite, every expectation
    # re-serialized the suite (1.3 s of the gate's 5 s of work on a small file).
    suite = context.suites.add(
        gx.ExpectationSuite(name=SUITE_NAME, expectations=build_expectations(contract))
    )
    load_suite = context.suites.add(
        gx.ExpectationSuite(name=SUITE_NAME + "_load", expectations=[quarantine_expectation(threshold)])
    )

    definitions = [
        context.validation_definitions.add(
            gx.ValidationDefinition(
                name="silver_rows",
                data=rows_batch.add_batch_definition_whole_table("all"),
                suite=suite,
            )
        ),
        context.validation_definitions.add(
            gx.ValidationDefinition(
                name="silver_load",
                data=stats_batch.add_batch_definition_whole_table("all"),
                suite=load_suite,
            )
        ),
    ]
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="silver_gate",
            validation_definitions=definitions,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format=COUNTS_ONLY,
        )
    )
    try:
        result = checkpoint.run()
        samples = _sample_unexpected(context, definitions[0].data, result)
    finally:
        _close_connections(context)
    expectations: list[dict[str, Any]] = []
    for run_result in result.run_results.values():
        expectations.extend(_summarize(run_result, samples))
    failed = [x for x in expectations if not x["success"] and x["severity"] == "critical"]
    warned = [x for x in expectations if not x["success"] and x["severity"] != "critical"]
    index = docs_dir / "index.html"
    report = {
        "suite": SUITE_NAME,
        "success": not failed,
        "evaluated": len(expectations),
        "failed": len(failed),
        "warnings": len(warned),
        "record_lines": record_lines,
        "quarantined_lines": quarantined_lines,
        "quarantine_revenue": quarantine_revenue,
        "quarantine_lines_with_revenue": quarantine_lines_with_revenue,
        "silver_rows": silver_rows,
        "quarantine_fraction": fraction,
        "max_quarantine_fraction": threshold,
        "data_docs": str(index) if index.exists() else None,
        "expectations": expectations,
    }
    for x in failed + warned:
        log.warning(
            "expectation %s: %s on %s, observed %s",
            "failed" if x in failed else "warned",
            x["expectation"],
            x["column"],
            x["observed"],
        )
    log.info(
        "quality gate: %d expectations, %d failed, %d warned", len(expectations), len(failed), len(warned)
    )
    return report


@contextlib.contextmanager
def _quiet_gx() -> Iterator[None]:
    """GX's own INFO records (several hundred a checkpoint: datasource registration, default
    values, batch slices) kept out of the task log while the gate runs; its warnings pass."""
    gx_log = logging.getLogger("great_expectations")
    level = gx_log.level
    gx_log.setLevel(max(logging.WARNING, level))
    try:
        yield
    finally:
        gx_log.setLevel(level)


def validate_counts(
    silver_glob: str,
    counts: dict[str, Any],
    work_dir: Path,
    docs_dir: Path,
    max_quarantine_fraction: float | None = None,
    memory_limit: str | None = None,
) -> dict[str, Any]:
    """The gate on one run's silver, from its silver counts (DuckDB's summarize or the Glue job's).

    One mapping for both backends: the quarantined share is of the record lines the engine
    counted, the revenue quarantine holds goes into the failure message, and a run with no
    silver rows is validated as an empty table (see validate_silver). The report comes back as
    JSON types (what the task writes to quality_report.json and returns as XCom).

    The checkpoint runs in the task's own process. (From issue #16 to session 10 it ran in an
    interpreter of its own, to keep the "nanobind: leaked" screen DuckDB 2.0.0 printed at the
    exit of any process that had loaded duckdb-engine's dialect out of the task's log; DuckDB
    2.0.1 no longer prints it, tests/integration/test_quality_gate_exit.py. The extra interpreter
    cost ~2 s of the gate task: its start-up and the imports GX shares with Airflow,
    docs/benchmarks.md, "Session 10".)
    `_close_connections` leaves no DuckDB connection open behind it.
    """
    with _quiet_gx():
        report = validate_silver(
            silver_glob,
            record_lines=counts["record_lines"],
            quarantined_lines=counts["quarantined_lines"],
            work_dir=work_dir,
            docs_dir=docs_dir,
            max_quarantine_fraction=max_quarantine_fraction,
            memory_limit=memory_limit,
            quarantine_revenue=counts.get("quarantine_revenue"),
            quarantine_lines_with_revenue=counts.get("quarantine_lines_with_revenue"),
            silver_rows=counts.get("silver_rows"),
        )
    report["quarantine_by_reason"] = counts.get("quarantine_by_reason")
    return json.loads(json.dumps(report, default=str))


def quarantine_examples(files: list[Any], limit: int = 3) -> list[dict[str, Any]]:
    """The first quarantined line of each of the `limit` most frequent reasons in these quarantine
    Parquet files, for a failure message."""
    import duckdb

    from include.sales_analyzer.silver_sql import read_path

    if not files:
        return []
    paths = "[" + ", ".join(read_path(f) for f in files) + "]"
    with duckdb.connect() as con:
        rows = con.execute(
            "select reason, source_line, column_name, value, expected from ("
            "select *, row_number() over (partition by reason order by source_line) as nth, "
            f"count(*) over (partition by reason) as n from read_parquet({paths})"
            f") where nth = 1 order by n desc, reason limit {int(limit)}"
        ).fetchall()
    keys = ("reason", "line", "column", "value", "expected")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _quarantine_lines(report: dict[str, Any], examples: list[dict[str, Any]], where: str | None) -> list[str]:
    """What the quarantine holds, in a failure message: reasons, an example of each, where the rest is."""
    by_reason = report.get("quarantine_by_reason") or {}
    if not by_reason:
        return []
    lines = ["- quarantined by reason: " + ", ".join(f"{k} {v:,}" for k, v in list(by_reason.items())[:6])]
    for x in examples:
        what = (
            f"{x['column']} {x['value']!r}"
            if x["column"]
            else (f"{x['value']} fields" if x["value"] else "the line")
        )
        lines.append(f"- e.g. line {x['line']}, {x['reason']}: {what}; expected {x['expected']}")
    if where:
        lines.append(f"- every quarantined line, with its column, value and what was expected: {where}")
    return lines


def raise_if_failed(
    report: dict[str, Any], examples: list[dict[str, Any]] | None = None, quarantine: str | None = None
) -> None:
    """Fail with a message that names each failed expectation and what was observed.

    `examples` (quarantine_examples) and `quarantine` (where the quarantined lines are) say what
    a person looks at first when the gate fails on the quarantined share.
    """
    failed = [
        x for x in report["expectations"] if not x["success"] and x.get("severity", "critical") == "critical"
    ]
    if not failed:
        return
    from include.sales_analyzer.errors import QualityGateFailed  # an Airflow exception

    lines = [f"quality gate failed: {len(failed)} of {report['evaluated']} expectations not met"]
    if report.get("record_lines") is not None:
        from include.sales_analyzer.summary import revenue_at_stake

        held = report.get("quarantine_revenue")
        quarantined = report.get("quarantined_lines", 0)
        lines.append(
            f"- {report.get('silver_rows', '?')} rows in silver; the file holds no record line, only "
            "its header (and blank lines): nothing to publish"
            if not report["record_lines"]
            else f"- {report.get('silver_rows', '?')} rows in silver; {quarantined:,} of "
            f"{report['record_lines']:,} record lines quarantined ({report['quarantine_fraction']:.2%}, "
            f"limit {report['max_quarantine_fraction']:.2%})"
            + (
                revenue_at_stake(quarantined, held, report.get("quarantine_lines_with_revenue"), lead=", ")
                if held is not None and quarantined
                else ""
            )
        )
    for x in failed:
        where = f" on {x['column']}" if x["column"] else ""
        detail = x["error"] or f"observed {x['observed']}"
        sample = f", e.g. {x['unexpected_sample']}" if x["unexpected_sample"] else ""
        lines.append(f"- {x['expectation']}{where}: {detail}{sample}")
    lines += _quarantine_lines(report, examples or [], quarantine)
    raise QualityGateFailed("\n".join(lines))
