"""Silver's memory statement by statement: where the peak is, and whether it grows with the rows.

    python bench/silver_memory.py --csv build/bench/data/sales_10000000r_seed42.csv
        the whole silver stage on that file, one statement of bronze_to_silver.sql at a time
    python bench/silver_memory.py --csv build/bench/data/sales_1000000r_seed42.csv --copies 100
        the stage on the 1M file, then every statement after the one pass again on a staging
        file made of 100 copies of its staging (Row IDs shifted per copy; the last copy's
        first 10,000 lines repeat the previous copy's Row IDs, so duplicates are found and
        quarantined): the duplicate aggregate, partitioned write, quarantine and repairs
        tables, summary and date-order vote at 100M rows, in ~3.5 GB of disk instead of the
        ~55 GB a 100M-row CSV run needs. The one pass itself is a scan-project-COPY; run it at
        1M and 10M rows with the first form to see its memory stay flat.
    python bench/silver_memory.py --csv build/bench/data/sales_1000000r_seed42.csv --copies 30 --reuse
        the later statements again, in a fresh process, on the replicated staging a previous
        --copies 30 run kept (build/bench/work/silver_memory/replicas/): the same input before
        and after a change to the silver SQL, with nothing built in the process beforehand.

DuckDB is configured as the pipeline configures it (bench/variants.duckdb_config: the default
memory limit unless SALES_DUCKDB_MEMORY_LIMIT is set). RSS is sampled every 0.2 s by a thread
(peak per statement); the process's own maximum RSS (getrusage) is printed at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import variants  # bench/ holds scripts, not a package: imported from its own folder

ONE_PASS = "copy -> lines.parquet"
OUT = Path(__file__).resolve().parents[1] / "build" / "bench" / "work" / "silver_memory"  # gitignored


class RssSampler:
    """The process's resident set size, sampled every 0.2 s; `take()` returns the peak and restarts."""

    def __init__(self) -> None:
        self.peak = 0
        threading.Thread(target=self._run, daemon=True).start()

    @staticmethod
    def now() -> int:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmRSS"))

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.now())
            time.sleep(0.2)

    def take(self) -> int:
        peak, self.peak = max(self.peak, self.now()), self.now()
        return peak


def run_statements(con: object, statements: list[str], rss: RssSampler) -> None:
    """Execute each statement; print wall, CPU and peak RSS of those that do work."""
    for statement in statements:
        rss.take()
        began, cpu = time.perf_counter(), time.process_time()
        con.execute(statement)  # type: ignore[attr-defined]
        label = variants._statement_label(statement)
        if "temp view" not in label and not label.startswith(("set ", "reset ")):
            print(
                f"  {label[:48]:48} wall {time.perf_counter() - began:7.1f}s "
                f"cpu {time.process_time() - cpu:7.1f}s  peak {rss.take():5} MiB",
                flush=True,
            )


def replicate_staging(con: object, source: Path, target: Path, copies: int) -> None:
    """`copies` copies of a staging file in one, Row IDs shifted by copy, some repeated.

    Written without insertion order (faster): row order only numbers the lines, and no
    statement after the one pass needs the numbers to be physical here.
    """
    from include.sales_analyzer.silver import read_path

    per_copy = 10 ** len(str(copies * 10_000_000))  # a Row ID offset beyond any row id of the source
    con.execute("set preserve_insertion_order = false")  # type: ignore[attr-defined]
    con.execute(  # type: ignore[attr-defined]
        f"copy (select * exclude (file_row_number, k) replace ("
        f" row_id + {per_copy} * (case when k = {copies - 1} and file_row_number between 1 and 10000"
        f" then k - 1 else k end) as row_id)"
        f" from read_parquet({read_path(source)}, file_row_number = true), range({copies}) as t(k)"
        f" where k = 0 or file_row_number > 0)"
        f" to '{target}' (format parquet, compression lz4_raw)"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure silver on --csv, and with --copies the later statements on a replicated staging."""
    import duckdb

    from include.sales_analyzer import silver as sv

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--reuse", action="store_true", help="reuse the kept replica of --copies")
    args = parser.parse_args(argv)
    rss = RssSampler()
    replica = args.out / "replicas" / f"staging_{args.copies}_copies.parquet"
    if args.reuse and not (args.copies and replica.exists()):
        parser.error(f"--reuse needs a replica from an earlier --copies run: {replica} is missing")
    lake = variants._fresh(args.out / "lake")
    paths = sv.SilverPaths.for_run(lake, args.csv, variants.INGEST_DATE, variants.RUN_KEY)
    sv.prepare_dirs(paths)
    lines = sv.count_lines(args.csv)

    def statements_for(lines: int) -> list[str]:
        header = sv.inspect_header(args.csv)
        sql = sv.render_silver_sql(header, paths, variants.INGEST_DATE, args.csv.name, lines=lines)
        return [s for s in sql.split(";\n") if s.strip()]

    statements = statements_for(lines)
    config = variants.duckdb_config(paths.staging_dir / "spill")
    print(f"silver on {args.csv.name}, memory_limit {config['memory_limit']}, load {os.getloadavg()[0]:.2f}")
    if not args.reuse:
        con = duckdb.connect(config=config)
        began = time.perf_counter()
        run_statements(con, statements, rss)
        counts = sv.summarize(paths, con)
        law = sv.check_conservation(lines, counts, args.csv.name)
        con.close()
        print(f"  conservation {law}; wall {time.perf_counter() - began:.1f}s, load {os.getloadavg()[0]:.2f}")
    if args.copies:
        if not args.reuse:
            source = paths.staging_file.with_name("one_copy.parquet")
            os.replace(paths.staging_file, source)
            con = duckdb.connect(config=config)
            variants._fresh(replica.parent)
            replicate_staging(con, source, replica, args.copies)
            con.close()
            source.unlink()
            shutil.rmtree(paths.silver_version_dir)
            for done in (paths.quarantine_tmp, paths.repairs_tmp, paths.lines_file):
                done.unlink(missing_ok=True)
        os.link(replica, paths.staging_file)  # the run's staging, kept for the next --reuse
        con = duckdb.connect(config=config)
        rows = con.execute(f"select count(*) from read_parquet('{paths.staging_file}')").fetchone()[0]
        con.close()
        load = os.getloadavg()[0]
        print(f"after the one pass, on {rows:,} staging rows ({args.copies} copies), load {load:.2f}")
        con = duckdb.connect(config=config)
        rss.take()
        began = time.perf_counter()
        statements = statements_for(rows)  # the duplicate search sized for the copies
        cut = next(i for i, s in enumerate(statements) if variants._statement_label(s) == ONE_PASS)
        run_statements(con, statements[:cut] + statements[cut + 1 :], rss)
        results = {}
        for name, step in (("summarize", sv.summarize), ("decide_date_order", sv.decide_date_order)):
            rss.take()
            cpu = time.process_time()
            results[name] = step(paths, con)
            print(f"  {name:48} cpu {time.process_time() - cpu:7.1f}s  peak {rss.take():5} MiB")
        keys = ("lines_read", "silver_rows", "silver_partitions", "quarantined_lines", "quarantine_by_reason")
        print(f"  { ({k: results['summarize'][k] for k in keys}) }")
        con.close()
        print(f"  wall {time.perf_counter() - began:.1f}s, load {os.getloadavg()[0]:.2f}")
    print(f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
