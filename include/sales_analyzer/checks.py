"""The ordered record checks derived from the contract, shared by every silver engine.

Each check carries its rule's severity from the contract. A line is quarantined with the first
`quarantine` check it fails; every `warn` check it fails is recorded as a finding on a row that
stays in silver. Both engines (DuckDB SQL and the Glue/Spark job) render their expressions from
this one list, so their reasons, findings and repairs match.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from include.sales_analyzer.contract import Column, Contract, load_contract

# Line-level reasons, checked before any field is read.
MALFORMED_CSV = "malformed_csv"
TOO_FEW_FIELDS = "too_few_fields"
TOO_MANY_FIELDS = "too_many_fields"
DUPLICATE_ROW_ID = "duplicate_row_id"

# The repairs table's rule for whitespace normalisation (runs collapsed, values trimmed).
WHITESPACE_REPAIR = "whitespace"
WHITESPACE_EXPECTED = "runs of whitespace collapsed to one space, value trimmed"
QUARANTINE = "quarantine"
WARN = "warn"
REPAIR = "repair"

# Non-record lines: counted, never quarantined.
HEADER = "header"
BLANK = "blank"

# A field may hold digits with an optional sign; a decimal at most `scale` decimals.
INTEGER_SHAPE = r"^-?[0-9]+$"
# A quoted field ("..." with "" inside) or an unquoted field without quotes, each
# followed by a comma: the whole line plus a trailing comma must be a run of these.
CSV_FIELD = r'("(?:[^"]|"")*"|[^,"]*),'
CSV_LINE = r'(("(?:[^"]|"")*"|[^,"]*),)*'
# An amount whose thousands separator split it in two (an unquoted 1,531.14): the amount field
# and the one after it, each matching in full, the amount being the two joined.
THOUSANDS_HEAD = r"[0-9]{1,3}"
THOUSANDS_TAIL = r"[0-9]{3}(\.[0-9]+)?"


def line_expectations(n_named: int, width: int) -> list[str]:
    """What the line-level checks expect (malformed, too few, too many), for messages."""
    fields = f"{n_named} fields as in the header"
    if width > n_named:
        fields += " (empty columns after them may be there or not)"
    return [
        'CSV fields, each either unquoted or wholly quoted with "" for a quote',
        fields,
        f"{n_named} fields as in the header, nothing after the last named column",
    ]


def date_parts(strptime_format: str) -> dict[str, int]:
    """1-based offsets of %d and %m (and %Y) in values of a fixed-width date format such as %d/%m/%Y.

    The date-order votes of both engines read a date's day and month from these offsets.
    """
    widths = {"%d": 2, "%m": 2, "%Y": 4}
    offsets, pos, i = {}, 1, 0
    while i < len(strptime_format):
        token = strptime_format[i : i + 2]
        if token in widths:
            offsets[token] = pos
            pos, i = pos + widths[token], i + 2
        else:
            pos, i = pos + 1, i + 1
    return offsets


def day_month_dates(contract: Contract) -> list[tuple[Column, dict[str, int]]]:
    """The date columns whose format has a day and a month, with their offsets: the ones
    that vote on the file's date order, in both engines."""
    out = []
    for c in contract.columns:
        if c.type == "date":
            parts = date_parts(c.strptime_format)
            if "%d" in parts and "%m" in parts:
                out.append((c, parts))
    return out


def decimal_shape(scale: int) -> str:
    """Regular expression of a plain decimal number with at most `scale` significant decimals.

    Zeros beyond the scale lose nothing (12.500000 is 12.5000) and are accepted.
    """
    return rf"^-?[0-9]+(\.[0-9]{{1,{scale}}}0*)?$"


@dataclass(frozen=True)
class Check:
    """One rule a record must meet; `kind` tells an engine how to express it."""

    code: str
    # missing | shape | date | allowed | pattern | min | max | max_length | earliest | not_before
    # | max_days_after | not_after
    kind: str
    column: str  # silver column name
    source: str  # the source file's header name, for messages
    expected: str
    arg: object = None
    severity: str = QUARANTINE
    extra: object = None  # a second argument (max_days_after: the earlier column)


def record_checks(contract: Contract | None = None) -> list[Check]:
    """Every per-record check of the contract, in the order they are applied, with severities."""
    contract = contract or load_contract()
    checks: list[Check] = []
    for c in contract.columns:

        def add(code: str, kind: str, rule: str, arg: object = None, extra: object = None) -> None:
            checks.append(Check(code, kind, c.name, c.source, c.expected, arg, c.severity(rule), extra))  # noqa: B023

        if c.required:
            add("missing_value", "missing", "required")
        if c.type == "bigint":
            add("invalid_integer", "shape", "type", INTEGER_SHAPE)
        elif c.type == "decimal":
            add("invalid_decimal", "shape", "type", decimal_shape(c.scale or 4))
        elif c.type == "date":
            add("invalid_date", "date", "type", c.strptime_format)
        if c.max_length:
            add("too_long", "max_length", "max_length", c.max_length)
        if c.allowed:
            add("not_allowed", "allowed", "allowed", c.allowed)
        if c.pattern:
            add("pattern_mismatch", "pattern", "pattern", c.pattern)
        if c.min is not None:
            add("out_of_range", "min", "min", c.min)
        if c.max is not None:
            add("out_of_range", "max", "max", c.max)
        if c.earliest:
            add("implausible_date", "earliest", "earliest", c.earliest)
        if c.not_before:
            other = contract.column(c.not_before)
            add(f"{c.name}_before_{other.name}", "not_before", "not_before", other.name)
            if c.max_days_after is not None:
                add("implausible_date", "max_days_after", "max_days_after", c.max_days_after, other.name)
        if c.not_after:
            if c.not_after != "ingest_date":
                raise ValueError(f"{c.name}: not_after supports only ingest_date, not {c.not_after!r}")
            add("date_in_future", "not_after", "not_after", c.not_after)
    return checks


def quarantine_checks(contract: Contract | None = None) -> list[Check]:
    """The checks whose failure quarantines the line, in order."""
    return [ch for ch in record_checks(contract) if ch.severity == QUARANTINE]


def warn_checks(contract: Contract | None = None) -> list[Check]:
    """The checks whose failure is recorded as a finding on a row kept in silver."""
    return [ch for ch in record_checks(contract) if ch.severity == WARN]


def date_votes(day: int, month: int, fits: int, fits_swapped: int) -> dict[str, int]:
    """The whole file's date-order votes, as both engines report them."""
    return {
        "day_first_proofs": day,
        "month_first_proofs": month,
        "fit_declared": fits,
        "fit_swapped": fits_swapped,
    }


def is_month_first(votes: dict[str, int]) -> bool:
    """Month-first proofs (a second part above 12) outnumber day-first ones, or, with no proof
    either way, the (order, ship) pairs are plausible more often read month-first."""
    day, month = votes["day_first_proofs"], votes["month_first_proofs"]
    return month > day or (day == 0 and month == 0 and votes["fit_swapped"] > votes["fit_declared"])


def month_first_message(votes: dict[str, int], examples: list[tuple[int, str]], contract: Contract) -> dict:
    """The problem, the example lines and what to do, for the InputFileError both engines raise."""
    day, month = votes["day_first_proofs"], votes["month_first_proofs"]
    why = (
        f"{month:,} lines have a date whose second part is above 12, {day:,} one whose first part is"
        if month
        else f"no date proves either order, and {votes['fit_swapped']:,} lines hold plausible dates read "
        f"month-first against {votes['fit_declared']:,} read day-first"
    )
    formats = sorted({c.format or "dd/mm/yyyy" for c in contract.columns if c.type == "date"})
    return {
        "problem": f"the dates are month-first (mm/dd/yyyy): {why}; ambiguous dates are not guessed",
        "value": "; ".join(f"line {n}: {raw[:90]}" for n, raw in examples),
        "expected": f"dates as {', '.join(formats)}: convert the file's dates (e.g. re-export "
        "with a day-first locale) and run again",
    }


# How many quarantined lines naming the key column each engine hands to second_header_message.
HEADER_PROBES = 1000


def second_header_message(
    names: list[str], lines: list[tuple[int, str]], contract: Contract
) -> dict[str, object] | None:
    """The InputFileError both engines raise for a header after line 1 that lays the columns out otherwise.

    `names` are line 1's header names; `lines` the (line number, raw text) of quarantined lines
    holding the key column's name (a header line is always quarantined: its key field is not a
    number), in line order. A line is a header when its fields name the key column and at least
    half of the contract's columns. Line 1's layout again is one quarantined line of a file joined
    from two exports with the same columns. Any other layout (columns moved or missing) means the
    lines after it hold their values in other fields than line 1 says: read with line 1's
    positions, Sales could hold Quantity or a ZIP code, and the run would publish wrong numbers.
    """
    sources = contract.source_names
    key = contract.column(contract.key[0]).source
    first = {s: names.index(s) + 1 for s in sources}
    for line, raw in lines:
        fields = [f.strip() for f in next(csv.reader([raw.removeprefix("\ufeff")]), [])]
        here = {s: fields.index(s) + 1 for s in sources if s in fields}
        if key not in here or 2 * len(here) < len(sources) or here == first:
            continue
        moved = [
            f"{s!r} is column {here[s]} there, {first[s]} on line 1" for s in here if here[s] != first[s]
        ]
        missing = [repr(s) for s in sources if s not in here]
        what = "; ".join(moved[:4] + ([f"{len(moved) - 4} more moved"] if len(moved) > 4 else []))
        if missing:
            what = "; ".join(filter(None, [what, "no column " + ", ".join(missing)]))
        return {
            "problem": f"a second header line with the columns laid out otherwise ({what}): the file "
            "looks like exports with different columns joined together, and the lines after it "
            "would be read in line 1's column order",
            "line": line,
            "value": raw[:200],
            "expected": "one header and one column order in a file: split it at this line, or "
            "re-export the parts with the same columns in the same order, and run again",
        }
    return None
