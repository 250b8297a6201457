"""Reliability round 2 (docs/reliability.md): inputs that used to give a green run with wrong
numbers, a gate that fails cleanly, deterministic failures without retries, safe exports.

Each test feeds the real code a hand-made file or directory and checks the outcome against
values written out here, not computed by the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
import threading
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from include.sales_analyzer import silver as sv
from include.sales_analyzer.bronze import ingest_local
from include.sales_analyzer.config import get_settings
from include.sales_analyzer.errors import InputFileError, QualityGateFailed
from include.sales_analyzer.local import stages
from tests.conftest import run_dag_test
from tests.silver_helpers import HEADER, good, run_silver

INGEST = "2026-01-15"


def settings_for(data_dir: Path):
    return replace(get_settings(), data_dir=data_dir)


def silver_of(data_dir: Path, source: Path, key: str = "run") -> dict:
    """Bronze then silver through the pipeline's own stage functions."""
    settings = settings_for(data_dir)
    bronze = stages.upload_bronze({"path": str(source)}, INGEST, settings=settings)
    return stages.run_bronze_to_silver(bronze, INGEST, key, settings=settings)


def rows_of(result: dict) -> list[tuple]:
    with duckdb.connect() as con:
        version = sv.glob_literal(result["version_dir"])
        return con.execute(
            f"select row_id, sales from read_parquet('{version}/**/*.parquet') order by row_id"
        ).fetchall()


# 1. Paths are data, never patterns.
@pytest.mark.parametrize("name", ["sales[1].csv", "sales?.csv", "sales*.csv"])
def test_a_file_name_with_glob_characters_reads_that_file_only(tmp_path: Path, name: str) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    other = inbox / "sales1.csv"
    other.write_text(f"{HEADER}\n{good(1, sales='1.00')}\n{good(2, sales='2.00')}\n")
    mine = inbox / name
    mine.write_text(f"{HEADER}\n{good(7, sales='700.00')}\n")
    silver_of(tmp_path, other, "other")  # ingested first, the same day
    result = silver_of(tmp_path, mine, "mine")
    assert Path(result["bronze_path"]).name == name
    assert rows_of(result) == [(7, Decimal("700.0000"))]


# 2. The whole file is checked: NUL, encodings, line ends.
def test_a_nul_byte_past_the_first_64_kib_fails_naming_its_line(tmp_path: Path) -> None:
    lines = [HEADER] + [good(i) for i in range(1, 800)]
    lines.append(good(800, sales="4\x0000.032"))
    path = tmp_path / "nul.csv"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 64 * 1024
    with pytest.raises(InputFileError) as err:
        ingest_local(path, tmp_path / "lake", INGEST)
    assert f"{path}, line 801: binary data (a NUL byte)" in str(err.value)
    assert not list((tmp_path / "lake").rglob("*.csv"))  # nothing landed in bronze


@pytest.mark.parametrize(
    ("encoding", "bom", "named"),
    [
        ("utf-16-le", b"\xff\xfe", "UTF-16 (little-endian)"),
        ("utf-16-be", b"\xfe\xff", "UTF-16 (big-endian)"),
        ("utf-16-le", b"", "UTF-16"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    ],
)
def test_utf16_and_utf32_are_named_with_the_fix(
    tmp_path: Path, encoding: str, bom: bytes, named: str
) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(bom + f"{HEADER}\n{good(1)}\n".encode(encoding))
    with pytest.raises(InputFileError) as err:
        ingest_local(path, tmp_path / "lake", INGEST)
    assert named in str(err.value)
    assert "re-save the file as UTF-8" in str(err.value)


def test_cr_only_line_ends_are_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(f"{HEADER}\r{good(1)}\r{good(2)}\r".encode())
    with pytest.raises(InputFileError) as err:
        ingest_local(path, tmp_path / "lake", INGEST)
    text = str(err.value)
    assert str(path) in text and "carriage returns only" in text and "re-save the file" in text


def test_a_stray_carriage_return_inside_a_line_is_refused_not_split(tmp_path: Path) -> None:
    path = tmp_path / "cr.csv"
    path.write_bytes(f"{HEADER}\n{good(1)}\n{good(2, name='Chair\rTable')}\n".encode())
    with pytest.raises(InputFileError) as err:
        ingest_local(path, tmp_path / "lake", INGEST)
    assert f"{path}, line 3: a carriage return (CR) that does not end a line" in str(err.value)


def test_crlf_and_a_cr_at_a_chunk_boundary_are_line_ends(tmp_path: Path) -> None:
    from include.sales_analyzer import bronze

    record = good(1).encode()
    # put a CRLF across the 16 MiB chunk boundary
    filler = b"x" * (bronze.CHUNK - len(HEADER) - 2 - 1)
    data = HEADER.encode() + b"\r\n" + filler + b"\r\n" + record + b"\r\n"
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    scan = bronze.scan_file(path)
    assert (scan.lines, scan.bytes, scan.sha256) == (3, len(data), hashlib.sha256(data).hexdigest())


# 3. Date order decided for the whole file, and plausible dates.
def swap(line: str) -> str:
    """The line with its two dates written month-first."""
    f = next(csv.reader([line]))
    for i in (2, 3):
        d, m, y = f[i].split("/")
        f[i] = f"{m}/{d}/{y}"
    return ",".join(f)


def test_a_month_first_file_stops_with_examples(tmp_path: Path) -> None:
    lines = [HEADER] + [
        swap(good(i).replace("08/11/2017", f"{13 + i % 15:02d}/11/2017").replace("11/11/2017", "29/11/2017"))
        for i in range(1, 20)
    ]
    with pytest.raises(InputFileError) as err:
        run_silver(tmp_path, lines)
    text = str(err.value)
    assert "month-first (mm/dd/yyyy): 19 lines have a date whose second part is above 12, 0 one" in text
    assert "line 2: 1,CA-2017-152156,11/14/2017" in text
    assert "expected dates as dd/mm/yyyy" in text


def test_an_ambiguous_file_that_fits_month_first_better_stops(tmp_path: Path) -> None:
    # Every date has both parts <= 12. Read day-first, 1/2 -> 3/2 ships a month late... and
    # 12/03 -> 02/04 ships before it was ordered; read month-first both ship in days.
    pairs = [("02/01/2017", "02/03/2017"), ("03/12/2017", "04/02/2017"), ("06/05/2017", "06/07/2017")]
    lines = [HEADER] + [
        good(i).replace("08/11/2017", o).replace("11/11/2017", s) for i, (o, s) in enumerate(pairs * 3, 1)
    ]
    with pytest.raises(InputFileError) as err:
        run_silver(tmp_path, lines)
    assert "no date proves either order" in str(err.value)


def test_a_few_month_first_values_in_a_day_first_file_are_quarantined(tmp_path: Path) -> None:
    day_first = [
        good(i).replace("08/11/2017", "16/11/2017").replace("11/11/2017", "18/11/2017") for i in (1, 2, 3)
    ]
    odd = good(4).replace("08/11/2017", "11/16/2017").replace("11/11/2017", "18/11/2017")
    out = run_silver(tmp_path, [HEADER, *day_first, odd])
    assert [r["row_id"] for r in out["rows"]] == [1, 2, 3]
    assert [q[:4] for q in out["quarantine"]] == [(5, "invalid_date", "Order Date", "11/16/2017")]
    assert (out["date_order"]["day_first_proofs"], out["date_order"]["month_first_proofs"]) == (4, 1)


@pytest.mark.parametrize(
    ("line", "reason", "column", "value"),
    [
        (good(2).replace("08/11/2017", "30/12/1899"), "implausible_date", "Order Date", "30/12/1899"),
        (good(2).replace("11/11/2017", "11/11/2999"), "implausible_date", "Ship Date", "11/11/2999"),
        (
            good(2).replace("08/11/2017", "25/12/2025").replace("11/11/2017", "20/12/2025"),
            "ship_date_before_order_date",
            "Ship Date",
            "20/12/2025",
        ),
        (
            good(2).replace("08/11/2017", "10/01/2026").replace("11/11/2017", "16/01/2026"),
            "date_in_future",
            "Ship Date",
            "16/01/2026",
        ),
    ],
)
def test_implausible_dates_are_quarantined(
    tmp_path: Path, line: str, reason: str, column: str, value: str
) -> None:
    out = run_silver(tmp_path, [HEADER, good(1), line])  # ingest date 2026-01-15
    assert [q[:4] for q in out["quarantine"]] == [(3, reason, column, value)]


# 4. Bronze lineage: the checksum is bronze's, and a file that changes while copied fails.
def test_bronze_checksum_is_of_the_bytes_written(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f"{HEADER}\n{good(1)}\n")
    result = ingest_local(path, tmp_path / "lake", INGEST)
    assert result["sha256"] == hashlib.sha256(Path(result["path"]).read_bytes()).hexdigest()
    assert result["lines"] == 2 and result["bytes"] == path.stat().st_size


def test_a_file_still_being_written_fails_the_copy(tmp_path: Path) -> None:
    path = tmp_path / "growing.csv"
    line = (good(1) + "\n").encode()
    path.write_bytes(HEADER.encode() + b"\n" + line * (300 * 1024 * 1024 // len(line)))
    folder = tmp_path / "lake" / "bronze" / "sales" / f"ingest_date={INGEST}"

    def writer() -> None:  # appends as soon as the copy has begun
        deadline = time.monotonic() + 30
        while not list(folder.glob(".growing.csv.tmp-*")) and time.monotonic() < deadline:
            time.sleep(0.001)
        with open(path, "ab") as fh:
            fh.write(line)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with pytest.raises(InputFileError) as err:
            ingest_local(path, tmp_path / "lake", INGEST)
    finally:
        thread.join()
    assert "the file changed while it was copied" in str(err.value)
    assert not list(folder.iterdir())  # no partial file in bronze


# 5. A gate over zero silver rows fails as a gate.
@pytest.mark.parametrize(
    ("lines", "fraction"),
    [([HEADER], "the file holds no record line, only its header"), ([HEADER, good(1, sales="x")], "1 of 1")],
    ids=["header-only", "all-quarantined"],
)
def test_a_gate_over_zero_rows_fails_as_a_gate(tmp_path: Path, lines: list[str], fraction: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text("\n".join(lines) + "\n")
    result = silver_of(tmp_path, source)
    assert result["silver_rows"] == 0
    with pytest.raises(QualityGateFailed) as err:
        stages.validate_silver(result, settings=settings_for(tmp_path))
    text = str(err.value)
    assert "0 rows in silver" in text and fraction in text
    assert "expect_table_row_count_to_be_between" in text


# Issue 11: a gate that notices lost revenue, at 1% by default.
def test_losing_more_than_one_percent_fails_the_gate_naming_the_revenue(tmp_path: Path) -> None:
    lines = [HEADER] + [good(i, sales="10.00") for i in range(1, 99)]
    lines += [good(98 + i, sales=f"-{i}.25") for i in (1, 2)]  # 2 of 100 records: 2%
    source = tmp_path / "in.csv"
    source.write_text("\n".join(lines) + "\n")
    result = silver_of(tmp_path, source)
    with pytest.raises(QualityGateFailed) as err:
        stages.validate_silver(result, settings=settings_for(tmp_path))
    text = str(err.value)
    # -1.25 + -2.25: the amounts of the two quarantined lines, as written above
    assert "2 of 100 record lines quarantined (2.00%, limit 1.00%), holding -$3.50 of sales" in text
    # what the quarantine holds, an example a person can act on, and where every line is, which
    # outlives the run's staging area (the DAG's teardown discards it)
    kept = tmp_path / "quality" / "failed_run_quarantine.parquet"
    assert "- quarantined by reason: out_of_range 2" in text
    assert "- e.g. line 100, out_of_range: Sales '-1.25'; expected " in text
    assert f"- every quarantined line, with its column, value and what was expected: {kept}" in text
    sv.discard_unpublished(result)
    with duckdb.connect() as con:
        lines = con.execute(
            f"select source_line, reason, value from read_parquet('{kept}') order by 1"
        ).fetchall()
    assert lines == [(100, "out_of_range", "-1.25"), (101, "out_of_range", "-2.25")]


def test_one_percent_passes_the_gate(tmp_path: Path) -> None:
    lines = [HEADER] + [good(i, sales="10.00") for i in range(1, 100)] + [good(100, sales="x")]
    source = tmp_path / "in.csv"
    source.write_text("\n".join(lines) + "\n")
    result = silver_of(tmp_path, source)
    assert stages.validate_silver(result, settings=settings_for(tmp_path))["success"] is True


# 6. Deterministic input failures are not retried.
@pytest.mark.slow
def test_a_missing_source_fails_at_once_without_retries(airflow_home: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    missing = data_dir / "nowhere.csv"
    conf = {"source": "file", "source_path": str(missing)}
    proc = run_dag_test(airflow_home, data_dir, conf)
    out = proc.stdout + proc.stderr
    assert f"{missing}: no such file; expected an existing CSV file" in out
    assert "up_for_retry" not in out.lower()
    with sqlite3.connect(airflow_home / "airflow.db") as con:
        tries = con.execute(
            "select task_id, state, try_number from task_instance "
            "where dag_id = 'sales_medallion' and task_id = 'extract_source' order by start_date desc limit 1"
        ).fetchall()
    assert tries == [("extract_source", "failed", 1)]


def test_a_directory_and_a_fifo_are_named_as_such(tmp_path: Path) -> None:
    import os

    from include.sales_analyzer.bronze import check_allowed_path

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match="this is a directory"):
        check_allowed_path(tmp_path, (tmp_path,))
    with pytest.raises(InputFileError, match=r"a named pipe \(FIFO\)"):
        check_allowed_path(fifo, (tmp_path,))


# 7. Comma-only lines are blank lines.
def test_an_excel_export_with_empty_rows_passes(tmp_path: Path) -> None:
    lines = [HEADER + ",,", good(1) + ",,", ",,,,,,,,,,,,,,,,,,,", ",,,,,,,,,,,,,,,,,,,", good(2) + ",,"]
    out = run_silver(tmp_path, lines)
    assert [r["row_id"] for r in out["rows"]] == [1, 2]
    assert out["quarantine"] == [] and out["counts"]["blank_lines"] == 2


# 8. Gold CSV exports are safe to open in a spreadsheet; Parquet keeps the values.
def test_gold_csv_exports_neutralise_formulas_and_keep_each_marts_order(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema gold")
        con.execute(
            "create table gold.top_products as select * from (values "
            "('=HYPERLINK(\"http://x\")', 5.0, 1, 2), ('@SUM(A1)', 9.0, 2, 1), ('-2+3', 1.0, 1, 3), "
            "('Plain chair', 0.5, 1, 4)) t(product_name, revenue, orders, revenue_rank)"
        )
        con.execute(
            "create table gold.regional_revenue as select * from (values "
            "('East', 10.0), ('West', 30.0), ('South', 20.0)) t(region, revenue)"
        )
    stages.publish_gold("k", settings=settings)
    with open(settings.gold_dir / "top_products.csv", newline="") as fh:
        names = [r["product_name"] for r in csv.DictReader(fh)]
    assert names == ["'@SUM(A1)", '\'=HYPERLINK("http://x")', "'-2+3", "Plain chair"]
    with open(settings.gold_dir / "regional_revenue.csv", newline="") as fh:
        assert [r["region"] for r in csv.DictReader(fh)] == ["West", "South", "East"]
    with duckdb.connect() as con:
        kept = con.execute(
            f"select product_name from read_parquet('{settings.gold_dir / 'top_products.parquet'}')"
        ).fetchall()
    assert kept[1] == ('=HYPERLINK("http://x")',)


# 9. More decimals than the scale: accepted when the extra digits are zeros.
def test_trailing_zero_decimals_are_accepted_lossy_ones_quarantined(tmp_path: Path) -> None:
    out = run_silver(tmp_path, [HEADER, good(1, sales="12.500000"), good(2, sales="12.50001")])
    assert [(r["row_id"], r["sales"]) for r in out["rows"]] == [(1, Decimal("12.5000"))]
    assert [q[:4] for q in out["quarantine"]] == [(3, "invalid_decimal", "Sales", "12.50001")]
