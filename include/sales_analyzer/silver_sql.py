"""The silver SQL: bronze_to_silver.sql rendered from the contract, the file's header and a run's paths.

Split from silver.py (which re-exports these names) to keep the stage's orchestration short.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from include.sales_analyzer import checks as chk
from include.sales_analyzer.config import SQL_DIR
from include.sales_analyzer.contract import Contract, load_contract

if TYPE_CHECKING:
    from include.sales_analyzer.silver import HeaderInfo, SilverPaths


def sql_string(value: Any) -> str:
    """Quote a value as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


# DuckDB expands *, ? and [...] in every path it reads (read_csv, read_parquet), so a file
# named sales[1].csv would read sales1.csv. A bracket class matches its one character
# literally, which is the only escape DuckDB's glob has.
_GLOB_ESCAPES = {"[": "[[]", "*": "[*]", "?": "[?]"}


def glob_literal(path: Any) -> str:
    """A path DuckDB reads as exactly that file, never as a pattern."""
    return "".join(_GLOB_ESCAPES.get(ch, ch) for ch in str(path))


def read_path(path: Any) -> str:
    """A path for a DuckDB read, as a SQL string literal: quoted, glob characters escaped."""
    return sql_string(glob_literal(path))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(SQL_DIR)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # SQL, not HTML; every value is quoted by sql_string
    )
    env.filters["sql_string"] = sql_string
    return env


def date_vote_sql(contract: Contract) -> dict[str, str]:
    """SQL of the per-line votes on the file's date order (see decide_date_order).

    A date that parsed in the declared order (t_ not null) answers from its parts at no cost:
    its month is 12 or less, so it proves month-first never and day-first when its day is above
    12, and read the other way round it is the same day and month swapped (valid whenever its
    day is 12 or less). Only the few dates that did not parse pay for the string tests.
    """
    day_first, month_first = [], []
    for c, parts in chk.day_month_dates(contract):
        v, t = f"v_{c.name}", f"t_{c.name}"
        day = f"try_cast(substr({v}, {parts['%d']}, 2) as integer)"
        month = f"try_cast(substr({v}, {parts['%m']}, 2) as integer)"
        shaped = f"regexp_full_match({v}, {sql_string(c.date_shape)})"
        day_first.append(
            f"(case when {t} is not null then day({t}) > 12"
            f" else {shaped} and {day} > 12 and {month} between 1 and 12 end)"
        )
        month_first.append(
            f"(case when {t} is not null then false"
            f" else {shaped} and {month} > 12 and {day} between 1 and 12 end)"
        )
    pair = next((ch for ch in chk.record_checks(contract) if ch.kind == "max_days_after"), None)
    fits_declared = fits_swapped = "null"
    if pair is not None:
        later, earlier = contract.column(pair.column), contract.column(str(pair.extra))
        swapped = later.strptime_format.replace("%d", "%_").replace("%m", "%d").replace("%_", "%m")
        fits_declared = f"(t_{later.name} - t_{earlier.name}) between 0 and {pair.arg}"
        # both values of the column's shape (two-digit day and month, four-digit year), as the
        # declared reading requires: strptime alone reads "03/01/15" as the year 15, and a file of
        # two-digit years would be called month-first
        shaped = " and ".join(
            f"regexp_full_match(v_{c.name}, {sql_string(c.date_shape)})" for c in (later, earlier)
        )
        by_strings = (
            f"(case when {shaped} then"
            f" (try_strptime(v_{later.name}, {sql_string(swapped)})::date"
            f" - try_strptime(v_{earlier.name}, {sql_string(swapped)})::date) between 0 and {pair.arg} end)"
        )
        fits_swapped = by_strings
        if all("%Y" in c.strptime_format for c in (later, earlier)):
            lt, et = f"t_{later.name}", f"t_{earlier.name}"

            def swap(t: str) -> str:
                return f"make_date(year({t}), day({t}), month({t}))"

            fits_swapped = (
                f"(case when {lt} is not null and {et} is not null then"
                f" case when day({lt}) <= 12 and day({et}) <= 12 then"
                f" ({swap(lt)} - {swap(et)}) between 0 and {pair.arg} end"
                f" else {by_strings} end)"
            )
    return {
        "day_first": "coalesce(" + " or ".join(day_first or ["false"]) + ", false)",
        "month_first": "coalesce(" + " or ".join(month_first or ["false"]) + ", false)",
        "fits_declared": fits_declared,
        "fits_swapped": fits_swapped,
    }


def has_crlf(path: Path) -> bool:
    """Whether a file holds a CR: bronze refuses one that does not end a line, so a CRLF line end.

    For callers without bronze's scan (which counts them as it copies the file, `crlf_lines`).
    """
    if not path.exists():
        return False
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            if b"\r" in chunk:
                return True
    return False


def bronze_lines_relation(paths: SilverPaths, crlf: bool | None = None) -> str:
    """SQL of the bronze file as one raw_line row per physical line, blank lines as NULL.

    DuckDB's CSV reader with no delimiter, quote or escape splits only on line ends; a CR
    before the LF is dropped. Left to itself it takes the first line's end for the whole file,
    and in a file whose first line ends in LF it reads each later CRLF as two line ends (an
    extra blank line each, so the lines no longer add up): a file with any CRLF line end
    (`crlf`, looked up when not given) is read with `new_line = '\r\n'`, which takes LF and
    CRLF alike. Only such a file: on a large file of LF line ends alone, DuckDB 2.0.1's parallel
    reader refuses that setting ("does not support a full read on this file"). A lone CR never
    gets here: bronze refuses it. (rtrim with a character argument costs ~2 s of CPU per
    million lines, so only lines that end in CR pay for it.)
    """
    if crlf is None:
        crlf = has_crlf(paths.bronze)
    new_line = "new_line = '\\r\\n', " if crlf else ""
    return (
        "(select case when ends_with(line, chr(13)) then rtrim(line, chr(13)) else line end as raw_line "
        f"from read_csv({read_path(paths.bronze)}, columns = {{'line': 'VARCHAR'}}, delim = chr(0), "
        f"quote = '', escape = '', {new_line}header = false, auto_detect = false, strict_mode = false))"
    )


def staging_relation(paths: SilverPaths) -> str:
    """SQL of the staging file as one row per bronze line, numbered by its row in the file."""
    return (
        "select file_row_number + 1 as source_line, "
        "case when file_row_number = 0 then 'header' else line_kind end as line_kind, "
        "* exclude (line_kind, file_row_number) "
        f"from read_parquet({read_path(paths.staging_file)}, file_row_number = true)"
    )


# The duplicate Row ID search aggregates at most about this many lines at a time, so its peak
# RSS stays put as files grow (docs/benchmarks.md, "Issue 14 item 2: flat memory").
ROW_IDS_PER_BUCKET = 2_000_000
# Bytes per line assumed when the line count is not given: the seed-42 files have ~209, the
# Kaggle file ~230; fewer assumed bytes give more buckets, which costs a scan, never memory.
MIN_BYTES_PER_LINE = 150


def row_id_buckets(lines: int) -> int:
    """How many buckets of Row IDs the duplicate search of a file of `lines` lines takes."""
    return max(1, math.ceil(lines / ROW_IDS_PER_BUCKET))


def render_silver_sql(
    header: HeaderInfo,
    paths: SilverPaths,
    ingest_date: str,
    source_name: str,
    contract: Contract | None = None,
    lines: int | None = None,
    crlf: bool | None = None,
) -> str:
    """Render bronze_to_silver.sql for this file's header and this run's paths.

    `lines`, the bronze file's line count, sizes the duplicate Row ID search; without it the
    count is estimated from the file's size. `crlf`: whether the file has CRLF line ends
    (bronze_lines_relation), looked up when not given.
    """
    contract = contract or load_contract()
    if lines is None:
        lines = paths.bronze.stat().st_size // MIN_BYTES_PER_LINE if paths.bronze.exists() else 0
    quarantine_checks = chk.quarantine_checks(contract)
    columns = []
    for c in contract.columns:
        shape = None
        if c.type == "bigint":
            shape = chk.INTEGER_SHAPE
        elif c.type == "decimal":
            shape = chk.decimal_shape(c.scale or 4)
        columns.append(
            {
                "name": c.name,
                "source": c.source,
                "type": c.type,
                "sql_type": c.sql_type,
                "position": header.positions[c.name],
                "shape": shape,
                "date_shape": c.date_shape if c.type == "date" else None,
                "strptime_format": c.strptime_format if c.type == "date" else None,
                "repairs": [asdict(r) | {"description": r.description} for r in c.repair],
            }
        )
    n = header.n_named
    reasons = [chk.MALFORMED_CSV, chk.TOO_FEW_FIELDS, chk.TOO_MANY_FIELDS] + [
        ch.code for ch in quarantine_checks
    ]
    reason_columns = ["", "", ""] + [ch.source for ch in quarantine_checks]
    expectations = chk.line_expectations(n, len(header.names)) + [ch.expected for ch in quarantine_checks]
    sql_escape = lambda p: str(p).replace("'", "''")  # noqa: E731
    read_escape = lambda p: sql_escape(glob_literal(p))  # noqa: E731
    return (
        _environment()
        .get_template("silver/bronze_to_silver.sql")
        .render(
            bronze_lines=bronze_lines_relation(paths, crlf),
            lines_path=sql_escape(paths.lines_file),
            lines_read=read_escape(paths.lines_file),
            kept_lines_path=sql_escape(paths.kept_lines_file),
            kept_lines_read=read_escape(paths.kept_lines_file),
            findings_path=sql_escape(paths.findings_file),
            findings_read=read_escape(paths.findings_file),
            lines_per_part=ROW_IDS_PER_BUCKET,
            row_ids_path=sql_escape(paths.row_ids_dir),
            row_ids_read=read_escape(paths.row_ids_dir),
            staging_path=sql_escape(paths.staging_file),
            staging_relation=staging_relation(paths),
            silver_dir=sql_escape(paths.silver_version_dir),
            quarantine_path=sql_escape(paths.quarantine_tmp),
            repairs_path=sql_escape(paths.repairs_tmp),
            ingest_date=ingest_date,
            source_name=sql_escape(source_name),
            columns=columns,
            checks=[asdict(ch) for ch in quarantine_checks],
            warnings=[asdict(ch) for ch in chk.warn_checks(contract)],
            whitespace_rule=chk.WHITESPACE_REPAIR,
            whitespace_expected=chk.WHITESPACE_EXPECTED,
            revenue_column=contract.revenue_column,
            key_column=contract.key[0],
            row_id_buckets=row_id_buckets(lines),
            date_votes=date_vote_sql(contract),
            n_named=n,
            csv_field=chk.CSV_FIELD,
            csv_line=chk.CSV_LINE,
            thousands_head=chk.THOUSANDS_HEAD,
            thousands_tail=chk.THOUSANDS_TAIL,
            reasons=reasons,
            reason_columns=reason_columns,
            expectations=expectations,
        )
    )
