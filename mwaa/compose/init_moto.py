"""Create in the AWS emulator (moto) what the CloudFormation stack creates on AWS.

    python -m mwaa.compose.init_moto        (reads SALES_* and AWS_ENDPOINT_URL)

The compose mirror runs it once before Airflow starts, so that the aws backend finds its
buckets, Glue databases, crawler and Athena workgroup. Safe to run again.

The Glue job is left to the DAG: its run_bronze_to_silver task creates the job from
`aws.glue_job_definition` when it is missing and updates it otherwise. moto has no
UpdateJob, so a job created here with any other definition would fail the first run.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

FAKE_ROLE = "arn:aws:iam::123456789012:role/{}"


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
        "glue_job_name": env.get("SALES_GLUE_JOB_NAME", "sales-bronze-to-silver"),
        "glue_crawler_name": env.get("SALES_GLUE_CRAWLER_NAME", "sales-lake-crawler"),
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
    """Create the buckets, databases, crawler and workgroup if they are missing."""
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
    crawler = names["glue_crawler_name"]
    if not _exists(lambda: glue.get_crawler(Name=crawler), "EntityNotFoundException"):
        glue.create_crawler(
            Name=crawler,
            Role=FAKE_ROLE.format("glue-crawler"),
            DatabaseName=names["glue_database"],
            Targets={
                "S3Targets": [
                    {"Path": f"s3://{names['bucket']}/silver/"},
                    {"Path": f"s3://{names['bucket']}/gold/"},
                ]
            },
        )
    workgroup = names["athena_workgroup"]
    existing = {w["Name"] for w in athena.list_work_groups(MaxResults=50).get("WorkGroups", [])}
    if workgroup not in existing:
        athena.create_work_group(
            Name=workgroup,
            Configuration={
                "ResultConfiguration": {"OutputLocation": f"s3://{names['bucket']}/athena-results/"},
                "EnforceWorkGroupConfiguration": True,
                "BytesScannedCutoffPerQuery": 1073741824,
            },
        )


def main() -> None:
    """Create everything named by the environment and say so."""
    names = settings()
    create_all(names)
    print("AWS emulator ready: " + ", ".join(f"{k}={v}" for k, v in sorted(names.items())))


if __name__ == "__main__":
    main()
