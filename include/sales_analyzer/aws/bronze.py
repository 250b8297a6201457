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
)
from include.sales_analyzer.aws.layout import Layout
from include.sales_analyzer.bronze import scan_stream
from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.files import count_lines, sha256_of
from include.sales_analyzer.report import finish_stage

log = logging.getLogger(__name__)


def land_file(path: Path, run_key: str, settings: Settings | None = None) -> dict[str, Any]:
    """Upload a file of this worker to landing/<run_key>/, with its checksum and line count.

    What a later task needs from the file travels in S3 and in this small XCom, never on the
    worker's disk: on MWAA the next task may run on another worker (or a replaced one).
    """
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
    return finish_stage({**extracted, **landed}, started)


def _bronze_key(s3: Any, lay: Layout, ingest_date: str, name: str, checksum: str) -> tuple[str, bool]:
    """Where bronze keeps these bytes, and whether it holds them already (as bronze.ingest_local).

    Different bytes under the same name are kept beside the object under a checksum suffix.
    """
    key = lay.bronze_dir(ingest_date) + name
    head = head_object(s3, lay.bucket, key)
    if head is not None and object_sha256(s3, lay.bucket, key, head) != checksum:
        stem, dot, suffix = name.rpartition(".")
        key = lay.bronze_dir(ingest_date) + (
            f"{stem}__{checksum[:12]}.{suffix}" if dot else f"{name}__{checksum[:12]}"
        )
        head = head_object(s3, lay.bucket, key)
    return key, head is not None


def upload_bronze(
    landed: dict[str, Any], ingest_date: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Copy the landed file to s3://<bucket>/bronze/..., checking every byte, never rewriting an object.

    The bytes stream from the landing object through bronze.scan_stream (the local bronze's
    check: NUL anywhere, UTF-16/32, not UTF-8, a lone CR) into this task's temporary folder, and
    that copy is what is uploaded, so the checksum recorded is of the bytes written, and a bad
    file fails here with the local bronze's InputFileError (object and line). A server-side copy
    would be cheaper but checks nothing. The same bytes again reuse the object (checksum in its
    metadata); different bytes under the same name are kept beside it. The landing object is
    deleted once bronze holds it; a retry after that finds bronze already written.
    """
    started = time.perf_counter()
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), s3_client(settings)
    name, source = landed["file_name"], landed["landing_key"]
    if head_object(s3, lay.bucket, source) is None:
        # A retry after this task's first try wrote bronze and deleted the landing object.
        checksum = landed["sha256"]
        key, reused = _bronze_key(s3, lay, ingest_date, name, checksum)
        if not reused:
            raise AwsStepFailed(
                f"{lay.uri(source)} is gone and {lay.uri(lay.bronze_dir(ingest_date) + name)} does not "
                f"hold sha256 {checksum[:12]}: extract_source must run again (clear it to re-extract)"
            )
        size, lines = landed["bytes"], landed["lines"]
    else:
        with tempfile.TemporaryDirectory(prefix="sales_bronze_") as tmp:
            copy = Path(tmp) / name
            with s3_errors(f"read of {lay.uri(source)}"), open(copy, "wb") as out:
                body = s3.get_object(Bucket=lay.bucket, Key=source)["Body"]
                scan = scan_stream(body, lay.uri(source), out)
            if scan.sha256 != landed["sha256"]:
                raise AwsStepFailed(
                    f"{lay.uri(source)} holds sha256 {scan.sha256[:12]} ({scan.bytes:,} bytes) but "
                    f"extract_source landed {landed['sha256'][:12]} ({landed['bytes']:,} bytes): "
                    "the landing object was replaced; clear extract_source to land it again"
                )
            checksum, size, lines = scan.sha256, scan.bytes, scan.lines
            key, reused = _bronze_key(s3, lay, ingest_date, name, checksum)
            if not reused:
                # One PutObject, or a multipart upload aborted when a part fails (above 8 MB).
                put_file(s3, copy, lay.bucket, key, checksum)
    delete_keys(s3, lay.bucket, [o["Key"] for o in list_keys(s3, lay.bucket, source)])
    log.info(
        "bronze %s: %s bytes, %s lines, sha256 %s (%s)",
        lay.uri(key),
        f"{size:,}",
        f"{lines:,}",
        checksum[:12],
        "already there" if reused else "written",
    )
    result = {
        "uri": lay.uri(key),
        "key": key,
        "file_name": key.rsplit("/", 1)[1],
        "sha256": checksum,
        "bytes": size,
        "lines": lines,
        "reused": reused,
    }
    return finish_stage(result, started)
