"""Why the silver SQL costs what it costs: the rendered script with one ingredient taken out at a time.

Diagnostic for whoever tunes include/sales_analyzer/sql/silver/bronze_to_silver.sql: each
variant removes one kind of work from the rendered script (so its output is no longer the
contract's silver) and is run in a fresh process; the saving is what that work costs.
`python bench/explain_silver.py [--rows N]`; results go to build/bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BUILD, VENV_PY, bench_env, ensure_csv, measure, read_results, write_results

RESULTS = BUILD / "results.json"
WORK = BUILD / "work" / "explain"
WS_REGEX = re.compile(r"regexp_replace\((case.*?end), '\[\\s\\x\{00A0\}\]\+', ' ', 'g'\)", re.S)
SHAPE_REGEX = re.compile(r"regexp_(?:matches|full_match)\(v_\w+, '[^']*'\)")
ABLATIONS = {
    "as rendered": [],
    "no whitespace regexp_replace on string fields": ["ws"],
    "no regex shape/pattern checks": ["shape"],
    "memory_limit 8GB instead of the default": ["memory"],
    "both SQL cuts together": ["ws", "shape"],
}


def ablate(sql: str, cuts: list[str]) -> str:
    """The rendered script with the named kinds of work removed."""
    if "ws" in cuts:
        sql = WS_REGEX.sub(r"\1", sql)
    if "shape" in cuts:
        sql = SHAPE_REGEX.sub("true", sql)
    return sql


def child(csv: Path, cuts: list[str], out: Path) -> dict[str, Any]:
    """Render as the pipeline does, apply the cuts, run the script; the timed part is the SQL."""
    import shutil

    import duckdb

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from variants import duckdb_config

    from include.sales_analyzer import silver as sv

    if out.exists():
        shutil.rmtree(out)
    paths = sv.SilverPaths.for_run(out / "lake", csv, "2026-01-01", "explain")
    sv.prepare_dirs(paths)
    sql = ablate(sv.render_silver_sql(sv.inspect_header(csv), paths, "2026-01-01", csv.name), cuts)
    config = duckdb_config(paths.staging_dir / "spill")
    if "memory" in cuts:
        config["memory_limit"] = "8GB"
    con = duckdb.connect(config=config)
    started = time.perf_counter()
    con.execute(sql)
    seconds = time.perf_counter() - started
    rows = con.execute(
        f"select count(*) from read_parquet('{paths.silver_version_dir}/**/*.parquet')"
    ).fetchone()[0]
    con.close()
    shutil.rmtree(out, ignore_errors=True)
    return {"work_seconds": seconds, "rows_out": rows}


def main(argv: list[str] | None = None) -> int:
    """Run every ablation once on the same file and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    csv = ensure_csv(args.rows)
    if args.child is not None:
        result = child(csv, args.child, WORK / "_".join(args.child or ["base"]))
        print("BENCH_RESULT " + json.dumps(result), flush=True)
        return 0
    results = read_results(RESULTS)
    table = {}
    for label, cuts in ABLATIONS.items():
        cmd = [str(VENV_PY), __file__, "--rows", str(args.rows), "--child", *cuts]
        m = measure("explain_" + ("_".join(cuts) or "base"), cmd, bench_env())
        table[label] = m.as_dict()
        print(
            f"   {label:48} sql {m.work_seconds:6.1f}s  cpu {m.cpu_seconds:6.1f}s  "
            f"peak {m.max_rss_bytes / 2**20:6.0f} MiB  load {m.load_before[0]:.2f}->{m.load_after[0]:.2f}",
            flush=True,
        )
    results["explain"] = {"rows": args.rows, "ablations": table}
    write_results(RESULTS, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
