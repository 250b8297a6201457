"""Bronze: the source file kept byte for byte, with its checksum and line count."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from include.sales_analyzer.errors import InputFileError
from include.sales_analyzer.silver import count_lines

log = logging.getLogger(__name__)


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def check_allowed_path(path: Path, roots: tuple[Path, ...]) -> Path:
    """Resolve a user-supplied path and require it to lie under an allowed input root."""
    resolved = path.expanduser().resolve()
    if not any(resolved == root or root in resolved.parents for root in roots):
        raise InputFileError(
            str(path),
            "the path is outside the allowed input roots",
            expected="a file under " + ", ".join(str(r) for r in roots) + " (setting SALES_INPUT_ROOTS)",
        )
    if not resolved.is_file():
        raise InputFileError(str(path), "no such file", expected="an existing CSV file")
    return resolved


def ingest_local(source: Path, lake: Path, ingest_date: str) -> dict[str, Any]:
    """Copy `source` into bronze for `ingest_date`, never rewriting an existing object.

    The same bytes ingested again reuse the object already there (a rerun is a no-op);
    different bytes under the same name are kept beside it under a checksum suffix.
    """
    checksum = sha256_of(source)
    folder = lake / "bronze" / "sales" / f"ingest_date={ingest_date}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    if target.exists() and sha256_of(target) != checksum:
        target = folder / f"{source.stem}__{checksum[:12]}{source.suffix}"
    reused = target.exists()
    if not reused:
        tmp = folder / f".{target.name}.tmp-{os.getpid()}"
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    lines = count_lines(target)
    size = target.stat().st_size
    log.info(
        "bronze %s: %s bytes, %s lines, sha256 %s (%s)",
        target,
        f"{size:,}",
        f"{lines:,}",
        checksum[:12],
        "already there" if reused else "written",
    )
    return {
        "path": str(target),
        "file_name": target.name,
        "sha256": checksum,
        "bytes": size,
        "lines": lines,
        "reused": reused,
    }
