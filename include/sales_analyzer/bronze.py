"""Bronze: the source file kept byte for byte, with its checksum and line count."""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from include.sales_analyzer.errors import InputFileError
from include.sales_analyzer.files import CHUNK, sha256_of  # noqa: F401  (sha256_of: aws imports it here)
from include.sales_analyzer.local.layout import Layout

# Byte-order marks of encodings that are not UTF-8: a spreadsheet's "Unicode text" export.
OTHER_ENCODINGS = {
    b"\xff\xfe\x00\x00": "UTF-32 (little-endian)",
    b"\x00\x00\xfe\xff": "UTF-32 (big-endian)",
    b"\xff\xfe": "UTF-16 (little-endian)",
    b"\xfe\xff": "UTF-16 (big-endian)",
}

log = logging.getLogger(__name__)


def check_allowed_path(path: Path, roots: tuple[Path, ...]) -> Path:
    """Resolve a user-supplied path and require it to be a regular file under an allowed input root."""
    resolved = path.expanduser().resolve()
    if not any(resolved == root or root in resolved.parents for root in roots):
        raise InputFileError(
            str(path),
            "the path is outside the allowed input roots",
            expected="a file under " + ", ".join(str(r) for r in roots) + " (setting SALES_INPUT_ROOTS)",
        )
    try:
        mode = resolved.stat().st_mode
    except FileNotFoundError:
        raise InputFileError(str(path), "no such file", expected="an existing CSV file") from None
    except PermissionError:
        raise InputFileError(str(path), "the file cannot be read (permission denied)") from None
    if stat.S_ISDIR(mode):
        raise InputFileError(str(path), "this is a directory, not a file", expected="the path of a CSV file")
    if not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "not a regular file"
        raise InputFileError(str(path), f"this is {kind}", expected="a regular CSV file")
    return resolved


@dataclass
class FileScan:
    """What one pass over a file's bytes learnt: checksum, size, lines, and the first fault."""

    sha256: str
    bytes: int
    lines: int
    crlf: int = 0  # lines ending in CRLF (a CR anywhere else is refused)


class _Scanner:
    """Checks every byte of a file as it streams past, in one pass with the copy and the hash.

    The whole file is checked, not a sniffed head: a NUL byte or a stray carriage return
    anywhere would make DuckDB's line reader split a line where the file has no line end.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.digest = hashlib.sha256()
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.size = self.newlines = self.crs = 0
        self.last = b""
        self.prev_cr = False

    def _line_at(self, chunk: bytes, offset: int) -> int:
        return self.newlines + chunk[:offset].count(b"\n") + 1

    def feed(self, chunk: bytes) -> None:
        if self.size == 0:
            for bom, encoding in OTHER_ENCODINGS.items():
                if chunk.startswith(bom):
                    raise InputFileError(
                        self.name,
                        f"the file is {encoding} text",
                        expected="UTF-8: re-save the file as UTF-8 (CSV UTF-8 in a spreadsheet)",
                    )
        self.digest.update(chunk)
        if b"\x00" in chunk:
            at = chunk.index(b"\x00")
            odd = sum(1 for b in chunk[:64] if b == 0)
            if self.size == 0 and odd >= 16:  # every other byte NUL: UTF-16 without a byte-order mark
                raise InputFileError(
                    self.name, "the file looks like UTF-16 text", expected="UTF-8: re-save the file as UTF-8"
                )
            raise InputFileError(
                self.name,
                "binary data (a NUL byte)",
                line=self._line_at(chunk, at),
                expected="UTF-8 CSV text; a NUL byte would cut the line short",
            )
        if b"\r" in chunk:
            lone = self._lone_cr(chunk)
            if lone is not None:
                cr_only = b"\n" not in chunk and self.newlines == 0
                raise InputFileError(
                    self.name,
                    "the line ends are carriage returns only (classic Mac)"
                    if cr_only
                    else "a carriage return (CR) that does not end a line",
                    line=self._line_at(chunk, lone),
                    expected="LF or CRLF line ends: re-save the file with Windows (CRLF) or Unix (LF) "
                    "line ends",
                )
        elif self.prev_cr and not chunk.startswith(b"\n"):
            raise InputFileError(
                self.name, "a carriage return (CR) that does not end a line", line=self.newlines
            )
        self.prev_cr = chunk.endswith(b"\r")
        try:
            self.decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise InputFileError(
                self.name,
                "the file is not UTF-8 text (Latin-1 or another encoding?)",
                line=self._line_at(chunk, exc.start),
                value=repr(chunk[exc.start : exc.start + 2]),
                expected="UTF-8; re-save the file as UTF-8",
            ) from None
        self.newlines += chunk.count(b"\n")
        self.crs += chunk.count(b"\r")
        self.size += len(chunk)
        self.last = chunk[-1:]

    def _lone_cr(self, chunk: bytes) -> int | None:
        """Offset of the first CR not followed by LF (the chunk's last byte waits for the next)."""
        if self.prev_cr and not chunk.startswith(b"\n"):
            return 0
        at = chunk.find(b"\r")
        while at != -1:
            if at + 1 < len(chunk) and chunk[at + 1 : at + 2] != b"\n":
                return at
            at = chunk.find(b"\r", at + 1)
        return None

    def finish(self) -> FileScan:
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputFileError(
                self.name, "the file ends inside a UTF-8 character", expected="UTF-8 text"
            ) from None
        lines = self.newlines + (self.size > 0 and self.last != b"\n")
        return FileScan(self.digest.hexdigest(), self.size, lines, self.crs)


def scan_stream(stream: BinaryIO, name: str, out: BinaryIO | None = None) -> FileScan:
    """Hash, count and check a byte stream, copying it to `out` in the same pass."""
    scanner = _Scanner(name)
    while chunk := stream.read(CHUNK):
        scanner.feed(chunk)
        if out is not None:
            out.write(chunk)
    return scanner.finish()


def scan_file(path: Path) -> FileScan:
    """Hash, count and check a file without copying it."""
    with open(path, "rb") as fh:
        return scan_stream(fh, str(path))


def ingest_local(source: Path, lake: Path, ingest_date: str) -> dict[str, Any]:
    """Copy `source` into bronze for `ingest_date`, never rewriting an existing object.

    The bytes are hashed, counted and checked as they are written to bronze, so the checksum
    is bronze's own; a source whose size or modification time moved during the copy (still
    being written) fails, rather than landing half a file. The same bytes ingested again reuse
    the object already there (a rerun is a no-op); different bytes under the same name are kept
    beside it under a checksum suffix.
    """
    folder = Layout.of_lake(lake).bronze_dir(ingest_date)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{source.name}.tmp-{os.getpid()}"
    try:
        before = source.stat()
        with open(source, "rb") as src, open(tmp, "wb") as out:
            scan = scan_stream(src, str(source), out)
        after = source.stat()
        if (before.st_size, before.st_mtime_ns) != (
            after.st_size,
            after.st_mtime_ns,
        ) or scan.bytes != after.st_size:
            raise InputFileError(
                str(source),
                f"the file changed while it was copied ({before.st_size:,} bytes before, "
                f"{after.st_size:,} after, {scan.bytes:,} read)",
                expected="a finished file: wait until whatever writes it is done, then run again",
            )
        target = folder / source.name
        if target.exists() and scan_file(target).sha256 != scan.sha256:
            target = folder / f"{source.stem}__{scan.sha256[:12]}{source.suffix}"
        reused = target.exists()
        if not reused:
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info(
        "bronze %s: %s bytes, %s lines, sha256 %s (%s)",
        target,
        f"{scan.bytes:,}",
        f"{scan.lines:,}",
        scan.sha256[:12],
        "already there" if reused else "written",
    )
    return {
        "path": str(target),
        "file_name": target.name,
        "sha256": scan.sha256,
        "bytes": scan.bytes,
        "lines": scan.lines,
        "crlf_lines": scan.crlf,
        "reused": reused,
    }
