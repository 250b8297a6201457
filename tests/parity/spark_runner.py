"""Run the Glue script's `run` under local PySpark for every case of a spec; run by .venv-spark's Python.

Usage: spark_runner.py SPEC.json RESULT.json. Only the shared-modules zip is on PYTHONPATH, as on Glue,
so an import the job would miss there fails here too. One Spark session serves every case.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def load_script(path: str) -> Any:
    """Import the Glue script from its file, as Glue runs it."""
    spec = importlib.util.spec_from_file_location("glue_bronze_to_silver", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_probes(spark: Any, script: Any, probes: dict[str, Any]) -> dict[str, Any]:
    """The script's building blocks on given inputs, for the test to hold against DuckDB's functions."""
    from pyspark.sql import functions as sf

    out: dict[str, Any] = {}
    if "csv_fields" in probes:
        out["csv_fields"] = [script.csv_fields(line) for line in probes["csv_fields"]]
    if "strptime" in probes:
        values = probes["strptime"]["values"]
        df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "i int, v string")
        # days since 1970-01-01: year 0 has no Python date, and both engines count proleptic days
        days = sf.datediff(
            script.strptime_date(sf.col("v"), probes["strptime"]["format"]), sf.lit("1970-01-01")
        )
        rows = df.select("i", days.alias("days")).orderBy("i").collect()
        out["strptime_days"] = [r["days"] for r in rows]
    return out


def main(spec_path: str, result_path: str) -> int:
    """Start one local Spark session, run each case, write timings, counts or errors as JSON."""
    began = time.perf_counter()
    spec = json.loads(Path(spec_path).read_text())
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(spec.get("master", "local[2]")).appName("silver-parity")
    for key, value in spec["conf"].items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    script = load_script(spec["script"])
    result: dict[str, Any] = {"job_arguments": list(script.JOB_ARGUMENTS), "startup_s": 0.0, "cases": {}}
    result["startup_s"] = round(time.perf_counter() - began, 2)
    for case in spec["cases"]:
        started = time.perf_counter()
        try:
            outcome: dict[str, Any] = {"counts": script.run(spark, case["args"])}
        except Exception as exc:  # reported to the test, which decides whether it was expected
            outcome = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        outcome["seconds"] = round(time.perf_counter() - started, 2)
        result["cases"][case["name"]] = outcome
    result["probes"] = run_probes(spark, script, spec.get("probes", {}))
    spark.stop()
    result["total_s"] = round(time.perf_counter() - began, 2)
    Path(result_path).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
