"""aws bronze: the input file landed in S3 by extract_source, then copied into bronze, never rewritten."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from include.sales_analyzer.aws.clients import (
    AwsStepFailed,
    delete_keys,
    head_object,
    list_keys,
    mask_aws_identity,
    object_sha256,
    put_file,
    s3_client,
    s3_errors,
    timed,
)
from include.sales_analyzer.aws.layout import Layout
from include.sales_analyzer.bronze import sha256_of
from include.sales_analyzer.config import Settings, get_settings

log = logging.getLogger(__name__)


def land_file(path: Path, run_key: str, settings: Settings | None = None) -> dict[str, Any]:
    """Upload a file of this worker to landing/<run_key>/, with its checksum and line count.

    What a later task needs from the file travels in S3 and in this small XCom, never on the
    worker's disk: on MWAA the next task may run on another worker (or a replaced one).
    """
    from include.sales_analyzer.silver import count_lines

    settings = settings or get_settings()
    lay, s3 = Layout.of(settings), s3_client(settings)
    checksum = sha256_of(path)
    key = lay.landing_dir(run_key) + path.name
    put_file(s3, path, lay.bucket, key, checksum)
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
    return timed({**extracted, **landed}, started)


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
    lay, s3 = Layout.of(settings), s3_client(settings)
    checksum, name = landed["sha256"], landed["file_name"]
    key = lay.bronze_dir(ingest_date) + name
    head = head_object(s3, lay.bucket, key)
    if head is not None and object_sha256(s3, lay.bucket, key, head) != checksum:
        stem, dot, suffix = name.rpartition(".")
        key = lay.bronze_dir(ingest_date) + (
            f"{stem}__{checksum[:12]}.{suffix}" if dot else f"{name}__{checksum[:12]}"
        )
        head = head_object(s3, lay.bucket, key)
    reused = head is not None
    if not reused:
        source = landed["landing_key"]
        if head_object(s3, lay.bucket, source) is None:
            raise AwsStepFailed(
                f"{lay.uri(source)} is gone and {lay.uri(key)} does not hold sha256 {checksum[:12]}: "
                "extract_source must run again (clear it to re-extract)"
            )
        # A managed copy (multipart above 8 MB): S3 copies the bytes, the checksum travels as metadata.
        with s3_errors(f"copy of {lay.uri(source)} to {lay.uri(key)}"):
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
    return timed(result, started)
