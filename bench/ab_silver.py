"""CPU of the silver SQL, a base git ref against this tree: the one pass alone, or the whole stage.

`python bench/ab_silver.py --csv build/bench/data/sales_1000000r_seed42.csv --rounds 3`
runs base, new, base, new, ... each in a fresh interpreter (the base ref's include/ unpacked by
`git archive`, as bench/compare_silver.py does) and prints, per run, the CPU seconds (user +
sys) of the timed SQL (`getrusage` around it, imports and rendering excluded) and of the whole
process (`os.wait4`), the wall time and the peak RSS; then the medians. `--scope pass` runs the
rendered script up to and including the staging COPY (the one pass over the file); `--scope
stage` runs all of it and summarize(), with DuckDB configured as in the DAG (bench/variants.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_silver import REPO, base_tree

INGEST_DATE = "2026-01-01"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(scope: str, csv: Path, out: Path) -> None:
    import duckdb
    from variants import duckdb_config

    from include.sales_analyzer import silver as sv

    if out.exists():
        shutil.rmtree(out)
    paths = sv.SilverPaths.for_run(out / "lake", csv, INGEST_DATE, "ab")
    sv.prepare_dirs(paths)
    sql = sv.render_silver_sql(sv.inspect_header(csv), paths, INGEST_DATE, csv.name)
    statements = [s for s in sql.split(";\n") if s.strip()]
    if scope == "pass":
        body = [" ".join(ln for ln in s.splitlines() if not ln.strip().startswith("--")) for s in statements]
        first_copy = next(i for i, s in enumerate(body) if s.strip().startswith("copy"))
        statements = statements[: first_copy + 1]
    con = duckdb.connect(config=duckdb_config(paths.staging_dir / "spill"))
    cpu, wall = _cpu(), time.perf_counter()
    for s in statements:
        con.execute(s)
    if scope == "stage":
        sv.summarize(paths, con)
    result = {"sql_cpu": _cpu() - cpu, "sql_wall": time.perf_counter() - wall}
    con.close()
    print("AB_RESULT " + json.dumps(result), flush=True)
    os._exit(0)


def run(tree: Path, scope: str, csv: Path, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), str(REPO / "bench")]))
    cmd = [sys.executable, __file__, "--child", scope, str(csv), str(out)]
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    if status != 0:
        raise RuntimeError(stderr[-3000:])
    line = next(ln for ln in stdout.splitlines() if ln.startswith("AB_RESULT "))
    return json.loads(line[len("AB_RESULT ") :]) | {
        "process_cpu": usage.ru_utime + usage.ru_stime,
        "wall": wall,
        "peak_mib": usage.ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(argv[1], Path(argv[2]), Path(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main")
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--scope", choices=["pass", "stage"], default="pass")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="ab_silver_"))
    work.mkdir(parents=True, exist_ok=True)
    trees = {"base": base_tree(args.base, work), "new": REPO}
    results: dict[str, list[dict]] = {k: [] for k in trees}
    for r in range(args.rounds):
        for name, tree in trees.items():
            res = run(tree, args.scope, args.csv.resolve(), work / name)
            results[name].append(res)
            load = os.getloadavg()[0]
            print(
                f"round {r + 1} {name:4s}: sql CPU {res['sql_cpu']:6.2f} s, "
                f"process CPU {res['process_cpu']:6.2f} s, "
                f"wall {res['wall']:6.1f} s, peak {res['peak_mib']:.0f} MiB, load {load:.1f}",
                flush=True,
            )
        shutil.rmtree(work / "base", ignore_errors=True)
        shutil.rmtree(work / "new", ignore_errors=True)
    for name, runs in results.items():
        med = {k: statistics.median(x[k] for x in runs) for k in runs[0]}
        print(
            f"median {name:4s} ({args.scope}, {args.rounds} runs): sql CPU {med['sql_cpu']:.2f} s, "
            f"process CPU {med['process_cpu']:.2f} s, wall {med['wall']:.1f} s, "
            f"peak {med['peak_mib']:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
