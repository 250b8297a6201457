"""Gold parity: the SQL Athena runs is valid Trino and means what the local DuckDB gold means.

- dbt compiles the project for both targets offline (`dbt compile --no-populate-cache` needs no
  connection, so fake credentials do for the athena target).
- Every model dbt compiles for Athena (the BI views included) parses as Trino with sqlglot.
- dbt's Athena models, transpiled to DuckDB, rebuild gold and the BI views from the same silver
  and must equal what dbt builds for the duckdb target. The BI views' values are checked against
  an independent computation in tests/integration/test_pipeline_dag.py (bi_view_checks.py), and
  the view DDL dbt-athena sends in tests/integration/test_aws_backend.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest
import sqlglot
import yaml
from sqlglot import exp

from include.sales_analyzer import silver as sv
from include.sales_analyzer.config import DBT_PROJECT_DIR, REPO_ROOT
from include.sales_analyzer.extract.synthetic import generate_sales_csv

DBT = os.environ.get("SALES_DBT_EXECUTABLE", str(REPO_ROOT / ".venv-dbt" / "bin" / "dbt"))
MODELS = sorted(p.stem for p in (DBT_PROJECT_DIR / "models").rglob("*.sql"))
EPHEMERAL = {"int_order_lines_enriched"}
BI_VIEWS = ("v_sales_enriched", "v_monthly_revenue", "v_segment_share")
SILVER_SCHEMA = "sales_analytics"  # SALES_SILVER_SCHEMA on AWS: the Glue database
DAY = "2026-01-15"


def profiles(tmp: Path, warehouse: Path) -> Path:
    """A profiles.yml with both targets; the athena one has fake credentials (compile needs none)."""
    doc = {
        "sales_analytics": {
            "target": "local",
            "outputs": {
                "local": {"type": "duckdb", "path": str(warehouse), "threads": 1, "schema": "main"},
                "aws": {
                    "type": "athena",
                    "database": "awsdatacatalog",
                    "schema": SILVER_SCHEMA,
                    "region_name": "us-east-1",
                    "work_group": "sales_analytics",
                    "s3_staging_dir": "s3://bucket/athena-results/",
                    "s3_data_dir": "s3://bucket/gold/",
                    "aws_access_key_id": "AKIAFAKEKEYID0000001",
                    "aws_secret_access_key": "fake",
                    "threads": 1,
                },
            },
        }
    }
    (tmp / "profiles.yml").write_text(yaml.safe_dump(doc))
    return tmp


def dbt(args: list[str], tmp: Path, target: str, silver_schema: str) -> subprocess.Popen:
    """Start dbt on the project with its own target and log paths (the repo's target/ is Cosmos')."""
    env = {
        **os.environ,
        "SALES_SILVER_SCHEMA": silver_schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }
    cmd = [DBT, *args, "--target", target, "--project-dir", str(DBT_PROJECT_DIR)]
    cmd += ["--profiles-dir", str(tmp), "--target-path", str(tmp / f"target_{target}")]
    cmd += ["--log-path", str(tmp / f"logs_{target}")]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def build_silver(tmp: Path) -> Path:
    """Silver Parquet of a seeded damaged file, by the local DuckDB engine."""
    generated = generate_sales_csv(tmp / "landing" / "sales.csv", rows=600, seed=5, damaged=True)
    paths = sv.SilverPaths.for_run(tmp / "lake", generated.path, DAY, "parity")
    sv.prepare_dirs(paths)
    sql = sv.render_silver_sql(sv.inspect_header(generated.path), paths, DAY, generated.path.name)
    with duckdb.connect() as con:
        con.execute(sql)
    return paths.silver_version_dir


def silver_view_sql(schema: str, silver_dir: Path) -> str:
    return (
        f"create schema if not exists {schema}; create or replace view {schema}.sales as "
        f"select * from read_parquet('{silver_dir}/**/*.parquet', hive_partitioning = true, "
        "hive_types = {'order_year': integer, 'order_month': integer})"
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """dbt compile (athena) and dbt run (duckdb) of the project, side by side, on one silver."""
    tmp = tmp_path_factory.mktemp("dbt")
    warehouse = tmp / "build.duckdb"
    silver_dir = build_silver(tmp)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(silver_view_sql("silver", silver_dir))
    profiles(tmp, warehouse)
    athena = dbt(["compile", "--no-populate-cache"], tmp, "aws", SILVER_SCHEMA)
    local = dbt(["run"], tmp, "local", "silver")
    outputs = {"aws": athena.communicate(timeout=300)[0], "local": local.communicate(timeout=300)[0]}
    assert athena.returncode == 0, outputs["aws"][-3000:]
    assert local.returncode == 0, outputs["local"][-3000:]
    manifest = json.loads((tmp / "target_aws" / "manifest.json").read_text())
    return {"tmp": tmp, "warehouse": warehouse, "silver_dir": silver_dir, "manifest": manifest}


def athena_models(manifest: dict) -> dict[str, dict]:
    return {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["package_name"] == "sales_analytics"
    }


def test_every_model_compiles_for_both_targets(built: dict) -> None:
    tmp = built["tmp"]
    for target in ("aws", "local"):
        compiled = {p.stem for p in (tmp / f"target_{target}" / "compiled").rglob("models/**/*.sql")}
        compiled = {c for c in compiled if c in MODELS}
        assert compiled == set(MODELS), (target, set(MODELS) - compiled)


@pytest.mark.parametrize("model", [m for m in MODELS if m not in EPHEMERAL])
def test_athena_model_sql_parses_as_trino(built: dict, model: str) -> None:
    node = athena_models(built["manifest"])[model]
    assert node["relation_name"].startswith('"awsdatacatalog".')
    (statement,) = sqlglot.parse(node["compiled_code"], read="trino")
    assert isinstance(statement, exp.Query), model


def test_bi_views_are_views_over_gold(built: dict) -> None:
    """The BI views are dbt views in Athena's gold database, reading only gold models there."""
    nodes = athena_models(built["manifest"])
    for view in BI_VIEWS:
        node = nodes[view]
        assert node["config"]["materialized"] == "view", view
        assert node["relation_name"] == f'"awsdatacatalog"."gold"."{view}"'
        statement = sqlglot.parse_one(node["compiled_code"], read="trino")
        ctes = {c.alias_or_name for c in statement.find_all(exp.CTE)}
        tables = [t for t in statement.find_all(exp.Table) if t.db or t.name not in ctes]
        sources = {".".join(part.name for part in t.parts) for t in tables}
        assert sources and all(s.startswith("awsdatacatalog.gold.") for s in sources), (view, sources)


def _trino_meaning(node: exp.Expression) -> exp.Expression:
    """Spell in DuckDB what Trino means where sqlglot picks a DuckDB function of another meaning."""
    # Trino's EXTRACT(DOW ...) is ISO (Monday 1 .. Sunday 7); sqlglot writes DuckDB's DAYOFWEEK (Sunday 0).
    if isinstance(node, exp.Extract) and node.this.name.upper() in ("DOW", "DAY_OF_WEEK"):
        return exp.Anonymous(this="ISODOW", expressions=[node.expression])
    # Trino's to_milliseconds(interval) is a length in ms; DuckDB's builds an interval from ms.
    # dbt-athena's datediff passes it `date - date`, which in DuckDB is a number of days.
    if isinstance(node, exp.Anonymous) and node.name.upper() == "TO_MILLISECONDS":
        (arg,) = node.expressions
        while isinstance(arg, exp.Paren):
            arg = arg.this
        if isinstance(arg, exp.Sub):
            return exp.Mul(this=exp.Paren(this=arg), expression=exp.Literal.number(86400000))
    return node


def _duckdb_twin(sql: str) -> str:
    """Trino SQL as DuckDB SQL, with awsdatacatalog.<schema>.<table> as <schema>.<table>."""
    tree = sqlglot.parse_one(sql, read="trino").transform(_trino_meaning)
    for table in tree.find_all(exp.Table):
        table.set("catalog", None)
    return tree.sql(dialect="duckdb")


MARTS_ORDER_BY = {
    "yearly": "order_year",
    "monthly": "order_year, order_month",
    "segment_yearly": "order_year, segment",
    "regional_revenue": "region",
    "top_products": "revenue_rank",
    "fct_sales": "row_id",
    "dim_customer": "customer_id",
    "dim_product": "product_id",
    "dim_geography": "geography_key",
    "dim_date": "date_day",
    "v_sales_enriched": "row_id",
    "v_monthly_revenue": "order_year, order_month",
    "v_segment_share": "order_year, segment",
}


@pytest.fixture(scope="module")
def athena_gold(built: dict) -> duckdb.DuckDBPyConnection:
    """Gold rebuilt by dbt's Athena SQL (transpiled to DuckDB) next to the duckdb target's gold."""
    con = duckdb.connect()
    con.execute(f"attach '{built['warehouse']}' as local_build (read_only)")
    con.execute(silver_view_sql(SILVER_SCHEMA, built["silver_dir"]))
    con.execute("create schema gold")
    nodes = athena_models(built["manifest"])

    def upstream(name: str) -> set[str]:
        """Models a model reads, looking through ephemeral ones (compiled into it as CTEs)."""
        direct = {d.rsplit(".", 1)[1] for d in nodes[name]["depends_on"]["nodes"] if d.startswith("model.")}
        return set().union(*({d} if d not in EPHEMERAL else upstream(d) for d in direct)) if direct else set()

    done: set[str] = set()
    todo = [n for n in nodes if n not in EPHEMERAL]
    while todo:
        name = next(n for n in todo if upstream(n) <= done)
        node = nodes[name]
        relation = ".".join(part.strip('"') for part in node["relation_name"].split(".")[1:])
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        con.execute(f"create {kind} {relation} as {_duckdb_twin(node['compiled_code'])}")
        done.add(name)
        todo.remove(name)
    return con


@pytest.mark.parametrize(
    "mart",
    sorted(MARTS_ORDER_BY),
)
def test_athena_gold_equals_duckdb_gold(athena_gold: duckdb.DuckDBPyConnection, mart: str) -> None:
    order = MARTS_ORDER_BY[mart]
    local = athena_gold.execute(f"select * from local_build.gold.{mart} order by {order}").fetchall()
    athena = athena_gold.execute(f"select * from gold.{mart} order by {order}").fetchall()
    assert len(local) > 0
    assert athena == local
