"""The deploy bundle, laid out as MWAA lays it out, imports in a clean interpreter.

MWAA copies the bucket's dags/ prefix to /usr/local/airflow/dags and unzips plugins.zip into
/usr/local/airflow/plugins; Airflow puts both folders on sys.path. This lays `deploy.build_bundle()`
out the same way under a temporary AIRFLOW_HOME, then parses it with DagBag in `python -I` (no
PYTHONPATH, no current directory, no user site) started outside the repository, so only the
bundle itself can satisfy the DAG's imports. The parse time is printed.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mwaa import deploy

REPO_ROOT = Path(__file__).resolve().parents[2]
# The checkout's own code, which the bundle must not reach for.
CHECKOUT_CODE = [f"{REPO_ROOT / d}/" for d in ("dags", "include", "plugins", "mwaa", "tests")]
PROBE = r"""
import json, sys, time
from pathlib import Path

start = time.perf_counter()
from airflow.dag_processing.dagbag import BundleDagBag
imported = time.perf_counter()
# What the dag-processor uses: it puts the bundle (the dags folder) on sys.path.
bag = BundleDagBag(dag_folder=sys.argv[1], bundle_path=Path(sys.argv[1]))
parsed = time.perf_counter()
dag = bag.dags.get("sales_medallion")
# What the API server does with plugins.zip: load plugins/, mount their FastAPI apps, list views.
from airflow import plugins_manager
from fastapi.testclient import TestClient
plugins, plugin_errors = plugins_manager._get_plugins()
apps, _ = plugins_manager.get_fastapi_plugins()
views, _ = plugins_manager._get_ui_plugins()
pages = {a["url_prefix"]: TestClient(a["app"]).get("/").text for a in apps}
print(json.dumps({
    "plugins": sorted(p.name for p in plugins),
    "plugin_errors": plugin_errors,
    "plugin_files": sorted(str(getattr(p, "source", "")) for p in plugins),
    "views": sorted(v["url_route"] for v in views),
    "pages": pages,
    "dag_ids": sorted(bag.dag_ids),
    "import_errors": {str(k): v for k, v in bag.import_errors.items()},
    "files": [s.file for s in bag.dagbag_stats],
    "file_seconds": [s.duration.total_seconds() for s in bag.dagbag_stats],
    "airflow_import_seconds": imported - start,
    "dagbag_seconds": parsed - imported,
    "tasks": sorted(dag.task_ids) if dag else [],
    "tags": sorted(dag.tags) if dag else [],
    "module_files": sorted({
        m.__file__ for m in list(sys.modules.values())
        if getattr(m, "__file__", None) and m.__file__.startswith(tuple(sys.argv[2:]))
    }),
}))
"""


def lay_out_as_mwaa(home: Path) -> None:
    """Write the bundle's objects where MWAA puts them on every Airflow container."""
    for item in deploy.build_bundle(REPO_ROOT):
        if item.key == deploy.PLUGINS_KEY:
            with zipfile.ZipFile(io.BytesIO(item.data)) as archive:
                archive.extractall(home / "plugins")
            continue
        path = home / item.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
    (home / "plugins").mkdir(exist_ok=True)


@pytest.mark.parametrize("backend", ["aws", "local"])
def test_bundle_imports_in_a_clean_interpreter(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    home = tmp_path / "usr" / "local" / "airflow"
    lay_out_as_mwaa(home)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # MWAA's sales.* options, as MWAA passes them (config.py reads them; no startup export).
        "AIRFLOW__SALES__PIPELINE_BACKEND": backend,
        "AIRFLOW__SALES__BUCKET": "lake-bucket",
        "AIRFLOW__SALES__GLUE_JOB_ROLE": "arn:aws:iam::111122223333:role/glue-job",
        # What mwaa/startup.sh exports (the dbt virtualenv need not exist to parse).
        "SALES_DBT_EXECUTABLE": str(home / "dbt_venv" / "bin" / "dbt"),
        "SALES_DATA_DIR": str(home / "sales_data"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    proc = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, str(home / "dags"), *CHECKOUT_CODE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    with capsys.disabled():
        print(
            f"\nMWAA layout, {backend} backend: DagBag parse {found['dagbag_seconds']:.2f} s "
            f"(sales_medallion.py {sum(found['file_seconds']):.2f} s; Airflow import "
            f"{found['airflow_import_seconds']:.2f} s), {len(found['tasks'])} tasks"
        )
    assert found["import_errors"] == {}
    # plugins.zip, unzipped where MWAA unzips it, loads and serves its page.
    assert found["plugin_errors"] == {}
    assert "sales_analyzer" in found["plugins"]
    assert any("sales_analyzer_plugin.py" in f for f in found["plugin_files"]), found["plugin_files"]
    assert found["views"] == ["sales-run-summary"]
    assert "No run yet" in found["pages"]["/sales-analyzer"]
    assert found["dag_ids"] == ["sales_medallion"]
    # .airflowignore keeps the processor out of include/: one DAG file parsed.
    assert [Path(f).name for f in found["files"]] == ["sales_medallion.py"]
    assert found["module_files"] == [], "the bundle imported code from the repository checkout"
    assert {"extract_source", "run_bronze_to_silver", "validate_silver", "publish_gold"} <= set(
        found["tasks"]
    )
    assert any(t.startswith("build_gold.") for t in found["tasks"])
    assert ("aws" in found["tags"]) == (backend == "aws")
    if backend == "aws":
        assert "upload_glue_artifacts" in found["tasks"]
