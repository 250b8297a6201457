"""The aws backend: S3 bronze, the Glue silver job, the quality gate, the Glue catalog and Athena views.

Stage functions (called by the DAG's TaskFlow tasks) and operator factories (the amazon provider's
operators, configured from the settings). Nothing here touches AWS at import time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator

from include.sales_analyzer.bronze import sha256_of
from include.sales_analyzer.config import CATALOG_MODES, SQL_DIR, Settings, SettingsError, get_settings
from include.sales_analyzer.contract import Contract, load_contract
from include.sales_analyzer.errors import PipelineError

log = logging.getLogger(__name__)

# BI views over the gold marts, one Athena statement each: include/sales_analyzer/sql/athena/<name>.sql
BI_VIEWS = ("v_sales_enriched", "v_monthly_revenue", "v_segment_share")
ATHENA_SQL_DIR = SQL_DIR / "athena"
GLUE_DESCRIPTION = "Bronze CSV to typed, de-duplicated, partitioned silver Parquet."
SHARED_ZIP = "sales_analyzer_shared.zip"
# Partition projection: Athena computes partitions from the table's ranges instead of reading
# them from the catalog. The order_year range is the silver version's own (publish_silver lists
# its partition folders); this one only stands in for a version with no partition to read.
DEFAULT_ORDER_YEAR_RANGE = "2014,2030"
PARQUET_SERDE = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}
GLUE_TYPES = {"BIGINT": "bigint", "INTEGER": "int", "VARCHAR": "string", "DATE": "date"}


class AwsStepFailed(PipelineError):
    """An AWS step ended badly; the message names the run or query id and the AWS error."""


@dataclass(frozen=True)
class Layout:
    """Where everything lives in the lake bucket (keys, not URIs)."""

    settings: Settings
    table: str

    @classmethod
    def of(cls, settings: Settings, contract: Contract | None = None) -> Layout:
        """The layout for these settings and the contract's table."""
        return cls(settings, (contract or load_contract()).name)

    @property
    def bucket(self) -> str:
        """The lake bucket."""
        return self.settings.bucket

    def uri(self, key: str) -> str:
        """s3://bucket/key."""
        return f"s3://{self.bucket}/{key}"

    def landing_dir(self, run_key: str) -> str:
        """Prefix where extract_source lands one run's input file for upload_bronze to pick up."""
        return f"{self.settings.landing_prefix}/{run_key}/"

    def bronze_dir(self, ingest_date: str) -> str:
        """Prefix of one ingest date's bronze files."""
        return f"{self.settings.bronze_prefix}/ingest_date={ingest_date}/"

    @property
    def versions_dir(self) -> str:
        """Prefix under which each run's silver version is written."""
        return f"{self.settings.silver_prefix}/_versions/{self.table}/"

    def version_dir(self, run_key: str) -> str:
        """Prefix of one run's silver version."""
        return f"{self.versions_dir}{run_key}/"

    def quarantine_staging(self, run_key: str) -> str:
        """Where the Glue job writes one run's rejected lines before publish."""
        return f"{self.settings.quarantine_prefix}/_staging/{run_key}/"

    def quarantine_dir(self, ingest_date: str) -> str:
        """Published rejected lines of one ingest date (replaced by a rerun, as locally)."""
        return f"{self.settings.quarantine_prefix}/{self.table}/ingest_date={ingest_date}/"

    def artifact(self, name: str) -> str:
        """Key of a Glue job artifact (script, contract, shared-modules zip)."""
        return f"{self.settings.artifacts_prefix}/{name}"

    def report(self, name: str) -> str:
        """Key of a report object."""
        return f"{self.settings.reports_prefix}/{name}"


def check_settings(settings: Settings) -> None:
    """Fail at parse time on an aws setting that cannot work (config.get_settings checks the rest)."""
    if settings.catalog_mode not in CATALOG_MODES:
        raise SettingsError(
            f"SALES_CATALOG_MODE={settings.catalog_mode!r}: expected one of {', '.join(CATALOG_MODES)}"
        )
    if not settings.bucket:
        raise SettingsError("SALES_BUCKET is not set: the aws backend needs the lake bucket")


# ---------------------------------------------------------------------------------- helpers


def _s3(settings: Settings) -> Any:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=settings.aws_conn_id).get_conn()


def mask_aws_identity(conn_id: str | None) -> None:
    """Mask the account id and the connection's keys in this task's logs."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from airflow.sdk.log import mask_secret

    hook = AwsBaseHook(aws_conn_id=conn_id, client_type="sts")
    conn = hook.conn_config
    for value in (conn.aws_access_key_id, conn.aws_secret_access_key, conn.aws_session_token):
        if value:
            mask_secret(value)
    try:
        account = hook.get_conn().get_caller_identity()["Account"]
    except Exception as exc:  # masking is best effort; the task itself reports AWS errors
        log.warning("could not read the account id to mask it: %s", type(exc).__name__)
        return
    mask_secret(account)


def _mask_before_execute(context: Any) -> None:
    mask_aws_identity(getattr(context["task"], "aws_conn_id", None))


@contextmanager
def _s3_errors(what: str) -> Iterator[None]:
    """Name the object and the AWS error when an S3 call still fails after the SDK's retries."""
    try:
        yield
    except AwsStepFailed:
        raise
    except Exception as exc:
        aws_error = _client_error(exc)
        if aws_error is None:
            raise
        raise AwsStepFailed(f"{what}: AWS error {aws_error}") from exc


def _head(s3: Any, bucket: str, key: str) -> dict | None:
    from botocore.exceptions import ClientError

    with _s3_errors(f"s3://{bucket}/{key}"):
        try:
            return s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise


def _object_sha256(s3: Any, bucket: str, key: str, head: dict) -> str:
    """The checksum recorded in the object's metadata, or computed from its bytes."""
    recorded = head.get("Metadata", {}).get("sha256")
    if recorded:
        return recorded
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def _upload(s3: Any, path: Path, bucket: str, key: str, checksum: str) -> None:
    # One PutObject, or a multipart upload that is aborted when a part fails: either the whole
    # object becomes visible or nothing does.
    with _s3_errors(f"upload of {path.name} to s3://{bucket}/{key}"):
        s3.upload_file(str(path), bucket, key, ExtraArgs={"Metadata": {"sha256": checksum}})


def sync_file(s3: Any, path: Path, bucket: str, key: str) -> bool:
    """Upload `path` unless the object already holds the same bytes; True if uploaded."""
    checksum = sha256_of(path)
    head = _head(s3, bucket, key)
    if head is not None and _object_sha256(s3, bucket, key, head) == checksum:
        return False
    _upload(s3, path, bucket, key, checksum)
    return True


def list_keys(s3: Any, bucket: str, prefix: str) -> list[dict]:
    """Every object under a prefix (Key, Size, LastModified)."""
    out: list[dict] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(page.get("Contents", []))
    return out


def delete_keys(s3: Any, bucket: str, keys: Iterable[str]) -> int:
    """Delete objects in batches of 1,000; return how many."""
    keys = list(keys)
    for i in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[i : i + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    return len(keys)


def _put_json(s3: Any, bucket: str, key: str, payload: dict) -> str:
    body = json.dumps(payload, indent=2, sort_keys=True, default=str).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return f"s3://{bucket}/{key}"


def _timed(result: dict[str, Any], started: float) -> dict[str, Any]:
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


# ------------------------------------------------------------------------------------ bronze


def land_file(path: Path, run_key: str, settings: Settings | None = None) -> dict[str, Any]:
    """Upload a file of this worker to landing/<run_key>/, with its checksum and line count.

    What a later task needs from the file travels in S3 and in this small XCom, never on the
    worker's disk: on MWAA the next task may run on another worker (or a replaced one).
    """
    from include.sales_analyzer.silver import count_lines

    settings = settings or get_settings()
    lay, s3 = Layout.of(settings), _s3(settings)
    checksum = sha256_of(path)
    key = lay.landing_dir(run_key) + path.name
    _upload(s3, path, lay.bucket, key, checksum)
    return {
        "landing_uri": lay.uri(key),
        "landing_key": key,
        "file_name": path.name,
        "sha256": checksum,
        "bytes": path.stat().st_size,
        "lines": count_lines(path),
    }


def extract_to_landing(
    params: dict[str, Any], run_key: str, settings: Settings | None = None
) -> dict[str, Any]:
    """extract_source on aws: make the input file in a temporary folder and land it in S3 in one task."""
    from include.sales_analyzer.pipeline import extract

    started = time.perf_counter()
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    with tempfile.TemporaryDirectory(prefix="sales_extract_") as tmp:
        # The generator and the Kaggle download write under <data_dir>/landing: a temporary
        # folder here, gone when the task ends.
        extracted = extract(
            params["source"],
            rows=params["rows"],
            seed=params["seed"],
            damaged=params["damaged"],
            source_path=params.get("source_path") or None,
            settings=replace(settings, data_dir=Path(tmp)),
        )
        landed = land_file(Path(extracted["path"]), run_key, settings)
    extracted.pop("seconds", None)
    extracted.pop("finished_at", None)
    if extracted["source"] != "file":
        extracted.pop("path")  # a temporary path of the worker that made it: meaningless later
    log.info("landed %s (%s bytes) at %s", landed["file_name"], f"{landed['bytes']:,}", landed["landing_uri"])
    return _timed({**extracted, **landed}, started)


def upload_bronze(
    landed: dict[str, Any], ingest_date: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Copy the landed file to s3://<bucket>/bronze/... (server side), never rewriting an object there.

    The same bytes again reuse the object (checksum in its metadata); different bytes under the
    same name are kept beside it under a checksum suffix, as the local backend does. The landing
    object is deleted once bronze holds it; a retry after that finds bronze already written.
    """
    started = time.perf_counter()
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), _s3(settings)
    checksum, name = landed["sha256"], landed["file_name"]
    key = lay.bronze_dir(ingest_date) + name
    head = _head(s3, lay.bucket, key)
    if head is not None and _object_sha256(s3, lay.bucket, key, head) != checksum:
        stem, dot, suffix = name.rpartition(".")
        key = lay.bronze_dir(ingest_date) + (
            f"{stem}__{checksum[:12]}.{suffix}" if dot else f"{name}__{checksum[:12]}"
        )
        head = _head(s3, lay.bucket, key)
    reused = head is not None
    if not reused:
        source = landed["landing_key"]
        if _head(s3, lay.bucket, source) is None:
            raise AwsStepFailed(
                f"{lay.uri(source)} is gone and {lay.uri(key)} does not hold sha256 {checksum[:12]}: "
                "extract_source must run again (clear it to re-extract)"
            )
        # A managed copy (multipart above 8 MB): S3 copies the bytes, the checksum travels as metadata.
        with _s3_errors(f"copy of {lay.uri(source)} to {lay.uri(key)}"):
            s3.copy(
                {"Bucket": lay.bucket, "Key": source},
                lay.bucket,
                key,
                ExtraArgs={"Metadata": {"sha256": checksum}, "MetadataDirective": "REPLACE"},
            )
    delete_keys(s3, lay.bucket, [o["Key"] for o in list_keys(s3, lay.bucket, landed["landing_key"])])
    log.info(
        "bronze %s: %s bytes, %s lines, sha256 %s (%s)",
        lay.uri(key),
        f"{landed['bytes']:,}",
        f"{landed['lines']:,}",
        checksum[:12],
        "already there" if reused else "written",
    )
    result = {
        "uri": lay.uri(key),
        "key": key,
        "file_name": key.rsplit("/", 1)[1],
        "sha256": checksum,
        "bytes": landed["bytes"],
        "lines": landed["lines"],
        "reused": reused,
    }
    return _timed(result, started)


# ------------------------------------------------------------------------------------ silver


def upload_glue_artifacts(
    bronze: dict[str, Any], ingest_date: str, run_key: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Ship the Glue script, the contract and the shared-modules zip; return this run's job arguments."""
    from include.glue import artifacts

    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), _s3(settings)
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


class SalesGlueJobOperator(GlueJobOperator):
    """GlueJobOperator whose failures name the job run, how it ended and the AWS error."""

    def execute(self, context: Any) -> str:
        """Create or update the job, start (or resume) the run, wait for it."""
        try:
            return super().execute(context)
        except Exception as exc:
            raise self._failure(exc, self._job_run_id) from exc

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> str:
        """Resume after deferral."""
        try:
            return super().execute_complete(context, event)
        except Exception as exc:
            run_id = (event or {}).get("run_id") or context["ti"].xcom_pull(
                key="glue_job_run_id", task_ids=self.task_id
            )
            raise self._failure(exc, run_id) from exc

    def _failure(self, exc: Exception, run_id: str | None) -> AwsStepFailed:
        what = f"Glue job {self.job_name} run {run_id or '(not started)'}"
        aws_error = _client_error(exc)
        if aws_error:
            return AwsStepFailed(f"{what}: AWS error {aws_error}")
        state, message = None, None
        if run_id:
            try:
                job_run = self.hook.conn.get_job_run(JobName=self.job_name, RunId=run_id)["JobRun"]
                state, message = job_run.get("JobRunState"), job_run.get("ErrorMessage")
            except Exception as lookup:  # the original error is what matters
                log.warning("could not read %s: %s", what, _client_error(lookup) or lookup)
        if state:
            return AwsStepFailed(f"{what} ended {state}: {message or exc}")
        return AwsStepFailed(f"{what}: {exc}")


def _client_error(exc: BaseException) -> str | None:
    """'Code: message' of a botocore ClientError, also when wrapped; None otherwise."""
    from botocore.exceptions import ClientError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            error = seen.response.get("Error", {})
            operation = getattr(seen, "operation_name", "")
            return f"{error.get('Code', '?')} on {operation}: {error.get('Message', str(seen))}"
        seen = seen.__cause__ or seen.__context__
    return None


def glue_job_operator(
    settings: Settings, script_args: Any, task_id: str = "run_bronze_to_silver", **kwargs: Any
) -> GlueJobOperator:
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
        pre_execute=_mask_before_execute,
        **role_kwarg,
        **kwargs,
    )


def _download(s3: Any, bucket: str, prefix: str, dest: Path) -> list[Path]:
    """Download the Parquet files under a prefix, keeping their relative paths (hive partitions)."""
    files = []
    for obj in list_keys(s3, bucket, prefix):
        rel = obj["Key"][len(prefix) :]
        if not rel.endswith(".parquet") or any(p.startswith(("_", ".")) for p in rel.split("/")):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with _s3_errors(f"download of s3://{bucket}/{obj['Key']}"):
            s3.download_file(bucket, obj["Key"], str(target))
        files.append(target)
    return files


def silver_counts(silver_dir: Path, quarantine_dir: Path) -> dict[str, Any]:
    """Rows, partitions and quarantine reasons of the Parquet the Glue job wrote."""
    import duckdb

    glob = str(silver_dir / "**" / "*.parquet").replace("'", "''")
    qglob = str(quarantine_dir / "**" / "*.parquet").replace("'", "''")
    with duckdb.connect() as con:
        rows, partitions = con.execute(
            f"select count(*), count(distinct (order_year, order_month)) "
            f"from read_parquet('{glob}', hive_partitioning = true)"
        ).fetchone()
        by_reason = (
            dict(
                con.execute(
                    f"select reason, count(*) from read_parquet('{qglob}') group by 1 order by 2 desc, 1"
                ).fetchall()
            )
            if any(quarantine_dir.rglob("*.parquet"))
            else {}
        )
    return {
        "silver_rows": rows,
        "silver_partitions": partitions,
        "quarantined_lines": sum(by_reason.values()),
        "quarantine_by_reason": by_reason,
    }


def validate_silver(
    bronze: dict[str, Any],
    run: dict[str, Any],
    max_quarantine_fraction: float | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The same Great Expectations suite as locally, on the silver version the Glue job wrote.

    The Parquet is downloaded and checked with DuckDB, not queried where it lies: DuckDB's
    httpfs extension cannot be installed offline (MWAA workers in private subnets, these
    tests), and Athena would cost a query per expectation (and moto's Athena returns no rows).
    """
    from include.sales_analyzer.quality import raise_if_failed
    from include.sales_analyzer.quality import validate_silver as gx_validate

    started = time.perf_counter()
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), _s3(settings)
    with tempfile.TemporaryDirectory() as tmp:
        silver_dir, quarantine_dir = Path(tmp) / "silver", Path(tmp) / "quarantine"
        silver_files = _download(s3, lay.bucket, run["silver_prefix"], silver_dir)
        if not silver_files:
            raise AwsStepFailed(
                f"{lay.uri(run['silver_prefix'])}: the Glue run wrote no silver Parquet; "
                "expected partition folders order_year=/order_month= with .parquet files"
            )
        _download(s3, lay.bucket, run["quarantine_staging_prefix"], quarantine_dir)
        counts = silver_counts(silver_dir, quarantine_dir)
        counts["silver_bytes"] = sum(f.stat().st_size for f in silver_files)
        record_lines = counts["silver_rows"] + counts["quarantined_lines"]
        report = gx_validate(
            str(silver_dir / "**" / "*.parquet"),
            record_lines=record_lines,
            quarantined_lines=counts["quarantined_lines"],
            work_dir=Path(tmp) / "gx",
            docs_dir=Path(tmp) / "data_docs",
            max_quarantine_fraction=max_quarantine_fraction,
            memory_limit=settings.duckdb_memory_limit,
        )
        docs_prefix = lay.report(f"quality/{run['run_key']}/data_docs/")
        for path in sorted((Path(tmp) / "data_docs").rglob("*")):
            if path.is_file():
                s3.upload_file(
                    str(path), lay.bucket, docs_prefix + path.relative_to(Path(tmp) / "data_docs").as_posix()
                )
    report["run_key"] = run["run_key"]
    report["data_docs"] = lay.uri(docs_prefix + "index.html")
    report_uri = _put_json(
        s3, lay.bucket, lay.report(f"quality/{run['run_key']}/quality_report.json"), report
    )
    non_record = bronze["lines"] - record_lines
    # The Glue job fails unless its own line count reconciles; this checks what it left in S3.
    conservation = {
        "bronze_lines": bronze["lines"],
        "silver_rows": counts["silver_rows"],
        "quarantined_lines": counts["quarantined_lines"],
        "non_record_lines": non_record,
        "holds": non_record >= 1,
    }
    raise_if_failed(report)
    summary = {k: report[k] for k in ("success", "evaluated", "failed", "quarantine_fraction", "data_docs")}
    return _timed(
        {
            **summary,
            "report": report_uri,
            "expectations": [
                {k: x[k] for k in ("expectation", "column", "success", "observed")}
                for x in report["expectations"]
            ],
            "counts": {**counts, "record_lines": record_lines, "conservation": conservation},
        },
        started,
    )


# ----------------------------------------------------------------------------------- catalog


def partition_ranges(keys: Iterable[str], partition_by: Iterable[str]) -> dict[str, str]:
    """'min,max' of each integer partition column, read from hive folder names in object keys."""
    found: dict[str, list[int]] = {p: [] for p in partition_by}
    for key in keys:
        for part in key.split("/"):
            name, eq, value = part.partition("=")
            if eq and name in found and value.isdigit():
                found[name].append(int(value))
    return {p: f"{min(v)},{max(v)}" for p, v in found.items() if v}


def silver_table_input(
    settings: Settings,
    location: str,
    run_key: str,
    contract: Contract | None = None,
    ranges: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The Glue table over one silver version: columns from the contract, partition projection.

    With projection Athena derives partitions from the table's template instead of catalog
    partitions, so pointing the table at another version is one UpdateTable: atomic for readers.
    `ranges` gives each partition column's 'min,max' in this version, so Athena enumerates only
    years that hold data (a fixed 1990-2100 range would list mostly empty partitions).
    """
    contract = contract or load_contract()
    partitions = set(contract.partition_by)

    def glue_type(sql_type: str) -> str:
        return GLUE_TYPES.get(sql_type, sql_type.lower().replace(" ", ""))

    columns = [
        {"Name": name, "Type": glue_type(sql_type)}
        for name, sql_type in contract.silver_columns
        if name not in partitions
    ]
    types = dict(contract.silver_columns)
    template = location + "/".join(f"{p}=${{{p}}}" for p in contract.partition_by) + "/"
    parameters = {
        "classification": "parquet",
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        "storage.location.template": template,
        "sales.run_key": run_key,
        "sales.contract_version": str(contract.version),
    }
    for p in contract.partition_by:
        parameters[f"projection.{p}.type"] = "integer"
        fallback = "1,12" if p.endswith("month") else DEFAULT_ORDER_YEAR_RANGE
        parameters[f"projection.{p}.range"] = (ranges or {}).get(p, fallback)
    return {
        "Name": contract.name,
        "Description": contract.raw.get("description", ""),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [{"Name": p, "Type": glue_type(types[p])} for p in contract.partition_by],
        "StorageDescriptor": {"Columns": columns, "Location": location, **PARQUET_SERDE},
    }


def _glue(settings: Settings) -> Any:
    from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

    return GlueCatalogHook(aws_conn_id=settings.aws_conn_id).get_conn()


def _get_table(glue: Any, database: str, name: str) -> dict | None:
    try:
        return glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None


def _put_table(glue: Any, database: str, table_input: dict[str, Any]) -> str:
    if _get_table(glue, database, table_input["Name"]) is None:
        glue.create_table(DatabaseName=database, TableInput=table_input)
        return "created"
    glue.update_table(DatabaseName=database, TableInput=table_input)
    return "updated"


def live_version(settings: Settings, contract: Contract | None = None) -> str | None:
    """The run key of the silver version the Glue table points at (None before the first publish)."""
    contract = contract or load_contract()
    table = _get_table(_glue(settings), settings.glue_database, contract.name)
    return (table or {}).get("Parameters", {}).get("sales.run_key")


def publish_silver(run: dict[str, Any], settings: Settings | None = None, keep_versions: int = 2) -> dict:
    """Point the silver table at the validated version (one UpdateTable), move quarantine into place."""
    started = time.perf_counter()
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3, glue = Layout.of(settings), _s3(settings), _glue(settings)
    contract = load_contract()
    target = lay.quarantine_dir(run["ingest_date"])
    previous = live_version(settings, contract)
    if previous == run["run_key"]:
        # A retry after this run's table update: its quarantine is in place, its staging may be gone.
        log.info("silver version %s is live already: quarantine left as published", run["run_key"])
    else:
        # Quarantine first: a failure here leaves the previous silver live.
        old = {o["Key"] for o in list_keys(s3, lay.bucket, target)}
        new = set()
        for obj in list_keys(s3, lay.bucket, run["quarantine_staging_prefix"]):
            key = target + obj["Key"][len(run["quarantine_staging_prefix"]) :]
            source = {"Bucket": lay.bucket, "Key": obj["Key"]}
            with _s3_errors(f"copy of {lay.uri(obj['Key'])} to {lay.uri(key)}"):
                s3.copy_object(Bucket=lay.bucket, Key=key, CopySource=source)
            new.add(key)
        delete_keys(s3, lay.bucket, sorted(old - new))
    location = lay.uri(run["silver_prefix"])
    version_keys = [
        o["Key"][len(run["silver_prefix"]) :] for o in list_keys(s3, lay.bucket, run["silver_prefix"])
    ]
    ranges = partition_ranges((k for k in version_keys if k.endswith(".parquet")), contract.partition_by)
    table_input = silver_table_input(settings, location, run["run_key"], contract, ranges)
    action = _put_table(glue, settings.glue_database, table_input)
    log.info("silver published: %s.%s -> %s (%s)", settings.glue_database, contract.name, location, action)
    delete_keys(
        s3, lay.bucket, [o["Key"] for o in list_keys(s3, lay.bucket, run["quarantine_staging_prefix"])]
    )
    pruned = prune_versions(s3, lay, run["run_key"], previous if keep_versions > 1 else None)
    return _timed(
        {
            "table": f"{settings.glue_database}.{contract.name}",
            "location": location,
            "quarantine": lay.uri(target),
            "pruned_versions": pruned,
        },
        started,
    )


def _groups(s3: Any, bucket: str, root: str) -> dict[str, tuple[list[str], datetime]]:
    """The objects under root/<name>/ by name, with the time the newest of them was written."""
    groups: dict[str, tuple[list[str], datetime]] = {}
    for obj in list_keys(s3, bucket, root):
        name = obj["Key"][len(root) :].split("/", 1)[0]
        keys, newest = groups.get(name, ([], obj["LastModified"]))
        groups[name] = ([*keys, obj["Key"]], max(newest, obj["LastModified"]))
    return groups


def prune_versions(s3: Any, lay: Layout, live_key: str, previous_key: str | None) -> list[str]:
    """Delete the silver versions and quarantine staging no reader or running job needs.

    Kept: the live version, the one live before it (for rollback; on a retried publish, the newest
    older one), and whatever was written after the live version (a run still going). Deleted: older
    published versions, and what runs that never published left behind. A run whose Glue job failed
    leaves its partial version and staging there: its teardown only runs after a successful setup.
    """
    versions = _groups(s3, lay.bucket, lay.versions_dir)
    if live_key not in versions:
        return []
    written = versions[live_key][1]
    older = sorted(
        (v for v, (_, t) in versions.items() if v != live_key and t <= written), key=lambda v: versions[v][1]
    )
    if previous_key == live_key and older:  # a retry: the table already points at this run
        previous_key = older[-1]
    doomed = [v for v in older if v != previous_key]
    for version in doomed:
        delete_keys(s3, lay.bucket, versions[version][0])
    staging_root = f"{lay.settings.quarantine_prefix}/_staging/"
    stale = [
        keys
        for name, (keys, t) in _groups(s3, lay.bucket, staging_root).items()
        if name != live_key and t <= written
    ]
    for keys in stale:
        delete_keys(s3, lay.bucket, keys)
    if doomed or stale:
        log.info("pruned %d silver versions and %d stale quarantine stagings", len(doomed), len(stale))
    return doomed


def discard_unpublished(run: dict[str, Any], settings: Settings | None = None) -> None:
    """Drop a run's quarantine staging, and its silver version unless it is the live one."""
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), _s3(settings)
    delete_keys(
        s3, lay.bucket, [o["Key"] for o in list_keys(s3, lay.bucket, run["quarantine_staging_prefix"])]
    )
    if live_version(settings) != run["run_key"]:
        dropped = delete_keys(
            s3, lay.bucket, [o["Key"] for o in list_keys(s3, lay.bucket, run["silver_prefix"])]
        )
        if dropped:
            log.info(
                "discarded unpublished silver version %s (%d objects)", lay.uri(run["silver_prefix"]), dropped
            )


def define_silver_table(settings: Settings | None = None) -> dict[str, Any]:
    """catalog_silver in ddl mode: (re)write the silver table's definition from the contract.

    Keeps the version publish_silver pointed it at; a contract change reaches the catalog here.
    """
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    glue, contract = _glue(settings), load_contract()
    current = _get_table(glue, settings.glue_database, contract.name)
    if current is None:
        raise AwsStepFailed(
            f"Glue table {settings.glue_database}.{contract.name} does not exist: publish_silver creates it"
        )
    location = current["StorageDescriptor"]["Location"]
    run_key = current.get("Parameters", {}).get("sales.run_key", "")
    params = current.get("Parameters", {})
    # Keep the ranges publish_silver read from the live version's partition folders.
    ranges = {
        p: params[f"projection.{p}.range"] for p in contract.partition_by if f"projection.{p}.range" in params
    }
    wanted = silver_table_input(settings, location, run_key, contract, ranges)
    same = (
        all(current.get(k) == wanted[k] for k in ("PartitionKeys", "Parameters"))
        and current["StorageDescriptor"].get("Columns") == wanted["StorageDescriptor"]["Columns"]
    )
    if not same:
        glue.update_table(DatabaseName=settings.glue_database, TableInput=wanted)
    log.info("catalog: %s.%s %s", settings.glue_database, contract.name, "unchanged" if same else "updated")
    return {
        "table": f"{settings.glue_database}.{contract.name}",
        "location": location,
        "columns": [c["Name"] for c in wanted["StorageDescriptor"]["Columns"]],
        "changed": not same,
    }


def crawler_definition(settings: Settings, role_arn: str, contract: Contract | None = None) -> dict[str, Any]:
    """The silver crawler's one definition (CreateCrawler's input): catalog_silver creates or updates it.

    It crawls the silver table itself (a catalog target), so it reads exactly the location
    publish_silver pointed the table at: the live version, never another kept version under
    silver/_versions/ nor the quarantine staging, and it writes only into the silver database.
    Gold is not crawled: dbt-athena registers each gold table (location, format, columns) with
    the CTAS that writes it, and an S3 crawl of gold/ would see each table's unique data folders
    as partitions or tables of their own. See docs/aws-backend.md.
    """
    contract = contract or load_contract()
    return {
        "Name": settings.glue_crawler_name,
        "Role": role_arn,
        "Description": "Keeps the silver table's schema and partitions in step with its live version.",
        "Targets": {"CatalogTargets": [{"DatabaseName": settings.glue_database, "Tables": [contract.name]}]},
        # A crawler over catalog targets must only log deletions, never delete or deprecate tables.
        "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
        "Configuration": json.dumps(
            {
                "Version": 1.0,
                "CrawlerOutput": {
                    # New columns are added; the contract's types and the projection stay.
                    "Tables": {"AddOrUpdateBehavior": "MergeNewColumns"},
                    "Partitions": {"AddOrUpdateBehavior": "InheritFromTable"},
                },
            },
            sort_keys=True,
        ),
        "CrawlerSecurityConfiguration": settings.glue_security_configuration,
    }


def crawler_operator(settings: Settings, **kwargs: Any) -> GlueCrawlerOperator:
    """catalog_silver in crawler mode: create or update the silver crawler, run it, wait for it.

    Defined here rather than in the stack: its catalog target is the silver table, which the
    first publish_silver creates (the stack only creates the crawler's role).
    """
    return GlueCrawlerOperator(
        task_id="catalog_silver",
        config=crawler_definition(settings, settings.glue_crawler_role),
        poll_interval=settings.aws_poll_seconds,
        deferrable=settings.aws_deferrable,
        aws_conn_id=settings.aws_conn_id,
        pre_execute=_mask_before_execute,
        **kwargs,
    )


# -------------------------------------------------------------------------------------- gold


class SalesAthenaOperator(AthenaOperator):
    """AthenaOperator whose failures name the query id, its state and Athena's reason."""

    def execute(self, context: Any) -> str | None:
        """Submit the statement and wait for it."""
        try:
            return super().execute(context)
        except Exception as exc:
            raise self._failure(exc, self.query_execution_id) from exc

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> str:
        """Resume after deferral."""
        try:
            return super().execute_complete(context, event)
        except Exception as exc:
            raise self._failure(exc, (event or {}).get("value")) from exc

    def _failure(self, exc: Exception, query_id: str | None) -> AwsStepFailed:
        what = f"Athena query {query_id or '(not submitted)'} in workgroup {self.workgroup}"
        aws_error = _client_error(exc)
        if aws_error:
            return AwsStepFailed(f"{what}: AWS error {aws_error}")
        if query_id:
            try:
                status = self.hook.get_query_info(query_id)["QueryExecution"]["Status"]
                reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage")
                return AwsStepFailed(f"{what} ended {status.get('State')}: {reason or exc}")
            except Exception as lookup:  # the original error is what matters
                log.warning("could not read %s: %s", what, _client_error(lookup) or lookup)
        return AwsStepFailed(f"{what}: {exc}")


def view_sql_files() -> list[str]:
    """The BI views' SQL files, relative to the DAG's template search path."""
    return [f"athena/{name}.sql" for name in BI_VIEWS]


def render_view_sql(name: str, gold_database: str) -> str:
    """One view's statement as the AthenaOperator renders it (for tests and previews)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(SQL_DIR)), undefined=StrictUndefined, autoescape=False)
    return env.get_template(f"athena/{name}.sql").render(params={"gold_database": gold_database})


def athena_views_operator(settings: Settings, task_id: str = "publish_gold", **kwargs: Any) -> Any:
    """publish_gold: one Athena statement per BI view, in the gold database, in the workgroup.

    The workgroup (from the stack) enforces the results location and the bytes-scanned limit.
    """
    return SalesAthenaOperator.partial(
        task_id=task_id,
        database=settings.gold_database,
        workgroup=settings.athena_workgroup,
        sleep_time=settings.aws_poll_seconds,
        deferrable=settings.aws_deferrable,
        aws_conn_id=settings.aws_conn_id,
        params={"gold_database": settings.gold_database},
        pre_execute=_mask_before_execute,
        **kwargs,
    ).expand(query=view_sql_files())


# ------------------------------------------------------------------------------------ report


def _glue_run(settings: Settings, run_id: str | None) -> dict[str, Any]:
    if not run_id:
        return {}
    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

    from include.sales_analyzer import cost

    job_run = (
        GlueJobHook(aws_conn_id=settings.aws_conn_id)
        .conn.get_job_run(JobName=settings.glue_job_name, RunId=run_id)
        .get("JobRun", {})
    )
    seconds = int(job_run.get("ExecutionTime") or 0)
    workers = job_run.get("NumberOfWorkers") or settings.glue_workers
    dpu = cost.GLUE_DPU_PER_WORKER.get(job_run.get("WorkerType") or settings.glue_worker_type, 1.0)
    billed = max(seconds, cost.GLUE_JOB_MIN_SECONDS)
    return {
        "job_name": settings.glue_job_name,
        "run_id": run_id,
        "state": job_run.get("JobRunState"),
        "attempt": job_run.get("Attempt"),
        "execution_seconds": seconds,
        "usd": round(billed / 3600 * workers * dpu * cost.GLUE_DPU_HOUR, 4),
    }


def _athena_queries(settings: Settings, query_ids: Iterable[str]) -> dict[str, Any]:
    from airflow.providers.amazon.aws.hooks.athena import AthenaHook

    from include.sales_analyzer import cost

    hook = AthenaHook(aws_conn_id=settings.aws_conn_id, log_query=False)
    queries, scanned, usd = [], 0, 0.0
    for qid in query_ids:
        info = hook.get_query_info(qid)["QueryExecution"]
        bytes_scanned = int(info.get("Statistics", {}).get("DataScannedInBytes") or 0)
        scanned += bytes_scanned
        if info.get("StatementType") != "DDL":  # DDL statements are not billed
            usd += max(bytes_scanned, cost.ATHENA_MIN_BYTES_PER_QUERY) / cost.TB * cost.ATHENA_USD_PER_TB
        queries.append({"query_id": qid, "state": info["Status"]["State"], "bytes_scanned": bytes_scanned})
    return {"workgroup": settings.athena_workgroup, "queries": queries, "bytes_scanned": scanned, "usd": usd}


def write_run_report(
    *,
    run_id: str,
    run: dict[str, Any],
    params: dict[str, Any],
    stages: dict[str, dict[str, Any]],
    glue_run_id: str | None,
    view_query_ids: Iterable[str],
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Write reports/runs/<key>.json and reports/run_report.json (latest) to the lake bucket."""
    from include.sales_analyzer import cost

    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), _s3(settings)
    quality = stages.get("quality", {})
    counts = quality.get("counts", {})
    glue = _glue_run(settings, glue_run_id)
    athena = _athena_queries(settings, [q for q in view_query_ids if q])
    timings = {name: s.get("seconds") for name, s in stages.items() if "seconds" in s}
    estimate = cost.estimate_run_cost(
        stages.get("bronze", {}).get("bytes") or 0,
        counts.get("silver_bytes") or 0,
        counts.get("silver_rows") or 0,
        {**timings, "silver": glue.get("execution_seconds")},
        backend="aws",
        glue_workers=settings.glue_workers,
        glue_worker_type=settings.glue_worker_type,
        partitions=counts.get("silver_partitions") or cost.SILVER_PARTITIONS,
        use_crawler=settings.catalog_mode == "crawler",
    )
    report = {
        "run_id": run_id,
        "run_key": run["run_key"],
        "backend": "aws",
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": params,
        "source": stages.get("extract", {}),
        "bronze": stages.get("bronze", {}),
        "rows": {
            "bronze_lines": stages.get("bronze", {}).get("lines"),
            "silver": counts.get("silver_rows"),
            "quarantine": counts.get("quarantined_lines"),
            "non_record_lines": counts.get("conservation", {}).get("non_record_lines"),
            # Gold row counts would cost Athena queries; dbt's run results hold them.
            "gold_tables": None,
        },
        "quarantine_by_reason": counts.get("quarantine_by_reason", {}),
        "conservation": counts.get("conservation"),
        "quality": {
            "success": quality.get("success"),
            "evaluated": quality.get("evaluated"),
            "failed": quality.get("failed"),
            "data_docs": quality.get("data_docs"),
            "report": quality.get("report"),
            "expectations": quality.get("expectations", []),
        },
        "glue": glue,
        "athena": {k: v for k, v in athena.items() if k != "usd"},
        "outputs": {
            "bronze": stages.get("bronze", {}).get("uri"),
            "silver_table": f"{settings.glue_database}.{load_contract().name}",
            "silver": lay.uri(run["silver_prefix"]),
            "quarantine": lay.uri(lay.quarantine_dir(run["ingest_date"])),
            "gold_database": settings.gold_database,
            "bi_views": [f"{settings.gold_database}.{v}" for v in BI_VIEWS],
        },
        # Measured: this run's Glue job and view statements at list prices. Modelled: the whole
        # run (gold-build queries, S3, MWAA share) by include/sales_analyzer/cost.py.
        "cost_usd": {
            "glue_job": glue.get("usd"),
            "athena_views": round(athena["usd"], 6),
            "estimate": estimate,
        },
        "timings_seconds": timings,
        "reliability": {
            "retries": {name: (s.get("try_number") or 1) - 1 for name, s in stages.items()},
            "glue_attempt": glue.get("attempt"),
            "quarantine_by_reason": counts.get("quarantine_by_reason", {}),
            "conservation_holds": (counts.get("conservation") or {}).get("holds"),
        },
    }
    uri = _put_json(s3, lay.bucket, lay.report(f"runs/{run['run_key']}.json"), report)
    _put_json(s3, lay.bucket, lay.report("run_report.json"), report)
    log.info("run report: %s", uri)
    return {"report": uri, **report}
