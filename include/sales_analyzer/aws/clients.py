"""AWS clients and S3 object helpers the aws stages share: masking, error naming, checksums, listings."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from include.sales_analyzer.config import Settings
from include.sales_analyzer.errors import PipelineError
from include.sales_analyzer.files import sha256_of

log = logging.getLogger(__name__)


class AwsStepFailed(PipelineError):
    """An AWS step ended badly; the message names the run or query id and the AWS error."""


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client from the settings' Airflow connection."""
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


def mask_before_execute(context: Any) -> None:
    """pre_execute hook of the AWS operators: mask before the first call."""
    mask_aws_identity(getattr(context["task"], "aws_conn_id", None))


@contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """Name the object and the AWS error when an S3 call still fails after the SDK's retries."""
    try:
        yield
    except AwsStepFailed:
        raise
    except Exception as exc:
        aws_error = client_error(exc)
        if aws_error is None:
            raise
        raise AwsStepFailed(f"{what}: AWS error {aws_error}") from exc


def head_object(s3: Any, bucket: str, key: str) -> dict | None:
    """The object's HeadObject answer, or None when there is no such object."""
    from botocore.exceptions import ClientError

    with s3_errors(f"s3://{bucket}/{key}"):
        try:
            return s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise


def object_sha256(s3: Any, bucket: str, key: str, head: dict) -> str:
    """The checksum recorded in the object's metadata, or computed from its bytes."""
    recorded = head.get("Metadata", {}).get("sha256")
    if recorded:
        return recorded
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def put_file(s3: Any, path: Path, bucket: str, key: str, checksum: str) -> None:
    """Upload a file with its checksum in the object's metadata."""
    # One PutObject, or a multipart upload that is aborted when a part fails: either the whole
    # object becomes visible or nothing does.
    with s3_errors(f"upload of {path.name} to s3://{bucket}/{key}"):
        s3.upload_file(str(path), bucket, key, ExtraArgs={"Metadata": {"sha256": checksum}})


def sync_file(s3: Any, path: Path, bucket: str, key: str) -> bool:
    """Upload `path` unless the object already holds the same bytes; True if uploaded."""
    checksum = sha256_of(path)
    head = head_object(s3, bucket, key)
    if head is not None and object_sha256(s3, bucket, key, head) == checksum:
        return False
    put_file(s3, path, bucket, key, checksum)
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


def put_json(s3: Any, bucket: str, key: str, payload: dict) -> str:
    """Write a JSON object to S3; return its URI."""
    body = json.dumps(payload, indent=2, sort_keys=True, default=str).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return f"s3://{bucket}/{key}"


def client_error(exc: BaseException) -> str | None:
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
