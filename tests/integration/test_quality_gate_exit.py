"""The quality gate leaves no DuckDB connection open behind it.

GX kept two DuckDB connections open after the gate (the datasource's test connection, pooled,
and the execution engine's persisted one, checked out for good); SQLAlchemy's module-level pool
records kept them alive for the rest of the process. The gate runs here in a child interpreter
of its own, on a silver made by the real silver SQL; after the gate the child counts the DuckDB
connections still reachable from live objects (2 before quality._close_connections, 0 after),
then exits, and its stderr is read whole for nanobind's leak report.

Not covered, and not fixed: `make run` (every task in one `airflow dags test` process) still
ends with "nanobind: leaked 50 instances" in its log file (not on its output). Run task by task
(`airflow tasks test`), only `validate_silver`'s process leaks; the same stage called without
Airflow does not, unless Airflow's execution-API modules
(`airflow.api_fastapi.execution_api.versions`, ~550 modules) were imported first. The leaked
objects are `_duckdb`'s module-level ones (DuckDBPyType constants, enum members, a connection);
nanobind objects are not gc-tracked, and refcounts at atexit match the run that does not leak,
so the reference is taken during interpreter shutdown. Its holder was not found.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["success"] is True and result["evaluated"] > 30
    assert result["open"] == 0, "the gate left DuckDB connections open behind it"
    noise = [line for line in proc.stderr.splitlines() if "nanobind" in line or "leaked" in line]
    assert noise == []
