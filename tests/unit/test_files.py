"""Local file primitives and the one local layout."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from include.sales_analyzer import silver as sv
from include.sales_analyzer.files import count_lines, sha256_of, swap_symlink, write_json
from include.sales_analyzer.local.layout import Layout


def test_sha256_and_line_count(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    data = b"h\r\na\n\nlast"
    path.write_bytes(data)
    assert sha256_of(path) == hashlib.sha256(data).hexdigest()
    assert count_lines(path) == 4
    path.write_bytes(b"")
    assert count_lines(path) == 0


def test_write_json_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "r.json"
    write_json(path, {"b": 1, "a": Path("p")})
    write_json(path, {"c": 2})
    assert json.loads(path.read_text()) == {"c": 2}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_swap_symlink_returns_the_previous_target(tmp_path: Path) -> None:
    one, two, link = tmp_path / "v1", tmp_path / "v2", tmp_path / "live"
    one.mkdir()
    two.mkdir()
    assert swap_symlink(link, one) is None
    assert swap_symlink(link, two) == one.resolve()
    assert link.resolve() == two.resolve()
    assert link.readlink() == Path("v2")  # relative: the data dir can move


def test_swap_symlink_moves_a_real_directory_aside(tmp_path: Path) -> None:
    target, link = tmp_path / "v1", tmp_path / "live"
    target.mkdir()
    link.mkdir()
    (link / "old.txt").write_text("kept")
    swap_symlink(link, target)
    assert link.resolve() == target.resolve()
    assert (tmp_path / "live.old" / "old.txt").read_text() == "kept"


def test_layout_names_the_lake_from_the_contract_table(tmp_path: Path) -> None:
    lay = Layout.at(tmp_path)
    assert lay.table == "sales"
    lake = tmp_path / "lake"
    assert lay.bronze_dir("2026-01-15") == lake / "bronze" / "sales" / "ingest_date=2026-01-15"
    assert lay.silver_live == lake / "silver" / "sales"
    assert lay.silver_glob == f"{lake}/silver/sales/**/*.parquet"
    assert lay.silver_version("k") == lake / "silver" / "_versions" / "sales" / "k"
    assert lay.quarantine_file("2026-01-15") == (
        lake / "quarantine" / "sales" / "ingest_date=2026-01-15" / "quarantine.parquet"
    )
    assert lay.repairs_file("2026-01-15") == (
        lake / "repairs" / "sales" / "ingest_date=2026-01-15" / "repairs.parquet"
    )
    assert lay.published_path == tmp_path / "sales_analytics.duckdb"
    assert lay.run_report_of("k") == tmp_path / "runs" / "k.json"
    assert Layout.of_lake(lake) == lay
    assert Layout(Path("/d"), "orders").silver_live == Path("/d/lake/silver/orders")


def test_silver_paths_come_from_the_layout(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    paths = sv.SilverPaths.for_run(lake, tmp_path / "in.csv", "2026-01-15", "k")
    assert paths.staging_dir == lake / "_staging" / "k"
    assert paths.silver_version_dir == lake / "silver" / "_versions" / "sales" / "k"
    assert paths.silver_live == lake / "silver" / "sales"
    assert paths.quarantine_dir == lake / "quarantine" / "sales" / "ingest_date=2026-01-15"
    assert paths.quarantine_tmp == lake / "_staging" / "k" / "quarantine.parquet"
    assert paths.repairs_tmp == lake / "_staging" / "k" / "repairs.parquet"
