"""
### sales_medallion

The Smart Sales Analyzer medallion pipeline over Superstore sales records.

| stage | local backend (default) | task |
|---|---|---|
| extract | synthetic generator, Kaggle `rohitsahoo/sales-forecasting`, or a file | `extract_source` |
| bronze | the file byte for byte under `lake/bronze/sales/ingest_date=.../` | `upload_bronze` |
| silver | contract-driven DuckDB SQL: typed, de-duplicated on Row ID, quarantine | `run_bronze_to_silver` |
| quality | Great Expectations suite from the contract, run in SQL | `validate_silver` |
| publish | atomic swap of the validated silver version | `publish_silver` |
| catalog | DuckDB views over silver (the Glue crawler's twin) | `catalog_silver` |
| gold | dbt star schema and marts through astronomer-cosmos | `build_gold` |
| publish | `sales_analytics.duckdb` and `gold/*.csv`, swapped in atomically | `publish_gold` |
| report | `run_report.json`, `runs/`, `etl_pipeline.log` | `write_run_report` |

With `PIPELINE_BACKEND=aws` the same stages run on AWS (`include/sales_analyzer/aws/`):
bronze in S3, the Glue job `run_bronze_to_silver` (after `upload_glue_artifacts`), the same Great
Expectations suite on the Parquet it wrote, `publish_silver` pointing the Glue table at the
validated version, `catalog_silver` by table definition or crawler (`SALES_CATALOG_MODE`), gold and its BI
views (dbt views) by dbt-athena, `publish_gold` naming the BI views, and the run report in S3.

Params choose the source (`synthetic`, `kaggle`, `file`), its size and seed. Logic lives in
`include/sales_analyzer` (the stages in `local/` and `aws/`); this file only wires them, along
one spine for both backends. Cosmos reads the dbt manifest (built by `make manifest`) when the
DAG is parsed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pendulum
from airflow.providers.duckdb.operators.duckdb import DuckDBExecuteQueryOperator
from airflow.sdk import Asset, Param, chain, dag, task

from include.sales_analyzer.config import SQL_DIR, get_settings
from include.sales_analyzer.gold import DUCKDB_CONN_ID, gold_task_group
from include.sales_analyzer.operators import RunReportOperator, SilverQualityGateOperator

if TYPE_CHECKING:
    from include.sales_analyzer.report import RunContext

settings = get_settings()  # environment variables only: no I/O at parse time
# Named assets: their identity must not change with the data directory or the backend.
BRONZE = Asset("sales_bronze")
SILVER = Asset("sales_silver")
GOLD = Asset("sales_gold")


def _run() -> RunContext:
    """The running DAG run's ingest date, run id and run key."""
    from include.sales_analyzer.report import run_context

    return run_context()


@dag(
    dag_id="sales_medallion",
    doc_md=__doc__,
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1 if settings.backend == "local" else 8,
    template_searchpath=[str(SQL_DIR)],
    tags=["sales", "medallion", "dbt", "great-expectations"]
    + (["duckdb"] if settings.backend == "local" else ["aws", "glue", "athena"]),
    default_args={
        "owner": "smart-sales-analyzer",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
    },
    params={
        "source": Param("synthetic", enum=["synthetic", "kaggle", "file"], description="Input source"),
        # optional (null allowed): the UI's form must not require a path for the synthetic source
        "source_path": Param(None, type=["null", "string"], description="CSV path when source is 'file'"),
        "rows": Param(9800, type="integer", minimum=1, description="Synthetic rows"),
        "seed": Param(42, type="integer", description="Synthetic generator seed"),
        "damaged": Param(False, type="boolean", description="Inject damaged-file quirks"),
        "max_quarantine_fraction": Param(
            0.01, type="number", minimum=0, maximum=1, description="Quality gate threshold"
        ),
    },
)
def sales_medallion() -> None:
    """Extract -> bronze -> silver -> quality gate -> catalog -> gold -> report."""
    if settings.backend == "aws":
        aws_stages()
    else:
        local_stages()


def local_stages() -> None:
    """The stages on the local file system: DuckDB silver, the same gate, dbt-duckdb gold."""

    # extract
    @task
    def extract_source(params: dict | None = None) -> dict:
        from include.sales_analyzer.pipeline import extract

        return extract(
            params["source"],
            rows=params["rows"],
            seed=params["seed"],
            damaged=params["damaged"],
            source_path=params["source_path"] or None,
        )

    # bronze
    @task(outlets=[BRONZE])
    def upload_bronze(extracted: dict) -> dict:
        from include.sales_analyzer.local.bronze import upload_bronze as upload

        return upload(extracted, _run().ingest_date)

    # silver
    @task
    def run_bronze_to_silver(bronze: dict) -> dict:
        from include.sales_analyzer.local.silver import run_bronze_to_silver as transform

        run = _run()
        return transform(bronze, run.ingest_date, run.run_key)

    @task(outlets=[SILVER])
    def publish_silver(silver: dict) -> dict:
        from include.sales_analyzer.local.silver import publish_silver as publish

        return publish(silver)

    @task
    def discard_unpublished_silver(silver: dict) -> None:
        """Remove this run's staging files, and its silver version if it never went live."""
        from include.sales_analyzer.local.silver import discard_unpublished_silver as discard

        discard(silver)

    catalog_silver = DuckDBExecuteQueryOperator(
        task_id="catalog_silver",
        conn_id=DUCKDB_CONN_ID,
        sql="catalog/create_silver_views.sql",
    )

    # gold
    build_gold = gold_task_group(settings)

    @task(outlets=[GOLD])
    def publish_gold() -> dict:
        from include.sales_analyzer.local.gold import publish_gold as publish

        return publish(_run().run_key)

    def write_run_report(
        extracted: dict, bronze: dict, silver: dict, quality: dict, gold: dict, params: dict | None = None
    ) -> str:
        from include.sales_analyzer.local.report import write_run_report as write

        stages = {"extract": extracted, "bronze": bronze, "silver": silver, "quality": quality, "gold": gold}
        return write(_run(), params=dict(params), stages=stages)["report"]

    extracted = extract_source()
    bronze = upload_bronze(extracted)
    silver = run_bronze_to_silver(bronze)
    # quality: the GX checkpoint operator, with a Data Docs link on the task
    quality = SilverQualityGateOperator(task_id="validate_silver", silver=silver).output
    published = publish_silver(silver)
    cleanup = discard_unpublished_silver(silver).as_teardown(setups=silver)
    gold = publish_gold()
    # report: the task links to this run's report (RunReportOperator)
    report = RunReportOperator(
        task_id="write_run_report",
        python_callable=write_run_report,
        op_kwargs={
            "extracted": extracted,
            "bronze": bronze,
            "silver": silver,
            "quality": quality,
            "gold": gold,
        },
    )
    chain(quality, published, cleanup)
    chain(published, catalog_silver, build_gold, gold, report)


def aws_stages() -> None:
    """The same stages on S3, Glue, Great Expectations, the Glue catalog and Athena."""
    from include.sales_analyzer.aws import bronze, catalog, gold, layout, report, silver

    layout.check_settings(settings)

    # extract: the file is made and landed in S3 in one task (tasks may run on different workers)
    @task(task_id="extract_source")
    def extract_to_landing(params: dict | None = None) -> dict:
        return bronze.extract_to_landing(dict(params), _run().run_key)

    # bronze
    @task(task_id="upload_bronze", outlets=[BRONZE])
    def upload_bronze_to_s3(landed: dict) -> dict:
        return bronze.upload_bronze(landed, _run().ingest_date)

    # silver
    @task(multiple_outputs=True)
    def upload_glue_artifacts(bronze_object: dict) -> dict:
        run = _run()
        return silver.upload_glue_artifacts(bronze_object, run.ingest_date, run.run_key)

    @task(task_id="publish_silver", outlets=[SILVER])
    def publish_silver_table(run: dict) -> dict:
        return catalog.publish_silver(run)

    @task(task_id="discard_unpublished_silver")
    def discard_unpublished_silver_in_s3(run: dict) -> None:
        """Remove this run's quarantine staging, and its silver version if it never went live."""
        catalog.discard_unpublished(run)

    @task(task_id="catalog_silver")
    def define_silver_table() -> dict:
        return catalog.define_silver_table()

    @task(task_id="publish_gold", outlets=[GOLD])
    def name_bi_views() -> dict:
        """The BI views dbt-athena built in gold (build_gold's view tasks), from the manifest."""
        return gold.publish_gold()

    def write_run_report_to_s3(
        extracted: dict,
        bronze_object: dict,
        run: dict,
        quality: dict,
        glue_run_id: str,
        published_gold: dict,
        params: dict | None = None,
    ) -> str:
        stages = {"extract": extracted, "bronze": bronze_object, "quality": quality}
        written = report.write_run_report(
            _run(),
            run=run,
            params=dict(params),
            stages=stages,
            glue_run_id=glue_run_id,
            gold=published_gold,
        )
        return written["report"]

    extracted = extract_to_landing()
    landed_bronze = upload_bronze_to_s3(extracted)
    run = upload_glue_artifacts(landed_bronze)
    glue_run = silver.glue_job_operator(settings, script_args=run["arguments"])
    quality = SilverQualityGateOperator(
        task_id="validate_silver", backend="aws", bronze=landed_bronze, glue_run=run
    ).output
    published = publish_silver_table(run)
    cleanup = discard_unpublished_silver_in_s3(run).as_teardown(setups=glue_run)
    if settings.catalog_mode == "crawler":
        catalog_silver = catalog.crawler_operator(settings)
    else:
        catalog_silver = define_silver_table()
    # gold
    build_gold = gold_task_group(settings)
    gold_views = name_bi_views()
    run_report = RunReportOperator(
        task_id="write_run_report",
        python_callable=write_run_report_to_s3,
        op_kwargs={
            "extracted": extracted,
            "bronze_object": landed_bronze,
            "run": run,
            "quality": quality,
            "glue_run_id": glue_run.output,
            "published_gold": gold_views,
        },
    )
    chain(glue_run, quality, published, cleanup)
    chain(published, catalog_silver, build_gold, gold_views, run_report)


sales_medallion()
