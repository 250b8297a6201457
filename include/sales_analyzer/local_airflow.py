"""`make airflow`: Airflow's four components on this checkout, as MWAA runs them (one DB, own processes).

The same settings as `make run` (data dir, DuckDB connection, dbt), plus the plugins folder, the
LocalExecutor and a sign-in made once per Airflow home. `make airflow-stop` stops every process
group started here, task runners included. The browser trigger test starts Airflow the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from include.sales_analyzer.cli import airflow_env
from include.sales_analyzer.config import REPO_ROOT, get_settings

COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")


@dataclass
class LocalAirflow:
    """Airflow's api-server, scheduler, dag-processor and triggerer with `make run`'s settings."""

    home: Path
    data_dir: Path
    port: int = 8080
    user: str = "admin"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "make-airflow.json"

    def password(self) -> str:
        """The sign-in password: made once per Airflow home, kept in it (never in the repo)."""
        path = self.home / "make-airflow-passwords.json"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({self.user: secrets.token_urlsafe(12)}))
            path.chmod(0o600)
        return json.loads(path.read_text())[self.user]

    def env(self) -> dict[str, str]:
        """The environment every component shares."""
        self.password()
        secret = self.home / "make-airflow-jwt-secret"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(32))
            secret.chmod(0o600)
        env = airflow_env(self.data_dir)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API_AUTH__JWT_SECRET": secret.read_text().strip(),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.user}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                    self.home / "make-airflow-passwords.json"
                ),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def running(self) -> dict[str, int]:
        """Component -> pid of what a previous start left running."""
        try:
            pids = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return {}
        alive = {}
        for name, pid in pids.items():
            try:
                os.kill(pid, 0)
                alive[name] = pid
            except OSError:
                pass
        return alive

    def start(
        self, env: dict[str, str] | None = None, timeout: float = 240, out: TextIO = sys.stdout
    ) -> None:
        """Migrate the DB, start the four components, wait until the health endpoint says so."""
        if self.running():
            raise SystemExit(
                f"!! Airflow is already running ({self.pid_file}); stop it with make airflow-stop"
            )
        env = env or self.env()
        airflow = str(Path(sys.executable).with_name("airflow"))
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        migrate = subprocess.run(
            [airflow, "db", "migrate"], env=env, capture_output=True, text=True, check=False
        )
        (logs / "airflow-db-migrate.log").write_text(migrate.stdout + migrate.stderr)
        if migrate.returncode != 0:
            raise SystemExit(f"!! airflow db migrate failed; see {logs / 'airflow-db-migrate.log'}")
        pids = {}
        for name in COMPONENTS:
            cmd = [airflow, name]
            if name == "api-server":
                cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
            with open(logs / f"airflow-{name}.log", "wb") as log:
                proc = subprocess.Popen(
                    cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            pids[name] = proc.pid
        self.pid_file.write_text(json.dumps(pids))
        print(
            f">> started {', '.join(COMPONENTS)}; logs in {logs}/airflow-*.log",
            file=out or sys.stdout,
            flush=True,
        )
        self.wait_until_healthy(timeout)

    def wait_until_healthy(self, timeout: float) -> None:
        """Poll /api/v2/monitor/health until the DB, scheduler, triggerer and processor are healthy."""
        deadline, last = time.monotonic() + timeout, None
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        while time.monotonic() < deadline:
            if set(self.running()) != set(COMPONENTS):
                self.stop()
                raise SystemExit(
                    f"!! an Airflow component exited; see {self.data_dir / 'logs'}/airflow-*.log"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as resp:
                    last = json.loads(resp.read())
                if all((last.get(p) or {}).get("status") == "healthy" for p in parts):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as exc:
                last = exc
            time.sleep(2)
        raise SystemExit(f"!! Airflow not healthy after {timeout:.0f}s: {last}")

    def stop(self, timeout: float = 30) -> list[str]:
        """SIGTERM each component's process group, SIGKILL what is left; return what was stopped."""
        pids = self.running()
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running():
            time.sleep(0.5)
        for pid in pids.values():  # task runners share their component's process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return sorted(pids)


def local_airflow(port: int) -> LocalAirflow:
    """The Airflow `make airflow` runs: this checkout's Airflow home and data directory."""
    home = Path(os.environ.get("AIRFLOW_HOME") or REPO_ROOT / ".airflow")
    return LocalAirflow(home=home, data_dir=get_settings().data_dir, port=port)
