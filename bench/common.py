"""Shared by bench/run.py and bench/scale.py: measured child processes, machine facts, input files."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from include.sales_analyzer.config import DEFAULT_DUCKDB_MEMORY_LIMIT  # noqa: E402 (stdlib-only module)

BUILD = REPO_ROOT / "build" / "bench"  # gitignored (build/)
DATA = BUILD / "data"
VENV_PY = REPO_ROOT / ".venv" / "bin" / "python"
BENCH_VENV = REPO_ROOT / ".venv-bench"
BENCH_PY = BENCH_VENV / "bin" / "python"
VARIANTS = Path(__file__).resolve().with_name("variants.py")
SEED = 42
GIB = 1024**3


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages."""
    return os.getloadavg()


@dataclass
class Measurement:
    """What one child process cost: wall clock, CPU (user + sys of it and its children), peak RSS."""

    label: str
    wall_seconds: float
    user_seconds: float
    sys_seconds: float
    max_rss_bytes: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def cpu_seconds(self) -> float:
        """User plus system CPU time."""
        return self.user_seconds + self.sys_seconds

    @property
    def work_seconds(self) -> float:
        """The child's own timed section (no interpreter start, no imports), else the wall time."""
        return float(self.result.get("work_seconds", self.wall_seconds))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the derived figures."""
        out = asdict(self)
        out["cpu_seconds"] = self.cpu_seconds
        out["work_seconds"] = self.work_seconds
        return out


def measure(
    label: str, cmd: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> Measurement:
    """Run `cmd` as a child and read its rusage with wait4 (its own, not other children's).

    ru_maxrss from wait4 is the peak RSS of the child or of any descendant it waited for
    (dbt, started by run_dbt, counts); CPU times add up over the same tree.
    """
    env = env or os.environ.copy()
    log = log or BUILD / "logs" / f"{label}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    load_before = load_average()
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{label} failed (exit {proc.returncode}); last lines of {log}:\n{text[-3000:]}")
    result: dict[str, Any] = {}
    for line in text.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line[len("BENCH_RESULT ") :])
    return Measurement(
        label=label,
        wall_seconds=wall,
        user_seconds=usage.ru_utime,
        sys_seconds=usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,  # kilobytes on Linux
        load_before=load_before,
        load_after=load_average(),
        result=result,
    )


def variant_cmd(python: Path, variant: str, *args: str) -> list[str]:
    """Command line of one bench/variants.py workload."""
    return [str(python), str(VARIANTS), variant, *args]


def bench_env(bytecode_cache: bool = True, **extra: str) -> dict[str, str]:
    """The caller's environment with the repository importable and no telemetry.

    With `bytecode_cache`, children use the bytecode `make setup` compiled into the virtualenvs
    (uv --compile-bytecode), as `make run` does. (Until session 11 they cached it under
    build/bench/pycache instead, with PYTHONPYCACHEPREFIX: Python then ignores the virtualenv's
    own .pyc files, so the first run of a fresh checkout's bench compiled Airflow's, GX's and dbt's
    modules: its quality gate task took 12.3 s, against 5.1 s once compiled.) Without it, no
    bytecode at all: an empty PYTHONPYCACHEPREFIX (so the virtualenvs' .pyc files are not looked
    at) and PYTHONDONTWRITEBYTECODE=1, so every module is compiled from source.
    """
    env = dict(os.environ)
    env.update(extra)
    if bytecode_cache:
        env.pop("PYTHONPYCACHEPREFIX", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        empty = BUILD / "no-pycache"  # stays empty: nothing is written under it
        shutil.rmtree(empty, ignore_errors=True)
        empty.mkdir(parents=True)
        env["PYTHONPYCACHEPREFIX"] = str(empty)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        dict.fromkeys(filter(None, [str(REPO_ROOT), *env.get("PYTHONPATH", "").split(os.pathsep)]))
    )
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def csv_path(rows: int, seed: int = SEED, folder: Path = DATA) -> Path:
    """Where the generated file of `rows` rows and `seed` lives."""
    return folder / f"sales_{rows}r_seed{seed}.csv"


def ensure_csv(rows: int, seed: int = SEED, folder: Path = DATA) -> Path:
    """Generate the synthetic file once; reuse it when its sidecar says same rows, seed and size."""
    from include.sales_analyzer.extract.synthetic import generate_sales_csv

    path = csv_path(rows, seed, folder)
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        info = json.loads(meta.read_text())
        if info.get("rows") == rows and info.get("seed") == seed and info.get("bytes") == path.stat().st_size:
            return path
    print(f">> generating {rows:,} rows (seed {seed}) into {path}", flush=True)
    started = time.perf_counter()
    generated = generate_sales_csv(path, rows=rows, seed=seed)
    meta.write_text(
        json.dumps(
            {
                "rows": rows,
                "seed": seed,
                "bytes": generated.size_bytes,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    )
    return path


def base_python() -> str:
    """A Python 3.12 for .venv-bench: pyenv's 3.12.1, else the interpreter .venv was made from."""
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
        candidate = Path(root) / "versions" / "3.12.1" / "bin" / "python3.12"
        if candidate.exists():
            return str(candidate)
    except (OSError, subprocess.CalledProcessError):
        pass
    return getattr(sys, "_base_executable", sys.executable)


def ensure_bench_venv() -> Path:
    """Create .venv-bench with requirements-bench.txt (polars) under Airflow's constraints, if missing."""
    stamp = BENCH_VENV / ".installed"
    req = REPO_ROOT / "requirements-bench.txt"
    if stamp.exists() and stamp.stat().st_mtime >= req.stat().st_mtime:
        return BENCH_PY
    print(f">> creating {BENCH_VENV} (polars, for the comparison only)", flush=True)
    if not BENCH_PY.exists():
        subprocess.run([base_python(), "-m", "venv", str(BENCH_VENV)], check=True)
    uv = REPO_ROOT / ".venv" / "bin" / "uv"
    installer = [str(uv), "pip", "install", "-q", "--python", str(BENCH_PY)]
    if not uv.exists():
        installer = [str(BENCH_PY), "-m", "pip", "install", "-q"]
    constraints = REPO_ROOT / "mwaa" / "constraints.txt"
    subprocess.run([*installer, "-r", str(req), "-c", str(constraints)], check=True)
    stamp.touch()
    return BENCH_PY


def package_versions(python: Path, names: list[str]) -> dict[str, str]:
    """Installed versions of `names` in the interpreter `python`."""
    code = (
        "import json, importlib.metadata as m\n"
        "out = {}\n"
        f"for n in {names!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout or "{}")


def machine_facts() -> dict[str, Any]:
    """nproc, RAM, CPU model, kernel, disk, load average, date and the versions that matter."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    disk = shutil.disk_usage(REPO_ROOT)
    versions = package_versions(
        VENV_PY,
        ["apache-airflow", "duckdb", "pandas", "pyarrow", "numpy", "great_expectations", "astronomer-cosmos"],
    )
    if BENCH_PY.exists():
        versions.update(package_versions(BENCH_PY, ["polars", "polars-runtime-32"]))
    dbt = REPO_ROOT / ".venv-dbt" / "bin" / "python"
    if dbt.exists():
        versions.update(package_versions(dbt, ["dbt-core", "dbt-duckdb"]))
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "ram_gib": round(mem_kb / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "disk_free_gib": round(disk.free / GIB, 1),
        "load_average": load_average(),
        "duckdb_memory_limit": os.environ.get("SALES_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT),
        "duckdb_threads": os.environ.get("SALES_DUCKDB_THREADS", "(DuckDB default: all cores)"),
        "versions": versions,
    }


def read_results(path: Path) -> dict[str, Any]:
    """Results saved by an earlier run, or an empty dict."""
    return json.loads(path.read_text()) if path.exists() else {}


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Save results atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(json.dumps(results, indent=2, default=str) + "\n")
    os.replace(tmp.name, path)


def fmt_bytes(n: float) -> str:
    """Bytes as MiB or GiB."""
    return f"{n / GIB:.2f} GiB" if n >= GIB else f"{n / 1024**2:.0f} MiB"
