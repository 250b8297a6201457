"""mwaa/requirements.txt: resolves for MWAA's platform and leaves MWAA's own pins alone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mwaa import deploy

AIRFLOW = "apache-airflow==3.3.1"
# MWAA 3.x runs on Amazon Linux 2023 (glibc 2.34): every manylinux wheel up to 2_34.
PLATFORMS = ["manylinux2014_x86_64"] + [f"manylinux_2_{v}_x86_64" for v in range(17, 35)]
TARGET = ["--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp"]
TARGET += ["--abi", "cp312"] + [arg for p in PLATFORMS for arg in ("--platform", p)]


def _requirements(path: Path) -> dict[str, Requirement]:
    reqs = {}
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            req = Requirement(line)
            reqs[canonicalize_name(req.name)] = req
    return reqs


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)", line.strip())
        if match:
            pins[canonicalize_name(match.group(1).split("[")[0])] = match.group(2)
    return pins


@pytest.fixture(scope="module")
def essential_path(repo_root: Path) -> Path:
    """MWAA's essential constraints for 3.3.1: pins users may not override."""
    return repo_root / "mwaa" / "mwaa-essential-constraints.txt"


def test_constraint_line_names_the_file_the_deploy_ships(repo_root: Path) -> None:
    found = deploy.constraint_path(repo_root / "mwaa" / "requirements.txt")
    assert found == f"{deploy.MWAA_HOME}/{deploy.CONSTRAINTS_KEY}"
    assert found.startswith(f"{deploy.MWAA_HOME}/{deploy.DAGS_PREFIX}"), (
        "MWAA only syncs the dags/ prefix to disk: the constraints file must travel there"
    )


def test_constraints_agree_with_mwaa_essential_pins(repo_root: Path, essential_path: Path) -> None:
    constraints = _pins(repo_root / "mwaa" / "constraints.txt")
    essential = _pins(essential_path)
    assert essential, f"no pins read from {essential_path}"
    mismatched = {
        name: (pin, constraints.get(name))
        for name, pin in essential.items()
        if name in constraints and constraints[name] != pin
    }
    assert not mismatched, f"essential pin vs mwaa/constraints.txt: {mismatched}"


def test_requirements_do_not_override_essential_pins(repo_root: Path, essential_path: Path) -> None:
    essential = _pins(essential_path)
    overriding = {
        str(req): essential[name]
        for name, req in _requirements(repo_root / "mwaa" / "requirements.txt").items()
        if name in essential and not req.specifier.contains(essential[name], prereleases=True)
    }
    assert not overriding, f"these lines fight MWAA's essential pins: {overriding}"
    assert "apache-airflow" not in _requirements(repo_root / "mwaa" / "requirements.txt")


def test_requirements_cover_the_runtime_requirements(repo_root: Path) -> None:
    runtime = _requirements(repo_root / "requirements.txt")
    mwaa = _requirements(repo_root / "mwaa" / "requirements.txt")
    runtime.pop("apache-airflow", None)  # MWAA provides it
    missing = sorted(set(runtime) - set(mwaa))
    assert not missing, f"in requirements.txt but not in mwaa/requirements.txt: {missing}"
    for name, req in mwaa.items():
        pinned = [s.version for s in req.specifier if s.operator == "=="]
        if name in runtime and pinned:
            assert runtime[name].specifier.contains(pinned[0], prereleases=True), (
                f"mwaa/requirements.txt pins {req}, requirements.txt wants {runtime[name]}"
            )


def _pip_resolve(
    requirements: Path, wheels: Path, env: dict[str, str], tmp: Path, offline: bool
) -> subprocess.CompletedProcess:
    report = tmp / "report.json"
    if offline:
        args = ["install", "--dry-run", "--ignore-installed", "--target", str(tmp / "target")]
        args += ["--report", str(report), "--no-index", "--find-links", str(wheels)]
    else:
        args = ["download", "--dest", str(wheels)]
    return subprocess.run(
        [sys.executable, "-m", "pip", *args, *TARGET, "-r", str(requirements), AIRFLOW],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
def test_requirements_resolve_for_mwaa_python_and_platform(
    repo_root: Path,
    essential_path: Path,
    tmp_path: Path,
    download_cache: Callable[[str], Path],
    pip_env: dict[str, str],
) -> None:
    """pip resolves it with mwaa/constraints.txt to CPython 3.12 manylinux x86_64 wheels."""
    local = tmp_path / "requirements.txt"
    text = (repo_root / "mwaa" / "requirements.txt").read_text()
    shipped = f"{deploy.MWAA_HOME}/{deploy.CONSTRAINTS_KEY}"
    assert shipped in text
    local.write_text(text.replace(shipped, str(repo_root / "mwaa" / "constraints.txt")))

    # Wheels are kept between runs; PyPI is asked only when they no longer resolve.
    wheels = download_cache("mwaa-wheels-cp312-manylinux-x86_64")
    proc = _pip_resolve(local, wheels, pip_env, tmp_path, offline=True)
    if proc.returncode != 0:
        online = _pip_resolve(local, wheels, pip_env, tmp_path, offline=False)
        assert online.returncode == 0, f"does not resolve against PyPI:\n{online.stderr[-4000:]}"
        proc = _pip_resolve(local, wheels, pip_env, tmp_path, offline=True)
    assert proc.returncode == 0, proc.stderr[-4000:]

    installed = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads((tmp_path / "report.json").read_text())["install"]
    }
    assert installed["apache-airflow"] == "3.3.1"
    for name, req in _requirements(local).items():
        assert name in installed, f"{req} not resolved"
        assert req.specifier.contains(installed[name], prereleases=True)
    essential = _pins(essential_path)
    drift = {n: (v, essential[n]) for n, v in installed.items() if n in essential and v != essential[n]}
    assert not drift, f"resolved version vs MWAA essential pin: {drift}"
    constraints = _pins(repo_root / "mwaa" / "constraints.txt")
    drift = {n: (v, constraints[n]) for n, v in installed.items() if n in constraints and v != constraints[n]}
    assert not drift, f"resolved version vs mwaa/constraints.txt: {drift}"
