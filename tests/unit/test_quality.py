"""The GX gate on a small silver made by the real silver SQL: its DuckDB memory limit is applied."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from include.sales_analyzer import quality
from tests.silver_helpers import HEADER, good, run_silver


@pytest.fixture(scope="module")
def silver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("silver")
    result = run_silver(tmp, [HEADER, good(1), good(2, sales="10.5"), good(3, sales="0.01")])
    assert result["counts"]["silver_rows"] == 3
    return tmp / "lake"


def gate_on_clean_silver(silver: Path, out: Path, **kwargs) -> dict:
    """The gate on the module's 3-row silver, its work and Data Docs under `out`."""
    return quality.validate_silver(
        f"{silver}/silver/**/*.parquet",
        record_lines=3,
        quarantined_lines=0,
        work_dir=out / "gx",
        docs_dir=out / "docs",
        **kwargs,
    )


def test_gate_passes_under_a_small_memory_limit(silver: Path, tmp_path: Path) -> None:
    report = gate_on_clean_silver(silver, tmp_path, memory_limit="64MB")
    assert report["success"] is True
    assert report["failed"] == 0


def test_memory_limit_reaches_duckdb(silver: Path, tmp_path: Path) -> None:
    """A limit DuckDB cannot read fails the gate with DuckDB's own message, not silently."""
    with pytest.raises(duckdb.Error, match="Memory must have a number"):
        gate_on_clean_silver(silver, tmp_path, memory_limit="twelve parsecs")


def _failed_report(quarantined: int, revenue: str | None, readable: int | None) -> dict:
    """A gate report as validate_silver returns it, the quarantine expectation failed."""
    return {
        "evaluated": 2,
        "record_lines": 200,
        "silver_rows": 200 - quarantined,
        "quarantined_lines": quarantined,
        "quarantine_fraction": quarantined / 200,
        "max_quarantine_fraction": 0.01,
        "quarantine_revenue": revenue,
        "quarantine_lines_with_revenue": readable,
        "expectations": [
            {
                "expectation": "expect_column_max_to_be_between",
                "column": "quarantine_fraction",
                "success": False,
                "severity": "critical",
                "observed": quarantined / 200,
                "error": None,
                "unexpected_sample": [],
            }
        ],
    }


@pytest.mark.parametrize(
    ("quarantined", "revenue", "readable", "said"),
    [
        # Every quarantined line's Sales unreadable: there is no sum to state, and $0.00 would lie.
        (
            100,
            "0",
            0,
            "100 of 200 record lines quarantined (50.00%, limit 1.00%), none with a readable Sales value",
        ),
        (4, "12.5", 4, "4 of 200 record lines quarantined (2.00%, limit 1.00%), holding $12.50 of sales"),
        (
            4,
            "12.5",
            3,
            "4 of 200 record lines quarantined (2.00%, limit 1.00%), holding $12.50 of sales "
            "(3 of them with a readable Sales value)",
        ),
    ],
)
def test_the_gates_failure_states_the_revenue_quarantine_holds_as_the_summary_does(
    quarantined: int, revenue: str, readable: int, said: str
) -> None:
    from include.sales_analyzer.errors import QualityGateFailed

    with pytest.raises(QualityGateFailed) as failed:
        quality.raise_if_failed(_failed_report(quarantined, revenue, readable))
    lines = str(failed.value).splitlines()
    assert lines[1] == f"- {200 - quarantined} rows in silver; {said}"
    assert (
        lines[2] == f"- expect_column_max_to_be_between on quarantine_fraction: observed {quarantined / 200}"
    )


def test_a_failed_expectation_still_reports_a_sample_of_its_unexpected_values(
    silver: Path, tmp_path: Path
) -> None:
    """The gate's checkpoint computes counts only; the samples of what did not pass come after.

    Silver as a broken engine could write it: row 1 twice (one Row ID on two rows), row 2's Ship
    Mode outside the contract's set and row 3's Customer ID off its pattern. Expected, from those
    four rows as written here: the Row ID rule (critical) counts 1 Row ID on more than one row;
    the Ship Mode rule (a warning) fails on 1 of 4 rows (25%) with that value as its sample; the
    pattern rule (a warning) counts 1 row. A clean silver runs no sampling validation at all.
    """
    broken = tmp_path / "broken" / "silver.parquet"
    broken.parent.mkdir()
    with duckdb.connect() as con:
        rows = f"read_parquet('{silver}/silver/**/*.parquet', hive_partitioning = true)"
        con.execute(
            "copy (select * replace ("
            "case when row_id = 2 then 'Teleport' else ship_mode end as ship_mode, "
            "case when row_id = 3 then 'cg12520' else customer_id end as customer_id"
            f") from {rows} union all select * from {rows} where row_id = 1) to '{broken}'"
        )
    report = quality.validate_silver(
        str(broken), record_lines=4, quarantined_lines=0, work_dir=tmp_path / "gx", docs_dir=tmp_path / "docs"
    )

    def rule(start: str, kind: str = "") -> dict:
        (found,) = [
            x
            for x in report["expectations"]
            if str(x["column"]).startswith(start) and x["expectation"].startswith(kind)
        ]
        return found

    unique = rule("row_id is unique")
    assert (unique["success"], unique["severity"], unique["observed"]) == (False, "critical", 1)
    mode = rule("ship_mode", "expect_column_values_to_be_in_set")
    assert (mode["success"], mode["severity"]) == (False, "warning")
    assert mode["observed"] == "1 unexpected (25%)"
    assert mode["unexpected_sample"] == ["Teleport"]
    pattern = rule("customer_id matches")
    assert (pattern["success"], pattern["severity"], pattern["observed"]) == (False, "warning", 1)
    assert report["success"] is False and report["failed"] == 1 and report["warnings"] == 2
    pages = {p.relative_to(tmp_path).parts[2] for p in (tmp_path / "docs" / "validations").rglob("*.html")}
    assert pages == {"silver_sales", "silver_sales_load", "silver_sales_samples"}

    clean = gate_on_clean_silver(silver, tmp_path / "clean")
    assert clean["success"] is True and clean["warnings"] == 0
    validations = tmp_path / "clean" / "docs" / "validations"
    pages = {p.relative_to(validations).parts[0] for p in validations.rglob("*.html")}
    assert pages == {"silver_sales", "silver_sales_load"}


def test_data_docs_reuse_compiled_templates_from_one_gate_run_to_the_next(
    silver: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX compiled its Data Docs templates from source on every run (~0.4 s of the gate):
    the second run here must load all of them from jinja2's bytecode cache, and still write
    the same pages."""
    import jinja2

    def run(name: str) -> Path:
        docs = tmp_path / name / "docs"
        report = gate_on_clean_silver(silver, tmp_path / name)
        assert report["success"] is True
        assert report["data_docs"] == str(docs / "index.html")
        return docs

    first = run("first")
    compiled: list[str | None] = []
    compile_from_source = jinja2.Environment.compile

    def counting_compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return compile_from_source(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting_compile)
    second = run("second")
    assert compiled == []
    pages = sorted(p.relative_to(second).parts[0] for p in second.rglob("*.html"))
    assert pages == sorted(p.relative_to(first).parts[0] for p in first.rglob("*.html"))
    assert {"index.html", "expectations", "validations"} <= set(pages)
    assert "silver_sales" in (second / "index.html").read_text()
