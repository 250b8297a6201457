"""Glue 5.0 job: bronze CSV to silver Parquet and quarantine, by the contract and checks DuckDB uses.

Run arguments: --bronze_path --contract_path --silver_path --quarantine_path --ingest_date --source_name
(include/glue/artifacts.py builds them); --extra-py-files must carry the shared-modules zip
(artifacts.build_shared_zip). `transform` and `write` run under plain PySpark; only `main` needs Glue.
"""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from typing import Any, NamedTuple

import yaml
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as sf

# One source of truth: contract.py and checks.py travel with the job in the --extra-py-files zip, so
# the checks, their order, codes and messages are the very objects the DuckDB SQL is rendered from.
# Re-deriving them from the YAML here would be a second copy free to drift; the zip holds only these
# two modules (standard library + PyYAML), not the package's Airflow/DuckDB code.
from include.sales_analyzer import checks as chk
from include.sales_analyzer.contract import Contract, contract_from_dict

JOB_ARGUMENTS = (
    "bronze_path",
    "contract_path",
    "silver_path",
    "quarantine_path",
    "ingest_date",
    "source_name",
)

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
    """One bronze file split into silver rows and quarantined lines, plus what counting needs."""

    silver: DataFrame
    quarantine: DataFrame
    lines: DataFrame  # every line with its kind, check result and duplicate flag
    header: HeaderLayout
    lines_read: int
    partition_by: tuple[str, ...]
    cached: tuple[DataFrame, ...]


def read_contract(path: str) -> Contract:
    """Read the contract YAML from S3 (s3://bucket/key) or a local path."""
    if path.startswith("s3://"):
        import boto3  # provided by Glue; a Spark job for one small file would cost more than the read

        bucket, _, key = path.removeprefix("s3://").partition("/")
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


def read_lines(spark: SparkSession, path: str) -> BronzeLines:
    """Every physical line (split on \\n only, trailing \\r dropped) with its 1-based number."""
    # The text source emits each file split's lines in order but schedules the splits largest
    # first, so rows carry (split start offset, id within the split) and are numbered from those.
    raw = (
        spark.read.option("lineSep", "\n")
        .text(path)
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


def _unquoted(field: Column) -> Column:
    inner = sf.regexp_replace(field.substr(sf.lit(2), sf.length(field) - 2), '""', '"')
    return sf.when(field.startswith('"'), inner).otherwise(field)


def _cleaned(field: Column, column_type: str) -> Column:
    value = _unquoted(field)
    if column_type == "string":
        value = sf.regexp_replace(sf.regexp_replace(value, WHITESPACE_RUN, " "), ZS_EDGES, "")
    else:
        value = sf.regexp_replace(value, VALUE_EDGES, "")
    return sf.nullif(value, sf.lit(""))


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
        case "not_before":
            return t < sf.col(f"t_{check.arg}")
        case "not_after" if check.arg == "ingest_date":
            return t > sf.lit(ingest_date).cast("date")
        case "max_length":
            return sf.length(v) > sf.lit(int(str(check.arg)))
    raise ValueError(f"check {check.code} on {check.column}: unknown kind {check.kind!r}")


def check_lines(lines: DataFrame, contract: Contract, header: HeaderLayout, ingest_date: str) -> DataFrame:
    """Parse and check every line: line_kind, check_no (1-based reason index), reason_value, typed columns."""
    checks = chk.record_checks(contract)
    shapes = {ch.column: str(ch.arg) for ch in checks if ch.kind == "shape"}
    n = header.n_named
    raw = sf.col("raw_line")
    has_quotes = sf.coalesce(raw.contains('"'), sf.lit(False))
    with_comma = sf.concat(raw, sf.lit(","))
    parsed = lines.select(
        "source_line",
        "raw_line",
        sf.when(sf.col("source_line") == 1, "header")
        .when(raw.isNull() | raw.rlike(BLANK), "blank")
        .otherwise("record")
        .alias("line_kind"),
        (has_quotes & ~with_comma.rlike(CSV_LINE)).alias("malformed"),
        has_quotes.alias("has_quotes"),
    )
    # A malformed line's fields are never used, and a regex search over a long one with many quotes
    # is quadratic in Java: fields are only extracted from lines that parse.
    fields = (
        sf.when(~sf.col("has_quotes"), sf.split(raw, ",", -1))
        .when(~sf.col("malformed"), sf.regexp_extract_all(with_comma, sf.lit(CSV_FIELD), 1))
        .otherwise(sf.array().cast("array<string>"))
    )
    with_fields = parsed.withColumn("fields", fields)
    n_fields = sf.size("fields")
    extra = (n_fields > n) & (sf.size(sf.filter("fields", lambda x, i: (i >= n) & ~x.rlike(BLANK))) > 0)
    values = with_fields.select(
        "source_line",
        "raw_line",
        "line_kind",
        "malformed",
        n_fields.alias("n_fields"),
        extra.alias("extra_values"),
        *[
            _cleaned(sf.get("fields", header.positions[c.name] - 1), c.type).alias(f"v_{c.name}")
            for c in contract.columns
        ],
    )
    typed = []
    for c in contract.columns:
        v = sf.col(f"v_{c.name}")
        if c.type == "date":
            t = sf.when(
                v.rlike(java_regex(c.date_shape)), sf.to_date(v, spark_date_format(c.strptime_format))
            )
        elif c.type in ("bigint", "decimal"):
            t = sf.when(v.rlike(java_regex(shapes[c.name])), v.cast(c.sql_type))
        else:
            t = v
        typed.append(t.alias(f"t_{c.name}"))
    typed_df = values.select("*", *typed)

    check_no = (
        sf.when(sf.col("line_kind") != "record", sf.lit(None))
        .when(sf.col("malformed"), 1)
        .when(sf.col("n_fields") < n, 2)
        .when((sf.col("n_fields") < len(header.names)) & (sf.col("n_fields") != n), 2)
        .when(sf.col("extra_values"), 3)
    )
    reason_value = sf.when(sf.col("check_no").isin(2, 3), sf.col("n_fields").cast("string"))
    for no, ch in enumerate(checks, start=4):
        check_no = check_no.when(_failed(ch, ingest_date), no)
        reason_value = reason_value.when(sf.col("check_no") == no, sf.col(f"v_{ch.column}"))
    return typed_df.withColumn("check_no", check_no.cast("int")).select(
        "source_line",
        "line_kind",
        "check_no",
        # Kept for every record line, as in the DuckDB staging file: duplicates need it too.
        sf.when(sf.col("line_kind") == "record", sf.col("raw_line")).alias("raw_line"),
        reason_value.alias("reason_value"),
        *[sf.col(f"t_{c.name}").alias(c.name) for c in contract.columns],
    )


def transform(
    spark: SparkSession,
    bronze_path: str,
    contract: Contract | dict[str, Any],
    ingest_date: str,
    source_name: str,
) -> SilverSplit:
    """Split one bronze CSV into silver rows and quarantined lines, with the contract's checks."""
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

    checks = chk.record_checks(contract)
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
    # Partitions come from the contract's expressions (year(order_date), ...), valid Spark SQL too.
    derived = [sf.expr(d.expression).cast(d.type).alias(d.name) for d in contract.derived if d.expression]
    silver = resolved.where(is_valid & ~sf.col("duplicate")).select(
        *[c.name for c in contract.columns], "source_line", *derived
    )

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
    )
    return SilverSplit(
        silver, quarantine, resolved, header, bronze.count, contract.partition_by, (bronze.raw, resolved)
    )


def summarize(split: SilverSplit) -> dict[str, Any]:
    """Count lines per kind, silver rows and quarantine reasons, as silver.summarize does locally."""
    kinds = {r["line_kind"]: r["count"] for r in split.lines.groupBy("line_kind").count().collect()}
    silver = split.silver.agg(
        sf.count("*").alias("rows"), sf.count_distinct(*split.partition_by).alias("partitions")
    ).first()
    by_reason = {r["reason"]: r["count"] for r in split.quarantine.groupBy("reason").count().collect()}
    by_reason = dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    counts: dict[str, Any] = {
        "lines_read": sum(kinds.values()),
        "header_lines": kinds.get("header", 0),
        "blank_lines": kinds.get("blank", 0),
        "record_lines": kinds.get("record", 0),
        "silver_rows": silver["rows"] if silver else 0,
        "silver_partitions": silver["partitions"] if silver else 0,
        "quarantined_lines": sum(by_reason.values()),
        "quarantine_by_reason": by_reason,
    }
    accounted = (
        counts["silver_rows"] + counts["quarantined_lines"] + counts["header_lines"] + counts["blank_lines"]
    )
    counts["conservation_holds"] = split.lines_read == accounted == counts["lines_read"]
    counts["header"] = {"positions": split.header.positions, "n_named": split.header.n_named}
    return counts


def write(split: SilverSplit, silver_path: str, quarantine_path: str) -> dict[str, Any]:
    """Write silver partitioned as the contract says and quarantine (one file); return the counts."""
    try:
        (
            split.silver.repartition(*split.partition_by)
            .sortWithinPartitions("source_line")
            .write.mode("overwrite")
            .option("compression", "zstd")
            .partitionBy(*split.partition_by)
            .parquet(silver_path)
        )
        (
            split.quarantine.repartition(1)
            .sortWithinPartitions("source_line")
            .write.mode("overwrite")
            .option("compression", "zstd")
            .parquet(quarantine_path)
        )
        return summarize(split)
    finally:
        for df in split.cached:
            df.unpersist()


def run(spark: SparkSession, args: dict[str, str]) -> dict[str, Any]:
    """Transform and write one bronze file; fail when the line counts do not reconcile."""
    contract = read_contract(args["contract_path"])
    split = transform(spark, args["bronze_path"], contract, args["ingest_date"], args["source_name"])
    counts = write(split, args["silver_path"], args["quarantine_path"])
    if not counts["conservation_holds"]:
        raise RuntimeError(f"{args['bronze_path']}: lines do not reconcile: {json.dumps(counts)}")
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
