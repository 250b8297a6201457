"""Build the MWAA bundle (DAGs, include/, requirements, startup script) and sync it to S3.

    python -m mwaa.deploy --bucket BUCKET [--dry-run] [--offline] [--endpoint-url URL] [--aws-conn-id ID]

MWAA copies the S3 `dags/` prefix to /usr/local/airflow/dags on every container, so
`include/` (the package, the dbt project with its prebuilt manifest, the Glue scripts)
goes under that prefix and `dags/.airflowignore` keeps the DAG processor out of it.
requirements.txt, startup.sh and plugins.zip are read by version: the bucket is
versioned and the environment must be pointed at the versions this script prints.
Only changed files are uploaded (sha256 kept in the object metadata) and objects under
`dags/` that are no longer in the bundle are deleted.

--offline is for environments without a route to PyPI (private subnets, VPC endpoints only):
it downloads every wheel MWAA's requirements.txt and the start-up script's dbt virtualenv
need (for MWAA's platform: CPython 3.12, manylinux x86_64), ships them in plugins.zip under
wheels/ (MWAA unpacks plugins.zip to /usr/local/airflow/plugins), and makes requirements.txt
install with `--no-index --find-links /usr/local/airflow/plugins/wheels`; startup.sh builds
the dbt virtualenv from the same folder. This is the MWAA user guide's way for private
networks ("Installing custom plugins"; AWS re:Post "Install custom packages with plugins.zip").
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shlex
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
MWAA_HOME = PurePosixPath("/usr/local/airflow")

DAGS_PREFIX = "dags/"
INCLUDE_PREFIX = "dags/include/"
REQUIREMENTS_KEY = "requirements/requirements.txt"
# MWAA downloads only the requirements.txt object itself, so the constraints file it
# names travels with the DAGs and is read from the container's disk.
CONSTRAINTS_KEY = "dags/constraints.txt"
STARTUP_KEY = "startup/startup.sh"
PLUGINS_KEY = "plugins/plugins.zip"
VERSIONED_KEYS = {
    "RequirementsS3ObjectVersion": REQUIREMENTS_KEY,
    "StartupScriptS3ObjectVersion": STARTUP_KEY,
    "PluginsS3ObjectVersion": PLUGINS_KEY,
}

DBT_MANIFEST = PurePosixPath("include/dbt/sales_analytics/target/manifest.json")
SHA256_METADATA = "sha256"
SKIPPED_NAMES = {
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".DS_Store",
    ".ipynb_checkpoints",
}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".duckdb", ".duckdb.wal", ".tmp")
# What plugins/ may hold without being a plugin worth shipping.
PLUGIN_PLACEHOLDERS = {"__init__.py", "README", "README.md", ".gitkeep", ".keep"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Offline installs: the wheels' folder inside plugins.zip, and where MWAA unpacks it.
WHEELS_DIR = "wheels"
MWAA_WHEELS = MWAA_HOME / "plugins" / WHEELS_DIR
# MWAA's platform (Airflow 3.x images): CPython 3.12 on x86_64 Amazon Linux 2023, whose glibc
# is 2.34, so every manylinux wheel up to manylinux_2_34 installs there (the same tags
# tests/mwaa/test_mwaa_requirements.py resolves requirements.txt for).
MWAA_PLATFORMS = ("manylinux2014_x86_64", *(f"manylinux_2_{v}_x86_64" for v in range(17, 35)))
MWAA_PYTHON = "3.12"
MWAA_ABI = "cp312"
# Airflow's constraints files name their version in their source URL.
AIRFLOW_CONSTRAINTS_URL = re.compile(r"/constraints-(\d+\.\d+\.\d+)/constraints-")


class DeployError(Exception):
    """The bundle cannot be built or synced; the message says what to fix."""


@dataclass(frozen=True)
class BundleFile:
    """One object of the bundle: its S3 key and its bytes."""

    key: str
    data: bytes

    @property
    def sha256(self) -> str:
        """Hex sha256 of the content, stored as object metadata."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def md5(self) -> str:
        """Hex md5 of the content (the ETag of a plain single-part upload)."""
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()


@dataclass
class SyncResult:
    """What a sync did (or, on a dry run, would do) and the versions MWAA must use."""

    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    versions: dict[str, str | None] = field(default_factory=dict)
    dry_run: bool = False


def _skipped(rel: PurePosixPath) -> bool:
    return any(part in SKIPPED_NAMES for part in rel.parts) or rel.name.endswith(SKIPPED_SUFFIXES)


def _walk(root: Path) -> Iterator[PurePosixPath]:
    """Files under root as relative POSIX paths, sorted, without caches and local data."""
    for path in sorted(root.rglob("*")):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if path.is_file() and not _skipped(rel):
            yield rel


def _dbt_build_output(rel: PurePosixPath, dbt_projects: set[PurePosixPath]) -> bool:
    """True for dbt's target/ and logs/ files, except the manifest Cosmos renders from."""
    for project in dbt_projects:
        try:
            inner = rel.relative_to(project)
        except ValueError:
            continue
        if inner.parts[:1] == ("logs",) or inner.name == ".user.yml":
            return True
        if inner.parts[:1] == ("target",):
            return inner != PurePosixPath("target/manifest.json")
    return False


def _lists_include(airflowignore: Path) -> bool:
    for line in airflowignore.read_text().splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            entry = entry.lstrip("/").removesuffix(".*").removesuffix("*").rstrip("/")
            if entry == "include":
                return True
    return False


def constraint_path(requirements: Path) -> str | None:
    """The path or URL given to -c/--constraint in a requirements file, if any."""
    for line in requirements.read_text().splitlines():
        words = shlex.split(line, comments=True)
        for i, word in enumerate(words):
            if word in ("-c", "--constraint") and i + 1 < len(words):
                return words[i + 1]
            if word.startswith("--constraint="):
                return word.split("=", 1)[1]
    return None


def plugins_zip(plugins_dir: Path, wheelhouse: Path | None = None) -> bytes | None:
    """A reproducible plugins.zip of plugins/ (and of a wheelhouse under wheels/), or None when
    there is neither a real plugin nor a wheel to ship."""
    entries: dict[str, Path] = {}
    if plugins_dir.is_dir() and any(str(rel) not in PLUGIN_PLACEHOLDERS for rel in _walk(plugins_dir)):
        entries |= {str(rel): plugins_dir / rel for rel in _walk(plugins_dir)}
    if wheelhouse is not None:
        wheels = sorted(wheelhouse.glob("*.whl"))
        if not wheels:
            raise DeployError(f"{wheelhouse} holds no wheel: nothing to install offline")
        entries |= {f"{WHEELS_DIR}/{w.name}": w for w in wheels}
    if not entries:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            # Wheels are zips already: storing them again compressed only costs time.
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".whl") else zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes())
    return buffer.getvalue()


def offline_requirements(requirements: str) -> str:
    """requirements.txt that installs only from the wheels plugins.zip ships, never from an index."""
    header = (
        "# Offline: every wheel comes from plugins.zip (make deploy OFFLINE=1), no index is used.\n"
        f"--no-index\n--find-links {MWAA_WHEELS}\n"
    )
    return header + requirements


def dbt_packages(startup: Path) -> list[str]:
    """The packages startup.sh installs into the dbt virtualenv (its SALES_DBT_PACKAGES line)."""
    for line in startup.read_text().splitlines():
        if line.startswith("SALES_DBT_PACKAGES="):
            return shlex.split(line.split("=", 1)[1])[0].split()
    raise DeployError(f"{startup} has no SALES_DBT_PACKAGES line")


def download_wheelhouse(dest: Path, root: Path = REPO_ROOT) -> Path:
    """Download, for MWAA's platform, every wheel requirements.txt and the dbt virtualenv need."""
    import subprocess
    import tempfile

    mwaa = root / "mwaa"
    dest.mkdir(parents=True, exist_ok=True)
    common = [sys.executable, "-m", "pip", "download", "--dest", str(dest), "--only-binary=:all:"]
    common += [f"--platform={p}" for p in MWAA_PLATFORMS]
    common += [f"--python-version={MWAA_PYTHON}", "--implementation=cp", f"--abi={MWAA_ABI}"]
    with tempfile.TemporaryDirectory() as tmp:
        # requirements.txt names its constraints by their path on MWAA: point at the local copy.
        local = Path(tmp) / "requirements.txt"
        text = (mwaa / "requirements.txt").read_text()
        local.write_text(text.replace(str(MWAA_HOME / CONSTRAINTS_KEY), str(mwaa / "constraints.txt")))
        # MWAA installs requirements.txt on top of the Airflow its constraints are for, so
        # the wheels are resolved together with that Airflow (its constraints do not pin it).
        airflow = airflow_version(mwaa / "constraints.txt")
        commands = [
            [*common, "-r", str(local), *([f"apache-airflow=={airflow}"] if airflow else [])],
            # The dbt virtualenv is apart from Airflow, without Airflow's constraints (PyAthena).
            [*common, *dbt_packages(mwaa / "startup.sh")],
        ]
        for command in commands:
            proc = subprocess.run(command, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise DeployError(f"pip download failed:\n{proc.stderr[-3000:]}")
    return dest


def airflow_version(constraints: Path) -> str | None:
    """The Airflow version an Airflow constraints file is for (from its source URL), or None
    when the file is not one of Airflow's."""
    found = AIRFLOW_CONSTRAINTS_URL.search(constraints.read_text())
    return found.group(1) if found else None


def build_bundle(root: Path = REPO_ROOT, wheelhouse: Path | None = None) -> list[BundleFile]:
    """Every object the MWAA bucket must hold, keyed as MWAA expects; checks the layout.

    With a wheelhouse, plugins.zip carries its wheels and requirements.txt installs from them
    only (see --offline).
    """
    dags, include, mwaa = root / "dags", root / "include", root / "mwaa"
    for needed in (dags, include, mwaa / "requirements.txt", mwaa / "constraints.txt"):
        if not needed.exists():
            raise DeployError(f"{needed} is missing: the bundle needs it")
    manifest = root / DBT_MANIFEST
    if not manifest.is_file():
        raise DeployError(
            f"{DBT_MANIFEST} is missing: run `make manifest` first "
            "(Cosmos renders the dbt tasks from this prebuilt manifest on MWAA)"
        )
    airflowignore = dags / ".airflowignore"
    if not airflowignore.is_file() or not _lists_include(airflowignore):
        raise DeployError(
            "dags/.airflowignore must list `include/`: the bundle puts include/ under the "
            "MWAA dags folder and the DAG processor must not parse it"
        )
    wanted = MWAA_HOME / CONSTRAINTS_KEY
    found = constraint_path(mwaa / "requirements.txt")
    if found != str(wanted):
        raise DeployError(
            f'mwaa/requirements.txt must say --constraint "{wanted}" (found {found!r}): '
            f"the deploy ships mwaa/constraints.txt to s3://<bucket>/{CONSTRAINTS_KEY}"
        )

    files = [BundleFile(DAGS_PREFIX + str(rel), (dags / rel).read_bytes()) for rel in _walk(dags)]
    dbt_projects = {rel.parent for rel in _walk(include) if rel.name == "dbt_project.yml"}
    files += [
        BundleFile(INCLUDE_PREFIX + str(rel), (include / rel).read_bytes())
        for rel in _walk(include)
        if not _dbt_build_output(rel, dbt_projects)
    ]
    files.append(BundleFile(CONSTRAINTS_KEY, (mwaa / "constraints.txt").read_bytes()))
    requirements = (mwaa / "requirements.txt").read_text()
    if wheelhouse is not None:
        requirements = offline_requirements(requirements)
    files.append(BundleFile(REQUIREMENTS_KEY, requirements.encode()))
    if (mwaa / "startup.sh").is_file():
        files.append(BundleFile(STARTUP_KEY, (mwaa / "startup.sh").read_bytes()))
    plugins = plugins_zip(root / "plugins", wheelhouse)
    if plugins is not None:
        files.append(BundleFile(PLUGINS_KEY, plugins))
    keys = [f.key for f in files]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DeployError(f"two files map to the same S3 key: {', '.join(duplicates)}")
    return files


def _list_objects(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Key -> ETag (without quotes) of the current objects under prefix."""
    objects: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            objects[obj["Key"]] = obj["ETag"].strip('"')
    return objects


def _remote_state(s3: Any, bucket: str, bundle: Iterable[BundleFile]) -> dict[str, str]:
    """ETags of what the bucket holds under dags/ and at the bundle's other keys."""
    remote = _list_objects(s3, bucket, DAGS_PREFIX)
    for item in bundle:
        if not item.key.startswith(DAGS_PREFIX):
            etag = _list_objects(s3, bucket, item.key).get(item.key)
            if etag is not None:
                remote[item.key] = etag
    return remote


def _unchanged(s3: Any, bucket: str, item: BundleFile, etag: str | None) -> bool:
    if etag is None:
        return False
    if etag == item.md5:
        return True
    head = s3.head_object(Bucket=bucket, Key=item.key)
    return head.get("Metadata", {}).get(SHA256_METADATA) == item.sha256


def _current_version(s3: Any, bucket: str, key: str) -> str | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key).get("VersionId")
    except s3.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") in (
            "404",
            "NoSuchKey",
            "NotFound",
        ):
            return None
        raise


def sync(s3: Any, bucket: str, bundle: list[BundleFile], dry_run: bool = False) -> SyncResult:
    """Upload what changed, delete stale objects under dags/, collect the object versions."""
    result = SyncResult(dry_run=dry_run)
    remote = _remote_state(s3, bucket, bundle)
    new_versions: dict[str, str | None] = {}
    for item in bundle:
        if _unchanged(s3, bucket, item, remote.get(item.key)):
            result.unchanged.append(item.key)
            continue
        result.uploaded.append(item.key)
        if not dry_run:
            response = s3.put_object(
                Bucket=bucket,
                Key=item.key,
                Body=item.data,
                Metadata={SHA256_METADATA: item.sha256},
            )
            new_versions[item.key] = response.get("VersionId")
    wanted = {f.key for f in bundle}
    stale = sorted(k for k in remote if k.startswith(DAGS_PREFIX) and k not in wanted)
    result.deleted = stale
    if stale and not dry_run:
        for start in range(0, len(stale), 1000):
            batch = [{"Key": k} for k in stale[start : start + 1000]]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    for parameter, key in VERSIONED_KEYS.items():
        if key not in wanted:
            continue
        if key in new_versions:
            result.versions[parameter] = new_versions[key]
        elif dry_run and key in result.uploaded:
            result.versions[parameter] = None
        else:
            result.versions[parameter] = _current_version(s3, bucket, key)
    return result


def s3_client(
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    aws_conn_id: str | None = None,
) -> Any:
    """An S3 client from an Airflow connection, or from boto3's usual credential chain."""
    if aws_conn_id:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=aws_conn_id).get_conn()
    import boto3

    session = boto3.session.Session(profile_name=profile, region_name=region)
    return session.client("s3", endpoint_url=endpoint_url)


def report(bucket: str, result: SyncResult) -> str:
    """Human-readable summary, ending with the versions to point the environment at."""
    verb = "would upload" if result.dry_run else "uploaded"
    gone = "would delete" if result.dry_run else "deleted"
    lines = [f"{verb}: s3://{bucket}/{key}" for key in result.uploaded]
    lines += [f"{gone}: s3://{bucket}/{key}" for key in result.deleted]
    summary = f"{len(result.uploaded)} to upload" if result.dry_run else f"{len(result.uploaded)} uploaded"
    summary += f", {len(result.unchanged)} unchanged, {len(result.deleted)} "
    summary += "to delete (dry run: nothing changed)" if result.dry_run else "deleted"
    lines.append(summary)
    if any(v is None for v in result.versions.values()) and not result.dry_run:
        lines.append("WARNING: no VersionId came back: MWAA needs a bucket with versioning enabled")
    lines.append("")
    lines.append("Point the MWAA environment at these object versions:")
    for parameter, version in result.versions.items():
        shown = version or ("<the version this deploy would create>" if result.dry_run else "?")
        lines.append(f"  {parameter}={shown}")
    overrides = " ".join(f"{p}={v}" for p, v in result.versions.items() if v)
    if overrides and not result.dry_run:
        lines.append("")
        lines.append(
            "e.g. aws cloudformation deploy --stack-name <stack> --template-file "
            "mwaa/cloudformation/sales-analyzer.yaml --capabilities CAPABILITY_NAMED_IAM "
            f"--parameter-overrides CreateEnvironment=true {overrides}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: build the bundle, sync it to --bucket, print the versions."""
    parser = argparse.ArgumentParser(prog="python -m mwaa.deploy", description=__doc__.split("\n")[0])
    parser.add_argument("--bucket", required=True, help="the MWAA environment's S3 bucket")
    parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="S3 endpoint (moto, LocalStack); default: AWS",
    )
    parser.add_argument("--region", default=None, help="AWS region (default: boto3's)")
    parser.add_argument("--profile", default=None, help="AWS profile (default: boto3's)")
    parser.add_argument(
        "--aws-conn-id",
        default=None,
        help="use this Airflow connection's credentials instead of boto3's chain",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="ship every wheel in plugins.zip and install with --no-index (no route to PyPI)",
    )
    parser.add_argument(
        "--wheelhouse",
        type=Path,
        default=None,
        help="with --offline: where the wheels are downloaded (default build/wheelhouse)",
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        wheelhouse = None
        if args.offline:
            wheelhouse = download_wheelhouse(args.wheelhouse or args.root / "build" / "wheelhouse", args.root)
        bundle = build_bundle(args.root, wheelhouse)
        s3 = s3_client(args.endpoint_url, args.region, args.profile, args.aws_conn_id)
        result = sync(s3, args.bucket, bundle, dry_run=args.dry_run)
    except DeployError as err:
        print(f"deploy: {err}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as err:
        print(f"deploy: S3 said no for bucket {args.bucket!r}: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.__dict__, indent=2, sort_keys=True))
    else:
        print(report(args.bucket, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
