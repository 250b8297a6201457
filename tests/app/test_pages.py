"""Every page driven through Streamlit's AppTest: what it shows equals SQL run on the gold tables."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP

SALES_PAGES = ["overview", "revenue", "breakdowns", "top", "shipping"]
PIPELINE_PAGES = ["run_report", "quality", "quarantine", "history"]
START, END = date(2016, 1, 1), date(2017, 12, 31)
CHOSEN = {
    "region": ["East", "West"],
    "segment": ["Consumer", "Corporate"],
    "category": ["Furniture", "Technology"],
}
PARAMS = {
    "start": START,
    "end": END,
    "regions": CHOSEN["region"],
    "segments": CHOSEN["segment"],
    "categories": CHOSEN["category"],
}
# The filtered fact rows, written independently of the app's sql/filtered_sales.sql.
FILTERED = """
    from fct_sales as f
    join dim_geography as g using (geography_key)
    join dim_product as p using (product_id)
    where f.order_date between $start and $end
      and list_contains($regions, g.region)
      and list_contains($segments, f.segment)
      and list_contains($categories, p.category)
"""
COUNTS = (
    "sum(f.sales) as revenue, count(distinct f.order_id) as orders,"
    " count(distinct f.customer_id) as customers"
)
INJECTION = "East'; drop table fct_sales; --"
Gold = Callable[..., pd.DataFrame]


def show(at: AppTest, name: str) -> AppTest:
    """Switch to a page, run it, and fail on any exception it shows."""
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def with_filters(at: AppTest) -> AppTest:
    """Run the app and set every sidebar filter."""
    at.run()
    at.date_input(key="dates").set_value((START, END))
    for key, values in CHOSEN.items():
        at.multiselect(key=key).set_value(values)
    return at.run()


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    """Metric label -> (value, delta) as displayed."""
    return {m.label: (m.value, m.delta) for m in at.metric}


def tables(at: AppTest) -> list[pd.DataFrame]:
    """The page's tables, each checked to come with a CSV download."""
    frames = [d.value.reset_index(drop=True) for d in at.dataframe]
    assert len(at.get("download_button")) == len(frames)
    return frames


def dollars(text: str) -> float:
    """'$1,234.56' -> 1234.56."""
    return float(text.replace("$", "").replace(",", ""))


def same(shown: pd.DataFrame, expected: pd.DataFrame, by: list[str]) -> None:
    """Equal frames whatever the row order, to the cent."""
    left = shown[expected.columns].sort_values(by, ignore_index=True)
    right = expected.sort_values(by, ignore_index=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False, check_exact=False, atol=0.005)


@pytest.fixture(scope="module")
def filtered(gold: Gold) -> Callable[[str, str], pd.DataFrame]:
    """SQL over the filtered fact rows: select list, then what follows the where clause."""
    return lambda select, rest="": gold(f"select {select} {FILTERED} {rest}", PARAMS)


def test_overview_headline_figures_and_growth(app: AppTest, gold: Gold, filtered) -> None:
    at = show(with_filters(app), "overview")
    now = filtered(COUNTS + ", count(*) as lines").iloc[0]
    previous_end = START - timedelta(days=1)
    before = gold(
        f"select {COUNTS} {FILTERED}",
        {**PARAMS, "start": previous_end - (END - START), "end": previous_end},
    ).iloc[0]
    shown = metrics(at)

    assert dollars(shown["Revenue"][0]) == pytest.approx(now.revenue, abs=0.5)
    assert shown["Orders"][0] == f"{int(now.orders):,}"
    assert shown["Customers"][0] == f"{int(now.customers):,}"
    assert shown["Order lines"][0] == f"{int(now.lines):,}"
    assert dollars(shown["Average order value"][0]) == pytest.approx(now.revenue / now.orders, abs=0.005)
    assert shown["Revenue"][1] == f"{now.revenue / before.revenue - 1:+.1%}"
    assert shown["Orders"][1] == f"{now.orders / before.orders - 1:+.1%}"
    headline = tables(at)[0].set_index("measure")
    assert headline.loc["Revenue", "selected_period"] == pytest.approx(now.revenue, abs=0.005)
    assert headline.loc["Revenue", "previous_period"] == pytest.approx(before.revenue, abs=0.005)
    assert headline.loc["Customers", "previous_period"] == before.customers


def test_revenue_monthly_and_year_on_year(app: AppTest, filtered) -> None:
    at = show(with_filters(app), "revenue")
    monthly, yearly = tables(at)
    expected_monthly = filtered(f"f.order_year, f.order_month, {COUNTS}", "group by all")
    expected_yearly = filtered(f"f.order_year, {COUNTS}", "group by all order by 1")
    expected_yearly["yoy_growth"] = expected_yearly["revenue"] / expected_yearly["revenue"].shift() - 1

    same(monthly, expected_monthly, ["order_year", "order_month"])
    same(yearly, expected_yearly, ["order_year"])


@pytest.mark.parametrize(
    ("tab", "dimension", "column"),
    [
        (0, "region", "g.region"),
        (1, "state", "g.state"),
        (2, "segment", "f.segment"),
        (3, "category", "p.category"),
        (4, "sub_category", "p.sub_category"),
    ],
)
def test_breakdowns(app: AppTest, filtered, tab: int, dimension: str, column: str) -> None:
    at = show(with_filters(app), "breakdowns")
    shown = tables(at)[tab]
    expected = filtered(
        f"{column} as {dimension}, sum(f.sales) as revenue, count(distinct f.order_id) as orders,"
        " count(distinct f.customer_id) as customers",
        "group by all",
    )
    same(shown, expected, [dimension])
    assert shown["share"].sum() == pytest.approx(1.0)
    assert shown["revenue"].is_monotonic_decreasing


def test_top_products_and_customers_with_search(app: AppTest, gold: Gold, filtered) -> None:
    at = show(with_filters(app), "top")
    at.slider(key="top_n").set_value(5).run()
    products, customers = tables(at)
    expected_products = filtered(
        "f.product_id, sum(f.sales) as revenue, count(distinct f.order_id) as orders",
        "group by all order by revenue desc, product_id limit 5",
    )
    expected_customers = filtered(
        "f.customer_id, sum(f.sales) as revenue, count(distinct f.order_id) as orders",
        "group by all order by revenue desc, customer_id limit 5",
    )
    same(products, expected_products, ["product_id"])
    same(customers, expected_customers, ["customer_id"])
    assert products["revenue_rank"].tolist() == [1, 2, 3, 4, 5]
    names = gold("select customer_id, customer_name from dim_customer")
    assert (
        customers.merge(names, on="customer_id", suffixes=("", "_dim"))
        .eval("customer_name == customer_name_dim")
        .all()
    )

    at.text_input(key="product_search").input("Table").run()
    searched = tables(at)[0]
    expected_search = filtered(
        "f.product_id, sum(f.sales) as revenue",
        "and p.product_name ilike '%table%' group by all order by revenue desc, product_id limit 5",
    )
    assert not at.exception
    same(searched, expected_search, ["product_id"])


def test_shipping(app: AppTest, filtered) -> None:
    at = show(with_filters(app), "shipping")
    modes, days = tables(at)
    expected_modes = filtered(
        "f.ship_mode, count(*) as order_lines, count(distinct f.order_id) as orders, sum(f.sales) as revenue,"
        " avg(f.days_to_ship) as avg_days_to_ship",
        "group by all",
    )
    expected_days = filtered("f.days_to_ship, f.ship_mode, count(*) as order_lines", "group by all")
    overall = filtered("avg(f.days_to_ship) as mean_days, avg((f.days_to_ship <= 3)::int) as within_3").iloc[
        0
    ]
    shown = metrics(at)

    same(modes, expected_modes, ["ship_mode"])
    same(days, expected_days, ["days_to_ship", "ship_mode"])
    assert shown["Average days to ship"][0] == f"{overall.mean_days:.2f}"
    assert shown["Shipped within 3 days"][0] == f"{overall.within_3:.1%}"


def test_filters_apply_on_every_sales_page_after_visiting_a_pipeline_page(app: AppTest, filtered) -> None:
    at = with_filters(app)
    revenue = filtered("sum(f.sales) as revenue").iloc[0].revenue
    for name in ["run_report", *SALES_PAGES]:
        show(at, name)
    assert [w.value for w in at.multiselect] == list(CHOSEN.values())
    assert at.date_input(key="dates").value == (START, END)
    assert tables(at)[0]["revenue"].sum() == pytest.approx(revenue)


def test_latest_run_report(app: AppTest, gold_dir: Path, gold: Gold) -> None:
    at = show(app, "run_report")
    report = json.loads((gold_dir / "run_report.json").read_text())
    rows, law = report["rows"], report["conservation"]
    shown = metrics(at)
    layers, timings = tables(at)

    assert shown["Bronze lines"][0] == f"{rows['bronze_lines']:,}"
    assert shown["Silver rows"][0] == f"{rows['silver']:,}"
    assert shown["Quarantined lines"][0] == f"{rows['quarantine']:,}"
    assert shown["Quality gate"][0] == ("passed" if report["quality"]["success"] else "failed")
    assert rows["quarantine"] > 0
    assert at.success[0].value == (
        f"Conservation law holds: bronze {law['bronze_lines']:,} lines = silver {law['silver_rows']:,} rows"
        f" + quarantine {law['quarantined_lines']:,} lines + header/blank {law['non_record_lines']:,} lines"
    )
    assert report["bronze"]["sha256"] in [c.value for c in at.code]
    gold_rows = layers[layers["layer"] == "gold"].set_index("table")["rows"].to_dict()
    assert gold_rows == rows["gold_tables"]
    assert gold_rows["fct_sales"] == gold("select count(*) as n from fct_sales").n[0] == rows["silver"]
    assert timings["stage"].tolist() == list(report["timings_seconds"])


def test_quality_gate(app: AppTest, gold_dir: Path) -> None:
    at = show(app, "quality")
    report = json.loads((gold_dir / "quality_report.json").read_text())
    shown = metrics(at)
    expectations = tables(at)[0]

    assert shown["Result"][0] == ("passed" if report["success"] else "failed")
    assert shown["Expectations evaluated"][0] == str(report["evaluated"])
    assert shown["Failed"][0] == str(report["failed"])
    assert shown["Warnings"][0] == str(report["warnings"])
    assert set(expectations["severity"]) <= {"critical", "warning"}
    assert Counter(expectations["expectation"]) == Counter(x["expectation"] for x in report["expectations"])
    assert any("Data Docs" in m.value for m in at.markdown)


def test_quarantine_browser(app: AppTest, gold_dir: Path) -> None:
    at = show(app, "quarantine")
    files = sorted((gold_dir / "lake" / "quarantine" / "sales").glob("ingest_date=*/quarantine.parquet"))
    path = str(files[-1])
    with duckdb.connect() as con:
        by_reason = con.execute(
            "select reason, count(*) as lines from read_parquet(?) group by reason", [path]
        ).df()
        invalid_dates = con.execute(
            "select source_line from read_parquet(?) where reason = 'invalid_date' order by 1", [path]
        ).df()
        every_line = con.execute("select source_line from read_parquet(?) order by 1", [path]).df()
        held = con.execute("select coalesce(sum(revenue), 0) from read_parquet(?)", [path]).fetchone()[0]
        findings = con.execute(
            "select action, rule, column_name, count(*) as values from read_parquet(?) group by all",
            [
                path.replace("/quarantine/sales/", "/repairs/sales/").replace(
                    "quarantine.parquet", "repairs.parquet"
                )
            ],
        ).df()
    reasons, lines, finding_counts, repairs = tables(at)
    assert metrics(at)["Revenue held"][0] == ("-" if held < 0 else "") + f"${abs(held):,.2f}"
    same(finding_counts, findings, ["action", "rule", "column_name"])
    assert len(repairs) == min(int(findings["values"].sum()), 1000)

    same(reasons, by_reason, ["reason"])
    report = json.loads((gold_dir / "run_report.json").read_text())
    assert dict(zip(reasons["reason"], reasons["lines"], strict=True)) == report["quarantine_by_reason"]
    assert lines["source_line"].tolist() == every_line["source_line"].tolist()
    assert lines["raw_line"].notna().any()

    at.selectbox(key="reason").set_value("invalid_date").run()
    assert tables(at)[1]["source_line"].tolist() == invalid_dates["source_line"].tolist()


def test_run_history(app: AppTest, gold_dir: Path) -> None:
    at = show(app, "history")
    runs, log = tables(at)
    run_files = sorted((gold_dir / "runs").glob("*.json"))
    log_lines = (gold_dir / "etl_pipeline.log").read_text().splitlines()

    assert sorted(runs["run_key"]) == [p.stem for p in run_files]
    assert len(log) == len(log_lines)
    assert log["sha256"].tolist()[0] == json.loads(log_lines[-1])["sha256"]


def test_injected_query_params_change_nothing(app: AppTest, gold: Gold) -> None:
    """Filters arrive in the URL too; values crafted as SQL are dropped and nothing breaks."""
    before = gold("select count(*) as n, sum(sales) as revenue from fct_sales")
    app.query_params["region"] = [INJECTION, "West"]
    app.query_params["segment"] = "Consumer' or '1'='1"
    app.query_params["category"] = "x'); drop table dim_product; --"
    at = app.run()
    assert not at.exception
    west = gold(
        "select sum(f.sales) as revenue from fct_sales as f join dim_geography as g using (geography_key)"
        " where g.region = 'West'"
    ).revenue[0]

    assert [w.value for w in at.multiselect] == [["West"], [], []]
    assert dollars(metrics(at)["Revenue"][0]) == pytest.approx(west, abs=0.5)
    assert gold("select count(*) as n, sum(sales) as revenue from fct_sales").equals(before)
    assert gold("select count(*) as n from dim_product").n[0] > 0


def test_injected_search_text_matches_nothing(app: AppTest, gold: Gold) -> None:
    before = gold("select count(*) as n from fct_sales")
    at = show(app, "top")
    at.text_input(key="product_search").input(INJECTION).run()
    at.text_input(key="customer_search").input("' or '1'='1").run()

    assert not at.exception
    assert [i.value for i in at.info] == ["No products match.", "No customers match."]
    assert gold("select count(*) as n from fct_sales").equals(before)


@pytest.mark.parametrize("name", SALES_PAGES + PIPELINE_PAGES)
def test_without_data_every_page_shows_the_command(empty_data_dir: Path, name: str) -> None:
    at = show(AppTest.from_file(str(APP), default_timeout=60), name)
    assert at.info[0].value.startswith("No ")
    assert [c.value for c in at.code] == ["make run"]


def test_gold_from_an_older_pipeline_asks_for_a_rebuild(
    gold_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(gold_dir / "sales_analytics.duckdb", tmp_path / "sales_analytics.duckdb")
    with duckdb.connect(str(tmp_path / "sales_analytics.duckdb")) as con:
        con.execute("alter table fct_sales drop column segment")
    monkeypatch.setenv("SALES_DATA_DIR", str(tmp_path))
    at = show(AppTest.from_file(str(APP), default_timeout=60), "overview")
    assert "older version of the pipeline" in at.info[0].value
    assert [c.value for c in at.code] == ["make run"]


def test_a_new_publish_is_read_without_a_restart(
    gold_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline replaces the file (os.replace); the app notices and reads the new one."""
    live = tmp_path / "sales_analytics.duckdb"
    shutil.copyfile(gold_dir / "sales_analytics.duckdb", live)
    monkeypatch.setenv("SALES_DATA_DIR", str(tmp_path))
    at = show(AppTest.from_file(str(APP), default_timeout=60), "overview")
    first = dollars(metrics(at)["Revenue"][0])

    fresh = tmp_path / ".sales_analytics.duckdb.tmp"
    shutil.copyfile(gold_dir / "sales_analytics.duckdb", fresh)
    with duckdb.connect(str(fresh)) as con:
        con.execute("delete from fct_sales where order_year < 2018")
        con.execute("update _pipeline_refresh set run_key = 'republished'")
        revenue_2018 = con.execute("select sum(sales)::double from fct_sales").fetchone()[0]
    os.replace(fresh, live)
    at.run()

    assert not at.exception
    assert dollars(metrics(at)["Revenue"][0]) == pytest.approx(revenue_2018, abs=0.5) != first
    assert any("republished" in c.value for c in at.caption)
