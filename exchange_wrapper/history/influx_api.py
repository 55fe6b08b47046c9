"""The HTTP side of the InfluxDB sink: InfluxQL over ``/query``, and writes of line protocol by ``/write``
(a 1.x server) or by influxdb-client's ``/api/v2/write`` (InfluxDB 2.x/3.x), with every failure turned
into an xWrap error naming the setting to fix.

Reads go through ``/query`` for both APIs because it is the one read endpoint InfluxDB 1.x, 2.x (its
1.x compatibility API, token auth) and 3.x all answer; Flux (``/api/v2/query``) exists on 2.x only.
A 2.x bucket is read through its database and retention policy mapping (DBRP): InfluxDB 2.x maps every
bucket without an explicit mapping virtually, ``name`` to database ``name`` with retention policy
``autogen``, and ``db/rp`` to database ``db`` with retention policy ``rp``; :func:`dbrp_of` follows that.

Credentials never reach a message or a log: errors name the setting (``timeseries.influxdb.token``, ...)
and the server's URL with any password in it hidden.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from ..config import InfluxSettings, hide_password
from ..core.errors import ConfigError, DatabaseUnavailable, InvalidParameter, XWrapError

log = logging.getLogger(__name__)

#: Lines sent in one write request: InfluxData advises batches of about 5,000 lines.
LINES_PER_WRITE = 5000


@dataclass(frozen=True)
class Series:
    """One series of a ``/query`` answer: its tags (those grouped by) and its rows, time first."""

    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]

    def rows(self) -> Iterator[dict[str, Any]]:
        for row in self.values:
            yield dict(zip(self.columns, row))


def dbrp_of(bucket: str) -> tuple[str, str | None]:
    """The database and retention policy InfluxDB 2.x maps ``bucket`` to when no mapping was made
    explicitly (its "virtual" DBRP mapping): ``db/rp`` splits at the slash, any other name is a database
    with its default retention policy."""
    database, slash, policy = bucket.partition("/")
    return database, (policy if slash else None)


class Refusals:
    """Turns what went wrong talking to InfluxDB into xWrap's errors, each naming the setting to change."""

    def __init__(self, settings: InfluxSettings):
        self.settings = settings
        self.server = f"InfluxDB at {hide_password(settings.url)} (timeseries.influxdb.url)"

    def unreachable(self, exc: Exception) -> DatabaseUnavailable:
        if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError)):
            reason = f"no answer within {self.settings.timeout_seconds} s (timeseries.influxdb.timeout_seconds)"
        else:
            reason = "cannot connect"
        return DatabaseUnavailable(self.server, reason)

    def refused(self, status: int, body: str | bytes | None) -> XWrapError:
        """The error for an HTTP answer of ``status`` (not 2xx) whose body is ``body``."""
        message = error_message(body)
        said = f"{self.server} answered HTTP {status}: {message}"
        settings = self.settings
        if status in (401, 403):
            if settings.api == "v2":
                return ConfigError(
                    "timeseries.influxdb.token",
                    f"a token that may read and write bucket {settings.bucket!r} of org {settings.org!r} ({said})",
                    present=False,
                )
            return ConfigError(
                "timeseries.influxdb.username and timeseries.influxdb.password",
                f"a user that may read and write database {settings.database!r} ({said})",
                present=False,
            )
        if status == 404:
            if settings.api == "v1":
                return ConfigError("timeseries.influxdb.database", f"an existing database ({said})", settings.database)
            if "organization" in message:
                return ConfigError("timeseries.influxdb.org", f"an existing organisation ({said})", settings.org)
            return ConfigError("timeseries.influxdb.bucket", f"an existing bucket ({said})", settings.bucket)
        if status in (400, 413, 422):
            return InvalidParameter(f"points written to {self.server}", "points the server accepts", message)
        return DatabaseUnavailable(self.server, f"HTTP {status}: {message}")

    def failed_statement(self, error: str) -> XWrapError:
        """The error for a statement of a ``/query`` answer that failed with ``error``."""
        if error.startswith(("database not found", "retention policy not found")):
            if self.settings.api == "v1":
                return ConfigError(
                    "timeseries.influxdb.database", f"an existing database ({error})", self.settings.database
                )
            return ConfigError(
                "timeseries.influxdb.bucket",
                f"a bucket mapped to a database and retention policy for InfluxQL ({error})",
                self.settings.bucket,
            )
        return DatabaseUnavailable(self.server, f"query failed: {error}")


def error_message(body: str | bytes | None) -> str:
    """What an error answer says: 1.x writes ``{"error": ...}``, 2.x ``{"code": ..., "message": ...}``."""
    if not body:
        return "no message"
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    if isinstance(parsed, dict):
        return str(parsed.get("message") or parsed.get("error") or text)[:200]
    return text.strip()[:200]


class InfluxQL:
    """Runs InfluxQL statements on ``/query`` of one database, times as integer nanoseconds."""

    def __init__(
        self,
        settings: InfluxSettings,
        refusals: Refusals,
        database: str,
        policy: str | None,
        auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.url = settings.url.rstrip("/") + "/query"
        self.refusals = refusals
        self.timeout = float(settings.timeout_seconds)
        self.params = {"db": database, "epoch": "ns", **({"rp": policy} if policy else {})}
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers.update(headers or {})

    def run(self, statements: Sequence[str], *, change: bool = False) -> list[list[Series]]:
        """The series of each statement, in order. ``change`` sends a POST, which 1.x asks of statements
        that change something (CREATE ...); reads are GETs, the one method every version documents."""
        method = "POST" if change else "GET"
        try:
            answer = self.session.request(
                method, self.url, params={**self.params, "q": ";".join(statements)}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise self.refusals.unreachable(exc) from None
        if answer.status_code != 200:
            raise self.refusals.refused(answer.status_code, answer.content)
        results = answer.json().get("results", [])
        found: list[list[Series]] = []
        for result in results:
            if "error" in result:
                raise self.refusals.failed_statement(str(result["error"]))
            found.append(
                [Series(s.get("tags") or {}, s["columns"], s.get("values") or []) for s in result.get("series", [])]
            )
        return found

    def close(self) -> None:
        self.session.close()


class V1Writer:
    """Writes line protocol to a 1.x server's ``/write`` (nanosecond times), basic auth when a user is set."""

    def __init__(self, settings: InfluxSettings, refusals: Refusals, auth: tuple[str, str] | None):
        self.url = settings.url.rstrip("/") + "/write"
        self.params = {"db": settings.database, "precision": "n"}
        self.refusals = refusals
        self.timeout = float(settings.timeout_seconds)
        self.session = requests.Session()
        self.session.auth = auth

    def write(self, lines: Sequence[str]) -> None:
        for start in range(0, len(lines), LINES_PER_WRITE):
            body = "\n".join(lines[start : start + LINES_PER_WRITE]).encode()
            try:
                answer = self.session.post(self.url, params=self.params, data=body, timeout=self.timeout)
            except requests.RequestException as exc:
                raise self.refusals.unreachable(exc) from None
            if answer.status_code != 204:
                raise self.refusals.refused(answer.status_code, answer.content)

    def close(self) -> None:
        self.session.close()


class V2Writer:
    """Writes line protocol with influxdb-client to ``/api/v2/write`` of the org and bucket (nanosecond
    times, gzip), the token in its ``Authorization: Token`` header."""

    def __init__(self, settings: InfluxSettings, refusals: Refusals):
        self.settings = settings
        self.refusals = refusals
        self.client = InfluxDBClient(
            url=settings.url,
            token=settings.token,
            org=settings.org,
            timeout=int(settings.timeout_seconds * 1000),
            enable_gzip=True,
        )
        self.api = self.client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: Sequence[str]) -> None:
        for start in range(0, len(lines), LINES_PER_WRITE):
            try:
                self.api.write(
                    bucket=self.settings.bucket,
                    org=self.settings.org,
                    record="\n".join(lines[start : start + LINES_PER_WRITE]),
                )  # in nanoseconds, the client's default precision
            except ApiException as exc:
                raise self.refusals.refused(exc.status or 0, exc.body) from None
            except urllib3.exceptions.HTTPError as exc:
                raise self.refusals.unreachable(exc) from None

    def close(self) -> None:
        self.api.close()
        self.client.close()


class Connection:
    """A server's ``/query`` of the store's database and the writer of its API."""

    def __init__(self, query: InfluxQL, writer: V1Writer | V2Writer):
        self.query, self.writer = query, writer

    def close(self) -> None:
        self.writer.close()
        self.query.close()


def connect(settings: InfluxSettings) -> Connection:
    """Open the connection ``settings`` describe and check it answers: a 1.x database is created if
    missing (when the user may), a 2.x bucket must exist and be mapped for InfluxQL."""
    refusals = Refusals(settings)
    if settings.api == "v1":
        auth = (settings.username, settings.password) if settings.username else None
        query = InfluxQL(settings, refusals, settings.database, None, auth=auth)
        connection = Connection(query, V1Writer(settings, refusals, auth))
        [databases] = query.run(["SHOW DATABASES"])
        if not any(row.get("name") == settings.database for series in databases for row in series.rows()):
            query.run([f"CREATE DATABASE {quote_name(settings.database)}"], change=True)
            log.info("InfluxDB database %r created at %s", settings.database, hide_password(settings.url))
    else:
        database, policy = dbrp_of(settings.bucket)
        query = InfluxQL(settings, refusals, database, policy, headers={"Authorization": f"Token {settings.token}"})
        connection = Connection(query, V2Writer(settings, refusals))
        query.run(['SELECT "trade_id" FROM "trade" LIMIT 1'])  # SHOW MEASUREMENTS of no database answers nothing
    return connection


def quote_name(name: str) -> str:
    """An InfluxQL identifier, double-quoted."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_text(text: str) -> str:
    """An InfluxQL string literal, single-quoted."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
