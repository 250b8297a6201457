"""aws silver: the Glue job's artifacts, definition and operator, and what it wrote for the gate to read."""

from __future__ import annotations

import json
import logging
import math
import tempfile
from pathlib import Path
from typing import Any

from include.sales_analyzer.aws.clients import (
    AwsStepFailed,
    list_keys,
    mask_aws_identity,
    mask_before_execute,
    s3_client,
    s3_errors,
    sync_file,
)
from include.sales_analyzer.aws.layout import Layout
from include.sales_analyzer.aws.operators import SalesGlueJobOperator
from include.sales_analyzer.config import Settings, get_settings

log = logging.getLogger(__name__)

GLUE_DESCRIPTION = "Bronze CSV to typed, de-duplicated, partitioned silver Parquet."
SHARED_ZIP = "sales_analyzer_shared.zip"


def upload_glue_artifacts(
    bronze: dict[str, Any], ingest_date: str, run_key: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Ship the Glue script, the contract and the shared-modules zip; return this run's job arguments."""
    from include.glue import artifacts

    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), s3_client(settings)
    uploaded = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            artifacts.SCRIPT.name: artifacts.SCRIPT,
            artifacts.CONTRACT.name: artifacts.CONTRACT,
            SHARED_ZIP: artifacts.build_shared_zip(Path(tmp) / SHARED_ZIP),
        }
        for name, path in files.items():
            if sync_file(s3, path, lay.bucket, lay.artifact(name)):
                uploaded.append(name)
    log.info("Glue artifacts under %s: %s", lay.uri(lay.artifact("")), ", ".join(uploaded) or "unchanged")
    arguments = artifacts.job_arguments(
        bronze_path=bronze["uri"],
        contract_path=lay.uri(lay.artifact(artifacts.CONTRACT.name)),
        silver_path=lay.uri(lay.version_dir(run_key)),
        quarantine_path=lay.uri(lay.quarantine_staging(run_key)),
        repairs_path=lay.uri(lay.repairs_staging(run_key)),
        counts_path=lay.uri(lay.glue_counts(run_key)),
        ingest_date=ingest_date,
        source_name=bronze["file_name"],
    )
    return {
        "run_key": run_key,
        "ingest_date": ingest_date,
        "arguments": arguments,
        "silver_prefix": lay.version_dir(run_key),
        "quarantine_staging_prefix": lay.quarantine_staging(run_key),
        "uploaded": uploaded,
    }


def glue_job_definition(settings: Settings) -> dict[str, Any]:
    """The job as the stack defines it (an UpdateJob replaces every field, so all are given)."""
    from include.glue import artifacts

    lay = Layout.of(settings)
    definition: dict[str, Any] = {
        "GlueVersion": artifacts.GLUE_VERSION,
        "WorkerType": settings.glue_worker_type,
        "NumberOfWorkers": settings.glue_workers,
        "Timeout": settings.glue_timeout_minutes,
        "Command": {
            "Name": "glueetl",
            "PythonVersion": "3",
            "ScriptLocation": lay.uri(lay.artifact(artifacts.SCRIPT.name)),
        },
        "DefaultArguments": {
            "--job-language": "python",
            "--TempDir": f"s3://{settings.bucket}/glue-temp/",
            "--job-bookmark-option": "job-bookmark-disable",
            # Glue 5.0 logs in real time to <prefix>/output and <prefix>/error (the stack creates
            # both with a retention); --enable-continuous-cloudwatch-log and
            # --continuous-log-logGroup are Glue 4.0-and-earlier options.
            "--custom-logGroup-prefix": settings.glue_log_group_prefix,
            "--enable-glue-datacatalog": "true",
            "--sales_bucket": settings.bucket,
            "--extra-py-files": lay.uri(lay.artifact(SHARED_ZIP)),
        },
    }
    if settings.glue_security_configuration:
        definition["SecurityConfiguration"] = settings.glue_security_configuration
    return definition


def glue_job_operator(
    settings: Settings, script_args: Any, task_id: str = "run_bronze_to_silver", **kwargs: Any
) -> SalesGlueJobOperator:
    """run_bronze_to_silver: create or update the Glue job, run it with this run's arguments."""
    from include.glue import artifacts

    lay = Layout.of(settings)
    role = settings.glue_job_role
    role_kwarg = {"iam_role_arn": role} if role.startswith("arn:") else {"iam_role_name": role}
    poll = settings.aws_poll_seconds
    return SalesGlueJobOperator(
        task_id=task_id,
        job_name=settings.glue_job_name,
        job_desc=GLUE_DESCRIPTION,
        script_location=lay.uri(lay.artifact(artifacts.SCRIPT.name)),
        script_args=script_args,
        create_job_kwargs=glue_job_definition(settings),
        update_config=True,
        concurrent_run_limit=1,
        retry_limit=0,
        # A retry finds the run it started (by the task's uuid in the run arguments) and waits for
        # it while it is still running, instead of starting a second run on the same logical date.
        resume_glue_job_on_retry=True,
        # A try cut short (execution_timeout, worker lost) leaves its run going for the retry to
        # resume; Glue's own Timeout bounds it. Stopping it on kill would pay for a second run.
        stop_job_run_on_kill=False,
        deferrable=settings.aws_deferrable,
        job_poll_interval=poll,
        waiter_delay=poll,
        waiter_max_attempts=math.ceil(settings.glue_timeout_minutes * 60 / poll) + 10,
        aws_conn_id=settings.aws_conn_id,
        pre_execute=mask_before_execute,
        **role_kwarg,
        **kwargs,
    )


def download_parquet(s3: Any, bucket: str, prefix: str, dest: Path) -> list[Path]:
    """Download the Parquet files under a prefix, keeping their relative paths (hive partitions)."""
    files = []
    for obj in list_keys(s3, bucket, prefix):
        rel = obj["Key"][len(prefix) :]
        if not rel.endswith(".parquet") or any(p.startswith(("_", ".")) for p in rel.split("/")):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with s3_errors(f"download of s3://{bucket}/{obj['Key']}"):
            s3.download_file(bucket, obj["Key"], str(target))
        files.append(target)
    return files


def read_glue_counts(s3: Any, lay: Layout, run_key: str) -> dict[str, Any]:
    """The counts the Glue job wrote beside its silver version (lines by kind, rows, quarantine
    reasons and revenue, repairs and warnings), as silver.summarize counts them locally."""
    from botocore.exceptions import ClientError

    key = lay.glue_counts(run_key)
    with s3_errors(f"read of {lay.uri(key)}"):
        try:
            body = s3.get_object(Bucket=lay.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            raise AwsStepFailed(
                f"{lay.uri(key)}: the Glue run left no counts; expected the JSON that "
                "include/glue/bronze_to_silver.py writes once its lines reconcile"
            ) from None
    return json.loads(body)


def parquet_bytes(s3: Any, lay: Layout, prefix: str) -> int:
    """Bytes of the Parquet files under a prefix (the cost model's silver size)."""
    return sum(o["Size"] for o in list_keys(s3, lay.bucket, prefix) if o["Key"].endswith(".parquet"))
