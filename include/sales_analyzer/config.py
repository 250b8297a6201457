"""Settings, declared once (name, variable, type, default) and validated in one place.

One switch, PIPELINE_BACKEND, picks `local` (DuckDB on the file system, the default)
or `aws` (S3, Glue, Athena). Per-run choices are DAG Params, not settings.

Each setting is read from `SALES_<NAME>` (PIPELINE_BACKEND for the backend) or, when that
is not set, from `AIRFLOW__SALES__<NAME>`: the form in which Airflow, and MWAA's
"Airflow configuration options" (`sales.<name>`), hand the `[sales]` section to every
component. So no start-up script has to copy them. On the aws backend the settings that
name account-specific resources have no default: a missing one fails the DAG's import
(and so shows in the Airflow UI) instead of silently rendering another backend or bucket.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from include.sales_analyzer.errors_base import PipelineError

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "include" / "dbt" / "sales_analytics"
SQL_DIR = Path(__file__).resolve().parent / "sql"
# DuckDB's memory_limit bounds its buffer pool, not the whole process: with 1GB the silver
# process peaked at 1.06 GiB on 10M rows (docs/benchmarks.md), so the default leaves room
# for Python and the allocator and keeps a stage's process under 1 GiB. DuckDB spills beyond it.
DEFAULT_DUCKDB_MEMORY_LIMIT = "768MB"
BACKENDS = ("local", "aws")
CATALOG_MODES = ("ddl", "crawler")
AIRFLOW_SECTION = "sales"
# Where gold tables live and where query results go, under the lake bucket. Kept apart on
# purpose: the lifecycle rule of the results prefix expires objects, gold must never expire.
GOLD_PREFIX = "gold"
ATHENA_RESULTS_PREFIX = "athena-results"


def pythonpath_with_repo(env: Mapping[str, str]) -> str:
    """`env`'s PYTHONPATH with the repository root (the folder holding include/) first.

    For a child Python that imports `include.sales_analyzer`: `airflow dags test` (cli.py), the
    quality gate's interpreter (quality.py), whether the parent found the package through
    PYTHONPATH (make, tests) or through Airflow's sys.path (MWAA's dags folder).
    """
    return os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))


class SettingsError(PipelineError):
    """A setting is missing or has a value the pipeline cannot use; the message names it."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _int(value: str) -> int:
    return int(value.strip())


def _optional_int(value: str) -> int | None:
    return int(value) if value.strip() else None


def _prefix(value: str) -> str:
    return value.strip().strip("/")


def _lower(value: str) -> str:
    return value.strip().lower()


def _str(value: str) -> str:
    return value


@dataclass(frozen=True)
class Setting:
    """One setting: its field, its option name under [sales], how it parses, its default.

    `default=None` with `aws_required=True`: no default on the aws backend (the stack names
    the resource with the account and Region in it, so any default would be someone else's).
    """

    field: str
    option: str
    parse: Callable[[str], Any] = _str
    default: str | None = None
    aws_required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def variable(self) -> str:
        """The environment variable that sets it (wins over the Airflow option)."""
        return "PIPELINE_BACKEND" if self.option == "pipeline_backend" else f"SALES_{self.option.upper()}"

    @property
    def airflow_variable(self) -> str:
        """The variable through which Airflow (and MWAA) pass the `sales.<option>` config option."""
        return f"AIRFLOW__{AIRFLOW_SECTION.upper()}__{self.option.upper()}"


# Defaults of the aws settings match mwaa/cloudformation/sales-analyzer.yaml's parameter defaults.
SETTINGS: tuple[Setting, ...] = (
    Setting("backend", "pipeline_backend", _lower, "local", choices=BACKENDS, help="local or aws"),
    Setting("data_dir", "data_dir", help="local data directory (default <repo>/data)"),
    Setting("dbt_executable", "dbt_executable", help="dbt of the dbt virtualenv"),
    Setting("duckdb_memory_limit", "duckdb_memory_limit", default=DEFAULT_DUCKDB_MEMORY_LIMIT),
    Setting("duckdb_threads", "duckdb_threads", _optional_int, ""),
    Setting("allowed_input_roots", "input_roots", help="folders a `file` source may be read from"),
    Setting("dbt_memory_limit", "dbt_memory_limit", help="DuckDB memory_limit of dbt's local profile"),
    # aws backend
    Setting("aws_conn_id", "aws_conn_id", default="aws_default"),
    Setting("bucket", "bucket", aws_required=True, help="the lake bucket (the stack's DataBucketName)"),
    Setting("glue_database", "glue_database", default="sales_analytics"),
    Setting("gold_database", "gold_database", default="gold"),
    Setting("athena_workgroup", "athena_workgroup", default="sales_analytics"),
    Setting("athena_dbt_workgroup", "athena_dbt_workgroup", default="sales_analytics_dbt"),
    Setting("glue_job_name", "glue_job_name", default="sales-bronze-to-silver"),
    # The stack's role name (ProjectName-glue-job): a name, not an ARN, so no account in it.
    Setting("glue_job_role", "glue_job_role", default="smart-sales-analyzer-glue-job"),
    Setting("glue_crawler_name", "glue_crawler_name", default="sales-silver-crawler"),
    Setting("glue_crawler_role", "glue_crawler_role", default="smart-sales-analyzer-glue-crawler"),
    Setting("catalog_mode", "catalog_mode", _lower, "ddl", choices=CATALOG_MODES),
    Setting("aws_deferrable", "aws_deferrable", _bool, "true"),
    Setting("aws_poll_seconds", "aws_poll_seconds", _int, "30"),
    Setting("bronze_prefix", "bronze_prefix", _prefix, "bronze/sales"),
    Setting("landing_prefix", "landing_prefix", _prefix, "landing"),
    Setting("silver_prefix", "silver_prefix", _prefix, "silver"),
    Setting("quarantine_prefix", "quarantine_prefix", _prefix, "quarantine"),
    Setting("reports_prefix", "reports_prefix", _prefix, "reports"),
    Setting("artifacts_prefix", "artifacts_prefix", _prefix, "artifacts/glue"),
    Setting("glue_worker_type", "glue_worker_type", default="G.1X"),
    Setting("glue_workers", "glue_workers", _int, "2"),
    Setting("glue_timeout_minutes", "glue_timeout_minutes", _int, "30"),
    Setting("athena_dbt_threads", "athena_dbt_threads", _int, "4", help="dbt-athena's threads (gold)"),
    Setting(
        "glue_security_configuration", "glue_security_configuration", default="smart-sales-analyzer-glue"
    ),
    Setting("glue_log_group_prefix", "glue_log_group_prefix", default="/aws-glue/jobs/smart-sales-analyzer"),
)


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
    # aws backend (PIPELINE_BACKEND=aws); the defaults are in SETTINGS, nowhere else
    gold_database: str
    # dbt's workgroup: it does not enforce its results location, so dbt-athena may give every
    # CTAS an external_location under gold/ (an enforcing workgroup makes Athena put table data
    # under its results location, which expires). See docs/aws-backend.md.
    athena_dbt_workgroup: str
    athena_dbt_threads: int
    catalog_mode: str
    aws_deferrable: bool
    aws_poll_seconds: int
    bronze_prefix: str
    landing_prefix: str
    silver_prefix: str
    quarantine_prefix: str
    reports_prefix: str
    artifacts_prefix: str
    glue_job_role: str
    glue_crawler_role: str
    glue_worker_type: str
    glue_workers: int
    glue_timeout_minutes: int
    glue_security_configuration: str
    glue_log_group_prefix: str
    # DuckDB memory_limit of dbt's local profile (gold); no temp_directory on purpose:
    # dbt-duckdb re-applies settings per cursor and DuckDB refuses a changed temp dir.
    dbt_memory_limit: str

    # The local paths below are named in local.layout.Layout; these delegate for the callers
    # that hold only the settings (the app, dbt_project, benchmarks).
    @property
    def lake_dir(self) -> Path:
        """Root of bronze/, silver/ and quarantine/ on the local backend."""
        return self._layout.lake

    @property
    def warehouse_path(self) -> Path:
        """DuckDB file dbt builds into (private to the pipeline)."""
        return self._layout.warehouse_path

    @property
    def published_path(self) -> Path:
        """DuckDB file readers (the app, BI) open: replaced atomically on publish."""
        return self._layout.published_path

    @property
    def gold_dir(self) -> Path:
        """CSV and Parquet exports of the gold marts."""
        return self._layout.gold_dir

    @property
    def _layout(self) -> Any:
        from include.sales_analyzer.local.layout import Layout

        return Layout.of(self)

    @property
    def gold_data_dir(self) -> str:
        """s3://bucket/gold/: where dbt-athena writes every gold table (aws backend)."""
        return f"s3://{self.bucket}/{GOLD_PREFIX}/"

    @property
    def dbt_results_dir(self) -> str:
        """Where dbt's Athena query results go (expired by the stack's lifecycle rule)."""
        return f"s3://{self.bucket}/{ATHENA_RESULTS_PREFIX}/dbt/"


def default(field: str) -> Any:
    """The declared default of a setting, parsed (for models such as cost.py that assume it)."""
    setting = next(s for s in SETTINGS if s.field == field)
    if setting.default is None:
        raise KeyError(f"setting {field!r} has no declared default")
    return setting.parse(setting.default)


def _path_list(value: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p)


def raw_value(setting: Setting, env: Mapping[str, str]) -> str | None:
    """The setting's text: SALES_<NAME> (or PIPELINE_BACKEND), else AIRFLOW__SALES__<NAME>."""
    # An empty value counts as set only for plain text settings (an empty
    # SALES_GLUE_SECURITY_CONFIGURATION means "none"); elsewhere it means "not set".
    empty_is_value = setting.parse is _str and not setting.aws_required
    for variable in (setting.variable, setting.airflow_variable):
        value = env.get(variable)
        if value is not None and (empty_is_value or value.strip() != ""):
            return value
    return None


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings now (a DAG file calls it once, reading variables only).

    Raises SettingsError naming the variable for an unknown backend or catalog mode, a value of
    the wrong type, or, on the aws backend, a required setting that is not set.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    problems: list[str] = []
    backend_setting = SETTINGS[0]
    backend = _lower(raw_value(backend_setting, env) or backend_setting.default or "")
    for setting in SETTINGS:
        text = raw_value(setting, env)
        if text is None:
            if setting.aws_required:
                if backend == "aws":
                    problems.append(
                        f"{setting.variable} (or the Airflow option {AIRFLOW_SECTION}.{setting.option}) "
                        f"is not set: the aws backend needs {setting.help}"
                    )
                values[setting.field] = ""
                continue
            if setting.default is None:
                continue  # computed below
            text = setting.default
        try:
            value = setting.parse(text)
        except ValueError as exc:
            problems.append(f"{setting.variable}={text!r}: {exc}")
            continue
        if setting.choices and value not in setting.choices:
            problems.append(f"{setting.variable}={text!r}: expected one of {', '.join(setting.choices)}")
            continue
        values[setting.field] = value
    if problems:
        raise SettingsError("invalid settings: " + "; ".join(problems))
    data_dir = Path(values.get("data_dir") or str(REPO_ROOT / "data")).expanduser().resolve()
    values["data_dir"] = data_dir
    values.setdefault("dbt_executable", str(REPO_ROOT / ".venv-dbt" / "bin" / "dbt"))
    default_roots = os.pathsep.join([str(REPO_ROOT), str(data_dir), str(Path.home())])
    values["allowed_input_roots"] = _path_list(values.get("allowed_input_roots") or default_roots)
    values.setdefault("dbt_memory_limit", values["duckdb_memory_limit"])
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})
