"""The catalogue of bad inputs (docs/reliability.md): each ends in a clear error or in quarantine.

A clear error names the file, the line, the column, the value and what was expected; a
quarantined line keeps its number, raw text and reason, and the conservation law holds.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from include.sales_analyzer import silver as sv
from include.sales_analyzer.bronze import check_allowed_path
from include.sales_analyzer.errors import InputFileError
from tests.silver_helpers import HEADER, good, run_silver


def write(tmp_path: Path, data: bytes, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def header_error(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as err:
        sv.inspect_header(path)
    assert str(path) in str(err.value), "the error must name the file"
    return err.value


# --- whole-file problems: a clear error before anything is written ---------------------------


def test_empty_file(tmp_path: Path) -> None:
    err = header_error(write(tmp_path, b""))
    assert "the file is empty" in str(err) and "expected a CSV header line" in str(err)


def test_no_header(tmp_path: Path) -> None:
    err = header_error(write(tmp_path, (good(1) + "\n").encode()))
    assert err.line == 1 and err.column == "Row ID"
    assert "expected a header with the columns Row ID, Order ID" in str(err)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_another_delimiter(tmp_path: Path, delimiter: str) -> None:
    text = HEADER.replace(",", delimiter) + "\n" + good(1).replace(",", delimiter) + "\n"
    err = header_error(write(tmp_path, text.encode()))
    assert f"separated by {delimiter!r}, not by commas" in str(err)
    assert err.line == 1


def test_latin1_bytes(tmp_path: Path) -> None:
    data = (HEADER + "\n" + good(1, name="Caf\xe9 Chair") + "\n").encode("latin-1")
    err = header_error(write(tmp_path, data))
    assert err.line == 2 and "not UTF-8" in str(err) and "re-save the file as UTF-8" in str(err)


def test_latin1_bytes_past_the_sniffed_head_fail_in_duckdb_naming_the_file(tmp_path: Path) -> None:
    lines = [HEADER] + [good(i) for i in range(1, 600)] + [good(600, name="Caf\xe9 Chair")]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode("latin-1"))
    from include.sales_analyzer.config import get_settings
    from include.sales_analyzer.local.silver import run_bronze_to_silver

    bronze = {"path": str(path), "lines": sv.count_lines(path)}
    with pytest.raises(InputFileError) as err:
        run_bronze_to_silver(bronze, "2026-01-15", "latin1", settings=_settings(tmp_path, get_settings()))
    assert str(path) in str(err.value)
    assert not (tmp_path / "lake" / "silver" / "sales").exists(), "nothing published"


def _silver_stage(tmp_path: Path, path: Path) -> dict:
    """The local backend's silver stage itself (the DAG's task body) on one file."""
    from include.sales_analyzer.config import get_settings
    from include.sales_analyzer.local.silver import run_bronze_to_silver

    bronze = {"path": str(path), "lines": sv.count_lines(path)}
    return run_bronze_to_silver(bronze, "2026-01-15", "stage", settings=_settings(tmp_path, get_settings()))


def test_joined_exports_with_the_columns_in_another_order_stop_the_stage(tmp_path: Path) -> None:
    # The second export's header swaps Sales and Postal Code: read in line 1's order its ZIP codes
    # would be summed as sales. The stage stops at that line, before anything is published.
    names = HEADER.split(",")
    order = [*names]
    order[11], order[17] = order[17], order[11]
    second = good(3).split(",")
    second[11], second[17] = second[17], second[11]
    lines = [HEADER, good(1), good(2), ",".join(order), ",".join(second)]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    with pytest.raises(InputFileError) as err:
        _silver_stage(tmp_path, path)
    assert err.value.line == 4 and str(path) in str(err.value)
    assert "'Sales' is column 12 there, 18 on line 1" in str(err.value)
    assert not (tmp_path / "lake" / "silver" / "sales").exists(), "nothing published"


def test_lf_and_crlf_line_ends_in_one_file_are_every_line_read_once(tmp_path: Path) -> None:
    # an LF export and a CRLF export joined: conservation holds and each record is one silver row,
    # bronze's scan counting the CRLF line ends silver's reader is set up for
    from include.sales_analyzer.config import get_settings
    from include.sales_analyzer.local import stages

    data = (
        HEADER + "\n" + good(1) + "\n" + good(2) + "\r\n" + good(3) + "\r\n\r\n" + good(4) + "\n"
    ).encode()
    settings = _settings(tmp_path, get_settings())
    bronze = stages.upload_bronze({"path": str(write(tmp_path, data))}, "2026-01-15", settings=settings)
    assert (bronze["lines"], bronze["crlf_lines"]) == (6, 3)
    result = stages.run_bronze_to_silver(bronze, "2026-01-15", "stage", settings=settings)
    assert result["conservation"]["holds"] and result["conservation"]["bronze_lines"] == 6
    assert (result["silver_rows"], result["quarantined_lines"], result["blank_lines"]) == (4, 0, 1)


def test_silver_reads_crlf_line_ends_only_in_a_file_that_has_them(tmp_path: Path) -> None:
    # DuckDB 2.0.1's parallel reader refuses new_line = '\r\n' on a large LF-only file ("does not
    # support a full read on this file", found at 10M rows), so an LF file is read as before
    lf, mixed = write(tmp_path, b"a\nb\n", "lf.csv"), write(tmp_path, b"a\nb\r\n", "mixed.csv")
    relations = [
        sv.bronze_lines_relation(sv.SilverPaths.for_run(tmp_path / "lake", p, "2026-01-15", "k"))
        for p in (lf, mixed)
    ]
    assert ["new_line" in r for r in relations] == [False, True]
    assert (sv.has_crlf(lf), sv.has_crlf(mixed)) == (False, True)


def _settings(tmp_path: Path, base):
    from dataclasses import replace

    return replace(base, data_dir=tmp_path)


@pytest.mark.parametrize(
    ("renamed", "found"),
    [("Sales", "Revenue"), ("Row ID", "RowID"), ("Order Date", "order date")],
)
def test_missing_or_renamed_column(tmp_path: Path, renamed: str, found: str) -> None:
    err = header_error(write(tmp_path, (HEADER.replace(renamed, found) + "\n").encode()))
    assert err.column == renamed and err.line == 1
    assert f"required column {renamed!r} is missing" in str(err)


def test_duplicate_column(tmp_path: Path) -> None:
    err = header_error(write(tmp_path, (HEADER + ",Sales\n").encode()))
    assert "appears twice" in str(err)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"\x1f\x8b\x08\x00\x00\x00", "gzip-compressed"),
        (b"PK\x03\x04\x14\x00", "zip archive"),
        (b"BZh91AY&SY", "bzip2-compressed"),
        (b"%PDF-1.7\n", "PDF document"),
        (b"PAR1\x15\x04", "Parquet file"),
        (bytes(range(256)) * 4, "NUL byte"),
    ],
)
def test_binary_or_compressed_file(tmp_path: Path, data: bytes, what: str) -> None:
    assert what in str(header_error(write(tmp_path, data)))


def test_real_gzip_of_a_good_file(tmp_path: Path) -> None:
    data = gzip.compress((HEADER + "\n" + good(1) + "\n").encode())
    assert "gzip-compressed" in str(header_error(write(tmp_path, data, "train.csv.gz")))


def test_path_outside_allowed_roots(tmp_path: Path) -> None:
    allowed = tmp_path / "inputs"
    allowed.mkdir()
    outside = write(tmp_path, (HEADER + "\n").encode(), "elsewhere.csv")
    for path in (outside, allowed / ".." / "elsewhere.csv", Path("/etc/passwd")):
        with pytest.raises(InputFileError, match="outside the allowed input roots"):
            check_allowed_path(path, (allowed.resolve(),))
    inside = write(allowed, (HEADER + "\n").encode(), "ok.csv")
    assert check_allowed_path(inside, (allowed.resolve(),)) == inside.resolve()


def test_symlink_escaping_the_allowed_root(tmp_path: Path) -> None:
    allowed = tmp_path / "inputs"
    allowed.mkdir()
    (allowed / "link.csv").symlink_to("/etc/passwd")
    with pytest.raises(InputFileError, match="outside the allowed input roots"):
        check_allowed_path(allowed / "link.csv", (allowed.resolve(),))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        check_allowed_path(tmp_path / "nope.csv", (tmp_path.resolve(),))


# --- line-level problems: quarantined with line, raw line and reason -------------------------


def quarantined(tmp_path: Path, lines: list[str], **kwargs) -> list[tuple]:
    out = run_silver(tmp_path, lines, **kwargs)
    assert out["law"]["holds"]
    return [(q[0], q[1], q[2], q[3]) for q in out["quarantine"]]


def test_header_only(tmp_path: Path) -> None:
    out = run_silver(tmp_path, [HEADER])
    assert out["rows"] == [] and out["quarantine"] == []
    assert out["law"] == {
        "bronze_lines": 1,
        "silver_rows": 0,
        "quarantined_lines": 0,
        "non_record_lines": 1,
        "holds": True,
    }


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    out = run_silver(tmp_path, [HEADER, good(1), good(2)], newline="\r\n", bom=True)
    assert [r["row_id"] for r in out["rows"]] == [1, 2]
    assert str(out["rows"][0]["sales"]) == "261.9600"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (",,,,,,,,,,,,,,,,,,,123.45", (3, "too_many_fields", "", "20")),
        ("junk", (3, "too_few_fields", "", "1")),
        (good(name="Hon Deluxe, Rounded Back"), (3, "too_many_fields", "", "19")),
        (good().replace(",42420", ""), (3, "too_few_fields", "", "17")),
        (good(name='"Apple Phone'), (3, "malformed_csv", "", None)),
        (good().replace("08/11/2017", "31/02/2017"), (3, "invalid_date", "Order Date", "31/02/2017")),
        (good().replace("08/11/2017", "08/11/2031"), (3, "date_in_future", "Order Date", "08/11/2031")),
        (
            good().replace("11/11/2017", "01/11/2017"),
            (3, "ship_date_before_order_date", "Ship Date", "01/11/2017"),
        ),
        (good(sales="-12.5"), (3, "out_of_range", "Sales", "-12.5")),
        (good(sales="twelve"), (3, "invalid_decimal", "Sales", "twelve")),
        (good(sales="99999999999"), (3, "out_of_range", "Sales", "99999999999")),
        (good(sales="123456789012345"), (3, "invalid_decimal", "Sales", "123456789012345")),
        (good(rid="9223372036854775808"), (3, "invalid_integer", "Row ID", "9223372036854775808")),  # type: ignore[arg-type]
        (good(rid=""), (3, "missing_value", "Row ID", None)),  # type: ignore[arg-type]
        (good().replace("CA-2017-152156", ""), (3, "missing_value", "Order ID", None)),
        (good(sales="9" * 100_000), (3, "invalid_decimal", "Sales", "9" * 100_000)),
    ],
    ids=[
        "junk-line",
        "junk-word",
        "field-too-many",
        "field-too-few",
        "unbalanced-quote",
        "unparseable-date",
        "future-date",
        "ship-before-order",
        "negative-sales",
        "non-numeric-sales",
        "absurd-sales",
        "sales-overflowing-decimal",
        "row-id-overflowing-bigint",
        "empty-row-id",
        "empty-order-id",
        "huge-field",
    ],
)
def test_bad_line_is_quarantined(tmp_path: Path, line: str, expected: tuple) -> None:
    assert quarantined(tmp_path, [HEADER, good(1), line]) == [expected]


def test_same_row_id_with_different_content(tmp_path: Path) -> None:
    got = quarantined(tmp_path, [HEADER, good(5, sales="10"), good(5, sales="99")])
    assert got == [(3, "duplicate_row_id", "Row ID", "5")]


def test_quoted_newline_splits_into_malformed_lines(tmp_path: Path) -> None:
    """A field with a line break inside quotes is two physical lines: both quarantined."""
    got = quarantined(tmp_path, [HEADER, good(1), good(2, name='"Chair\nsecond part"')])
    assert [g[1] for g in got] == ["malformed_csv", "malformed_csv"]
    assert [g[0] for g in got] == [3, 4]


def test_extra_and_reordered_columns(tmp_path: Path) -> None:
    names = HEADER.split(",")
    values = good(3).split(",")
    order = [17, *range(17)]
    header = ",".join(["Quantity", *[names[i] for i in order], "Discount", "Profit"])
    line = ",".join(["2", *[values[i] for i in order], "0.2", "41.9136"])
    out = run_silver(tmp_path, [header, line])
    assert [(r["row_id"], str(r["sales"])) for r in out["rows"]] == [(3, "261.9600")]


def test_trailing_empty_columns_and_blank_lines(tmp_path: Path) -> None:
    out = run_silver(tmp_path, [HEADER + ",,,", good(1) + ",,,", "", "  ", good(2) + ",,,"])
    assert [r["row_id"] for r in out["rows"]] == [1, 2]
    assert out["counts"]["blank_lines"] == 2
