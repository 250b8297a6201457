"""The whole DAG under a real `airflow dags test`, offline, on a file carrying every quirk.

Gold values, the BI views' rows included (bi_view_checks.py), are recomputed here from the
generated CSV with Python's csv module and Decimal, independently of DuckDB and dbt, and compared
with what the DAG built and published.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from include.sales_analyzer.extract.synthetic import generate_sales_csv
from tests.conftest import run_dag_test
from tests.integration.bi_view_checks import (
    BI_VIEWS,
    check_segment_share,
    clean,
    day,
    expected_monthly_revenue,
    expected_sales_enriched,
    read_views,
    record_fields,
)

ROWS, SEED = 3000, 11
# Known fake secrets planted in the run's environment: none may appear in any output.
SECRETS = {
    "KAGGLE_USERNAME": "planted-user",
    "KAGGLE_KEY": "kgl-planted-0123456789abcdef",
    "AWS_ACCESS_KEY_ID": "AKIAPLANTED0000EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "planted/Secret+Key/0123456789abcdefEXAMPLE",
}
REASON_OF_KIND = {
    "junk_line": "too_many_fields",
    "too_many_fields": "too_many_fields",
    "too_few_fields": "too_few_fields",
    "unbalanced_quote": "malformed_csv",
    "invalid_date": "invalid_date",
    "month_first_date": "invalid_date",
    "negative_sales": "out_of_range",
    "non_numeric_sales": "invalid_decimal",
    "missing_customer_id": "missing_value",
    "missing_order_id": "missing_value",
    "ship_before_order": "ship_date_before_order_date",
    "duplicate_row_id": "duplicate_row_id",
}
pytestmark = pytest.mark.slow


def expected_gold(path: Path, bad_lines: set[int]) -> dict:
    """Gold marts recomputed from the CSV: every record line not known to be bad."""
    yearly: dict = defaultdict(lambda: {"rows": 0, "revenue": Decimal(0), "customers": set()})
    regional: dict = defaultdict(Decimal)
    segment_yearly: dict = defaultdict(Decimal)
    products: dict = defaultdict(lambda: {"revenue": Decimal(0), "orders": set()})
    for f in record_fields(path, bad_lines):
        year = day(f[2]).year
        sales = Decimal(f[17])
        yearly[year]["rows"] += 1
        yearly[year]["revenue"] += sales
        yearly[year]["customers"].add(f[5])
        regional[f[12]] += sales
        segment_yearly[(year, f[7])] += sales
        product = products[clean(f[16])]
        product["revenue"] += sales
        product["orders"].add(f[1])
    top = sorted(products.items(), key=lambda kv: (-kv[1]["revenue"], kv[0]))[:10]
    return {
        "yearly": sorted((y, v["rows"], v["revenue"], len(v["customers"])) for y, v in yearly.items()),
        "regional_revenue": sorted(regional.items()),
        "segment_yearly": sorted((y, s, r) for (y, s), r in segment_yearly.items()),
        "top_products": [(n, v["revenue"], len(v["orders"])) for n, v in top],
    }


def published(data_dir: Path) -> dict:
    with duckdb.connect(str(data_dir / "sales_analytics.duckdb"), read_only=True) as con:
        return {
            "yearly": con.execute(
                "select order_year, rows, revenue, unique_customers from yearly order by 1"
            ).fetchall(),
            "regional_revenue": con.execute(
                "select region, revenue from regional_revenue order by 1"
            ).fetchall(),
            "segment_yearly": con.execute(
                "select order_year, segment, revenue from segment_yearly order by 1, 2"
            ).fetchall(),
            "top_products": con.execute(
                "select product_name, revenue, orders from top_products order by revenue_rank"
            ).fetchall(),
        }


def snapshot(data_dir: Path) -> dict:
    """Everything a rerun must reproduce: silver, quarantine and gold content."""
    lake = data_dir / "lake"
    with duckdb.connect() as con:
        silver = con.execute(
            f"select * from read_parquet('{lake}/silver/sales/**/*.parquet', hive_partitioning = true) "
            "order by row_id"
        ).fetchall()
        quarantine = con.execute(
            f"select * from read_parquet('{lake}/quarantine/sales/*/*.parquet') order by source_line"
        ).fetchall()
    gold = {p.name: p.read_bytes() for p in sorted((data_dir / "gold").glob("*.csv"))}
    return {"silver": silver, "quarantine": quarantine, "gold": gold, "published": published(data_dir)}


@pytest.fixture(scope="module")
def damaged_run(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_dir = tmp_path_factory.mktemp("data")
    reference = generate_sales_csv(
        tmp_path_factory.mktemp("ref") / "ref.csv", rows=ROWS, seed=SEED, damaged=True
    )
    conf = {"source": "synthetic", "rows": ROWS, "seed": SEED, "damaged": True}
    first = run_dag_test(airflow_home, data_dir, conf, **SECRETS)
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-3000:]
    state1 = snapshot(data_dir)
    report1 = json.loads((data_dir / "run_report.json").read_text())
    second = run_dag_test(airflow_home, data_dir, conf, **SECRETS)
    assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-3000:]
    return {
        "output": first.stdout + first.stderr + second.stdout + second.stderr,
        "airflow_home": airflow_home,
        "data_dir": data_dir,
        "reference": reference,
        "state1": state1,
        "report1": report1,
        "state2": snapshot(data_dir),
        "report2": json.loads((data_dir / "run_report.json").read_text()),
    }


def test_airflow_dags_test_ends_without_nanobinds_leak_report(damaged_run: dict) -> None:
    """Airflow's own `airflow dags test`, as a person runs it (no os._exit as `make run` has):
    while the quality gate ran inside this process, each run ended with "nanobind: leaked 50
    instances" and a list of DuckDB's types and functions (test_quality_gate_exit.py)."""
    assert "nanobind" not in damaged_run["output"]
    assert "leaked" not in damaged_run["output"]


def test_bronze_is_the_source_byte_for_byte(damaged_run: dict) -> None:
    data_dir, ref = damaged_run["data_dir"], damaged_run["reference"]
    (bronze,) = (data_dir / "lake" / "bronze" / "sales" / "ingest_date=2026-01-15").iterdir()
    assert bronze.read_bytes() == ref.path.read_bytes()
    assert damaged_run["report1"]["bronze"]["lines"] == ref.total_lines


def test_every_line_is_accounted_for(damaged_run: dict) -> None:
    ref, report = damaged_run["reference"], damaged_run["report1"]
    blank = len(ref.blank_lines)
    bad = ref.quarantined
    assert any(q.is_kept for q in ref.injected)  # records with fewer trailing empty fields
    assert report["conservation"] == {
        "bronze_lines": ref.total_lines,
        "silver_rows": ref.total_lines - 1 - blank - len(bad),
        "quarantined_lines": len(bad),
        "non_record_lines": 1 + blank,
        "holds": True,
    }
    expected_reasons: dict = defaultdict(int)
    for q in bad:
        expected_reasons[REASON_OF_KIND[q.kind]] += 1
    assert report["quarantine_by_reason"] == dict(expected_reasons)


def test_quarantine_names_each_line_and_reason(damaged_run: dict) -> None:
    ref = damaged_run["reference"]
    got = {row[2]: row for row in damaged_run["state1"]["quarantine"]}  # by source_line
    for q in ref.injected:
        if not q.is_quarantined:
            assert q.line_number not in got, q
            continue
        row = got[q.line_number]
        assert row[3] == q.text, q  # raw line kept as it was
        assert row[4] == REASON_OF_KIND[q.kind], q


def test_gold_values_match_an_independent_computation(damaged_run: dict) -> None:
    ref = damaged_run["reference"]
    bad = {q.line_number for q in ref.quarantined}
    assert damaged_run["state1"]["published"] == expected_gold(ref.path, bad)


def test_bi_views_are_views_in_gold_published_and_exported(damaged_run: dict) -> None:
    """Cosmos built the BI views as views in gold; publish_gold copied them, with the marts."""
    views = read_views(damaged_run["data_dir"])
    assert {v: views["kinds"].get(v) for v in BI_VIEWS} == dict.fromkeys(BI_VIEWS, "VIEW")
    for view in BI_VIEWS:
        assert views["built"][view], view
        assert views["published"][view] == views["built"][view], view
        assert views["exports"][view] == [f"{view}.csv", f"{view}.parquet"], view


def test_v_sales_enriched_rows(damaged_run: dict) -> None:
    ref = damaged_run["reference"]
    expected = expected_sales_enriched(ref)
    assert len(expected) == ref.silver_rows
    assert read_views(damaged_run["data_dir"])["built"]["v_sales_enriched"] == expected


def test_v_monthly_revenue_rows(damaged_run: dict) -> None:
    expected = expected_monthly_revenue(damaged_run["reference"])
    assert len(expected) > 12
    assert read_views(damaged_run["data_dir"])["built"]["v_monthly_revenue"] == expected


def test_v_segment_share_rows(damaged_run: dict) -> None:
    ref = damaged_run["reference"]
    bad = {q.line_number for q in ref.quarantined}
    revenue = {(y, s): r for y, s, r in expected_gold(ref.path, bad)["segment_yearly"]}
    check_segment_share(read_views(damaged_run["data_dir"])["built"]["v_segment_share"], revenue)


def test_quality_gate_and_reports(damaged_run: dict) -> None:
    data_dir, report = damaged_run["data_dir"], damaged_run["report1"]
    assert report["quality"]["success"] is True
    assert report["quality"]["failed"] == 0
    assert report["quality"]["evaluated"] >= 30
    assert Path(report["quality"]["data_docs"]).is_file()
    assert report["source"]["source"] == "synthetic"
    assert set(report["timings_seconds"]) >= {"extract", "bronze", "silver", "quality", "gold"}
    assert report["rows"]["gold_tables"]["fct_sales"] == report["rows"]["silver"]
    assert 0 < report["cost_estimate_aws"]["total_usd"] < 5
    assert {i["service"] for i in report["cost_estimate_aws"]["line_items"]} >= {"Glue", "Athena"}
    assert len(list((data_dir / "runs").glob("*.json"))) >= 1
    history = (data_dir / "etl_pipeline.log").read_text().splitlines()
    assert len(history) == 2
    assert all(json.loads(line)["conservation_holds"] for line in history)


def test_rerun_is_idempotent(damaged_run: dict) -> None:
    data_dir = damaged_run["data_dir"]
    assert damaged_run["state2"] == damaged_run["state1"]
    assert damaged_run["report2"]["bronze"]["reused"] is True
    bronze_files = list((data_dir / "lake" / "bronze" / "sales").rglob("*.csv"))
    assert len(bronze_files) == 1
    live = (data_dir / "lake" / "silver" / "sales").resolve()
    versions = list(live.parent.iterdir())
    assert live in versions and len(versions) <= 2
    assert not list((data_dir / "lake" / "_staging").glob("*/lines.parquet"))


def test_no_planted_secret_in_logs_or_reports(damaged_run: dict) -> None:
    texts = {"dags test output": damaged_run["output"]}
    for folder in (damaged_run["airflow_home"] / "logs", damaged_run["data_dir"]):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in {".log", ".json", ".txt", ""}:
                texts[str(path)] = path.read_text(errors="replace")
    assert len(texts) > 3
    for name, text in texts.items():
        for secret in SECRETS.values():
            if secret != SECRETS["KAGGLE_USERNAME"]:
                assert secret not in text, f"{secret!r} leaked into {name}"


def test_run_report_reliability_section(damaged_run: dict) -> None:
    reliability = damaged_run["report1"]["reliability"]
    assert reliability["conservation_holds"] is True
    assert reliability["quarantine_by_reason"] == damaged_run["report1"]["quarantine_by_reason"]
    assert reliability["retries"]["silver"] == 0
    assert set(reliability["retries"]) >= {"extract", "bronze", "silver", "quality", "gold"}
