"""The extra links' URLs, the plugin's page per run, and the Athena query found in dbt's log."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from include.sales_analyzer.aws.gold import athena_queries, building_query
from include.sales_analyzer.operators import DataDocsLink, RunReportLink

# dbt's file log as dbt 1.11 writes it with dbt-athena 1.11 (logs/dbt.log; the lines' shape copied
# from a real run against the Athena player): two threads interleave, a statement spans lines and
# starts with dbt's query comment.
A = "\x1b[0m"
ADAPTER = "dbt.adapters.athena.constants adapter:"
COMMENT = '-- /* {"app": "dbt", "dbt_version": "1.11.16", "node_id": "model.sales_analytics.dim_date"} */'
DBT_LOG = f"""\
{A}06:01:02.000001 [debug] [MainThread]: Acquiring new athena connection 'master'
{A}06:01:02.100000 [debug] [Thread-1 (]: {ADAPTER} Execute: {COMMENT}

  create table "awsdatacatalog"."gold"."dim_date__ha"
    with (format='parquet')
  as
    select 1 as date_day
{A}06:01:02.200000 [debug] [Thread-2 (]: {ADAPTER} Execute: select count(*) from "gold"."other"
{A}06:01:02.300000 [debug] [Thread-2 (]: {ADAPTER} Athena query 22222222-aaaa started
{A}06:01:02.400000 [debug] [Thread-1 (]: {ADAPTER} Athena query 11111111-bbbb started
{A}06:01:02.500000 [debug] [Thread-1 (]: {ADAPTER} Athena query 11111111-bbbb has state SUCCEEDED
{A}06:01:03.000000 [info ] [Thread-1 (]: 1 of 3 OK created sql table model gold.dim_date
{A}06:01:03.100000 [debug] [Thread-1 (]: {ADAPTER} Execute: select * from "gold"."dim_date" where 1 = 0
{A}06:01:03.200000 [debug] [Thread-1 (]: {ADAPTER} Athena query 33333333-cccc started
"""


def test_athena_queries_pair_each_statement_with_its_thread_s_query_id() -> None:
    queries = athena_queries(DBT_LOG)
    assert [q for q, _ in queries] == ["22222222-aaaa", "11111111-bbbb", "33333333-cccc"]
    assert queries[0][1] == 'select count(*) from "gold"."other"'
    assert queries[1][1].startswith(COMMENT + "\n\n  create table")
    assert queries[1][1].endswith("select 1 as date_day")


def test_the_building_query_is_the_first_create_else_the_last() -> None:
    assert building_query(athena_queries(DBT_LOG)) == "11111111-bbbb"
    assert building_query([("a", "select 1"), ("b", "select 2")]) == "b"
    assert building_query([]) is None


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            "s3://lake/reports/runs/2026-01-15_manual__x.json",
            "https://s3.console.aws.amazon.com/s3/object/lake?prefix=reports/runs/2026-01-15_manual__x.json",
        ),
        ("/data/runs/2026-01-15_manual__2026-01-15T00_00_00_00_00.json", None),
        (None, ""),
    ],
)
def test_run_report_link(where: str | None, expected: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.example:8080/")
    link = RunReportLink().get_link(SimpleNamespace(run_report=where), ti_key=None)
    if expected is None:  # a local report: the plugin's page of that run, under the API server
        expected = (
            "http://airflow.example:8080/sales-analyzer/runs/2026-01-15_manual__2026-01-15T00_00_00_00_00"
        )
    assert link == expected


@pytest.mark.parametrize(
    ("docs", "expected"),
    [
        (
            "s3://lake/reports/quality/k/data_docs/index.html",
            "https://s3.console.aws.amazon.com/s3/object/lake?prefix=reports/quality/k/data_docs/index.html",
        ),
        (
            "/data/quality/data_docs/index.html",
            "http://airflow.example:8080/sales-analyzer/data-docs/index.html",
        ),
        (None, ""),
    ],
)
def test_data_docs_link(docs: str | None, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.example:8080")
    assert DataDocsLink().get_link(SimpleNamespace(data_docs=docs), ti_key=None) == expected


def test_the_plugin_serves_each_runs_report_by_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from plugins.sales_analyzer_plugin import app

    monkeypatch.setenv("SALES_DATA_DIR", str(tmp_path))
    report = {
        "run_id": "manual__one",
        "run_key": "2026-01-15_manual__one",
        "rows": {"bronze_lines": 5, "silver": 3, "quarantine": 1, "non_record_lines": 1},
        "conservation": {
            "holds": True,
            "bronze_lines": 5,
            "silver_rows": 3,
            "quarantined_lines": 1,
            "non_record_lines": 1,
        },
        "quality": {"success": True, "evaluated": 9, "failed": 0},
    }
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "2026-01-15_manual__one.json").write_text(json.dumps(report))
    (tmp_path / "secret.json").write_text("{}")
    client = TestClient(app)

    page = client.get("/runs/2026-01-15_manual__one")
    assert page.status_code == 200
    assert "<code id='run-id'>manual__one</code>" in page.text
    assert "Conservation holds: bronze 5 = silver 3 + quarantine 1 + header/blank 1" in page.text
    assert "href='../runs/2026-01-15_manual__one.json'" in page.text
    assert client.get("/runs/2026-01-15_manual__one.json").json() == report
    assert client.get("/runs/2026-01-15_manual__two").status_code == 404
    assert client.get("/runs/..%2Fsecret").status_code == 404
