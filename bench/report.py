"""Render build/bench/*.json into docs/benchmarks.md, between markers, keeping the prose around them."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BUILD, GIB, REPO_ROOT, fmt_bytes  # bench/ holds scripts, not a package

DOC = REPO_ROOT / "docs" / "benchmarks.md"
RUN_RESULTS = BUILD / "results.json"
SCALE_RESULTS = BUILD / "scale_results.json"
LABELS = {
    "duckdb_bare": "bare DuckDB (COPY with casts)",
    "duckdb_floor": "floor: silver's structure, contract removed (lines numbered by staging position)",
    "duckdb_floor_table": "floor: lines numbered by a temp table's rowid, contract removed",
    "duckdb_floor_unnumbered": "floor without line numbers (split, cast, partitioned write)",
    "pipeline": "**pipeline silver stage**",
    "pandas": "pandas (usual way)",
    "polars": "polars (scan_csv, streaming collect, write_parquet)",
    "polars_sink": "polars (scan_csv -> sink_parquet, fully streaming)",
}


def _load(value: Any) -> str:
    return f"{value[0]:.2f}"


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def machine_section(results: dict[str, Any]) -> list[str]:
    """Machine facts, versions and the command lines."""
    m = results.get("machine", {})
    v = m.get("versions", {})
    after = results.get("machine_after", {}).get("load_average")
    lines = [
        "### Machine and versions",
        "",
        f"- date (UTC): {m.get('date')}",
        f"- CPU: {m.get('cpu_model')}, nproc {m.get('nproc')} (shared with other engineers' jobs)",
        f"- RAM: {m.get('ram_gib')} GiB; disk free at start: {m.get('disk_free_gib')} GiB; "
        f"kernel {m.get('kernel')}",
        f"- load average (1/5/15 min) at start: {', '.join(f'{x:.2f}' for x in m.get('load_average', []))}"
        + (f"; at end: {', '.join(f'{x:.2f}' for x in after)}" if after else ""),
        f"- DuckDB memory_limit {m.get('duckdb_memory_limit')} (SALES_DUCKDB_MEMORY_LIMIT), "
        f"threads {m.get('duckdb_threads')}",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in sorted(v.items())),
        f"- command: `{results.get('commands', {}).get('run', 'python bench/run.py')}`"
        + (f" ({results['commands']['note']})" if results.get("commands", {}).get("note") else ""),
        "",
    ]
    return lines


def silver_section(results: dict[str, Any]) -> list[str]:
    """One table per input size: each variant, and its ratio to bare DuckDB."""
    out: list[str] = []
    for size, per in sorted(results.get("silver", {}).items(), key=lambda kv: int(kv[0])):
        bare = per.get("duckdb_bare")
        out += [
            f"### Silver on {int(size):,} rows",
            "",
            "Each variant in its own process; figures of the median run (by wall time) of "
            f"{len(next(iter(per.values()))['runs'])}. Ratios are to bare DuckDB.",
            "",
            "| variant | wall s | CPU s | peak RSS MiB | wall x | CPU x | RSS x "
            "| load 1-min before -> after |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name in LABELS:
            r = per.get(name)
            if not r:
                continue
            ratio = (
                (
                    f"{r['wall_seconds'] / bare['wall_seconds']:.2f}",
                    f"{r['cpu_seconds'] / bare['cpu_seconds']:.2f}",
                    f"{r['max_rss_bytes'] / bare['max_rss_bytes']:.2f}",
                )
                if bare
                else ("", "", "")
            )
            out.append(
                f"| {LABELS[name]} | {r['wall_seconds']:.1f} | {r['cpu_seconds']:.1f} | "
                f"{_mib(r['max_rss_bytes'])} | {' | '.join(ratio)} | "
                f"{_load(r['load_before'])} -> {_load(r['load_after'])} |"
            )
        pipe = per.get("pipeline", {})
        if pipe.get("silver_bytes"):
            out += ["", f"Pipeline silver Parquet: {fmt_bytes(pipe['silver_bytes'])} for {int(size):,} rows."]
        out.append("")
    return out


def _when(r: dict[str, Any]) -> str:
    return f"load {_load(r['load_before'])} -> {_load(r['load_after'])}"


def goals_section(results: dict[str, Any]) -> list[str]:
    """Issue 14's goals against the figures of this run, met or not, each with the machine's load."""
    silver = results.get("silver", {})
    size = max((int(s) for s in silver), default=0)
    big = silver.get(str(size), {})
    rows: list[tuple[str, str, str, bool | None]] = []

    def add(goal: str, target: str, measured: str, met: bool | None) -> None:
        rows.append((goal, target, measured, met))

    pipe, bare, pandas = big.get("pipeline"), big.get("duckdb_bare"), big.get("pandas")
    if pipe and bare:
        x = pipe["wall_seconds"] / bare["wall_seconds"]
        add(
            f"silver vs bare DuckDB, {size:,} rows, wall",
            "<= 1.5x (stretch 1.25x)",
            f"{x:.2f}x ({pipe['wall_seconds']:.1f} s vs {bare['wall_seconds']:.1f} s; {_when(pipe)})",
            x <= 1.5,
        )
    if pipe and pandas:
        x = pandas["wall_seconds"] / pipe["wall_seconds"]
        add(
            f"silver vs pandas, {size:,} rows, wall",
            ">= 2x faster",
            f"{x:.2f}x ({pandas['wall_seconds']:.1f} s vs {pipe['wall_seconds']:.1f} s; {_when(pandas)})",
            x >= 2,
        )
    if pipe:
        add(
            f"silver peak RSS, {size:,} rows",
            "< 1 GiB",
            f"{fmt_bytes(pipe['max_rss_bytes'])} ({_when(pipe)})",
            pipe["max_rss_bytes"] < GIB,
        )
    huge = results.get("silver_100m")
    if huge:
        goal = f"{huge['rows']:,} rows at the default memory limit ({huge['memory_limit']})"
        if huge.get("skipped"):
            add(goal, "completes, peak < 1.5 GiB", f"not measured: {huge['skipped']}", None)
        elif not huge.get("completed"):
            error = huge.get("error", "").strip().splitlines()
            add(goal, "completes, peak < 1.5 GiB", f"failed: {error[-1][:120] if error else '?'}", False)
        else:
            peak = huge["max_rss_bytes"]
            add(
                goal,
                "completes, peak < 1.5 GiB",
                f"completed in {huge['wall_seconds']:.0f} s, peak {fmt_bytes(peak)} ({_when(huge)})",
                peak < 1.5 * GIB,
            )
    gate = results.get("quality", {}).get(str(size))
    if pipe and gate:
        x = gate["wall_seconds"] / pipe["wall_seconds"]
        add(
            f"quality gate added to silver, {size:,} rows",
            "<= 20%",
            f"{x:.0%} ({gate['wall_seconds']:.1f} s on {pipe['wall_seconds']:.1f} s; {_when(gate)})",
            x <= 0.20,
        )
    small = results.get("dags_test", {}).get("9800")
    if small:
        s = small["wall_seconds"]
        add(
            "`airflow dags test`, 9,800 rows",
            "< 45 s",
            f"{s:.1f} s (CPU {small['cpu_seconds']:.1f} s; {_when(small)}){_of_runs(small)}",
            s < 45,
        )
    run = results.get("make_run", {}).get("9800")
    if run:
        s = run["wall_seconds"]
        add(
            "`make run`, 9,800 rows, after set-up",
            "< 60 s",
            f"{s:.1f} s (CPU {run['cpu_seconds']:.1f} s; {_when(run)}){_of_runs(run)}",
            s < 60,
        )
    out = [
        "### Goals (issue 14)",
        "",
        "Wall times on a 2-core machine shared with other jobs: the load average (1 min) before and "
        "after each figure is given; CPU time is the steadier figure when the load is above 2.",
        "",
        "| goal | target | measured | met |",
        "|---|---|---|---|",
    ]
    for goal, target, measured, met in rows:
        verdict = "not measured" if met is None else ("yes" if met else "**no**")
        out.append(f"| {goal} | {target} | {measured} | {verdict} |")
    return [*out, "", *_floor_lines(big, size)]


def _floor_lines(big: dict[str, Any], size: int) -> list[str]:
    """What silver's structure costs before its contract does any work, against the silver goals."""
    bare, pandas = big.get("duckdb_bare"), big.get("pandas")
    numbered = [big[k] for k in ("duckdb_floor", "duckdb_floor_table") if big.get(k)]
    if not (bare and numbered):
        return []
    floor = min(numbered, key=lambda r: r["wall_seconds"])
    each = ", ".join(
        f"`{k}` {big[k]['wall_seconds']:.1f} s" for k in ("duckdb_floor", "duckdb_floor_table") if big.get(k)
    )
    text = (
        f"**The floor at {size:,} rows**, bench/variants.py's `duckdb_floor*` variants: the lines numbered "
        f"(by their position in an ordered staging file, as silver does, or by a temp table's rowid), "
        f"split on commas and cast, then the partitioned write; no contract ({each}). The cheaper is "
        f"**{floor['wall_seconds'] / bare['wall_seconds']:.2f}x bare DuckDB**"
    )
    if pandas:
        text += f" and {pandas['wall_seconds'] / floor['wall_seconds']:.2f}x faster than pandas"
    text += "."
    loose = big.get("duckdb_floor_unnumbered")
    if loose:
        text += (
            f" Without line numbers (`duckdb_floor_unnumbered`): {loose['wall_seconds']:.1f} s, "
            f"{loose['wall_seconds'] / bare['wall_seconds']:.2f}x bare."
        )
    return [text, ""]


def profile_section(results: dict[str, Any]) -> list[str]:
    """Where the pipeline's silver time goes, statement by statement."""
    out: list[str] = []
    for size, r in results.get("profile", {}).items():
        out += [
            f"### Pipeline silver, statement by statement ({int(size):,} rows, one run)",
            "",
            f"Same SQL run one statement at a time: {r['work_seconds']:.1f} s in all "
            f"(load {_load(r['load_before'])} -> {_load(r['load_after'])}).",
            "",
            "| statement | seconds |",
            "|---|---:|",
        ]
        out += [
            f"| {label} | {seconds:.2f} |" for label, seconds in r["result"]["statements"] if seconds >= 0.05
        ]
        out.append("")
    return out


def explain_section(results: dict[str, Any]) -> list[str]:
    """bench/explain_silver.py: the silver SQL with one kind of work removed at a time."""
    ex = results.get("explain")
    if not ex:
        return []
    table = ex["ablations"]
    base = table.get("as rendered")
    out = [
        f"### What the silver SQL spends its time on ({ex['rows']:,} rows, bench/explain_silver.py)",
        "",
        "The rendered script with one ingredient removed (the output is then no longer the contract's "
        "silver); one run each, SQL time only.",
        "",
        "| variant | SQL s | CPU s (process) | peak RSS MiB | vs as rendered | load 1-min before -> after |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, r in table.items():
        rel = f"{r['work_seconds'] / base['work_seconds']:.2f}" if base else ""
        out.append(
            f"| {label} | {r['work_seconds']:.1f} | {r['cpu_seconds']:.1f} | {_mib(r['max_rss_bytes'])} | "
            f"{rel} | {_load(r['load_before'])} -> {_load(r['load_after'])} |"
        )
    return [*out, ""]


def stages_section(results: dict[str, Any]) -> list[str]:
    """Quality gate alone, gold alone, DAG parse."""
    out = [
        "### Quality gate, gold and DAG parse",
        "",
        "| workload | rows | wall s | CPU s | peak RSS MiB | load 1-min before -> after | note |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for size, r in sorted(results.get("quality", {}).items(), key=lambda kv: int(kv[0])):
        note = f"{r['result']['evaluated']} expectations, success {r['result']['success']}"
        out.append(
            f"| quality gate (quality.validate_counts) | {int(size):,} | {r['wall_seconds']:.1f} | "
            f"{r['cpu_seconds']:.1f} | {_mib(r['max_rss_bytes'])} | {_load(r['load_before'])} -> "
            f"{_load(r['load_after'])} | {note} |"
        )
    for size, r in sorted(results.get("gold", {}).items(), key=lambda kv: int(kv[0])):
        summary = r["result"].get("dbt_summary", "")
        summary = summary.split("Done.")[-1].strip() if "Done." in summary else summary
        out.append(
            f"| gold (`dbt build`, run_dbt) | {int(size):,} | {r['wall_seconds']:.1f} | "
            f"{r['cpu_seconds']:.1f} | "
            f"{_mib(r['max_rss_bytes'])} | {_load(r['load_before'])} -> {_load(r['load_after'])} | "
            f"dbt work {r['work_seconds']:.1f} s; {summary} |"
        )
    p = results.get("parse")
    if p:
        runs = p["runs"]
        out.append(
            f"| DAG parse: DagBag(dag_folder='dags') | - | {p['median_dagbag_seconds']:.2f} (median; "
            f"{p['min_dagbag_seconds']:.2f}-{p['max_dagbag_seconds']:.2f}) | "
            f"{sorted(r['cpu_seconds'] for r in runs)[len(runs) // 2]:.1f} (process) | "
            f"{_mib(max(r['max_rss_bytes'] for r in runs))} | {_load(runs[0]['load_before'])} -> "
            f"{_load(runs[-1]['load_after'])} | {p['tasks']} tasks; process wall "
            f"{p['median_process_wall_seconds']:.1f} s of which importing Airflow "
            f"{p['median_import_airflow_seconds']:.1f} s |"
        )
        cold = p.get("no_bytecode_cache")
        if cold:
            out.append(
                "| DAG parse, no bytecode at all (empty PYTHONPYCACHEPREFIX, "
                "PYTHONDONTWRITEBYTECODE=1) | - | "
                f"{cold['work_seconds']:.2f} | {cold['cpu_seconds']:.1f} (process) | "
                f"{_mib(cold['max_rss_bytes'])} | "
                f"{_load(cold['load_before'])} -> {_load(cold['load_after'])} | "
                "every module compiled from source: a virtualenv installed without `--compile-bytecode` |"
            )
        now = p.get("no_bytecode_cache_now")
        if now:
            out.append(
                "| DAG parse, PYTHONDONTWRITEBYTECODE=1 once .venv had .pyc files | - | "
                f"{now['work_seconds']:.2f} | "
                f"{now['cpu_seconds']:.1f} (process) | {_mib(now['max_rss_bytes'])} | "
                f"{_load(now['load_before'])} -> {_load(now['load_after'])} | another process compiled .venv "
                "meanwhile, so the flag no longer costs anything |"
            )
    return [*out, ""]


def _of_runs(r: dict[str, Any]) -> str:
    """ ", median of 3 runs: 37.8, 43.3, 45.0 s" for a figure measured more than once."""
    runs = r.get("runs") or []
    if len(runs) < 2:
        return ""
    return f", median of {len(runs)} runs: " + ", ".join(f"{x['wall_seconds']:.1f}" for x in runs) + " s"


def dags_test_section(results: dict[str, Any]) -> list[str]:
    """`airflow dags test` end to end, by stage and by task."""
    runs = results.get("dags_test", {})
    if not runs:
        return []
    out = [
        "### `airflow dags test sales_medallion` end to end",
        "",
        "Private AIRFLOW_HOME (SQLite, `airflow db migrate`), env from `cli.airflow_env(data_dir)`. "
        "Stage seconds from the run report's `timings_seconds`; task seconds from the metadata DB "
        "(`task_instance.duration`), which also covers the Cosmos dbt tasks and the catalog step.",
        "",
    ]
    for size, r in sorted(runs.items(), key=lambda kv: int(kv[0])):
        tasks = r["task_seconds"]
        dbt = sum(v for k, v in tasks.items() if k.startswith("build_gold"))
        other = {k: v for k, v in tasks.items() if not k.startswith("build_gold")}
        out += [
            f"**{int(size):,} rows**: wall {r['wall_seconds']:.1f} s, CPU {r['cpu_seconds']:.1f} s, peak RSS "
            f"{_mib(r['max_rss_bytes'])} MiB, load {_load(r['load_before'])} -> {_load(r['load_after'])}"
            f"{_of_runs(r)}; quality success {r['quality_success']}; `{r['command']}`",
            "",
            "| stage (run report) | seconds |",
            "|---|---:|",
            *(f"| {k} | {v:.2f} |" for k, v in r["timings_seconds"].items()),
            "",
            "| task (metadata DB) | seconds |",
            "|---|---:|",
            *(f"| {k} | {v:.2f} |" for k, v in other.items()),
            f"| build_gold.* ({sum(1 for k in tasks if k.startswith('build_gold'))} Cosmos tasks) "
            f"| {dbt:.2f} |",
            f"| sum of task durations | {sum(tasks.values()):.2f} |",
            *(
                f"| {LOG_LABELS[k]} | {v:.2f} |"
                for k, v in r.get("log_seconds", {}).items()
                if k in LOG_LABELS
            ),
            "",
        ]
    for size, r in sorted(results.get("make_run", {}).items(), key=lambda kv: int(kv[0])):
        out += [
            f"**`make run`, {int(size):,} rows** (after `make setup`): wall {r['wall_seconds']:.1f} s, "
            f"CPU {r['cpu_seconds']:.1f} s, peak RSS {_mib(r['max_rss_bytes'])} MiB, "
            f"{_when(r)}{_of_runs(r)}; "
            f"quality success {r['quality_success']}; `{r['command']}`",
            "",
        ]
    return out


LOG_LABELS = {
    "before_first_task": "(log) process start to the first task: imports, DAG parse, DB",
    "api_startup": "(log) first task waiting for the in-process execution API (built once per run)",
}


def scale_section(results: dict[str, Any]) -> list[str]:
    """Wall time and peak memory per stage and size from bench/scale.py."""
    if not results.get("sizes"):
        return ["_bench/scale.py has not been run on this machine yet._", ""]
    m = results.get("machine", {})
    out = [
        f"Run {m.get('date')} on {m.get('nproc')} x {m.get('cpu_model')}, {m.get('ram_gib')} GiB; "
        f"DuckDB memory_limit {results.get('memory_limit')} for silver and for dbt; "
        f"command `{results.get('command')}`.",
        "",
        "| rows | stage | wall s | CPU s | peak RSS MiB | load 1-min before -> after | note |",
        "|---:|---|---:|---:|---:|---|---|",
    ]
    for size, stages in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        for stage, r in stages.items():
            if not isinstance(r, dict) or "wall_seconds" not in r:
                continue
            out.append(
                f"| {int(size):,} | {stage} | {r['wall_seconds']:.1f} | {r['cpu_seconds']:.1f} | "
                f"{_mib(r['max_rss_bytes'])} | {_load(r['load_before'])} -> {_load(r['load_after'])} | "
                f"{r.get('note', '')} |"
            )
    skipped = results.get("skipped", {})
    for size, why in skipped.items():
        out.append(f"| {int(size):,} | (not run) | | | | | {why} |")
    return [*out, ""]


def _replace(doc: str, name: str, body: list[str]) -> str:
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = start + "\n" + "\n".join(body).rstrip() + "\n" + end
    if start in doc and end in doc:
        return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, doc, flags=re.S)
    return doc.rstrip() + "\n\n" + block + "\n"


def render() -> str:
    """Update docs/benchmarks.md from the saved results; return the goals table."""
    run = json.loads(RUN_RESULTS.read_text()) if RUN_RESULTS.exists() else {}
    scale = json.loads(SCALE_RESULTS.read_text()) if SCALE_RESULTS.exists() else {}
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if run:
        body = [
            *machine_section(run),
            *goals_section(run),
            *silver_section(run),
            *profile_section(run),
            *explain_section(run),
            *stages_section(run),
            *dags_test_section(run),
        ]
        doc = _replace(doc, "run", body)
    if scale:
        doc = _replace(doc, "scale", scale_section(scale))
    DOC.write_text(doc)
    return "\n".join(goals_section(run)) if run else ""


if __name__ == "__main__":
    print(render())
