"""`make run`: run the DAG once with `airflow dags test`, one line per task, then the summary.

Airflow's own output (about a thousand lines for one run) goes to a log file under the data
directory; the terminal gets one line per finished task with its state and duration, a
progress count, and the closing summary. A failed task prints its error and where its lines
start in the log file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from configparser import ConfigParser
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

DAG_ID = "sales_medallion"


def airflow_env(data_dir: Path | None = None) -> dict[str, str]:
    """Environment for running the DAG offline from this checkout."""
    from include.sales_analyzer.config import REPO_ROOT, get_settings, pythonpath_with_repo
    from include.sales_analyzer.gold import DUCKDB_CONN_ID
    from include.sales_analyzer.local.layout import Layout

    settings = get_settings()
    data_dir = data_dir or settings.data_dir
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", str(REPO_ROOT / ".airflow"))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    # Cosmos keeps dbt's partial parse in one folder of /tmp for every run on the machine by
    # default. dbt's partial parse is only valid for the profile it was made with, whose warehouse
    # path is under the data dir: a run with another data dir (a test, the bench, a second
    # checkout) replaced it, and the next run's first dbt task parsed the whole project again
    # (docs/benchmarks.md, "A small run, measured and cut"). One cache per data dir keeps it.
    env.setdefault("AIRFLOW__COSMOS__CACHE_DIR", str(Layout.at(data_dir).warehouse_dir / "cosmos"))
    env["SALES_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = pythonpath_with_repo(env)
    conn = f"AIRFLOW_CONN_{DUCKDB_CONN_ID.upper()}"
    env.setdefault(
        conn,
        json.dumps({"conn_type": "duckdb", "host": str(Layout.at(data_dir).warehouse_path)}),
    )
    return env


def dag_conf(source: str | None, rows: int, seed: int, damaged: bool = False) -> dict:
    """DAG run conf for a source path (empty: the synthetic generator)."""
    if source:
        return {"source": "file", "source_path": str(Path(source).expanduser().resolve())}
    return {"source": "synthetic", "rows": rows, "seed": seed, "damaged": damaged}


def roots_with(path: Path, roots: Iterable[Path]) -> tuple[list[Path], Path | None]:
    """The input roots extended by `path`'s folder when no root holds it (and that folder)."""
    roots = list(roots)
    if any(path.is_relative_to(root) for root in roots):
        return roots, None
    return [*roots, path.parent], path.parent


# `airflow dags test` runs the tasks one after the other in its own process and logs, per
# attempt: "[DAG TEST] starting task_id=...", the task's lines, "... new_state=<state> ...",
# "[DAG TEST] end task task_id=...". Structured logs would be sturdier, but `dags test` has
# no option to print them as JSON, so these three markers are read from its text output.
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z?\s")
_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+) map_index=(-?\d+)")
_STATE = re.compile(r"Task instance state updated .*\bnew_state=(\w+)")
_RUN_END = re.compile(r"DagRun Finished: .*\bstate=(\w+)")
_RUNNING = re.compile(rf"\[DAG TEST\] running task <TaskInstance: {DAG_ID}\.\S+ (\S+) \[")
# The last line of a Python traceback: "pkg.module.SomeError: message" or "SomeError".
_EXCEPTION = re.compile(
    r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Failed|Exit|Interrupt|Warning)\b.*"
)


@dataclass
class TaskAttempt:
    """One attempt of one task as `dags test` logged it."""

    task_id: str
    first_line: int
    started: datetime | None
    started_wall: float
    state: str | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class RunProgress:
    """Reads `airflow dags test` output line by line; says what finished as it finishes."""

    total: int | None = None
    run_id: str | None = None
    attempts: list[TaskAttempt] = field(default_factory=list)
    run_state: str | None = None
    last_error: str | None = None  # the last exception line, in a task or not
    _current: TaskAttempt | None = None
    _line_no: int = 0
    _in_traceback: bool = False
    _in_message: bool = False  # reading the lines of a traceback's exception message

    @property
    def finished(self) -> list[TaskAttempt]:
        """Attempts that ended in a final state (not a retry)."""
        return [a for a in self.attempts if a.state and a.state != "up_for_retry"]

    def feed(self, line: str) -> str | None:
        """Take one output line; return the terminal line to print when a task attempt ends."""
        self._line_no += 1
        line = line.rstrip("\n")
        stamp = _STAMP.match(line)
        when = datetime.fromisoformat(stamp.group(1)) if stamp else None
        if not stamp and _EXCEPTION.match(line):
            self.last_error = line.strip()
        if m := _START.search(line):
            self._current = TaskAttempt(_task_name(m), self._line_no, when, time.monotonic())
            self.attempts.append(self._current)
            self._in_traceback = False
            return None
        if m := _RUN_END.search(line):
            self.run_state = m.group(1)
            return None
        if self.run_id is None and (m := _RUNNING.search(line)):
            self.run_id = m.group(1)
        current = self._current
        if current is None:
            return None
        if m := _STATE.search(line):
            current.state = m.group(1)
            return None
        if line.startswith("Traceback (most recent call last)"):
            self._in_traceback = True
            self._in_message = False
            return None
        if self._in_traceback and not stamp and _EXCEPTION.match(line):
            current.error = line.strip()
            self._in_message = True
        elif self._in_message and not stamp and line.strip() and not line[0].isspace():
            # The message's further lines (the gate names each failed expectation on its own).
            current.error = f"{current.error}\n{line.strip()}"
        else:
            self._in_message = False
        if stamp:
            self._in_traceback = False
        if _END.search(line):
            self._current = None
            if current.started and when:
                current.seconds = (when - current.started).total_seconds()
            else:
                current.seconds = time.monotonic() - current.started_wall
            return self.describe(current)
        return None

    def describe(self, attempt: TaskAttempt) -> str:
        """`[ 7/29] success    3.1s  run_bronze_to_silver` (and the error of a failed attempt)."""
        done = len(self.finished)
        width = len(str(self.total or 99))
        count = f"{done:>{width}}/{self.total}" if self.total else f"{done:>{width}}"
        state = attempt.state or "unknown"
        if state == "up_for_retry":
            count, state = " " * len(count), "retry"
        text = f"   [{count}] {state:<8} {attempt.seconds:6.1f}s  {attempt.task_id}"
        if attempt.error and state != "success":
            text += f"\n{'':>{len(count) + 24}}{_shorten(attempt.error.splitlines()[0])}"
        return text


def _task_name(match: re.Match) -> str:
    task_id, map_index = match.group(1), int(match.group(2))
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def metadata_db(env: dict[str, str]) -> Path | None:
    """The SQLite file of Airflow's metadata DB in `env` (None when it is another database).

    Read from the environment and airflow.cfg by hand, not through airflow.configuration:
    the launcher stays free of Airflow's imports (seconds of CPU before the run starts).
    """
    url = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    home = Path(env.get("AIRFLOW_HOME") or Path.home() / "airflow")
    if url is None:
        cfg = ConfigParser(interpolation=None)
        cfg.read(home / "airflow.cfg")
        url = cfg.get("database", "sql_alchemy_conn", fallback=f"sqlite:///{home}/airflow.db")
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def count_run_tasks(env: dict[str, str], run_id: str) -> int | None:
    """How many task instances the DAG run `run_id` has, read from the metadata DB `dags test` writes.

    `dags test` creates every task instance of the run before it runs the first task, so the
    count is final once a task has finished. Reading the SQLite file costs milliseconds, where
    parsing the DAG in a second Airflow process cost seconds of CPU while the run was starting.
    None when the count cannot be read (another database, a locked file): it only decorates
    the progress lines.
    """
    path = metadata_db(env)
    if path is None or not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)) as db:
            (count,) = db.execute(
                "select count(*) from task_instance where dag_id = ? and run_id = ?", (DAG_ID, run_id)
            ).fetchone()
    except sqlite3.Error:
        return None
    return count or None


def run_dag(cmd: list[str], env: dict[str, str], log_path: Path, out: TextIO, progress: RunProgress) -> int:
    """Run `cmd`, copy all of its output to `log_path` and print a line per finished task."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**env, "PYTHONUNBUFFERED": "1"}  # lines as they happen, not in 8 KiB blocks
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            shown = progress.feed(line)
            if shown:
                print(shown, file=out, flush=True)
        return proc.wait()


def print_summary(report: dict, report_path: Path, elapsed: float, out: TextIO, data_dir: Path) -> None:
    """The closing summary: conservation, quarantine/repairs/warnings, where the outputs are.

    Outputs are named relative to `data_dir`, three to a line, so the whole of `make run`'s
    output stays near 40 lines with one line per task.
    """
    from include.sales_analyzer.summary import summary_lines

    rows, law = report["rows"], report["conservation"]
    print(f"== {DAG_ID} finished in {elapsed:.0f}s ({report['source'].get('description')})", file=out)
    print(
        f"   bronze {rows['bronze_lines']:,} lines = silver {rows['silver']:,} rows"
        f" + quarantine {rows['quarantine']:,} + header/blank {rows['non_record_lines']:,}"
        f" -> conservation {'holds' if law['holds'] else 'BROKEN'}",
        file=out,
    )
    if any(key in report for key in ("quarantine", "repairs", "warnings")):
        for line in summary_lines(report):
            print(f"   {line}", file=out)
    outputs = report["outputs"]
    groups = (
        ("gold", ((outputs["gold_database"], "tables"), (outputs["gold_exports"], "CSV, Parquet"))),
        ("silver", ((outputs["silver"], "Parquet"), (outputs["quarantine"], ""))),
        (
            "reports",
            (
                (report_path, ""),
                (outputs["quality_report"], ""),
                (report["quality"].get("data_docs"), "Data Docs"),
            ),
        ),
    )
    print(f"   outputs, under {data_dir}/", file=out)
    for group, items in groups:
        shown = "   ".join(
            _under(data_dir, path) + (f" ({label})" if label else "") for path, label in items if path
        )
        print(f"     {group:8} {shown}", file=out)


def _under(root: Path, path: str | Path) -> str:
    """`path` relative to `root` when it lies under it (a directory ends in /), else as it is."""
    path = Path(path)
    try:
        text = str(path.relative_to(root))
    except ValueError:
        text = str(path)
    return text + "/" if path.is_dir() else text


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Parse arguments, run the DAG with a line per task, print the outputs."""
    parser = argparse.ArgumentParser(prog="make run")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the pipeline once offline")
    run.add_argument("--source", default="", help="your CSV (default: the synthetic generator)")
    run.add_argument("--rows", type=int, default=9800)
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--damaged", action="store_true")
    web = sub.add_parser("airflow", help="start or stop the local Airflow (make airflow / airflow-stop)")
    web.add_argument("action", choices=["start", "stop"])
    web.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    if args.command == "airflow":
        return airflow_command(args.action, args.port, out)

    conf = dag_conf(args.source, args.rows, args.seed, args.damaged)
    if conf["source"] == "file":
        path = Path(conf["source_path"])
        if not path.is_file():
            what = "is a directory" if path.is_dir() else "does not exist"
            print(f"!! SOURCE={args.source}: {path} {what}; expected a CSV file", file=out)
            return 2
    # Airflow-free: the settings import only errors_base (the DAG run imports Airflow).
    from include.sales_analyzer.config import get_settings
    from include.sales_analyzer.local.layout import Layout

    settings = get_settings()
    env = airflow_env()
    if conf["source"] == "file":
        # The person at the shell named this file: its folder is allowed for this run only
        # (a DAG Param from the UI stays within the configured roots).
        roots, added = roots_with(path, settings.allowed_input_roots)
        if added is not None:
            env["SALES_INPUT_ROOTS"] = os.pathsep.join(str(r) for r in roots)
            print(f">> {path.name} is outside the input roots: allowing {added} for this run", file=out)

    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    lay = Layout.of(settings)
    log_path = lay.logs_dir / f"make-run-{stamp}.log"
    # Airflow's CLI, ending with os._exit once it returns (airflow_cli.py says why).
    airflow = [sys.executable, "-m", "include.sales_analyzer.airflow_cli"]
    cmd = [*airflow, "dags", "test", DAG_ID, "--conf", json.dumps(conf)]
    print(f">> running {DAG_ID} offline: {json.dumps(conf)}", file=out)
    print(f">> full Airflow output: {log_path}", file=out, flush=True)

    progress = _CountedProgress(env)
    started = time.perf_counter()
    returncode = run_dag(cmd, env, log_path, out, progress)
    elapsed = time.perf_counter() - started
    report_path = lay.run_report
    failed = [a for a in progress.finished if a.state != "success" and a.state != "skipped"]
    if returncode != 0 or progress.run_state != "success" or failed or not report_path.exists():
        print(f"\n!! {DAG_ID} failed after {elapsed:.0f}s (exit {returncode})", file=out)
        for attempt in failed:
            print(f"   {attempt.task_id}: {attempt.state}", file=out)
            if attempt.error:
                for line in _shorten(attempt.error, 2000).splitlines():
                    print(f"   {line}", file=out)
            print(f"   its log: {log_path}, from line {attempt.first_line}", file=out)
        if not failed:
            if progress.last_error:
                print(f"   {_shorten(progress.last_error, 2000)}", file=out)
            print(f"   see {log_path}", file=out)
        return returncode or 1
    report = json.loads(report_path.read_text())
    print_summary(report, report_path, elapsed, out, settings.data_dir)
    return 0


def airflow_command(action: str, port: int, out: TextIO) -> int:
    """`make airflow` / `make airflow-stop`."""
    from include.sales_analyzer.local_airflow import local_airflow

    local = local_airflow(port)
    if action == "stop":
        stopped = local.stop()
        print(
            f">> stopped {', '.join(stopped)}" if stopped else ">> no Airflow started by make airflow",
            file=out,
        )
        return 0
    local.start(out=out)
    print(f"== Airflow is up: {local.url}  (sign in as {local.user} / {local.password()})", file=out)
    print(f"   DAG {DAG_ID}: {local.url}/dags/{DAG_ID}; run summary: {local.url}/sales-analyzer/", file=out)
    print("   stop it with: make airflow-stop", file=out)
    return 0


class _CountedProgress(RunProgress):
    """RunProgress whose total is this run's task count, read from the metadata DB when a task ends."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__()
        self._env = env

    def describe(self, attempt: TaskAttempt) -> str:
        if self.total is None and self.run_id is not None:
            self.total = count_run_tasks(self._env, self.run_id)
        return super().describe(attempt)


if __name__ == "__main__":
    raise SystemExit(main())
