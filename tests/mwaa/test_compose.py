"""docker-compose.yaml: a valid MWAA mirror (validated, not run: no Docker engine here)."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from mwaa import deploy
from mwaa.compose import init_moto

AIRFLOW_SERVICES = {
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    # MWAA runs tasks on Celery workers apart from the scheduler.
    "airflow-worker": ["celery", "worker"],
}
MWAA_HOME = str(deploy.MWAA_HOME)
# The settings the containers get, as MWAA passes its sales.* options (config.py reads them).
PIPELINE_SETTINGS = {
    "AIRFLOW__SALES__PIPELINE_BACKEND",
    "AIRFLOW__SALES__DATA_DIR",
    "AIRFLOW__SALES__BUCKET",
    "AIRFLOW__SALES__GLUE_DATABASE",
    "AIRFLOW__SALES__ATHENA_WORKGROUP",
    "AIRFLOW__SALES__ATHENA_DBT_WORKGROUP",
    "AIRFLOW__SALES__GLUE_JOB_NAME",
    "AIRFLOW__SALES__GLUE_JOB_ROLE",
    "AIRFLOW__SALES__GLUE_CRAWLER_NAME",
    "AIRFLOW__SALES__AWS_CONN_ID",
}
# What .env.example documents (the names a user knows from the README).
DOCUMENTED_SETTINGS = {
    "PIPELINE_BACKEND",
    "SALES_DATA_DIR",
    "SALES_BUCKET",
    "SALES_GLUE_DATABASE",
    "SALES_ATHENA_WORKGROUP",
    "SALES_GLUE_JOB_NAME",
    "SALES_GLUE_JOB_ROLE",
    "SALES_GLUE_CRAWLER_NAME",
    "SALES_AWS_CONN_ID",
    "SALES_DBT_EXECUTABLE",
}


@pytest.fixture(scope="module")
def compose(repo_root: Path) -> dict[str, Any]:
    """`docker-compose config` of the mirror, with .env.example's settings."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "docker-compose is not installed (apt-get install -y --no-install-recommends docker-compose)"
        )
    proc = subprocess.run(
        [binary, "--env-file", str(repo_root / ".env.example"), "-f", "docker-compose.yaml", "config"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"docker-compose config rejects the file:\n{proc.stderr}"
    return yaml.safe_load(proc.stdout)


def _env_example(repo_root: Path) -> dict[str, str]:
    settings = {}
    for line in (repo_root / ".env.example").read_text().splitlines():
        line = line.strip().removeprefix("# ")
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            settings[match.group(1)] = match.group(2)
    return settings


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        mounts[target] = source
    return mounts


def test_services_and_images(compose: dict[str, Any], repo_root: Path) -> None:
    services = compose["services"]
    assert set(AIRFLOW_SERVICES) | {"postgres", "redis", "moto", "airflow-init", "aws-init"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["moto"]["image"] == "motoserver/moto:5.2.5"
    dockerfile = (repo_root / "mwaa" / "compose" / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.1-python3\.12$", dockerfile, re.MULTILINE)
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["build"]["dockerfile"] == "mwaa/compose/Dockerfile"
        assert service["image"].endswith(":3.3.1-python3.12")
        assert service["command"] == command
        assert service["depends_on"]["airflow-init"]["condition"] == ("service_completed_successfully")
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert service["environment"]["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert services["airflow-init"]["command"] == ["db", "migrate"]
    ports = services["airflow-apiserver"]["ports"]
    assert any(str(p).endswith("8080:8080/tcp") or str(p).endswith(":8080") for p in ports)


def test_mounts_are_where_mwaa_puts_them(compose: dict[str, Any], repo_root: Path) -> None:
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        mounts = _mounts(service)
        assert mounts[f"{MWAA_HOME}/dags"] == str(repo_root / "dags")
        assert mounts[f"{MWAA_HOME}/dags/include"] == str(repo_root / "include")
        assert mounts[f"{MWAA_HOME}/plugins"] == str(repo_root / "plugins")
        assert mounts[f"{MWAA_HOME}/startup/startup.sh"] == str(repo_root / "mwaa" / "startup.sh")
        env = service["environment"]
        assert env["AIRFLOW_HOME"] == MWAA_HOME
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == f"{MWAA_HOME}/dags"
        assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == f"{MWAA_HOME}/plugins"
        assert env["AWS_ENDPOINT_URL"] == "http://moto:5000"
        assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert set(env) >= PIPELINE_SETTINGS


def test_image_installs_mwaa_requirements_and_runs_startup(repo_root: Path) -> None:
    dockerfile = (repo_root / "mwaa" / "compose" / "Dockerfile").read_text()
    constraint = deploy.constraint_path(repo_root / "mwaa" / "requirements.txt")
    assert f"mwaa/constraints.txt {constraint}" in dockerfile
    assert f"mwaa/requirements.txt {MWAA_HOME}/requirements/requirements.txt" in dockerfile
    assert "source /usr/local/airflow/startup/startup.sh" in dockerfile
    entrypoint = repo_root / "mwaa" / "compose" / "entrypoint.sh"
    assert 'source "$startup"' in entrypoint.read_text()
    proc = subprocess.run(["bash", "-n", str(entrypoint)], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_env_example_documents_every_setting(repo_root: Path) -> None:
    text = (repo_root / "docker-compose.yaml").read_text()
    referenced = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    documented = _env_example(repo_root)
    assert referenced - set(documented) == set(), "add these to .env.example"
    assert set(documented) >= DOCUMENTED_SETTINGS
    assert documented["PIPELINE_BACKEND"] == "local"


# The base image's user: apache/airflow runs as `airflow`, uid 50000, group 0
# (https://airflow.apache.org/docs/docker-stack/entrypoint.html).
BASE_IMAGE = "apache/airflow:"
IMAGE_USER = "airflow"
IMAGE_UID_GID = "50000:0"


def _dockerfile(dockerfile: str) -> tuple[set[str], list[tuple[str, str]]]:
    """Folders the image creates with `mkdir -p`, and its instructions as (keyword, rest)."""
    joined = dockerfile.replace("\\\n", " ")
    steps = [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    folders: set[str] = set()
    for keyword, rest in steps:
        if keyword == "RUN" and "mkdir -p" in rest:
            folders |= set(rest.split("mkdir -p", 1)[1].split("&&", 1)[0].split())
    return folders, steps


def test_every_mounted_path_exists_in_the_image_and_is_writable(
    compose: dict[str, Any], repo_root: Path
) -> None:
    """A named volume starts as a copy of the image's folder, owner included: each must exist in
    the image, owned by the image's user (airflow, uid 50000) and group 0, which every container
    built from it runs as. Folders the image never created would be root's, and the first
    `docker compose up` could not write them."""
    folders, steps = _dockerfile((repo_root / "mwaa" / "compose" / "Dockerfile").read_text())
    assert steps[0][0] == "FROM" and steps[0][1].startswith(BASE_IMAGE), steps[0]
    users = [rest.strip() for keyword, rest in steps if keyword == "USER"]
    assert users and users[-1] == IMAGE_USER, "the image must end as its airflow user"
    # The folders are made and handed to airflow:0 as root, in one step...
    made = [i for i, (k, rest) in enumerate(steps) if k == "RUN" and "mkdir -p" in rest]
    assert len(made) == 1
    run = steps[made[0]][1]
    assert f"chown -R {IMAGE_USER}:0 {MWAA_HOME}" in run and f"chmod -R g+rwX {MWAA_HOME}" in run
    assert [rest for k, rest in steps[: made[0]] if k == "USER"][-1] == "root"
    # ...and nothing after it writes under the Airflow home as root or as another owner.
    for keyword, rest in steps[made[0] + 1 :]:
        if keyword == "COPY" and MWAA_HOME in rest:
            assert f"--chown={IMAGE_USER}:0" in rest, rest
        if keyword == "USER":
            assert rest.strip() == IMAGE_USER, "a later step as another user could own part of the home"
    raw = yaml.safe_load((repo_root / "docker-compose.yaml").read_text())
    image = raw["x-airflow-common"]["image"].split(":-", 1)[-1].rstrip("}")
    built = [name for name, service in compose["services"].items() if service.get("image") == image]
    assert set(AIRFLOW_SERVICES) | {"airflow-init", "aws-init"} <= set(built)
    for name in built:
        service = compose["services"][name]
        assert service["user"] == IMAGE_UID_GID, name
        for volume in service.get("volumes", []):
            target = volume["target"]
            assert target.startswith(MWAA_HOME + "/"), target
            if volume["type"] == "volume":
                assert target in folders, f"{name}: volume on {target}, a folder the image does not create"
            else:
                # A bind mount of a file or folder: its parent must exist and be the airflow user's.
                parent = str(Path(target).parent)
                assert target in folders or parent in folders or parent == MWAA_HOME, (name, target)


def test_init_moto_creates_what_the_stack_creates(moto_endpoint: str, aws_env: None) -> None:
    # The moto server may be shared with other tests: start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"))
    session = boto3.session.Session(region_name="us-east-1")
    names = init_moto.settings({"SALES_BUCKET": "lake-under-test"})
    original = session.client

    def client(service: str, **kwargs: Any) -> Any:
        return original(service, endpoint_url=moto_endpoint, **kwargs)

    session.client = client  # type: ignore[method-assign]
    init_moto.create_all(names, session)
    init_moto.create_all(names, session)  # a second run changes nothing and does not fail

    s3, glue = client("s3"), client("glue")
    for bucket in ("lake-under-test", "airflow-lake-under-test"):
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert glue.get_database(Name="sales_analytics")["Database"]["Name"] == "sales_analytics"
    assert glue.get_database(Name="gold")["Database"]["Name"] == "gold"
    # The job and the crawler are the DAG's to create (each defined once: aws/silver.py, aws/catalog.py).
    assert glue.get_jobs()["Jobs"] == []
    assert glue.get_crawlers()["Crawlers"] == []
    athena = client("athena")
    workgroup = athena.get_work_group(WorkGroup="sales_analytics")["WorkGroup"]
    assert workgroup["Configuration"]["EnforceWorkGroupConfiguration"] is True
    dbt = athena.get_work_group(WorkGroup="sales_analytics_dbt")["WorkGroup"]["Configuration"]
    assert dbt["EnforceWorkGroupConfiguration"] is False
    assert dbt["ResultConfiguration"]["OutputLocation"] == "s3://lake-under-test/athena-results/dbt/"
