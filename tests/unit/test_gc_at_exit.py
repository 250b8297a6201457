"""A process that ran an in-process dbt task skips Python's final garbage collection at exit.

(gold.freeze_gc registers gold._freeze_at_exit; docs/benchmarks.md, "Session 11", has the 3.5 s it
saves at the end of `airflow dags test`.) Run in a child interpreter, as a task's process: an
object in a reference cycle, made after the task, with a finalizer that writes a file. Without
a dbt task the final collection finds the cycle and the finalizer runs; after one it does not.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from include.sales_analyzer.config import REPO_ROOT

CHILD = """
import sys
from pathlib import Path
from include.sales_analyzer import gold

if sys.argv[2] == "dbt-task":
    gold.freeze_gc(context={})                   # Cosmos' pre_execute
    gold.release_dbt_duckdb(project_dir="unused")  # Cosmos' callback: unfreezes

class Cycle:
    def __del__(self):
        Path(sys.argv[1]).write_text("collected")

a, b = Cycle(), Cycle()
a.other, b.other = b, a
del a, b
"""


def _finalized(tmp_path: Path, mode: str) -> bool:
    marker = tmp_path / f"{mode}.txt"
    subprocess.run(
        [sys.executable, "-c", CHILD, str(marker), mode],
        check=True,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    return marker.exists()


def test_a_process_that_ran_a_dbt_task_skips_the_final_collection(tmp_path: Path) -> None:
    assert _finalized(tmp_path, "plain") is True
    assert _finalized(tmp_path, "dbt-task") is False
