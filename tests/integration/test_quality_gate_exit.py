"""The quality gate leaves no DuckDB connection open behind it, and its interpreter exits silently.

GX kept two DuckDB connections open after the gate (the datasource's test connection, pooled,
and the execution engine's persisted one, checked out for good); SQLAlchemy's module-level pool
records kept them alive for the rest of the process. The gate runs here in a child interpreter
of its own, on a silver made by the real silver SQL; after the gate the child counts the DuckDB
connections still reachable from live objects (2 before quality._close_connections, 0 after),
then exits, and its stderr is read whole for nanobind's leak report.

Where the "nanobind: leaked ..." screen that ended `make run` came from (#16 item 5):
DuckDB's Python package is built with nanobind, whose leak check runs at interpreter exit
and prints every DuckDB object still alive then. DuckDB 2.0.0 shipped with that check on.
With duckdb-engine's dialect loaded through SQLAlchemy's entry point after a large set of
imports (Airflow's execution API, or GX), the module dict of `duckdb.value.constant` and its
`Value` classes, which hold DuckDBPyType constants, were still alive when the check ran.
Under gdb they sat in a cycle in the oldest generation that CPython 3.12's last collection
left. That is the order of interpreter teardown: this project's code keeps no reference to
them, and the memory goes back to the OS with the process.

DuckDB 2.0.1, pinned now, ships with nanobind's leak warnings off, as nanobind's guide
advises for published wheels (https://nanobind.readthedocs.io/en/latest/refleaks.html). A
connection leaked on purpose prints nothing (`test_the_pinned_duckdb_reports_no_leaks_at_exit`;
under 2.0.0 it printed 23 lines from "nanobind: leaked 28 instances!" on), so no process prints
the report: the smallest one found under 2.0.0 (Airflow's execution-API modules imported, then
`make_url("duckdb://").get_dialect()`: 5 lines under 2.0.0, none under 2.0.1 in 3 of 3 runs on
2026-12-02) and `airflow dags test` (tests/integration/test_pipeline_dag.py) included. So the
gate runs in the task's process again (it had an interpreter of its own, which ended with
os._exit under 2.0.0), and that process exits normally, through CPython's teardown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.silver_helpers import HEADER, good, run_silver

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import gc, json, sys
from pathlib import Path
from include.sales_analyzer import quality
from tests.silver_helpers import HEADER, good, run_silver

tmp = Path(sys.argv[1])
run_silver(tmp, [HEADER, good(1), good(2, sales="10.5"), good(3, sales="0.01")])
report = quality.validate_silver(
    f"{tmp}/lake/silver/**/*.parquet", 3, 0, tmp / "gx", tmp / "docs", silver_rows=3
)
gc.collect()
# DuckDB's objects are not tracked by gc: find them among what tracked objects refer to.
alive = {
    id(r)
    for o in gc.get_objects()
    for r in gc.get_referents(o)
    if type(r).__name__ == "DuckDBPyConnection"
}
print(json.dumps({"success": report["success"], "evaluated": report["evaluated"], "open": len(alive)}))
"""


def test_gate_closes_its_duckdb_connections_and_exits_silently(tmp_path: Path) -> None:
    """And leaves in the temporary folder only jinja2's bytecode cache of the Data Docs
    templates (quality_docs.py), which a second run reuses without adding to it. GX's ephemeral
    context used to add a second Data Docs site in a folder of its own there (4.2 MB a run),
    built and never deleted."""
    temp = tmp_path / "temp"
    temp.mkdir()
    cache = temp / f"_jinja2-cache-{os.getuid()}"
    cached: list[list[str]] = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        proc = _run(tmp_path, CHILD, str(tmp_path / run), TMPDIR=str(temp))
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["success"] is True and result["evaluated"] > 30
        assert result["open"] == 0, "the gate left DuckDB connections open behind it"
        noise = [line for line in proc.stderr.splitlines() if "nanobind" in line or "leaked" in line]
        assert noise == []
        assert [p.name for p in temp.iterdir()] == [cache.name]
        cached.append(sorted(p.name for p in cache.iterdir()))
    assert cached[0] and cached[1] == cached[0]
    assert all(name.endswith(".cache") for name in cached[0])


# A DuckDB connection whose reference count is raised by hand: it is never freed.
LEAKED_ON_PURPOSE = """
import ctypes, duckdb
connection = duckdb.connect()
ctypes.pythonapi.Py_IncRef(ctypes.py_object(connection))
print(duckdb.__version__)
"""


def _run(
    tmp_path: Path, code: str, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess:
    """`python -c code args` from the repository, with only these variables (and `env`) set."""
    home = tmp_path / "airflow"
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(REPO),
            "HOME": str(tmp_path),
            "AIRFLOW_HOME": str(home),
            **env,
        },
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _nanobind(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if "nanobind" in line or "leaked" in line]


def test_the_pinned_duckdb_reports_no_leaks_at_exit(tmp_path: Path) -> None:
    """DuckDB 2.0.0 printed 23 lines for this process, from "nanobind: leaked 28 instances!" on."""
    proc = _run(tmp_path, LEAKED_ON_PURPOSE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "2.0.1"
    assert _nanobind(proc) == []


GATE_IN_A_TASK = """
import json, logging, sys
from pathlib import Path
from include.sales_analyzer import quality

logging.basicConfig(level=logging.INFO, stream=sys.stderr)  # a task log takes INFO records
request = json.loads(sys.stdin.read())
report = quality.validate_counts(
    request["silver_glob"], request["counts"], Path(request["work_dir"]), Path(request["docs_dir"]),
    max_quarantine_fraction=0.5,
)
print(json.dumps(report))
"""


def test_the_gate_runs_in_the_callers_process_which_exits_normally_and_silently(tmp_path: Path) -> None:
    """`quality.validate_counts`, as the DAG's task calls it, on a real silver: the report in JSON
    types, the gate's own summary in the log but none of GX's INFO records, and a clean exit."""
    silver = run_silver(tmp_path, [HEADER, good(1), good(2, sales="10.5"), "1,2,3"])
    assert len(silver["rows"]) == 2 and len(silver["quarantine"]) == 1  # what the counts say
    request = {
        "silver_glob": f"{tmp_path}/lake/silver/**/*.parquet",
        "counts": {
            "record_lines": 3,
            "quarantined_lines": 1,
            "quarantine_revenue": "0.0000",
            "quarantine_lines_with_revenue": 0,
            "silver_rows": 2,
        },
        "work_dir": str(tmp_path / "gx"),
        "docs_dir": str(tmp_path / "docs"),
    }
    proc = _run(tmp_path, GATE_IN_A_TASK, stdin=json.dumps(request))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["success"] is True and report["silver_rows"] == 2
    assert report["quarantine_fraction"] == 1 / 3 and (tmp_path / "docs" / "index.html").exists()
    log = proc.stderr.splitlines()
    assert any("quality gate: " in line and "expectations" in line for line in log), proc.stderr[-3000:]
    gx_info = [line for line in log if line.startswith("INFO:great_expectations")]
    assert gx_info == [], gx_info[:5]
    assert _nanobind(proc) == []
