"""Real InfluxDB servers for the tests, on loopback, private to the test run.

:class:`Influxd` runs Debian's ``influxd`` (InfluxDB 1.x) on free loopback ports with its own
configuration and data in a temporary directory, authentication on and one admin user; no system
service is used or touched. :class:`V2Receiver` speaks InfluxDB 2.x's write and read contract on its
own loopback port, as InfluxData documents it (and can be made slow), and keeps the points in an
:class:`Influxd`, so what the 2.x path writes is stored and read back by a real server:

- ``POST /api/v2/write?org=&bucket=&precision=``: ``Authorization: Token ...``; the body in line
  protocol, ``Content-Encoding: gzip`` or ``identity``; 204 when every point was written, else the
  documented JSON errors ``{"code": ..., "message": ...}`` with ``X-Platform-Error-Code``: 400
  ``invalid`` (the line protocol; the message is 1.x's parser's), 401 ``unauthorized``
  (``unauthorized access``), 404 ``not found`` (``organization name "x" not found``, ``bucket "x" not
  found``, the words of a real 2.x answer).
- ``GET /query?db=&rp=&epoch=&q=``: the 1.x compatibility endpoint, token auth, the bucket found
  through its virtual DBRP mapping (``name`` -> database ``name``, ``db/rp`` -> ``db``, ``rp``); the
  InfluxQL runs on the 1.x server, which answers.
"""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

INFLUXD = "influxd"
# made up for the tests: the private server's admin
ADMIN = ("xwrap-admin", "admin-password-for-tests")
CONFIG = """\
reporting-enabled = false
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{home}/meta"
[data]
  dir = "{home}/data"
  wal-dir = "{home}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = true
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
  suppress-logo = true
[continuous_queries]
  enabled = false
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Influxd:
    """A private InfluxDB 1.x server: ``start()`` it, ``stop()`` it (or use it as a context manager)."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="xwrap-influxd-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> Influxd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        binary = shutil.which(INFLUXD) or "/usr/bin/influxd"
        if not Path(binary).exists():
            raise RuntimeError("influxd is missing: devops/influxdb.sh installs Debian's influxdb package")
        for _attempt in range(3):  # a free port may be taken by someone else before influxd binds it
            http_port, rpc_port = free_port(), free_port()
            config = self.home / "influxdb.conf"
            config.write_text(CONFIG.format(home=self.home, http_port=http_port, rpc_port=rpc_port))
            log = open(self.home / "influxd.log", "ab")  # noqa: SIM115 - closed with the process
            self.process = subprocess.Popen([binary, "run", "-config", str(config)], stdout=log, stderr=log)
            log.close()
            self.url = f"http://127.0.0.1:{http_port}"
            if self._answers():
                requests.post(
                    self.url + "/query",
                    params={"q": f"CREATE USER \"{ADMIN[0]}\" WITH PASSWORD '{ADMIN[1]}' WITH ALL PRIVILEGES"},
                    timeout=10,
                ).raise_for_status()
                return
            self.stop(keep_home=True)
        raise RuntimeError(f"influxd did not start: {(self.home / 'influxd.log').read_text()[-2000:]}")

    def _answers(self) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                if requests.get(self.url + "/ping", timeout=1).status_code == 204:
                    return True
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        return False

    def stop(self, keep_home: bool = False) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if not keep_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def query(self, statement: str, database: str = "") -> list[dict]:
        """Run ``statement`` as the admin; the results of its statements."""
        answer = requests.post(
            self.url + "/query", params={"q": statement, "db": database, "epoch": "ns"}, auth=ADMIN, timeout=10
        )
        answer.raise_for_status()
        return answer.json()["results"]

    def points(self, database: str, measurement: str) -> list[dict]:
        """Every point of ``measurement`` in ``database``, tags and fields as columns, time first."""
        [result] = self.query(f'SELECT * FROM "{measurement}"', database)
        return [dict(zip(s["columns"], row)) for s in result.get("series", []) for row in s["values"]]


#: v2 precisions and their 1.x names
PRECISIONS = {"ns": "n", "us": "u", "ms": "ms", "s": "s"}


class V2Receiver:
    """InfluxDB 2.x's ``/api/v2/write`` and ``/query`` (see the module's docstring) for one org with
    ``buckets``, one token, the points kept in ``influxd``. ``requests`` lists what it was sent:
    (method, path, query parameters, headers)."""

    def __init__(self, influxd: Influxd, org: str, buckets: list[str], token: str):
        self.influxd, self.org, self.buckets, self.token = influxd, org, buckets, token
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        self.write_delay = 0.0  # seconds a write waits before it is answered, for a server too slow
        for bucket in buckets:
            influxd.query(f'CREATE DATABASE "{dbrp(bucket)[0]}"')
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> V2Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                path, params = self._request()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(receiver.write_delay)
                if path != "/api/v2/write":
                    return self._error(404, "not found", "path not found")
                if not self._authorised():
                    return self._error(401, "unauthorized", "unauthorized access")
                org, bucket = params.get("org"), params.get("bucket")
                precision = params.get("precision", "ns")
                if not org:
                    return self._error(400, "invalid", "Please provide either orgID or org")
                if org != receiver.org:
                    return self._error(404, "not found", f'organization name "{org}" not found')
                if not bucket:
                    return self._error(400, "invalid", "Please provide bucket")
                if bucket not in receiver.buckets:
                    return self._error(404, "not found", f'bucket "{bucket}" not found')
                if precision not in PRECISIONS:
                    return self._error(400, "invalid", f'invalid precision "{precision}"')
                encoding = self.headers.get("Content-Encoding", "identity")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding != "identity":
                    return self._error(415, "unsupported media type", f"unsupported encoding {encoding}")
                database, policy = dbrp(bucket)
                stored = requests.post(
                    receiver.influxd.url + "/write",
                    params={"db": database, "precision": PRECISIONS[precision], **({"rp": policy} if policy else {})},
                    data=body,
                    auth=ADMIN,
                    timeout=10,
                )
                if stored.status_code == 204:
                    self.send_response(204)
                    self.end_headers()
                    return None
                message = stored.json().get("error", stored.text)
                return self._error(400 if stored.status_code == 400 else 500, "invalid", message)

            def do_GET(self) -> None:
                path, params = self._request()
                if path != "/query":
                    return self._error(404, "not found", "path not found")
                if not self._authorised():
                    return self._error(401, "unauthorized", "unauthorized access")
                forwarded = {key: params[key] for key in ("db", "rp", "q", "epoch") if key in params}
                answer = requests.get(receiver.influxd.url + "/query", params=forwarded, auth=ADMIN, timeout=10)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)
                return None

            def _request(self) -> tuple[str, dict[str, str]]:
                parts = urlsplit(self.path)
                params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                receiver.requests.append((self.command, parts.path, params, dict(self.headers)))
                return parts.path, params

            def _authorised(self) -> bool:
                return self.headers.get("Authorization") == f"Token {receiver.token}"

            def _error(self, status: int, code: str, message: str) -> None:
                body = json.dumps({"code": code, "message": message}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("X-Platform-Error-Code", code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def dbrp(bucket: str) -> tuple[str, str | None]:
    """InfluxDB 2.x's virtual DBRP mapping of ``bucket`` (written here from InfluxData's description,
    independently of the sink's own)."""
    if "/" in bucket:
        database, policy = bucket.split("/", 1)
        return database, policy
    return bucket, None
