"""The BI views on the aws backend: the view DDL dbt-athena sends to Athena, recorded and checked.

This runs the real dbt-athena (the .venv-dbt virtualenv) with the profile Cosmos builds
(gold.profile_config) in dbt's workgroup, `dbt build` of the three views and every model they
read, against moto in server mode. moto's own Athena executes nothing and returns empty results;
the emulator's AthenaPlayer records every statement and plays it on DuckDB (sqlglot's Trino ->
DuckDB), so dbt-athena can read back what it created and the views' tests can run. What it
cannot show is that Athena (Trino) accepts the SQL: here the recorded DDL is parsed as Trino, and
tests/unit/test_athena_sql.py holds the Athena SQL's meaning equal to the DuckDB build's; the
views' values are checked in tests/integration/test_bi_views.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from unittest import mock

import pytest
import sqlglot
import yaml
from sqlglot import exp

from include.sales_analyzer.config import DBT_PROJECT_DIR, get_settings
from tests.integration.aws_emulator import SECRET_ACCESS_KEY, AthenaPlayer, MotoAws, default_names
from tests.integration.test_aws_gold_location import lake  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow
NAMES = default_names()
# The relations and columns BI users (QuickSight) read: a published interface.
BI_COLUMNS = {
    "v_sales_enriched": [
        "row_id",
        "order_id",
        "order_date",
        "ship_date",
        "days_to_ship",
        "ship_mode",
        "order_year",
        "order_month",
        "segment",
        "sales",
        "customer_id",
        "customer_name",
        "product_id",
        "product_name",
        "category",
        "sub_category",
        "country",
        "region",
        "state",
        "city",
        "postal_code",
    ],
    "v_monthly_revenue": [
        "order_year",
        "order_month",
        "month_start",
        "orders",
        "order_lines",
        "revenue",
        "unique_customers",
        "average_order_value",
    ],
    "v_segment_share": ["order_year", "segment", "revenue", "revenue_share", "segment_rank"],
}
# What each view reads in gold.
BI_SOURCES = {
    "v_sales_enriched": {"fct_sales", "dim_customer", "dim_product", "dim_geography"},
    "v_monthly_revenue": {"monthly", "dim_date"},
    "v_segment_share": {"segment_yearly"},
}


@pytest.fixture(scope="module")
def athena_build(lake: MotoAws) -> dict:  # noqa: F811 (the imported fixture)
    """`dbt build` of the BI views and their parents with the Cosmos profile, statements recorded."""
    from include.sales_analyzer.gold import profile_config

    env = {**os.environ, **lake.airflow_env()}
    settings = get_settings(env)
    with mock.patch.dict(os.environ, lake.airflow_env()):  # the mapping reads AIRFLOW_CONN_AWS_DEFAULT
        profile = profile_config(settings).profile_mapping.profile
    profile.update(aws_secret_access_key=SECRET_ACCESS_KEY)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "profiles.yml").write_text(
            yaml.safe_dump({"sales_analytics": {"target": "aws", "outputs": {"aws": profile}}})
        )
        target = Path(tmp) / "target"
        cmd = [settings.dbt_executable, "build", "--select", *(f"+{v}" for v in BI_COLUMNS)]
        cmd += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", tmp, "--target-path", str(target)]
        env.update(
            SALES_SILVER_SCHEMA=NAMES["glue_database"], DBT_SEND_ANONYMOUS_USAGE_STATS="False", NO_COLOR="1"
        )
        with AthenaPlayer(lake) as player:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500, check=False)
        failed = [f"{s.kind} {s.relation}: {s.reason}" for s in player.statements if s.state != "SUCCEEDED"]
        assert proc.returncode == 0, proc.stdout[-5000:] + f"\nAthena statements that failed: {failed}"
        results = json.loads((target / "run_results.json").read_text())["results"]
        manifest = json.loads((target / "manifest.json").read_text())
        compiled = {
            p.stem: p.read_text()
            for p in (target / "compiled").rglob("models/bi/*.sql")
            if p.stem in BI_COLUMNS
        }
    views = {f"model.sales_analytics.{v}" for v in BI_COLUMNS}
    tests = {
        uid
        for uid, node in {**manifest["nodes"], **manifest.get("unit_tests", {})}.items()
        if node["resource_type"] in ("test", "unit_test") and views & set(node["depends_on"]["nodes"])
    }
    return {"player": player, "results": results, "compiled": compiled, "views_tests": tests}


def _views(build: dict) -> dict[str, list]:
    views: dict[str, list] = {}
    for statement in build["player"].by_kind("view"):
        views.setdefault(statement.relation[1], []).append(statement)
    return views


@pytest.mark.parametrize("view", sorted(BI_COLUMNS))
def test_view_ddl_reaches_athena_in_gold(athena_build: dict, view: str) -> None:
    """One `create or replace view` per view, in gold, in dbt's workgroup, valid Trino."""
    (statement,) = _views(athena_build)[view]
    assert statement.relation == ("gold", view)
    assert statement.workgroup == NAMES["athena_dbt_workgroup"]
    assert statement.state == "SUCCEEDED"
    ddl = sqlglot.parse_one(statement.query, read="trino")
    assert isinstance(ddl, exp.Create) and ddl.kind == "VIEW" and ddl.args.get("replace") is True
    assert [p.name for p in ddl.this.parts] == ["awsdatacatalog", "gold", view]
    # The view's body is the model dbt compiled, as it is.
    assert ddl.expression == sqlglot.parse_one(athena_build["compiled"][view], read="trino")
    ctes = {c.alias_or_name for c in ddl.expression.find_all(exp.CTE)}
    read = {
        tuple(p.name for p in t.parts)
        for t in ddl.expression.find_all(exp.Table)
        if t.db or t.name not in ctes
    }
    assert read == {("awsdatacatalog", "gold", name) for name in BI_SOURCES[view]}


@pytest.mark.parametrize("view", sorted(BI_COLUMNS))
def test_view_in_the_glue_catalog_has_the_bi_columns(athena_build: dict, lake: MotoAws, view: str) -> None:  # noqa: F811
    table = lake.client("glue").get_table(DatabaseName="gold", Name=view)["Table"]
    assert table["TableType"] == "VIRTUAL_VIEW"
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == BI_COLUMNS[view]


def test_views_tests_ran_and_passed_on_athena(athena_build: dict) -> None:
    """Every data test and unit test on the views ran through dbt-athena and passed."""
    expected = athena_build["views_tests"]
    assert {uid.split(".")[0] for uid in expected} == {"test", "unit_test"}
    status = {r["unique_id"]: r["status"] for r in athena_build["results"] if r["unique_id"] in expected}
    assert set(status) == expected
    assert set(status.values()) == {"pass"}, status
