"""The BI views by value: every row recomputed from the generated CSV with csv and Decimal.

Used by test_pipeline_dag.py on its damaged run (the views Cosmos built in the warehouse and
their copies in the published database). The expected rows are computed here from the input file
and the generator's reference (which lines it quarantines), independently of DuckDB and dbt.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb

from include.sales_analyzer.extract.synthetic import GeneratedFile

BI_VIEWS = ("v_sales_enriched", "v_monthly_revenue", "v_segment_share")
ORDER_BY = {
    "v_sales_enriched": "row_id",
    "v_monthly_revenue": "order_year, order_month",
    "v_segment_share": "order_year, segment",
}


def read_views(data_dir: Path) -> dict[str, Any]:
    """The gold relations' kinds, and each view's rows as dbt built it and as publish_gold copied it."""
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
    exports = {view: sorted(p.name for p in (data_dir / "gold").glob(f"{view}.*")) for view in BI_VIEWS}
    return {"kinds": kinds, "built": built, "published": published, "exports": exports}


def clean(text: str) -> str:
    """A text field as silver keeps it: whitespace runs made one space, trimmed."""
    return re.sub(r"[\s\u00a0]+", " ", text).strip()


def value(text: str) -> str | None:
    """A text field as silver keeps it, empty as null."""
    return clean(text) or None


def record_fields(path: Path, bad_lines: set[int]) -> Iterator[list[str]]:
    """The fields of every record line of `path`: not the header, a blank line or a bad line."""
    with open(path, encoding="utf-8", newline="") as fh:
        for number, line in enumerate(fh.read().split("\n"), start=1):
            if number == 1 or number in bad_lines or not line.replace(",", "").strip():
                continue
            yield next(csv.reader([line]))


def records(ref: GeneratedFile) -> list[list[str]]:
    """The fields of every record line the generator does not expect to be quarantined."""
    return list(record_fields(ref.path, {q.line_number for q in ref.quarantined}))


def day(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


def expected_sales_enriched(ref: GeneratedFile) -> list[tuple]:
    """Each line with its customer's and product's latest names (latest order date, then Row ID)."""
    lines = records(ref)

    def latest(f: list[str]) -> tuple[date, int]:
        return day(f[2]), int(f[0])

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
    """Per order month: orders, lines, revenue, customers, revenue / orders half up to the cent."""
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


def check_segment_share(got: list[tuple], revenue: dict[tuple[int, str], Decimal]) -> None:
    """Each (year, segment)'s revenue, its share of the year's revenue and its rank in the year.

    `revenue`: (order_year, segment) -> revenue, recomputed from the file.
    """
    assert [(y, s, r) for y, s, r, _, _ in got] == sorted((y, s, r) for (y, s), r in revenue.items())
    for year, segment, amount, share, rank in got:
        year_revenue = [r for (y, _), r in revenue.items() if y == year]
        expected_share = float(amount / sum(year_revenue))
        assert abs(share - expected_share) <= 1e-12 * expected_share, (year, segment, share)
        assert rank == 1 + sum(r > amount for r in year_revenue), (year, segment)
