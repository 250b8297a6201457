"""Settings on MWAA: read from AIRFLOW__SALES__* (MWAA's sales.* options) as well as SALES_*, and
a DAG that fails at parse time, naming the setting, when the aws backend lacks a required one.

MWAA passes each "Airflow configuration option" to every component as the environment variable
AIRFLOW__<SECTION>__<KEY> (aws/amazon-mwaa-docker-images, images/airflow/3.3.1/python/mwaa/
config/airflow.py, get_user_airflow_config). The DAG is parsed here by a real DagBag in a clean
interpreter whose environment holds only what MWAA would set.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from include.sales_analyzer.config import SETTINGS, SettingsError, get_settings
from tests.conftest import REPO

PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("sales_medallion")
print(json.dumps({
    "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "tags": sorted(dag.tags) if dag else None,
    "tasks": sorted(dag.task_ids) if dag else None,
    "links": {t.task_id: sorted(x.name for x in t.operator_extra_links) for t in dag.tasks} if dag else None,
}))
"""


def parse_dag(tmp_path: Path, **env: str) -> dict:
    """Parse dags/ with only Airflow's basics and `env` in the environment."""
    base = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO / "dags")],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_airflow_options_are_read_and_sales_variables_win() -> None:
    env = {
        "AIRFLOW__SALES__PIPELINE_BACKEND": "aws",
        "AIRFLOW__SALES__BUCKET": "from-mwaa",
        "AIRFLOW__SALES__GLUE_JOB_ROLE": "arn:aws:iam::111122223333:role/job",
        "AIRFLOW__SALES__AWS_POLL_SECONDS": "7",
        "AIRFLOW__SALES__GLUE_DATABASE": "mwaa_db",
        "SALES_GLUE_DATABASE": "explicit_db",
    }
    settings = get_settings(env)
    assert (settings.backend, settings.bucket, settings.aws_poll_seconds) == ("aws", "from-mwaa", 7)
    assert settings.glue_job_role == "arn:aws:iam::111122223333:role/job"
    assert settings.glue_database == "explicit_db"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PIPELINE_BACKEND": "aws"}, "SALES_BUCKET"),
        ({"AIRFLOW__SALES__PIPELINE_BACKEND": "aws", "AIRFLOW__SALES__BUCKET": " "}, "SALES_BUCKET"),
        ({"PIPELINE_BACKEND": "s3"}, "PIPELINE_BACKEND='s3': expected one of local, aws"),
        ({"SALES_CATALOG_MODE": "glue"}, "SALES_CATALOG_MODE='glue'"),
        ({"SALES_AWS_DEFERRABLE": "maybe"}, "SALES_AWS_DEFERRABLE='maybe'"),
        ({"AIRFLOW__SALES__GLUE_WORKERS": "two"}, "SALES_GLUE_WORKERS='two'"),
    ],
)
def test_a_bad_or_missing_setting_is_an_error_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named.replace("(", r"\(").replace(")", r"\)")):
        get_settings(env)


def test_local_backend_needs_no_aws_setting() -> None:
    settings = get_settings({})
    assert settings.backend == "local" and settings.bucket == ""


def test_every_setting_has_a_unique_variable_and_option() -> None:
    variables = [s.variable for s in SETTINGS]
    assert len(set(variables)) == len(variables)
    assert all(s.airflow_variable == f"AIRFLOW__SALES__{s.option.upper()}" for s in SETTINGS)


def test_dag_renders_the_aws_backend_from_mwaa_options_alone(tmp_path: Path) -> None:
    found = parse_dag(
        tmp_path,
        AIRFLOW__SALES__PIPELINE_BACKEND="aws",
        AIRFLOW__SALES__BUCKET="lake",
        AIRFLOW__SALES__GLUE_JOB_ROLE="arn:aws:iam::111122223333:role/job",
    )
    assert found["import_errors"] == {}
    assert "aws" in found["tags"] and "upload_glue_artifacts" in found["tasks"]
    # The extra links a person finds on each task's Details tab (#16 item 1).
    links = found["links"]
    assert links["validate_silver"] == ["Data Docs", "Run summary"]
    assert links["run_bronze_to_silver"] == ["AWS Glue Job Run Details"]  # the provider's own
    assert links["write_run_report"] == ["Run report"]
    gold_tasks = [task for task in links if task.startswith("build_gold.")]
    assert gold_tasks and all(links[task] == ["Query Results"] for task in gold_tasks)


def test_dag_fails_at_parse_time_when_a_required_aws_setting_is_missing(tmp_path: Path) -> None:
    """What the Airflow UI shows as the DAG's import error: the variable and the option to set."""
    found = parse_dag(tmp_path, AIRFLOW__SALES__PIPELINE_BACKEND="aws", AIRFLOW__SALES__GLUE_DATABASE="db")
    assert found["tasks"] is None
    (error,) = found["import_errors"].values()
    assert "SALES_BUCKET (or the Airflow option sales.bucket) is not set" in error
