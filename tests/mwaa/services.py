"""Real services on loopback for tests: a Debian PostgreSQL cluster and Airflow's four components.

MWAA runs Airflow's scheduler, dag-processor, triggerer and API server as separate processes on a
PostgreSQL metadata database; this starts the same set from the Airflow virtualenv, each as its own
process group, so a test can drive them over HTTP and stop every process it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin() -> Path | None:
    """Debian's PostgreSQL server binaries (package postgresql), newest first."""
    for path in PG_BIN_CANDIDATES:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1 with a password-protected `airflow` database."""

    # Its own folder straight under the temp dir: the `postgres` user cannot enter pytest's
    # root-only tmp_path when the tests run as root.
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sales-pg-")))
    port: int = field(default_factory=free_port)
    user: str = "airflow"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/airflow"

    def start(self) -> Postgres:
        bin_dir = pg_bin()
        assert bin_dir, "PostgreSQL's server is needed: apt-get install -y postgresql"
        self.bin = bin_dir
        self.data = self.root / "pgdata"
        self.root.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(pwfile, "postgres")
        initdb = [str(bin_dir / "initdb"), "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}"]
        self._run([*initdb, "--auth=scram-sha-256", "--encoding=UTF8", "--no-instructions"])
        pwfile.unlink()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options]
        self._run([*pg_ctl, "-l", str(self.root / "pg.log"), "-w", "-t", "60", "start"])
        env = {**os.environ, "PGPASSWORD": self.password}
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "airflow"],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, cmd: list[str]) -> None:
        proc = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, f"{cmd[0]} failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"


@dataclass
class AirflowServices:
    """Airflow's scheduler, dag-processor, triggerer and API server sharing one environment."""

    home: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self, database_url: str) -> dict[str, str]:
        """The environment every component shares (what MWAA's airflow.cfg would hold)."""
        self.home.mkdir(parents=True, exist_ok=True)
        passwords = self.home / "passwords.json"
        passwords.write_text(json.dumps({"admin": self.password}))
        self.env = {
            **self.env,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # Only the runs a test triggers: unpausing the @daily DAG would also start the latest
            # scheduled interval's run (9,800 rows), doubling the wait.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
        return self.env

    def migrate(self) -> None:
        proc = subprocess.run(
            [AIRFLOW, "db", "migrate"], env=self.env, capture_output=True, text=True, timeout=600, check=False
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    def start(self) -> None:
        for name in COMPONENTS:
            cmd = [AIRFLOW, name]
            if name == "api-server":
                cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
            log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
            self.processes[name] = subprocess.Popen(
                cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.wait_until_healthy()

    def wait_until_healthy(self, timeout: float = 180) -> dict[str, Any]:
        """Poll /api/v2/monitor/health until the metadata DB, scheduler, triggerer and processor report."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                last = self.request("GET", "/api/v2/monitor/health", auth=False)
                parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
                if all((last.get(p) or {}).get("status") == "healthy" for p in parts):
                    return last
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                last = exc
            time.sleep(2)
        raise AssertionError(f"Airflow did not become healthy in {timeout:.0f} s: {last}\n{self.logs_tail()}")

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        assert not dead, f"Airflow components exited: {dead}\n{self.logs_tail()}"

    def token(self) -> str:
        """A JWT as the UI's login form gets it (POST /auth/token with the user's password)."""
        if not getattr(self, "_token", None):
            body = {"username": "admin", "password": self.password}
            self._token = self.request("POST", "/auth/token", body, auth=False)["access_token"]
        return self._token

    def request(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def logs_tail(self, lines: int = 40) -> str:
        out = []
        for name in COMPONENTS:
            log = self.home / f"{name}.log"
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name} ---\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self) -> dict[str, int]:
        """SIGTERM each component's process group, SIGKILL what is left after 30 s; return exit codes."""
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        codes = {}
        for name, proc in self.processes.items():
            try:
                codes[name] = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                codes[name] = -9
            with contextlib.suppress(ProcessLookupError):  # children (task runners) share the group
                os.killpg(proc.pid, signal.SIGKILL)
        return codes
