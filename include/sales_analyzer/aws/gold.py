"""aws gold: the BI views over the gold marts, one Athena statement each, in the gold database."""

from __future__ import annotations

from typing import Any

from include.sales_analyzer.aws.clients import mask_before_execute
from include.sales_analyzer.aws.operators import SalesAthenaOperator
from include.sales_analyzer.config import SQL_DIR, Settings

# BI views over the gold marts, one Athena statement each: include/sales_analyzer/sql/athena/<name>.sql
BI_VIEWS = ("v_sales_enriched", "v_monthly_revenue", "v_segment_share")
ATHENA_SQL_DIR = SQL_DIR / "athena"


def view_sql_files() -> list[str]:
    """The BI views' SQL files, relative to the DAG's template search path."""
    return [f"athena/{name}.sql" for name in BI_VIEWS]


def render_view_sql(name: str, gold_database: str) -> str:
    """One view's statement as the AthenaOperator renders it (for tests and previews)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(SQL_DIR)), undefined=StrictUndefined, autoescape=False)
    return env.get_template(f"athena/{name}.sql").render(params={"gold_database": gold_database})


def athena_views_operator(settings: Settings, task_id: str = "publish_gold", **kwargs: Any) -> Any:
    """publish_gold: one Athena statement per BI view, in the gold database, in the workgroup.

    The workgroup (from the stack) enforces the results location and the bytes-scanned limit.
    """
    return SalesAthenaOperator.partial(
        task_id=task_id,
        database=settings.gold_database,
        workgroup=settings.athena_workgroup,
        sleep_time=settings.aws_poll_seconds,
        deferrable=settings.aws_deferrable,
        aws_conn_id=settings.aws_conn_id,
        params={"gold_database": settings.gold_database},
        pre_execute=mask_before_execute,
        **kwargs,
    ).expand(query=view_sql_files())
