"""The dbt side: sources generated from the contract, profiles, and the prebuilt manifest."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from include.sales_analyzer.config import DBT_PROJECT_DIR, get_settings
from include.sales_analyzer.contract import Contract, load_contract

SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PROFILE_NAME = "sales_analytics"


def render_sources_yml(contract: Contract | None = None) -> str:
    """dbt sources for silver, with columns and types straight from the contract."""
    contract = contract or load_contract()
    columns = []
    rules = {c.name: c for c in contract.columns}

    def test(name: str, severity: str, arguments: dict | None = None) -> dict | str:
        # A rule the contract only warns on keeps the sale in silver: its dbt test warns too.
        if severity != "warn" and not arguments:
            return name
        spec: dict = {"arguments": arguments} if arguments else {}
        if severity == "warn":
            spec["config"] = {"severity": "warn"}
        return {name: spec}

    for name, sql_type in contract.silver_columns:
        col: dict = {"name": name, "data_type": sql_type.lower()}
        c = rules.get(name)
        tests: list = ["unique"] if name in contract.key else []
        if c is not None and c.required:
            tests.append(test("not_null", c.severity("required")))
        if c is not None and c.allowed:
            tests.append(test("accepted_values", c.severity("allowed"), {"values": list(c.allowed)}))
        if tests:
            col["data_tests"] = tests
        columns.append(col)
    doc = {
        "version": 2,
        "sources": [
            {
                "name": "silver",
                "description": "Silver as the catalog stage publishes it: a DuckDB view over the "
                "silver Parquet locally, the Glue table on AWS. Generated from "
                "include/sales_analyzer/contracts/sales.yml; run "
                "`python -m include.sales_analyzer.dbt_project sources` after changing it).",
                "schema": "{{ env_var('SALES_SILVER_SCHEMA', 'silver') }}",
                "tables": [
                    {
                        "name": contract.name,
                        "description": contract.raw.get("description", ""),
                        "columns": columns,
                    }
                ],
            }
        ],
    }
    header = "# Generated from the silver contract: do not edit by hand.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, width=100)


LOCAL_TARGET = "local"
LOCAL_THREADS = 1
LOCAL_SCHEMA = "main"


def duckdb_settings(memory_limit: str) -> dict[str, str]:
    """DuckDB settings of the local dbt profile: a memory limit, and no temp_directory
    (dbt-duckdb re-applies settings on each cursor and DuckDB refuses a new temp dir once used)."""
    return {"memory_limit": memory_limit}


def duckdb_profile(path: Path, threads: int = LOCAL_THREADS, memory_limit: str | None = None) -> dict:
    """A dbt-duckdb profile for the local backend (no secrets in it).

    Keep it equal to what Cosmos renders from gold.profile_config (path, schema, settings):
    dbt hashes them into partial_parse.msgpack, and a different hash makes every Cosmos
    task parse the whole project again ("Unable to do partial parsing because profile has changed").
    """
    return {
        PROFILE_NAME: {
            "target": LOCAL_TARGET,
            "outputs": {
                LOCAL_TARGET: {
                    "type": "duckdb",
                    "path": str(path),
                    "threads": threads,
                    "schema": LOCAL_SCHEMA,
                    "settings": duckdb_settings(memory_limit or get_settings().dbt_memory_limit),
                }
            },
        }
    }


def dbt_env() -> dict[str, str]:
    """Environment for a dbt subprocess: no telemetry, data dir set."""
    settings = get_settings()
    return {
        **os.environ,
        "SALES_DATA_DIR": str(settings.data_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }


def in_process_dbt() -> Path | None:
    """The dbt of this interpreter's own environment, if dbt is installed in it.

    That is the dbt Cosmos runs in-process (InvocationMode.DBT_RUNNER) on the local backend.
    """
    dbt = Path(sys.executable).with_name("dbt")
    return dbt if dbt.is_file() else None


def run_dbt(
    args: list[str], profiles_dir: Path | None = None, executable: str | Path | None = None
) -> subprocess.CompletedProcess:
    """Run dbt on this project: `executable`, else the dbt virtualenv's (SALES_DBT_EXECUTABLE)."""
    settings = get_settings()
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if profiles_dir is None:
            profiles_dir = Path(tmp)
            (profiles_dir / "profiles.yml").write_text(
                yaml.safe_dump(duckdb_profile(settings.warehouse_path))
            )
        cmd = [
            str(executable or settings.dbt_executable),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(profiles_dir),
        ]
        return subprocess.run(cmd, env=dbt_env(), capture_output=True, text=True, check=False)


def build_manifest() -> Path:
    """Parse the project into target/manifest.json, which Cosmos renders the DAG from."""
    # A full parse that also leaves target/partial_parse.msgpack, which Cosmos reuses so
    # each model task does not parse the project again.
    # --profile/--target as Cosmos passes them: dbt hashes both into the partial-parse state.
    flags = ["--profile", PROFILE_NAME, "--target", LOCAL_TARGET]
    # partial_parse.msgpack is only reused by the dbt version that wrote it: build it with the
    # dbt the local tasks run in-process when there is one, else the dbt virtualenv's.
    dbt = in_process_dbt()
    proc = run_dbt(["parse", "--no-partial-parse", *flags], executable=dbt)
    if proc.returncode == 0:
        proc = run_dbt(["parse", *flags], executable=dbt)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"dbt parse failed (exit {proc.returncode})")
    return MANIFEST


def main(argv: list[str] | None = None) -> None:
    """`sources` regenerates _sources.yml from the contract; `manifest` builds the manifest."""
    parser = argparse.ArgumentParser(prog="python -m include.sales_analyzer.dbt_project")
    parser.add_argument("command", choices=["sources", "manifest"])
    args = parser.parse_args(argv)
    if args.command == "sources":
        SOURCES_YML.write_text(render_sources_yml())
        print(f"wrote {SOURCES_YML}")
    else:
        print(f"wrote {build_manifest()}")


if __name__ == "__main__":
    main()
