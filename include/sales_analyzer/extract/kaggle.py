"""Download the Kaggle dataset file (train.csv) through Kaggle's public REST API.

Plain HTTP (requests) rather than kagglehub: kagglehub 1.0.x takes credentials only from
process-wide state (KAGGLE_* variables, ~/.kaggle, a module global), cannot point at another
host (KAGGLE_API_ENVIRONMENT only picks among Kaggle's own hosts), hard-codes its time-outs
and writes into its own cache. A task needs per-call credentials from an Airflow connection,
its own time-out and destination, and tests need a local server. The call is the one
kagglehub's DownloadDataset makes: GET /api/v1/datasets/download/<owner>/<slug>/<file>, basic
auth, answered with the file (or a redirect to it), zipped when the file is large.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from urllib3.exceptions import ReadTimeoutError

from include.sales_analyzer.errors import PipelineError

log = logging.getLogger(__name__)

DEFAULT_DATASET = "rohitsahoo/sales-forecasting"
DEFAULT_FILE = "train.csv"
DEFAULT_ENDPOINT = "https://www.kaggle.com"
ENDPOINT_ENV = "KAGGLE_API_ENDPOINT"
DEFAULT_CONN_ID = "kaggle_default"
USERNAME_ENV = "KAGGLE_USERNAME"
KEY_ENV = "KAGGLE_KEY"
CHUNK_BYTES = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
HINTS = {
    401: "the Kaggle username or API key is wrong or revoked",
    403: "the account may not have accepted the dataset's terms, or the key lacks access",
    404: "no such dataset or file (check the handle owner/slug and the file name)",
    429: "Kaggle is rate limiting this account; retry later",
}


class KaggleCredentialsMissing(PipelineError):
    """No Kaggle username and API key are configured."""


class KaggleDownloadError(PipelineError):
    """The Kaggle download failed; the message names the dataset, URL path and HTTP status."""

    def __init__(self, message: str, *, dataset: str, url_path: str, status: int | None) -> None:
        super().__init__(message)
        self.dataset, self.url_path, self.status = dataset, url_path, status


def _missing_message(problem: str, conn_id: str) -> str:
    return (
        f"Kaggle credentials are missing: {problem}. Create an API token on "
        "https://www.kaggle.com/settings (API > Create New Token), then either add the Airflow "
        f"connection {conn_id!r} with login = your Kaggle username and password = the API key "
        f"(locally: AIRFLOW_CONN_{conn_id.upper()}="
        '\'{"conn_type": "generic", "login": "<username>", "password": "<api key>"}\'; '
        f"on MWAA: the Secrets Manager secret airflow/connections/{conn_id}), "
        f"or set the environment variables {USERNAME_ENV} and {KEY_ENV}."
    )


def _airflow_connection(conn_id: str) -> Any | None:
    """The Airflow connection `conn_id`, or None when it is not defined."""
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        return None
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def kaggle_credentials(conn_id: str = DEFAULT_CONN_ID) -> tuple[str, str]:
    """(username, API key) from Airflow connection `conn_id`, else KAGGLE_USERNAME/KAGGLE_KEY."""
    conn = _airflow_connection(conn_id)
    if conn is not None and conn.login and conn.password:
        return conn.login, conn.password
    username, key = os.environ.get(USERNAME_ENV), os.environ.get(KEY_ENV)
    if username and key:
        return username, key
    if conn is not None:
        problem = f"the Airflow connection {conn_id!r} has no login or no password"
    else:
        problem = f"there is no Airflow connection {conn_id!r}"
    problem += f" and {USERNAME_ENV} / {KEY_ENV} are not both set"
    raise KaggleCredentialsMissing(_missing_message(problem, conn_id))


def _url_path(dataset: str, file_name: str) -> str:
    owner, sep, slug = dataset.partition("/")
    if not sep or not owner or not slug or "/" in slug:
        raise ValueError(f"Kaggle dataset {dataset!r} is not of the form <owner>/<slug>")
    if not file_name or "/" in file_name or "\\" in file_name or file_name in (".", ".."):
        raise ValueError(f"Kaggle file name {file_name!r} must be a plain file name")
    return f"/api/v1/datasets/download/{quote(owner)}/{quote(slug)}/{quote(file_name)}"


class _Download:
    """One download attempt: everything an error message needs, and the secrets to hide."""

    def __init__(self, dataset: str, file_name: str, url_path: str, secrets: list[str]) -> None:
        self.dataset, self.file_name, self.url_path = dataset, file_name, url_path
        self.secrets = [s for s in secrets if s]

    def error(self, problem: str, status: int | None = None) -> KaggleDownloadError:
        """An error naming the dataset, the URL path and the HTTP status, never the key."""
        shown = f"HTTP {status}" if status is not None else "no HTTP status"
        text = (
            f"Kaggle download of dataset {self.dataset!r} file {self.file_name!r} failed "
            f"({shown}, GET {self.url_path}): {problem}"
        )
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return KaggleDownloadError(text, dataset=self.dataset, url_path=self.url_path, status=status)


def _server_message(response: requests.Response) -> str:
    """The short reason a Kaggle error response gives, if any."""
    try:
        body = response.json()
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
    except ValueError:
        message = response.text if "text" in response.headers.get("Content-Type", "") else ""
    message = " ".join(message.split())
    return message[:200]


def _is_timeout(exc: requests.RequestException) -> bool:
    # requests reports a read time-out while streaming the body as a ConnectionError.
    return isinstance(exc, requests.Timeout) or any(isinstance(arg, ReadTimeoutError) for arg in exc.args)


def _stream_to(
    response: requests.Response, part: Path, attempt: _Download, deadline: float, timeout: float
) -> int:
    """Write the body to `part`; returns its size; checks the deadline and Content-Length."""
    size = 0
    with part.open("wb") as out:
        for block in response.iter_content(CHUNK_BYTES):
            out.write(block)
            size += len(block)
            if time.monotonic() > deadline:
                raise attempt.error(
                    f"timed out after {timeout:g} s ({size} bytes received)", response.status_code
                )
    expected = response.headers.get("Content-Length")
    # Content-Length counts encoded bytes; only compare when the body was not re-encoded.
    encoded = response.headers.get("Content-Encoding")
    if expected is not None and not encoded and size != int(expected):
        raise attempt.error(f"truncated download: {size} of {expected} bytes received", response.status_code)
    return size


def _unzip(archive: Path, target: Path, attempt: _Download, status: int) -> None:
    """Extract the file `target.name` (or the archive's only file) from `archive` to `target`."""
    part = target.with_name(f".{target.name}.unzip")
    try:
        with zipfile.ZipFile(archive) as zf:
            files = [i for i in zf.infolist() if not i.is_dir()]
            matches = [i for i in files if Path(i.filename).name == target.name]
            if not matches and len(files) == 1:
                matches = files
            if not matches:
                names = ", ".join(i.filename for i in files[:10]) or "nothing"
                raise attempt.error(f"the zip holds no {target.name!r} (it holds {names})", status)
            with zf.open(matches[0]) as src, part.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK_BYTES)
        os.replace(part, target)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise attempt.error(f"the zip is corrupt or truncated ({exc})", status) from None
    finally:
        part.unlink(missing_ok=True)


def download_kaggle_dataset(
    dest_dir: Path,
    username: str | None,
    key: str | None,
    dataset: str = DEFAULT_DATASET,
    file_name: str = DEFAULT_FILE,
    endpoint: str | None = None,
    timeout: float = 60,
) -> Path:
    """Download `file_name` of Kaggle `dataset` into `dest_dir` (unzipped); returns its path.

    Credentials left None are looked up with kaggle_credentials(). The endpoint defaults to
    $KAGGLE_API_ENDPOINT, else https://www.kaggle.com. `timeout` bounds connecting, each read
    and the whole transfer, in seconds.
    """
    if not username or not key:
        username, key = kaggle_credentials()
    url_path = _url_path(dataset, file_name)
    base = (endpoint or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT).rstrip("/")
    token = base64.b64encode(f"{username}:{key}".encode()).decode()
    attempt = _Download(dataset, file_name, url_path, [key, token])
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / file_name
    part = dest_dir / f".{file_name}.part"
    log.info("Downloading Kaggle dataset %s file %s from %s", dataset, file_name, urlsplit(base).netloc)
    deadline = time.monotonic() + timeout
    status: int | None = None
    try:
        # requests drops the Authorization header when Kaggle redirects to its storage host.
        with requests.get(
            base + url_path,
            auth=(username, key),
            stream=True,
            timeout=(timeout, timeout),
            headers={"User-Agent": "smart-sales-analyzer", "Accept-Encoding": "identity"},
        ) as response:
            status = response.status_code
            if status != 200:
                reason = HINTS.get(status, response.reason or "unexpected answer")
                message = _server_message(response)
                raise attempt.error(reason + (f" (Kaggle says: {message})" if message else ""), status)
            size = _stream_to(response, part, attempt, deadline, timeout)
        with part.open("rb") as head:
            zipped = head.read(len(ZIP_MAGIC)) == ZIP_MAGIC
        if zipped:
            _unzip(part, target, attempt, status)
            part.unlink()
        else:
            os.replace(part, target)
    except requests.RequestException as exc:
        if _is_timeout(exc):
            problem = f"timed out after {timeout:g} s"
        elif isinstance(exc, requests.exceptions.ChunkedEncodingError):
            problem = "truncated download: the connection closed before the end of the file"
        else:
            problem = f"could not reach {urlsplit(base).netloc} ({type(exc).__name__})"
        raise attempt.error(problem, status) from None
    finally:
        part.unlink(missing_ok=True)
    log.info(
        "Downloaded %s (%d bytes%s) to %s",
        file_name,
        target.stat().st_size,
        f", unzipped from {size} bytes" if zipped else "",
        target,
    )
    return target
