"""The aws backend: S3 bronze, the Glue silver job, the quality gate, the Glue catalog, gold's BI views.

One module per stage (layout, bronze, silver, quality, catalog, gold, report), the operator classes
apart (operators), and the S3 helpers they share (clients). Stage functions are called by the DAG's
TaskFlow tasks; operator factories configure the amazon provider's operators from the settings.
Nothing here touches AWS at import time. The names below are re-exported so that
`from include.sales_analyzer import aws; aws.upload_bronze(...)` keeps working.
"""

from __future__ import annotations

from include.sales_analyzer.aws.bronze import extract_to_landing, land_file, upload_bronze
from include.sales_analyzer.aws.catalog import (
    crawler_definition,
    crawler_operator,
    define_silver_table,
    discard_unpublished,
    live_version,
    partition_ranges,
    prune_versions,
    publish_silver,
    silver_table_input,
)
from include.sales_analyzer.aws.clients import (
    AwsStepFailed,
    delete_keys,
    list_keys,
    mask_aws_identity,
    sync_file,
)
from include.sales_analyzer.aws.gold import bi_views, publish_gold
from include.sales_analyzer.aws.layout import Layout, check_settings
from include.sales_analyzer.aws.operators import SalesGlueJobOperator
from include.sales_analyzer.aws.quality import validate_silver
from include.sales_analyzer.aws.report import write_run_report
from include.sales_analyzer.aws.silver import glue_job_definition, glue_job_operator, upload_glue_artifacts

__all__ = [
    "AwsStepFailed",
    "Layout",
    "SalesGlueJobOperator",
    "bi_views",
    "check_settings",
    "crawler_definition",
    "crawler_operator",
    "define_silver_table",
    "delete_keys",
    "discard_unpublished",
    "extract_to_landing",
    "glue_job_definition",
    "glue_job_operator",
    "land_file",
    "list_keys",
    "live_version",
    "mask_aws_identity",
    "partition_ranges",
    "prune_versions",
    "publish_gold",
    "publish_silver",
    "silver_table_input",
    "sync_file",
    "upload_bronze",
    "upload_glue_artifacts",
    "validate_silver",
    "write_run_report",
]
