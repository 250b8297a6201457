"""Settings read from environment variables, with offline defaults.

One switch, PIPELINE_BACKEND, picks `local` (DuckDB on the file system, the default)
or `aws` (S3, Glue, Athena). Per-run choices are DAG Params, not settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "include" / "dbt" / "sales_analytics"
SQL_DIR = Path(__file__).resolve().parent / "sql"
# DuckDB's memory_limit bounds its buffer pool, not the whole process: with 1GB the silver
# process peaked at 1.06 GiB on 10M rows (docs/benchmarks.md), so the default leaves room
# for Python and the allocator and keeps a stage's process under 1 GiB. DuckDB spills beyond it.
DEFAULT_DUCKDB_MEMORY_LIMIT = "768MB"


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline reads from its environment."""

    backend: str
    data_dir: Path
    dbt_executable: str
    duckdb_memory_limit: str
    duckdb_threads: int | None
    allowed_input_roots: tuple[Path, ...]
    aws_conn_id: str
    bucket: str
    glue_database: str
    athena_workgroup: str
    glue_job_name: str
    glue_crawler_name: str
    # aws backend (PIPELINE_BACKEND=aws); defaults match mwaa/cloudformation/sales-analyzer.yaml
    gold_database: str = "gold"
    catalog_mode: str = "ddl"
    aws_deferrable: bool = True
    aws_poll_seconds: int = 30
    bronze_prefix: str = "bronze/sales"
    silver_prefix: str = "silver"
    quarantine_prefix: str = "quarantine"
    reports_prefix: str = "reports"
    artifacts_prefix: str = "artifacts/glue"
    glue_job_role: str = "smart-sales-analyzer-glue-job"
    glue_worker_type: str = "G.1X"
    glue_workers: int = 2
    glue_timeout_minutes: int = 30
    glue_security_configuration: str = "smart-sales-analyzer-glue"
    glue_log_group: str = "/aws-glue/jobs/smart-sales-analyzer"
    # DuckDB memory_limit of dbt's local profile (gold); no temp_directory on purpose:
    # dbt-duckdb re-applies settings per cursor and DuckDB refuses a changed temp dir.
    dbt_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT

    @property
    def lake_dir(self) -> Path:
        """Root of bronze/, silver/ and quarantine/ on the local backend."""
        return self.data_dir / "lake"

    @property
    def warehouse_path(self) -> Path:
        """DuckDB file dbt builds into (private to the pipeline)."""
        return self.data_dir / "warehouse" / "build.duckdb"

    @property
    def published_path(self) -> Path:
        """DuckDB file readers (the app, BI) open: replaced atomically on publish."""
        return self.data_dir / "sales_analytics.duckdb"

    @property
    def gold_dir(self) -> Path:
        """CSV and Parquet exports of the gold marts."""
        return self.data_dir / "gold"


def _path_list(value: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p)


def get_settings() -> Settings:
    """Read the settings now (never at DAG parse time from a DAG file's top level)."""
    env = os.environ
    data_dir = Path(env.get("SALES_DATA_DIR", str(REPO_ROOT / "data"))).expanduser().resolve()
    threads = env.get("SALES_DUCKDB_THREADS")
    memory_limit = env.get("SALES_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT)
    default_roots = os.pathsep.join([str(REPO_ROOT), str(data_dir), str(Path.home())])
    return Settings(
        backend=env.get("PIPELINE_BACKEND", "local").lower(),
        data_dir=data_dir,
        dbt_executable=env.get("SALES_DBT_EXECUTABLE", str(REPO_ROOT / ".venv-dbt" / "bin" / "dbt")),
        duckdb_memory_limit=memory_limit,
        duckdb_threads=int(threads) if threads else None,
        allowed_input_roots=_path_list(env.get("SALES_INPUT_ROOTS", default_roots)),
        aws_conn_id=env.get("SALES_AWS_CONN_ID", "aws_default"),
        bucket=env.get("SALES_BUCKET", "smart-sales-analyzer"),
        glue_database=env.get("SALES_GLUE_DATABASE", "sales_analytics"),
        athena_workgroup=env.get("SALES_ATHENA_WORKGROUP", "sales_analytics"),
        glue_job_name=env.get("SALES_GLUE_JOB_NAME", "sales-bronze-to-silver"),
        glue_crawler_name=env.get("SALES_GLUE_CRAWLER_NAME", "sales-lake-crawler"),
        gold_database=env.get("SALES_GOLD_DATABASE", "gold"),
        catalog_mode=env.get("SALES_CATALOG_MODE", "ddl").lower(),
        aws_deferrable=env.get("SALES_AWS_DEFERRABLE", "true").lower() in ("1", "true", "yes", "on"),
        aws_poll_seconds=int(env.get("SALES_AWS_POLL_SECONDS", "30")),
        bronze_prefix=env.get("SALES_BRONZE_PREFIX", "bronze/sales").strip("/"),
        silver_prefix=env.get("SALES_SILVER_PREFIX", "silver").strip("/"),
        quarantine_prefix=env.get("SALES_QUARANTINE_PREFIX", "quarantine").strip("/"),
        reports_prefix=env.get("SALES_REPORTS_PREFIX", "reports").strip("/"),
        artifacts_prefix=env.get("SALES_ARTIFACTS_PREFIX", "artifacts/glue").strip("/"),
        glue_job_role=env.get("SALES_GLUE_JOB_ROLE", "smart-sales-analyzer-glue-job"),
        glue_worker_type=env.get("SALES_GLUE_WORKER_TYPE", "G.1X"),
        glue_workers=int(env.get("SALES_GLUE_WORKERS", "2")),
        glue_timeout_minutes=int(env.get("SALES_GLUE_TIMEOUT_MINUTES", "30")),
        glue_security_configuration=env.get("SALES_GLUE_SECURITY_CONFIGURATION", "smart-sales-analyzer-glue"),
        glue_log_group=env.get("SALES_GLUE_LOG_GROUP", "/aws-glue/jobs/smart-sales-analyzer"),
        dbt_memory_limit=env.get("SALES_DBT_MEMORY_LIMIT", memory_limit),
    )
