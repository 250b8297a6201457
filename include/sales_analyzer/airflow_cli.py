"""Airflow's own CLI for `make run`, ending without the interpreter's teardown.

`make run` runs `python -m include.sales_analyzer.airflow_cli dags test ...` instead of the
`airflow` script: the same `airflow.__main__.main`, the same arguments and exit code. What
differs is the end. After "DagRun Finished", a `dags test` process that holds Airflow, dbt and
DuckDB spent ~5 s in CPython's teardown (module dicts cleared, then full collections over ~1M
objects; docs/benchmarks.md) before `make run` could print its summary. Here, once Airflow's
CLI returns, the exit hooks Python code registered (`atexit`: logging's flush, SQLAlchemy's
and Airflow's disposals) run as they would, then the process ends with `os._exit`.

Nothing is lost by skipping the rest: every task has committed its state to the metadata DB
and closed its files and DuckDB connections when it ended. A person who runs `airflow dags
test` by hand gets the ordinary exit.
"""

from __future__ import annotations

import atexit
import os
import sys
import traceback


def main() -> None:
    sys.argv[0] = "airflow"  # argparse's program name, as the console script has it
    code = 1
    try:
        from airflow.__main__ import main as airflow_main

        airflow_main()
        code = 0
    except SystemExit as stop:  # argparse, and Airflow's CLI on a failed run
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        # CPython's own exit runs these hooks too; its private runner is the only way to run
        # them before os._exit (which skips them), and it empties the list as it goes.
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    main()
