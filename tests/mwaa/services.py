"""Real services on loopback for tests: a Debian PostgreSQL cluster and Airflow's four components.

MWAA runs Airflow's scheduler, dag-processor, triggerer and API server as separate processes on a
PostgreSQL metadata database; this starts the same set the way `make airflow` does (its own code,
include/sales_analyzer/local_airflow.py, plugins folder included), each as its own process group,
on such a database, so a test can drive them over HTTP and stop every process it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


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
class AirflowStack:
    """`make airflow`'s four components (include/sales_analyzer/local_airflow.py) on PostgreSQL.

    One stack serves every test that needs real Airflow services: the MWAA checks
    (tests/mwaa/test_airflow_services.py) and a person's trigger through the UI
    (tests/airflow_ui/test_trigger_in_browser.py) look at the same DAG run.
    """

    root: Path
    postgres: Postgres = field(default_factory=Postgres)
    pids: dict[str, int] = field(default_factory=dict)
    _token: str | None = None

    def __post_init__(self) -> None:
        from include.sales_analyzer.local_airflow import LocalAirflow

        self.airflow = LocalAirflow(home=self.root / "home", data_dir=self.root / "data", port=free_port())

    @property
    def data_dir(self) -> Path:
        return self.airflow.data_dir

    @property
    def base_url(self) -> str:
        return self.airflow.url

    def env(self) -> dict[str, str]:
        """`make airflow`'s environment on the PostgreSQL database (what MWAA's airflow.cfg would hold)."""
        env = self.airflow.env()
        env.update(
            {
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__FERNET_KEY": "",
                "AIRFLOW_CONN_SALES_DUCKDB": json.dumps(
                    {"conn_type": "duckdb", "host": str(self.data_dir / "warehouse" / "build.duckdb")}
                ),
                # Only the runs a test triggers: "unpause on trigger" would otherwise also start the
                # latest @daily interval's run, doubling the wait.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        return env

    def start(self, timeout: float = 300) -> AirflowStack:
        """Start PostgreSQL, then Airflow as `make airflow` does (migrate, four components, healthy)."""
        self.postgres.start()
        with open(os.devnull, "w") as quiet:
            self.airflow.start(env=self.env(), timeout=timeout, out=quiet)
        self.pids = self.airflow.running()
        for pid in self.pids.values():
            # The components are this process's children: reap each as it exits, so that a stopped
            # one is gone from the process table (a zombie would still answer kill(pid, 0)).
            threading.Thread(target=_reap, args=(pid,), daemon=True).start()
        return self

    def check_alive(self) -> None:
        alive = self.airflow.running()
        dead = sorted(set(self.pids) - set(alive))
        assert not dead, f"Airflow components exited: {dead}\n{self.logs_tail()}"

    def token(self) -> str:
        """A JWT as the UI's login form gets it (POST /auth/token with the user's password)."""
        if self._token is None:
            body = {"username": self.airflow.user, "password": self.airflow.password()}
            self._token = self.request("POST", "/auth/token", body, auth=False)["access_token"]
        return self._token

    def request(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        """One REST call; a busy API server on a loaded machine is asked again for up to 3 minutes."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    text = resp.read()
                return json.loads(text) if text else None
            except urllib.error.HTTPError:
                raise
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(3)

    def wait_for_dag(self, dag_id: str, timeout: float = 300) -> dict:
        """The dag-processor has parsed the DAG into the metadata DB (the UI's DAG list shows it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            found = self.request("GET", f"/api/v2/dags?dag_id_pattern={dag_id}")
            if found["total_entries"]:
                return found["dags"][0]
            time.sleep(3)
        errors = self.request("GET", "/api/v2/importErrors")
        raise AssertionError(f"{dag_id} never appeared; import errors: {errors}\n{self.logs_tail()}")

    def dag_runs(self, dag_id: str) -> list[dict]:
        """Every run of the DAG, oldest first."""
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=id&limit=100")["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> dict:
        """Poll the run until it succeeds or fails (or `timeout` seconds pass); return it."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            run = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed") or time.monotonic() > deadline:
                return run
            time.sleep(5)

    def logs_tail(self, lines: int = 40) -> str:
        out = []
        for log in sorted((self.data_dir / "logs").glob("airflow-*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name} ---\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self) -> list[str]:
        """Stop every Airflow process group (task runners included), then PostgreSQL."""
        try:
            return self.airflow.stop()
        finally:
            self.postgres.stop()

    def leftovers(self, wait: float = 15) -> list[int]:
        """Pids of the components still in the process table (after up to `wait` s for the reapers)."""
        deadline = time.monotonic() + wait
        while True:
            alive = []
            for pid in self.pids.values():
                try:
                    os.kill(pid, 0)
                    alive.append(pid)
                except ProcessLookupError:
                    pass
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.5)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
