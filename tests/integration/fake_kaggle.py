"""A local stand-in for Kaggle's dataset download API, for the download tests."""

from __future__ import annotations

import base64
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOWNLOAD_PREFIX = "/api/v1/datasets/download/"
STORAGE_PREFIX = "/storage/"


def zip_bytes(name: str, content: bytes) -> bytes:
    """A zip archive holding one file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, content)
    return buf.getvalue()


@dataclass
class FakeKaggle:
    """What the server holds and how it answers; `mode` picks the way it serves the file.

    Modes: "csv" (the file as is), "zip" (zipped, like Kaggle does for big files),
    "redirect" (302 to a storage URL on another host name, like Kaggle's signed GCS URLs),
    "corrupt_zip" (a complete response holding half a zip), "cut_short" (Content-Length of the
    whole zip, connection closed half-way), "slow" (answers after `delay` seconds).
    """

    username: str
    key: str
    files: dict[tuple[str, str], bytes]
    mode: str = "csv"
    delay: float = 0.0
    port: int = 0
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def endpoint(self) -> str:
        """Base URL to give the client."""
        return f"http://127.0.0.1:{self.port}"

    def authorized(self, header: str | None) -> bool:
        """Whether an Authorization header carries this server's user and key."""
        token = base64.b64encode(f"{self.username}:{self.key}".encode()).decode()
        return header == f"Basic {token}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, body: bytes, content_type: str, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, message: str) -> None:
        body = json.dumps({"code": status, "message": message}).encode()
        self._send(status, body, "application/json")

    def do_GET(self) -> None:
        """Serve the download endpoint and the storage URL it redirects to."""
        fake = self.server.fake
        auth = self.headers.get("Authorization")
        fake.calls.append((self.path, auth))
        if self.path.startswith(STORAGE_PREFIX):
            name = self.path.removeprefix(STORAGE_PREFIX)
            content = next(c for (_, f), c in fake.files.items() if f"{f}.zip" == name)
            self._send(200, zip_bytes(name.removesuffix(".zip"), content), "application/zip")
            return
        if not self.path.startswith(DOWNLOAD_PREFIX):
            self._json(404, "Not found")
            return
        if not fake.authorized(auth):
            self._json(401, "Unauthenticated")
            return
        owner, slug, name = self.path.removeprefix(DOWNLOAD_PREFIX).split("/", 2)
        content = fake.files.get((f"{owner}/{slug}", name))
        if content is None:
            self._json(404, f"Dataset {owner}/{slug} or file {name} not found")
            return
        if fake.mode == "slow":
            fake.release.wait(fake.delay)
            self._send(200, content, "text/csv")
        elif fake.mode == "csv":
            self._send(200, content, "text/csv")
        elif fake.mode == "zip":
            self._send(200, zip_bytes(name, content), "application/zip")
        elif fake.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{fake.port}{STORAGE_PREFIX}{name}.zip")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif fake.mode == "corrupt_zip":
            archive = zip_bytes(name, content)
            self._send(200, archive[: len(archive) // 2], "application/zip")
        elif fake.mode == "cut_short":
            archive = zip_bytes(name, content)
            self._send(200, archive[: len(archive) // 2], "application/zip", len(archive))
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeKaggle

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (time-out tests) closes its socket: nothing to report."""


@contextmanager
def serve(fake: FakeKaggle) -> Iterator[FakeKaggle]:
    """Run `fake` on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
