"""How the aws backend fails: Glue runs that end FAILED or TIMEOUT, throttling, a retry while the
Glue run is still going, and what the logs may never show; and catalog_silver's crawler mode,
which needs the same emulator help. (Gold's Athena statements are dbt-athena's, in the Cosmos
tasks: test_aws_backend.py runs them.)

One small DAG made of the backend's own operator factories (include/sales_analyzer/aws/) runs
under a real `airflow dags test` against moto in server mode. moto's job runs only ever
succeed, so the test's emulator (aws_emulator.py) ends them as each scenario needs, at the
AWS boundary: GetJobRun answers what Glue would.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AIRFLOW, dag_env
from tests.integration.aws_emulator import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    SECRET_ACCESS_KEY,
    GlueWorker,
    MotoAws,
    crawls_finish,
    default_names,
    glue_error_messages,
    job_runs,
    throttle_glue_job_runs,
)

pytestmark = pytest.mark.slow
DAG_ID = "aws_failures"
FAILED_JOB, TIMEOUT_JOB = "sales-job-failed", "sales-job-timeout"
THROTTLED_JOB, RESUMED_JOB = "sales-job-throttled", "sales-job-resumed"
GLUE_ERROR = "ValueError: s3://lake/bronze/x.csv, line 1: required column 'Row ID' is missing from the header"
TIMEOUT_ERROR = "Job run timed out after 30 minutes"

DAG_FILE = '''
"""Failure scenarios of the aws backend, built from its own operator factories."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pendulum
from airflow.sdk import dag

from include.sales_analyzer import aws
from include.sales_analyzer.config import get_settings

settings = get_settings()
ARGS = {
    "--bronze_path": "s3://lake/bronze/x.csv",
    "--contract_path": "s3://lake/artifacts/glue/sales.yml",
    "--silver_path": "s3://lake/silver/_versions/sales/k/",
    "--quarantine_path": "s3://lake/quarantine/_staging/k/",
    "--ingest_date": "2026-01-15",
    "--source_name": "x.csv",
}


def job(name: str, **changes):
    return dataclasses.replace(settings, glue_job_name=name, **changes)


@dag(
    dag_id="aws_failures",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "tests", "retries": 0},
)
def aws_failures():
    aws.glue_job_operator(job("sales-job-failed"), ARGS, task_id="glue_failed")
    aws.glue_job_operator(job("sales-job-timeout"), ARGS, task_id="glue_timeout")
    # Deferred, throttled polls are retried until the waiter's attempts (the job's Timeout) run out;
    # polled in the task, the hook gives up after 5 throttled calls: the case this checks.
    aws.glue_job_operator(job("sales-job-throttled", aws_deferrable=False), ARGS, task_id="glue_throttled")
    # The first try is cut short by execution_timeout (which applies while a task runs, not while
    # it is deferred), as a lost worker would be; the retry must find the run still going.
    aws.glue_job_operator(
        job("sales-job-resumed", aws_deferrable=False),
        ARGS,
        task_id="glue_resumed",
        retries=1,
        retry_delay=timedelta(seconds=0),
        execution_timeout=timedelta(seconds=8),
    )
    aws.crawler_operator(settings)  # catalog_silver when SALES_CATALOG_MODE=crawler


aws_failures()
'''


def resumed_after_lookup(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Remember the jobs whose runs were listed (GetJobRuns: the retry looking for its run)."""
    from moto.glue.models import FakeJob

    listed: set[str] = set()
    original = FakeJob.get_job_runs

    def get_job_runs(self: Any) -> Any:
        listed.add(self.name)
        return original(self)

    monkeypatch.setattr(FakeJob, "get_job_runs", get_job_runs)
    return listed


@pytest.fixture(scope="module")
def failures(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    monkeypatch = pytest.MonkeyPatch()
    aws_ = MotoAws().start()
    try:
        aws_.create_stack(default_names())
        glue_error_messages(monkeypatch)
        throttle_glue_job_runs(monkeypatch, {THROTTLED_JOB})
        listed = resumed_after_lookup(monkeypatch)
        crawls_finish(monkeypatch)  # moto's crawls never finish and it has no GetCrawlerMetrics

        def fate(job: str, args: dict) -> tuple[str, str | None]:
            if job == FAILED_JOB:
                return "FAILED", GLUE_ERROR
            if job == TIMEOUT_JOB:
                return "TIMEOUT", TIMEOUT_ERROR
            if job == RESUMED_JOB and RESUMED_JOB in listed:
                return "SUCCEEDED", None
            return "RUNNING", None  # throttled: never seen to end; resumed: until its retry looks

        tmp = tmp_path_factory.mktemp("failures")
        dag_file = tmp / "aws_failures.py"
        dag_file.write_text(textwrap.dedent(DAG_FILE))
        env = dag_env(airflow_home, tmp / "data", **aws_.airflow_env(AIRFLOW__CORE__DAGS_FOLDER=str(tmp)))
        cmd = ["timeout", "-s", "KILL", "400", AIRFLOW, "dags", "test", DAG_ID, "-f", str(dag_file)]
        with GlueWorker(aws_, fate):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        output = proc.stdout + proc.stderr
        (tmp / "dags_test.log").write_text(output)
        with sqlite3.connect(airflow_home / "airflow.db") as db:
            states = {
                (task, index): (state, tries)
                for task, index, state, tries in db.execute(
                    "select task_id, map_index, state, try_number from task_instance where dag_id = ?",
                    [DAG_ID],
                )
            }
        runs = {job: job_runs(aws_, job) for job in (FAILED_JOB, TIMEOUT_JOB, THROTTLED_JOB, RESUMED_JOB)}
        glue = aws_.client("glue")
        crawler = glue.get_crawler(Name=default_names()["glue_crawler_name"])["Crawler"]
        crawls = glue.list_crawls(CrawlerName=crawler["Name"])["Crawls"]
        logs = "\n".join(p.read_text(errors="replace") for p in (airflow_home / "logs").rglob("*.log"))
        yield {
            "output": output,
            "logs": logs,
            "states": states,
            "runs": runs,
            "crawls": crawls,
            "crawler": crawler,
        }
    finally:
        monkeypatch.undo()
        aws_.stop()


def failure_message(output: str) -> str:
    """The AwsStepFailed messages the tasks failed with."""
    found = re.findall(r"AwsStepFailed: (.*)", output)
    assert found, output[-4000:]
    return "\n".join(found)


def test_glue_run_failed_names_the_run_and_the_glue_error(failures: dict) -> None:
    (run,) = failures["runs"][FAILED_JOB]
    assert failures["states"][("glue_failed", -1)][0] == "failed"
    expected = f"Glue job {FAILED_JOB} run {run['Id']} ended FAILED: {GLUE_ERROR}"
    assert expected in failures["output"], failure_message(failures["output"])


def test_glue_run_timeout_names_the_run(failures: dict) -> None:
    (run,) = failures["runs"][TIMEOUT_JOB]
    assert failures["states"][("glue_timeout", -1)][0] == "failed"
    expected = f"Glue job {TIMEOUT_JOB} run {run['Id']} ended TIMEOUT: {TIMEOUT_ERROR}"
    assert expected in failures["output"], failure_message(failures["output"])


def test_throttling_names_the_run_and_the_aws_error(failures: dict) -> None:
    (run,) = failures["runs"][THROTTLED_JOB]
    assert failures["states"][("glue_throttled", -1)][0] == "failed"
    expected = (
        f"Glue job {THROTTLED_JOB} run {run['Id']}: AWS error ThrottlingException on GetJobRun: Rate exceeded"
    )
    assert expected in failures["output"], failure_message(failures["output"])


def test_retry_resumes_the_running_glue_run_instead_of_starting_another(failures: dict) -> None:
    runs = failures["runs"][RESUMED_JOB]
    assert len(runs) == 1, f"a retry started a second Glue run: {[r['Id'] for r in runs]}"
    (run,) = runs
    state, tries = failures["states"][("glue_resumed", -1)]
    assert (state, tries) == ("success", 2), "the first try must time out and the retry succeed"
    assert f"Found Glue job_run_id by task UUID: {run['Id']}, state: RUNNING" in failures["output"]
    assert run["JobRunState"] == "SUCCEEDED"


def test_no_credentials_or_account_id_in_logs(failures: dict) -> None:
    for text, where in ((failures["output"], "dags test output"), (failures["logs"], "task logs")):
        for secret in (SECRET_ACCESS_KEY, ACCESS_KEY_ID):
            assert secret not in text, f"{secret[:4]}... found in the {where}"
    # `airflow dags test` runs tasks in its own process, where Airflow masks nothing; on a worker the
    # supervisor masks what the tasks register (test_aws_backend checks they register the account
    # id). The one line showing it here is the provider's dump of the crawler and its role ARN.
    leaks = [line for line in failures["output"].splitlines() if ACCOUNT_ID in line]
    assert all("crawler_config:" in line for line in leaks), leaks[:3]
    assert failures["states"], "the DAG ran"


def test_crawler_mode_defines_and_runs_the_silver_crawler(failures: dict) -> None:
    """SALES_CATALOG_MODE=crawler: catalog_silver creates the crawler (the stack has none), runs it
    and waits for its crawl. It crawls the silver table only, so it reads exactly the live version
    the table points at (never silver/_versions/<other>/ nor quarantine staging), writes only the
    silver database, and never touches gold (dbt-athena registers gold)."""
    assert failures["states"][("catalog_silver", -1)] == ("success", 1)
    (crawl,) = failures["crawls"]
    assert crawl["State"] == "COMPLETED"
    crawler, names = failures["crawler"], default_names()
    assert crawler["Targets"]["CatalogTargets"] == [
        {"DatabaseName": names["glue_database"], "Tables": ["sales"]}
    ]
    assert not crawler["Targets"].get("S3Targets"), "no S3 path: a crawl of silver/ would union every version"
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"}
    output = json.loads(crawler["Configuration"])["CrawlerOutput"]
    assert output["Tables"] == {"AddOrUpdateBehavior": "MergeNewColumns"}
    assert crawler["Role"] == "smart-sales-analyzer-glue-crawler"
