"""Bronze to silver on DuckDB: plan (inspect header, render SQL), then finalize atomically."""

from __future__ import annotations

import csv
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.sales_analyzer import checks as chk
from include.sales_analyzer.contract import Contract, load_contract
from include.sales_analyzer.errors import InputFileError

# Re-exported: tests, benchmarks and the parity runner import them from here.
from include.sales_analyzer.files import count_lines, swap_symlink, write_json  # noqa: F401
from include.sales_analyzer.local.layout import Layout
from include.sales_analyzer.report import check_conservation  # noqa: F401

# The SQL rendering lives in silver_sql.py; its names stay importable from here.
from include.sales_analyzer.silver_sql import (  # noqa: F401
    bronze_lines_relation,
    date_vote_sql,
    glob_literal,
    has_crlf,
    read_path,
    render_silver_sql,
    sql_string,
    staging_relation,
)

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"
# Magic numbers of files people hand over by mistake instead of a CSV.
BINARY_SIGNATURES = {
    b"\x1f\x8b": "a gzip-compressed file",
    b"PK\x03\x04": "a zip archive",
    b"BZh": "a bzip2-compressed file",
    b"\xfd7zXZ": "an xz-compressed file",
    b"PAR1": "a Parquet file",
    b"%PDF": "a PDF document",
}
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class HeaderInfo:
    """Where each contract column sits in the file, found from its header line."""

    names: list[str]
    positions: dict[str, int]  # silver column -> 1-based field position
    n_named: int  # fields up to the last non-empty header name
    extra_columns: list[str]  # named columns the contract does not use
    has_bom: bool


def inspect_header(path: Path, contract: Contract | None = None) -> HeaderInfo:
    """Read the header line and map it to the contract, or fail naming what is wrong."""
    contract = contract or load_contract()
    name = str(path)
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head:
        raise InputFileError(name, "the file is empty", expected="a CSV header line and records")
    for magic, what in BINARY_SIGNATURES.items():
        if head.startswith(magic):
            raise InputFileError(name, f"this is {what}, not a CSV text file", expected="UTF-8 CSV")
    if b"\x00" in head:
        offset = head.index(b"\x00")
        line = head[:offset].count(b"\n") + 1
        raise InputFileError(name, "binary data (a NUL byte)", line=line, expected="UTF-8 CSV text")
    has_bom = head.startswith(BOM)
    first = head[len(BOM) if has_bom else 0 :].split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = first[exc.start : exc.start + 4]
        raise InputFileError(
            name, "the header is not UTF-8 text", line=1, value=repr(bad), expected="UTF-8"
        ) from None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = len(head) == SNIFF_BYTES and exc.start >= len(head) - 4
        if not cut:  # not just a character cut in two by the sniff window
            line = head[: exc.start].count(b"\n") + 1
            bad = head[exc.start : exc.start + 2]
            raise InputFileError(
                name,
                "the file is not UTF-8 text (Latin-1 or another encoding?)",
                line=line,
                value=repr(bad),
                expected="UTF-8; re-save the file as UTF-8",
            ) from None
    names = [n.strip() for n in next(csv.reader([text]))]
    expected = ", ".join(contract.source_names)
    if len(names) == 1:
        for delim in (";", "\t", "|"):
            if delim in names[0]:
                raise InputFileError(
                    name,
                    f"the header is separated by {delim!r}, not by commas",
                    line=1,
                    expected="comma-separated columns " + expected,
                )
    positions: dict[str, int] = {}
    for c in contract.columns:
        if c.source not in names:
            close = [n for n in names if n.lower().replace(" ", "") == c.source.lower().replace(" ", "")]
            hint = f" (found {close[0]!r}: names must match exactly)" if close else ""
            raise InputFileError(
                name,
                f"required column {c.source!r} is missing from the header{hint}",
                line=1,
                column=c.source,
                value=text,
                expected="a header with the columns " + expected,
            )
        if names.count(c.source) > 1:
            raise InputFileError(name, f"column {c.source!r} appears twice in the header", line=1)
        positions[c.name] = names.index(c.source) + 1
    n_named = max(i for i, n in enumerate(names, start=1) if n)
    extra = [n for n in names if n and n not in contract.source_names]
    return HeaderInfo(names, positions, n_named, extra, has_bom)


@dataclass(frozen=True)
class SilverPaths:
    """Files one silver run writes: staging, the new silver version and quarantine."""

    bronze: Path
    staging_dir: Path
    staging_file: Path
    silver_version_dir: Path
    silver_live: Path
    quarantine_dir: Path
    quarantine_file: Path
    quarantine_tmp: Path
    repairs_file: Path
    repairs_tmp: Path

    @property
    def lines_file(self) -> Path:
        """The bronze lines in file order, numbered by their row in this Parquet file."""
        return self.staging_dir / "bronze_lines.parquet"

    @property
    def row_ids_dir(self) -> Path:
        """A big file's accepted Row IDs and line numbers, in buckets for the duplicate search."""
        return self.staging_dir / "row_ids"

    @property
    def findings_file(self) -> Path:
        """A big file's repairs and warnings before they are sorted, one range of lines at a time."""
        return self.staging_dir / "findings.parquet"

    @property
    def kept_lines_file(self) -> Path:
        """The raw text of the silver rows with a repair or a warning, parsed again for repairs."""
        return self.staging_dir / "kept_lines.parquet"

    @classmethod
    def for_run(cls, lake: Path, bronze: Path, ingest_date: str, run_key: str) -> SilverPaths:
        """Lay out the paths of one run under the lake directory (named in local.layout.Layout)."""
        lay = Layout.of_lake(lake)
        staging = lay.staging_dir(run_key)
        return cls(
            bronze=bronze,
            staging_dir=staging,
            staging_file=staging / "lines.parquet",
            silver_version_dir=lay.silver_version(run_key),
            silver_live=lay.silver_live,
            quarantine_dir=lay.quarantine_dir(ingest_date),
            quarantine_file=lay.quarantine_file(ingest_date),
            quarantine_tmp=staging / "quarantine.parquet",
            repairs_file=lay.repairs_file(ingest_date),
            repairs_tmp=staging / "repairs.parquet",
        )


def prepare_dirs(paths: SilverPaths) -> None:
    """Make a clean staging area for this run (a retry starts from scratch)."""
    for d in (paths.staging_dir, paths.silver_version_dir):
        if d.exists():
            shutil.rmtree(d)
    paths.staging_dir.mkdir(parents=True)
    paths.silver_version_dir.parent.mkdir(parents=True, exist_ok=True)


def summarize(paths: SilverPaths, con: Any) -> dict[str, Any]:
    """Count lines per kind, silver rows, quarantine reasons and revenue, repairs and warnings."""
    kinds = dict(
        con.execute(f"select line_kind, count(*) from ({staging_relation(paths)}) group by 1").fetchall()
    )
    silver_glob = sql_string(glob_literal(paths.silver_version_dir) + "/**/*.parquet")
    has_silver = any(paths.silver_version_dir.rglob("*.parquet"))
    silver_rows, partitions = (
        con.execute(
            f"select count(*), count(distinct (order_year, order_month)) from read_parquet({silver_glob})"
        ).fetchone()
        if has_silver
        else (0, 0)
    )
    q = read_path(paths.quarantine_tmp)
    by_reason = dict(
        con.execute(
            f"select reason, count(*) from read_parquet({q}) group by 1 order by 2 desc, 1"
        ).fetchall()
    )
    revenue, with_revenue = con.execute(
        f"select coalesce(sum(revenue), 0)::varchar, count(revenue) from read_parquet({q})"
    ).fetchone()
    findings = con.execute(
        f"select action, rule, count(*) from read_parquet({read_path(paths.repairs_tmp)}) "
        "group by 1, 2 order by 3 desc, 2"
    ).fetchall()
    repairs = {rule: n for action, rule, n in findings if action == chk.REPAIR}
    warnings = {rule: n for action, rule, n in findings if action == chk.WARN}
    return {
        "lines_read": sum(kinds.values()),
        "header_lines": kinds.get("header", 0),
        "blank_lines": kinds.get("blank", 0),
        "record_lines": kinds.get("record", 0),
        "silver_rows": silver_rows,
        "silver_partitions": partitions,
        "quarantined_lines": sum(by_reason.values()),
        "quarantine_by_reason": by_reason,
        "quarantine_revenue": revenue,
        "quarantine_lines_with_revenue": with_revenue,
        "repairs_by_rule": repairs,
        "warnings_by_rule": warnings,
    }


def refuse_second_header(
    paths: SilverPaths, con: Any, header: HeaderInfo, contract: Contract | None = None
) -> None:
    """Stop when a later header line lays the columns out otherwise (checks.second_header_message)."""
    contract = contract or load_contract()
    key = contract.column(contract.key[0]).source
    lines = con.execute(
        f"select source_line, raw_line from read_parquet({read_path(paths.quarantine_tmp)}) "
        f"where contains(raw_line, {sql_string(key)}) order by source_line limit {chk.HEADER_PROBES}"
    ).fetchall()
    problem = chk.second_header_message(header.names, lines, contract)
    if problem is not None:
        raise InputFileError(str(paths.bronze), **problem)


def decide_date_order(paths: SilverPaths, con: Any, contract: Contract | None = None) -> dict[str, int]:
    """Decide the whole file's date order from every record's votes; stop if it is not the contract's.

    Ambiguous dates (both parts 12 or less) are never guessed line by line: the file is
    month-first when its month-first proofs (a second part above 12) outnumber its day-first
    proofs, or when nothing proves either order and the dates make plausible (order, ship)
    pairs more often read month-first. A few month-first-looking dates in a day-first file
    are single bad values: those lines fail their date rule and are quarantined.
    """
    contract = contract or load_contract()
    staging = f"({staging_relation(paths)})"
    day, month, fits, fits_swapped = con.execute(
        "select count(*) filter (day_first_proof), count(*) filter (month_first_proof), "
        "count(*) filter (fits_declared_order), count(*) filter (fits_swapped_order) "
        f"from {staging} where line_kind = 'record'"
    ).fetchone()
    votes = chk.date_votes(day, month, fits, fits_swapped)
    if chk.is_month_first(votes):
        proof = "month_first_proof" if month else "fits_swapped_order and not fits_declared_order"
        # staging keeps the raw text of failed lines only: number the file's lines again
        lines = paths.staging_dir / "date_order_lines.parquet"
        con.execute("set preserve_insertion_order = true")
        con.execute(
            f"copy (select raw_line from {bronze_lines_relation(paths)}) "
            f"to {sql_string(lines)} (format parquet, compression lz4_raw)"
        )
        examples = con.execute(
            f"select s.source_line, l.raw_line from {staging} as s "
            f"join (select file_row_number + 1 as source_line, raw_line "
            f"from read_parquet({read_path(lines)}, file_row_number = true)) as l "
            f"using (source_line) where s.{proof} order by 1 limit 3"
        ).fetchall()
        raise InputFileError(str(paths.bronze), **chk.month_first_message(votes, examples, contract))
    return votes


def publish(paths: SilverPaths, keep_versions: int = 2) -> None:
    """Make the new silver version and quarantine file visible atomically, then tidy up."""
    paths.silver_live.parent.mkdir(parents=True, exist_ok=True)
    swap_symlink(paths.silver_live, paths.silver_version_dir)
    paths.quarantine_dir.mkdir(parents=True, exist_ok=True)
    for tmp, final in (
        (paths.quarantine_tmp, paths.quarantine_file),
        (paths.repairs_tmp, paths.repairs_file),
    ):
        final.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():  # a retry after a half-done publish finds it moved
            os.replace(tmp, final)
    shutil.rmtree(paths.staging_dir, ignore_errors=True)
    versions = sorted(paths.silver_version_dir.parent.iterdir(), key=lambda p: p.stat().st_mtime)
    live = paths.silver_live.resolve()
    for old in versions[:-keep_versions]:
        if old.resolve() != live:
            shutil.rmtree(old, ignore_errors=True)


def discard_unpublished(silver: dict[str, Any]) -> None:
    """Drop a run's staging area, and its silver version unless it is the live one."""
    shutil.rmtree(silver["staging_dir"], ignore_errors=True)
    version = Path(silver["version_dir"])
    live = Layout.of_lake(Path(silver["lake_dir"])).silver_live
    if version.exists() and (not live.exists() or live.resolve() != version.resolve()):
        log.info("discarding unpublished silver version %s", version)
        shutil.rmtree(version, ignore_errors=True)
