"""mwaa/startup.sh: sourced as MWAA does, it builds a working dbt virtualenv, once."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.requirements import Requirement

STATUS_MARK = "::sales-startup-status="


def _source(script: Path, env: dict[str, str], timeout: int = 600) -> tuple[int, dict, str]:
    """Source the script in bash like MWAA's entrypoint; return status, exported env, output."""
    dump = script.parent / "exported.env"
    probe = f'source "$1"; echo "{STATUS_MARK}$?"; env -0 > "$2"'
    proc = subprocess.run(
        ["bash", "-c", probe, "bash", str(script), str(dump)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = proc.stdout + proc.stderr
    match = re.search(re.escape(STATUS_MARK) + r"(\d+)", proc.stdout)
    assert match, f"the sourcing shell did not survive the script:\n{output}"
    exported = dict(item.split("=", 1) for item in dump.read_text().split("\0") if "=" in item)
    return int(match.group(1)), exported, output


def _packages(text: str) -> set[str]:
    return {str(Requirement(p)) for p in text.split()}


@pytest.fixture
def script(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of startup.sh in a scratch directory, as MWAA keeps it under startup/."""
    copy = tmp_path / "startup" / "startup.sh"
    copy.parent.mkdir()
    copy.write_text((repo_root / "mwaa" / "startup.sh").read_text())
    return copy


@pytest.fixture
def base_env(tmp_path: Path, pip_env: dict[str, str]) -> dict[str, str]:
    """Environment of an MWAA container, minus the parts that do not exist here."""
    env = {k: v for k, v in pip_env.items() if not k.startswith(("SALES_", "AIRFLOW__SALES__"))}
    env.pop("PIPELINE_BACKEND", None)
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), PIP_USER="true")
    return env


@pytest.fixture(scope="session")
def dbt_wheelhouse(repo_root: Path, download_cache: Callable[[str], Path], pip_env: dict[str, str]) -> Path:
    """Wheels of requirements-dbt.txt for Python 3.12, fetched from PyPI once and kept."""
    wheelhouse = download_cache("dbt-wheels-py312")
    spec = (repo_root / "requirements-dbt.txt").read_text()
    stamp = wheelhouse / ".requirements-dbt.txt"
    if not stamp.is_file() or stamp.read_text() != spec:
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "wheel", "--quiet", "-w", str(wheelhouse)),
                *("-r", str(repo_root / "requirements-dbt.txt")),
            ],
            env=pip_env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, f"requirements-dbt.txt does not resolve:\n{proc.stderr}"
        stamp.write_text(spec)
    return wheelhouse


def test_packages_match_requirements_dbt(repo_root: Path) -> None:
    text = (repo_root / "mwaa" / "startup.sh").read_text()
    match = re.search(r'^SALES_DBT_PACKAGES="([^"]+)"', text, re.MULTILINE)
    assert match, "startup.sh must set SALES_DBT_PACKAGES"
    lines = (repo_root / "requirements-dbt.txt").read_text().splitlines()
    wanted = {str(Requirement(ln.split("#")[0])) for ln in lines if ln.split("#")[0].strip()}
    assert _packages(match.group(1)) == wanted


@pytest.mark.slow
def test_builds_dbt_venv_then_is_a_no_op(
    script: Path, base_env: dict[str, str], dbt_wheelhouse: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "dbt_venv"
    env = {
        **base_env,
        "SALES_DBT_VENV": str(venv),
        "SALES_DBT_PYTHON": sys.executable,
        "SALES_DBT_WHEELHOUSE": str(dbt_wheelhouse),
    }
    status, exported, output = _source(script, env)
    assert status == 0, output
    assert exported["SALES_DBT_EXECUTABLE"] == str(venv / "bin" / "dbt")
    assert exported["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "False"
    assert exported["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] == "False"
    assert exported["SALES_DATA_DIR"] == str(tmp_path / "airflow" / "sales_data")

    version = subprocess.run(
        [exported["SALES_DBT_EXECUTABLE"], "--version"],
        env={**base_env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert re.search(r"installed:\s+1\.11\.\d+", version), version
    assert re.search(r"duckdb:\s+1\.11\.\d+", version), version
    assert re.search(r"athena:\s+1\.11\.\d+", version), version

    # Second container start: nothing rebuilt, and no configuration carried: MWAA's sales.*
    # options stay AIRFLOW__SALES__* (config.py reads them; tests/mwaa/test_settings.py).
    python_inode = (venv / "bin" / "python").lstat().st_ino
    env.update(AIRFLOW__SALES__BUCKET="my-data", AIRFLOW__SALES__PIPELINE_BACKEND="aws")
    status, exported, output = _source(script, env, timeout=60)
    assert status == 0, output
    assert "up to date" in output
    assert (venv / "bin" / "python").lstat().st_ino == python_inode
    assert "SALES_BUCKET" not in exported and "PIPELINE_BACKEND" not in exported
    assert exported["AIRFLOW__SALES__BUCKET"] == "my-data"


def test_web_server_skips_the_build(script: Path, base_env: dict[str, str], tmp_path: Path) -> None:
    venv = tmp_path / "never"
    env = {
        **base_env,
        "SALES_DBT_VENV": str(venv),
        "MWAA_AIRFLOW_COMPONENT": "webserver",
    }
    status, exported, output = _source(script, env, timeout=30)
    assert status == 0, output
    assert not venv.exists()
    assert exported["SALES_DBT_EXECUTABLE"] == str(venv / "bin" / "dbt")


def test_failure_is_reported_without_killing_the_caller(
    script: Path, base_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **base_env,
        "SALES_DBT_VENV": str(tmp_path / "dbt_venv"),
        "SALES_DBT_PYTHON": sys.executable,
        "SALES_DBT_WHEELHOUSE": str(tmp_path / "no-such-dir"),
    }
    status, _, output = _source(script, env, timeout=60)
    assert status != 0
    assert "SALES_DBT_WHEELHOUSE" in output
    assert not (tmp_path / "dbt_venv" / ".sales-dbt-packages").exists()


def test_script_is_valid_bash(repo_root: Path) -> None:
    proc = subprocess.run(
        ["bash", "-n", str(repo_root / "mwaa" / "startup.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
