"""The app's data-access layer: placeholder binding, Athena literals, filters, and DuckDB reads."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from include.sales_analyzer.app import data
from include.sales_analyzer.config import get_settings

INJECTION = "East'; drop table fct_sales; --"


@pytest.mark.parametrize(
    ("sql", "params", "expected_sql", "expected_values"),
    [
        ("select :a, :b", {"a": 1, "b": "x"}, "select ?, ?", [1, "x"]),
        ("x in (:xs) and y = :a", {"xs": ["p", "q"], "a": 2}, "x in (?, ?) and y = ?", ["p", "q", 2]),
        ("x in (:xs)", {"xs": []}, "x in (null)", []),
        ("a = :a or b = :a", {"a": INJECTION}, "a = ? or b = ?", [INJECTION, INJECTION]),
        (
            "cast(x as date)::varchar = :d",
            {"d": "2015-01-01"},
            "cast(x as date)::varchar = ?",
            ["2015-01-01"],
        ),
        ("-- takes :nothing\nselect 1", {}, "\nselect 1", []),
    ],
)
def test_bind_turns_named_placeholders_into_positional(
    sql: str, params: dict, expected_sql: str, expected_values: list
) -> None:
    assert data.bind(sql, params) == (expected_sql, expected_values)


def test_bind_names_a_missing_parameter() -> None:
    with pytest.raises(KeyError, match=r":region has no value \(given: regions\)"):
        data.bind("select :region", {"regions": []})


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("East", "'East'"),
        (INJECTION, "'East''; drop table fct_sales; --'"),
        (date(2016, 2, 29), "date '2016-02-29'"),
        (datetime(2016, 2, 29, 13, 5), "timestamp '2016-02-29 13:05:00'"),
        (3, "3"),
        (True, "true"),
        (Decimal("1.50"), "1.50"),
        (2.5, "2.5"),
        (None, "null"),
    ],
)
def test_athena_literal(value: object, literal: str) -> None:
    assert data.athena_literal(value) == literal


@pytest.mark.parametrize("value", [float("nan"), b"bytes", ["list"]])
def test_athena_literal_refuses_what_it_cannot_write(value: object) -> None:
    with pytest.raises((TypeError, ValueError), match="Athena"):
        data.athena_literal(value)


@pytest.mark.parametrize(
    ("start", "end", "previous_start", "previous_end"),
    [
        (date(2017, 1, 1), date(2017, 12, 31), date(2016, 1, 2), date(2016, 12, 31)),
        (date(2016, 3, 1), date(2016, 3, 1), date(2016, 2, 29), date(2016, 2, 29)),
        (date(2016, 1, 1), date(2017, 12, 31), date(2013, 12, 31), date(2015, 12, 31)),
    ],
)
def test_previous_period_is_equally_long_and_just_before(
    start: date, end: date, previous_start: date, previous_end: date
) -> None:
    filters = data.Filters(start, end, regions=("West",))
    previous = filters.previous_period()
    assert (previous.start_date, previous.end_date, previous.regions) == (
        previous_start,
        previous_end,
        ("West",),
    )
    assert previous.days == filters.days


def test_every_query_file_binds_with_the_filter_parameters() -> None:
    params = {**data.Filters(date(2015, 1, 1), date(2015, 12, 31)).params(), "top_n": 5, "search": ""}
    for path in sorted(data.SQL_DIR.glob("*.sql")):
        if path.stem == data.FILTERED_CTE:
            continue
        sql, _ = data.bind(data.load_sql(path.stem), params)
        assert ":" not in sql.replace("::", ""), path.name


def test_unknown_query_is_named() -> None:
    with pytest.raises(ValueError, match="unknown query 'nope'"):
        data.load_sql("nope")


def test_aws_backend_reads_athena(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_BACKEND", "aws")
    monkeypatch.setenv("SALES_GLUE_DATABASE", "gold_db")
    monkeypatch.setenv("SALES_BUCKET", "bucket")
    source = data.source_for(get_settings())
    assert isinstance(source, data.AthenaSource)
    assert (source.database, source.s3_staging_dir) == ("gold_db", "s3://bucket/athena-results/")


def test_missing_gold_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(data.GoldUnavailable, match="does not exist yet"):
        data.DuckDBSource(tmp_path / "sales_analytics.duckdb").version()


def test_injected_filter_values_are_bound_as_values(gold_dir: Path, gold) -> None:
    """A region crafted as SQL matches no row, raises nothing, and leaves the tables as they were."""
    before = gold("select count(*) as n, sum(sales) as revenue from fct_sales")
    source = data.DuckDBSource(gold_dir / "sales_analytics.duckdb")
    bounds = gold("select min(order_date) as lo, max(order_date) as hi from fct_sales").iloc[0]
    filters = data.Filters(
        bounds["lo"].date(), bounds["hi"].date(), regions=(INJECTION,), segments=("x' or '1'='1",)
    )
    sql, values = data.bind(data.load_sql("kpis"), filters.params())
    assert INJECTION not in sql
    assert INJECTION in values

    kpis = data.query(source, "kpis", filters.params())
    top = data.query(source, "top_products", {**filters.params(), "top_n": 5, "search": "' or 1=1 --"})

    assert kpis.iloc[0].to_dict() == {"revenue": 0.0, "orders": 0, "customers": 0, "order_lines": 0}
    assert top.empty
    assert gold("select count(*) as n, sum(sales) as revenue from fct_sales").equals(before)


def test_reads_never_lock_the_file(gold_dir: Path, tmp_path: Path) -> None:
    """A reader leaves the file free for the pipeline's next publish (os.replace) and writers."""
    path = tmp_path / "sales_analytics.duckdb"
    shutil.copyfile(gold_dir / "sales_analytics.duckdb", path)
    source = data.DuckDBSource(path)
    data.query(source, "refresh")
    with duckdb.connect(str(path)) as writer:
        writer.execute("update _pipeline_refresh set run_key = 'written'")
    assert data.query(source, "refresh").loc[0, "run_key"] == "written"
