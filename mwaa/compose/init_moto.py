"""Create in the AWS emulator (moto) what the CloudFormation stack creates on AWS.

    python -m mwaa.compose.init_moto        (reads SALES_* and AWS_ENDPOINT_URL)

The compose mirror runs it once before Airflow starts, so that the aws backend finds its
buckets, Glue databases, crawler and Athena workgroup. Safe to run again.

The Glue job and the silver crawler are left to the DAG, where each is defined once:
run_bronze_to_silver creates the job from `aws.glue_job_definition` (and updates it
later), and catalog_silver in crawler mode creates the crawler from
`aws.crawler_definition`. The stack creates neither, only their roles.
"""

from __future__ import annotations

import os
from typing import Any

import boto3


def settings(env: dict[str, str] | None = None) -> dict[str, str]:
    """Resource names, from the same variables the DAG reads (and the stack's defaults)."""
    env = dict(os.environ if env is None else env)
    bucket = env.get("SALES_BUCKET", "smart-sales-analyzer")
    return {
        "bucket": bucket,
        "mwaa_bucket": env.get("SALES_MWAA_BUCKET", f"airflow-{bucket}"),
        "glue_database": env.get("SALES_GLUE_DATABASE", "sales_analytics"),
        "gold_database": env.get("SALES_GOLD_DATABASE", "gold"),
        "athena_workgroup": env.get("SALES_ATHENA_WORKGROUP", "sales_analytics"),
        "athena_dbt_workgroup": env.get("SALES_ATHENA_DBT_WORKGROUP", "sales_analytics_dbt"),
        "glue_job_name": env.get("SALES_GLUE_JOB_NAME", "sales-bronze-to-silver"),
        "glue_crawler_name": env.get("SALES_GLUE_CRAWLER_NAME", "sales-silver-crawler"),
    }


def _exists(call: Any, *missing: str) -> bool:
    try:
        call()
        return True
    except Exception as err:  # botocore's modelled errors differ per service
        if (
            type(err).__name__ in missing
            or getattr(err, "response", {}).get("Error", {}).get("Code") in missing
        ):
            return False
        raise


def create_all(names: dict[str, str], session: boto3.session.Session | None = None) -> None:
    """Create the buckets, databases and workgroups if they are missing."""
    session = session or boto3.session.Session()
    s3, glue, athena = session.client("s3"), session.client("glue"), session.client("athena")
    for bucket in (names["bucket"], names["mwaa_bucket"]):
        if not _exists(lambda b=bucket: s3.head_bucket(Bucket=b), "404", "NoSuchBucket"):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for database, prefix in ((names["glue_database"], "silver"), (names["gold_database"], "gold")):
        if not _exists(lambda d=database: glue.get_database(Name=d), "EntityNotFoundException"):
            glue.create_database(
                DatabaseInput={"Name": database, "LocationUri": f"s3://{names['bucket']}/{prefix}/"}
            )
    existing = {w["Name"] for w in athena.list_work_groups(MaxResults=50).get("WorkGroups", [])}
    for workgroup, config in workgroups(names).items():
        if workgroup not in existing:
            athena.create_work_group(Name=workgroup, Configuration=config)


def workgroups(names: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The stack's two Athena workgroups: BI (enforced results location) and dbt (not enforced).

    dbt-athena leaves external_location out of its CTAS statements in a workgroup that enforces
    its results location, and Athena then writes the table's data under that location
    (s3://<results>/tables/<query id>/), which the lifecycle rule expires after 7 days.
    """
    results = f"s3://{names['bucket']}/athena-results"
    return {
        names["athena_workgroup"]: {
            "ResultConfiguration": {"OutputLocation": f"{results}/"},
            "EnforceWorkGroupConfiguration": True,
            "BytesScannedCutoffPerQuery": 1073741824,
        },
        names["athena_dbt_workgroup"]: {
            "ResultConfiguration": {"OutputLocation": f"{results}/dbt/"},
            "EnforceWorkGroupConfiguration": False,
            "BytesScannedCutoffPerQuery": 1073741824,
        },
    }


def main() -> None:
    """Create everything named by the environment and say so."""
    names = settings()
    create_all(names)
    print("AWS emulator ready: " + ", ".join(f"{k}={v}" for k, v in sorted(names.items())))


if __name__ == "__main__":
    main()
