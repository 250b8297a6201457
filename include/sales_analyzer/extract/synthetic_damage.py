"""The damaged-file quirks: which lines a damaged copy breaks, how, and what each line is.

Copies of train.csv found online carry trailing empty columns, blank and comma-only lines,
broken records (a comma without quotes, a missing field, impossible dates, ...), a repeated
Row ID and a spreadsheet's totals under the data. `_DamagePlan` places them on
records drawn with the file's own seed and lists each one as an `InjectedQuirk`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from include.sales_analyzer.extract.synthetic_facts import DATE_FORMAT, HEADER
from include.sales_analyzer.extract.synthetic_records import (
    PIECES,
    _Catalog,
    _Chunk,
    _record_fields,
    csv_line,
    quote_field,
)

# A damaged file (saved from a spreadsheet) carries three empty columns after Sales.
TRAILING_EMPTY_COLUMNS = 3
MIN_DAMAGED_ROWS = 100

# What each injected kind is: blank lines (empty or commas only)
# are not records; a record whose 18 named fields are all there is a real sale however many
# empty fields trail it; every other injected line cannot be used and is quarantined.
NOT_RECORD_KINDS = frozenset({"blank_line"})
KEPT_RECORD_KINDS = frozenset({"fewer_trailing_fields"})


@dataclass(frozen=True)
class InjectedQuirk:
    """One damaged line: its 1-based physical line number (header = 1) and its kind."""

    line_number: int
    kind: str
    row_id: int | None
    text: str

    @property
    def is_blank(self) -> bool:
        """Not a record: an empty line or one of nothing but commas."""
        return self.kind in NOT_RECORD_KINDS

    @property
    def is_kept(self) -> bool:
        """A whole record despite the quirk: it belongs in silver."""
        return self.kind in KEPT_RECORD_KINDS

    @property
    def is_quarantined(self) -> bool:
        """A line a correct pipeline quarantines (a broken record, a junk line, a duplicate)."""
        return not (self.is_blank or self.is_kept)


# Damage done to one record line each, in the order they are dealt to the sampled records.
RECORD_QUIRKS = (
    ("too_many_fields", "Product Name with a comma and no quotes"),
    ("too_few_fields", "Postal Code field left out, trailing empty fields too"),
    ("unbalanced_quote", "Product Name opens a quote that never closes"),
    ("invalid_date", "Order Date 31/02/yyyy"),
    ("invalid_date", "Ship Date yyyy-13-45"),
    ("month_first_date", "both dates mm/dd/yyyy with a day > 12"),
    ("negative_sales", "Sales below zero"),
    ("non_numeric_sales", "Sales abc"),
    ("missing_customer_id", "Customer ID empty"),
    ("missing_order_id", "Order ID empty"),
    ("ship_before_order", "Ship Date 1-5 days before Order Date"),
)
MIDDLE_BLANK_LINES = 2
END_BLANK_LINES = 1
# An Excel export's empty rows: nothing but the commas of the header's width. Blank lines.
MIDDLE_COMMA_LINES = 2
END_COMMA_LINES = 1
# Whole records with one trailing empty field fewer than the header, as in a real damaged
# copy (21 fields in the header, 6 records with 20). Real sales: they belong in silver.
FEWER_TRAILING_RECORDS = 6
FEWER_TRAILING_KIND = "fewer_trailing_fields"


def _damage(variant: str, fields: list[str], cat: _Catalog, rng: np.random.Generator) -> str:
    """A record line (no line end, no trailing empty fields) broken as `variant` says."""
    ordered = date(int(fields[2][6:]), int(fields[2][3:5]), int(fields[2][:2]))
    if variant.startswith("Product Name with a comma"):
        product = cat.comma_products[rng.integers(len(cat.comma_products))]
        fields[13:17] = cat.product_fields[product]
        return ",".join(fields)
    if variant.startswith("Product Name opens"):
        product = cat.plain_products[rng.integers(len(cat.plain_products))]
        fields[13:17] = cat.product_fields[product]
        return ",".join([*map(quote_field, fields[:16]), '"' + fields[16], fields[17]])
    if variant.startswith("Postal Code"):
        # 17 fields: too few for the named columns, whatever the header's trailing ones.
        del fields[11]
        return csv_line(fields)
    elif variant.startswith("Order Date 31/02"):
        fields[2] = f"31/02/{ordered.year}"
    elif variant.startswith("Ship Date yyyy-13-45"):
        fields[3] = f"{ordered.year}-13-45"
    elif variant.startswith("both dates mm/dd"):
        ordered = ordered.replace(day=13 + int(rng.integers(10)))
        shipped = ordered + timedelta(days=int(rng.integers(4)))
        fields[2], fields[3] = ordered.strftime("%m/%d/%Y"), shipped.strftime("%m/%d/%Y")
    elif variant == "Sales below zero":
        fields[17] = "-" + fields[17]
    elif variant == "Sales abc":
        fields[17] = "abc"
    elif variant == "Customer ID empty":
        fields[5] = ""
    elif variant == "Order ID empty":
        fields[1] = ""
    elif variant.startswith("Ship Date 1-5 days before"):
        fields[3] = (ordered - timedelta(days=int(rng.integers(1, 6)))).strftime(DATE_FORMAT)
    return csv_line(fields)


@dataclass
class _DamagePlan:
    """Where the damaged-file quirks go, by 0-based record index."""

    replace: dict[int, tuple[str, str]]
    fewer_trailing: list[int]
    # Lines inserted before a record: "" (blank) or commas only.
    insert_before: dict[int, str]
    duplicate_source: int
    duplicate_after: int
    rng: np.random.Generator
    injected: dict[int, tuple[str, int | None, str]] = field(default_factory=dict)
    saved_source: list[str] | None = None

    @classmethod
    def sample(cls, rows: int, seed: int, comma_line: str) -> _DamagePlan:
        """Spread the quirks over distinct random records (never the first)."""
        rng = np.random.default_rng([seed, 2])
        sizes = (len(RECORD_QUIRKS), FEWER_TRAILING_RECORDS, MIDDLE_BLANK_LINES, MIDDLE_COMMA_LINES, 2)
        picks = (1 + rng.choice(rows - 1, size=sum(sizes), replace=False)).tolist()
        groups = [picks[a : a + n] for a, n in zip(np.cumsum((0, *sizes)).tolist(), sizes, strict=False)]
        replace = dict(zip(groups[0], RECORD_QUIRKS, strict=True))
        insert_before = {**dict.fromkeys(groups[2], ""), **dict.fromkeys(groups[3], comma_line)}
        source, after = sorted(groups[4])
        return cls(replace, sorted(groups[1]), dict(sorted(insert_before.items())), source, after, rng)

    def line_of(self, record: int) -> int:
        """Physical line number of a record (header = line 1; lines inserted before count)."""
        inserted = sum(b <= record for b in self.insert_before) + (self.duplicate_after < record)
        return record + 2 + inserted

    def apply(self, cat: _Catalog, chunk: _Chunk) -> None:
        """Break this chunk's share of the planned records, in place."""
        lo = chunk.first_row_id - 1
        hi = lo + chunk.lines
        tail = cat.line_end[:-1]
        for record in (r for r in sorted(self.replace) if lo <= r < hi):
            kind, variant = self.replace[record]
            text = _damage(variant, _record_fields(cat, chunk, record - lo), cat, self.rng)
            if kind != "too_few_fields":
                text += tail
            at = PIECES * (record - lo)
            chunk.pieces[at : at + PIECES] = [b"", b"", b"", (text + "\n").encode()]
            self.injected[self.line_of(record)] = (kind, record + 1, text)
        for record in (r for r in self.fewer_trailing if lo <= r < hi):
            at = PIECES * (record - lo)
            line = b"".join(chunk.pieces[at : at + PIECES])
            text = line.decode()[: -len(cat.line_end)] + tail[1:]
            chunk.pieces[at : at + PIECES] = [b"", b"", b"", (text + "\n").encode()]
            self.injected[self.line_of(record)] = (FEWER_TRAILING_KIND, record + 1, text)
        for record, text in self.insert_before.items():
            if lo <= record < hi:
                at = PIECES * (record - lo)
                chunk.pieces[at] = (text + "\n").encode() + chunk.pieces[at]
                self.injected[self.line_of(record) - 1] = ("blank_line", None, text)
        if lo <= self.duplicate_source < hi:
            self.saved_source = _record_fields(cat, chunk, self.duplicate_source - lo)
        if lo <= self.duplicate_after < hi and self.saved_source is not None:
            # The same Row ID again, with an amended amount.
            fields = list(self.saved_source)
            fields[17] = repr(round(float(fields[17]) + 10.0, 4))
            text = csv_line(fields) + tail
            at = PIECES * (self.duplicate_after - lo) + PIECES - 1
            chunk.pieces[at] += (text + "\n").encode()
            line = self.line_of(self.duplicate_after) + 1
            self.injected[line] = ("duplicate_row_id", int(fields[0]), text)


def end_of_file_lines(total_cents4: int, rows: int, width: int, comma_line: str) -> list[tuple[str, str]]:
    """(kind, text) of the lines after the last record of a damaged file.

    A blank line, a spreadsheet's totals under the data (one number in the second unnamed
    column, padded to the header's width), then the export's empty rows.
    """
    extra = [("blank_line", "")] * END_BLANK_LINES
    for number in (f"{total_cents4 / 10_000:.2f}", str(rows)):
        junk = "," * (len(HEADER) + 1) + number + "," * (width - len(HEADER) - 2)
        extra.append(("junk_line", junk))
    extra += [("blank_line", comma_line)] * END_COMMA_LINES
    return extra
