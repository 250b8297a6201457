"""A file made to the facts of Kaggle's real train.csv (listed below) through `airflow dags test`.

The real file's quirks are all real sales: 4-digit ZIP codes (a lost leading zero), customer
ids with a lower-case letter, Burlington rows without a postal code, no-break spaces. A
damaged copy adds trailing empty columns (21 in the header, only 20 on six records), blank
lines and stray lines holding one number in an unnamed column. Every one of the 9,800
records must reach gold, gold must equal a Decimal computation from the file to the cent, and
only the stray lines (which are not records) may be quarantined.
"""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from include.sales_analyzer.extract.synthetic import generate_sales_csv
from tests.conftest import run_dag_test
from tests.integration.test_pipeline_dag import expected_gold, published

pytestmark = pytest.mark.slow
ROWS, SEED = 9800, 7
SHORT_RECORDS = 6  # records with one trailing empty field fewer than the header
STRAY_LINES = [",,,,,,,,,,,,,,,,,,,,148.32", ",,,,,,,,,,,,,,,,,,,,1.5"]


def damaged_copy(clean: Path, out: Path) -> dict:
    """The clean file as the circulating damaged copy has it, and what the test knows of it."""
    lines = clean.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    header, records = lines[0], lines[1:-1]
    assert len(records) == ROWS
    short = set(range(100, 100 + SHORT_RECORDS * 997, 997))  # spread through the file
    body = [r + (",," if i in short else ",,,") for i, r in enumerate(records)]
    text = "\n".join([header + ",,,", *body, "", *STRAY_LINES, ",,,,,,,,,,,,,,,,,,,,", ""]) + "\n"
    out.write_text(text, encoding="utf-8")
    first_stray = 1 + ROWS + 2
    return {
        "stray_lines": {first_stray + k for k in range(len(STRAY_LINES))},
        "blank_lines": 3,  # "", the comma-only line, the final empty line
        "records": records,
    }


@pytest.fixture(scope="module")
def real_run(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_dir = tmp_path_factory.mktemp("data")
    inbox = data_dir / "inbox"
    inbox.mkdir()
    clean = generate_sales_csv(tmp_path_factory.mktemp("ref") / "train.csv", rows=ROWS, seed=SEED)
    path = inbox / "train_damaged_copy.csv"
    facts = damaged_copy(clean.path, path)
    conf = {"source": "file", "source_path": str(path)}
    proc = run_dag_test(airflow_home, data_dir, conf)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return {
        "path": path,
        "facts": facts,
        "data_dir": data_dir,
        "report": json.loads((data_dir / "run_report.json").read_text()),
        "output": proc.stdout + proc.stderr,
    }


def test_the_file_has_the_real_quirks(real_run: dict) -> None:
    """The input is faithful: otherwise the test below proves nothing about the real file."""
    rows = [next(csv.reader([r])) for r in real_run["facts"]["records"]]
    four_digit = [r for r in rows if re.fullmatch(r"[0-9]{4}", r[11])]
    assert {r[10] for r in four_digit} == {
        "Massachusetts",
        "New Jersey",
        "Connecticut",
        "Rhode Island",
        "New Hampshire",
        "Maine",
    }
    assert 400 <= len(four_digit) <= 460
    assert any(re.fullmatch(r"[A-Z][a-z]-[0-9]{5}", r[5]) for r in rows)
    assert any(r[11] == "" and r[9] == "Burlington" for r in rows)
    assert any("\u00a0" in r[16] for r in rows)


def test_every_record_reaches_silver_and_only_stray_lines_are_quarantined(real_run: dict) -> None:
    report, facts = real_run["report"], real_run["facts"]
    assert report["conservation"] == {
        "bronze_lines": 1 + ROWS + len(facts["stray_lines"]) + facts["blank_lines"],
        "silver_rows": ROWS,
        "quarantined_lines": len(facts["stray_lines"]),
        "non_record_lines": 1 + facts["blank_lines"],
        "holds": True,
    }
    assert report["rows"]["gold_tables"]["fct_sales"] == ROWS
    quarantine = real_run["data_dir"] / "lake" / "quarantine" / "sales" / "ingest_date=2026-01-15"
    import duckdb

    with duckdb.connect() as con:
        lines = {
            r[0]
            for r in con.execute(
                f"select source_line from read_parquet('{quarantine / 'quarantine.parquet'}')"
            ).fetchall()
        }
    assert lines == facts["stray_lines"]
    # the stray lines' numbers sit in an unnamed column, not in Sales: no revenue is at stake
    assert Decimal(report["quarantine"]["revenue"]) == 0
    assert report["quarantine"]["lines_with_sales"] == 0


def test_gold_equals_an_independent_decimal_computation(real_run: dict) -> None:
    expected = expected_gold(real_run["path"], bad_lines=real_run["facts"]["stray_lines"])
    got = published(real_run["data_dir"])
    assert got == expected
    total = sum(Decimal(next(csv.reader([r]))[17]) for r in real_run["facts"]["records"])
    assert sum(rev for _, rev in got["regional_revenue"]) == total


def test_repairs_and_warnings_are_counted_and_listed(real_run: dict) -> None:
    report, records = real_run["report"], real_run["facts"]["records"]
    rows = [next(csv.reader([r])) for r in records]
    zips = sum(1 for r in rows if re.fullmatch(r"[0-9]{4}", r[11]))
    lower_ids = sum(1 for r in rows if not re.fullmatch(r"[A-Z]{2}-[0-9]{5}", r[5]))
    assert report["repairs"]["by_rule"]["zip_leading_zero"] == zips
    assert report["warnings"]["by_rule"] == {"pattern_mismatch": lower_ids}
    assert Path(report["repairs"]["file"]).is_file()
    assert report["quality"]["success"] is True
    assert report["quality"]["warnings"] >= 1  # the customer-id pattern, non-blocking
    assert (
        f"quarantined {len(real_run['facts']['stray_lines'])} lines, none with a readable Sales value"
        in (real_run["output"])
    )
