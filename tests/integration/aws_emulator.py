"""moto in server mode as the AWS of the aws-backend tests, plus the parts moto cannot play.

moto answers the S3, Glue, Athena, IAM and STS API calls. It never runs a Glue script, its
crawls do not finish, GetCrawlerMetrics is not implemented, and its job runs and queries only
ever succeed. Running in the test process, it can be extended where the tests need more:

- GlueWorker plays the Glue workers: for each run the DAG starts, it runs the DuckDB silver
  (the Glue script's twin: the parity test holds their rows identical) on the bronze object
  named by the run's --bronze_path and writes --silver_path / --quarantine_path, or ends the
  run FAILED / TIMEOUT with an error message, as a test asks.
- throttle_glue_job_runs makes GetJobRun of a job answer ThrottlingException.
- crawls_finish / crawler_metrics make crawls complete and answer GetCrawlerMetrics.
- AthenaPlayer plays Athena's engine: statements run on DuckDB over the lake in moto's S3, so
  dbt-athena (through Cosmos) builds gold for real and every statement is recorded.
- FaultInjector sits in front of moto's HTTP app and answers chosen requests of the DAG's tasks
  with the errors AWS sends: S3 500 InternalError or 503 SlowDown, Glue ThrottlingException.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import boto3
import pytest

ACCOUNT_ID = "123456789012"  # moto's account: no log or report may show it
REGION = "us-east-1"
ACCESS_KEY_ID = "AKIAFAKEKEYID0000001"
# Planted so that the tests can grep every log and report for it.
SECRET_ACCESS_KEY = "planted-fake-secret-Zq9vX7pL2mK4"
GLUE_ROLE = "smart-sales-analyzer-glue-job"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoAws:
    """A ThreadedMotoServer on 127.0.0.1 and clients for it."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.faults = FaultInjector()

    def start(self) -> MotoAws:
        """Start serving, with no resources (moto's backends are global to the process)."""
        import urllib.request

        self.server.start()
        # werkzeug's server reads its app on every request: put the fault injector in front of moto.
        wsgi = self.server._server
        self.faults.app = wsgi.app
        wsgi.app = self.faults
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"))
        return self

    def stop(self) -> None:
        """Stop serving and forget every resource."""
        from moto.moto_api import state_manager

        for model in ("glue::job_run", "glue::crawl"):
            state_manager.unset_transition(model)
        self.server.stop()

    def client(self, service: str) -> Any:
        """A boto3 client of the emulator."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def airflow_env(self, **extra: str) -> dict[str, str]:
        """Environment of an Airflow subprocess using the aws backend against this emulator."""
        conn = {
            "conn_type": "aws",
            "login": ACCESS_KEY_ID,
            "password": SECRET_ACCESS_KEY,
            "extra": {
                "endpoint_url": self.endpoint,
                "region_name": REGION,
                # Failures must surface in seconds, not after botocore's default backoff.
                "config_kwargs": {"retries": {"mode": "standard", "max_attempts": 2}},
            },
        }
        return {
            "PIPELINE_BACKEND": "aws",
            # The setting the aws backend requires (no default: the stack's bucket name holds the account).
            "SALES_BUCKET": default_names()["bucket"],
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(conn),
            "SALES_AWS_POLL_SECONDS": "1",
            "SALES_AWS_DEFERRABLE": "true" if aiobotocore_installed() else "false",
            **extra,
        }

    def create_stack(self, names: dict[str, str]) -> None:
        """What the CloudFormation stack creates, by mwaa/compose/init_moto, minus the Glue job.

        moto has no UpdateJob, so the job is left for the DAG's GlueJobOperator to create
        (its update path, an UpdateJob of the same definition, cannot be played here).
        """
        from mwaa.compose.init_moto import create_all

        session = boto3.session.Session(
            aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION
        )
        with _env(AWS_ENDPOINT_URL=self.endpoint):
            create_all(names, session)
        self.client("glue").delete_job(JobName=names["glue_job_name"])
        self.client("iam").create_role(
            RoleName=GLUE_ROLE,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "glue.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )


S3_ERRORS = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


@dataclass
class Fault:
    """Answer the next `times` matching requests with an AWS error instead of moto's answer.

    operation: an S3 operation (PutObject, GetObject, HeadObject, UploadPart, CopyObject,
    ListObjectsV2, ...) or a JSON-protocol target (AWSGlue.GetTable). key_prefix: the S3 key (of
    the copy's destination; the listing's Prefix) must start with it. Only requests made by
    Airflow (its hooks add "Airflow/" to the user agent) are answered with errors, never those of
    the Glue worker or of the test itself.
    """

    operation: str
    key_prefix: str = ""
    status: int = 500
    times: int = 1
    code: str = ""
    message: str = ""
    hits: int = 0

    def error(self) -> tuple[str, str]:
        """(code, message) of the answer."""
        default = S3_ERRORS.get(self.status, ("ThrottlingException", "Rate exceeded"))
        return self.code or default[0], self.message or default[1]


@dataclass(eq=False)
class Request:
    """One request moto received: service, operation, key, and the status answered."""

    service: str
    operation: str
    key: str
    status: int = 0
    injected: bool = False
    airflow: bool = False


@dataclass
class FaultInjector:
    """WSGI middleware in front of moto: answers the requests a test's faults match with AWS errors."""

    app: Any = None
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, *faults: Fault) -> None:
        """Replace the faults in force (none: every request reaches moto)."""
        with self._lock:
            self.faults = list(faults)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = _describe(environ)
        with self._lock:
            self.requests.append(request)
            fault = next((f for f in self.faults if f.hits < f.times and _matches(f, request)), None)
            if fault is not None:
                fault.hits += 1
        if fault is None:

            def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
                request.status = int(status.split()[0])
                return start_response(status, headers, exc_info)

            return self.app(environ, recording_start_response)
        _drain(environ)  # the client sent the body; read it before answering
        request.status, request.injected = fault.status, True
        code, message = fault.error()
        if request.service == "s3":
            body = (
                b""
                if environ["REQUEST_METHOD"] == "HEAD"
                else (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{code}</Code><Message>{message}</Message>"
                    f"<Key>{request.key}</Key><RequestId>fault{fault.hits}</RequestId></Error>"
                ).encode()
            )
            headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
        else:
            body = json.dumps({"__type": code, "message": message}).encode()
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-ErrorType", code),
                ("Content-Length", str(len(body))),
            ]
        reasons = {500: "Internal Server Error", 503: "Slow Down", 400: "Bad Request"}
        start_response(f"{fault.status} {reasons.get(fault.status, 'Error')}", headers)
        return [body]

    def injected(self, operation: str | None = None) -> list[Request]:
        """The requests answered with an injected error (of one operation)."""
        return [r for r in self.requests if r.injected and operation in (None, r.operation)]


def _drain(environ: dict[str, Any]) -> None:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        while stream.read(1 << 16):
            pass
    else:
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
        while remaining > 0:
            chunk = stream.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)


def _describe(environ: dict[str, Any]) -> Request:
    """Service, operation and key of a request (S3 path-style, or a JSON-protocol target)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = auth.split("Credential=", 1)[1].split("/")[3] if "Credential=" in auth else ""
    airflow = "Airflow/" in environ.get("HTTP_USER_AGENT", "")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if service != "s3":
        return Request(service, target, "", airflow=airflow)
    method = environ["REQUEST_METHOD"]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    _, _, key = unquote(environ.get("PATH_INFO", "")).lstrip("/").partition("/")
    if not key:
        listing = "ListObjectsV2" if "list-type" in query else "ListObjects"
        operation = {"GET": listing, "POST": "DeleteObjects"}.get(method, method)
        return Request(service, operation, query.get("prefix", [""])[0], airflow=airflow)
    if method == "PUT":
        if "partNumber" in query:
            operation = "UploadPart"
        elif environ.get("HTTP_X_AMZ_COPY_SOURCE"):
            operation = "CopyObject"
        else:
            operation = "PutObject"
    elif method == "POST":
        operation = "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
    else:
        operation = {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, method)
    return Request(service, operation, key, airflow=airflow)


def _matches(fault: Fault, request: Request) -> bool:
    return (
        request.airflow and request.operation == fault.operation and request.key.startswith(fault.key_prefix)
    )


def aiobotocore_installed() -> bool:
    """Deferrable AWS operators need aiobotocore; without it the tests run them synchronously."""
    import importlib.util

    return importlib.util.find_spec("aiobotocore") is not None


@contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def default_names() -> dict[str, str]:
    """Resource names as the DAG's settings default them."""
    from mwaa.compose.init_moto import settings

    return settings({})


def _glue_backend() -> Any:
    from moto.glue.models import glue_backends

    return glue_backends[ACCOUNT_ID][REGION]


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def run_duckdb_silver(s3: Any, args: dict[str, str]) -> dict[str, Any]:
    """What the Glue script does, done by the DuckDB silver (its parity twin) on the run's arguments.

    It writes what the script writes where the arguments say: silver, quarantine, the repairs
    table and, last, the counts JSON (DuckDB's counts, which the parity test holds equal to the
    script's, plus the date-order votes, as the script adds them).
    """
    import duckdb

    from include.sales_analyzer import silver as sv

    with tempfile.TemporaryDirectory() as tmp:
        bronze = Path(tmp) / args["--source_name"]
        s3.download_file(*_split(args["--bronze_path"]), str(bronze))
        # The Glue script writes each with .mode("overwrite"): what an earlier attempt left goes.
        for uri in (args["--silver_path"], args["--quarantine_path"], args["--repairs_path"]):
            _delete_prefix(s3, uri)
        paths = sv.SilverPaths.for_run(Path(tmp) / "lake", bronze, args["--ingest_date"], "glue")
        sv.prepare_dirs(paths)
        header = sv.inspect_header(bronze)
        sql = sv.render_silver_sql(header, paths, args["--ingest_date"], args["--source_name"])
        with duckdb.connect() as con:
            con.execute(sql)
            sv.refuse_second_header(paths, con, header)  # as the script does before its votes
            votes = sv.decide_date_order(paths, con)
            counts = sv.summarize(paths, con)
        counts["date_order_votes"] = votes
        bucket, prefix = _split(args["--silver_path"])
        for f in sorted(paths.silver_version_dir.rglob("*.parquet")):
            s3.upload_file(str(f), bucket, prefix + f.relative_to(paths.silver_version_dir).as_posix())
        s3.put_object(Bucket=bucket, Key=prefix + "_SUCCESS", Body=b"")  # as Spark writes
        bucket, prefix = _split(args["--quarantine_path"])
        s3.upload_file(str(paths.quarantine_tmp), bucket, prefix + "part-00000.parquet")
        bucket, prefix = _split(args["--repairs_path"])
        s3.upload_file(str(paths.repairs_tmp), bucket, prefix + "part-00000.parquet")
        bucket, key = _split(args["--counts_path"])
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(counts, sort_keys=True).encode())
    return counts


def _delete_prefix(s3: Any, uri: str) -> None:
    bucket, prefix = _split(uri)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])


def write_partial_output(s3: Any, args: dict[str, str], attempt: str) -> list[str]:
    """What a Glue run that dies mid-write leaves: one Spark part file in silver and in quarantine.

    Like a whole run it starts by overwriting (removing) what an earlier attempt left. The file
    names carry the attempt (as Spark's part files carry the job's uuid), so a later attempt's
    files never replace them by name: only the script's overwrite mode removes them.
    """
    import duckdb

    for uri in (args["--silver_path"], args["--quarantine_path"]):
        _delete_prefix(s3, uri)
    keys = []
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "part.parquet"
        with duckdb.connect() as con:
            con.execute(f"copy (select 999999 as row_id, 'partial' as order_id) to '{part}' (format parquet)")
        for uri, rel in (
            (args["--silver_path"], f"order_year=2020/order_month=1/part-00000-{attempt}.c000.zstd.parquet"),
            (args["--quarantine_path"], f"part-00000-{attempt}.c000.zstd.parquet"),
        ):
            bucket, prefix = _split(uri)
            s3.upload_file(str(part), bucket, prefix + rel)
            keys.append(prefix + rel)
    return keys


Fate = Callable[[str, dict[str, str]], "tuple[str, str | None] | None"]


class GlueWorker(threading.Thread):
    """Plays Glue: picks up each run the DAG starts and ends it as `fate` says (default: real work)."""

    def __init__(self, aws: MotoAws, fate: Fate | None = None) -> None:
        super().__init__(daemon=True, name="glue-worker")
        self.s3 = aws.client("s3")
        self.fate = fate or (lambda job, args: None)
        self.done: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []
        self._stop_event = threading.Event()

    def __enter__(self) -> GlueWorker:
        from moto.moto_api import state_manager

        # Runs stay where this worker puts them (moto would otherwise succeed them on first read).
        state_manager.set_transition("glue::job_run", {"progression": "manual", "times": 10**9})
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def run(self) -> None:
        """Poll moto's Glue backend for runs to play."""
        while not self._stop_event.is_set():
            for job in list(_glue_backend().jobs.values()):
                for job_run in list(job.job_runs):
                    if job_run.job_run_id in self.done or job_run._status not in ("STARTING", "RUNNING"):
                        continue
                    self._play(job.name, job_run)
            time.sleep(0.2)

    def _play(self, job_name: str, job_run: Any) -> None:
        args = dict(job_run.arguments or {})
        outcome = self.fate(job_name, args)
        if outcome == ("RUNNING", None):
            job_run.status = "RUNNING"
            return  # asked again on the next poll
        job_run.status = "RUNNING"
        record: dict[str, Any] = {"job": job_name, "arguments": args}
        if outcome is None:
            try:
                record["counts"] = run_duckdb_silver(self.s3, args)
                job_run.status = "SUCCEEDED"
            except Exception as exc:  # a broken run must fail the DAG, and the test must say why
                self.errors.append(f"{job_name}: {exc!r}")
                job_run.error_message = f"silver twin failed: {exc}"
                job_run.status = "FAILED"
        else:
            state, message = outcome
            job_run.error_message = message
            job_run.status = state
        record["state"] = job_run._status
        self.done[job_run.job_run_id] = record


def glue_error_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """GetJobRun answers ErrorMessage for a failed run, as Glue does (moto's FakeJobRun has none)."""
    from moto.glue.models import FakeJobRun

    original = FakeJobRun.as_dict

    def as_dict(self: Any) -> dict[str, Any]:
        out = original(self)
        if getattr(self, "error_message", None):
            out["ErrorMessage"] = self.error_message
        return out

    monkeypatch.setattr(FakeJobRun, "as_dict", as_dict)


def throttle_glue_job_runs(monkeypatch: pytest.MonkeyPatch, job_names: set[str]) -> None:
    """GetJobRun of these jobs answers ThrottlingException, every time."""
    from moto.core.exceptions import JsonRESTError
    from moto.glue.responses import GlueResponse

    original = GlueResponse.get_job_run

    def get_job_run(self: Any) -> Any:
        if self.parameters.get("JobName") in job_names:
            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        return original(self)

    monkeypatch.setattr(GlueResponse, "get_job_run", get_job_run)


def crawls_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    """Crawls complete when read, and GetCrawlerMetrics answers (moto implements neither)."""
    from moto.core.responses import ActionResult
    from moto.glue.responses import GlueResponse
    from moto.moto_api import state_manager

    state_manager.set_transition("glue::crawl", {"progression": "immediate"})

    def get_crawler_metrics(self: Any) -> Any:
        names = self.parameters.get("CrawlerNameList") or []
        metrics = [
            {
                "CrawlerName": name,
                "LastRuntimeSeconds": 1.0,
                "MedianRuntimeSeconds": 1.0,
                "StillEstimating": False,
                "TimeLeftSeconds": 0.0,
                "TablesCreated": 0,
                "TablesUpdated": 1,
                "TablesDeleted": 0,
            }
            for name in names
        ]
        return ActionResult({"CrawlerMetricsList": metrics})

    monkeypatch.setattr(GlueResponse, "get_crawler_metrics", get_crawler_metrics, raising=False)


def job_runs(aws: MotoAws, job_name: str) -> list[dict[str, Any]]:
    """GetJobRuns of a job, oldest first."""
    runs = aws.client("glue").get_job_runs(JobName=job_name)["JobRuns"]
    return sorted(runs, key=lambda r: r["StartedOn"])


# ------------------------------------------------------------------------------------ Athena


@dataclass
class Statement:
    """One statement Athena received: its text (dbt's comment header removed), where, and how it ended."""

    query: str
    workgroup: str
    database: str
    kind: str
    relation: tuple[str, str] | None = None
    properties: dict[str, str] = field(default_factory=dict)
    state: str = "SUCCEEDED"
    reason: str = ""
    query_id: str = ""  # the QueryExecutionId Athena answered with


_COMMENT = re.compile(r"^\s*(--[^\n]*\n|/\*.*?\*/)", re.DOTALL)
_IDENT = r'(?:"[^"]+"|`[^`]+`|[A-Za-z_][\w]*)'
_RELATION = rf"{_IDENT}(?:\s*\.\s*{_IDENT}){{0,2}}"
_CTAS = re.compile(
    rf"^create\s+table\s+(?P<rel>{_RELATION})\s+with\s*\((?P<props>.*?)\)\s*as\s+(?P<sql>.*)$", re.I | re.S
)
_VIEW = re.compile(
    rf"^create\s+(?:or\s+replace\s+)?view\s+(?P<rel>{_RELATION})\s+as\s+(?P<sql>.*)$", re.I | re.S
)
_DROP = re.compile(rf"^drop\s+(?:table|view)\s+(?:if\s+exists\s+)?(?P<rel>{_RELATION})\s*;?\s*$", re.I | re.S)
_RENAME = re.compile(
    rf"^alter\s+table\s+(?P<rel>{_RELATION})\s+rename\s+to\s+(?P<new>{_RELATION})\s*;?\s*$", re.I | re.S
)
_TBLPROPERTIES = re.compile(
    rf"^alter\s+table\s+(?P<rel>{_RELATION})\s+set\s+tblproperties\s*\((?P<props>.*)\)", re.I | re.S
)
_PROPERTY = re.compile(r"'?(?P<key>[\w.]+)'?\s*=\s*(?P<value>ARRAY\s*\[[^\]]*\]|'[^']*'|[\w.]+)", re.I)
_HIVE_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "HUGEINT": "bigint",
}
_ATHENA_RESULT_TYPES = {"string": "varchar", "int": "integer"}


def strip_comments(query: str) -> str:
    """The statement without its leading comments (dbt's query header, a file's header comment)."""
    while (match := _COMMENT.match(query)) is not None:
        query = query[match.end() :]
    return query.strip().rstrip(";").strip()


def _relation(text: str, database: str) -> tuple[str, str]:
    """(schema, table) of a 1- to 3-part name, without quotes; the context database for 1 part."""
    parts = [p.strip().strip('"`') for p in re.findall(_IDENT, text)]
    return (database, parts[-1]) if len(parts) == 1 else (parts[-2], parts[-1])


def _properties(text: str) -> dict[str, str]:
    return {m["key"].lower(): m["value"].strip("'") for m in _PROPERTY.finditer(text)}


def _array(value: str) -> list[str]:
    return re.findall(r"'([^']*)'", value)


def _trino_meaning(node: Any) -> Any:
    """Spell in DuckDB what Trino means where sqlglot picks a DuckDB function of another meaning.

    The same two corrections as tests/unit/test_athena_sql.py's DuckDB twin (kept apart so that
    the emulator does not depend on a test module).
    """
    from sqlglot import exp

    if isinstance(node, exp.Extract) and node.this.name.upper() in ("DOW", "DAY_OF_WEEK"):
        return exp.Anonymous(this="ISODOW", expressions=[node.expression])
    if isinstance(node, exp.Anonymous) and node.name.upper() == "TO_MILLISECONDS":
        (arg,) = node.expressions
        while isinstance(arg, exp.Paren):
            arg = arg.this
        if isinstance(arg, exp.Sub):
            return exp.Mul(this=exp.Paren(this=arg), expression=exp.Literal.number(86400000))
    return node


class AthenaPlayer:
    """Plays Athena's engine inside moto: each statement runs on DuckDB over the lake in moto's S3.

    moto records queries but executes none, so dbt-athena could not get past its first model (it
    reads back from the Glue catalog what each statement created). This player, like GlueWorker
    for Glue, does what Athena would: SELECTs are transpiled from Trino to DuckDB (sqlglot) and
    answered with real rows; a CTAS writes Parquet under its external_location (partitioned as
    asked) and registers the table in moto's Glue catalog; views, drops, renames and table
    properties change the catalog. It also applies Athena's documented rules the findings turn
    on: in a workgroup that enforces its results location a CTAS may not name an
    external_location, and without one the data goes to <results location>/tables/<query id>/
    (https://docs.aws.amazon.com/athena/latest/ug/considerations-ctas.html); an
    external_location must be empty. Every statement is kept in `statements`.
    """

    def __init__(self, aws: MotoAws) -> None:
        self.aws = aws
        self.s3 = aws.client("s3")
        self.glue = aws.client("glue")
        self.statements: list[Statement] = []
        self._lock = threading.Lock()
        self._patches: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> AthenaPlayer:
        from moto.athena.models import AthenaBackend, QueryResults
        from moto.athena.responses import AthenaResponse

        player = self
        original_start = AthenaBackend.start_query_execution
        original_get = AthenaResponse.get_query_execution

        def start_query_execution(
            backend: Any, query: str, context: Any, config: Any, workgroup: Any, **kw: Any
        ) -> str:
            exec_id = original_start(
                backend, query=query, context=context, config=config, workgroup=workgroup, **kw
            )
            execution = backend.executions[exec_id]
            database = (context or {}).get("Database", "default") if isinstance(context, dict) else "default"
            with player._lock:
                statement, result = player.play(query, workgroup or "primary", database, backend, exec_id)
            if statement.state == "FAILED":
                execution._transitions = [("QUEUED", "RUNNING"), ("RUNNING", "FAILED")]
                execution.sales_reason = statement.reason
            elif result is not None:
                backend.query_results[exec_id] = QueryResults(rows=result[0], column_info=result[1])
            return exec_id

        def get_query_execution(response: Any) -> str:
            out = json.loads(original_get(response))
            status = out["QueryExecution"]["Status"]
            execution = response.athena_backend.executions.get(out["QueryExecution"]["QueryExecutionId"])
            if status["State"] == "FAILED" and getattr(execution, "sales_reason", None):
                status["StateChangeReason"] = execution.sales_reason
            return json.dumps(out)

        self._patch(AthenaBackend, "start_query_execution", start_query_execution)
        self._patch(AthenaResponse, "get_query_execution", get_query_execution)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._patches):
            setattr(owner, name, original)
        self._patches.clear()

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        self._patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    # ------------------------------------------------------------------ one statement

    def play(
        self, query: str, workgroup: str, database: str, backend: Any, exec_id: str
    ) -> tuple[Statement, tuple[list, list] | None]:
        """Run one statement; (its record, (rows, column info) for a query that returns rows)."""
        text = strip_comments(query)
        statement = Statement(text, workgroup, database, kind="other", query_id=exec_id)
        self.statements.append(statement)
        result = None
        try:
            if m := _CTAS.match(text):
                statement.kind, statement.relation = "ctas", _relation(m["rel"], database)
                statement.properties = _properties(m["props"])
                self._ctas(statement, m["sql"], backend.work_groups.get(workgroup), exec_id)
            elif m := _VIEW.match(text):
                statement.kind, statement.relation = "view", _relation(m["rel"], database)
                self._view(statement.relation, m["sql"])
            elif m := _DROP.match(text):
                statement.kind, statement.relation = "drop", _relation(m["rel"], database)
                self._drop(statement.relation)
            elif m := _RENAME.match(text):
                statement.kind, statement.relation = "rename", _relation(m["rel"], database)
                self._rename(statement.relation, _relation(m["new"], database))
            elif m := _TBLPROPERTIES.match(text):
                statement.kind, statement.relation = "tblproperties", _relation(m["rel"], database)
                statement.properties = _properties(m["props"])
                self._set_properties(statement.relation, statement.properties)
            elif re.match(r"^(select|with|values)\b", text, re.I):
                statement.kind = "select"
                result = self._select(text, database)
        except Exception as exc:  # Athena answers FAILED with a reason; so does the player
            statement.state, statement.reason = "FAILED", f"{type(exc).__name__}: {exc}"
        return statement, result

    # ------------------------------------------------------------------ engine

    def _duckdb(self, sql: str, database: str, tmp: Path) -> tuple[Any, str]:
        """A DuckDB connection holding every catalog relation `sql` reads, and `sql` in DuckDB."""
        import duckdb
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read="trino").transform(_trino_meaning)
        con = duckdb.connect()
        loaded: set[tuple[str, str]] = set()

        def load(tree: Any, default_db: str) -> None:
            ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
            for table in tree.find_all(exp.Table):
                if not table.name or (not table.db and table.name in ctes):
                    continue
                key = (table.db or default_db, table.name)
                table.set("catalog", None)
                table.set("db", exp.to_identifier(key[0]))
                if key in loaded:
                    continue
                loaded.add(key)
                self._load(con, key, tmp, load)

        load(tree, database)
        return con, tree.sql(dialect="duckdb")

    def _load(self, con: Any, key: tuple[str, str], tmp: Path, load: Callable) -> None:
        """Make one Glue table or view readable in DuckDB as <db>.<name>."""
        import sqlglot

        try:
            table = self.glue.get_table(DatabaseName=key[0], Name=key[1])["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            return
        con.execute(f'create schema if not exists "{key[0]}"')
        name = f'"{key[0]}"."{key[1]}"'
        if table.get("TableType") == "VIRTUAL_VIEW":
            tree = sqlglot.parse_one(table["ViewOriginalText"], read="trino").transform(_trino_meaning)
            load(tree, key[0])
            con.execute(f"create or replace view {name} as {tree.sql(dialect='duckdb')}")
            return
        location = table["StorageDescriptor"]["Location"]
        bucket, prefix = _split(location.rstrip("/") + "/")
        folder = tmp / "tables" / key[0] / key[1]
        files = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix) :]
                if any(part.startswith(("_", ".")) for part in rel.split("/")):
                    continue  # Athena skips files whose names begin with _ or .
                target = folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                self.s3.download_file(bucket, obj["Key"], str(target))
                files.append(target)
        if files:
            listed = ", ".join(f"'{f}'" for f in files)
            hive = "true" if table.get("PartitionKeys") else "false"
            reader = f"read_parquet([{listed}], hive_partitioning = {hive})"
            con.execute(f"create or replace view {name} as select * from {reader}")
        else:
            columns = table["StorageDescriptor"]["Columns"] + table.get("PartitionKeys", [])
            spelled = ", ".join(f'"{c["Name"]}" {c["Type"].replace("string", "varchar")}' for c in columns)
            con.execute(f"create or replace table {name} ({spelled})")

    def _select(self, sql: str, database: str) -> tuple[list, list]:
        with tempfile.TemporaryDirectory() as tmp:
            con, duck = self._duckdb(sql, database, Path(tmp))
            with con:
                cursor = con.execute(duck)
                names = [d[0] for d in cursor.description]
                types = [str(d[1]) for d in cursor.description]
                rows = cursor.fetchall()
        column_info = []
        for name, duck_type in zip(names, types, strict=True):
            hive = _hive_type(duck_type)
            athena_type = _ATHENA_RESULT_TYPES.get(hive, hive.split("(")[0])
            column_info.append({"Name": name, "Label": name, "Type": athena_type, "Nullable": "UNKNOWN"})

        def cell(value: Any) -> dict[str, str]:
            if value is None:
                return {}
            if isinstance(value, bool):
                return {"VarCharValue": "true" if value else "false"}
            return {"VarCharValue": str(value)}

        header = {"Data": [{"VarCharValue": n} for n in names]}
        return [header] + [{"Data": [cell(v) for v in row]} for row in rows], column_info

    def _ctas(self, statement: Statement, sql: str, workgroup: Any, exec_id: str) -> None:
        props = statement.properties
        configuration = (workgroup.configuration if workgroup else None) or {}
        results = (configuration.get("ResultConfiguration") or {}).get("OutputLocation")
        enforced = bool(configuration.get("EnforceWorkGroupConfiguration")) and bool(results)
        location = props.get("external_location")
        if location and enforced:
            raise ValueError(
                "a CTAS query in a workgroup that enforces its query results location cannot set "
                "external_location"
            )
        if not location:
            if not results:
                raise ValueError("no external_location and no workgroup results location")
            location = results.rstrip("/") + f"/tables/{exec_id}"
            props["effective_location"] = location
        bucket, prefix = _split(location.rstrip("/") + "/")
        if self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0):
            raise ValueError(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{location}' already exists"
            )
        fmt = props.get("format", "parquet").lower()
        if fmt != "parquet":
            raise ValueError(f"the player writes Parquet only, not {fmt}")
        partitioned = _array(props.get("partitioned_by", "")) if "partitioned_by" in props else []
        with tempfile.TemporaryDirectory() as tmp:
            con, duck = self._duckdb(sql, statement.database, Path(tmp))
            with con:
                con.execute(f"create table ctas_result as {duck}")
                described = con.execute("describe ctas_result").fetchall()
                out = Path(tmp) / "out"
                if partitioned:
                    cols = ", ".join(f'"{c}"' for c in partitioned)
                    con.execute(f"copy ctas_result to '{out}' (format parquet, partition_by ({cols}))")
                else:
                    out.mkdir()
                    con.execute(
                        f"copy ctas_result to '{out / (exec_id + '_00000.parquet')}' (format parquet)"
                    )
            for f in sorted(p for p in out.rglob("*") if p.is_file()):
                self.s3.upload_file(str(f), bucket, prefix + f.relative_to(out).as_posix())
        columns = [{"Name": n, "Type": _hive_type(t)} for n, t, *_ in described]
        by_name = {c["Name"]: c for c in columns}
        self._put(
            statement.relation,
            {
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"EXTERNAL": "TRUE", "has_encrypted_data": "false"},
                "PartitionKeys": [by_name[p] for p in partitioned],
                "StorageDescriptor": {
                    "Columns": [c for c in columns if c["Name"] not in partitioned],
                    "Location": location,
                    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    "SerdeInfo": {
                        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    },
                },
            },
        )

    def _view(self, relation: tuple[str, str], sql: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            con, duck = self._duckdb(sql, relation[0], Path(tmp))
            with con:
                described = con.execute(f"describe {duck}").fetchall()
        self._put(
            relation,
            {
                "TableType": "VIRTUAL_VIEW",
                "Parameters": {"presto_view": "true", "comment": "Presto View"},
                "ViewOriginalText": sql,
                "StorageDescriptor": {
                    "Columns": [{"Name": n, "Type": _hive_type(t)} for n, t, *_ in described]
                },
            },
        )

    def _put(self, relation: tuple[str, str], table_input: dict[str, Any]) -> None:
        table_input = {"Name": relation[1], **table_input}
        try:
            self.glue.get_table(DatabaseName=relation[0], Name=relation[1])
        except self.glue.exceptions.EntityNotFoundException:
            self.glue.create_table(DatabaseName=relation[0], TableInput=table_input)
            return
        self.glue.update_table(DatabaseName=relation[0], TableInput=table_input)

    def _drop(self, relation: tuple[str, str]) -> None:
        with suppress(self.glue.exceptions.EntityNotFoundException):
            self.glue.delete_table(DatabaseName=relation[0], Name=relation[1])

    def _rename(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        table = self.glue.get_table(DatabaseName=old[0], Name=old[1])["Table"]
        keep = ("TableType", "Parameters", "PartitionKeys", "StorageDescriptor", "ViewOriginalText")
        self._put(new, {k: table[k] for k in keep if k in table})
        self._drop(old)

    def _set_properties(self, relation: tuple[str, str], props: dict[str, str]) -> None:
        table = self.glue.get_table(DatabaseName=relation[0], Name=relation[1])["Table"]
        keep = ("TableType", "PartitionKeys", "StorageDescriptor", "ViewOriginalText")
        table_input = {k: table[k] for k in keep if k in table}
        table_input["Parameters"] = {**table.get("Parameters", {}), **props}
        self._put(relation, table_input)

    def by_kind(self, kind: str) -> list[Statement]:
        """The statements of one kind (ctas, view, drop, rename, tblproperties, select, other)."""
        return [s for s in self.statements if s.kind == kind]


def _hive_type(duck_type: str) -> str:
    """The Glue (Hive) column type of a DuckDB type."""
    upper = duck_type.upper()
    if upper.startswith("DECIMAL"):
        return upper.lower().replace(" ", "")
    return _HIVE_TYPES.get(upper, upper.lower())
