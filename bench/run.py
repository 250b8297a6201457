"""`make bench`: the silver stage against bare DuckDB, pandas and polars, plus gate, gold, parse and DAG runs.

Every workload runs in a child process of its own (bench/variants.py, or the airflow CLI) and
is measured by wall clock, CPU time and peak RSS from wait4. Results are merged into
build/bench/results.json (so a section can be re-run alone with --only) and rendered into
docs/benchmarks.md by bench/report.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # bench/ holds scripts, not a package: imported from its own folder
    BUILD,
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    REPO_ROOT,
    VENV_PY,
    Measurement,
    bench_env,
    ensure_bench_venv,
    ensure_csv,
    machine_facts,
    measure,
    read_results,
    variant_cmd,
    write_results,
)

RESULTS = BUILD / "results.json"
WORK = BUILD / "work"
AIRFLOW_HOME = BUILD / "airflow_home"
SIZES = (1_000_000, 10_000_000)
# GENERATED_LINE_ENDS: the bench's inputs come from the seeded generator, which ends every line in
# LF (tests/unit/test_synthetic.py); the pipeline variant is told so, as the DAG's silver is told by
# bronze's scan, instead of reading the whole file for a CR inside its measured process.
SILVER_VARIANTS = (
    "duckdb_bare",
    "duckdb_floor",
    "duckdb_floor_table",
    "duckdb_floor_unnumbered",
    "pipeline",
    "pandas",
    "polars",
    "polars_sink",
)
SECTIONS = ("silver", "profile", "quality", "gold", "parse", "dags_test", "make_run", "silver_100m")
DAG_ID = "sales_medallion"


def _python_for(variant: str) -> Path:
    return ensure_bench_venv() if variant.startswith("polars") else VENV_PY


def _say(m: Measurement) -> None:
    print(
        f"   {m.label:28} wall {m.wall_seconds:7.1f}s  work {m.work_seconds:7.1f}s  "
        f"cpu {m.cpu_seconds:7.1f}s  peak {m.max_rss_bytes / 2**20:7.0f} MiB  "
        f"load {m.load_before[0]:.2f}->{m.load_after[0]:.2f}",
        flush=True,
    )


def _median(runs: list[Measurement]) -> Measurement:
    """The run with the median wall time (the lower middle for an even count)."""
    ordered = sorted(runs, key=lambda m: m.wall_seconds)
    return ordered[(len(ordered) - 1) // 2]


def bench_silver(results: dict[str, Any], sizes: tuple[int, ...], repeat: dict[int, int]) -> None:
    """Each silver variant on each size; keep the median run and every run's figures."""
    from include.sales_analyzer.silver import check_conservation, count_lines

    silver = results.setdefault("silver", {})
    for rows in sizes:
        csv = ensure_csv(rows)
        lines = count_lines(csv)
        print(f">> silver on {rows:,} rows ({csv.stat().st_size / 1e6:,.0f} MB)", flush=True)
        per_size = silver.setdefault(str(rows), {})
        for variant in SILVER_VARIANTS:
            runs = []
            for i in range(repeat.get(rows, 1)):
                out = WORK / f"{variant}_{rows}"
                cmd = variant_cmd(_python_for(variant), variant, "--csv", str(csv), "--out", str(out))
                if variant == "pipeline" or variant.startswith("duckdb_floor"):
                    cmd += ["--crlf-lines", "0"]  # GENERATED_LINE_ENDS
                m = measure(f"{variant}_{rows}_{i}", cmd, bench_env())
                if m.result.get("rows_out") != rows:
                    raise RuntimeError(f"{variant} wrote {m.result.get('rows_out')} rows, expected {rows}")
                if variant == "pipeline":
                    check_conservation(lines, m.result["counts"], str(csv))
                _say(m)
                runs.append(m)
            best = _median(runs)
            per_size[variant] = {**best.as_dict(), "runs": [r.as_dict() for r in runs]}
            if variant == "pipeline":
                per_size[variant]["silver_bytes"] = _tree_bytes(Path(best.result["silver_dir"]))
        write_results(RESULTS, results)


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.parquet"))


def bench_profile(results: dict[str, Any], rows: int) -> None:
    """Where the pipeline's silver time goes, statement by statement (diagnostic, one run)."""
    csv = ensure_csv(rows)
    out = WORK / f"pipeline_profile_{rows}"
    m = measure(
        f"pipeline_profile_{rows}",
        variant_cmd(
            VENV_PY, "pipeline", "--csv", str(csv), "--out", str(out), "--profile", "--crlf-lines", "0"
        ),
        bench_env(),
    )
    _say(m)
    for label, seconds in m.result["statements"]:
        print(f"      {seconds:8.2f}s  {label}")
    results.setdefault("profile", {})[str(rows)] = m.as_dict()
    shutil.rmtree(out, ignore_errors=True)
    write_results(RESULTS, results)


def _pipeline_output(results: dict[str, Any], rows: int) -> dict[str, Any]:
    try:
        out = results["silver"][str(rows)]["pipeline"]["result"]
    except KeyError:
        raise SystemExit(
            f"no pipeline silver for {rows:,} rows yet: run the 'silver' section first"
        ) from None
    if not Path(out["silver_dir"]).exists():
        raise SystemExit(f"{out['silver_dir']} is gone: run the 'silver' section again")
    return out


def bench_quality(results: dict[str, Any], sizes: tuple[int, ...]) -> None:
    """The Great Expectations gate alone, on the pipeline's silver output."""
    for rows in sizes:
        out = _pipeline_output(results, rows)
        counts = out["counts"]
        m = measure(
            f"quality_{rows}",
            variant_cmd(
                VENV_PY,
                "quality",
                "--silver-glob",
                out["silver_glob"],
                "--out",
                str(WORK / f"quality_{rows}"),
                "--record-lines",
                str(counts["record_lines"]),
                "--quarantined",
                str(counts["quarantined_lines"]),
            ),
            bench_env(),
        )
        if not m.result.get("success"):
            raise RuntimeError(f"quality gate failed on bench silver: {m.result}")
        _say(m)
        results.setdefault("quality", {})[str(rows)] = m.as_dict()
    write_results(RESULTS, results)


def bench_gold(results: dict[str, Any], sizes: tuple[int, ...]) -> None:
    """dbt build alone over a silver.sales view on the pipeline's silver output."""
    for rows in sizes:
        out = _pipeline_output(results, rows)
        data_dir = WORK / f"gold_{rows}"
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        m = measure(
            f"gold_{rows}",
            variant_cmd(VENV_PY, "gold", "--silver-glob", out["silver_glob"], "--out", str(data_dir)),
            bench_env(SALES_DATA_DIR=str(data_dir)),
        )
        _say(m)
        print(f"      {m.result.get('dbt_summary')}")
        results.setdefault("gold", {})[str(rows)] = m.as_dict()
    write_results(RESULTS, results)


def airflow_env(data_dir: Path, bytecode_cache: bool = True) -> dict[str, str]:
    """The env `make run` uses (cli.airflow_env), with a private AIRFLOW_HOME for the bench."""
    from include.sales_analyzer.cli import airflow_env as cli_env
    from include.sales_analyzer.gold import DUCKDB_CONN_ID

    env = cli_env(data_dir)
    env["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
    env["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env[f"AIRFLOW_CONN_{DUCKDB_CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "duckdb", "host": str(data_dir / "warehouse" / "build.duckdb")}
    )
    # Cosmos keeps dbt's partial parse in <tmp>/cosmos/<dag>__<group> by default, one folder for
    # every run on the machine: other people's concurrent runs (another data dir, so another
    # profile) replace it and each dbt task parses the whole project again. One per data dir,
    # kept across bench runs as a user's is across `make run`s: dbt's partial parse is only
    # valid for the profile (warehouse path) it was made with, so the first run in a new data
    # dir parses the project once (`make manifest` does that ahead for the default data dir).
    env["AIRFLOW__COSMOS__CACHE_DIR"] = str(WORK / f"cosmos_cache_{data_dir.name}")
    return bench_env(bytecode_cache, **env)


def bench_parse(results: dict[str, Any], repeat: int = 5) -> None:
    """Median of `repeat` DagBag loads of dags/, each in a fresh interpreter."""
    env = airflow_env(WORK / "parse_data")
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    measure("dagbag_warmup", variant_cmd(VENV_PY, "dagbag"), env)  # fills the bytecode cache
    runs = []
    for i in range(repeat):
        m = measure(f"dagbag_{i}", variant_cmd(VENV_PY, "dagbag"), env)
        _say(m)
        runs.append(m)
    # With no bytecode at all (bench_env(bytecode_cache=False)): every import compiles from source.
    cold = measure(
        "dagbag_no_bytecode_cache", variant_cmd(VENV_PY, "dagbag"), airflow_env(WORK / "parse_data", False)
    )
    _say(cold)
    seconds = sorted(r.work_seconds for r in runs)
    results["parse"] = {
        "median_dagbag_seconds": statistics.median(seconds),
        "min_dagbag_seconds": seconds[0],
        "max_dagbag_seconds": seconds[-1],
        "median_process_wall_seconds": statistics.median(r.wall_seconds for r in runs),
        "median_import_airflow_seconds": statistics.median(r.result["import_airflow_seconds"] for r in runs),
        "tasks": runs[0].result["tasks"],
        "runs": [r.as_dict() for r in runs],
        "no_bytecode_cache": cold.as_dict(),
    }
    write_results(RESULTS, results)


def _airflow_db_migrate(env: dict[str, str]) -> None:
    if (AIRFLOW_HOME / "airflow.db").exists():
        return
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    print(f">> airflow db migrate ({AIRFLOW_HOME})", flush=True)
    airflow = str(VENV_PY.with_name("airflow"))
    log = BUILD / "logs" / "db_migrate.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        subprocess.run([airflow, "db", "migrate"], env=env, stdout=fh, stderr=subprocess.STDOUT, check=True)


def _task_durations(run_id: str) -> dict[str, float]:
    """Seconds per task instance of one DAG run, from the private metadata DB."""
    with sqlite3.connect(AIRFLOW_HOME / "airflow.db") as db:
        rows = db.execute(
            "select task_id, duration from task_instance where dag_id = ? and run_id = ? order by start_date",
            (DAG_ID, run_id),
        ).fetchall()
    return {task: round(float(d or 0), 3) for task, d in rows}


def _log_breakdown(log: Path, started: datetime | None = None, wall: float | None = None) -> dict[str, float]:
    """Seconds `airflow dags test` spends outside the tasks' own work, read from its log.

    `api_startup`: from "[DAG TEST] running task" of the first task to its "Task started",
    i.e. the in-process execution API (a FastAPI/Cadwyn app) being built on first use.
    `before_first_task`: from the first log line to that first "running task".
    With the process's start (UTC) and wall time: `before_first_line`, the interpreter and
    Airflow's imports before it logs anything, and `after_run_finished`, from "DagRun Finished"
    to the process's exit (the interpreter's final garbage collections, py-spy showed).
    """
    stamps: dict[str, datetime] = {}
    for line in log.read_text(errors="replace").splitlines():
        if not line[:4].isdigit() or "Z " not in line[:32]:
            continue
        try:
            when = datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00"))
        except ValueError:
            continue
        stamps.setdefault("first_line", when)
        if "[DAG TEST] running task" in line:
            stamps.setdefault("first_running", when)
        elif "Task started" in line and "first_running" in stamps:
            stamps.setdefault("first_started", when)
        elif "DagRun Finished" in line:
            stamps["run_finished"] = when
    out: dict[str, float] = {}
    if {"first_line", "first_running"} <= stamps.keys():
        out["before_first_task"] = (stamps["first_running"] - stamps["first_line"]).total_seconds()
    if {"first_running", "first_started"} <= stamps.keys():
        out["api_startup"] = (stamps["first_started"] - stamps["first_running"]).total_seconds()
    if started is not None and "first_line" in stamps:
        out["before_first_line"] = (stamps["first_line"] - started).total_seconds()
    if started is not None and wall is not None and "run_finished" in stamps:
        ended = started + timedelta(seconds=wall)
        out["after_run_finished"] = (ended - stamps["run_finished"]).total_seconds()
    return out


def bench_dags_test(results: dict[str, Any], sizes: tuple[int, ...], repeat: int = 3) -> None:
    """`airflow dags test sales_medallion` end to end, broken down by the run report's timings.

    `repeat` runs of the goal's 9,800 rows (a larger size runs once), each into a fresh data dir;
    the median by wall time is the figure. The first
    run of a fresh checkout's bench also parses the dbt project once into the bench's Cosmos cache
    (`make setup` does that ahead for `make run`'s own data dir), which the median leaves out.
    """
    airflow = str(VENV_PY.with_name("airflow"))
    for rows in sizes:
        data_dir = WORK / f"dags_test_{rows}"
        conf = {"source": "synthetic", "rows": rows}
        cmd = [airflow, "dags", "test", DAG_ID, "--conf", json.dumps(conf)]
        runs = []
        for i in range(repeat if rows <= 10_000 else 1):  # the goal's size; a larger one once
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            env = airflow_env(data_dir)
            _airflow_db_migrate(env)
            started = datetime.now(UTC)
            label = f"dags_test_{rows}_{i}"
            m = measure(label, cmd, env)
            _say(m)
            report = json.loads((data_dir / "run_report.json").read_text())
            tasks = _task_durations(report["run_id"])
            runs.append(
                (
                    m,
                    {
                        "timings_seconds": report["timings_seconds"],
                        "task_seconds": tasks,
                        "rows": report["rows"],
                        "quality_success": report["quality"]["success"],
                        "bronze_bytes": report["bronze"].get("bytes"),
                        "log_seconds": _log_breakdown(
                            BUILD / "logs" / f"{label}.log", started, m.wall_seconds
                        ),
                    },
                )
            )
            print(f"      stages {report['timings_seconds']}")
            print(f"      dbt tasks {sum(v for k, v in tasks.items() if k.startswith('build_gold')):.1f}s")
        best = _median([m for m, _ in runs])
        details = next(d for m, d in runs if m is best)
        results.setdefault("dags_test", {})[str(rows)] = {
            **best.as_dict(),
            **details,
            "command": " ".join([*cmd[:-1], f"'{cmd[-1]}'"]),
            "runs": [m.as_dict() for m, _ in runs],
        }
        write_results(RESULTS, results)


def bench_make_run(results: dict[str, Any], rows: int, repeat: int = 3) -> None:
    """`make run` as a user types it, after `make setup`, into a data dir of the bench's own.

    `repeat` runs into the same data dir, as a user's runs go; the median by wall time is the figure.
    """
    data_dir = WORK / f"make_run_{rows}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = airflow_env(data_dir)
    _airflow_db_migrate(env)
    make = ["make", "-s", "-C", str(REPO_ROOT), f"DATA_DIR={data_dir}", f"AIRFLOW_HOME={AIRFLOW_HOME}"]
    subprocess.run([*make, "setup"], env=env, check=True)  # set-up is not part of the figure
    cmd = [*make, "run", f"ROWS={rows}"]
    runs = []
    for i in range(repeat):
        m = measure(f"make_run_{rows}_{i}", cmd, env)
        _say(m)
        runs.append(m)
    best = _median(runs)
    report = json.loads((data_dir / "run_report.json").read_text())
    results.setdefault("make_run", {})[str(rows)] = {
        **best.as_dict(),
        "command": f"make run ROWS={rows} DATA_DIR={data_dir.relative_to(REPO_ROOT)}",
        "rows": report["rows"],
        "quality_success": report["quality"]["success"],
        "runs": [r.as_dict() for r in runs],
    }
    write_results(RESULTS, results)


def bench_silver_100m(results: dict[str, Any], rows: int = 100_000_000) -> None:
    """Silver on `rows` rows at the pipeline's default DuckDB memory limit: completes, and its peak.

    bench/scale.py does the work (generate on the fly, bronze, silver; the files are deleted
    after); a run that fails (DuckDB out of memory) is a result too, kept with its error.
    """
    import scale

    limit = DEFAULT_DUCKDB_MEMORY_LIMIT
    free = shutil.disk_usage(BUILD).free
    if free < scale.disk_needed(rows):
        why = f"needs ~{scale.disk_needed(rows) / 2**30:.0f} GiB free disk, {free / 2**30:.0f} GiB free"
        print(f">> silver on {rows:,} rows skipped: {why}", flush=True)
        results["silver_100m"] = {"rows": rows, "memory_limit": limit, "skipped": why}
        write_results(RESULTS, results)
        return
    print(f">> silver on {rows:,} rows at memory_limit {limit}", flush=True)
    try:
        stages = scale.run_size(rows, limit, only=("bronze", "silver"))
        entry: dict[str, Any] = {"completed": True, **stages["silver"]}
    except RuntimeError as exc:  # measure() raises when the child fails
        entry = {"completed": False, "error": str(exc)[-1500:]}
    results["silver_100m"] = {"rows": rows, "memory_limit": limit, **entry}
    write_results(RESULTS, results)


def main(argv: list[str] | None = None) -> int:
    """Run the sections asked for (all by default), then render docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES), help="silver/quality/gold rows")
    parser.add_argument("--repeat-small", type=int, default=3, help="runs per variant at 1M rows (median)")
    parser.add_argument("--repeat-large", type=int, default=1, help="runs per variant at 10M rows")
    parser.add_argument("--dags-test-rows", nargs="+", type=int, default=[9800, 1_000_000])
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument(
        "--no-render", action="store_true", help="keep docs/benchmarks.md as it is (a partial run)"
    )
    args = parser.parse_args(argv)

    results = {} if args.fresh else read_results(RESULTS)
    started = time.perf_counter()
    sizes = tuple(args.sizes)
    ensure_bench_venv()
    results["machine"] = machine_facts()
    print(f">> machine: {json.dumps(results['machine'])}", flush=True)
    repeat = {n: (args.repeat_small if n <= 1_000_000 else args.repeat_large) for n in sizes}
    if "silver" in args.only:
        bench_silver(results, sizes, repeat)
    if "profile" in args.only:
        bench_profile(results, min(sizes))
    if "quality" in args.only:
        bench_quality(results, sizes)
    if "gold" in args.only:
        bench_gold(results, sizes)
    if "parse" in args.only:
        bench_parse(results)
    if "dags_test" in args.only:
        bench_dags_test(results, tuple(args.dags_test_rows))
    if "make_run" in args.only:
        bench_make_run(results, 9800)
    if "silver_100m" in args.only:
        bench_silver_100m(results)
    results["commands"] = {"run": " ".join(["python bench/run.py", *(argv or sys.argv[1:])])}
    results["machine_after"] = {"load_average": os.getloadavg()}
    write_results(RESULTS, results)
    print(f">> bench done in {time.perf_counter() - started:.0f}s; results in {RESULTS}")

    from report import goals_section, render

    print(render() if not args.no_render else "\n".join(goals_section(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
