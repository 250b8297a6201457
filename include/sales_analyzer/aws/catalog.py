"""aws catalog: the silver table over the validated version, its crawler, publish and pruning of versions."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator

from include.sales_analyzer.aws.clients import (
    AwsStepFailed,
    delete_keys,
    list_keys,
    mask_aws_identity,
    mask_before_execute,
    s3_client,
    s3_errors,
)
from include.sales_analyzer.aws.layout import Layout
from include.sales_analyzer.config import Settings, get_settings
from include.sales_analyzer.contract import Contract, load_contract
from include.sales_analyzer.report import finish_stage

log = logging.getLogger(__name__)

# Partition projection: Athena computes partitions from the table's ranges instead of reading
# them from the catalog. The order_year range is the silver version's own (publish_silver lists
# its partition folders); this one only stands in for a version with no partition to read.
DEFAULT_ORDER_YEAR_RANGE = "2014,2030"
PARQUET_SERDE = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}
GLUE_TYPES = {"BIGINT": "bigint", "INTEGER": "int", "VARCHAR": "string", "DATE": "date"}


def partition_ranges(keys: Iterable[str], partition_by: Iterable[str]) -> dict[str, str]:
    """'min,max' of each integer partition column, read from hive folder names in object keys."""
    found: dict[str, list[int]] = {p: [] for p in partition_by}
    for key in keys:
        for part in key.split("/"):
            name, eq, value = part.partition("=")
            if eq and name in found and value.isdigit():
                found[name].append(int(value))
    return {p: f"{min(v)},{max(v)}" for p, v in found.items() if v}


def silver_table_input(
    settings: Settings,
    location: str,
    run_key: str,
    contract: Contract | None = None,
    ranges: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The Glue table over one silver version: columns from the contract, partition projection.

    With projection Athena derives partitions from the table's template instead of catalog
    partitions, so pointing the table at another version is one UpdateTable: atomic for readers.
    `ranges` gives each partition column's 'min,max' in this version, so Athena enumerates only
    years that hold data (a fixed 1990-2100 range would list mostly empty partitions).
    """
    contract = contract or load_contract()
    partitions = set(contract.partition_by)

    def glue_type(sql_type: str) -> str:
        return GLUE_TYPES.get(sql_type, sql_type.lower().replace(" ", ""))

    columns = [
        {"Name": name, "Type": glue_type(sql_type)}
        for name, sql_type in contract.silver_columns
        if name not in partitions
    ]
    types = dict(contract.silver_columns)
    template = location + "/".join(f"{p}=${{{p}}}" for p in contract.partition_by) + "/"
    parameters = {
        "classification": "parquet",
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        "storage.location.template": template,
        "sales.run_key": run_key,
        "sales.contract_version": str(contract.version),
    }
    for p in contract.partition_by:
        parameters[f"projection.{p}.type"] = "integer"
        fallback = "1,12" if p.endswith("month") else DEFAULT_ORDER_YEAR_RANGE
        parameters[f"projection.{p}.range"] = (ranges or {}).get(p, fallback)
    return {
        "Name": contract.name,
        "Description": contract.raw.get("description", ""),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [{"Name": p, "Type": glue_type(types[p])} for p in contract.partition_by],
        "StorageDescriptor": {"Columns": columns, "Location": location, **PARQUET_SERDE},
    }


def glue_catalog(settings: Settings) -> Any:
    """A boto3 Glue client from the settings' Airflow connection."""
    from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

    return GlueCatalogHook(aws_conn_id=settings.aws_conn_id).get_conn()


def _get_table(glue: Any, database: str, name: str) -> dict | None:
    try:
        return glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None


def _put_table(glue: Any, database: str, table_input: dict[str, Any]) -> str:
    if _get_table(glue, database, table_input["Name"]) is None:
        glue.create_table(DatabaseName=database, TableInput=table_input)
        return "created"
    glue.update_table(DatabaseName=database, TableInput=table_input)
    return "updated"


def live_version(settings: Settings, contract: Contract | None = None) -> str | None:
    """The run key of the silver version the Glue table points at (None before the first publish)."""
    contract = contract or load_contract()
    table = _get_table(glue_catalog(settings), settings.glue_database, contract.name)
    return (table or {}).get("Parameters", {}).get("sales.run_key")


def _replace_published(s3: Any, lay: Layout, staging: str, target: str, skip: str | None = None) -> None:
    """Make `target` hold what `staging` holds (its objects copied over, the others deleted)."""
    old = {o["Key"] for o in list_keys(s3, lay.bucket, target)}
    new = set()
    for obj in list_keys(s3, lay.bucket, staging):
        if skip and obj["Key"].startswith(skip):
            continue
        key = target + obj["Key"][len(staging) :]
        with s3_errors(f"copy of {lay.uri(obj['Key'])} to {lay.uri(key)}"):
            s3.copy_object(Bucket=lay.bucket, Key=key, CopySource={"Bucket": lay.bucket, "Key": obj["Key"]})
        new.add(key)
    delete_keys(s3, lay.bucket, sorted(old - new))


def publish_silver(run: dict[str, Any], settings: Settings | None = None, keep_versions: int = 2) -> dict:
    """Point the silver table at the validated version (one UpdateTable); quarantine and repairs go
    into place first."""
    started = time.perf_counter()
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3, glue = Layout.of(settings), s3_client(settings), glue_catalog(settings)
    contract = load_contract()
    target = lay.quarantine_dir(run["ingest_date"])
    repairs = lay.repairs_dir(run["ingest_date"])
    previous = live_version(settings, contract)
    if previous == run["run_key"]:
        # A retry after this run's table update: its quarantine is in place, its staging may be gone.
        log.info("silver version %s is live already: quarantine left as published", run["run_key"])
    else:
        # Quarantine and repairs first: a failure here leaves the previous silver live.
        staging = run["quarantine_staging_prefix"]
        repairs_staging = lay.repairs_staging(run["run_key"])
        _replace_published(s3, lay, staging, target, skip=repairs_staging)
        _replace_published(s3, lay, repairs_staging, repairs)
    location = lay.uri(run["silver_prefix"])
    version_keys = [
        o["Key"][len(run["silver_prefix"]) :] for o in list_keys(s3, lay.bucket, run["silver_prefix"])
    ]
    ranges = partition_ranges((k for k in version_keys if k.endswith(".parquet")), contract.partition_by)
    table_input = silver_table_input(settings, location, run["run_key"], contract, ranges)
    action = _put_table(glue, settings.glue_database, table_input)
    log.info("silver published: %s.%s -> %s (%s)", settings.glue_database, contract.name, location, action)
    delete_keys(
        s3, lay.bucket, [o["Key"] for o in list_keys(s3, lay.bucket, run["quarantine_staging_prefix"])]
    )
    pruned = prune_versions(s3, lay, run["run_key"], previous if keep_versions > 1 else None)
    return finish_stage(
        {
            "table": f"{settings.glue_database}.{contract.name}",
            "location": location,
            "quarantine": lay.uri(target),
            "repairs": lay.uri(repairs),
            "pruned_versions": pruned,
        },
        started,
    )


def _groups(s3: Any, bucket: str, root: str) -> dict[str, tuple[list[str], datetime]]:
    """The objects under root/<name>/ by name, with the time the newest of them was written."""
    groups: dict[str, tuple[list[str], datetime]] = {}
    for obj in list_keys(s3, bucket, root):
        name = obj["Key"][len(root) :].split("/", 1)[0]
        keys, newest = groups.get(name, ([], obj["LastModified"]))
        groups[name] = ([*keys, obj["Key"]], max(newest, obj["LastModified"]))
    return groups


def prune_versions(s3: Any, lay: Layout, live_key: str, previous_key: str | None) -> list[str]:
    """Delete the silver versions and quarantine staging no reader or running job needs.

    Kept: the live version, the one live before it (for rollback; on a retried publish, the newest
    older one), and whatever was written after the live version (a run still going). Deleted: older
    published versions, and what runs that never published left behind. A run whose Glue job failed
    leaves its partial version and staging there: its teardown only runs after a successful setup.
    """
    versions = _groups(s3, lay.bucket, lay.versions_dir)
    if live_key not in versions:
        return []
    written = versions[live_key][1]
    older = sorted(
        (v for v, (_, t) in versions.items() if v != live_key and t <= written), key=lambda v: versions[v][1]
    )
    if previous_key == live_key and older:  # a retry: the table already points at this run
        previous_key = older[-1]
    doomed = [v for v in older if v != previous_key]
    for version in doomed:
        delete_keys(s3, lay.bucket, versions[version][0])
    staging_root = f"{lay.settings.quarantine_prefix}/_staging/"
    stale = [
        keys
        for name, (keys, t) in _groups(s3, lay.bucket, staging_root).items()
        if name != live_key and t <= written
    ]
    for keys in stale:
        delete_keys(s3, lay.bucket, keys)
    if doomed or stale:
        log.info("pruned %d silver versions and %d stale quarantine stagings", len(doomed), len(stale))
    return doomed


def discard_unpublished(run: dict[str, Any], settings: Settings | None = None) -> None:
    """Drop a run's quarantine staging, and its silver version unless it is the live one."""
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    lay, s3 = Layout.of(settings), s3_client(settings)
    delete_keys(
        s3, lay.bucket, [o["Key"] for o in list_keys(s3, lay.bucket, run["quarantine_staging_prefix"])]
    )
    if live_version(settings) != run["run_key"]:
        dropped = delete_keys(
            s3, lay.bucket, [o["Key"] for o in list_keys(s3, lay.bucket, run["silver_prefix"])]
        )
        if dropped:
            log.info(
                "discarded unpublished silver version %s (%d objects)", lay.uri(run["silver_prefix"]), dropped
            )


def define_silver_table(settings: Settings | None = None) -> dict[str, Any]:
    """catalog_silver in ddl mode: (re)write the silver table's definition from the contract.

    Keeps the version publish_silver pointed it at; a contract change reaches the catalog here.
    """
    settings = settings or get_settings()
    mask_aws_identity(settings.aws_conn_id)
    glue, contract = glue_catalog(settings), load_contract()
    current = _get_table(glue, settings.glue_database, contract.name)
    if current is None:
        raise AwsStepFailed(
            f"Glue table {settings.glue_database}.{contract.name} does not exist: publish_silver creates it"
        )
    location = current["StorageDescriptor"]["Location"]
    run_key = current.get("Parameters", {}).get("sales.run_key", "")
    params = current.get("Parameters", {})
    # Keep the ranges publish_silver read from the live version's partition folders.
    ranges = {
        p: params[f"projection.{p}.range"] for p in contract.partition_by if f"projection.{p}.range" in params
    }
    wanted = silver_table_input(settings, location, run_key, contract, ranges)
    same = (
        all(current.get(k) == wanted[k] for k in ("PartitionKeys", "Parameters"))
        and current["StorageDescriptor"].get("Columns") == wanted["StorageDescriptor"]["Columns"]
    )
    if not same:
        glue.update_table(DatabaseName=settings.glue_database, TableInput=wanted)
    log.info("catalog: %s.%s %s", settings.glue_database, contract.name, "unchanged" if same else "updated")
    return {
        "table": f"{settings.glue_database}.{contract.name}",
        "location": location,
        "columns": [c["Name"] for c in wanted["StorageDescriptor"]["Columns"]],
        "changed": not same,
    }


def crawler_definition(settings: Settings, role_arn: str, contract: Contract | None = None) -> dict[str, Any]:
    """The silver crawler's one definition (CreateCrawler's input): catalog_silver creates or updates it.

    It crawls the silver table itself (a catalog target), so it reads exactly the location
    publish_silver pointed the table at: the live version, never another kept version under
    silver/_versions/ nor the quarantine staging, and it writes only into the silver database.
    Gold is not crawled: dbt-athena registers each gold table (location, format, columns) with
    the CTAS that writes it, and an S3 crawl of gold/ would see each table's unique data folders
    as partitions or tables of their own. See docs/aws-backend.md.
    """
    contract = contract or load_contract()
    return {
        "Name": settings.glue_crawler_name,
        "Role": role_arn,
        "Description": "Keeps the silver table's schema and partitions in step with its live version.",
        "Targets": {"CatalogTargets": [{"DatabaseName": settings.glue_database, "Tables": [contract.name]}]},
        # A crawler over catalog targets must only log deletions, never delete or deprecate tables.
        "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
        "Configuration": json.dumps(
            {
                "Version": 1.0,
                "CrawlerOutput": {
                    # New columns are added; the contract's types and the projection stay.
                    "Tables": {"AddOrUpdateBehavior": "MergeNewColumns"},
                    "Partitions": {"AddOrUpdateBehavior": "InheritFromTable"},
                },
            },
            sort_keys=True,
        ),
        "CrawlerSecurityConfiguration": settings.glue_security_configuration,
    }


def crawler_operator(settings: Settings, **kwargs: Any) -> GlueCrawlerOperator:
    """catalog_silver in crawler mode: create or update the silver crawler, run it, wait for it.

    Defined here rather than in the stack: its catalog target is the silver table, which the
    first publish_silver creates (the stack only creates the crawler's role).
    """
    return GlueCrawlerOperator(
        task_id="catalog_silver",
        config=crawler_definition(settings, settings.glue_crawler_role),
        poll_interval=settings.aws_poll_seconds,
        deferrable=settings.aws_deferrable,
        aws_conn_id=settings.aws_conn_id,
        pre_execute=mask_before_execute,
        **kwargs,
    )
