"""mwaa/deploy.py: the bundle's layout, and the S3 sync against a moto server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
import zipfile
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import boto3
import pytest

from mwaa import deploy

MANIFEST = "include/dbt/sales_analytics/target/manifest.json"


def _write(root: Path, rel: str, text: str = "x\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def fake_repo(tmp_path: Path, repo_root: Path) -> Path:
    """A throwaway repo layout: a DAG, include/ with a dbt project and its build output."""
    root = tmp_path / "repo"
    _write(root, "dags/sales_medallion.py", "# a DAG\n")
    _write(root, "dags/.airflowignore", "# not DAGs\ninclude/\n")
    _write(root, "dags/__pycache__/sales_medallion.cpython-312.pyc")
    _write(root, "include/__init__.py", "")
    _write(root, "include/sales_analyzer/__init__.py", "")
    _write(root, "include/sales_analyzer/config.py", "BUCKET = 'b'\n")
    _write(root, "include/sales_analyzer/__pycache__/config.cpython-312.pyc")
    _write(root, "include/glue/bronze_to_silver.py", "# glue\n")
    _write(root, "include/dbt/sales_analytics/dbt_project.yml", "name: sales_analytics\n")
    _write(root, "include/dbt/sales_analytics/models/yearly.sql", "select 1\n")
    _write(root, MANIFEST, json.dumps({"nodes": {}}))
    _write(root, "include/dbt/sales_analytics/target/partial_parse.msgpack")
    _write(root, "include/dbt/sales_analytics/target/run/yearly.sql")
    _write(root, "include/dbt/sales_analytics/logs/dbt.log")
    _write(root, "plugins/__init__.py", "")
    _write(root, "plugins/README.md", "genuine plugins only\n")
    _write(root, "mwaa/requirements.txt", (repo_root / "mwaa" / "requirements.txt").read_text())
    _write(root, "mwaa/constraints.txt", "boto3==1.43.56\n")
    _write(root, "mwaa/startup.sh", "#!/usr/bin/env bash\nexport SALES_X=1\n")
    return root


EXPECTED_KEYS = {
    "dags/sales_medallion.py",
    "dags/.airflowignore",
    "dags/constraints.txt",
    "dags/include/__init__.py",
    "dags/include/sales_analyzer/__init__.py",
    "dags/include/sales_analyzer/config.py",
    "dags/include/glue/bronze_to_silver.py",
    "dags/include/dbt/sales_analytics/dbt_project.yml",
    "dags/include/dbt/sales_analytics/models/yearly.sql",
    "dags/include/" + MANIFEST.removeprefix("include/"),
    "requirements/requirements.txt",
    "startup/startup.sh",
}


@pytest.fixture
def s3(moto_endpoint: str, aws_env: None) -> Any:
    """An S3 client on the moto server."""
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh versioned bucket, as MWAA requires."""
    name = f"airflow-sales-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _keys(s3: Any, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def _version_count(s3: Any, bucket: str) -> int:
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
    return sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages)


def _deploy(root: Path, bucket: str, endpoint: str, *extra: str) -> dict:
    """Run the command line with --json and return what it printed."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = deploy.main(
            ["--bucket", bucket, "--endpoint-url", endpoint, "--root", str(root), "--json", *extra]
        )
    assert code == 0
    return json.loads(out.getvalue())


def test_bundle_holds_dags_include_and_mwaa_files(fake_repo: Path) -> None:
    bundle = deploy.build_bundle(fake_repo)
    assert {f.key for f in bundle} == EXPECTED_KEYS
    by_key = {f.key: f.data for f in bundle}
    assert by_key["dags/constraints.txt"] == b"boto3==1.43.56\n"
    assert (
        b'--constraint "/usr/local/airflow/dags/constraints.txt"' in by_key["requirements/requirements.txt"]
    )


def test_missing_manifest_says_run_make_manifest(fake_repo: Path) -> None:
    (fake_repo / MANIFEST).unlink()
    with pytest.raises(deploy.DeployError, match=r"manifest\.json is missing: run `make manifest`"):
        deploy.build_bundle(fake_repo)


@pytest.mark.parametrize("content", ["", "# nothing\nfoo/\n"])
def test_airflowignore_must_list_include(fake_repo: Path, content: str) -> None:
    (fake_repo / "dags" / ".airflowignore").write_text(content)
    with pytest.raises(deploy.DeployError, match=r"\.airflowignore must list `include/`"):
        deploy.build_bundle(fake_repo)


@pytest.mark.parametrize("line", ["include/", "include", "/include/", "include/*", "include/.*"])
def test_airflowignore_spellings_of_include(fake_repo: Path, line: str) -> None:
    (fake_repo / "dags" / ".airflowignore").write_text(line + "\n")
    assert deploy.build_bundle(fake_repo)


def test_constraint_line_must_point_at_the_shipped_file(fake_repo: Path) -> None:
    path = fake_repo / "mwaa" / "requirements.txt"
    path.write_text(
        "--constraint https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/"
        "constraints-3.12.txt\nduckdb==2.0.0\n"
    )
    with pytest.raises(deploy.DeployError, match=r"dags/constraints\.txt"):
        deploy.build_bundle(fake_repo)


def test_plugins_zip_only_for_real_plugins(fake_repo: Path) -> None:
    assert deploy.PLUGINS_KEY not in {f.key for f in deploy.build_bundle(fake_repo)}
    _write(fake_repo, "plugins/sales_plugin/__init__.py", "PLUGIN = 1\n")
    first = {f.key: f.data for f in deploy.build_bundle(fake_repo)}[deploy.PLUGINS_KEY]
    second = {f.key: f.data for f in deploy.build_bundle(fake_repo)}[deploy.PLUGINS_KEY]
    assert first == second, "plugins.zip must be byte-for-byte reproducible"
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == ["README.md", "__init__.py", "sales_plugin/__init__.py"]


def test_sync_uploads_once_deletes_stale_and_reports_versions(
    fake_repo: Path, s3: Any, bucket: str, moto_endpoint: str
) -> None:
    _write(fake_repo, "dags/old_dag.py", "# soon gone\n")
    first = _deploy(fake_repo, bucket, moto_endpoint)
    expected = EXPECTED_KEYS | {"dags/old_dag.py"}
    assert _keys(s3, bucket) == expected
    assert set(first["uploaded"]) == expected
    for parameter, key in (
        ("RequirementsS3ObjectVersion", deploy.REQUIREMENTS_KEY),
        ("StartupScriptS3ObjectVersion", deploy.STARTUP_KEY),
    ):
        assert first["versions"][parameter] == s3.head_object(Bucket=bucket, Key=key)["VersionId"]
    assert "PluginsS3ObjectVersion" not in first["versions"]
    head = s3.head_object(Bucket=bucket, Key="dags/sales_medallion.py")
    assert head["Metadata"]["sha256"] == deploy.BundleFile("k", b"# a DAG\n").sha256

    versions_before = _version_count(s3, bucket)
    second = _deploy(fake_repo, bucket, moto_endpoint)
    assert second["uploaded"] == [] and second["deleted"] == []
    assert second["versions"] == first["versions"]
    assert _version_count(s3, bucket) == versions_before

    (fake_repo / "dags" / "old_dag.py").unlink()
    _write(fake_repo, "mwaa/startup.sh", "#!/usr/bin/env bash\nexport SALES_X=2\n")
    third = _deploy(fake_repo, bucket, moto_endpoint)
    assert third["deleted"] == ["dags/old_dag.py"]
    assert third["uploaded"] == [deploy.STARTUP_KEY]
    assert _keys(s3, bucket) == EXPECTED_KEYS
    assert (
        third["versions"]["StartupScriptS3ObjectVersion"] != first["versions"]["StartupScriptS3ObjectVersion"]
    )
    assert (
        third["versions"]["RequirementsS3ObjectVersion"] == first["versions"]["RequirementsS3ObjectVersion"]
    )


def test_dry_run_changes_nothing(fake_repo: Path, s3: Any, bucket: str, moto_endpoint: str) -> None:
    _deploy(fake_repo, bucket, moto_endpoint)
    before = (_keys(s3, bucket), _version_count(s3, bucket))
    _write(fake_repo, "dags/sales_medallion.py", "# a changed DAG\n")
    _write(fake_repo, "dags/new_dag.py", "# new\n")
    (fake_repo / "include" / "glue" / "bronze_to_silver.py").unlink()

    plan = _deploy(fake_repo, bucket, moto_endpoint, "--dry-run")
    assert sorted(plan["uploaded"]) == ["dags/new_dag.py", "dags/sales_medallion.py"]
    assert plan["deleted"] == ["dags/include/glue/bronze_to_silver.py"]
    assert plan["dry_run"] is True
    assert (_keys(s3, bucket), _version_count(s3, bucket)) == before


def test_plugins_zip_is_uploaded_and_versioned(
    fake_repo: Path, s3: Any, bucket: str, moto_endpoint: str
) -> None:
    _write(fake_repo, "plugins/sales_plugin/__init__.py", "PLUGIN = 1\n")
    result = _deploy(fake_repo, bucket, moto_endpoint)
    head = s3.head_object(Bucket=bucket, Key=deploy.PLUGINS_KEY)
    assert result["versions"]["PluginsS3ObjectVersion"] == head["VersionId"]


def test_text_report_prints_the_versions(
    fake_repo: Path, s3: Any, bucket: str, moto_endpoint: str, capsys: pytest.CaptureFixture
) -> None:
    code = deploy.main(["--bucket", bucket, "--endpoint-url", moto_endpoint, "--root", str(fake_repo)])
    out = capsys.readouterr().out
    assert code == 0
    version = s3.head_object(Bucket=bucket, Key=deploy.REQUIREMENTS_KEY)["VersionId"]
    assert f"RequirementsS3ObjectVersion={version}" in out
    assert f"uploaded: s3://{bucket}/dags/sales_medallion.py" in out


def test_cli_reports_a_broken_layout(fake_repo: Path, capsys: pytest.CaptureFixture) -> None:
    (fake_repo / MANIFEST).unlink()
    assert deploy.main(["--bucket", "b", "--root", str(fake_repo), "--dry-run"]) == 2
    assert "make manifest" in capsys.readouterr().err


def test_cli_reports_a_missing_bucket(
    fake_repo: Path, moto_endpoint: str, aws_env: None, capsys: pytest.CaptureFixture
) -> None:
    argv = ["--bucket", "no-such-bucket", "--endpoint-url", moto_endpoint, "--root", str(fake_repo)]
    assert deploy.main(argv) == 1
    assert "NoSuchBucket" in capsys.readouterr().err


def test_real_repo_layout_deploys(repo_root: Path, s3: Any, bucket: str, moto_endpoint: str) -> None:
    if not (repo_root / MANIFEST).is_file():
        pytest.skip(f"{MANIFEST} is not built yet (make manifest)")
    bundle = deploy.build_bundle(repo_root)
    keys = {f.key for f in bundle}
    for key in (
        "dags/.airflowignore",
        "dags/sales_medallion.py",
        "dags/constraints.txt",
        "dags/include/sales_analyzer/__init__.py",
        "dags/include/sales_analyzer/config.py",
        "dags/include/dbt/sales_analytics/dbt_project.yml",
        "dags/include/" + MANIFEST.removeprefix("include/"),
        deploy.REQUIREMENTS_KEY,
        deploy.STARTUP_KEY,
    ):
        assert key in keys, f"{key} missing from the bundle"
    assert not [k for k in keys if "__pycache__" in k or k.endswith(".pyc")]
    target = "dags/include/dbt/sales_analytics/target/"
    assert [k for k in keys if k.startswith(target)] == [target + "manifest.json"]
    assert not [k for k in keys if k.startswith("dags/include/dbt/sales_analytics/logs/")]

    result = _deploy(repo_root, bucket, moto_endpoint)
    assert _keys(s3, bucket) == keys
    assert result["versions"]["RequirementsS3ObjectVersion"]


def _wheel(dest: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel (PEP 427) of one empty module."""
    dist = f"{name}-{version}"
    path = dest / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(f"{name}.py", "")
        whl.writestr(
            f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        whl.writestr(
            f"{dist}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        whl.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def test_offline_bundle_installs_from_plugins_zip_without_an_index(fake_repo: Path, tmp_path: Path) -> None:
    """make deploy OFFLINE=1: wheels travel in plugins.zip (wheels/), requirements.txt installs
    with --no-index from where MWAA unpacks it; pip itself proves the rewritten file resolves."""
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    _wheel(wheelhouse, "salesdep", "1.2.3")
    _write(
        fake_repo,
        "mwaa/requirements.txt",
        '--constraint "/usr/local/airflow/dags/constraints.txt"\nsalesdep\n',
    )
    _write(fake_repo, "mwaa/constraints.txt", "salesdep==1.2.3\n")
    bundle = {f.key: f.data for f in deploy.build_bundle(fake_repo, wheelhouse)}
    requirements = bundle[deploy.REQUIREMENTS_KEY].decode()
    assert requirements.splitlines()[1:3] == ["--no-index", "--find-links /usr/local/airflow/plugins/wheels"]
    assert deploy.constraint_path(fake_repo / "mwaa" / "requirements.txt") in requirements
    # Unpack plugins.zip as MWAA does (to <home>/plugins) and install the way MWAA's pip would.
    home = tmp_path / "usr" / "local" / "airflow"
    zipfile.ZipFile(io.BytesIO(bundle[deploy.PLUGINS_KEY])).extractall(home / "plugins")
    assert sorted(p.name for p in (home / "plugins" / "wheels").iterdir()) == [
        "salesdep-1.2.3-py3-none-any.whl"
    ]
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "constraints.txt").write_bytes(bundle[deploy.CONSTRAINTS_KEY])
    local = requirements.replace("/usr/local/airflow", str(home))
    (tmp_path / "requirements.txt").write_text(local)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--target",
            str(tmp_path / "site"),
            "-r",
            str(tmp_path / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "salesdep.py").exists()


def test_offline_needs_wheels_and_startup_uses_them(fake_repo: Path, tmp_path: Path, repo_root: Path) -> None:
    with pytest.raises(deploy.DeployError, match="holds no wheel"):
        deploy.build_bundle(fake_repo, tmp_path)
    startup = (repo_root / "mwaa" / "startup.sh").read_text()
    assert 'SALES_DBT_WHEELHOUSE="$home/plugins/wheels"' in startup
    packages = deploy.dbt_packages(repo_root / "mwaa" / "startup.sh")
    assert {p.split("~=")[0].split("==")[0] for p in packages} >= {"dbt-core", "dbt-athena", "dbt-duckdb"}


@pytest.mark.slow
def test_offline_deploy_downloads_mwaa_platform_wheels_into_plugins_zip(
    fake_repo: Path,
    tmp_path: Path,
    s3: Any,
    bucket: str,
    moto_endpoint: str,
    pip_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make deploy OFFLINE=1` end to end on a small subset: the real `pip download` for MWAA's
    platform, plugins.zip and requirements.txt uploaded to S3, then an install from the unpacked
    zip with no index. The subset (PyYAML, a compiled manylinux wheel, for requirements.txt; six
    for the dbt virtualenv) keeps PyPI traffic small: the full requirements.txt is downloaded for
    the same platform tags by test_mwaa_requirements.py, and startup.sh builds the real dbt
    virtualenv from a wheelhouse with --no-index in test_mwaa_startup.py."""
    # pip sees PyPI only, as MWAA's pip does (no local index or find-links settings).
    for key in [k for k in os.environ if k.startswith(("PIP_", "UV_"))]:
        monkeypatch.delenv(key)
    for key in [k for k in pip_env if k.startswith("PIP_")]:
        monkeypatch.setenv(key, pip_env[key])
    _write(
        fake_repo,
        "mwaa/requirements.txt",
        '--constraint "/usr/local/airflow/dags/constraints.txt"\npyyaml\n',
    )
    # Not one of Airflow's constraints files (no constraints-X.Y.Z source URL): no Airflow pulled in.
    _write(fake_repo, "mwaa/constraints.txt", "PyYAML==6.0.2\n")
    _write(fake_repo, "mwaa/startup.sh", '#!/usr/bin/env bash\nSALES_DBT_PACKAGES="six==1.17.0"\n')
    wheelhouse = tmp_path / "wheelhouse"
    result = _deploy(fake_repo, bucket, moto_endpoint, "--offline", "--wheelhouse", str(wheelhouse))
    assert result["versions"]["PluginsS3ObjectVersion"]
    assert sorted(p.name for p in wheelhouse.iterdir()) == [
        "PyYAML-6.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "six-1.17.0-py2.py3-none-any.whl",
    ]

    def fetch(key: str) -> bytes:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    requirements = fetch(deploy.REQUIREMENTS_KEY).decode()
    assert requirements.splitlines()[1:3] == ["--no-index", "--find-links /usr/local/airflow/plugins/wheels"]
    home = tmp_path / "usr" / "local" / "airflow"
    zipfile.ZipFile(io.BytesIO(fetch(deploy.PLUGINS_KEY))).extractall(home / "plugins")
    assert sorted(p.name for p in (home / "plugins" / "wheels").iterdir()) == sorted(
        p.name for p in wheelhouse.iterdir()
    )
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "constraints.txt").write_bytes(fetch(deploy.CONSTRAINTS_KEY))
    (tmp_path / "requirements.txt").write_text(requirements.replace("/usr/local/airflow", str(home)))
    target = tmp_path / "site"
    # The install MWAA runs, with this interpreter (CPython 3.12 on x86_64 Linux, as MWAA's).
    for args in (
        ["-r", str(tmp_path / "requirements.txt")],
        ["--no-index", "--find-links", str(home / "plugins" / "wheels"), "six==1.17.0"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--target", str(target), *args],
            env=pip_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "yaml" / "__init__.py").exists() and (target / "six.py").exists()
