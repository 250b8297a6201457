"""Gold: the dbt project rendered by astronomer-cosmos as an Airflow task group."""

from __future__ import annotations

import os
from typing import Any

from include.sales_analyzer.config import DBT_PROJECT_DIR, Settings
from include.sales_analyzer.dbt_project import (
    LOCAL_SCHEMA,
    LOCAL_TARGET,
    LOCAL_THREADS,
    MANIFEST,
    PROFILE_NAME,
    duckdb_settings,
)

DUCKDB_CONN_ID = "sales_duckdb"


def profile_config(settings: Settings) -> Any:
    """dbt profile from an Airflow connection: DuckDB locally, Athena on AWS."""
    from cosmos import ProfileConfig

    if settings.backend == "aws":
        from cosmos.profiles import AthenaAccessKeyProfileMapping

        mapping = AthenaAccessKeyProfileMapping(
            conn_id=settings.aws_conn_id,
            profile_args={
                "database": "awsdatacatalog",
                "schema": settings.glue_database,
                # dbt's own workgroup does not enforce its results location, so dbt-athena writes
                # external_location into every CTAS and gold lands under s3_data_dir. In an
                # enforcing workgroup it leaves external_location out and Athena puts the table's
                # data under the results location, which the lifecycle rule expires.
                "work_group": settings.athena_dbt_workgroup,
                "s3_staging_dir": settings.dbt_results_dir,
                "s3_data_dir": settings.gold_data_dir,
                # s3://<bucket>/gold/<table>/<uuid>/: a rebuild writes a new folder, then swaps the
                # table to it (the marts' `ha` config), so readers never see a half-written table.
                "s3_data_naming": "table_unique",
                "threads": settings.athena_dbt_threads,
                # MWAA's aws_default usually carries no region; the mapping requires one.
                "region_name": os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"),
            },
        )
        return ProfileConfig(profile_name=PROFILE_NAME, target_name="aws", profile_mapping=mapping)
    from cosmos.profiles import DuckDBUserPasswordProfileMapping

    # The same outputs as dbt_project.duckdb_profile (which built target/partial_parse.msgpack),
    # so each task's dbt reuses the partial parse instead of parsing the project again.
    mapping = DuckDBUserPasswordProfileMapping(
        conn_id=DUCKDB_CONN_ID,
        profile_args={
            "threads": LOCAL_THREADS,
            "schema": LOCAL_SCHEMA,
            "settings": duckdb_settings(settings.dbt_memory_limit),
        },
    )
    return ProfileConfig(profile_name=PROFILE_NAME, target_name=LOCAL_TARGET, profile_mapping=mapping)


def freeze_gc(context: Any) -> None:
    """Before an in-process dbt task: move every object alive now out of the collector's reach.

    Cosmos runs gc.collect() after each in-process dbt command (cosmos/dbt/runner.py,
    _cleanup_dbt_adapters, to release dbt-duckdb's semaphores). In a worker process holding
    Airflow, Great Expectations and dbt that walks ~480,000 objects: 1.3-2.1 s per task on this
    machine, 0.05 s once the objects from before the task are frozen (docs/benchmarks.md).
    Only this task's own garbage is left to collect; release_dbt_duckdb unfreezes.

    It also has the process skip its last collection when it exits (see _freeze_at_exit).
    """
    import atexit
    import gc

    gc.freeze()
    atexit.unregister(_freeze_at_exit)  # registered once, however many dbt tasks this process runs
    atexit.register(_freeze_at_exit)


def _freeze_at_exit() -> None:
    """At the exit of a process that ran in-process dbt: skip Python's final garbage collection.

    After its atexit handlers, the interpreter collects every generation once more before it
    exits. In `airflow dags test` (every task in one process: Airflow, Great Expectations, dbt)
    that walk took 3.5 s of a 43 s run after "DagRun Finished" (py-spy --native: gc_collect_main
    at finalization). Frozen objects are left to the operating system, which reclaims the whole
    process anyway; what needs closing is closed explicitly before (release_dbt_duckdb, the
    gate's _close_connections, Airflow's own atexit handlers, which run after this one since
    atexit runs the last registered first). The cost of skipping: a finalizer (__del__) of an
    object in a reference cycle does not run at exit, which CPython never promised either.
    """
    import gc

    gc.freeze()


def release_dbt_duckdb(project_dir: str, **_: Any) -> None:
    """After an in-process dbt command: close the warehouse dbt-duckdb keeps open, unfreeze gc.

    dbt-duckdb holds one DuckDB database per process (its connection manager's environment)
    after dbtRunner returns. Under `airflow dags test` every task runs in one process, and the
    next task that opens the warehouse (publish_gold attaches it read-only) would fail with
    DuckDB's "Unique file handle conflict". Cosmos calls this after each dbt command, whether
    the command passed or failed (it raises for a failure afterwards).
    """
    import gc
    import sys

    gc.unfreeze()
    connections = sys.modules.get("dbt.adapters.duckdb.connections")
    if connections is None:  # dbt ran as a subprocess: nothing is open in this process
        return
    manager = connections.DuckDBConnectionManager
    try:
        environment = manager.env()
    except Exception:  # dbt-duckdb raises a bare Exception when no environment was created
        return
    environment.close()
    manager.close_all_connections()


def gold_task_group(settings: Settings, **kwargs: Any) -> Any:
    """The dbt models and tests as Airflow tasks, rendered from the prebuilt manifest."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import (
        ExecutionMode,
        InvocationMode,
        LoadMode,
        TestBehavior,
        TestIndirectSelection,
    )

    env_vars = {"SALES_SILVER_SCHEMA": "silver" if settings.backend == "local" else settings.glue_database}
    if settings.backend == "local":
        # Each task's dbt wrote target/manifest.json twice (after parsing and after the build),
        # plus run_results.json, into Cosmos' temporary copy of the project, deleted when the task
        # ends; nothing reads them. Partial parse and compiled SQL are written either way.
        # ~14% of the dbt tasks' time (docs/benchmarks.md, "A small run, measured and cut").
        env_vars["DBT_WRITE_JSON"] = "false"
    project_config = ProjectConfig(
        dbt_project_path=DBT_PROJECT_DIR,
        project_name=PROFILE_NAME,
        install_dbt_deps=False,
        env_vars=env_vars,
    )
    # Set after construction: given to the constructor, the manifest path becomes an
    # ObjectStoragePath, whose first use loads every provider's filesystem at each DAG parse
    # (about two thirds of the parse, docs/benchmarks.md). It is a local file: a plain Path
    # has the exists() and open() Cosmos calls on it.
    project_config.manifest_path = MANIFEST
    if settings.backend == "local":
        backend_args: dict[str, Any] = {"pre_execute": freeze_gc, "callback": release_dbt_duckdb}
    else:
        from include.sales_analyzer.aws.gold import add_athena_query_links, link_athena_query

        backend_args = {"callback": link_athena_query}
    group = DbtTaskGroup(
        group_id="build_gold",
        project_config=project_config,
        profile_config=profile_config(settings),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            # Local: dbt-duckdb lives in Airflow's own environment (requirements-dev.txt), and
            # None lets Cosmos pick InvocationMode.DBT_RUNNER at run time: every task calls dbt
            # in the worker's process, without starting dbt and importing it again (~4 s each,
            # docs/benchmarks.md). Where dbt is not importable (the compose mirror) Cosmos runs
            # dbt_executable_path instead. AWS: dbt-athena only exists in the dbt virtualenv
            # (MWAA pins a PyAthena it cannot use), so always a subprocess.
            invocation_mode=None if settings.backend == "local" else InvocationMode.SUBPROCESS,
            dbt_executable_path=settings.dbt_executable,
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # One `dbt build --select <model>` per task: the model and its tests together.
            # (Cosmos' watcher mode was faster but its consumer tasks wait on the producer,
            # which deadlocks under `airflow dags test` and under max_active_tasks=1.)
            test_behavior=TestBehavior.BUILD,
            # Relationship tests span two models: run them in their own task after both.
            should_detach_multiple_parents_tests=True,
            emit_datasets=False,
        ),
        operator_args={
            "install_deps": False,
            "retries": 2,
            **backend_args,
        },
        **kwargs,
    )
    if settings.backend == "aws":
        add_athena_query_links(group)
    return group
