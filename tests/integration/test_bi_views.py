"""The BI views on the local backend: built by Cosmos in a real `airflow dags test`, checked by value.

Every row of v_sales_enriched, v_monthly_revenue and v_segment_share is recomputed here from the
generated CSV with Python's csv module and Decimal (the same reading as test_pipeline_dag.py's
expected_gold, whose segment revenue is reused), independently of DuckDB and dbt, and compared
with the views dbt built in the warehouse and with their copies in the published database.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from include.sales_analyzer.extract.synthetic import GeneratedFile, generate_sales_csv
from tests.conftest import run_dag_test
from tests.integration.test_pipeline_dag import clean, expected_gold

ROWS, SEED = 1500, 23
BI_VIEWS = ("v_sales_enriched", "v_monthly_revenue", "v_segment_share")
ORDER_BY = {
    "v_sales_enriched": "row_id",
    "v_monthly_revenue": "order_year, order_month",
    "v_segment_share": "order_year, segment",
}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_run(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run of the DAG on a damaged file; the views as dbt built them and as published."""
    data_dir = tmp_path_factory.mktemp("data")
    reference = generate_sales_csv(
        tmp_path_factory.mktemp("ref") / "ref.csv", rows=ROWS, seed=SEED, damaged=True
    )
    conf = {"source": "synthetic", "rows": ROWS, "seed": SEED, "damaged": True}
    proc = run_dag_test(airflow_home, data_dir, conf)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    built, published = {}, {}
    with duckdb.connect(str(data_dir / "warehouse" / "build.duckdb"), read_only=True) as con:
        kinds = dict(
            con.execute(
                "select table_name, table_type from information_schema.tables where table_schema = 'gold'"
            ).fetchall()
        )
        for view in BI_VIEWS:
            built[view] = con.execute(f"select * from gold.{view} order by {ORDER_BY[view]}").fetchall()
    with duckdb.connect(str(data_dir / "sales_analytics.duckdb"), read_only=True) as con:
        for view in BI_VIEWS:
            published[view] = con.execute(f"select * from {view} order by {ORDER_BY[view]}").fetchall()
    return {"reference": reference, "kinds": kinds, "built": built, "published": published}


def value(text: str) -> str | None:
    """A text field as silver keeps it: whitespace runs made one space, trimmed, empty as null."""
    return clean(text) or None


def records(ref: GeneratedFile) -> list[list[str]]:
    """The fields of every record line the generator does not expect to be quarantined."""
    bad = {q.line_number for q in ref.quarantined}
    out = []
    with open(ref.path, encoding="utf-8", newline="") as fh:
        for number, line in enumerate(fh.read().split("\n"), start=1):
            if number == 1 or number in bad or not line.replace(",", "").strip():
                continue
            out.append(next(csv.reader([line])))
    return out


def day(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


def expected_sales_enriched(ref: GeneratedFile) -> list[tuple]:
    """Each line with its customer's and product's latest names (latest order date, then Row ID)."""
    lines = records(ref)
    latest = lambda f: (day(f[2]), int(f[0]))  # noqa: E731
    customers: dict[str, list[str]] = {}
    products: dict[str, list[str]] = {}
    for f in lines:
        if f[5] not in customers or latest(f) > latest(customers[f[5]]):
            customers[f[5]] = f
        if f[13] not in products or latest(f) > latest(products[f[13]]):
            products[f[13]] = f
    rows = []
    for f in lines:
        ordered, shipped = day(f[2]), day(f[3])
        postal = value(f[11])
        if postal and re.fullmatch(r"[0-9]{4}", postal):
            postal = postal.rjust(5, "0")  # the contract's zip_leading_zero repair
        product = products[f[13]]
        rows.append(
            (
                int(f[0]),
                value(f[1]),
                ordered,
                shipped,
                (shipped - ordered).days,
                value(f[4]),
                ordered.year,
                ordered.month,
                value(f[7]),
                Decimal(f[17]),
                value(f[5]),
                value(customers[f[5]][6]),
                value(f[13]),
                value(product[16]),
                value(product[14]),
                value(product[15]),
                value(f[8]),
                value(f[12]),
                value(f[10]),
                value(f[9]),
                postal,
            )
        )
    return sorted(rows)


def expected_monthly_revenue(ref: GeneratedFile) -> list[tuple]:
    months: dict = defaultdict(
        lambda: {"orders": set(), "lines": 0, "revenue": Decimal(0), "customers": set()}
    )
    for f in records(ref):
        ordered = day(f[2])
        month = months[(ordered.year, ordered.month)]
        month["orders"].add(f[1])
        month["lines"] += 1
        month["revenue"] += Decimal(f[17])
        month["customers"].add(f[5])
    return [
        (
            year,
            month,
            date(year, month, 1),
            len(m["orders"]),
            m["lines"],
            m["revenue"],
            len(m["customers"]),
            (m["revenue"] / len(m["orders"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        )
        for (year, month), m in sorted(months.items())
    ]


def test_bi_views_are_views_in_gold(local_run: dict) -> None:
    assert {v: local_run["kinds"].get(v) for v in BI_VIEWS} == dict.fromkeys(BI_VIEWS, "VIEW")


def test_v_sales_enriched_rows(local_run: dict) -> None:
    expected = expected_sales_enriched(local_run["reference"])
    assert len(expected) == local_run["reference"].silver_rows
    assert local_run["built"]["v_sales_enriched"] == expected


def test_v_monthly_revenue_rows(local_run: dict) -> None:
    expected = expected_monthly_revenue(local_run["reference"])
    assert len(expected) > 12
    assert local_run["built"]["v_monthly_revenue"] == expected


def test_v_segment_share_rows(local_run: dict) -> None:
    ref = local_run["reference"]
    bad = {q.line_number for q in ref.quarantined}
    revenue = {(y, s): r for y, s, r in expected_gold(ref.path, bad)["segment_yearly"]}
    got = local_run["built"]["v_segment_share"]
    assert [(y, s, r) for y, s, r, _, _ in got] == sorted((y, s, r) for (y, s), r in revenue.items())
    for year, segment, amount, share, rank in got:
        year_revenue = [r for (y, _), r in revenue.items() if y == year]
        assert share == pytest.approx(float(amount / sum(year_revenue)), rel=1e-12)
        assert rank == 1 + sum(r > amount for r in year_revenue), (year, segment)


def test_published_database_holds_the_views_rows(local_run: dict) -> None:
    """publish_gold copies gold, the views included, into the file readers open."""
    for view in BI_VIEWS:
        assert local_run["published"][view] == local_run["built"][view], view
