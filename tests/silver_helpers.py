"""Run the real silver SQL on small hand-written files (shared by unit and reliability tests)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from include.sales_analyzer import silver as sv

HEADER = (
    "Row ID,Order ID,Order Date,Ship Date,Ship Mode,Customer ID,Customer Name,Segment,Country,"
    "City,State,Postal Code,Region,Product ID,Category,Sub-Category,Product Name,Sales"
)
GOOD = (
    "{rid},CA-2017-152156,08/11/2017,11/11/2017,Second Class,CG-12520,Claire Gute,Consumer,"
    "United States,Henderson,Kentucky,42420,South,FUR-BO-10001798,Furniture,Bookcases,{name},{sales}"
)


def good(rid: int = 1, name: str = "Bush Somerset Collection Bookcase", sales: str = "261.96") -> str:
    return GOOD.format(rid=rid, name=name, sales=sales)


def run_silver(
    tmp_path: Path,
    lines: list[str],
    newline: str = "\n",
    bom: bool = False,
    size_as: int | None = None,
    data: bytes | None = None,
) -> dict:
    """Write `lines` as a file and run the real silver SQL over it with DuckDB.

    `size_as` renders the SQL as for a file of that many lines (the duplicate search's buckets);
    `data`, when given, is the file's bytes instead of `lines`.
    """
    path = tmp_path / "in.csv"
    if data is None:
        data = (newline.join(lines) + newline).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    header = sv.inspect_header(path)
    paths = sv.SilverPaths.for_run(tmp_path / "lake", path, "2026-01-15", "run1")
    sv.prepare_dirs(paths)
    with duckdb.connect() as con:
        con.execute(sv.render_silver_sql(header, paths, "2026-01-15", path.name, lines=size_as))
        sv.refuse_second_header(paths, con, header)
        date_order = sv.decide_date_order(paths, con)
        counts = sv.summarize(paths, con)
        law = sv.check_conservation(sv.count_lines(path), counts, str(path))
        has_rows = any(paths.silver_version_dir.rglob("*.parquet"))
        rows = (
            con.execute(
                f"select * from read_parquet('{paths.silver_version_dir}/**/*.parquet', "
                "hive_partitioning = true) order by source_line"
            ).fetchall()
            if has_rows
            else []
        )
        cols = [d[0] for d in con.description] if has_rows else []
        quarantine = con.execute(
            f"select source_line, reason, column_name, value, expected, raw_line "
            f"from read_parquet('{paths.quarantine_tmp}') order by source_line"
        ).fetchall()
        findings = con.execute(
            "select source_line, column_name, rule, action, value_before, value_after "
            f"from read_parquet('{paths.repairs_tmp}') order by all"
        ).fetchall()
        findings_stored = con.execute(
            f"select source_line, column_name, rule from read_parquet('{paths.repairs_tmp}')"
        ).fetchall()
    return {
        "findings": findings,
        "findings_stored": findings_stored,  # as the file stores them
        "date_order": date_order,
        "counts": counts,
        "law": law,
        "rows": [dict(zip(cols, r, strict=True)) for r in rows],
        "quarantine": quarantine,
    }
