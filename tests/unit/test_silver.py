"""Silver on real DuckDB: each quirk lands in silver or in quarantine with its reason."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from include.sales_analyzer import checks as chk
from include.sales_analyzer import silver as sv
from include.sales_analyzer.errors import ConservationError, InputFileError
from tests.silver_helpers import HEADER, good, run_silver


def test_clean_record_is_typed(tmp_path: Path) -> None:
    out = run_silver(tmp_path, [HEADER, good(sales="957.5775")])
    (row,) = out["rows"]
    assert row["row_id"] == 1
    assert str(row["order_date"]) == "2017-11-08"  # day-first
    assert row["sales"] == Decimal("957.5775")
    assert row["postal_code"] == "42420"
    assert (row["order_year"], row["order_month"], row["source_line"]) == (2017, 11, 2)
    assert out["law"]["holds"]


@pytest.mark.parametrize(
    ("line", "reason", "column", "value"),
    [
        (good().replace("08/11/2017", "31/02/2017"), "invalid_date", "Order Date", "31/02/2017"),
        (good().replace("08/11/2017", "2017-11-08"), "invalid_date", "Order Date", "2017-11-08"),
        (good(sales="-5"), "out_of_range", "Sales", "-5"),
        (good(sales="abc"), "invalid_decimal", "Sales", "abc"),
        (good(sales="1.23456"), "invalid_decimal", "Sales", "1.23456"),
        (good(sales="12.50001"), "invalid_decimal", "Sales", "12.50001"),
        (good().replace("08/11/2017", "30/12/1899"), "implausible_date", "Order Date", "30/12/1899"),
        (good().replace("11/11/2017", "11/11/2999"), "implausible_date", "Ship Date", "11/11/2999"),
        (
            good().replace("08/11/2017", "08/11/2027").replace("11/11/2017", "11/11/2027"),
            "date_in_future",
            "Order Date",
            "08/11/2027",
        ),
        (good(sales="99999999"), "out_of_range", "Sales", "99999999"),
        (good().replace("CG-12520", ""), "missing_value", "Customer ID", None),
        (good().replace("CA-2017-152156", ""), "missing_value", "Order ID", None),
        (
            good().replace("11/11/2017", "01/11/2017"),
            "ship_date_before_order_date",
            "Ship Date",
            "01/11/2017",
        ),
        (good(rid="x"), "invalid_integer", "Row ID", "x"),  # type: ignore[arg-type]
        (good(name="Hon Deluxe, Rounded Back"), "too_many_fields", "", "19"),
        (good().replace(",42420", ""), "too_few_fields", "", "17"),
        (good(name='"Apple Phone'), "malformed_csv", "", None),
        (good(name='Eldon 24"" Color'), "malformed_csv", "", None),
    ],
)
def test_bad_record_is_quarantined_with_its_reason(
    tmp_path: Path, line: str, reason: str, column: str, value: str | None
) -> None:
    out = run_silver(tmp_path, [HEADER, good(rid=1), line])
    assert [r["row_id"] for r in out["rows"]] == [1]
    ((source_line, got_reason, got_column, got_value, expected, raw),) = out["quarantine"]
    assert (source_line, got_reason, got_column, got_value) == (3, reason, column, value)
    assert raw == line
    assert expected
    assert out["law"] == {
        "bronze_lines": 3,
        "silver_rows": 1,
        "quarantined_lines": 1,
        "non_record_lines": 1,
        "holds": True,
    }


@pytest.mark.parametrize(
    ("line", "rule", "column", "value"),
    [
        (good(2).replace("CA-2017-152156", "XX-17"), "pattern_mismatch", "Order ID", "XX-17"),
        (good(2).replace("Second Class", "Teleport"), "not_allowed", "Ship Mode", "Teleport"),
        (good(2).replace("CG-12520", "Dl-13600"), "pattern_mismatch", "Customer ID", "Dl-13600"),
        (good(2).replace("Henderson", ""), "missing_value", "City", None),
        (good(2).replace("South", "Southeast"), "not_allowed", "Region", "Southeast"),
        (good(2).replace("42420", "ABCDE"), "pattern_mismatch", "Postal Code", "ABCDE"),
    ],
)
def test_a_warned_rule_keeps_the_sale_and_records_the_finding(
    tmp_path: Path, line: str, rule: str, column: str, value: str | None
) -> None:
    out = run_silver(tmp_path, [HEADER, good(1), line])
    assert [r["row_id"] for r in out["rows"]] == [1, 2]
    assert out["quarantine"] == []
    assert out["findings"] == [(3, column, rule, "warn", value, None)]
    assert out["counts"]["warnings_by_rule"] == {rule: 1}


def test_a_four_digit_zip_is_left_padded_and_recorded(tmp_path: Path) -> None:
    out = run_silver(tmp_path, [HEADER, good(1).replace("42420", "6824"), good(2).replace("42420", "824")])
    assert [r["postal_code"] for r in out["rows"]] == ["06824", "824"]
    assert out["findings"] == [
        (2, "Postal Code", "zip_leading_zero", "repair", "6824", "06824"),
        (3, "Postal Code", "pattern_mismatch", "warn", "824", None),
    ]
    assert out["counts"]["repairs_by_rule"] == {"zip_leading_zero": 1}


def test_whitespace_normalisation_is_a_recorded_repair(tmp_path: Path) -> None:
    out = run_silver(tmp_path, [HEADER, good(1, "Avery\u00a0Durable   Binders"), good(2, " Bush ")])
    assert [r["product_name"] for r in out["rows"]] == ["Avery Durable Binders", "Bush"]
    assert out["findings"] == [
        (2, "Product Name", "whitespace", "repair", "Avery\u00a0Durable   Binders", "Avery Durable Binders"),
        (3, "Product Name", "whitespace", "repair", " Bush ", "Bush"),
    ]


def test_quarantine_holds_the_revenue_of_lines_whose_sales_parse(tmp_path: Path) -> None:
    lines = [HEADER, good(1), good(1, sales="10.25"), good(3, sales="x"), good(4, sales="-2.5")]
    out = run_silver(tmp_path, lines)
    assert out["counts"]["quarantine_by_reason"] == {
        "duplicate_row_id": 1,
        "invalid_decimal": 1,
        "out_of_range": 1,
    }
    # 10.25 + (-2.5): the unparsable "x" holds no readable amount
    assert Decimal(out["counts"]["quarantine_revenue"]) == Decimal("7.75")
    assert out["counts"]["quarantine_lines_with_revenue"] == 2


def test_text_quirks_are_cleaned_not_rejected(tmp_path: Path) -> None:
    name = '"Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back"'
    lines = [
        HEADER,
        good(1, name),
        good(2, '"Self-Adhesive 24"" Color Labels"'),
        good(3, "Avery\u00a0Durable   Binders"),
        good(4).replace("42420", "05408"),
        good(5).replace(",42420,", ",,"),
    ]
    rows = run_silver(tmp_path, lines)["rows"]
    assert [r["product_name"] for r in rows[:3]] == [
        "Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back",
        'Self-Adhesive 24" Color Labels',
        "Avery Durable Binders",
    ]
    assert rows[3]["postal_code"] == "05408"
    assert rows[4]["postal_code"] is None


def test_duplicate_row_id_keeps_the_first_line(tmp_path: Path) -> None:
    out = run_silver(tmp_path, [HEADER, good(7), good(8), good(7, sales="1.00")])
    assert [(r["row_id"], r["source_line"]) for r in out["rows"]] == [(7, 2), (8, 3)]
    assert out["quarantine"][0][:4] == (4, "duplicate_row_id", "Row ID", "7")
    assert "line 2" in out["quarantine"][0][4]


def test_duplicate_row_ids_are_found_in_every_bucket(tmp_path: Path) -> None:
    # A big file's duplicate search runs one aggregate per bucket of Row IDs; rendered here as
    # for a file of five buckets, every duplicate is found whichever bucket its Row ID is in.
    import duckdb

    from include.sales_analyzer.silver_sql import ROW_IDS_PER_BUCKET

    rids = [*range(1, 41), 3, 17, 29, 40, 3]
    with duckdb.connect() as con:
        buckets = {con.execute(f"select hash({r}::bigint) % 5").fetchone()[0] for r in (3, 17, 29, 40)}
    assert len(buckets) > 1  # the duplicates are spread over several buckets
    out = run_silver(tmp_path, [HEADER, *[good(r) for r in rids]], size_as=5 * ROW_IDS_PER_BUCKET)
    assert [(r["row_id"], r["source_line"]) for r in out["rows"]] == [(r, r + 1) for r in range(1, 41)]
    assert [q[:4] for q in out["quarantine"]] == [
        (42, "duplicate_row_id", "Row ID", "3"),
        (43, "duplicate_row_id", "Row ID", "17"),
        (44, "duplicate_row_id", "Row ID", "29"),
        (45, "duplicate_row_id", "Row ID", "40"),
        (46, "duplicate_row_id", "Row ID", "3"),
    ]
    assert [q[4] for q in out["quarantine"]] == [
        f"a Row ID not seen before (first seen on line {r + 1})" for r in (3, 17, 29, 40, 3)
    ]


def test_bucketed_duplicate_search_with_no_accepted_line(tmp_path: Path) -> None:
    from include.sales_analyzer.silver_sql import ROW_IDS_PER_BUCKET

    # every bucket's folder must exist for its aggregate to read, even with no Row ID to put in it
    lines = [HEADER, good(1, sales="abc"), good(2, sales="1,5")]
    out = run_silver(tmp_path, lines, size_as=3 * ROW_IDS_PER_BUCKET)
    assert out["rows"] == []
    assert [q[:2] for q in out["quarantine"]] == [(2, "invalid_decimal"), (3, "too_many_fields")]


def test_a_big_file_in_buckets_and_ranges_gives_the_same_outputs(tmp_path: Path, monkeypatch) -> None:
    # A big file searches duplicates one bucket of Row IDs at a time and sorts its findings
    # one range of lines at a time; with buckets of 10 lines this 60-line file takes that path.
    from include.sales_analyzer import silver_sql

    lines = [HEADER]
    for rid in range(1, 61):
        line = good(rid % 45 + 1, name=f"Bookcase  {rid}" if rid % 3 == 0 else "Bookcase")
        lines.append(line.replace(",42420,", ",5408,") if rid % 4 == 0 else line)
    (tmp_path / "one").mkdir()
    (tmp_path / "many").mkdir()
    one = run_silver(tmp_path / "one", lines)
    monkeypatch.setattr(silver_sql, "ROW_IDS_PER_BUCKET", 10)
    assert silver_sql.row_id_buckets(len(lines)) > 5
    many = run_silver(tmp_path / "many", lines)
    assert many["rows"] == one["rows"] and len(one["rows"]) == 45
    assert many["quarantine"] == one["quarantine"] and len(one["quarantine"]) == 15
    assert many["findings"] == one["findings"]
    assert many["findings_stored"] == one["findings_stored"] == sorted(one["findings_stored"])
    assert {f[2] for f in one["findings_stored"]} == {"zip_leading_zero", chk.WHITESPACE_REPAIR}
    kept = range(1, 46)  # the first line of each Row ID
    assert len(one["findings_stored"]) == sum(r % 3 == 0 for r in kept) + sum(r % 4 == 0 for r in kept)


def test_content_duplicates_with_distinct_row_ids_are_kept(tmp_path: Path) -> None:
    out = run_silver(tmp_path, [HEADER, good(1), good(2)])
    assert len(out["rows"]) == 2


def test_damaged_file_layout(tmp_path: Path) -> None:
    """Trailing empty columns, CRLF, a BOM, blank lines and junk lines at the end."""
    lines = [
        HEADER + ",,,",
        good(1) + ",,,",
        "",
        good(2) + ",,,",
        "   ",
        ",,,,,,,,,,,,,,,,,,,123.45,",
        good(3) + ",,",  # one trailing empty field fewer than the header: still a record
        good(4),  # none at all
        good(5) + ",,,,,,",  # more empty fields than the header: still a record
        ",,,,,,,,,,,,,,,,,,,,",  # a spreadsheet's empty row: a blank line
    ]
    out = run_silver(tmp_path, lines, newline="\r\n", bom=True)
    assert [r["row_id"] for r in out["rows"]] == [1, 2, 3, 4, 5]
    assert [(q[0], q[1]) for q in out["quarantine"]] == [(6, "too_many_fields")]
    assert out["counts"]["blank_lines"] == 3
    assert out["law"]["holds"]


def test_a_line_whose_comma_lost_its_quotes_holds_its_sale_in_quarantine(tmp_path: Path) -> None:
    """The sale of a line with one value too many is read one field right when Sales does not parse."""
    lines = [
        HEADER,
        good(1),
        good(2, name="Fellowes Space Heater, Gray", sales="37.104"),  # Sales holds " Gray"
        ",,,,,,,,,,,,,,,,,,123.45",  # a stray number right after the named fields: no Row ID
        good(4, sales="1,5"),  # Sales "1" parses: it is the line's amount
        good(5, name="Eldon, Black", sales="abc"),  # nothing one field right parses either
        good(6, name="A, B, C", sales="12.5"),  # two values too many: no sure reading
    ]
    out = run_silver(tmp_path, lines)
    assert [r["row_id"] for r in out["rows"]] == [1]
    assert [(q[0], q[1]) for q in out["quarantine"]] == [(n, "too_many_fields") for n in range(3, 8)]
    paths = sv.SilverPaths.for_run(tmp_path / "lake", tmp_path / "in.csv", "2026-01-15", "run1")
    with duckdb.connect() as con:
        revenue = con.execute(
            f"select source_line, revenue from read_parquet('{paths.quarantine_tmp}') order by source_line"
        ).fetchall()
    assert revenue == [(3, Decimal("37.104")), (4, None), (5, Decimal("1")), (6, None), (7, None)]
    assert Decimal(out["counts"]["quarantine_revenue"]) == Decimal("37.104") + Decimal("1")
    assert out["counts"]["quarantine_lines_with_revenue"] == 2
    assert out["law"]["holds"]


def test_a_spreadsheets_money_format_is_the_same_amount(tmp_path: Path) -> None:
    """Quoted "1,531.14" and "$12.50" keep their sale, the repair listed; an unquoted 1,531.14 is two
    fields (a line with a value too many) and quarantine holds its whole amount, not its head "1"."""
    sales = ['"1,531.14"', "$12.50", '"$1,234.5"', '"12,345.6789"', '"1,23.00"', "$ 5", "1,531.14", "7,000"]
    out = run_silver(tmp_path, [HEADER] + [good(i, sales=v) for i, v in enumerate(sales, start=1)])
    assert [(r["row_id"], r["sales"]) for r in out["rows"]] == [
        (1, Decimal("1531.14")),
        (2, Decimal("12.5")),
        (3, Decimal("1234.5")),
        (4, Decimal("12345.6789")),
    ]
    assert [f[1:] for f in out["findings"]] == [
        ("Sales", "money_format", "repair", "1,531.14", "1531.14"),
        ("Sales", "money_format", "repair", "$12.50", "12.50"),
        ("Sales", "money_format", "repair", "$1,234.5", "1234.5"),
        ("Sales", "money_format", "repair", "12,345.6789", "12345.6789"),
    ]
    assert [(q[0], q[1], q[3]) for q in out["quarantine"]] == [
        (6, "invalid_decimal", "1,23.00"),  # not a thousands grouping: not repaired
        (7, "invalid_decimal", "$ 5"),
        (8, "too_many_fields", "19"),
        (9, "too_many_fields", "19"),
    ]
    assert Decimal(out["counts"]["quarantine_revenue"]) == Decimal("1531.14") + Decimal("7000")


def test_reordered_and_extra_columns_are_mapped_by_name(tmp_path: Path) -> None:
    names = HEADER.split(",")
    values = good(3).split(",")
    order = list(reversed(range(len(names))))
    header = ",".join([names[i] for i in order] + ["Quantity", "Profit"])
    line = ",".join([values[i] for i in order] + ["2", "41.9136"])
    (row,) = run_silver(tmp_path, [header, line])["rows"]
    assert (row["row_id"], row["sales"], row["customer_id"]) == (3, Decimal("261.96"), "CG-12520")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\x1f\x8b\x08\x00rest", "gzip-compressed"),
        (b"PK\x03\x04rest", "zip archive"),
        (b"Row ID;Order ID;Sales\n1;2;3\n", "separated by ';'"),
        (HEADER.replace("Sales", "Revenue").encode() + b"\n", "required column 'Sales' is missing"),
        (HEADER.replace("Row ID", "RowID").encode() + b"\n", "found 'RowID'"),
        (HEADER.encode() + b"\n1,caf\xe9\n", "not UTF-8"),
        (b"abc\x00def\n", "NUL byte"),
    ],
)
def test_unreadable_files_fail_with_a_clear_message(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError) as err:
        sv.inspect_header(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_conservation_violation_is_an_error() -> None:
    counts = {"silver_rows": 5, "quarantined_lines": 1, "header_lines": 1, "blank_lines": 0, "lines_read": 8}
    with pytest.raises(ConservationError, match="8 lines in bronze but 7 accounted for"):
        sv.check_conservation(8, counts, "x.csv")


def test_count_lines_counts_an_unterminated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\nb\n\nc")
    assert sv.count_lines(path) == 4
    path.write_bytes(b"a\nb\n")
    assert sv.count_lines(path) == 2


def test_a_file_mixing_lf_and_crlf_line_ends_keeps_every_line(tmp_path: Path) -> None:
    # Two exports joined, one saved on Unix and one on Windows: LF first, then CRLF lines, a
    # CRLF blank line, LF again and no final line end. Each line ends where the file has an LF.
    ends = ["\n", "\n", "\r\n", "\r\n", "\r\n", "\n", ""]
    lines = [HEADER, good(1, sales="10"), good(2, sales="20"), good(3, sales="30"), "", good(4, sales="40")]
    lines.append(good(5, sales="50"))
    data = "".join(line + end for line, end in zip(lines, ends, strict=True)).encode()
    result = run_silver(tmp_path, [], data=data)
    assert [(r["row_id"], r["source_line"], r["sales"]) for r in result["rows"]] == [
        (1, 2, Decimal("10")),
        (2, 3, Decimal("20")),
        (3, 4, Decimal("30")),
        (4, 6, Decimal("40")),
        (5, 7, Decimal("50")),
    ]
    assert all(not r["product_name"].endswith("\r") for r in result["rows"])
    assert result["quarantine"] == []
    assert result["counts"]["lines_read"] == 7 and result["counts"]["blank_lines"] == 1
    assert result["law"]["holds"]


def test_a_repeated_header_of_the_same_columns_is_one_quarantined_line(tmp_path: Path) -> None:
    # two exports with the same columns joined: the second header is no sale, every record is
    result = run_silver(tmp_path, [HEADER, good(1), good(2), HEADER, good(3), good(4)])
    assert [(r["row_id"], r["source_line"]) for r in result["rows"]] == [(1, 2), (2, 3), (3, 5), (4, 6)]
    assert [(q[0], q[2], q[3]) for q in result["quarantine"]] == [(4, "Row ID", "Row ID")]


def test_a_second_header_with_the_columns_moved_stops_the_run(tmp_path: Path) -> None:
    # The second export has Sales and Postal Code swapped: read with line 1's positions, its ZIP
    # codes would be summed as sales in a green run. The run stops at that line instead.
    names = HEADER.split(",")
    moved = [*names]
    moved[11], moved[17] = moved[17], moved[11]
    assert (names[11], names[17]) == ("Postal Code", "Sales")
    row = good(3).split(",")
    row[11], row[17] = row[17], row[11]
    with pytest.raises(InputFileError) as err:
        run_silver(tmp_path, [HEADER, good(1), good(2), ",".join(moved), ",".join(row)])
    assert str(err.value).startswith(
        f"{tmp_path / 'in.csv'}, line 4: a second header line with the columns laid out otherwise "
        "('Postal Code' is column 18 there, 12 on line 1; 'Sales' is column 12 there, 18 on line 1)"
    )
    assert "split it at this line, or re-export the parts with the same columns" in str(err.value)


def test_a_second_header_missing_a_column_stops_the_run(tmp_path: Path) -> None:
    names = HEADER.split(",")
    short = ",".join(n for n in names if n != "Segment")
    with pytest.raises(InputFileError, match=r"line 3: a second header line .* no column 'Segment'"):
        run_silver(tmp_path, [HEADER, good(1), short, good(2)])


def test_a_record_that_mentions_a_column_name_is_no_header(tmp_path: Path) -> None:
    # quarantined (its Sales is text), its product name holds "Row ID" and "Sales": still a record
    line = good(2, name="Row ID and Sales label", sales="n/a")
    result = run_silver(tmp_path, [HEADER, good(1), line, good(3)])
    assert [r["row_id"] for r in result["rows"]] == [1, 3]
    assert [q[0] for q in result["quarantine"]] == [3]


def test_line_numbers_are_physical_on_a_file_read_in_parallel(tmp_path: Path) -> None:
    # ~25 MB: DuckDB reads it in several chunks on several threads. Silver numbers lines by
    # their row in a Parquet copy of the file, so every number must still be the physical one.
    lines, expected = [HEADER], {}
    for rid in range(1, 100_001):
        if rid % 9_973 == 0:
            lines.append("")  # blank lines shift every later number
        name = '"Bookcase, ""oak"", 2 shelves"' if rid % 7 == 0 else f"Bookcase {rid}"
        lines.append(good(rid, name=name))
        expected[rid] = len(lines)
    lines.append(good(77_777))  # a duplicate Row ID near the end
    lines.append(good(100_001, sales="abc"))
    lines.append(good(100_002).replace("Bookcases", "Teleporters"))  # a warning, kept
    expected[100_002] = len(lines)
    out = run_silver(tmp_path, lines, newline="\r\n")
    assert out["law"]["holds"]
    got = {r["row_id"]: r["source_line"] for r in out["rows"]}
    assert got == expected
    assert [(q[0], q[1]) for q in out["quarantine"]] == [
        (len(lines) - 2, "duplicate_row_id"),
        (len(lines) - 1, "invalid_decimal"),
    ]
    assert [f[:3] for f in out["findings"]] == [(len(lines), "Sub-Category", "not_allowed")]
    assert out["quarantine"][0][5] == good(77_777)
    assert out["rows"][6]["product_name"] == 'Bookcase, "oak", 2 shelves'


def _plan_operators(node: dict | list) -> set[str]:
    nodes = node if isinstance(node, list) else [node]
    names: set[str] = set()
    for n in nodes:
        names.add(n["name"])
        names |= _plan_operators(n.get("children", []))
    return names


def test_the_one_pass_over_the_file_keeps_the_line_order(tmp_path: Path) -> None:
    # Staging numbers lines by their row in the file DuckDB writes, which holds only while the
    # plan from the CSV scan to the COPY is scan and projections: a join (DuckDB plans a long
    # IN list as one) or an aggregate would reorder the lines on a large file.
    import duckdb

    path = tmp_path / "in.csv"
    path.write_text("\n".join([HEADER, good(1), good(2)]) + "\n")
    paths = sv.SilverPaths.for_run(tmp_path / "lake", path, "2026-01-15", "run1")
    sv.prepare_dirs(paths)
    script = sv.render_silver_sql(sv.inspect_header(path), paths, "2026-01-15", path.name)
    statements = [s.strip() for s in script.split(";\n") if s.strip()]
    body = [" ".join(ln for ln in s.splitlines() if not ln.strip().startswith("--")) for s in statements]
    first_copy = next(i for i, s in enumerate(body) if s.strip().startswith("copy"))
    assert str(paths.staging_file) in body[first_copy]
    with duckdb.connect() as con:
        for s in statements[:first_copy]:
            con.execute(s)
        query = body[first_copy].strip()[len("copy") :].rsplit(") to '", 1)[0].strip()[1:]
        plan = json.loads(con.execute("explain (format json) " + query).fetchall()[0][1])
    operators = _plan_operators(plan)
    assert "READ_CSV" in operators
    assert operators <= {"READ_CSV", "PROJECTION", "FILTER"}, operators


@pytest.mark.parametrize(
    "name",
    [
        '"Bookcase, oak"',
        '"Self-Adhesive 24"" Color Labels"',
        '"He said ""hi, there"""',
        '""""',
        '"a,b,c,,"',
        '","',
        '"Chair\x1f, black"',  # the split's own marker in a value: the regular expression decides
        "Plain name",
    ],
)
def test_quoted_fields_split_like_the_csv_module(tmp_path: Path, name: str) -> None:
    line = good(1, name=name, sales='"261.96"')
    expected = next(csv.reader([line]))
    (row,) = run_silver(tmp_path, [HEADER, line])["rows"]
    assert row["product_name"] == expected[16]
    assert row["sales"] == Decimal(expected[17])
    assert row["customer_name"] == expected[6]


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("\u2003Bush\u2003", "Bush"),  # trim() strips Unicode space separators too
        ('" Bush "', "Bush"),  # spaces inside the quotes, at the value's edges
        ("Bush\tBookcase", "Bush Bookcase"),
    ],
)
def test_values_that_only_need_trimming_are_repaired_and_recorded(
    tmp_path: Path, name: str, cleaned: str
) -> None:
    out = run_silver(tmp_path, [HEADER, good(1), good(2, name=name)])
    assert [r["product_name"] for r in out["rows"]] == ["Bush Somerset Collection Bookcase", cleaned]
    raw = next(csv.reader([good(2, name=name)]))[16]
    assert out["findings"] == [(3, "Product Name", "whitespace", "repair", raw, cleaned)]


def test_staging_keeps_raw_text_only_for_lines_that_need_it(tmp_path: Path) -> None:
    lines = [HEADER, good(1), good(2, sales="x"), good(3).replace("42420", "6824"), good(1)]
    out = run_silver(tmp_path, lines)
    import duckdb

    staging = tmp_path / "lake" / "_staging" / "run1" / "lines.parquet"
    with duckdb.connect() as con:
        kept = con.execute(
            f"select file_row_number + 1, raw_line from read_parquet('{staging}', file_row_number = true) "
            "where raw_line is not null order by 1"
        ).fetchall()
    # the header (it fails every rule), the bad amount and the repaired ZIP; line 5 duplicates
    # line 2's Row ID and passed every check, so its text is read back from the file
    assert kept == [(1, HEADER), (3, lines[2]), (4, lines[3])]
    assert [(q[0], q[1], q[5]) for q in out["quarantine"]] == [
        (3, "invalid_decimal", lines[2]),
        (5, "duplicate_row_id", lines[4]),
    ]
    assert out["law"]["holds"]
