"""The gold-location finding, reproduced: where dbt-athena's CTAS puts a table's data in each workgroup.

dbt-athena asks Athena whether the workgroup enforces its results location; if it does, it leaves
`external_location` out of the CTAS (Athena would fail the query otherwise) and Athena writes the
table's data under <results location>/tables/<query id>/ (Athena, "Considerations and limitations
for CTAS queries"). The stack's lifecycle rule expires that prefix after 7 days. This runs the real
dbt-athena (the .venv-dbt virtualenv) with the profile Cosmos builds (gold.profile_config) against
moto, whose Athena the emulator's AthenaPlayer plays, once in the BI workgroup (enforced) and once
in dbt's own workgroup: only the latter keeps gold under s3://<bucket>/gold/.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from unittest import mock

import pytest
import yaml

from include.glue import artifacts
from include.sales_analyzer import aws
from include.sales_analyzer.config import DBT_PROJECT_DIR, get_settings
from include.sales_analyzer.extract.synthetic import generate_sales_csv
from tests.integration.aws_emulator import (
    SECRET_ACCESS_KEY,
    AthenaPlayer,
    MotoAws,
    default_names,
    run_duckdb_silver,
)

pytestmark = pytest.mark.slow
NAMES = default_names()
BUCKET = NAMES["bucket"]
MODELS = "stg_silver__sales fct_sales"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> MotoAws:
    """moto with the stack's resources and a published silver table over a small silver version."""
    aws_ = MotoAws().start()
    aws_.create_stack(NAMES)
    s3 = aws_.client("s3")
    ref = generate_sales_csv(tmp_path_factory.mktemp("src") / "sales.csv", rows=200, seed=3)
    bronze = "bronze/sales/ingest_date=2026-01-15/sales.csv"
    s3.upload_file(str(ref.path), BUCKET, bronze)
    version = "silver/_versions/sales/k1/"
    run_duckdb_silver(
        s3,
        artifacts.job_arguments(
            bronze_path=f"s3://{BUCKET}/{bronze}",
            contract_path=f"s3://{BUCKET}/artifacts/glue/sales.yml",
            source_name="sales.csv",
            silver_path=f"s3://{BUCKET}/{version}",
            quarantine_path=f"s3://{BUCKET}/quarantine/_staging/k1/",
            ingest_date="2026-01-15",
        ),
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=version)["Contents"]]
    settings = get_settings(aws_.airflow_env())
    ranges = aws.partition_ranges([k for k in keys if k.endswith(".parquet")], ["order_year", "order_month"])
    table = aws.silver_table_input(settings, f"s3://{BUCKET}/{version}", "k1", ranges=ranges)
    aws_.client("glue").create_table(DatabaseName=NAMES["glue_database"], TableInput=table)
    yield aws_
    aws_.stop()


def run_dbt(aws_: MotoAws, workgroup: str) -> tuple[subprocess.CompletedProcess, AthenaPlayer]:
    """`dbt run` of the staging view and fct_sales with the Cosmos profile, in one workgroup."""
    from include.sales_analyzer.gold import profile_config

    env = {**os.environ, **aws_.airflow_env()}
    settings = get_settings(env)
    with mock.patch.dict(os.environ, aws_.airflow_env()):  # the mapping reads AIRFLOW_CONN_AWS_DEFAULT
        profile = profile_config(settings).profile_mapping.profile
    profile.update(work_group=workgroup, aws_secret_access_key=SECRET_ACCESS_KEY)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "profiles.yml").write_text(
            yaml.safe_dump({"sales_analytics": {"target": "aws", "outputs": {"aws": profile}}})
        )
        cmd = [
            settings.dbt_executable,
            "run",
            "--select",
            *MODELS.split(),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            tmp,
            "--target-path",
            str(Path(tmp) / "target"),
        ]
        env.update(
            SALES_SILVER_SCHEMA=NAMES["glue_database"], DBT_SEND_ANONYMOUS_USAGE_STATS="False", NO_COLOR="1"
        )
        with AthenaPlayer(aws_) as player:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    return proc, player


def _location(aws_: MotoAws) -> str:
    return aws_.client("glue").get_table(DatabaseName="gold", Name="fct_sales")["Table"]["StorageDescriptor"][
        "Location"
    ]


def test_enforced_workgroup_puts_gold_under_the_expiring_results_prefix(lake: MotoAws) -> None:
    """The finding: in the BI workgroup (enforced), fct_sales's data lands under athena-results/."""
    proc, player = run_dbt(lake, NAMES["athena_workgroup"])
    assert proc.returncode == 0, proc.stdout[-4000:]
    (ctas,) = [s for s in player.by_kind("ctas") if s.relation == ("gold", "fct_sales")]
    assert "external_location" not in ctas.properties
    location = _location(lake)
    assert location.startswith(f"s3://{BUCKET}/athena-results/tables/"), location
    assert location == ctas.properties["effective_location"]


def test_dbt_workgroup_puts_gold_under_gold(lake: MotoAws) -> None:
    """The fix: dbt's own workgroup (not enforced) lets dbt-athena write gold/<table>/<uuid>."""
    proc, player = run_dbt(lake, NAMES["athena_dbt_workgroup"])
    assert proc.returncode == 0, proc.stdout[-4000:]
    (ctas,) = [s for s in player.by_kind("ctas") if s.relation[1] in ("fct_sales", "fct_sales__ha")]
    assert ctas.properties["external_location"].startswith(f"s3://{BUCKET}/gold/fct_sales/")
    assert ctas.properties["partitioned_by"] == "ARRAY['order_year', 'order_month']"
    assert _location(lake) == ctas.properties["external_location"]
