"""Glue 5.0 job: bronze CSV to silver Parquet, quarantine and repairs, by the contract DuckDB uses.

Run arguments: --bronze_path --contract_path --silver_path --quarantine_path --repairs_path
--counts_path --ingest_date --source_name (include/glue/artifacts.py builds them); --extra-py-files
must carry the shared-modules zip (artifacts.build_shared_zip). `transform` and `write` run under
plain PySpark; only `main` needs Glue. The behaviour mirrors
include/sales_analyzer/sql/silver/bronze_to_silver.sql and silver.py (decide_date_order, summarize)
step by step; tests/parity holds the two to identical output.
"""

from __future__ import annotations

import csv
import json
import operator
import os
import sys
from decimal import Decimal, localcontext
from functools import reduce
from typing import Any, NamedTuple

import yaml
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as sf
from pyspark.sql.types import ArrayType, StringType

# One source of truth: contract.py, checks.py, errors.py and glue/artifacts.py (JOB_ARGUMENTS) travel
# with the job in the --extra-py-files zip, so the checks, their order, severities, codes and
# messages are the very objects the DuckDB SQL is rendered from. Re-deriving them from the YAML here
# would be a second copy free to drift; the zip holds only these modules (standard library + PyYAML),
# not the package's Airflow/DuckDB code.
from include.glue.artifacts import JOB_ARGUMENTS
from include.sales_analyzer import checks as chk
from include.sales_analyzer.contract import Contract, contract_from_dict
from include.sales_analyzer.errors import InputFileError

SESSION_CONF = {
    # A bad date or number must become NULL (and then a quarantine reason), never abort the job.
    "spark.sql.ansi.enabled": "false",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    # Dates before 1582 are written proleptic Gregorian, as DuckDB writes and Athena reads them.
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
}


# DuckDB's regular expressions are RE2, Spark's java.util.regex; these spell RE2's meaning in Java.
# RE2's \s is [\t\n\f\r ] (Java's adds \x0B); DuckDB's trim() strips Unicode space separators (Zs)
# where Spark's trim() strips only ' '.
WHITESPACE_RUN = r"[\t\n\f\r \x{00A0}]+"
ZS_EDGES = r"\A\p{Zs}+|\p{Zs}+\z"
BLANK = r"\A\p{Zs}*\z"
VALUE_EDGES = r"\A[ \t\x{00A0}]+|[ \t\x{00A0}]+\z"
TRAILING_CR = r"\r+\z"
# The leading and trailing characters DuckDB's strptime skips (C isspace), for the date-order votes.
STRPTIME_SPACE = r"[\t\n\x0B\f\r ]*"


def java_regex(pattern: str) -> str:
    """An RE2 pattern for Spark: `$` then means end of text, as in RE2, not also before a final \\r."""
    # With UNIX_LINES only \n ends a line, and no value holds one: lines are split on it.
    return "(?d)" + pattern


def _possessive_csv(pattern: str) -> str:
    # Java recurses once per repetition of an alternation group, so a long quoted field overflows
    # the stack and kills the executor (RE2 does not recurse). A CSV field has exactly one parse, so
    # possessive quantifiers match the same lines and fields, without recursion or backtracking.
    safe = pattern.replace('(?:[^"]|"")*', '(?:[^"]++|"")*+').replace('[^,"]*', '[^,"]*+')
    if safe.endswith(")*"):
        safe += "+"
    if "*+" not in safe or '|"")*"' in safe:
        raise ValueError(f"checks.py's CSV pattern changed ({pattern!r}): revisit its Java-safe form")
    return safe


CSV_FIELD = _possessive_csv(chk.CSV_FIELD)
CSV_LINE = r"\A(?:" + _possessive_csv(chk.CSV_LINE) + r")\z"

STRPTIME_TO_SPARK = {"%d": "dd", "%m": "MM", "%Y": "yyyy"}


def spark_date_format(strptime_format: str) -> str:
    """The Spark datetime pattern of a strptime format made of %d, %m, %Y and separators."""
    out, i = "", 0
    while i < len(strptime_format):
        piece = strptime_format[i : i + 2]
        if piece in STRPTIME_TO_SPARK:
            out, i = out + STRPTIME_TO_SPARK[piece], i + 2
        elif strptime_format[i].isalpha() or strptime_format[i] in "%'":
            raise ValueError(f"date format {strptime_format!r}: {piece!r} has no Spark equivalent here")
        else:
            out, i = out + strptime_format[i], i + 1
    return out


class HeaderLayout(NamedTuple):
    """Where each contract column sits in the file, found from its header line."""

    names: list[str]
    positions: dict[str, int]  # silver column -> 1-based field position
    n_named: int  # fields up to the last non-empty header name


def header_layout(header_line: str, contract: Contract, source: str = "bronze") -> HeaderLayout:
    """Map header names to field positions exactly as silver.inspect_header does, or fail naming why."""
    names = [n.strip() for n in next(csv.reader([header_line.removeprefix("\ufeff")]), [])]
    expected = ", ".join(contract.source_names)
    for c in contract.columns:
        if names.count(c.source) != 1:
            problem = "is missing from" if c.source not in names else "appears twice in"
            raise ValueError(
                f"{source}, line 1: required column {c.source!r} {problem} the header "
                f"{header_line!r}; expected a header with the columns {expected}"
            )
    positions = {c.name: names.index(c.source) + 1 for c in contract.columns}
    n_named = max(i for i, n in enumerate(names, start=1) if n)
    return HeaderLayout(names, positions, n_named)


class SilverSplit(NamedTuple):
    """One bronze file split into silver rows, quarantined lines and findings, plus what counting needs."""

    silver: DataFrame
    quarantine: DataFrame
    repairs: DataFrame  # repairs and warnings of the rows in silver, one row per finding
    lines: DataFrame  # every line with its kind, check result, duplicate flag and date-order votes
    header: HeaderLayout
    lines_read: int
    partition_by: tuple[str, ...]
    partitions: list[Column]  # the partition columns' expressions over `lines`
    reasons: list[str]  # quarantine reason of each check_no
    revenue_column: str
    cached: tuple[DataFrame, ...]


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def read_contract(path: str) -> Contract:
    """Read the contract YAML from S3 (s3://bucket/key) or a local path."""
    if path.startswith("s3://"):
        import boto3  # provided by Glue; a Spark job for one small file would cost more than the read

        bucket, key = _split_s3(path)
        text = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    else:
        with open(path.removeprefix("file://"), encoding="utf-8") as fh:
            text = fh.read()
    return contract_from_dict(yaml.safe_load(text))


class BronzeLines(NamedTuple):
    """The numbered lines of one bronze file and what one pass over it learnt."""

    lines: DataFrame  # source_line, raw_line
    raw: DataFrame  # the cached scan the numbering comes from
    count: int
    header_line: str | None
    first_bad_utf8: int | None  # first line that is not UTF-8 text


def hadoop_literal(path: str) -> str:
    """A path Hadoop's glob reads as exactly that file: its pattern characters escaped with \\.

    Spark expands *, ?, [...] and {a,b} in every path it reads, so a bronze object named
    sales[1].csv would read sales1.csv (DuckDB's reads are escaped the same way: silver.glob_literal).
    """
    return "".join("\\" + ch if ch in "\\{}[]*?" else ch for ch in path)


def read_lines(spark: SparkSession, path: str) -> BronzeLines:
    """Every physical line (split on \\n only, trailing \\r dropped) with its 1-based number."""
    # The text source emits each file split's lines in order but schedules the splits largest
    # first, so rows carry (split start offset, id within the split) and are numbered from those.
    raw = (
        spark.read.option("lineSep", "\n")
        .text(hadoop_literal(path))
        .select(
            sf.input_file_name().alias("file"),
            sf.input_file_block_start().alias("block"),
            sf.monotonically_increasing_id().alias("seq"),
            "value",
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    # Spark decodes invalid UTF-8 as U+FFFD where DuckDB refuses the file: find it the same way.
    bad_utf8 = sf.col("value").cast("binary") != sf.encode("value", "UTF-8")
    blocks = sorted(
        raw.groupBy("file", "block")
        .agg(
            sf.min("seq").alias("first"),
            sf.max("seq").alias("last"),
            sf.count("*").alias("n"),
            sf.min_by("value", "seq").alias("first_value"),
            sf.min(sf.when(bad_utf8, sf.col("seq"))).alias("bad_seq"),
        )
        .collect(),
        key=lambda r: r["block"],
    )
    if len({b["file"] for b in blocks}) > 1:
        raise ValueError(f"{path}: expected one bronze file, found {len({b['file'] for b in blocks})}")
    offsets, seen, bad_lines = [], 0, []
    for b in blocks:
        # Ids are consecutive within a split; anything else means the numbering cannot be trusted.
        if b["block"] < 0 or b["last"] - b["first"] + 1 != b["n"]:
            raise RuntimeError(f"{path}: cannot number lines exactly (split at {b['block']})")
        offsets.append((b["block"], b["first"], seen))
        if b["bad_seq"] is not None:
            bad_lines.append(seen + b["bad_seq"] - b["first"] + 1)
        seen += b["n"]
    offsets_df = spark.createDataFrame(offsets or [(0, 0, 0)], "block long, first long, offset long")
    lines = raw.join(sf.broadcast(offsets_df), "block").select(
        (sf.col("offset") + sf.col("seq") - sf.col("first") + 1).alias("source_line"),
        sf.regexp_replace("value", TRAILING_CR, "").alias("raw_line"),
    )
    header = blocks[0]["first_value"].rstrip("\r") if blocks else None
    return BronzeLines(lines, raw, seen, header, min(bad_lines, default=None))


def csv_fields(line: str) -> list[str]:
    """The fields DuckDB's regexp_extract_all(line || ',', chk.CSV_FIELD, 1) finds, in linear time.

    Only malformed lines come here: their fields are never silver values, but the quarantine's
    revenue and the date-order votes read them as DuckDB does. Java's regex search restarts at every
    position and rescans, quadratic on a long line full of quotes (RE2 is linear; Python's re
    backtracks as Java does, and RE2's bindings are not on Glue), so the same leftmost-first search
    of this one pattern is written out: at a quote, a quoted field ends at the first quote that is
    not half of a "" pair and must be followed by a comma (no backtracking can end it elsewhere: any
    earlier end is a quote followed by a quote); elsewhere an unquoted field runs to the next comma
    and fails at a quote. A start that fails is retried one character on, as a regex search does.
    """
    text = line + ","
    n = len(text)
    close: list[int | None] = [None] * (n + 2)  # closing quote of a field whose content starts at p
    stop: list[int | None] = [None] * (n + 1)  # first comma or quote at or after p
    for p in range(n - 1, -1, -1):
        ch = text[p]
        if ch != '"':
            close[p] = close[p + 1]
        elif p + 1 < n and text[p + 1] == '"':
            close[p] = close[p + 2]
        else:
            close[p] = p
        stop[p] = p if ch in ',"' else stop[p + 1]
    fields, i = [], 0
    while i < n:
        if text[i] == '"':
            end = close[i + 1]
            if end is not None and end + 1 < n and text[end + 1] == ",":
                fields.append(text[i : end + 1])
                i = end + 2
                continue
        else:
            end = stop[i]
            if end is not None and text[end] == ",":
                fields.append(text[i:end])
                i = end + 1
                continue
        i += 1
    return fields


def _full_match(pattern: str) -> str:
    """A Java pattern that matches where RE2's regexp_full_match(value, pattern) does."""
    return java_regex(r"\A(?:" + pattern + r")\z")


def _holds_data(field: Column) -> Column:
    """A field after the named ones holds data: not empty, quoted ("") or not."""
    return ~field.rlike(BLANK) & (field != '""')


def _shifted_amount(contract: Contract, header: HeaderLayout) -> Column:
    """The amount one field right of its column, on a line whose one extra value follows the named fields.

    A text value whose comma lost its quotes (DATASET.md) pushes every later field one place right:
    such a line is quarantined (too many fields), and its sale sits one field right of the amount
    column. check_lines keeps this for a too-many-fields line whose key parses, so quarantine's
    revenue holds the sale, as the DuckDB SQL's shifted_revenue does.
    """
    rev = contract.column(contract.revenue_column)
    shifted = sf.regexp_replace(sf.get("fields", header.positions[rev.name]), VALUE_EDGES, "")
    return sf.when(_one_extra(header) & shifted.rlike(java_regex(chk.decimal_shape(rev.scale or 4))), shifted)


def _one_extra(header: HeaderLayout) -> Column:
    """One value too many, right after the named fields, and nothing after it."""
    n, fields = header.n_named, sf.col("fields")
    return (
        (sf.size(fields) > n)
        & _holds_data(sf.get(fields, n))
        & (sf.size(sf.filter(fields, lambda x, i: (i > n) & _holds_data(x))) == 0)
    )


def _split_amount(contract: Contract, header: HeaderLayout) -> Column:
    """The amount of a line whose unquoted thousands separator split it in two ("1" and "531.14").

    Used as _shifted_amount is (a line with one value too many, key parsing), and before it, as
    the DuckDB SQL's shifted_revenue does.
    """
    rev = contract.column(contract.revenue_column)
    head = sf.get("fields", header.positions[rev.name] - 1)
    tail = sf.get("fields", header.positions[rev.name])
    joined = sf.concat(head, tail)
    shaped = (
        _one_extra(header)
        & head.rlike(_full_match(chk.THOUSANDS_HEAD))
        & tail.rlike(_full_match(chk.THOUSANDS_TAIL))
        & joined.rlike(java_regex(chk.decimal_shape(rev.scale or 4)))
    )
    return sf.when(shaped, joined)


def line_revenue(revenue_column: str) -> Column:
    """A line's amount for quarantine: on a line with one value too many, read across the split when
    it was split (shifted_revenue, set only then or when the field does not parse), else its field."""
    return sf.coalesce(sf.col("shifted_revenue"), sf.col(revenue_column))


def _unquoted(field: Column) -> Column:
    inner = sf.regexp_replace(field.substr(sf.lit(2), sf.length(field) - 2), '""', '"')
    return sf.when(field.startswith('"'), inner).otherwise(field)


def _normalised(value: Column, column_type: str) -> Column:
    if column_type == "string":
        value = sf.regexp_replace(sf.regexp_replace(value, WHITESPACE_RUN, " "), ZS_EDGES, "")
    else:
        value = sf.regexp_replace(value, VALUE_EDGES, "")
    return sf.nullif(value, sf.lit(""))


def _repaired(column: Any) -> Column:
    """The contract's repairs of one column (left-pad, or remove what matches, a value fully matching
    `when`), first match wins."""
    value = sf.col(f"n_{column.name}")
    if not column.repair:
        return value

    def fixed(r: Any) -> Column:
        return (
            sf.regexp_replace(value, java_regex(r.remove), "")
            if r.remove
            else sf.lpad(value, r.width, r.fill)
        )

    first, *rest = column.repair
    repaired = sf.when(value.rlike(_full_match(first.when)), fixed(first))
    for r in rest:
        repaired = repaired.when(value.rlike(_full_match(r.when)), fixed(r))
    return repaired.otherwise(value)


def strptime_date(value: Column, strptime_format: str) -> Column:
    """DuckDB's try_strptime(value, format)::date for a format of %d, %m, %Y and separators.

    DuckDB's strptime is lenient where Spark's to_date is not: one or two digits for day and month,
    one to four for the year, spaces (C isspace) before and after. Only the date-order votes read
    values this way; silver's dates are parsed after the strict shape check.
    """
    pattern, order, i = "", [], 0
    digits = {"%d": "([0-9]{1,2})", "%m": "([0-9]{1,2})", "%Y": "([0-9]{1,4})"}
    while i < len(strptime_format):
        token = strptime_format[i : i + 2]
        if token in digits:
            pattern, i = pattern + digits[token], i + 2
            order.append(token)
        elif strptime_format[i].isalnum() or strptime_format[i] in "%\\":
            raise ValueError(f"date format {strptime_format!r}: {token!r} is not supported here")
        else:
            pattern, i = pattern + "\\" + strptime_format[i], i + 1
    if sorted(order) != ["%Y", "%d", "%m"]:
        raise ValueError(f"date format {strptime_format!r}: needs %d, %m and %Y once each")
    full = java_regex(r"\A" + STRPTIME_SPACE + pattern + STRPTIME_SPACE + r"\z")

    def part(token: str) -> Column:
        return sf.regexp_extract(value, full, order.index(token) + 1).cast("int")

    # make_date is NULL for an impossible date (31/02) with ANSI mode off, as try_strptime is
    return sf.when(value.rlike(full), sf.make_date(part("%Y"), part("%m"), part("%d")))


def _any(conditions: list[Column]) -> Column:
    """coalesce(a or b or ..., false), as the SQL's votes are rendered."""
    return sf.coalesce(reduce(operator.or_, conditions), sf.lit(False)) if conditions else sf.lit(False)


def date_votes(contract: Contract) -> dict[str, Column]:
    """Each line's votes on the file's date order, as silver.date_vote_sql renders them for DuckDB."""
    day_first, month_first = [], []
    for c, parts in chk.day_month_dates(contract):
        v = sf.col(f"v_{c.name}")
        day = v.substr(parts["%d"], 2).cast("int")
        month = v.substr(parts["%m"], 2).cast("int")
        shaped = v.rlike(_full_match(c.date_shape))
        day_first.append(shaped & (day > 12) & month.between(1, 12))
        month_first.append(shaped & (month > 12) & day.between(1, 12))
    pair = next((ch for ch in chk.record_checks(contract) if ch.kind == "max_days_after"), None)
    fits_declared = fits_swapped = sf.lit(None).cast("boolean")
    if pair is not None:
        later, earlier = contract.column(pair.column), contract.column(str(pair.extra))
        swapped = later.strptime_format.replace("%d", "%_").replace("%m", "%d").replace("%_", "%m")
        days = int(str(pair.arg))
        fits_declared = sf.datediff(sf.col(f"t_{later.name}"), sf.col(f"t_{earlier.name}")).between(0, days)
        # both values of the column's shape first, as silver.date_vote_sql does
        shaped = reduce(
            operator.and_, [sf.col(f"v_{c.name}").rlike(_full_match(c.date_shape)) for c in (later, earlier)]
        )
        fits_swapped = sf.when(
            shaped,
            sf.datediff(
                strptime_date(sf.col(f"v_{later.name}"), swapped),
                strptime_date(sf.col(f"v_{earlier.name}"), swapped),
            ).between(0, days),
        )
    return {
        "day_first_proof": _any(day_first),
        "month_first_proof": _any(month_first),
        "fits_declared_order": fits_declared,
        "fits_swapped_order": fits_swapped,
    }


def _failed(check: chk.Check, ingest_date: str) -> Column:
    v, t = sf.col(f"v_{check.column}"), sf.col(f"t_{check.column}")
    match check.kind:
        case "missing":
            return v.isNull()
        case "shape":
            # a number of the right shape whose cast overflows fails too, as in DuckDB
            return v.isNotNull() & (~v.rlike(java_regex(str(check.arg))) | t.isNull())
        case "date":
            return v.isNotNull() & t.isNull()
        case "allowed":
            return ~v.isin(list(check.arg))
        case "pattern":
            return ~v.rlike(java_regex(str(check.arg)))
        case "min":
            return t < sf.lit(Decimal(str(check.arg)))
        case "max":
            return t > sf.lit(Decimal(str(check.arg)))
        case "earliest":
            return t < sf.lit(str(check.arg)).cast("date")
        case "not_before":
            return t < sf.col(f"t_{check.arg}")
        case "max_days_after":
            return t > sf.date_add(sf.col(f"t_{check.extra}"), int(str(check.arg)))
        case "not_after" if check.arg == "ingest_date":
            return t > sf.lit(ingest_date).cast("date")
        case "max_length":
            return sf.length(v) > sf.lit(int(str(check.arg)))
    raise ValueError(f"check {check.code} on {check.column}: unknown kind {check.kind!r}")


FINDING_FIELDS = ("column_name", "rule", "action", "value_before", "value_after", "expected")


def _finding(source: str, rule: str, action: str, before: Column, after: Column, expected: str) -> Column:
    """One repairs-table entry of a line, as the SQL's finding() macro builds it."""
    return sf.struct(
        sf.lit(source).alias("column_name"),
        sf.lit(rule).alias("rule"),
        sf.lit(action).alias("action"),
        before.cast("string").alias("value_before"),
        after.cast("string").alias("value_after"),
        sf.lit(expected).alias("expected"),
    )


# The pattern csv_fields searches for, character for character (the parity test holds the two alike).
CSV_FIELD_SCANNED = '("(?:[^"]|"")*"|[^,"]*),'


def _split_fields(parsed: DataFrame) -> DataFrame:
    """Every line with its CSV fields, found as DuckDB finds them (string_split / regexp_extract_all)."""
    if chk.CSV_FIELD != CSV_FIELD_SCANNED:
        raise ValueError(f"checks.py's CSV pattern changed ({chk.CSV_FIELD!r}): revisit csv_fields")
    raw = sf.col("raw_line")
    with_comma = sf.concat(raw, sf.lit(","))
    wellformed = parsed.where(~sf.col("malformed")).withColumn(
        "fields",
        sf.when(~sf.col("has_quotes"), sf.split(raw, ",", -1)).otherwise(
            sf.regexp_extract_all(with_comma, sf.lit(CSV_FIELD), 1)
        ),
    )
    # Malformed lines are rare: they alone go through Python (a UDF inside a CASE would send every
    # line there), and the union needs no shuffle.
    fields_udf = sf.udf(csv_fields, ArrayType(StringType()))
    malformed = parsed.where(sf.col("malformed")).withColumn("fields", fields_udf(raw))
    return wellformed.unionByName(malformed)


def check_lines(lines: DataFrame, contract: Contract, header: HeaderLayout, ingest_date: str) -> DataFrame:
    """Parse, repair and check every line, as the DuckDB staging file holds it.

    Columns: line_kind, check_no (1-based index into malformed, too few, too many, then the
    quarantine checks), reason_value, the typed columns, `findings` (repairs and warnings of a line
    that is kept) and the four date-order votes.
    """
    quarantine = chk.quarantine_checks(contract)
    warnings = chk.warn_checks(contract)
    n = header.n_named
    raw = sf.col("raw_line")
    has_quotes = sf.coalesce(raw.contains('"'), sf.lit(False))
    parsed = lines.select(
        "source_line",
        "raw_line",
        sf.when(sf.col("source_line") == 1, "header")
        # nothing but spaces and commas (a spreadsheet's empty row) is a blank line
        .when(raw.isNull() | sf.regexp_replace(raw, ",", "").rlike(BLANK), "blank")
        .otherwise("record")
        .alias("line_kind"),
        (has_quotes & ~sf.concat(raw, sf.lit(",")).rlike(CSV_LINE)).alias("malformed"),
        has_quotes.alias("has_quotes"),
    )
    with_fields = _split_fields(parsed)
    n_fields = sf.size("fields")
    # an empty field, quoted ("") or not, after the named ones is no data
    extra = (n_fields > n) & (sf.size(sf.filter("fields", lambda x, i: (i >= n) & _holds_data(x))) > 0)
    values = with_fields.select(
        "source_line",
        "raw_line",
        "line_kind",
        "malformed",
        n_fields.alias("n_fields"),
        extra.alias("extra_values"),
        _shifted_amount(contract, header).alias("shifted_amount"),
        _split_amount(contract, header).alias("split_amount"),
        *[
            _unquoted(sf.get("fields", header.positions[c.name] - 1)).alias(f"u_{c.name}")
            for c in contract.columns
        ],
    )
    normalised = values.select(
        "*", *[_normalised(sf.col(f"u_{c.name}"), c.type).alias(f"n_{c.name}") for c in contract.columns]
    )
    repaired = normalised.select("*", *[_repaired(c).alias(f"v_{c.name}") for c in contract.columns])
    typed = []
    for c in contract.columns:
        v = sf.col(f"v_{c.name}")
        if c.type == "date":
            t = sf.when(
                v.rlike(java_regex(c.date_shape)), sf.to_date(v, spark_date_format(c.strptime_format))
            )
        elif c.type == "bigint":
            t = sf.when(v.rlike(java_regex(chk.INTEGER_SHAPE)), v.cast(c.sql_type))
        elif c.type == "decimal":
            t = sf.when(v.rlike(java_regex(chk.decimal_shape(c.scale or 4))), v.cast(c.sql_type))
        else:
            t = v
        typed.append(t.alias(f"t_{c.name}"))
    typed_df = repaired.select("*", *typed)

    check_no = (
        sf.when(sf.col("line_kind") != "record", sf.lit(None))
        .when(sf.col("malformed"), 1)
        # every named field must be there; empty fields after them may be, in any number
        .when(sf.col("n_fields") < n, 2)
        .when(sf.col("extra_values"), 3)
    )
    reason_value = sf.when(sf.col("check_no").isin(2, 3), sf.col("n_fields").cast("string"))
    for no, ch in enumerate(quarantine, start=4):
        check_no = check_no.when(_failed(ch, ingest_date), no)
        reason_value = reason_value.when(sf.col("check_no") == no, sf.col(f"v_{ch.column}"))

    found = []
    for c in contract.columns:
        u, norm, v = (sf.col(f"{p}_{c.name}") for p in ("u", "n", "v"))
        found.append(
            sf.when(
                norm != u,
                _finding(c.source, chk.WHITESPACE_REPAIR, chk.REPAIR, u, norm, chk.WHITESPACE_EXPECTED),
            )
        )
        for r in c.repair:
            found.append(sf.when(v != norm, _finding(c.source, r.rule, chk.REPAIR, norm, v, r.description)))
    for ch in warnings:
        before = sf.col(f"v_{ch.column}")
        finding = _finding(ch.source, ch.code, chk.WARN, before, sf.lit(None), ch.expected)
        found.append(sf.when(_failed(ch, ingest_date), finding))
    is_record = sf.col("line_kind") == "record"
    kept = is_record & sf.col("check_no").isNull()
    findings = sf.when(kept, sf.filter(sf.array(*found), lambda x: x.isNotNull())) if found else sf.lit(None)
    votes = date_votes(contract)
    return typed_df.withColumn("check_no", check_no.cast("int")).select(
        "source_line",
        "line_kind",
        "check_no",
        # Kept for every record line: duplicates and the date-order examples need it too.
        sf.when(is_record, sf.col("raw_line")).alias("raw_line"),
        reason_value.alias("reason_value"),
        *[sf.col(f"t_{c.name}").alias(c.name) for c in contract.columns],
        sf.when(
            (sf.col("check_no") == 3) & sf.col(f"t_{contract.key[0]}").isNotNull(),
            sf.when(sf.col("split_amount").isNotNull(), sf.col("split_amount"))
            .when(sf.col(f"t_{contract.revenue_column}").isNull(), sf.col("shifted_amount"))
            .cast(contract.column(contract.revenue_column).sql_type),
        ).alias("shifted_revenue"),
        findings.alias("findings"),
        *[sf.when(is_record, vote).alias(name) for name, vote in votes.items()],
    )


def transform(
    spark: SparkSession,
    bronze_path: str,
    contract: Contract | dict[str, Any],
    ingest_date: str,
    source_name: str,
) -> SilverSplit:
    """Split one bronze CSV into silver rows, quarantined lines and findings, with the contract's rules."""
    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)
    if isinstance(contract, dict):
        contract = contract_from_dict(contract)
    bronze = read_lines(spark, bronze_path)
    if bronze.header_line is None:
        raise ValueError(f"{bronze_path}: the file is empty; expected a CSV header line and records")
    if bronze.first_bad_utf8 is not None:
        raise ValueError(
            f"{bronze_path}, line {bronze.first_bad_utf8}: the file is not UTF-8 text "
            "(Latin-1 or another encoding?); expected UTF-8, re-save the file as UTF-8"
        )
    header = header_layout(bronze.header_line, contract, bronze_path)
    checked = check_lines(bronze.lines, contract, header, ingest_date)

    checks = chk.quarantine_checks(contract)
    key = contract.column(contract.key[0])
    is_record = sf.col("line_kind") == "record"
    is_valid = is_record & sf.col("check_no").isNull()
    by_key = Window.partitionBy(key.name)
    resolved = (
        checked.select(
            "*",
            sf.min(sf.when(is_valid, sf.col("source_line"))).over(by_key).alias("first_line"),
            sf.count(sf.when(is_valid, sf.lit(1))).over(by_key).alias("seen"),
        )
        # NULL keys never match one another, as in DuckDB's join: such rows are never duplicates.
        .withColumn(
            "duplicate",
            is_valid
            & sf.col(key.name).isNotNull()
            & (sf.col("seen") > 1)
            & (sf.col("source_line") != sf.col("first_line")),
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    kept = is_valid & ~sf.col("duplicate")
    # Partitions come from the contract's expressions (year(order_date), ...), valid Spark SQL too.
    derived = {
        d.name: sf.expr(d.expression).cast(d.type).alias(d.name) for d in contract.derived if d.expression
    }
    silver = resolved.where(kept).select(
        *[c.name for c in contract.columns], "source_line", *derived.values()
    )
    partitions = [derived[name] for name in contract.partition_by]

    n = header.n_named
    reasons = [chk.MALFORMED_CSV, chk.TOO_FEW_FIELDS, chk.TOO_MANY_FIELDS] + [ch.code for ch in checks]
    columns = ["", "", ""] + [ch.source for ch in checks]
    expectations = chk.line_expectations(n, len(header.names)) + [ch.expected for ch in checks]

    def pick(duplicate: str | Column, options: list[str]) -> Column:
        by_check = sf.element_at(sf.array(*[sf.lit(o) for o in options]), sf.col("check_no"))
        return sf.when(sf.col("duplicate"), duplicate).otherwise(by_check)

    seen_before = sf.concat(
        sf.lit(f"a {key.source} not seen before (first seen on line "),
        sf.col("first_line").cast("string"),
        sf.lit(")"),
    )
    quarantine = resolved.where(is_record & (sf.col("check_no").isNotNull() | sf.col("duplicate"))).select(
        sf.lit(ingest_date).cast("date").alias("ingest_date"),
        sf.lit(source_name).alias("source_file"),
        "source_line",
        "raw_line",
        pick(sf.lit(chk.DUPLICATE_ROW_ID), reasons).alias("reason"),
        pick(sf.lit(key.source), columns).alias("column_name"),
        sf.when(sf.col("duplicate"), sf.col(key.name).cast("string"))
        .otherwise(sf.col("reason_value"))
        .alias("value"),
        pick(seen_before, expectations).alias("expected"),
        # the line's amount when its field parses (else one field right, on a line with a value
        # too many): the revenue quarantine holds
        line_revenue(contract.revenue_column).alias("revenue"),
    )
    repairs = (
        resolved.where(kept)
        .select(
            sf.lit(ingest_date).cast("date").alias("ingest_date"),
            sf.lit(source_name).alias("source_file"),
            "source_line",
            sf.explode("findings").alias("finding"),
        )
        .select("ingest_date", "source_file", "source_line", *[f"finding.{f}" for f in FINDING_FIELDS])
    )
    return SilverSplit(
        silver,
        quarantine,
        repairs,
        resolved,
        header,
        bronze.count,
        contract.partition_by,
        partitions,
        reasons,
        contract.revenue_column,
        (bronze.raw, resolved),
    )


VOTES = ("day_first_proof", "month_first_proof", "fits_declared_order", "fits_swapped_order")


def tally(split: SilverSplit) -> list[Row]:
    """One pass over the checked lines, grouped by outcome: every count the job reports and decides on.

    One job instead of one per count: on a small file each Spark job's fixed cost is what the run
    costs, and this first pass also fills the cache the writes then read.
    """
    revenue = line_revenue(split.revenue_column)
    return (
        split.lines.groupBy("line_kind", "check_no", "duplicate")
        .agg(
            sf.count("*").alias("lines"),
            # meaningful for the silver group (record, no check failed, not a duplicate) only
            sf.count_distinct(sf.struct(*split.partitions)).alias("partitions"),
            sf.sum(revenue).alias("revenue"),
            sf.count(revenue).alias("with_revenue"),
            *[sf.count(sf.when(sf.col(v), 1)).alias(v) for v in VOTES],
        )
        .collect()
    )


def refuse_second_header(split: SilverSplit, bronze_path: str, contract: Contract) -> None:
    """Stop when a later header line lays the columns out otherwise, as silver.refuse_second_header does."""
    key = contract.column(contract.key[0]).source
    probes = (
        split.lines.where(
            (sf.col("line_kind") == "record")
            & sf.col("check_no").isNotNull()
            & sf.col("raw_line").contains(key)
        )
        .orderBy("source_line")
        .select("source_line", "raw_line")
        .limit(chk.HEADER_PROBES)
    )
    lines = [(r["source_line"], r["raw_line"]) for r in probes.collect()]
    problem = chk.second_header_message(split.header.names, lines, contract)
    if problem is not None:
        raise InputFileError(bronze_path, **problem)


def decide_date_order(
    split: SilverSplit, groups: list[Row], bronze_path: str, contract: Contract
) -> dict[str, int]:
    """Decide the whole file's date order from every record's votes, as silver.decide_date_order does.

    The file is month-first when its month-first proofs outnumber its day-first proofs, or when
    nothing proves either order and the dates make plausible (order, ship) pairs more often read
    month-first; then the job stops with the DuckDB engine's message, before anything is written.
    """
    records = [g for g in groups if g["line_kind"] == "record"]
    day, month, fits, fits_swapped = (sum(g[v] for g in records) for v in VOTES)
    votes = chk.date_votes(day, month, fits, fits_swapped)
    if chk.is_month_first(votes):
        proof = (
            sf.col("month_first_proof")
            if month
            else sf.col("fits_swapped_order") & ~sf.col("fits_declared_order")
        )
        examples = split.lines.where(proof).orderBy("source_line").select("source_line", "raw_line").limit(3)
        rows = [(r["source_line"], r["raw_line"]) for r in examples.collect()]
        raise InputFileError(bronze_path, **chk.month_first_message(votes, rows, contract))
    return votes


def summarize(split: SilverSplit, groups: list[Row], contract: Contract) -> dict[str, Any]:
    """Count lines per kind, silver rows, quarantine reasons and revenue, repairs and warnings.

    The keys and values are silver.summarize's (the parity test compares them), plus
    conservation_holds and the header layout.
    """
    kinds: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    silver_rows = silver_partitions = with_revenue = 0
    sums = []
    for g in groups:
        kinds[g["line_kind"]] = kinds.get(g["line_kind"], 0) + g["lines"]
        if g["line_kind"] != "record":
            continue
        if g["check_no"] is None and not g["duplicate"]:
            silver_rows, silver_partitions = g["lines"], g["partitions"]
            continue
        reason = chk.DUPLICATE_ROW_ID if g["duplicate"] else split.reasons[g["check_no"] - 1]
        by_reason[reason] = by_reason.get(reason, 0) + g["lines"]
        with_revenue += g["with_revenue"]
        if g["revenue"] is not None:
            sums.append(g["revenue"])
    by_reason = dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    scale = contract.column(contract.revenue_column).scale or 4
    with localcontext() as ctx:
        ctx.prec = 60  # exact: a sum of DECIMAL(38, scale) values never needs more digits
        revenue = sum(sums, Decimal(0).scaleb(-scale))
    findings = sorted(
        (
            (r["action"], r["rule"], r["count"])
            for r in split.repairs.groupBy("action", "rule").count().collect()
        ),
        key=lambda f: (-f[2], f[1]),
    )
    counts: dict[str, Any] = {
        "lines_read": sum(kinds.values()),
        "header_lines": kinds.get("header", 0),
        "blank_lines": kinds.get("blank", 0),
        "record_lines": kinds.get("record", 0),
        "silver_rows": silver_rows,
        "silver_partitions": silver_partitions,
        "quarantined_lines": sum(by_reason.values()),
        "quarantine_by_reason": by_reason,
        # DuckDB's coalesce(sum(revenue), 0)::varchar: plain notation, the column's scale
        "quarantine_revenue": format(revenue, "f"),
        "quarantine_lines_with_revenue": with_revenue,
        "repairs_by_rule": {rule: n for action, rule, n in findings if action == chk.REPAIR},
        "warnings_by_rule": {rule: n for action, rule, n in findings if action == chk.WARN},
    }
    accounted = (
        counts["silver_rows"] + counts["quarantined_lines"] + counts["header_lines"] + counts["blank_lines"]
    )
    counts["conservation_holds"] = split.lines_read == accounted == counts["lines_read"]
    counts["header"] = {"positions": split.header.positions, "n_named": split.header.n_named}
    return counts


def write(split: SilverSplit, silver_path: str, quarantine_path: str, repairs_path: str) -> None:
    """Write silver partitioned as the contract says, quarantine and repairs (one file each)."""
    (
        split.silver.repartition(*split.partition_by)
        .sortWithinPartitions("source_line")
        .write.mode("overwrite")
        .option("compression", "zstd")
        .partitionBy(*split.partition_by)
        .parquet(silver_path)
    )
    # repairs last: artifacts.job_arguments may place it inside the quarantine prefix, which the
    # quarantine's overwrite empties first
    for df, path, order in (
        (split.quarantine, quarantine_path, ("source_line",)),
        (split.repairs, repairs_path, ("source_line", "column_name", "rule")),
    ):
        (
            df.repartition(1)
            .sortWithinPartitions(*order)
            .write.mode("overwrite")
            .option("compression", "zstd")
            .parquet(path)
        )


def write_counts(path: str, counts: dict[str, Any]) -> None:
    """Write the run's counts as JSON (S3 or local path): what the aws quality stage reads.

    Written last, once the lines reconcile: the object exists only for a run whose outputs are
    complete, and the stage reads it instead of downloading and recounting what the job wrote.
    """
    body = json.dumps(counts, indent=2, sort_keys=True).encode("utf-8")
    if path.startswith("s3://"):
        import boto3  # provided by Glue

        bucket, key = _split_s3(path)
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    else:
        local = path.removeprefix("file://")
        if os.path.dirname(local):
            os.makedirs(os.path.dirname(local), exist_ok=True)
        with open(local, "wb") as fh:
            fh.write(body)


def run(spark: SparkSession, args: dict[str, str]) -> dict[str, Any]:
    """Split one bronze file, write silver, quarantine, repairs and the counts; fail unless lines add up."""
    contract = read_contract(args["contract_path"])
    split = transform(spark, args["bronze_path"], contract, args["ingest_date"], args["source_name"])
    try:
        groups = tally(split)
        refuse_second_header(split, args["bronze_path"], contract)
        votes = decide_date_order(split, groups, args["bronze_path"], contract)
        write(split, args["silver_path"], args["quarantine_path"], args["repairs_path"])
        counts = summarize(split, groups, contract)
    finally:
        for df in split.cached:
            df.unpersist()
    counts["date_order_votes"] = votes
    if not counts["conservation_holds"]:
        raise RuntimeError(f"{args['bronze_path']}: lines do not reconcile: {json.dumps(counts)}")
    write_counts(args["counts_path"], counts)
    return counts


def main() -> None:
    """Glue entry point: resolve the arguments, run, commit."""
    # Imported here so that the module imports, and transform runs, under plain PySpark.
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(sys.argv, ["JOB_NAME", *JOB_ARGUMENTS])
    glue = GlueContext(SparkContext.getOrCreate())
    job = Job(glue)
    job.init(args["JOB_NAME"], args)
    counts = run(glue.spark_session, args)
    print(json.dumps({"silver": counts}, sort_keys=True))
    job.commit()


if __name__ == "__main__":
    main()
