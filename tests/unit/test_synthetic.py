"""The synthetic train.csv: shape, domains, quirks and damage, checked value by value."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from include.sales_analyzer.contract import Contract, load_contract
from include.sales_analyzer.extract import synthetic
from include.sales_analyzer.extract.synthetic import HEADER, GeneratedFile, generate_sales_csv

EXPECTED_HEADER = (
    "Row ID,Order ID,Order Date,Ship Date,Ship Mode,Customer ID,Customer Name,Segment,Country,"
    "City,State,Postal Code,Region,Product ID,Category,Sub-Category,Product Name,Sales"
)
PRODUCT_CODES = {
    "FUR-BO": ("Furniture", "Bookcases"),
    "FUR-CH": ("Furniture", "Chairs"),
    "FUR-FU": ("Furniture", "Furnishings"),
    "FUR-TA": ("Furniture", "Tables"),
    "OFF-AP": ("Office Supplies", "Appliances"),
    "OFF-AR": ("Office Supplies", "Art"),
    "OFF-BI": ("Office Supplies", "Binders"),
    "OFF-EN": ("Office Supplies", "Envelopes"),
    "OFF-FA": ("Office Supplies", "Fasteners"),
    "OFF-LA": ("Office Supplies", "Labels"),
    "OFF-PA": ("Office Supplies", "Paper"),
    "OFF-ST": ("Office Supplies", "Storage"),
    "OFF-SU": ("Office Supplies", "Supplies"),
    "TEC-AC": ("Technology", "Accessories"),
    "TEC-CO": ("Technology", "Copiers"),
    "TEC-MA": ("Technology", "Machines"),
    "TEC-PH": ("Technology", "Phones"),
}
# The real train.csv: rows of 9,800 whose ZIP code lost its leading 0 (4 digits), by state, and the
# first three digits of that state's real ZIP codes.
ZERO_ZIP_ROWS = {
    "Massachusetts": (135, range(10, 28)),
    "New Jersey": (122, range(70, 90)),
    "Connecticut": (82, range(60, 70)),
    "Rhode Island": (55, range(28, 30)),
    "New Hampshire": (27, range(30, 39)),
    "Maine": (8, range(39, 50)),
}
NO_ZIP_ROWS = 11  # Burlington, Vermont
# Three customers of 793 have a lower-case second id letter; their rows are 43 of 9,800.
ODD_CASE_CUSTOMERS, ODD_CASE_ROWS = 3, 43
# A share of rows (a state's, the odd-case customers') may miss the real file's count by this
# much. The generator allots places and customers to orders by quota, so a share misses only
# by the parts of the two orders cut at its ends, half an order (1 to 14 lines, usually 1 or
# 2) at most at each end: at most 6 seen over seeds 0-39. Drawing each order's place at random
# would miss a 135-row share by about 20 rows (one standard deviation) and fail here.
SHARE_TOLERANCE = 7
# The real file's patterns of the two columns whose quirks are checked on their own below.
QUIRK_PATTERNS = {
    "customer_id": r"[A-Z][A-Za-z]-[0-9]{5}",
    "postal_code": r"[1-9][0-9]{4}|[1-9][0-9]{3}",
}
NAMED = len(HEADER)
REGIONS = {"Central", "East", "South", "West"}
RECORD_KINDS = {
    "too_many_fields",
    "too_few_fields",
    "unbalanced_quote",
    "invalid_date",
    "month_first_date",
    "negative_sales",
    "non_numeric_sales",
    "missing_customer_id",
    "missing_order_id",
    "ship_before_order",
    "duplicate_row_id",
}
DAY_FIRST = "%d/%m/%Y"


@cache
def _day(text: str) -> date:
    return datetime.strptime(text, DAY_FIRST).date()


@cache
def _parses(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _is_blank(line: str) -> bool:
    """An empty line, or one of nothing but commas, is not a record (as in damaged copies)."""
    return set(line) <= {","}


def _problems(fields: list[str], contract: Contract) -> list[str]:
    """Why a record line cannot be used (empty when it is a whole, valid record)."""
    if len(fields) < NAMED:
        return [f"{len(fields)} fields, expected at least {NAMED}"]
    # A record is a record however many empty fields trail it; data in them is not.
    if any(fields[NAMED:]):
        return ["a value in a trailing unnamed column"]
    found: list[str] = []
    values = dict(zip([c.name for c in contract.columns], fields, strict=False))
    for col in contract.columns:
        value = values[col.name]
        if value == "":
            if col.required:
                found.append(f"{col.source} empty")
            continue
        pattern = QUIRK_PATTERNS.get(col.name, col.pattern)
        if pattern and not re.fullmatch(pattern, value):
            found.append(f"{col.source} {value!r} !~ {pattern}")
        if col.allowed and value not in col.allowed:
            found.append(f"{col.source} {value!r} not allowed")
        if col.type == "date" and not (
            re.fullmatch(col.date_shape, value) and _parses(value, col.strptime_format)
        ):
            found.append(f"{col.source} {value!r} is not dd/mm/yyyy")
        if col.type in ("decimal", "bigint"):
            try:
                number = Decimal(value)
            except InvalidOperation:
                found.append(f"{col.source} {value!r} is not a number")
                continue
            if col.min is not None and number < Decimal(str(col.min)):
                found.append(f"{col.source} {value} < {col.min}")
            if col.scale is not None and -number.as_tuple().exponent > col.scale:
                found.append(f"{col.source} {value} has more than {col.scale} decimals")
    if not found and _day(values["ship_date"]) < _day(values["order_date"]):
        found.append("Ship Date before Order Date")
    return found


@pytest.fixture(scope="module")
def contract() -> Contract:
    """The silver contract the generator must satisfy."""
    return load_contract()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[GeneratedFile, bytes, list[list[str]]]:
    """The default file (9,800 rows, seed 42): what was written, its bytes, its parsed rows."""
    path = tmp_path_factory.mktemp("clean") / "train.csv"
    result = generate_sales_csv(path)
    raw = path.read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    return result, raw, rows


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[GeneratedFile, list[str]]:
    """The default file with damage injected, and its physical lines."""
    path = tmp_path_factory.mktemp("damaged") / "train.csv"
    result = generate_sales_csv(path, damaged=True)
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\n")
    return result, text[:-1].split("\n")


def test_header_and_counts(clean: tuple[GeneratedFile, bytes, list[list[str]]]) -> None:
    result, raw, rows = clean
    assert raw.split(b"\n", 1)[0].decode() == EXPECTED_HEADER
    assert tuple(rows[0]) == HEADER
    assert len(rows) - 1 == result.data_rows == 9800
    assert result.total_lines == raw.count(b"\n") == 9801
    assert result.size_bytes == len(raw)
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 9801))
    assert result.injected == [] and result.trailing_empty_columns == 0


def test_bytes_are_utf8_with_lf_and_minimal_quoting(
    clean: tuple[GeneratedFile, bytes, list[list[str]]],
) -> None:
    _, raw, rows = clean
    assert b"\r" not in raw and raw.endswith(b"\n")
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    assert out.getvalue().encode("utf-8") == raw


def test_every_line_meets_the_contract(
    clean: tuple[GeneratedFile, bytes, list[list[str]]], contract: Contract
) -> None:
    _, _, rows = clean
    assert [c.source for c in contract.columns] == list(HEADER)
    assert {len(r) for r in rows} == {NAMED}
    bad = {i: p for i, r in enumerate(rows[1:], 2) if (p := _problems(r, contract))}
    assert bad == {}


def test_domains_are_the_contracts(
    clean: tuple[GeneratedFile, bytes, list[list[str]]], contract: Contract
) -> None:
    _, _, rows = clean
    for index, name in ((4, "ship_mode"), (7, "segment"), (12, "region"), (14, "category")):
        assert {r[index] for r in rows[1:]} == set(contract.column(name).allowed)
    assert {r[15] for r in rows[1:]} == set(contract.column("sub_category").allowed)
    assert {r[8] for r in rows[1:]} == {"United States"}


def test_ids_follow_the_real_formats(clean: tuple[GeneratedFile, bytes, list[list[str]]]) -> None:
    _, _, rows = clean
    for r in rows[1:]:
        assert r[1][3:7] == r[2][6:], r
        assert PRODUCT_CODES[r[13][:6]] == (r[14], r[15]), r
        first, last = r[6].split(" ", 1)
        assert r[5][:2] == first[0] + last[0], r
    customers = defaultdict(set)
    for r in rows[1:]:
        customers[r[5]].add((r[6], r[7]))
    assert all(len(v) == 1 for v in customers.values())
    assert 700 <= len(customers) <= 800
    assert 1200 <= len({r[13] for r in rows[1:]}) <= 1861


def test_order_lines_share_order_fields(
    clean: tuple[GeneratedFile, bytes, list[list[str]]],
) -> None:
    _, _, rows = clean
    orders = defaultdict(set)
    for r in rows[1:]:
        orders[r[1]].add((r[2], r[3], r[4], r[5], r[9], r[10], r[11], r[12]))
    assert all(len(v) == 1 for v in orders.values())
    lines = Counter(r[1] for r in rows[1:])
    assert 4400 <= len(orders) <= 5400
    assert max(lines.values()) >= 5 and Counter(lines.values())[1] > len(orders) / 3


def test_dates_are_day_first_and_ship_within_a_week(
    clean: tuple[GeneratedFile, bytes, list[list[str]]],
) -> None:
    _, _, rows = clean
    ordered = [_day(r[2]) for r in rows[1:]]
    shipped = [_day(r[3]) for r in rows[1:]]
    assert {(s - o).days for o, s in zip(ordered, shipped, strict=True)} == set(range(8))
    assert min(ordered) == date(2015, 1, 3) and max(ordered) == date(2018, 12, 30)
    assert any(d.day > 12 for d in ordered) and any(d.day <= 12 for d in ordered)
    assert len({(d.year, d.month) for d in ordered}) == 48


def test_seasonality_and_growth(clean: tuple[GeneratedFile, bytes, list[list[str]]]) -> None:
    _, _, rows = clean
    months = Counter(_day(r[2]).month for r in rows[1:])
    years = Counter(_day(r[2]).year for r in rows[1:])
    assert months[11] + months[12] > 2.5 * (months[1] + months[2])
    assert min(months[11], months[12]) > max(months[m] for m in range(1, 9))
    assert years[2015] < years[2016] < years[2017] < years[2018]


def test_sales_are_positive_with_up_to_four_decimals(
    clean: tuple[GeneratedFile, bytes, list[list[str]]],
) -> None:
    _, _, rows = clean
    sales = [Decimal(r[17]) for r in rows[1:]]
    decimals = Counter(max(0, -s.as_tuple().exponent) for s in sales)
    assert min(sales) > 0 and max(sales) < 100_000
    assert set(decimals) <= {0, 1, 2, 3, 4} and decimals[4] > 0 and decimals[2] > 0
    assert 1_500_000 < sum(sales) < 4_000_000


@pytest.fixture(scope="module", params=[9800, 98_000], ids=["9800rows", "98000rows"])
def scaled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list]:
    """A clean file of the real size and of ten times it (other seed), parsed: (rows, records)."""
    rows = request.param
    path = tmp_path_factory.mktemp("scaled") / "train.csv"
    generate_sales_csv(path, rows=rows, seed=42 if rows == 9800 else 5)
    with path.open(encoding="utf-8", newline="") as f:
        return rows, list(csv.reader(f))[1:]


def test_postal_codes_lost_their_leading_zero(scaled: tuple[int, list]) -> None:
    rows, records = scaled
    scale = rows / 9800
    codes = Counter(len(r[11]) for r in records)
    assert set(codes) == {0, 4, 5} and sum(codes.values()) == rows
    assert not any(r[11].startswith("0") for r in records)
    short = defaultdict(list)
    for r in records:
        if len(r[11]) == 4:
            short[r[10]].append(r[11])
    assert set(short) == set(ZERO_ZIP_ROWS)
    for state, (real_rows, prefixes) in ZERO_ZIP_ROWS.items():
        assert abs(len(short[state]) - real_rows * scale) <= SHARE_TOLERANCE, (state, len(short[state]))
        # Left-padded, each is a ZIP code of its state; and the state has no other kind.
        assert all(int(code.zfill(5)[:3]) in prefixes for code in short[state]), state
        assert all(len(r[11]) == 4 for r in records if r[10] == state), state
    missing = Counter((r[9], r[10]) for r in records if r[11] == "")
    assert set(missing) == {("Burlington", "Vermont")}
    assert abs(missing["Burlington", "Vermont"] - NO_ZIP_ROWS * scale) <= SHARE_TOLERANCE
    assert {r[11] for r in records if r[10] == "Vermont"} == {""}


def test_three_customers_in_793_have_a_lower_case_letter(scaled: tuple[int, list]) -> None:
    rows, records = scaled
    customers = {r[5] for r in records}
    odd = Counter(r[5] for r in records if not r[5].isupper())
    assert all(re.fullmatch(r"[A-Z][a-z]-[0-9]{5}", c) for c in odd)
    assert all(re.fullmatch(r"[A-Z]{2}-[0-9]{5}", c) for c in customers - set(odd))
    # The generator keeps 793 customers per 9,800 rows, fewer of them ordering in a small file.
    assert len(odd) == round(ODD_CASE_CUSTOMERS * max(793, rows * 793 / 9800) / 793)
    assert abs(sum(odd.values()) - ODD_CASE_ROWS * rows / 9800) <= SHARE_TOLERANCE
    # Their names are spelt oddly too (`Dean percer`), the id still built from the initials.
    names = {r[6] for r in records if r[5] in odd}
    assert len(names) == len(odd)
    assert all(n.split(" ", 1)[1][0].islower() for n in names)
    assert all(n.split(" ", 1)[1][0].isupper() for n in {r[6] for r in records} - names)


def test_product_names_carry_the_quirks(
    clean: tuple[GeneratedFile, bytes, list[list[str]]],
) -> None:
    _, raw, rows = clean
    names = [r[16] for r in rows[1:]]
    nbsp = sum("\u00a0" in n for n in names)
    assert 0.01 * len(names) <= nbsp <= 0.04 * len(names)
    assert any("," in n for n in names)
    assert b'"Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back"' in raw
    assert any('"' in n for n in names)
    assert re.search(rb',"[^",\n]*\d+"" [^\n]*",', raw)


def test_content_duplicates_differ_only_by_row_id(
    clean: tuple[GeneratedFile, bytes, list[list[str]]],
) -> None:
    _, _, rows = clean
    copies = Counter(tuple(r[1:]) for r in rows[1:])
    assert 1 <= sum(n - 1 for n in copies.values() if n > 1) <= 30


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate_sales_csv(tmp_path / "a.csv", rows=2000, seed=7, damaged=True)
    b = generate_sales_csv(tmp_path / "b.csv", rows=2000, seed=7, damaged=True)
    c = generate_sales_csv(tmp_path / "c.csv", rows=2000, seed=8, damaged=True)
    assert a.path.read_bytes() == b.path.read_bytes() != c.path.read_bytes()
    assert a.injected == b.injected != c.injected


@pytest.mark.parametrize("rows", [1, 2, 137])
def test_small_files(tmp_path: Path, rows: int) -> None:
    result = generate_sales_csv(tmp_path / "small.csv", rows=rows, seed=3)
    lines = result.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == rows + 1 == result.total_lines
    assert [int(line.split(",", 1)[0]) for line in lines[1:]] == list(range(1, rows + 1))


def test_dates_follow_start_and_end(tmp_path: Path) -> None:
    result = generate_sales_csv(
        tmp_path / "short.csv", rows=500, start=date(2020, 3, 1), end=date(2020, 3, 31)
    )
    with result.path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    ordered = {_day(r[2]) for r in rows}
    assert min(ordered) == date(2020, 3, 1) and max(ordered) == date(2020, 3, 31)
    assert {r[1][3:7] for r in rows} == {"2020"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows": 0}, "rows must be at least 1"),
        ({"rows": 50, "damaged": True}, "rows >= 100"),
        ({"start": date(2019, 1, 2), "end": date(2019, 1, 1)}, "is before start"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_sales_csv(tmp_path / "x.csv", **kwargs)


def test_damaged_file_shape(damaged: tuple[GeneratedFile, list[str]]) -> None:
    result, lines = damaged
    assert lines[0] == EXPECTED_HEADER + ",,,"
    # Header, 9,800 records, a duplicate Row ID, 3 empty and 3 comma-only lines, 2 junk lines.
    assert result.total_lines == len(lines) == 1 + 9800 + 1 + 3 + 3 + 2
    assert result.data_rows == 9801 and result.trailing_empty_columns == 3
    kinds = Counter(q.kind for q in result.injected)
    assert kinds == {
        **dict.fromkeys(RECORD_KINDS - {"invalid_date"}, 1),
        "invalid_date": 2,
        "fewer_trailing_fields": 6,
        "blank_line": 6,
        "junk_line": 2,
    }
    assert lines[-4] == ""
    assert re.fullmatch(r",{19}\d+\.\d\d,", lines[-3]) and lines[-2] == ",,,,,,,,,,,,,,,,,,,9800,"
    assert lines[-1] == "," * 20
    blank_middle = [q.line_number for q in result.injected if q.kind == "blank_line"][:4]
    assert all(2 < n < 9804 for n in blank_middle)
    assert Counter(q.text for q in result.injected if q.kind == "blank_line") == {"": 3, "," * 20: 3}


def test_injected_lines_hold_their_quirks(
    damaged: tuple[GeneratedFile, list[str]], contract: Contract
) -> None:
    result, lines = damaged
    first_seen: dict[str, int] = {}
    for n, line in enumerate(lines[1:], 2):
        if line and not line.startswith(","):
            first_seen.setdefault(line.split(",", 1)[0], n)
    for q in result.injected:
        line = lines[q.line_number - 1]
        assert line == q.text, q
        fields = next(csv.reader([line])) if line else []
        if q.kind in RECORD_KINDS - {"too_few_fields"}:
            assert line.endswith(",,,") and int(fields[0]) == q.row_id, q
        if q.kind == "blank_line":
            assert _is_blank(line) and len(line) in (0, 20), q
        elif q.kind == "fewer_trailing_fields":
            # A whole, valid record with one trailing empty field fewer than the header's 21.
            assert len(fields) == 20 and fields[NAMED:] == ["", ""] and not line.endswith(",,,"), q
            assert _problems(fields, contract) == [] and int(fields[0]) == q.row_id, q
        elif q.kind == "junk_line":
            assert len(fields) == 21 and [i for i, f in enumerate(fields) if f] == [19]
            Decimal(fields[19])
        elif q.kind == "too_many_fields":
            assert len(fields) == 22 and '"' not in line
        elif q.kind == "too_few_fields":
            # The Postal Code left out and no trailing field: too few for the named columns.
            assert len(fields) == NAMED - 1 and int(fields[0]) == q.row_id, q
            assert fields[11] in REGIONS, q
        elif q.kind == "unbalanced_quote":
            assert line.count('"') % 2 == 1 and ',"' in line
        elif q.kind == "invalid_date":
            bad = [f for f in fields[2:4] if not re.fullmatch(r"\d\d/\d\d/\d{4}", f)]
            if not bad:
                with pytest.raises(ValueError):
                    [_day(f) for f in fields[2:4]]
        elif q.kind == "month_first_date":
            with pytest.raises(ValueError):
                _day(fields[2])
            month_first = datetime.strptime(fields[2], "%m/%d/%Y").date()
            assert month_first.day > 12 and fields[1][3:7] == str(month_first.year)
        elif q.kind == "negative_sales":
            assert Decimal(fields[17]) < 0
        elif q.kind == "non_numeric_sales":
            assert fields[17] == "abc"
        elif q.kind == "missing_customer_id":
            assert fields[5] == "" and fields[6]
        elif q.kind == "missing_order_id":
            assert fields[1] == "" and fields[2]
        elif q.kind == "ship_before_order":
            assert 1 <= (_day(fields[2]) - _day(fields[3])).days <= 5
        elif q.kind == "duplicate_row_id":
            original = first_seen[fields[0]]
            assert original < q.line_number and lines[original - 1] != line
            assert lines[original - 1].split(",")[1:17] == line.split(",")[1:17]


def test_only_injected_lines_are_not_records_or_break_the_contract(
    damaged: tuple[GeneratedFile, list[str]], contract: Contract
) -> None:
    """Classify every line by the rules below; the generator's account must agree."""
    result, lines = damaged
    blank, broken, kept = set(), set(), set()
    seen: set[str] = set()
    for n, line in enumerate(lines[1:], 2):
        if _is_blank(line):
            blank.add(n)
            continue
        fields = next(csv.reader([line]))
        (broken if _problems(fields, contract) or fields[0] in seen else kept).add(n)
        seen.add(fields[0])
    assert blank == set(result.blank_lines)
    assert broken == {q.line_number for q in result.quarantined}
    assert len(kept) == result.silver_rows == 9800 - 11  # 11 records broken, 1 duplicated
    assert {q.line_number for q in result.injected if q.is_kept} <= kept
    assert not any(q.is_blank or q.is_kept for q in result.quarantined)


def test_comma_only_lines_are_blank_lines(damaged: tuple[GeneratedFile, list[str]]) -> None:
    result, lines = damaged
    commas = [n for n, line in enumerate(lines, 1) if line and set(line) == {","}]
    assert len(commas) == 3 and commas[-1] == len(lines)
    assert all(lines[n - 1] == "," * 20 for n in commas)  # the header's 21 fields, all empty
    assert set(commas) < set(result.blank_lines)


def test_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk seams (small chunks here) keep Row IDs, orders and damaged line numbers right."""
    monkeypatch.setattr(synthetic, "CHUNK_ROWS", 1000)
    result = generate_sales_csv(tmp_path / "chunks.csv", rows=5500, seed=11, damaged=True)
    lines = result.path.read_text(encoding="utf-8")[:-1].split("\n")
    assert len(lines) == result.total_lines
    for q in result.injected:
        assert lines[q.line_number - 1] == q.text
    records = [
        next(csv.reader([line]))
        for n, line in enumerate(lines[1:], 2)
        if line
        and not line.startswith(",")
        and n not in {q.line_number for q in result.injected if q.kind == "duplicate_row_id"}
    ]
    assert [int(r[0]) for r in records] == list(range(1, 5501))
    orders = defaultdict(set)
    for r in records:
        if len(r) == 21 and r[1]:
            orders[r[1]].add(r[5])
    assert sum(len(v) > 1 for v in orders.values()) <= 1


def test_cli_writes_the_same_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.csv"
    assert synthetic.main([str(out), "--rows", "300", "--seed", "5", "--damaged"]) == 0
    direct = generate_sales_csv(tmp_path / "direct.csv", rows=300, seed=5, damaged=True)
    assert out.read_bytes() == direct.path.read_bytes()
    printed = capsys.readouterr().out
    assert "301 record lines" in printed and "rows/s" in printed and "junk_line" in printed


def test_big_files_format_amounts_like_small_files() -> None:
    """Files over ~143k rows format every Sales amount up front; the text must not change."""
    small = synthetic._Catalog(9800, 42, synthetic.DEFAULT_START, synthetic.DEFAULT_END, "\n")
    big = synthetic._Catalog(200_000, 42, synthetic.DEFAULT_START, synthetic.DEFAULT_END, "\n")
    assert small.tail_table is None and big.tail_table is not None
    amounts = np.arange(0, len(big.amount_cents4), 97)
    assert small.tails(amounts) == big.tails(amounts)
    for amount in amounts[:500].tolist():
        text = small.tails(np.array([amount]))[0].decode()
        assert text.endswith("," + small.sales_text(amount) + "\n")
        assert Decimal(small.sales_text(amount)) * 10_000 == int(small.amount_cents4[amount])
