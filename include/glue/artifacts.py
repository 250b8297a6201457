"""What a Glue run of bronze_to_silver needs: its script, contract, shared-modules zip and arguments."""

from __future__ import annotations

import zipfile
from pathlib import Path

GLUE_DIR = Path(__file__).parent
INCLUDE_DIR = GLUE_DIR.parent
SCRIPT = GLUE_DIR / "bronze_to_silver.py"
CONTRACT = INCLUDE_DIR / "sales_analyzer" / "contracts" / "sales.yml"
GLUE_VERSION = "5.0"
# The job imports only these (standard library + PyYAML, which Glue 5.0 provides), under their
# package path, so checks.py's own `from include.sales_analyzer.contract import ...` resolves.
# errors.py gives the job the local engine's error messages (its Airflow import is optional);
# this module gives it JOB_ARGUMENTS, the one list of its arguments.
SHARED_MODULES = (
    "__init__.py",
    "glue/__init__.py",
    "glue/artifacts.py",
    "sales_analyzer/__init__.py",
    "sales_analyzer/contract.py",
    "sales_analyzer/checks.py",
    "sales_analyzer/errors_base.py",
    "sales_analyzer/errors.py",
)
# The job's arguments, declared once: bronze_to_silver.py imports them from the shared zip.
JOB_ARGUMENTS = (
    "bronze_path",
    "contract_path",
    "silver_path",
    "quarantine_path",
    "repairs_path",
    "counts_path",
    "ingest_date",
    "source_name",
)
# A fixed timestamp makes the zip byte-identical for identical sources, so re-deploys are no-ops.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def build_shared_zip(dest: Path) -> Path:
    """Write the --extra-py-files zip holding include/sales_analyzer/{contract,checks}.py."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w") as zf:
        for rel in SHARED_MODULES:
            info = zipfile.ZipInfo(f"include/{rel}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, (INCLUDE_DIR / rel).read_bytes())
    return dest


def job_arguments(
    *,
    bronze_path: str,
    contract_path: str,
    silver_path: str,
    quarantine_path: str,
    ingest_date: str,
    source_name: str,
    repairs_path: str | None = None,
    counts_path: str | None = None,
) -> dict[str, str]:
    """One run's arguments as GlueJobOperator's script_args takes them ("--name": value).

    Without a repairs_path the job writes the repairs table under the quarantine prefix, in a
    `_repairs/` folder: cleaned up with the quarantine staging, and skipped (leading `_`) by
    readers of the quarantine's Parquet files. Without a counts_path the job writes its counts
    to `_counts.json` in the silver folder (a leading `_`: Spark and Athena skip it). The aws
    backend passes both from its Layout.
    """
    if repairs_path is None:
        repairs_path = quarantine_path.rstrip("/") + "/_repairs/"
    if counts_path is None:
        counts_path = silver_path.rstrip("/") + "/_counts.json"
    values = {
        "bronze_path": bronze_path,
        "contract_path": contract_path,
        "silver_path": silver_path,
        "quarantine_path": quarantine_path,
        "repairs_path": repairs_path,
        "counts_path": counts_path,
        "ingest_date": ingest_date,
        "source_name": source_name,
    }
    return {f"--{name}": values[name] for name in JOB_ARGUMENTS}
