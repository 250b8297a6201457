"""The gold build's Athena queries, and the bytes each one is billed for (part of cost.py's model).

Athena bills the columns a query reads, rounded up to the MB with a 10 MB minimum; silver's
bytes per column were measured by bench/run.py (parquet_metadata) on the synthetic file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MB = 1024**2
ATHENA_MIN_BYTES_PER_QUERY = 10 * MB  # 10 MB minimum, each query rounded up to the MB

# Share of silver's Parquet bytes held by each column (parquet_metadata, compressed sizes).
SILVER_COLUMN_SHARE: dict[str, float] = {
    "sales": 0.1420,
    "customer_id": 0.1395,
    "order_id": 0.1350,
    "source_line": 0.0745,
    "row_id": 0.0745,
    "product_name": 0.0732,
    "customer_name": 0.0700,
    "product_id": 0.0699,
    "postal_code": 0.0389,
    "city": 0.0343,
    "ship_date": 0.0314,
    "order_date": 0.0277,
    "sub_category": 0.0271,
    "state": 0.0269,
    "region": 0.0102,
    "category": 0.0084,
    "ship_mode": 0.0084,
    "segment": 0.0080,
    "country": 0.00002,  # one value: a dictionary page and run lengths
    # Partition columns live in the S3 path, not in the files: reading them scans nothing.
    "order_year": 0.0,
    "order_month": 0.0,
}
# fct_sales (a gold table) carries these silver columns plus two it derives; the derived ones
# are sized like a low-cardinality string (geography_key) and a small integer (days_to_ship).
FCT_EXTRA_SHARE = {"geography_key": 0.03, "days_to_ship": 0.01, "order_year": 0.0005, "order_month": 0.0005}


@dataclass(frozen=True)
class AthenaQuery:
    """One query the gold build sends to Athena: which relation it reads and which columns."""

    name: str
    relation: str  # "silver", "fct_sales" (large) or "small" (a dimension, a mart, a unit test)
    columns: tuple[str, ...] = ()


def _q(name: str, relation: str, *columns: str) -> AthenaQuery:
    return AthenaQuery(name, relation, tuple(columns))


_ENRICHED_JOIN_KEYS = ("customer_id", "product_id", "geography_key")

_SILVER_REQUIRED = (
    *("row_id", "order_id", "order_date", "ship_date", "ship_mode", "customer_id", "customer_name"),
    *("segment", "country", "city", "state", "region", "product_id", "category", "sub_category"),
    *("product_name", "sales"),
)

# `dbt build` of include/dbt/sales_analytics on Athena: one CTAS per mart (the staging view, the
# BI views and other DDL are free; the ephemeral model is inlined), one query per data test, one
# per unit test, the BI views' tests included (models/bi/, tests/bi/).
# Trino scans a relation once per reference, so a model reading silver in two CTEs scans twice.
# A test on v_sales_enriched reads fct_sales through the view: its column and the three join keys
# (the left joins to the dimensions stay in the plan).
GOLD_BUILD_QUERIES: tuple[AthenaQuery, ...] = (
    # source tests on silver (generated from the contract: unique + not_null on the key,
    # not_null on each required column)
    _q("source unique row_id", "silver", "row_id"),
    *(_q(f"source not_null {c}", "silver", c) for c in _SILVER_REQUIRED),
    # marts built from silver
    _q("dim_customer ranked", "silver", "customer_id", "customer_name", "segment", "order_date", "row_id"),
    _q("dim_customer order_counts", "silver", "customer_id", "order_date", "order_id"),
    _q("dim_date order dates", "silver", "order_date"),
    _q("dim_date ship dates", "silver", "ship_date"),
    _q("dim_geography", "silver", "country", "state", "city", "postal_code", "region"),
    _q(
        "dim_product",
        "silver",
        "product_id",
        "product_name",
        "category",
        "sub_category",
        "order_date",
        "row_id",
    ),
    _q(
        "fct_sales",
        "silver",
        *("row_id", "order_id", "order_date", "ship_date", "ship_mode", "customer_id", "segment"),
        *("product_id", "country", "state", "city", "postal_code", "region", "sales"),
        *("order_year", "order_month"),
    ),
    _q("regional_revenue", "silver", "region", "sales"),
    _q("segment_yearly", "silver", "order_year", "segment", "sales"),
    _q("top_products", "silver", "product_name", "sales", "order_id"),
    # marts built from fct_sales
    _q("monthly", "fct_sales", "order_year", "order_month", "order_id", "sales", "customer_id"),
    _q("yearly", "fct_sales", "order_year", "sales", "customer_id"),
    # fct_sales tests
    _q("fct unique row_id", "fct_sales", "row_id"),
    *(
        _q(f"fct not_null {c}", "fct_sales", c)
        for c in (
            *("row_id", "order_id", "customer_id", "product_id", "geography_key", "order_date"),
            *("days_to_ship", "sales"),
        )
    ),
    *(
        _q(f"fct relationships {c}", "fct_sales", c)
        for c in ("customer_id", "product_id", "geography_key", "order_date")
    ),
    # tests on the small tables (dimensions and marts) and the two dbt unit tests
    *(_q(f"small test {i}", "small") for i in range(17)),
    *(_q(f"unit test {i}", "small") for i in range(2)),
    # the BI views' tests: v_sales_enriched's over fct_sales, the others over small marts
    *(
        _q(f"v_sales_enriched {test}", "fct_sales", *columns, *_ENRICHED_JOIN_KEYS)
        for test, columns in (
            ("unique row_id", ("row_id",)),
            ("not_null row_id", ("row_id",)),
            ("not_null sales", ("sales",)),
            ("accepted_values segment", ("segment",)),
            ("accepted_values region", ()),
            ("accepted_values category", ()),
        )
    ),
    _q("v_sales_enriched keeps every sale (view)", "fct_sales", "sales", *_ENRICHED_JOIN_KEYS),
    _q("v_sales_enriched keeps every sale (fact)", "fct_sales", "sales"),
    *(_q(f"bi small test {i}", "small") for i in range(9)),  # 7 data tests, 2 singular tests
    *(_q(f"bi unit test {i}", "small") for i in range(2)),
)


def athena_query_bytes(query: AthenaQuery, silver_bytes: int, silver_rows: int) -> int:
    """Bytes Athena bills for one query: columns read, rounded up to the MB, 10 MB minimum."""
    if query.relation == "silver":
        scanned = silver_bytes * sum(SILVER_COLUMN_SHARE[c] for c in query.columns)
    elif query.relation == "fct_sales":
        scanned = silver_bytes * sum(
            FCT_EXTRA_SHARE.get(c, SILVER_COLUMN_SHARE.get(c, 0.0)) for c in query.columns
        )
    else:
        scanned = 0  # a few KB: the minimum applies
    billed = math.ceil(scanned / MB) * MB
    return max(ATHENA_MIN_BYTES_PER_QUERY, billed)


def fct_sales_bytes(silver_bytes: int) -> int:
    """Estimated size of the fct_sales gold table (the other gold tables are kilobytes)."""
    fct = next(q for q in GOLD_BUILD_QUERIES if q.name == "fct_sales")
    share = sum(SILVER_COLUMN_SHARE[c] for c in fct.columns) + sum(FCT_EXTRA_SHARE.values())
    return int(silver_bytes * share)
