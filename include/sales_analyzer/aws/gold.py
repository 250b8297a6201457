"""aws gold: publish_gold names the BI views dbt-athena built in the gold database.

The marts and the BI views (include/dbt/sales_analytics/models/bi/, materialized as views) are
built by the Cosmos build_gold tasks with dbt-athena; publish_gold makes no AWS call. It lists the
BI views from the manifest Cosmos renders, for the run report, and carries the gold asset.

Each build_gold task runs its Athena queries inside dbt, so it gets the Amazon provider's
"Query Results" link (AthenaQueryResultsLink, as AthenaOperator has) to the query that built its
model, found in dbt's own log of the task (`link_athena_query`, a Cosmos callback).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.dbt_project import MANIFEST
from include.sales_analyzer.errors import PipelineError
from include.sales_analyzer.report import finish_stage

log = logging.getLogger(__name__)
BI_FOLDER = "bi"  # models/bi/ of the dbt project

# One event of dbt's file log (logs/dbt.log, debug level by default):
#   "\x1b[0m15:17:12.163478 [debug] [Thread-1 (]: dbt.adapters.athena.constants adapter: Execute: ..."
# its message possibly over several lines (an SQL statement).
_DBT_LOG_EVENT = re.compile(
    r"^(?:\x1b\[0m)?\d\d:\d\d:\d\d\.\d+\s+\[\s*\w+\s*\]\s+\[([^\]]*)\]:\s?(.*?)"
    r"(?=^(?:\x1b\[0m)?\d\d:\d\d:\d\d\.\d+\s+\[|\Z)",
    re.MULTILINE | re.DOTALL,
)
# dbt-athena's own debug messages (dbt/adapters/athena/connections.py, AthenaCursor), after the
# "<logger> adapter: " prefix dbt's adapter logger puts before them
_EXECUTE = re.compile(r"^(?:[\w.]+ adapter: )?Execute: ", re.DOTALL)
_STARTED = re.compile(r"^(?:[\w.]+ adapter: )?Athena query (\S+) started")
# dbt's query comment, "-- /* {...} */" or "/* {...} */", and any other leading comment
_LEADING_COMMENTS = re.compile(r"^(?:\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/))*\s*", re.DOTALL)


def athena_queries(dbt_log: str) -> list[tuple[str, str]]:
    """(query execution id, SQL) of every query dbt-athena started, in order, from dbt's log.

    Threads interleave their events, so each "Execute" is paired with the next "started" of
    the same thread.
    """
    pending: dict[str, str] = {}
    queries: list[tuple[str, str]] = []
    for match in _DBT_LOG_EVENT.finditer(dbt_log):
        thread, message = match.group(1), match.group(2).rstrip()
        if execute := _EXECUTE.match(message):
            pending[thread] = message[execute.end() :]
        elif started := _STARTED.match(message):
            queries.append((started.group(1), pending.pop(thread, "")))
    return queries


def building_query(queries: list[tuple[str, str]]) -> str | None:
    """The query that built the task's model (its first CREATE), else the task's last query."""
    for query_id, sql in queries:
        if _LEADING_COMMENTS.sub("", sql, count=1).lower().startswith("create"):
            return query_id
    return queries[-1][0] if queries else None


def link_athena_query(project_dir: str, context: Any = None, **_: Any) -> None:
    """Cosmos callback after each build_gold dbt command: persist the task's Query Results link.

    A link is a convenience: a missing log or query leaves the task without one, never fails it.
    """
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from airflow.providers.amazon.aws.links.athena import AthenaQueryResultsLink

    # dbt writes its file log under the project (Cosmos' copy of it), or where DBT_LOG_PATH says
    dbt_log = Path(os.environ.get("DBT_LOG_PATH") or Path(project_dir) / "logs") / "dbt.log"
    try:
        queries = athena_queries(dbt_log.read_text(encoding="utf-8", errors="replace"))
    except OSError as missing:
        log.warning("no dbt log to find this task's Athena queries in: %s", missing)
        return
    query_id = building_query(queries)
    if query_id is None or context is None:
        return
    log.info("Athena queries of this task: %d; the one that built its model: %s", len(queries), query_id)
    hook = AwsBaseHook(aws_conn_id=get_settings().aws_conn_id, client_type="athena")
    AthenaQueryResultsLink.persist(
        context=context,
        operator=context["task"],
        region_name=hook.conn_region_name,
        aws_partition=hook.conn_partition,
        query_execution_id=query_id,
    )


def add_athena_query_links(group: Any) -> None:
    """Give every dbt task of the build_gold group the provider's Athena Query Results link.

    Cosmos makes the operators; the link is set on each instance (Airflow serializes and
    evaluates a task's own `operator_extra_links`).
    """
    from airflow.providers.amazon.aws.links.athena import AthenaQueryResultsLink

    for task in group.children.values():
        if hasattr(task, "children"):
            add_athena_query_links(task)
        else:
            task.operator_extra_links = (*task.operator_extra_links, AthenaQueryResultsLink())


def bi_views(manifest: Path = MANIFEST) -> list[str]:
    """The BI views' names: the models under models/bi/ that dbt materializes as views."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    return sorted(
        n["name"]
        for n in nodes
        if n["resource_type"] == "model"
        and n["config"].get("materialized") == "view"
        and n["fqn"][1:2] == [BI_FOLDER]
    )


def publish_gold(settings: Settings | None = None, manifest: Path = MANIFEST) -> dict[str, Any]:
    """publish_gold: the gold database and the BI views in it (database.view), from the manifest."""
    started = time.perf_counter()
    settings = settings or get_settings()
    views = [f"{settings.gold_database}.{name}" for name in bi_views(manifest)]
    if not views:
        raise PipelineError(f"no BI views (models/{BI_FOLDER}/) in {manifest}: rebuild it, `make manifest`")
    log.info("gold published: %s", ", ".join(views))
    return finish_stage({"database": settings.gold_database, "bi_views": views}, started)
