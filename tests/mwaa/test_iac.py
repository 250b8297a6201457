"""The CloudFormation template: cfn-lint and checkov clean, and it says what the pipeline needs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mwaa import deploy

TEMPLATE = Path("mwaa/cloudformation/sales-analyzer.yaml")
LAKE_PREFIXES = {"landing/", "bronze/", "silver/", "quarantine/", "gold/", "athena-results/"}


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short-form tags as {tag: value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def iac_bin(repo_root: Path) -> Path:
    """The bin/ of the .venv-iac virtualenv holding cfn-lint and checkov."""
    bin_dir = repo_root / ".venv-iac" / "bin"
    if not (bin_dir / "cfn-lint").exists() or not (bin_dir / "checkov").exists():
        pytest.skip(
            f"{bin_dir} has no cfn-lint/checkov: create it with "
            "`python3.12 -m venv .venv-iac && .venv-iac/bin/pip install -r mwaa/requirements-iac.txt`"
        )
    return bin_dir


@pytest.fixture(scope="module")
def template(repo_root: Path) -> dict[str, Any]:
    """The template as data (intrinsic functions kept as {tag: value})."""
    return yaml.load((repo_root / TEMPLATE).read_text(), Loader=_CfnLoader)


@pytest.fixture(scope="module", params=["false", "true"], ids=["stack-only", "with-environment"])
def variant(request: pytest.FixtureRequest, repo_root: Path, tmp_path_factory) -> Path:
    """The template, with CreateEnvironment defaulting to each value so both halves are linted."""
    text = (repo_root / TEMPLATE).read_text()
    marker = 'CreateEnvironment:\n    Type: String\n    Default: "false"'
    assert marker in text
    path = tmp_path_factory.mktemp("cfn") / f"sales-analyzer-{request.param}.yaml"
    path.write_text(text.replace(marker, marker.replace('"false"', f'"{request.param}"')))
    return path


def test_cfn_lint_is_clean(iac_bin: Path, variant: Path) -> None:
    proc = subprocess.run(
        [str(iac_bin / "cfn-lint"), "--format", "parseable", str(variant)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"cfn-lint findings:\n{proc.stdout}{proc.stderr}"


def test_checkov_has_no_unsuppressed_finding(iac_bin: Path, variant: Path) -> None:
    proc = subprocess.run(
        [
            *(str(iac_bin / "checkov"), "--file", str(variant), "--framework", "cloudformation"),
            *("--output", "json", "--skip-download", "--compact"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(proc.stdout)
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']} (severity {c.get('severity')})"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov findings:\n" + "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 40, summary
    for skipped in report["results"]["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.strip()) > 20, f"{skipped['check_id']} suppressed without a reason"
    if "true" in variant.name:
        # checkov has no CloudFormation check of MWAA itself; its network and log groups
        # only exist in this half of the template.
        results = report["results"]["passed_checks"] + report["results"]["skipped_checks"]
        checked = {c["resource"] for c in results}
        assert {
            "AWS::EC2::SecurityGroup.MwaaSecurityGroup",
            "AWS::Logs::LogGroup.MwaaTaskLogs",
        } <= (checked)


def test_lake_bucket_is_private_versioned_encrypted_and_tiered(template: dict) -> None:
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert {r.get("Prefix") for r in rules} >= LAKE_PREFIXES
    tiered = {
        r["Prefix"]
        for r in rules
        if any(t["StorageClass"] == "INTELLIGENT_TIERING" for t in r.get("Transitions", []))
    }
    assert {"bronze/", "silver/", "gold/"} <= tiered
    for name in ("DataBucketPolicy", "MwaaBucketPolicy"):
        statement = template["Resources"][name]["Properties"]["PolicyDocument"]["Statement"][0]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _overlaps(prefix: str, protected: str) -> bool:
    return protected.startswith(prefix) or prefix.startswith(protected)


def test_lifecycle_rules_never_expire_gold_or_silver(template: dict) -> None:
    """No rule that deletes current objects covers gold/ or silver/ (a rule with no prefix covers all).

    Noncurrent-version expiry stays: it only removes what dbt or publish_silver already replaced.
    """
    rules = template["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    for rule in rules:
        prefix = rule.get("Prefix", (rule.get("Filter") or {}).get("Prefix", ""))
        expires = {"ExpirationInDays", "ExpirationDate", "ExpiredObjectDeleteMarker"} & set(rule)
        if expires:
            for protected in ("gold/", "silver/"):
                assert not _overlaps(prefix, protected), (
                    f"rule {rule['Id']} expires objects under {protected}"
                )
    results = next(r for r in rules if r["Prefix"] == "athena-results/")
    assert results["ExpirationInDays"] <= 7, "query results are what the results prefix is for"


def test_athena_workgroups_keep_gold_out_of_the_results_location(template: dict) -> None:
    """BI workgroup enforces athena-results/; dbt's does not, so every CTAS gets gold/ (dbt-athena)."""
    from include.sales_analyzer.config import default

    resources, params = template["Resources"], template["Parameters"]
    bi = resources["AthenaWorkgroup"]["Properties"]["WorkGroupConfiguration"]
    dbt = resources["AthenaDbtWorkgroup"]["Properties"]["WorkGroupConfiguration"]
    assert bi["EnforceWorkGroupConfiguration"] is True
    assert dbt["EnforceWorkGroupConfiguration"] is False
    for config in (bi, dbt):
        assert config["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoff"}
        assert config["ResultConfiguration"]["OutputLocation"]["Sub"].startswith(
            "s3://${DataBucket}/athena-results/"
        )
    assert params["AthenaDbtWorkgroupName"]["Default"] == default("athena_dbt_workgroup")
    options = resources["MwaaEnvironment"]["Properties"]["AirflowConfigurationOptions"]
    assert options["sales.athena_dbt_workgroup"] == {"Ref": "AthenaDbtWorkgroup"}


def test_glue_athena_and_mwaa_settings(template: dict) -> None:
    resources = template["Resources"]
    workgroup = resources["AthenaWorkgroup"]["Properties"]["WorkGroupConfiguration"]
    assert workgroup["EnforceWorkGroupConfiguration"] is True
    assert workgroup["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoff"}
    kwargs = json.loads(
        resources["MwaaEnvironment"]["Properties"]["AirflowConfigurationOptions"]["secrets.backend_kwargs"]
    )
    # MWAA's own default (aws/amazon-mwaa-docker-images, mwaa/config/airflow.py) kept.
    assert kwargs["connections_lookup_pattern"] == "^(?!aws_default$).*$"

    params = template["Parameters"]
    assert params["AirflowVersion"]["Default"] == "3.3.1"
    assert params["EnvironmentClass"]["Default"] == "mw1.micro"
    assert params["LogRetentionDays"]["Default"] <= 30
    env = resources["MwaaEnvironment"]["Properties"]
    assert env["SourceBucketArn"] == {"GetAtt": "MwaaBucket.Arn"}
    assert env["AirflowConfigurationOptions"]["sales.pipeline_backend"] == "aws"


def test_template_paths_match_what_the_deploy_uploads(template: dict) -> None:
    env = template["Resources"]["MwaaEnvironment"]["Properties"]
    assert env["DagS3Path"] + "/" == deploy.DAGS_PREFIX
    assert env["RequirementsS3Path"] == deploy.REQUIREMENTS_KEY
    assert env["StartupScriptS3Path"]["If"][1] == deploy.STARTUP_KEY
    assert env["PluginsS3Path"]["If"][1] == deploy.PLUGINS_KEY
    versions = {p for p in template["Parameters"] if p.endswith("S3ObjectVersion")}
    assert versions == set(deploy.VERSIONED_KEYS)


def test_glue_job_and_crawler_are_defined_once_by_the_dag(template: dict) -> None:
    """The DAG creates and updates the Glue job and the crawler; the stack only gives them roles and logs."""
    from include.sales_analyzer import aws
    from include.sales_analyzer.config import SETTINGS, get_settings

    defaults = {s.field: s.default for s in SETTINGS}
    resources, params = template["Resources"], template["Parameters"]
    types = {r["Type"] for r in resources.values()}
    assert "AWS::Glue::Job" not in types and "AWS::Glue::Crawler" not in types
    assert params["GlueArtifactsPrefix"]["Default"] == defaults["artifacts_prefix"]
    assert params["GlueJobName"]["Default"] == defaults["glue_job_name"]
    assert params["GlueCrawlerName"]["Default"] == defaults["glue_crawler_name"]
    # Glue 5.0 logging: the job's --custom-logGroup-prefix names the stack's two log groups.
    settings = get_settings({"PIPELINE_BACKEND": "local"})
    arguments = aws.glue_job_definition(settings)["DefaultArguments"]
    assert "--enable-continuous-cloudwatch-log" not in arguments
    assert "--continuous-log-logGroup" not in arguments
    prefix = arguments["--custom-logGroup-prefix"]
    project = params["ProjectName"]["Default"]
    groups = {
        resources[name]["Properties"]["LogGroupName"]["Sub"].replace("${ProjectName}", project)
        for name in ("GlueOutputLogGroup", "GlueErrorLogGroup")
    }
    assert groups == {f"{prefix}/output", f"{prefix}/error"}
    options = resources["MwaaEnvironment"]["Properties"]["AirflowConfigurationOptions"]
    assert options["sales.glue_log_group_prefix"]["Sub"].replace("${ProjectName}", project) == prefix
    assert options["sales.glue_crawler_role"] == {"GetAtt": "GlueCrawlerRole.Arn"}

    def statements(role: str) -> dict[str, dict]:
        found = {}
        for policy in resources[role]["Properties"]["Policies"]:
            found |= {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
        return found

    mwaa = statements("MwaaExecutionRole")
    assert {"glue:CreateJob", "glue:UpdateJob", "glue:StartJobRun"} <= set(mwaa["RunGlueJob"]["Action"])
    assert {"glue:CreateCrawler", "glue:UpdateCrawler", "glue:StartCrawler"} <= set(
        mwaa["RunGlueCrawler"]["Action"]
    )
    assert mwaa["PassGlueCrawlerRole"]["Resource"] == {"GetAtt": "GlueCrawlerRole.Arn"}
    assert {"Sub": "${DataBucket.Arn}/landing/*"} in mwaa["ReadWriteLake"]["Resource"]
    assert mwaa["PassGlueJobRole"]["Resource"] == {"GetAtt": "GlueJobRole.Arn"}
    assert {"Sub": "${DataBucket.Arn}/${GlueArtifactsPrefix}/*"} in mwaa["ReadWriteLake"]["Resource"]
    glue = statements("GlueJobRole")
    assert glue["ReadJobArtifacts"]["Resource"] == {"Sub": "${DataBucket.Arn}/${GlueArtifactsPrefix}/*"}


def test_every_sales_option_is_a_declared_setting(template: dict) -> None:
    """Each MWAA `sales.*` option arrives as AIRFLOW__SALES__<NAME>: config.py must declare it,
    and every setting the aws backend requires must be set by the stack."""
    from include.sales_analyzer.config import SETTINGS

    options = template["Resources"]["MwaaEnvironment"]["Properties"]["AirflowConfigurationOptions"]
    sales = {o.removeprefix("sales.") for o in options if o.startswith("sales.")}
    declared = {s.option for s in SETTINGS}
    assert sales <= declared, f"options no setting reads: {sorted(sales - declared)}"
    assert {s.option for s in SETTINGS if s.aws_required} <= sales
