"""AWS faults (docs/reliability.md), each followed by a rerun that must reproduce an undisturbed run.

The real `sales_medallion` DAG runs on the aws backend against moto in server mode, as in
tests/integration/test_aws_backend.py, three times on the same logical date:

1. faulted run 1: the bronze PutObject (upload_bronze uploads its checked copy of the object
   extract_source landed) answers 503 SlowDown then 500 InternalError twice (every attempt of the
   first try fails; the retry finds no object and writes it), an artifact PutObject
   answers 500 once (botocore's retry absorbs it), and every Glue run ends FAILED or TIMEOUT
   after writing part of its output: the run fails at run_bronze_to_silver after its three tries;
2. faulted run 2: the landing GetObject of upload_bronze answers 500 once (absorbed), the Glue
   artifacts' HeadObject answers 503 on every attempt (first try fails), the first Glue run ends
   TIMEOUT after a partial write and the retry's run succeeds, the quality gate's GetObject of the
   Glue run's counts (beside silver) answers 503 on every attempt (first try fails), a data-docs
   PutObject answers 503 once and a Glue GetTable
   ThrottlingException once (both absorbed), the quarantine CopyObject of publish answers 500 on
   every attempt (first try fails before the table moves), and, in the crawler catalog mode
   (SALES_CATALOG_MODE=crawler), Glue refuses CreateCrawler (AccessDeniedException: the role may
   not create the crawler) on every try: the run fails at catalog_silver, and no gold is built
   or published;
3. the rerun, with every fault removed: it must complete, and its outputs (bronze, the live
   silver version's rows, quarantine, the catalog, the run report's counts) must equal those of
   the undisturbed run, with nothing duplicated and nothing of the faulted runs left over.

Faults are injected at the AWS boundary only: moto's HTTP answers (aws_emulator.FaultInjector,
for requests made by Airflow's hooks) and its Glue runs (GlueWorker). Nothing in the pipeline is
patched. So that the retries do not each wait the DAG's 30 s retry_delay, an Airflow cluster
policy (airflow_local_settings.task_policy, on the runs' PYTHONPATH) sets retry_delay to 1 s; the
tries (retries=2) are the DAG's own.
"""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from include.sales_analyzer import aws
from include.sales_analyzer.config import get_settings
from include.sales_analyzer.errors import PipelineError
from tests.conftest import REPO
from tests.integration.aws_emulator import (
    Fault,
    GlueWorker,
    MotoAws,
    default_names,
    glue_error_messages,
    job_runs,
    write_partial_output,
)
from tests.integration.aws_runs import (
    DAY,
    UNDISTURBED,
    dag_run_ids,
    parquet_under,
    run_sales_medallion,
    snapshot_outputs,
    task_states,
)

pytestmark = pytest.mark.slow
NAMES = default_names()
BUCKET, JOB = NAMES["bucket"], NAMES["glue_job_name"]
BRONZE = f"bronze/sales/ingest_date={DAY}/"
GLUE_ERROR = "An error occurred while calling o112.parquet: Job aborted due to stage failure: lost executor 1"
TIMEOUT_ERROR = "Job run timed out after 30 minutes"
DENIED = (
    "User: smart-sales-analyzer-mwaa-execution is not authorized to perform: glue:CreateCrawler "
    "because no identity-based policy allows the glue:CreateCrawler action"
)
# Attempts per AWS call (the tests' connection: botocore's standard retry mode, max_attempts 2 retries).
ATTEMPTS = 3
POLICY = '''
"""Test-only Airflow cluster policy: a failed try is retried after 1 s instead of the DAG's 30 s."""

from datetime import timedelta


def task_policy(task):
    task.retry_delay = timedelta(seconds=1)
'''


@pytest.fixture(scope="module")
def undisturbed(
    request: pytest.FixtureRequest, airflow_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    """The undisturbed run's outputs: test_aws_backend.py's run when it ran in this session."""
    snapshot = request.config.stash.get(UNDISTURBED, None)
    if snapshot is None:
        aws_ = MotoAws().start()
        try:
            aws_.create_stack(NAMES)
            with GlueWorker(aws_) as worker:
                _, output, state = run_sales_medallion(
                    airflow_home, aws_, tmp_path_factory.mktemp("aws_undisturbed")
                )
            assert state == "success", output[-6000:] + f"\nGlue worker errors: {worker.errors}"
            snapshot = snapshot_outputs(aws_)
            request.config.stash[UNDISTURBED] = snapshot
        finally:
            aws_.stop()
    return snapshot


class GlueFates:
    """Each Glue run the DAG starts ends as the next planned outcome says, after a partial write."""

    def __init__(self, aws_: MotoAws, planned: list[str]) -> None:
        self.s3 = aws_.client("s3")
        self.planned = list(planned)
        self.partial: list[str] = []

    def __call__(self, job: str, args: dict[str, str]) -> tuple[str, str | None] | None:
        if not self.planned:
            return None  # real work: the DuckDB silver twin
        state = self.planned.pop(0)
        self.partial += write_partial_output(self.s3, args, f"attempt{len(self.partial) // 2 + 1}")
        return state, GLUE_ERROR if state == "FAILED" else TIMEOUT_ERROR


def _run(airflow_home: Path, aws_: MotoAws, data_dir: Path, fates: GlueFates | None, env: dict) -> dict:
    before = set(dag_run_ids(airflow_home))
    started = time.perf_counter()
    with GlueWorker(aws_, fates) as worker:
        _, output, state = run_sales_medallion(airflow_home, aws_, data_dir, **env)
    (run_id,) = [r for r in dag_run_ids(airflow_home) if r not in before]
    return {
        "state": state,
        "output": output,
        "run_id": run_id,
        "tasks": task_states(airflow_home, run_id),
        "worker_errors": worker.errors,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _live_key(aws_: MotoAws) -> str | None:
    glue = aws_.client("glue")
    try:
        table = glue.get_table(DatabaseName=NAMES["glue_database"], Name="sales")["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None
    return table["Parameters"]["sales.run_key"]


def _keys(aws_: MotoAws, prefix: str) -> list[str]:
    out: list[str] = []
    for page in aws_.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        out.extend(o["Key"] for o in page.get("Contents", []))
    return sorted(out)


def _versions(aws_: MotoAws) -> list[str]:
    return sorted({k.split("/")[3] for k in _keys(aws_, "silver/_versions/sales/")})


@pytest.fixture(scope="module")
def runs(undisturbed: dict, airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Faulted run 1, faulted run 2, then the rerun, in one emulated account."""
    monkeypatch = pytest.MonkeyPatch()
    aws_ = MotoAws().start()
    tmp = tmp_path_factory.mktemp("aws_faults")
    policy = tmp / "policy"
    policy.mkdir()
    (policy / "airflow_local_settings.py").write_text(textwrap.dedent(POLICY))
    env = {"PYTHONPATH": os.pathsep.join([str(policy), str(REPO), os.environ.get("PYTHONPATH", "")])}
    out: dict[str, Any] = {"aws": aws_}
    try:
        aws_.create_stack(NAMES)
        glue_error_messages(monkeypatch)

        fates = GlueFates(aws_, ["FAILED", "TIMEOUT", "FAILED"])
        aws_.faults.arm(
            Fault("PutObject", BRONZE, 503, times=1),
            Fault("PutObject", BRONZE, 500, times=2),
            Fault("PutObject", "artifacts/glue/", 500, times=1),
        )
        out["f1"] = _run(airflow_home, aws_, tmp / "f1", fates, env)
        out["f1"]["faults"] = list(aws_.faults.faults)
        out["f1"]["left"] = sorted(_keys(aws_, "silver/_versions/") + _keys(aws_, "quarantine/_staging/"))
        out["f1"]["partial"] = list(fates.partial)
        out["f1"]["glue_runs"] = job_runs(aws_, JOB)

        fates = GlueFates(aws_, ["TIMEOUT"])
        aws_.faults.arm(
            Fault("GetObject", "landing/", 500, times=1),
            Fault("HeadObject", "artifacts/glue/", 503, times=ATTEMPTS),
            Fault("GetObject", "silver/_versions/", 503, times=ATTEMPTS),
            Fault("PutObject", "reports/quality/", 503, times=1),
            Fault("CopyObject", "quarantine/sales/", 500, times=ATTEMPTS),
            Fault("AWSGlue.GetTable", "", 400, times=1),
            # not retryable: each try of catalog_silver fails on its first call
            Fault("AWSGlue.CreateCrawler", "", 400, 10**6, "AccessDeniedException", DENIED),
        )
        out["f2"] = _run(airflow_home, aws_, tmp / "f2", fates, {**env, "SALES_CATALOG_MODE": "crawler"})
        out["f2"]["faults"] = list(aws_.faults.faults)
        out["f2"]["live"], out["f2"]["versions"] = _live_key(aws_), _versions(aws_)
        out["f2"]["staging"] = _keys(aws_, "quarantine/_staging/")
        out["f2"]["silver"] = parquet_under(
            aws_.client("s3"), BUCKET, f"silver/_versions/sales/{out['f2']['live']}/", hive=True
        )
        out["f2"]["quarantine"] = parquet_under(
            aws_.client("s3"), BUCKET, f"quarantine/sales/ingest_date={DAY}/", hive=False
        )
        aws_.faults.arm()

        out["rerun"] = _run(airflow_home, aws_, tmp / "rerun", None, env)
        assert out["rerun"]["state"] == "success", out["rerun"]["output"][-6000:]
        out["rerun"]["outputs"] = snapshot_outputs(aws_)
        out["glue_runs"] = job_runs(aws_, JOB)
        out["requests"] = list(aws_.faults.requests)
        yield out
    finally:
        monkeypatch.undo()
        aws_.stop()


def test_faulted_runs_fail_where_the_faults_hit(runs: dict) -> None:
    f1, f2 = runs["f1"], runs["f2"]
    assert f1["state"] == "failed" and f2["state"] == "failed", (f1["output"][-3000:], f2["output"][-3000:])
    assert f1["tasks"][("run_bronze_to_silver", -1)] == ("failed", 3)
    assert f1["tasks"][("validate_silver", -1)][0] == "upstream_failed"
    assert f2["tasks"][("catalog_silver", -1)] == ("failed", 3)
    gold = {t: s for (t, _), (s, _) in f2["tasks"].items() if t.startswith("build_gold.")}
    assert gold and set(gold.values()) == {"upstream_failed"}, gold
    assert f2["tasks"][("publish_gold", -1)][0] == "upstream_failed"
    assert f2["tasks"][("write_run_report", -1)][0] == "upstream_failed"
    assert not f1["worker_errors"] and not f2["worker_errors"]


def test_glue_runs_that_end_failed_or_timeout_name_the_run_and_glues_error(runs: dict) -> None:
    f1_runs = runs["f1"]["glue_runs"]
    assert [r["JobRunState"] for r in f1_runs] == ["FAILED", "TIMEOUT", "FAILED"]
    output = runs["f1"]["output"]
    for run, message in zip(f1_runs, (GLUE_ERROR, TIMEOUT_ERROR, GLUE_ERROR), strict=True):
        expected = f"Glue job {JOB} run {run['Id']} ended {run['JobRunState']}: {message}"
        assert expected in output, expected
    # Each try started its own run: a FAILED or TIMEOUT run is not resumed (only a running one is).
    assert len({r["Arguments"]["--airflow_task_uuid"] for r in f1_runs}) == 1
    f2_runs = runs["glue_runs"][3:5]
    assert [r["JobRunState"] for r in f2_runs] == ["TIMEOUT", "SUCCEEDED"]
    assert runs["f2"]["tasks"][("run_bronze_to_silver", -1)] == ("success", 2)


def test_catalog_that_cannot_be_written_names_the_permission_and_publishes_no_gold(runs: dict) -> None:
    """Each try of catalog_silver fails naming the Glue call and the permission it lacks; silver,
    published before it, stays live; gold is neither built nor published, no report is written
    (test_faulted_runs_fail_where_the_faults_hit)."""
    f2, aws_ = runs["f2"], runs["aws"]
    expected = "An error occurred (AccessDeniedException) when calling the CreateCrawler operation: " + DENIED
    assert f2["output"].count(expected) >= 3, "each of the three tries names it"
    assert len(aws_.faults.injected("AWSGlue.CreateCrawler")) == 3
    assert f2["live"] is not None and f2["versions"] == [f2["live"]]


def _position(requests: list, request: Any) -> int:
    return next(i for i, r in enumerate(requests) if r is request)


def _next_answer(requests: list, injected: Any) -> Any:
    """The next request of the same operation and key after an injected answer (the retry)."""
    later = requests[_position(requests, injected) + 1 :]
    return next(r for r in later if (r.operation, r.key) == (injected.operation, injected.key))


def test_s3_throttling_and_5xx_once_are_absorbed_by_botocores_retry(runs: dict) -> None:
    """503 SlowDown / 500 InternalError once: the SDK retries the call and the task goes on."""
    requests = runs["requests"]
    absorbed = {
        ("f1", "PutObject", "artifacts/glue/"): "upload_glue_artifacts",
        ("f2", "GetObject", "landing/"): "upload_bronze",
        ("f2", "PutObject", "reports/quality/"): "validate_silver",
    }
    for (run, operation, prefix), task in absorbed.items():
        (fault,) = [f for f in runs[run]["faults"] if (f.operation, f.key_prefix) == (operation, prefix)]
        assert fault.hits == fault.times == 1, (operation, prefix)
        (hit,) = [
            r for r in requests if r.injected and (r.operation, r.key[: len(prefix)]) == (operation, prefix)
        ]
        assert _next_answer(requests, hit).status == 200, (operation, hit.key)
        state, _ = runs[run]["tasks"][(task, -1)]
        assert state == "success", task
    # The first try of upload_glue_artifacts in run 1 was not failed by its 500
    assert runs["f1"]["tasks"][("upload_glue_artifacts", -1)] == ("success", 1)
    (glue_throttle,) = [f for f in runs["f2"]["faults"] if f.operation == "AWSGlue.GetTable"]
    assert glue_throttle.hits == 1
    (hit,) = runs["aws"].faults.injected("AWSGlue.GetTable")
    # The retry reached the catalog (which answered that the table did not exist yet: first publish)
    retry = _next_answer(requests, hit)
    assert not retry.injected and retry.status in (200, 400), retry
    assert runs["f2"]["tasks"][("publish_silver", -1)][0] == "success"


def test_persistent_s3_errors_fail_the_try_clearly_and_leave_no_partial_object(runs: dict) -> None:
    """Errors on all the SDK's attempts of a call: the try fails naming the object and the error."""
    f1, f2, requests = runs["f1"], runs["f2"], runs["requests"]
    assert f1["tasks"][("upload_bronze", -1)] == ("success", 2)
    bronze_puts = [r for r in requests if r.operation == "PutObject" and r.key.startswith(BRONZE)]
    assert [r.status for r in bronze_puts] == [503, 500, 500, 200], "3 errors fail try 1; try 2 writes"
    (key,) = {r.key for r in bronze_puts}
    # Try 2 first looked for the object: the failed copy left nothing visible to reuse.
    heads = [r for r in requests if r.operation == "HeadObject" and r.key == key]
    assert [r.status for r in heads[:2]] == [404, 404], heads[:2]
    internal = "We encountered an internal error. Please try again."
    expected = re.compile(
        rf"upload of {re.escape(key.rsplit('/', 1)[1])} to s3://{BUCKET}/{key}: "
        f"AWS error InternalError on PutObject: {re.escape(internal)}"
    )
    assert expected.search(f1["output"]), f1["output"][-3000:]
    assert f2["tasks"][("upload_glue_artifacts", -1)] == ("success", 2)
    assert f2["tasks"][("validate_silver", -1)] == ("success", 2)
    assert f2["tasks"][("publish_silver", -1)] == ("success", 2)
    messages = [line for line in f2["output"].splitlines() if "AwsStepFailed: " in line]
    artifact = (
        f"s3://{BUCKET}/artifacts/glue/bronze_to_silver.py: AWS error 503 on HeadObject: Service Unavailable"
    )
    counts = re.compile(
        rf"read of s3://{BUCKET}/silver/_versions/sales/[^ ]+/_counts.json: "
        "AWS error SlowDown on GetObject: Please reduce your request rate."
    )
    quarantine = re.compile(
        rf"copy of s3://{BUCKET}/quarantine/_staging/[^ ]+/part-00000.parquet to "
        rf"s3://{BUCKET}/quarantine/sales/ingest_date={DAY}/part-00000.parquet: "
        f"AWS error InternalError on CopyObject: {re.escape(internal)}"
    )
    assert any(artifact in m for m in messages), messages
    assert any(counts.search(m) for m in messages), messages
    assert any(quarantine.search(m) for m in messages), messages
    # publish's failed try moved nothing: the table appeared only with its successful retry
    table_calls = [r for r in requests if r.operation in ("AWSGlue.CreateTable", "AWSGlue.UpdateTable")]
    copies = [r for r in requests if r.operation == "CopyObject" and r.key.startswith("quarantine/sales/")]
    assert [r.status for r in copies[:4]] == [500, 500, 500, 200]
    assert _position(requests, table_calls[0]) > _position(requests, copies[3])


def test_rerun_after_the_faults_equals_the_undisturbed_run(runs: dict, undisturbed: dict) -> None:
    got = runs["rerun"]["outputs"]
    assert got["bronze"] == undisturbed["bronze"]
    assert got["silver"] == undisturbed["silver"], "the live silver version: same files, same rows"
    assert got["quarantine"] == undisturbed["quarantine"]
    assert got["repairs"] == undisturbed["repairs"] and got["repairs"]["rows"], "repairs published once"
    assert got["table"] == undisturbed["table"]
    assert got["catalog"] == undisturbed["catalog"]
    assert got["staging"] == undisturbed["staging"] == []
    assert got["report_counts"] == undisturbed["report_counts"]


def test_faulted_run_2_published_the_undisturbed_silver_over_run_1s_leftovers(
    runs: dict, undisturbed: dict
) -> None:
    """Run 1 died in Glue, so its teardown never ran: its partial output waits for the next publish."""
    f1, f2 = runs["f1"], runs["f2"]
    # Each attempt overwrote the one before; the last one's partial files are what run 1 left.
    assert len(f1["partial"]) == 6 and f1["left"] == sorted(f1["partial"][-2:])
    assert f2["silver"] == undisturbed["silver"] and f2["quarantine"] == undisturbed["quarantine"]
    assert f2["versions"] == [f2["live"]], "run 1's partial version is gone, no other version is left"
    assert f2["staging"] == [], "run 1's quarantine staging is gone"


def test_no_duplicates_after_the_faults(runs: dict) -> None:
    got, aws_ = runs["rerun"]["outputs"], runs["aws"]
    assert len(got["bronze"]) == 1, "one bronze object, written once and reused"
    assert "(already there)" in runs["rerun"]["output"]
    assert len(got["silver"]["rows"]) == got["report"]["rows"]["silver"]
    assert len({r[0] for r in got["silver"]["rows"]}) == len(got["silver"]["rows"]), "row ids unique"
    # The live version and the one before it (kept for rollback, as after any rerun); both complete.
    assert got["versions"] == sorted([got["run_key"], runs["f2"]["live"]])
    previous = parquet_under(
        aws_.client("s3"), BUCKET, f"silver/_versions/sales/{runs['f2']['live']}/", hive=True
    )
    assert previous == got["silver"]
    rerun_runs = [
        r for r in runs["glue_runs"] if r["Arguments"]["--silver_path"].endswith(f"/{got['run_key']}/")
    ]
    assert [r["JobRunState"] for r in rerun_runs] == ["SUCCEEDED"]
    assert got["report"]["glue"]["run_id"] == rerun_runs[0]["Id"]
    assert len(runs["glue_runs"]) == 6


def test_rerun_took_no_retries(runs: dict) -> None:
    tasks = runs["rerun"]["tasks"]
    assert all(state == "success" and tries == 1 for state, tries in tasks.values()), tasks


def test_aws_tasks_retried_after_they_completed_change_nothing(
    runs: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A try that did all its work and then failed (a lost worker, an error in its last call) is
    retried: bronze, artifacts, publish, teardown and catalog run again on the rerun's state."""
    aws_ = runs["aws"]
    for key, value in aws_.airflow_env().items():
        monkeypatch.setenv(key, value)
    before = snapshot_outputs(aws_)
    key, lay = before["run_key"], aws.Layout.of(get_settings())
    run = {
        "run_key": key,
        "ingest_date": DAY,
        "silver_prefix": lay.version_dir(key),
        "quarantine_staging_prefix": lay.quarantine_staging(key),
    }
    source = tmp_path / before["report"]["bronze"]["file_name"]
    aws_.client("s3").download_file(BUCKET, before["report"]["bronze"]["key"], str(source))
    bronze = aws.upload_bronze(aws.land_file(source, f"{key}-retry"), DAY)
    assert (bronze["reused"], bronze["key"]) == (True, before["report"]["bronze"]["key"])
    artifacts = aws.upload_glue_artifacts(bronze, DAY, key)
    assert artifacts["uploaded"] == []
    (glue_run,) = [r for r in runs["glue_runs"] if r["Id"] == before["report"]["glue"]["run_id"]]
    assert artifacts["arguments"].items() <= glue_run["Arguments"].items()
    aws.publish_silver(run)  # its staging is gone: the published quarantine must stay
    aws.discard_unpublished(run)
    assert aws.define_silver_table()["changed"] is False
    assert snapshot_outputs(aws_) == before


def test_persistent_upload_part_error_leaves_no_object_and_no_open_upload(
    runs: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file above the multipart threshold: extract_source lands it with a multipart upload, and
    upload_bronze uploads its checked copy to bronze part by part (UploadPart); a part failing on
    every attempt aborts the upload (nothing in bronze, no open upload); a 503 once is retried."""
    aws_ = runs["aws"]
    for key, value in aws_.airflow_env().items():
        monkeypatch.setenv(key, value)
    big = tmp_path / "big.csv"
    line = b"1,CA-2017-152156,08/11/2017,11/11/2017,Second Class,CG-12520,Claire Gute,Consumer," * 2
    big.write_bytes(line * (9 * 2**20 // len(line)))  # 9 MiB: two parts
    day = "2026-02-01"
    landed = aws.land_file(big, "multipart-1")
    aws_.faults.arm(Fault("UploadPart", "bronze/", 500, times=10**6))
    try:
        with pytest.raises(PipelineError) as failed:
            aws.upload_bronze(landed, day)
    finally:
        aws_.faults.arm()
    assert len(aws_.faults.injected("UploadPart")) >= ATTEMPTS
    message = str(failed.value)
    assert f"s3://{BUCKET}/bronze/sales/ingest_date={day}/big.csv" in message, message
    assert "InternalError on UploadPart" in message, message
    s3 = aws_.client("s3")
    assert _keys(aws_, f"bronze/sales/ingest_date={day}/") == []
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    transient = Fault("UploadPart", "bronze/", 503, times=1)
    aws_.faults.arm(transient)
    try:
        written = aws.upload_bronze(landed, day)
    finally:
        aws_.faults.arm()
    assert transient.hits == 1
    assert written["reused"] is False
    body = s3.get_object(Bucket=BUCKET, Key=written["key"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == written["sha256"] and body == big.read_bytes()
