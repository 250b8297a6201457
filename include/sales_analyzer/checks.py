"""The ordered record checks derived from the contract, shared by every silver engine.

A line is quarantined with the first check it fails. Both engines (DuckDB SQL and the
Glue/Spark job) render their expressions from this one list, so their reasons match.
"""

from __future__ import annotations

from dataclasses import dataclass

from include.sales_analyzer.contract import Contract, load_contract

# Line-level reasons, checked before any field is read.
MALFORMED_CSV = "malformed_csv"
TOO_FEW_FIELDS = "too_few_fields"
TOO_MANY_FIELDS = "too_many_fields"
DUPLICATE_ROW_ID = "duplicate_row_id"

# Non-record lines: counted, never quarantined.
HEADER = "header"
BLANK = "blank"

# A field may hold digits with an optional sign; a decimal at most `scale` decimals.
INTEGER_SHAPE = r"^-?[0-9]+$"
# A quoted field ("..." with "" inside) or an unquoted field without quotes, each
# followed by a comma: the whole line plus a trailing comma must be a run of these.
CSV_FIELD = r'("(?:[^"]|"")*"|[^,"]*),'
CSV_LINE = r'(("(?:[^"]|"")*"|[^,"]*),)*'


def line_expectations(n_named: int, width: int) -> list[str]:
    """What the line-level checks expect (malformed, too few, too many), for messages."""
    fields = f"{n_named} fields as in the header"
    if width > n_named:
        fields += f" ({width} with its trailing empty columns)"
    return [
        'CSV fields, each either unquoted or wholly quoted with "" for a quote',
        fields,
        f"{n_named} fields as in the header, nothing after the last named column",
    ]


def decimal_shape(scale: int) -> str:
    """Regular expression of a plain decimal number with at most `scale` decimals."""
    return rf"^-?[0-9]+(\.[0-9]{{1,{scale}}})?$"


@dataclass(frozen=True)
class Check:
    """One rule a record must meet; `kind` tells an engine how to express it."""

    code: str
    kind: str  # missing | shape | date | allowed | pattern | min | max | not_before | not_after | max_length
    column: str  # silver column name
    source: str  # the source file's header name, for messages
    expected: str
    arg: object = None


def record_checks(contract: Contract | None = None) -> list[Check]:
    """Every per-record check of the contract, in the order they are applied."""
    contract = contract or load_contract()
    checks: list[Check] = []
    for c in contract.columns:
        if c.required:
            checks.append(Check("missing_value", "missing", c.name, c.source, c.expected))
        if c.type == "bigint":
            checks.append(Check("invalid_integer", "shape", c.name, c.source, c.expected, INTEGER_SHAPE))
        elif c.type == "decimal":
            shape = decimal_shape(c.scale or 4)
            checks.append(Check("invalid_decimal", "shape", c.name, c.source, c.expected, shape))
        elif c.type == "date":
            checks.append(Check("invalid_date", "date", c.name, c.source, c.expected, c.strptime_format))
        if c.max_length:
            checks.append(Check("too_long", "max_length", c.name, c.source, c.expected, c.max_length))
        if c.allowed:
            checks.append(Check("not_allowed", "allowed", c.name, c.source, c.expected, c.allowed))
        if c.pattern:
            checks.append(Check("pattern_mismatch", "pattern", c.name, c.source, c.expected, c.pattern))
        if c.min is not None:
            checks.append(Check("out_of_range", "min", c.name, c.source, c.expected, c.min))
        if c.max is not None:
            checks.append(Check("out_of_range", "max", c.name, c.source, c.expected, c.max))
        if c.not_before:
            other = contract.column(c.not_before)
            checks.append(
                Check(f"{c.name}_before_{other.name}", "not_before", c.name, c.source, c.expected, other.name)
            )
        if c.not_after:
            if c.not_after != "ingest_date":
                raise ValueError(f"{c.name}: not_after supports only ingest_date, not {c.not_after!r}")
            checks.append(Check("date_in_future", "not_after", c.name, c.source, c.expected, c.not_after))
    return checks
