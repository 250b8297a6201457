"""The AWS cost model: billing minimums, line items and the warnings it raises at scale."""

from __future__ import annotations

import json
import math

import pytest

from include.sales_analyzer import cost
from include.sales_analyzer.contract import load_contract
from include.sales_analyzer.dbt_project import MANIFEST

MB = 1024**2
GB = 1024**3


def _item(result: dict, service: str, starts: str) -> dict:
    return next(i for i in result["line_items"] if i["service"] == service and i["item"].startswith(starts))


def test_column_shares_cover_the_contract_and_add_up_to_one() -> None:
    names = {name for name, _ in load_contract().silver_columns}
    assert set(cost.SILVER_COLUMN_SHARE) == names
    assert math.isclose(sum(cost.SILVER_COLUMN_SHARE.values()), 1.0, abs_tol=0.005)


def test_source_tests_follow_the_contract() -> None:
    required = {c.name for c in load_contract().columns if c.required}
    not_null = {q.columns[0] for q in cost.GOLD_BUILD_QUERIES if q.name.startswith("source not_null")}
    assert not_null == required
    assert [q.columns for q in cost.GOLD_BUILD_QUERIES if q.name.startswith("source unique")] == [("row_id",)]


def test_every_query_reads_known_columns() -> None:
    known = set(cost.SILVER_COLUMN_SHARE) | set(cost.FCT_EXTRA_SHARE)
    for q in cost.GOLD_BUILD_QUERIES:
        assert q.relation in {"silver", "fct_sales", "small"}
        assert set(q.columns) <= known, q.name
    assert len(cost.GOLD_BUILD_QUERIES) == 81


def test_every_bi_view_test_of_the_dbt_project_is_costed() -> None:
    """One entry per test or unit test on a BI view in the manifest, plus the second scan of
    fct_sales by the singular test that compares the view with the fact table."""
    manifest = json.loads(MANIFEST.read_text())
    views = {k for k, n in manifest["nodes"].items() if n["resource_type"] == "model" and n["fqn"][1] == "bi"}
    on_views = [
        n
        for n in [*manifest["nodes"].values(), *manifest.get("unit_tests", {}).values()]
        if n["resource_type"] in {"test", "unit_test"} and views & set(n["depends_on"]["nodes"])
    ]
    costed = [q for q in cost.GOLD_BUILD_QUERIES if q.name.startswith(("v_", "bi "))]
    assert len(costed) == len(on_views) + 1


@pytest.mark.parametrize(
    ("relation", "columns", "silver_bytes", "expected"),
    [
        ("small", (), 10**12, 10 * MB),  # the 10 MB minimum
        ("silver", ("row_id",), 100 * MB, 10 * MB),  # 7.45 MB scanned, billed 10 MB
        ("silver", ("row_id",), 1000 * MB, 75 * MB),  # 74.5 MB rounded up to the MB
        ("silver", ("sales", "customer_id"), 1000 * MB, 282 * MB),  # 281.5 MB
        ("silver", ("order_year", "order_month"), 10**12, 10 * MB),  # partition columns scan nothing
        ("fct_sales", ("geography_key",), 1000 * MB, 30 * MB),
    ],
)
def test_athena_query_bytes(relation: str, columns: tuple, silver_bytes: int, expected: int) -> None:
    query = cost.AthenaQuery("q", relation, columns)
    assert cost.athena_query_bytes(query, silver_bytes, 1) == expected


def test_small_run_pays_the_minimums() -> None:
    result = cost.estimate_run_cost(2_000_000, 400_000, 10_000, {"extract": 1.0, "quality": 40.0})
    glue = _item(result, "Glue", "job")
    assert glue["quantity"] == pytest.approx(2 * 60 / 3600)  # 2 DPU x the 1-minute minimum
    assert glue["usd"] == pytest.approx(2 * 60 / 3600 * 0.44, abs=1e-6)
    crawler = _item(result, "Glue", "crawler")
    assert crawler["usd"] == pytest.approx(2 * 600 / 3600 * 0.44, abs=1e-6)  # 10-minute minimum
    athena = _item(result, "Athena", "81 gold-build queries")
    assert athena["quantity"] == pytest.approx(81 * 10 * MB / 1024**4, rel=1e-4)
    assert athena["usd"] == pytest.approx(81 * 10 * MB / 1024**4 * 5.0, abs=1e-6)
    storage = _item(result, "S3", "storage")
    stored = 2_000_000 + 400_000 + cost.fct_sales_bytes(400_000)
    assert storage["usd"] == pytest.approx(stored / GB * 0.023, abs=1e-6)
    assert result["total_usd"] == pytest.approx(sum(i["usd"] for i in result["line_items"]), abs=1e-6)
    assert result["context"]["glue_job_seconds_source"] == "modelled"


def test_aws_run_uses_the_measured_glue_time_and_given_run_time() -> None:
    result = cost.estimate_run_cost(
        5 * GB,
        800 * MB,
        25_000_000,
        {"extract": 30.0, "bronze": 90.0, "silver": 300.0, "quality": 60.0, "gold": 20.0},
        backend="aws",
        environment_class="mw1.small",
        run_seconds=1800.0,
    )
    assert _item(result, "Glue", "job")["usd"] == pytest.approx(2 * 300 / 3600 * 0.44, abs=1e-6)
    assert _item(result, "MWAA", "mw1.small")["usd"] == pytest.approx(0.5 * 0.49, abs=1e-6)
    assert result["context"]["glue_job_seconds_source"] == "measured"
    assert result["context"]["mwaa_environment_day_usd"] == pytest.approx(11.76)
    assert result["usd_per_million_rows"] == pytest.approx(result["total_usd"] / 25, abs=1e-6)
    assert not any("not verified" in w for w in result["warnings"])


def test_no_crawler_when_tables_are_declared() -> None:
    with_crawler = cost.estimate_run_cost(10**8, 10**7, 10**6, {})
    without = cost.estimate_run_cost(10**8, 10**7, 10**6, {}, use_crawler=False)
    assert with_crawler["total_usd"] - without["total_usd"] > 0.14
    assert not any(i["item"].startswith("crawler") for i in without["line_items"])


def test_a_billion_rows_warns_about_the_glue_timeout_and_the_athena_cutoff() -> None:
    result = cost.estimate_for_rows(1_000_000_000)
    assert any("30-minute Timeout" in w for w in result["warnings"])
    assert any("BytesScannedCutoffPerQuery" in w for w in result["warnings"])
    assert cost.glue_workers_for_timeout(result["inputs"]["bronze_bytes"]) > cost.GLUE_WORKERS


@pytest.mark.parametrize("rows", [10_000, 10_000_000])
def test_small_and_medium_runs_fit_the_configured_limits(rows: int) -> None:
    result = cost.estimate_for_rows(rows)
    assert not any("Timeout" in w or "Cutoff" in w for w in result["warnings"])
    assert 0 < result["total_usd"] < 1


def test_cost_grows_with_rows() -> None:
    totals = [cost.estimate_for_rows(n)["total_usd"] for n in (10_000, 10_000_000, 1_000_000_000)]
    assert totals == sorted(totals)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"environment_class": "mw1.huge"}, "unknown MWAA environment class"),
        ({"glue_worker_type": "G.3X"}, "unknown Glue worker type"),
    ],
)
def test_rejects_unknown_configuration(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cost.estimate_run_cost(1, 1, 1, {}, **kwargs)


def test_rejects_negative_sizes() -> None:
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        cost.estimate_run_cost(-1, 0, 0, {})


def test_the_model_assumes_the_settings_declared_defaults() -> None:
    """Glue and dbt figures come from config.SETTINGS, so a changed default changes the model too."""
    from include.sales_analyzer.config import get_settings

    settings = get_settings({})
    assert (settings.glue_workers, settings.glue_worker_type) == (cost.GLUE_WORKERS, cost.GLUE_WORKER_TYPE)
    assert settings.glue_timeout_minutes == cost.GLUE_TIMEOUT_MINUTES
    assert cost.DBT_ATHENA_THREADS == settings.athena_dbt_threads == 4
