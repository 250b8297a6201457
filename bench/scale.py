"""`make bench-scale`: bronze, silver, quality gate and gold at 1, 10 and 100 million rows, memory-capped.

Each stage is a child process measured for wall time, CPU time and peak RSS (bench/common.py),
so the growth curve of every stage is visible. DuckDB runs under SALES_DUCKDB_MEMORY_LIMIT
(default 768MB, config.DEFAULT_DUCKDB_MEMORY_LIMIT) for silver and, through a bench-only dbt
profile, for gold too. Inputs above 10 million rows are generated on the fly and every file
of a size is deleted once it is measured; the free disk is checked first and a size that does
not fit is skipped, not half-run. Results go to build/bench/scale_results.json and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # bench/ holds scripts, not a package: imported from its own folder
    BUILD,
    DATA,
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    GIB,
    VENV_PY,
    Measurement,
    bench_env,
    csv_path,
    ensure_csv,
    machine_facts,
    measure,
    read_results,
    variant_cmd,
    write_results,
)

RESULTS = BUILD / "scale_results.json"
SCALE = BUILD / "scale"
SIZES = (1_000_000, 10_000_000, 100_000_000)
REUSE_UP_TO = 10_000_000  # files up to this size are kept in build/bench/data and shared with run.py
CSV_BYTES_PER_ROW = 215  # the generator writes ~210 bytes a row
# landing CSV + bronze copy at the same time, then silver, staging and spill: about 2.6x the CSV
DISK_FACTOR = 2.6


def _say(stage: str, m: Measurement) -> None:
    print(
        f"   {stage:10} wall {m.wall_seconds:8.1f}s  cpu {m.cpu_seconds:8.1f}s  "
        f"peak {m.max_rss_bytes / 2**20:7.0f} MiB  load {m.load_before[0]:.2f}->{m.load_after[0]:.2f}",
        flush=True,
    )


def disk_needed(rows: int) -> int:
    """Bytes of free disk one size needs at its peak."""
    return int(rows * CSV_BYTES_PER_ROW * DISK_FACTOR)


STAGES = ("bronze", "silver", "quality", "gold")


def run_size(rows: int, memory_limit: str, only: tuple[str, ...] = STAGES) -> dict[str, Any]:
    """Generate (or reuse) the input, then bronze, silver, quality and gold (the first of them
    named in `only`), each measured."""
    from include.sales_analyzer.silver import check_conservation

    work = SCALE / str(rows)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = bench_env(SALES_DUCKDB_MEMORY_LIMIT=memory_limit)
    stages: dict[str, Any] = {}
    generated = rows > REUSE_UP_TO or not csv_path(rows).exists()
    try:
        if rows <= REUSE_UP_TO:
            source = ensure_csv(rows)  # shared with bench/run.py, kept
        else:
            source = csv_path(rows, folder=work / "landing")
            source.parent.mkdir(parents=True)
            cmd = [
                str(VENV_PY),
                "-m",
                "include.sales_analyzer.extract.synthetic",
                str(source),
                "--rows",
                str(rows),
            ]
            m = measure(f"scale_generate_{rows}", cmd, env)
            _say("generate", m)
            stages["generate"] = {**m.as_dict(), "note": f"{source.stat().st_size / 1e9:.1f} GB CSV"}
        m = measure(
            f"scale_bronze_{rows}",
            variant_cmd(VENV_PY, "bronze", "--csv", str(source), "--out", str(work / "bronze")),
            env,
        )
        _say("bronze", m)
        bronze = m.result
        stages["bronze"] = {**m.as_dict(), "note": "sha256 + copy + line count (bronze.ingest_local)"}
        if rows > REUSE_UP_TO:
            source.unlink()  # bronze holds the same bytes; frees the disk for silver
        m = measure(
            f"scale_silver_{rows}",
            variant_cmd(
                VENV_PY,
                "pipeline",
                "--csv",
                bronze["path"],
                "--out",
                str(work / "silver"),
                "--crlf-lines",
                str(bronze["crlf_lines"]),  # bronze's scan counted them, as in the DAG
            ),
            env,
        )
        check_conservation(bronze["lines"], m.result["counts"], bronze["path"])
        _say("silver", m)
        silver_bytes = sum(p.stat().st_size for p in Path(m.result["silver_dir"]).rglob("*.parquet"))
        stages["silver"] = {
            **m.as_dict(),
            "silver_bytes": silver_bytes,
            "note": f"{m.result['counts']['silver_rows']:,} rows, {silver_bytes / 2**20:,.0f} MiB Parquet",
        }
        counts = m.result["counts"]
        if "quality" not in only:
            return stages
        m = measure(
            f"scale_quality_{rows}",
            variant_cmd(
                VENV_PY,
                "quality",
                "--silver-glob",
                stages["silver"]["result"]["silver_glob"],
                "--out",
                str(work / "quality"),
                "--record-lines",
                str(counts["record_lines"]),
                "--quarantined",
                str(counts["quarantined_lines"]),
            ),
            env,
        )
        _say("quality", m)
        stages["quality"] = {
            **m.as_dict(),
            "note": f"{m.result['evaluated']} expectations, success {m.result['success']}",
        }
        if "gold" not in only:
            return stages
        gold_dir = work / "gold"
        gold_dir.mkdir()
        m = measure(
            f"scale_gold_{rows}",
            variant_cmd(
                VENV_PY,
                "gold",
                "--silver-glob",
                stages["silver"]["result"]["silver_glob"],
                "--out",
                str(gold_dir),
                "--memory-limit",
                memory_limit,
            ),
            bench_env(SALES_DUCKDB_MEMORY_LIMIT=memory_limit, SALES_DATA_DIR=str(gold_dir)),
        )
        _say("gold", m)
        stages["gold"] = {
            **m.as_dict(),
            "note": f"dbt build; {m.result.get('dbt_summary', '').split('Done.')[-1].strip()}",
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)  # never leave tens of GB behind, even on failure
    stages["input"] = {
        "generated_on_the_fly": generated and rows > REUSE_UP_TO,
        "bronze_bytes": bronze["bytes"],
    }
    return stages


def main(argv: list[str] | None = None) -> int:
    """Run each size that fits on disk; save and render the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    args = parser.parse_args(argv)
    memory_limit = os.environ.get("SALES_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT)
    results = read_results(RESULTS)
    results.update(
        {
            "machine": machine_facts(),
            "memory_limit": memory_limit,
            "command": " ".join(["python bench/scale.py", *(argv if argv is not None else sys.argv[1:])]),
        }
    )
    results.setdefault("sizes", {})
    results["skipped"] = {}
    DATA.mkdir(parents=True, exist_ok=True)
    for rows in args.sizes:
        free = shutil.disk_usage(BUILD).free
        reuse = rows <= REUSE_UP_TO and csv_path(rows).exists()
        need = disk_needed(rows) - (rows * CSV_BYTES_PER_ROW if reuse else 0)
        if free < need:
            why = f"needs ~{need / GIB:.0f} GiB free disk, {free / GIB:.0f} GiB free"
            print(f">> skipping {rows:,} rows: {why}", flush=True)
            results["skipped"][str(rows)] = why
            continue
        print(f">> {rows:,} rows (free disk {free / GIB:.0f} GiB, needs ~{need / GIB:.0f} GiB)", flush=True)
        started = time.perf_counter()
        results["sizes"][str(rows)] = run_size(rows, memory_limit)
        print(f"   {rows:,} rows done in {time.perf_counter() - started:.0f}s", flush=True)
        write_results(RESULTS, results)
    results["machine_after"] = {"load_average": os.getloadavg()}
    write_results(RESULTS, results)

    from report import render

    render()
    print(f">> results in {RESULTS}; docs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
