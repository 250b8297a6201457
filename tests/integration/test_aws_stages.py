"""The aws stages one by one against moto in server mode: bronze's byte check, the Glue job's counts
and repairs, and the quality gate's zero-row and quarantine-revenue handling.

No DAG run: each test calls the stage functions the DAG's tasks call, on S3 objects the test puts
there, with the Glue job played by its DuckDB parity twin (aws_emulator.run_duckdb_silver), which
writes what the script writes where the run's arguments say. Expected values are computed here from
the bytes the test wrote or from the synthetic generator's reference, never by the stages' code.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from include.sales_analyzer.aws import bronze as aws_bronze
from include.sales_analyzer.aws import catalog as aws_catalog
from include.sales_analyzer.aws import quality as aws_quality
from include.sales_analyzer.aws import silver as aws_silver
from include.sales_analyzer.aws.clients import AwsStepFailed
from include.sales_analyzer.aws.layout import Layout
from include.sales_analyzer.config import get_settings
from include.sales_analyzer.errors import InputFileError, QualityGateFailed
from include.sales_analyzer.extract.synthetic import HEADER, generate_sales_csv
from tests.integration.aws_emulator import MotoAws, default_names, run_duckdb_silver
from tests.integration.test_pipeline_dag import REASON_OF_KIND

pytestmark = pytest.mark.slow
BUCKET = default_names()["bucket"]
# Kinds whose line is well-formed CSV with every named field: quarantined by a rule on a value.
WELL_FORMED_KINDS = {
    "invalid_date",
    "month_first_date",
    "negative_sales",
    "non_numeric_sales",
    "missing_customer_id",
    "missing_order_id",
    "ship_before_order",
    "duplicate_row_id",
}


@pytest.fixture
def aws_env(moto_aws: MotoAws, monkeypatch: pytest.MonkeyPatch) -> MotoAws:
    for key, value in moto_aws.airflow_env().items():
        monkeypatch.setenv(key, value)
    return moto_aws


def _keys(aws_: MotoAws, prefix: str) -> list[str]:
    listing = aws_.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _rows(aws_: MotoAws, prefix: str, tmp: Path, query: str) -> list[tuple]:
    """`query` over the Parquet files under a prefix, downloaded (`{files}` names them)."""
    files = []
    for i, key in enumerate(k for k in _keys(aws_, prefix) if k.endswith(".parquet")):
        target = tmp / f"{i}.parquet"
        aws_.client("s3").download_file(BUCKET, key, str(target))
        files.append(f"'{target}'")
    with duckdb.connect() as con:
        return con.execute(query.format(files=f"[{', '.join(files)}]")).fetchall()


def _bronze_and_glue(
    aws_: MotoAws, path: Path, day: str, run_key: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Land, upload to bronze and play the Glue run of one file, as the DAG's tasks do."""
    bronze = aws_bronze.upload_bronze(aws_bronze.land_file(path, run_key), day)
    run = aws_silver.upload_glue_artifacts(bronze, day, run_key)
    run_duckdb_silver(aws_.client("s3"), run["arguments"])
    return bronze, run


def _counts(aws_: MotoAws, run_key: str) -> dict[str, Any]:
    """The Glue run's counts JSON, read from S3."""
    key = Layout.of(get_settings()).glue_counts(run_key)
    return json.loads(aws_.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


BAD_FILES = {
    "nul": (b"Row ID,Order ID\n1,CA-1\n2,CA\x00-2\n", "binary data (a NUL byte)", 3),
    "lone_cr": (b"Row ID,Order ID\n1,CA-1\r\n2,CA-2\r3,CA-3\n", "a carriage return (CR) that does not", 3),
    "utf16": ("Row ID,Order ID\n1,CA-1\n".encode("utf-16"), "UTF-16 (little-endian) text", None),
    "latin1": ("Row ID,Customer\n1,Dean Perc\xe9r\n".encode("latin-1"), "not UTF-8 text", 2),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_upload_bronze_refuses_a_bad_file_naming_the_object_and_line(
    aws_env: MotoAws, tmp_path: Path, name: str
) -> None:
    """The whole landed file is checked as the local bronze checks it: nothing reaches bronze."""
    data, problem, line = BAD_FILES[name]
    path = tmp_path / f"{name}.csv"
    # The fault sits past the first 64 KiB where the check could have stopped at a sniffed head.
    padding = b"" if name == "utf16" else b"".join(b"%d,CA-PAD\n" % i for i in range(10_000))
    header, _, rest = data.partition(b"\n")
    body = data if name == "utf16" else header + b"\n" + padding + rest
    path.write_bytes(body)
    landed = aws_bronze.land_file(path, f"bad-{name}")
    day = "2026-03-01"
    with pytest.raises(InputFileError) as refused:
        aws_bronze.upload_bronze(landed, day)
    message = str(refused.value)
    where = f"s3://{BUCKET}/landing/bad-{name}/{name}.csv"
    expected_line = None if line is None else line + (0 if name == "utf16" else 10_000)
    assert message.startswith(where + (f", line {expected_line}: " if expected_line else ": ")), message
    assert problem in message, message
    assert _keys(aws_env, f"bronze/sales/ingest_date={day}/") == []
    assert _keys(aws_env, f"landing/bad-{name}/") == [f"landing/bad-{name}/{name}.csv"], "left for a rerun"


def test_upload_bronze_records_the_checksum_of_the_bytes_it_wrote(aws_env: MotoAws, tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes(b"Row ID,Order ID\r\n1,CA-1\r\n2,CA-2\r\n\r\n")
    bronze = aws_bronze.upload_bronze(aws_bronze.land_file(path, "ok-1"), "2026-03-02")
    s3 = aws_env.client("s3")
    got = s3.get_object(Bucket=BUCKET, Key=bronze["key"])
    body = got["Body"].read()
    assert body == path.read_bytes()
    assert got["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest() == bronze["sha256"]
    assert (bronze["bytes"], bronze["lines"]) == (len(body), 4)
    assert _keys(aws_env, "landing/ok-1/") == [], "the landing object goes once bronze holds it"


def test_upload_bronze_refuses_a_landing_object_that_changed(aws_env: MotoAws, tmp_path: Path) -> None:
    """The bytes checked are the bytes written: a landing object replaced after extract fails the task."""
    path = tmp_path / "swap.csv"
    path.write_bytes(b"Row ID,Order ID\n1,CA-1\n")
    landed = aws_bronze.land_file(path, "swap-1")
    aws_env.client("s3").put_object(Bucket=BUCKET, Key=landed["landing_key"], Body=b"Row ID,Order ID\n9,X\n")
    with pytest.raises(AwsStepFailed, match="the landing object was replaced"):
        aws_bronze.upload_bronze(landed, "2026-03-03")
    assert _keys(aws_env, "bronze/sales/ingest_date=2026-03-03/") == []


@pytest.fixture(scope="module")
def damaged(moto_aws: MotoAws, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A damaged synthetic file through bronze, the played Glue run, the gate and publish."""
    mp = pytest.MonkeyPatch()
    for key, value in moto_aws.airflow_env().items():
        mp.setenv(key, value)
    try:
        tmp = tmp_path_factory.mktemp("damaged")
        # The size and seed of the DAG runs' damaged file (aws_runs.py): about 2% quarantined.
        ref = generate_sales_csv(tmp / "damaged.csv", rows=800, seed=7, damaged=True)
        day, key = "2026-04-01", "2026-04-01_manual__counts"
        bronze, run = _bronze_and_glue(moto_aws, ref.path, day, key)
        quality = aws_quality.validate_silver(bronze, run, max_quarantine_fraction=0.05)
        published = aws_catalog.publish_silver(run)
        yield {
            "ref": ref,
            "day": day,
            "key": key,
            "run": run,
            "quality": quality,
            "published": published,
            "counts": _counts(moto_aws, key),
            "lay": Layout.of(get_settings()),
        }
    finally:
        mp.undo()


def test_glue_counts_json_beside_silver_equals_the_reference(damaged: dict[str, Any]) -> None:
    ref, counts = damaged["ref"], damaged["counts"]
    assert damaged["run"]["arguments"]["--counts_path"] == (
        f"s3://{BUCKET}/silver/_versions/sales/{damaged['key']}/_counts.json"
    )
    assert counts["lines_read"] == ref.total_lines
    assert counts["header_lines"] == 1
    assert counts["blank_lines"] == len(ref.blank_lines)
    assert counts["record_lines"] == ref.total_lines - 1 - len(ref.blank_lines)
    assert counts["silver_rows"] == ref.silver_rows
    assert counts["quarantined_lines"] == len(ref.quarantined) > 0
    assert counts["quarantine_by_reason"] == dict(Counter(REASON_OF_KIND[q.kind] for q in ref.quarantined))


def test_quality_stage_reads_the_glue_counts_and_checks_conservation(damaged: dict[str, Any]) -> None:
    ref, got = damaged["ref"], damaged["quality"]["counts"]
    for name in (
        "silver_rows",
        "quarantined_lines",
        "quarantine_revenue",
        "repairs_by_rule",
        "warnings_by_rule",
    ):
        assert got[name] == damaged["counts"][name], name
    assert got["conservation"] == {
        "bronze_lines": ref.total_lines,
        "silver_rows": ref.silver_rows,
        "quarantined_lines": len(ref.quarantined),
        "non_record_lines": 1 + len(ref.blank_lines),
        "holds": True,
    }
    assert damaged["quality"]["success"] is True
    records = ref.total_lines - 1 - len(ref.blank_lines)
    assert damaged["quality"]["quarantine_fraction"] == len(ref.quarantined) / records


def test_quarantine_revenue_is_the_sum_of_the_quarantined_lines_amounts(
    damaged: dict[str, Any], moto_aws: MotoAws, tmp_path: Path
) -> None:
    lay, day = damaged["lay"], damaged["day"]
    broken = {q.line_number: q for q in damaged["ref"].quarantined}
    rows = dict(
        _rows(
            moto_aws,
            lay.quarantine_dir(day),
            tmp_path,
            "select source_line, revenue from read_parquet({files})",
        )
    )
    assert set(rows) == set(broken)
    # A well-formed line quarantined by a rule holds its own Sales amount (None when not a number).
    checked = shifted = 0
    for number, q in broken.items():
        if q.kind in WELL_FORMED_KINDS:
            fields = next(csv.reader([q.text]))
            assert len(fields) >= len(HEADER) and not any(fields[len(HEADER) :]), q
            amount = fields[17].strip()
            expected_amount = Decimal(amount) if re.fullmatch(r"-?\d+(\.\d{1,4})?", amount) else None
            assert rows[number] == expected_amount, q
            checked += 1
        elif q.kind == "too_many_fields":
            # a product name whose comma lost its quotes: Sales holds the name's tail, and the
            # line's sale, one field right of it, is what quarantine holds
            fields = q.text.split(",")
            assert rows[number] == Decimal(fields[len(HEADER)]), q
            shifted += 1
    assert checked > 0 and shifted > 0
    expected = sum((r for r in rows.values() if r is not None), Decimal(0))
    assert Decimal(damaged["counts"]["quarantine_revenue"]) == expected
    assert damaged["counts"]["quarantine_lines_with_revenue"] == sum(r is not None for r in rows.values())


def test_repairs_table_is_published_beside_silver(
    damaged: dict[str, Any], moto_aws: MotoAws, tmp_path: Path
) -> None:
    lay, day, key = damaged["lay"], damaged["day"], damaged["key"]
    assert (
        damaged["run"]["arguments"]["--repairs_path"] == f"s3://{BUCKET}/quarantine/_staging/{key}/_repairs/"
    )
    prefix = f"silver/_repairs/sales/ingest_date={day}/"
    assert lay.repairs_dir(day) == prefix
    assert damaged["published"]["repairs"] == f"s3://{BUCKET}/{prefix}"
    assert _keys(moto_aws, prefix) == [prefix + "part-00000.parquet"]
    # quarantine holds only the rejected lines; no staging is left
    assert _keys(moto_aws, lay.quarantine_dir(day)) == [lay.quarantine_dir(day) + "part-00000.parquet"]
    assert _keys(moto_aws, lay.quarantine_staging(key)) == []
    found = _rows(
        moto_aws, prefix, tmp_path, "select action, rule, count(*) from read_parquet({files}) group by all"
    )
    repairs = {rule: n for action, rule, n in found if action == "repair"}
    warnings = {rule: n for action, rule, n in found if action == "warn"}
    assert repairs == damaged["counts"]["repairs_by_rule"]
    assert warnings == damaged["counts"]["warnings_by_rule"]
    # Independently: every kept record whose Postal Code has 4 digits lost its leading zero.
    bad = {q.line_number for q in damaged["ref"].quarantined} | set(damaged["ref"].blank_lines)
    text = damaged["ref"].path.read_text(encoding="utf-8").split("\n")
    zips = sum(
        1
        for number, line in enumerate(text, start=1)
        if number > 1 and number not in bad and line and re.fullmatch(r"\d{4}", next(csv.reader([line]))[11])
    )
    assert zips > 0 and repairs["zip_leading_zero"] == zips


def test_gate_on_a_run_with_no_silver_rows_fails_as_a_gate_naming_the_revenue(
    aws_env: MotoAws, tmp_path: Path
) -> None:
    """Every record quarantined: the gate runs on an empty table (as locally) and its message says
    how much revenue quarantine holds, summed here from the amounts written."""
    path = tmp_path / "all_bad.csv"
    amounts = ["-12.5000", "-0.2500", "-100.0100"]  # negative: out of range, quarantined, amount kept
    good = generate_sales_csv(tmp_path / "one.csv", rows=3, seed=5)
    lines = good.path.read_text(encoding="utf-8").splitlines()
    records = []
    for line, amount in zip(lines[1:], amounts, strict=True):
        fields = next(csv.reader([line]))
        fields[17] = amount
        records.append(fields)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(next(csv.reader([lines[0]])))
        writer.writerows(records)
    bronze, run = _bronze_and_glue(aws_env, path, "2026-05-01", "2026-05-01_manual__zero")
    counts = _counts(aws_env, run["run_key"])
    assert (counts["silver_rows"], counts["quarantined_lines"]) == (0, 3)
    with pytest.raises(QualityGateFailed) as failed:
        aws_quality.validate_silver(bronze, run, max_quarantine_fraction=0.05)
    message = str(failed.value)
    total = sum(Decimal(a) for a in amounts)
    assert (
        f"- 0 rows in silver; 3 of 3 record lines quarantined (100.00%, limit 5.00%), "
        f"holding -${-total.quantize(Decimal('0.01')):,.2f} of sales"
    ) in message, message
    assert "- expect_table_row_count_to_be_between: observed 0" in message, message
    assert "- expect_column_max_to_be_between on quarantine_fraction: observed 1.0" in message, message
    # the quarantine outlives the run's teardown (which deletes its staging) beside the report
    kept = f"reports/quality/{run['run_key']}/quarantine/"
    assert (
        f"- every quarantined line, with its column, value and what was expected: s3://{BUCKET}/{kept}"
        in message
    )
    assert "- quarantined by reason: out_of_range 3" in message, message
    assert f"- e.g. line 2, out_of_range: Sales '{amounts[0]}'; expected " in message, message
    assert [o["Key"] for o in aws_env.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=kept)["Contents"]]
    report = json.loads(
        aws_env.client("s3")
        .get_object(Bucket=BUCKET, Key=f"reports/quality/{run['run_key']}/quality_report.json")["Body"]
        .read()
    )
    assert (report["silver_rows"], report["quarantine_revenue"]) == (0, counts["quarantine_revenue"])
    assert Decimal(report["quarantine_revenue"]) == total


def test_quality_stage_fails_naming_missing_glue_counts(aws_env: MotoAws, tmp_path: Path) -> None:
    path = tmp_path / "nocounts.csv"
    path.write_bytes(b"Row ID,Order ID\n1,CA-1\n")
    bronze = aws_bronze.upload_bronze(aws_bronze.land_file(path, "nocounts"), "2026-05-02")
    run = aws_silver.upload_glue_artifacts(bronze, "2026-05-02", "2026-05-02_manual__nocounts")
    with pytest.raises(AwsStepFailed) as failed:
        aws_quality.validate_silver(bronze, run)
    assert str(failed.value).startswith(
        f"s3://{BUCKET}/silver/_versions/sales/2026-05-02_manual__nocounts/_counts.json: "
        "the Glue run left no counts"
    )
