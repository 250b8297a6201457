"""The aws backend under a real `airflow dags test`, against moto in server mode.

What moto plays: S3, the Glue job API (create, start, GetJobRun(s)), the Glue catalog, Athena's
query API, IAM and STS. What it cannot, and how this test stands in (see aws_emulator.py):

- It never runs a Glue script. The test plays the Glue worker: for the run the DAG starts, it
  runs the DuckDB silver (the Glue script's parity twin) on the bronze object the run's arguments
  name and writes the silver and quarantine prefixes those arguments name. So the DAG's own
  arguments decide what the quality gate then reads.
- Its Athena executes nothing (DDL or not). AthenaPlayer plays Athena's engine inside moto:
  each statement is transpiled from Trino to DuckDB (sqlglot) and run over the lake in moto's
  S3; a CTAS writes Parquet where its external_location says and registers the table in moto's
  Glue catalog, as Athena does. So the Cosmos build_gold tasks run dbt-athena for real against
  moto: every statement is recorded, and the tests check the CTAS statements (locations,
  format, partitioning), the view DDL, where the data landed, the gold values, and that dbt's
  tests ran. What the player cannot prove is that Athena (Trino) itself accepts each statement
  and computes the same values: test_athena_sql.py parses every statement as Trino SQL and
  compares the Athena SQL's DuckDB twin with the duckdb target's gold.
- Its crawls never finish and it has no GetCrawlerMetrics: the crawler mode (SALES_CATALOG_MODE=
  crawler) is run in test_aws_failures.py's small DAG, where the emulator finishes crawls.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from include.sales_analyzer import aws
from include.sales_analyzer.bronze import sha256_of
from include.sales_analyzer.config import get_settings
from include.sales_analyzer.contract import load_contract
from include.sales_analyzer.dbt_project import MANIFEST
from include.sales_analyzer.extract.synthetic import generate_sales_csv
from tests.conftest import REPO
from tests.integration.aws_emulator import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    REGION,
    SECRET_ACCESS_KEY,
    AthenaPlayer,
    GlueWorker,
    MotoAws,
    aiobotocore_installed,
    default_names,
)
from tests.integration.aws_runs import (
    DAY,
    ROWS,
    SEED,
    UNDISTURBED,
    run_sales_medallion,
    snapshot_outputs,
    task_logs,
    task_states,
)

pytestmark = pytest.mark.slow
# The BI views' relations and columns (docs/bi-views.md): a published interface BI tools read.
BI_COLUMNS = {
    "v_sales_enriched": [
        *("row_id", "order_id", "order_date", "ship_date", "days_to_ship", "ship_mode", "order_year"),
        *("order_month", "segment", "sales", "customer_id", "customer_name", "product_id"),
        *("product_name", "category", "sub_category", "country", "region", "state", "city"),
        "postal_code",
    ],
    "v_monthly_revenue": [
        *("order_year", "order_month", "month_start", "orders", "order_lines", "revenue"),
        *("unique_customers", "average_order_value"),
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
def aws_run(
    airflow_home: Path,
    moto_aws: MotoAws,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> dict:
    data_dir = tmp_path_factory.mktemp("aws_data")
    reference = generate_sales_csv(
        tmp_path_factory.mktemp("ref") / "ref.csv", rows=ROWS, seed=SEED, damaged=True
    )
    started = time.perf_counter()
    with GlueWorker(moto_aws) as worker, AthenaPlayer(moto_aws) as athena:
        proc, output, state = run_sales_medallion(airflow_home, moto_aws, data_dir, gold=True)
    failed = [f"{s.kind} {s.relation}: {s.reason}" for s in athena.statements if s.state != "SUCCEEDED"]
    assert proc.returncode == 0 and state == "success", (
        output[-6000:] + f"\nGlue worker errors: {worker.errors}\nAthena statements that failed: {failed}"
    )
    assert not worker.errors, worker.errors
    # The undisturbed outputs, for the fault tests' reruns to be compared with (test_aws_faults.py).
    request.config.stash[UNDISTURBED] = snapshot_outputs(moto_aws)
    s3 = moto_aws.client("s3")
    report = json.loads(
        s3.get_object(Bucket=default_names()["bucket"], Key="reports/run_report.json")["Body"].read()
    )
    return {
        "output": output,
        "logs": task_logs(airflow_home),
        "worker": worker,
        "athena": athena,
        "reference": reference,
        "report": report,
        "seconds": time.perf_counter() - started,
        "data_dir": data_dir,
    }


def glue_run(moto_aws: MotoAws) -> dict:
    runs = moto_aws.client("glue").get_job_runs(JobName=default_names()["glue_job_name"])["JobRuns"]
    assert len(runs) == 1, [r["Id"] for r in runs]
    return runs[0]


def test_bronze_object_is_the_source_byte_for_byte(aws_run: dict, moto_aws: MotoAws) -> None:
    names, ref = default_names(), aws_run["reference"]
    s3 = moto_aws.client("s3")
    listing = s3.list_objects_v2(Bucket=names["bucket"], Prefix=f"bronze/sales/ingest_date={DAY}/")
    (obj,) = listing["Contents"]
    assert obj["Key"].endswith(".csv")
    body = s3.get_object(Bucket=names["bucket"], Key=obj["Key"])
    assert body["Body"].read() == ref.path.read_bytes()
    assert body["Metadata"]["sha256"] == sha256_of(ref.path)
    assert aws_run["report"]["bronze"]["lines"] == ref.total_lines


def test_bronze_is_never_rewritten(
    aws_run: dict, moto_aws: MotoAws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The same bytes again reuse the object; other bytes under the same name go beside it."""
    for key, value in moto_aws.airflow_env().items():
        monkeypatch.setenv(key, value)
    ref = aws_run["reference"]
    same = tmp_path / aws_run["report"]["bronze"]["file_name"]  # the name the DAG's extract gave it
    same.write_bytes(ref.path.read_bytes())
    again = aws.upload_bronze(aws.land_file(same, "rerun-1"), DAY)
    assert again["reused"] is True
    assert again["key"] == aws_run["report"]["bronze"]["key"]
    other = tmp_path / "other" / same.name
    other.parent.mkdir()
    other.write_bytes(ref.path.read_bytes() + b"\n")
    beside = aws.upload_bronze(aws.land_file(other, "rerun-2"), DAY)
    assert beside["reused"] is False
    assert beside["key"] != again["key"] and beside["key"].endswith(f"__{beside['sha256'][:12]}.csv")
    s3 = moto_aws.client("s3")
    original = s3.get_object(Bucket=default_names()["bucket"], Key=again["key"])["Body"].read()
    assert original == ref.path.read_bytes()


def test_glue_job_created_with_the_stack_definition(aws_run: dict, moto_aws: MotoAws) -> None:
    names = default_names()
    job = moto_aws.client("glue").get_job(JobName=names["glue_job_name"])["Job"]
    assert job["GlueVersion"] == "5.0"
    assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"]) == ("G.1X", 2, 30)
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert job["Role"] == f"arn:aws:iam::{ACCOUNT_ID}:role/smart-sales-analyzer-glue-job"
    assert job["Command"]["ScriptLocation"] == f"s3://{names['bucket']}/artifacts/glue/bronze_to_silver.py"
    assert job["DefaultArguments"]["--extra-py-files"] == (
        f"s3://{names['bucket']}/artifacts/glue/sales_analyzer_shared.zip"
    )
    s3 = moto_aws.client("s3")
    script = s3.get_object(Bucket=names["bucket"], Key="artifacts/glue/bronze_to_silver.py")["Body"].read()
    assert script == (REPO / "include" / "glue" / "bronze_to_silver.py").read_bytes()
    contract = s3.get_object(Bucket=names["bucket"], Key="artifacts/glue/sales.yml")["Body"].read()
    assert contract == (REPO / "include" / "sales_analyzer" / "contracts" / "sales.yml").read_bytes()


def test_glue_run_started_once_with_the_runs_arguments(aws_run: dict, moto_aws: MotoAws) -> None:
    names, run = default_names(), glue_run(moto_aws)
    args = run["Arguments"]
    key = aws_run["report"]["run_key"]
    assert key.startswith(f"{DAY}_manual__")
    bucket = f"s3://{names['bucket']}"
    assert args["--bronze_path"] == aws_run["report"]["bronze"]["uri"]
    assert args["--contract_path"] == f"{bucket}/artifacts/glue/sales.yml"
    assert args["--silver_path"] == f"{bucket}/silver/_versions/sales/{key}/"
    assert args["--quarantine_path"] == f"{bucket}/quarantine/_staging/{key}/"
    assert args["--ingest_date"] == DAY
    assert args["--source_name"] == Path(args["--bronze_path"]).name
    # resume_glue_job_on_retry tags the run with the task that started it
    assert args["--airflow_task_uuid"].startswith("sales_medallion:run_bronze_to_silver:manual__")
    assert run["JobRunState"] == "SUCCEEDED"
    assert aws_run["report"]["glue"]["run_id"] == run["Id"]


def test_quality_gate_ran_the_suite_on_what_the_glue_run_wrote(aws_run: dict, moto_aws: MotoAws) -> None:
    report, ref = aws_run["report"], aws_run["reference"]
    (played,) = aws_run["worker"].done.values()
    counts = played["counts"]
    assert report["rows"]["silver"] == counts["silver_rows"]
    assert report["rows"]["quarantine"] == counts["quarantined_lines"] > 0
    assert report["conservation"] == {
        "bronze_lines": ref.total_lines,
        "silver_rows": counts["silver_rows"],
        "quarantined_lines": counts["quarantined_lines"],
        "non_record_lines": counts["header_lines"] + counts["blank_lines"],
        "holds": True,
    }
    assert report["quarantine_by_reason"] == counts["quarantine_by_reason"]
    assert report["quality"]["success"] is True
    assert report["quality"]["failed"] == 0 and report["quality"]["evaluated"] >= 30
    s3, bucket = moto_aws.client("s3"), default_names()["bucket"]
    key = report["run_key"]
    quality = json.loads(
        s3.get_object(Bucket=bucket, Key=f"reports/quality/{key}/quality_report.json")["Body"].read()
    )
    assert quality["suite"] == "silver_sales" and quality["success"] is True
    s3.head_object(Bucket=bucket, Key=f"reports/quality/{key}/data_docs/index.html")


def test_publish_points_the_glue_table_at_the_validated_version(aws_run: dict, moto_aws: MotoAws) -> None:
    names, key = default_names(), aws_run["report"]["run_key"]
    table = moto_aws.client("glue").get_table(DatabaseName=names["glue_database"], Name="sales")["Table"]
    location = f"s3://{names['bucket']}/silver/_versions/sales/{key}/"
    assert table["StorageDescriptor"]["Location"] == location
    params = table["Parameters"]
    assert params["projection.enabled"] == "true"
    assert (
        params["storage.location.template"]
        == location + "order_year=${order_year}/order_month=${order_month}/"
    )
    assert params["sales.run_key"] == key
    assert [p["Name"] for p in table["PartitionKeys"]] == ["order_year", "order_month"]
    contract = load_contract()
    columns = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    assert columns == [n for n, _ in contract.silver_columns if n not in ("order_year", "order_month")]
    types = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert (types["sales"], types["order_date"], types["row_id"]) == ("decimal(18,4)", "date", "bigint")
    s3 = moto_aws.client("s3")
    quarantine = s3.list_objects_v2(Bucket=names["bucket"], Prefix=f"quarantine/sales/ingest_date={DAY}/")
    assert [o["Key"].rsplit("/", 1)[1] for o in quarantine["Contents"]] == ["part-00000.parquet"]
    staging = s3.list_objects_v2(Bucket=names["bucket"], Prefix="quarantine/_staging/")
    assert staging.get("KeyCount", 0) == 0, "publish (and the teardown) leave no staging behind"


def test_silver_in_s3_is_the_silver_the_duckdb_engine_computes(
    aws_run: dict, moto_aws: MotoAws, tmp_path: Path
) -> None:
    """What Athena would read through the table is the right rows (moto cannot query it)."""
    names, key = default_names(), aws_run["report"]["run_key"]
    s3 = moto_aws.client("s3")
    prefix = f"silver/_versions/sales/{key}/"
    for obj in s3.list_objects_v2(Bucket=names["bucket"], Prefix=prefix)["Contents"]:
        if obj["Key"].endswith(".parquet"):
            target = tmp_path / obj["Key"][len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(names["bucket"], obj["Key"], str(target))
    with duckdb.connect() as con:
        glob = f"{tmp_path}/**/*.parquet"
        rows, revenue = con.execute(
            f"select count(*), sum(sales) from read_parquet('{glob}', hive_partitioning = true)"
        ).fetchone()
    assert rows == aws_run["report"]["rows"]["silver"]
    # Every record line of the file that quarantine does not hold is in silver, amount unchanged.
    quarantine = tmp_path / "quarantine.parquet"
    s3.download_file(
        names["bucket"], f"quarantine/sales/ingest_date={DAY}/part-00000.parquet", str(quarantine)
    )
    with duckdb.connect() as con:
        bad = {n for (n,) in con.execute(f"select source_line from read_parquet('{quarantine}')").fetchall()}
    lines = aws_run["reference"].path.read_text(encoding="utf-8").split("\n")
    expected = sum(
        Decimal(next(csv.reader([line]))[17])
        for number, line in enumerate(lines, start=1)
        if number > 1 and number not in bad and line.strip(", \r")
    )
    assert revenue == expected


def test_catalog_ddl_mode_defined_the_table_from_the_contract(aws_run: dict) -> None:
    assert "catalog: sales_analytics.sales" in aws_run["output"] + aws_run["logs"]


def _marts() -> dict[str, dict]:
    """The dbt table models (gold) of the manifest Cosmos renders, by name."""
    manifest = json.loads(MANIFEST.read_text())
    return {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"]["materialized"] == "table"
    }


def _download_table(moto_aws: MotoAws, location: str, dest: Path) -> list[Path]:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/"
    s3, files = moto_aws.client("s3"), []
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        target = dest / obj["Key"][len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, obj["Key"], str(target))
        files.append(target)
    return files


def test_gold_was_built_by_dbt_athena_through_cosmos(aws_run: dict) -> None:
    """Every Cosmos task ran (none marked successful), and dbt's tests ran on the Athena player."""
    output = aws_run["output"]
    assert "Marking success for" not in output
    ran = set(re.findall(r"\[DAG TEST\] end task task_id=(build_gold\.[\w.]+)", output))
    assert {f"build_gold.{m}_model_build" for m in _marts()} <= ran, sorted(ran)
    statements = aws_run["athena"].statements
    failed = [(s.kind, s.relation, s.reason) for s in statements if s.state != "SUCCEEDED"]
    assert not failed, failed
    # dbt's data tests are SELECTs of a failures count, each answered by real rows (0 failures, or
    # the task would have failed). Cosmos runs the tests of the models (each with its model, or
    # after both models of a relationship); the source's own tests are not selected by any task.
    manifest = json.loads(MANIFEST.read_text())
    model_tests = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and any(d.startswith("model.") for d in n["depends_on"]["nodes"])
    ]
    tests = [s for s in statements if s.kind == "select" and "dbt_internal_test" in s.query]
    assert len(tests) == len(model_tests) > 0, (len(tests), len(model_tests))


def test_every_gold_table_lives_under_the_gold_prefix(aws_run: dict, moto_aws: MotoAws) -> None:
    """The finding this guards: in a workgroup enforcing its results location, dbt-athena leaves
    external_location out and Athena writes table data under athena-results/, which expires."""
    names, bucket = default_names(), default_names()["bucket"]
    glue, s3 = moto_aws.client("glue"), moto_aws.client("s3")
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName="gold")["TableList"]}
    marts = _marts()
    assert set(marts) <= set(tables), sorted(tables)
    for name in marts:
        location = tables[name]["StorageDescriptor"]["Location"]
        assert re.fullmatch(rf"s3://{bucket}/gold/{name}/[0-9a-f-]{{36}}", location), (name, location)
        key = location.removeprefix(f"s3://{bucket}/") + "/"
        assert s3.list_objects_v2(Bucket=bucket, Prefix=key)["KeyCount"] > 0, f"{name}: no data at {location}"
    leftovers = s3.list_objects_v2(Bucket=bucket, Prefix="athena-results/").get("Contents", [])
    assert not [o["Key"] for o in leftovers if "/tables/" in o["Key"]], "table data under athena-results/"
    dbt_group = moto_aws.client("athena").get_work_group(WorkGroup=names["athena_dbt_workgroup"])["WorkGroup"]
    assert dbt_group["Configuration"]["EnforceWorkGroupConfiguration"] is False


def test_gold_ctas_statements(aws_run: dict) -> None:
    """Each mart is one CTAS in dbt's workgroup: Parquet, under gold/<table>/<uuid>, fct_sales partitioned."""
    names, bucket = default_names(), default_names()["bucket"]
    ctas = [s for s in aws_run["athena"].by_kind("ctas") if not s.relation[1].endswith("__dbt_tmp")]
    assert sorted(s.relation for s in ctas) == sorted(("gold", m) for m in _marts())
    for statement in ctas:
        table, props = statement.relation[1], statement.properties
        assert statement.workgroup == names["athena_dbt_workgroup"]
        assert props["format"] == "parquet" and props["table_type"] == "hive"
        assert re.fullmatch(rf"s3://{bucket}/gold/{table}/[0-9a-f-]{{36}}", props["external_location"])
        expected = "ARRAY['order_year', 'order_month']" if table == "fct_sales" else None
        assert props.get("partitioned_by") == expected, table
    # dbt's unit tests build their fixtures as tables too: under gold/ as well, and dropped after.
    fixtures = [s for s in aws_run["athena"].by_kind("ctas") if s.relation[1].endswith("__dbt_tmp")]
    assert all(s.properties["external_location"].startswith(f"s3://{bucket}/gold/") for s in fixtures)


def test_gold_fct_sales_is_partitioned_in_the_catalog(
    aws_run: dict, moto_aws: MotoAws, tmp_path: Path
) -> None:
    table = moto_aws.client("glue").get_table(DatabaseName="gold", Name="fct_sales")["Table"]
    assert [p["Name"] for p in table["PartitionKeys"]] == ["order_year", "order_month"]
    files = _download_table(moto_aws, table["StorageDescriptor"]["Location"], tmp_path)
    folders = {f.relative_to(tmp_path).parts[:2] for f in files}
    assert folders and all(a.startswith("order_year=") and b.startswith("order_month=") for a, b in folders)


def test_view_ddl(aws_run: dict) -> None:
    """dbt's staging view in the silver database; each BI view once in gold, in dbt's workgroup
    (nothing goes to the BI readers' workgroup): valid Trino, reading only its gold marts."""
    names = default_names()
    views = aws_run["athena"].by_kind("view")
    staging = [v for v in views if v.relation == (names["glue_database"], "stg_silver__sales")]
    assert staging and all(v.workgroup == names["athena_dbt_workgroup"] for v in staging)
    assert f'"{names["glue_database"]}"."sales"' in staging[0].query
    bi: dict[str, list] = {}
    for view in views:
        if view.relation[0] == "gold":
            bi.setdefault(view.relation[1], []).append(view)
    assert sorted(bi) == sorted(BI_COLUMNS)
    for name, (statement,) in bi.items():
        assert statement.workgroup == names["athena_dbt_workgroup"]
        assert statement.state == "SUCCEEDED"
        ddl = sqlglot.parse_one(statement.query, read="trino")
        assert isinstance(ddl, exp.Create) and ddl.kind == "VIEW" and ddl.args.get("replace") is True
        assert [p.name for p in ddl.this.parts] == ["awsdatacatalog", "gold", name]
        ctes = {c.alias_or_name for c in ddl.expression.find_all(exp.CTE)}
        read = {
            tuple(p.name for p in t.parts)
            for t in ddl.expression.find_all(exp.Table)
            if t.db or t.name not in ctes
        }
        assert read == {("awsdatacatalog", "gold", source) for source in BI_SOURCES[name]}, name
    assert not [s.query for s in aws_run["athena"].statements if s.workgroup == names["athena_workgroup"]]


def test_bi_views_in_the_glue_catalog_have_the_published_columns(aws_run: dict, moto_aws: MotoAws) -> None:
    glue = moto_aws.client("glue")
    for view, columns in BI_COLUMNS.items():
        table = glue.get_table(DatabaseName="gold", Name=view)["Table"]
        assert table["TableType"] == "VIRTUAL_VIEW", view
        assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == columns, view


def test_gold_yearly_equals_silver_summed_independently(
    aws_run: dict, moto_aws: MotoAws, tmp_path: Path
) -> None:
    """gold.yearly as dbt-athena built it equals per-year counts and sums of the silver rows."""
    names, key = default_names(), aws_run["report"]["run_key"]
    s3 = moto_aws.client("s3")
    prefix = f"silver/_versions/sales/{key}/"
    for obj in s3.list_objects_v2(Bucket=names["bucket"], Prefix=prefix)["Contents"]:
        if obj["Key"].endswith(".parquet"):
            target = tmp_path / "silver" / obj["Key"][len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(names["bucket"], obj["Key"], str(target))
    with duckdb.connect() as con:
        silver = con.execute(
            f"select order_year, customer_id, sales from read_parquet('{tmp_path}/silver/**/*.parquet', "
            "hive_partitioning = true)"
        ).fetchall()
    expected: dict[int, tuple[int, Decimal, int]] = {}
    for year in {r[0] for r in silver}:
        rows = [r for r in silver if r[0] == year]
        expected[int(year)] = (len(rows), sum((r[2] for r in rows), Decimal(0)), len({r[1] for r in rows}))
    table = moto_aws.client("glue").get_table(DatabaseName="gold", Name="yearly")["Table"]
    files = _download_table(moto_aws, table["StorageDescriptor"]["Location"], tmp_path / "yearly")
    with duckdb.connect() as con:
        listed = ", ".join(f"'{f}'" for f in files)
        gold = con.execute(
            f"select order_year, rows, revenue, unique_customers from read_parquet([{listed}])"
        ).fetchall()
    assert {int(y): (r, Decimal(v), c) for y, r, v, c in gold} == expected


def test_run_report(aws_run: dict, moto_aws: MotoAws) -> None:
    report = aws_run["report"]
    assert report["backend"] == "aws"
    assert report["source"]["source"] == "synthetic"
    assert report["outputs"]["silver_table"] == "sales_analytics.sales"
    assert report["outputs"]["bi_views"] == [f"gold.{v}" for v in sorted(BI_COLUMNS)]
    assert report["glue"]["state"] == "SUCCEEDED"
    # moto reports 123 s of execution: 2 G.1X workers * 123 s at $0.44 per DPU-hour
    assert report["cost_usd"]["glue_job"] == round(123 / 3600 * 2 * 0.44, 4)
    # measured: the Glue run; the Athena queries (gold build) are in the modelled estimate only
    assert set(report["cost_usd"]) == {"glue_job", "estimate"}
    assert "athena" not in report
    estimate = report["cost_usd"]["estimate"]
    assert estimate["context"]["glue_job_seconds_source"] == "measured"
    assert estimate["inputs"]["rows"] == report["rows"]["silver"]
    assert estimate["inputs"]["bronze_bytes"] == report["bronze"]["bytes"]
    s3, names = moto_aws.client("s3"), default_names()
    listing = s3.list_objects_v2(
        Bucket=names["bucket"], Prefix=f"silver/_versions/sales/{report['run_key']}/"
    )
    parquet = sum(o["Size"] for o in listing["Contents"] if o["Key"].endswith(".parquet"))
    assert estimate["inputs"]["silver_bytes"] == parquet > 0
    assert estimate["total_usd"] > 0
    assert set(report["timings_seconds"]) >= {"extract", "bronze", "quality"}


def test_run_report_sections_are_the_local_ones(aws_run: dict, moto_aws: MotoAws, tmp_path: Path) -> None:
    """quarantine, repairs and warnings as locally, from the Glue run's counts; retries per stage."""
    report, ref = aws_run["report"], aws_run["reference"]
    (played,) = aws_run["worker"].done.values()
    counts = played["counts"]  # what the played Glue run counted and wrote beside silver
    quarantine = report["quarantine"]
    assert quarantine["lines"] == len(ref.quarantined) == counts["quarantined_lines"]
    assert quarantine["revenue"] == counts["quarantine_revenue"]
    assert quarantine["by_reason"] == report["quarantine_by_reason"] == counts["quarantine_by_reason"]
    assert quarantine["file"] == f"s3://{default_names()['bucket']}/quarantine/sales/ingest_date={DAY}/"
    repairs_uri = f"s3://{default_names()['bucket']}/silver/_repairs/sales/ingest_date={DAY}/"
    assert report["repairs"]["file"] == report["outputs"]["repairs"] == repairs_uri
    # The published repairs table, grouped here, is what the report counts.
    s3, bucket = moto_aws.client("s3"), default_names()["bucket"]
    (obj,) = s3.list_objects_v2(Bucket=bucket, Prefix=f"silver/_repairs/sales/ingest_date={DAY}/")["Contents"]
    s3.download_file(bucket, obj["Key"], str(tmp_path / "repairs.parquet"))
    with duckdb.connect() as con:
        found = con.execute(
            f"select action, rule, count(*) from read_parquet('{tmp_path / 'repairs.parquet'}') group by all"
        ).fetchall()
    repairs = {rule: n for action, rule, n in found if action == "repair"}
    warnings = {rule: n for action, rule, n in found if action == "warn"}
    assert repairs and report["repairs"]["by_rule"] == repairs
    assert report["repairs"]["total"] == sum(repairs.values())
    assert report["warnings"]["by_rule"] == warnings
    assert report["warnings"]["total"] == sum(warnings.values())
    # Each stage's result carries its Airflow try number (aws's results used to drop it, so its
    # retries read 0 whatever happened); none was retried in this run.
    assert report["source"]["try_number"] == report["bronze"]["try_number"] == 1
    assert report["reliability"]["retries"] == {"extract": 0, "bronze": 0, "quality": 0}
    assert report["reliability"]["conservation_holds"] is True


def _links(airflow_home: Path, run_id: str, task_prefix: str) -> dict[str, str]:
    """The extra links' URLs a run stored (Airflow 3 keeps each as an XCom, `_link_<class>`)."""
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        rows = db.execute(
            "select task_id, key, value from xcom where dag_id = 'sales_medallion' and run_id = ? "
            "and key like '\\_link\\_%' escape '\\' and task_id like ?",
            [run_id, task_prefix + "%"],
        ).fetchall()
    return {f"{task}:{key.removeprefix('_link_')}": json.loads(value) for task, key, value in rows}


def test_tasks_link_to_the_glue_run_the_athena_query_and_the_run_report(
    aws_run: dict, moto_aws: MotoAws, airflow_home: Path
) -> None:
    """#16 item 1 on AWS: the Glue task's link names the job run moto started, each build_gold
    task's the Athena query that built its model (as the Athena player received it), and the
    report task's the run's report object in the S3 console."""
    names, run_id = default_names(), aws_run["report"]["run_id"]
    glue = _links(airflow_home, run_id, "run_bronze_to_silver")["run_bronze_to_silver:GlueJobRunDetailsLink"]
    assert glue == (
        f"https://console.aws.amazon.com/gluestudio/home?region={REGION}"
        f"#/job/{names['glue_job_name']}/run/{glue_run(moto_aws)['Id']}"
    )
    key = aws_run["report"]["run_key"]
    report = _links(airflow_home, run_id, "write_run_report")["write_run_report:RunReportLink"]
    assert report == (
        f"https://s3.console.aws.amazon.com/s3/object/{names['bucket']}?prefix=reports/runs/{key}.json"
    )
    gold = _links(airflow_home, run_id, "build_gold.")
    models = {
        t.split(":")[0].removeprefix("build_gold.").removesuffix("_model_build"): u for t, u in gold.items()
    }
    by_id = {s.query_id: s for s in aws_run["athena"].statements}
    console = f"https://console.aws.amazon.com/athena/home?region={REGION}#/query-editor/history/"
    for model in ("fct_sales", "dim_date", "yearly", "v_sales_enriched"):
        url = models[model]
        assert url.startswith(console), url
        statement = by_id[url.removeprefix(console)]
        assert statement.kind in ("ctas", "view"), statement
        assert model in statement.relation[1], statement.relation  # e.g. fct_sales__ha, v_sales_enriched
    # every gold task has its link, the tests' tasks too (their query is the test's select), but
    # an ephemeral model's task, which runs no query: its link is empty (the UI shows none)
    tasks = {task for task, _ in task_states(airflow_home, run_id) if task.startswith("build_gold.")}
    assert {t.split(":")[0] for t in gold} == tasks
    nodes = json.loads(MANIFEST.read_text())["nodes"].values()
    ephemeral = {
        f"build_gold.{n['name']}_model_build" for n in nodes if n["config"].get("materialized") == "ephemeral"
    }
    assert ephemeral == {"build_gold.int_order_lines_enriched_model_build"}
    for task, url in gold.items():
        if task.split(":")[0] in ephemeral:
            assert url == "", (task, url)
        else:
            assert url.startswith(console) and url.removeprefix(console) in by_id, (task, url)


def test_aws_operators_defer_where_they_can(aws_run: dict) -> None:
    """The Glue run's wait is deferred (its trigger runs inline under `dags test`); dbt-athena
    waits for its own queries inside the Cosmos tasks."""
    if not aiobotocore_installed():
        pytest.skip("aiobotocore is not installed, so the run used SALES_AWS_DEFERRABLE=false")
    triggers = aws_run["output"].count("[DAG TEST] running trigger in line")
    assert triggers == 1, "one trigger: the Glue run's"


def test_no_credentials_or_account_id_in_logs_or_reports(aws_run: dict, moto_aws: MotoAws) -> None:
    s3, bucket = moto_aws.client("s3"), default_names()["bucket"]
    reports = [
        s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode()
        for o in s3.list_objects_v2(Bucket=bucket, Prefix="reports/")["Contents"]
        if o["Key"].endswith(".json")
    ]
    for text, where in [(aws_run["output"], "dags test output"), (aws_run["logs"], "task logs")] + [
        (r, "report") for r in reports
    ]:
        for secret in (SECRET_ACCESS_KEY, ACCESS_KEY_ID, ACCOUNT_ID):
            assert secret not in text, f"{secret[:4]}... found in the {where}"


def test_cosmos_athena_profile_is_built_from_the_aws_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gold task group's dbt-athena profile comes from the Airflow connection, secret as env var."""
    from include.sales_analyzer.gold import profile_config

    aws_ = MotoAws()  # not started: building the profile makes no AWS call
    for key, value in aws_.airflow_env().items():
        monkeypatch.setenv(key, value)
    settings = get_settings()
    mapping = profile_config(settings).profile_mapping
    profile = mapping.profile
    assert profile["type"] == "athena"
    assert profile["work_group"] == settings.athena_dbt_workgroup != settings.athena_workgroup
    assert profile["schema"] == settings.glue_database
    assert profile["s3_staging_dir"] == f"s3://{settings.bucket}/athena-results/dbt/"
    assert profile["s3_data_dir"] == f"s3://{settings.bucket}/gold/"
    assert profile["s3_data_naming"] == "table_unique"
    assert profile["region_name"] == "us-east-1"
    assert SECRET_ACCESS_KEY not in json.dumps(profile), "the secret goes through an env var"
    assert SECRET_ACCESS_KEY in mapping.env_vars.values()


def test_aws_tasks_mask_the_account_id_and_keys(moto_aws: MotoAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """What every AWS task registers with Airflow's masker (a worker's supervisor applies it to logs)."""
    from airflow.sdk._shared.secrets_masker import redact

    for key, value in moto_aws.airflow_env().items():
        monkeypatch.setenv(key, value)
    aws.mask_aws_identity("aws_default")
    line = f"Role arn:aws:iam::{ACCOUNT_ID}:role/x, key {ACCESS_KEY_ID}, secret {SECRET_ACCESS_KEY}"
    assert redact(line) == "Role arn:aws:iam::***:role/x, key ***, secret ***"
