"""DAG integrity: imports cleanly, follows the house rules, and has the expected graph."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from include.sales_analyzer.dbt_project import MANIFEST

REPO = Path(__file__).resolve().parents[2]
DAG_ID = "sales_medallion"

MAIN_PATH = [
    "extract_source",
    "upload_bronze",
    "run_bronze_to_silver",
    "validate_silver",
    "publish_silver",
    "catalog_silver",
]
GOLD_MODELS = {
    "stg_silver__sales",
    "fct_sales",
    "dim_customer",
    "dim_product",
    "dim_geography",
    "dim_date",
    "yearly",
    "monthly",
    "segment_yearly",
    "regional_revenue",
    "top_products",
    "v_sales_enriched",
    "v_monthly_revenue",
    "v_segment_share",
}


@pytest.fixture(scope="module")
def dagbag():
    """Load the dags/ folder the way the scheduler does."""
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    print(f"DagBag parse: {time.perf_counter() - started:.2f}s")
    return bag


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert list(dagbag.dag_ids) == [DAG_ID]


def test_dag_file_name_matches_dag_id() -> None:
    assert (REPO / "dags" / f"{DAG_ID}.py").is_file()


def test_house_rules(dagbag) -> None:
    dag = dagbag.dags[DAG_ID]
    assert dag.doc_md and "sales_medallion" in dag.doc_md
    assert dag.schedule == "@daily" or str(dag.timetable.summary) == "@daily"
    assert dag.catchup is False
    assert {"sales", "medallion"} <= set(dag.tags)
    for task in dag.tasks:
        assert task.owner == "smart-sales-analyzer", task.task_id
        assert task.retries >= 2, task.task_id
        assert task.retry_delay >= timedelta(seconds=30), task.task_id


def test_params(dagbag) -> None:
    params = dagbag.dags[DAG_ID].params
    assert params["source"] == "synthetic"
    assert params["rows"] == 9800
    assert params["seed"] == 42
    assert set(params) >= {"source", "source_path", "rows", "seed", "damaged", "max_quarantine_fraction"}


def test_task_graph(dagbag) -> None:
    dag = dagbag.dags[DAG_ID]
    ids = set(dag.task_ids)
    for upstream, downstream in itertools.pairwise(MAIN_PATH):
        assert downstream in dag.get_task(upstream).downstream_task_ids, (upstream, downstream)
    gold = {
        t.removeprefix("build_gold.").removesuffix("_model_build")
        for t in ids
        if t.startswith("build_gold.") and not t.endswith("__test")
    }
    assert gold >= GOLD_MODELS, GOLD_MODELS - gold
    # one task per model of the manifest Cosmos renders
    manifest = json.loads(MANIFEST.read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    built = {t.split(".")[1].removesuffix("_model_build") for t in ids if t.endswith("_model_build")}
    assert built == models
    # a test on a view and another model (the views' singular tests) runs after both
    keeps_every_sale = dag.get_task("build_gold.v_sales_enriched_keeps_every_sale_test")
    assert keeps_every_sale.upstream_task_ids == {
        "build_gold.fct_sales_model_build",
        "build_gold.v_sales_enriched_model_build",
    }
    # one `dbt build` task per model (its tests included), in dependency order
    staging = dag.get_task("build_gold.stg_silver__sales_model_build")
    assert "build_gold.dim_customer_model_build" in staging.downstream_task_ids
    relationship = dag.get_task("build_gold.relationships_fct_sales_order_date__date_day__ref_dim_date__test")
    assert relationship.upstream_task_ids == {
        "build_gold.dim_date_model_build",
        "build_gold.fct_sales_model_build",
    }
    fct = dag.get_task("build_gold.fct_sales_model_build")
    assert {"build_gold.yearly_model_build", "build_gold.monthly_model_build"} <= fct.downstream_task_ids
    # the BI views after the marts they read
    view = dag.get_task("build_gold.v_monthly_revenue_model_build")
    assert {"build_gold.monthly_model_build", "build_gold.dim_date_model_build"} <= view.upstream_task_ids
    # every gold task runs after catalog_silver and before publish_gold
    catalog = dag.get_task("catalog_silver")
    assert any(t.startswith("build_gold.") for t in catalog.downstream_task_ids)
    publish_gold = dag.get_task("publish_gold")
    assert any(t.startswith("build_gold.") for t in publish_gold.upstream_task_ids)
    assert dag.get_task("write_run_report").upstream_task_ids >= {"publish_gold", "validate_silver"}
    teardown = dag.get_task("discard_unpublished_silver")
    assert teardown.is_teardown
    assert "publish_silver" in teardown.upstream_task_ids


def test_extra_links(dagbag) -> None:
    """The local backend's project links (the aws ones: tests/mwaa/test_settings.py)."""
    dag = dagbag.dags[DAG_ID]
    links = {t.task_id: sorted(link.name for link in t.operator_extra_links) for t in dag.tasks}
    assert links["validate_silver"] == ["Data Docs", "Run summary"]
    assert links["write_run_report"] == ["Run report"]
    assert all(links[t] == [] for t in links if t.startswith("build_gold."))


def test_assets(dagbag) -> None:
    dag = dagbag.dags[DAG_ID]
    outlets = {t.task_id: [a.name for a in t.outlets] for t in dag.tasks if t.outlets}
    assert outlets["upload_bronze"] == ["sales_bronze"]
    assert outlets["publish_silver"] == ["sales_silver"]
    assert outlets["publish_gold"] == ["sales_gold"]


@pytest.fixture(scope="module")
def fresh_parse() -> dict[str, list[str]]:
    """Parse the DAG file in a fresh interpreter: the modules it loaded and the files it opened.

    An audit hook records every file the parse opens.
    """
    code = (
        "import json, sys, runpy\n"
        "opened = set()\n"
        "def hook(event, args):\n"
        "    if event == 'open' and isinstance(args[0], str): opened.add(args[0])\n"
        "sys.addaudithook(hook)\n"
        "runpy.run_path('dags/sales_medallion.py')\n"
        "print('PARSE=' + json.dumps({'modules': sorted(sys.modules), 'opened': sorted(opened)}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    marker = [line for line in proc.stdout.splitlines() if line.startswith("PARSE=")]
    assert len(marker) == 1, proc.stdout[-2000:]
    return json.loads(marker[0].removeprefix("PARSE="))


def test_dag_file_has_no_heavy_top_level_imports(fresh_parse: dict[str, list[str]]) -> None:
    """Importing the DAG module must not pull pandas, GX, pyspark or polars.

    (duckdb itself is imported by the official DuckDB provider's operator module.)
    """
    heavy = {"pandas", "great_expectations", "pyspark", "polars"}
    assert heavy.isdisjoint(fresh_parse["modules"]), heavy & set(fresh_parse["modules"])


def test_dag_file_reads_only_the_manifest_at_parse(fresh_parse: dict[str, list[str]]) -> None:
    """Parsing reads no project file but the dbt manifest Cosmos renders the task group from.

    Paths, the contract and settings are resolved when a task runs (the scheduler parses the
    file every 30 s).
    """
    opened = {Path(p).resolve() for p in fresh_parse["opened"]}
    in_project = {
        p.relative_to(REPO).as_posix()
        for p in opened
        if p.is_relative_to(REPO)
        and p.suffix not in {".py", ".pyc"}
        and not p.relative_to(REPO).parts[0].startswith((".venv", ".airflow"))
    }
    dbt = "include/dbt/sales_analytics"
    assert in_project <= {f"{dbt}/target/manifest.json", f"{dbt}/dbt_project.yml"}, in_project


def test_airflow3_imports_only() -> None:
    """ruff's AIR3 rules: no Airflow 2 import paths in dags/ or include/."""
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run(
        [str(ruff), "check", "--select", "AIR3", "--preview", "dags", "include"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
