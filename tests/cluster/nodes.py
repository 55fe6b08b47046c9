"""Several xWrap nodes as real processes (``xwrap serve`` with a settings file each) on loopback
ports, sharing a PostgreSQL database made for the test run and a Redis key prefix of their own,
with the recorded Coinbase traffic served by the loopback simulator as their market.

Needs the machine's PostgreSQL and Redis (``devops/services.sh`` starts them); the URLs come from
``XWRAP_TEST_POSTGRES`` (a server's maintenance database, default
``postgresql://postgres@127.0.0.1:5432/test``) and ``XWRAP_TEST_REDIS``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import redis

from exchange_wrapper.client import AsyncClient
from exchange_wrapper.core.exchanges import EXCHANGE_NAMES
from tests.service.recorded import TOKENS, TRADE_TOKEN, http

POSTGRES = os.environ.get("XWRAP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("XWRAP_TEST_REDIS", "redis://127.0.0.1:6379/0")
PAIR = "SKL_USD"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Database:
    """A PostgreSQL database of the run's own, dropped at the end."""

    def __init__(self) -> None:
        self.name = f"xwrap_nodes_{uuid.uuid4().hex[:12]}"
        parts = urlsplit(POSTGRES)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self._admin("CREATE DATABASE " + self.name)

    def _admin(self, statement: str) -> None:
        connection = psycopg2.connect(POSTGRES)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def rows(self, query: str, params: tuple = ()) -> list[tuple]:
        connection = psycopg2.connect(self.url)
        try:
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def drop(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class Node:
    """One ``xwrap serve`` process named ``name``."""

    def __init__(self, name: str, settings: dict[str, Any], directory: Path, *, clustered: bool = True):
        self.name, self.port = name, free_port()
        self.settings = {**settings, "server": {"host": "127.0.0.1", "port": self.port}}
        self.settings["cluster"] = {**settings["cluster"], "node": name if clustered else ""}
        self.config = directory / f"{name}.json"
        self.config.write_text(json.dumps(self.settings))
        self.log = directory / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "exchange_wrapper.cli", "serve", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.tail()
            try:
                status, _, _ = await asyncio.to_thread(http, self.url + "/xwrap/v1/status", headers=self.auth)
                if status == 200:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"node {self.name} did not start:\n{self.tail()}")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TRADE_TOKEN}"}

    async def status(self) -> dict[str, Any]:
        status, _, body = await asyncio.to_thread(http, self.url + "/xwrap/v1/status", headers=self.auth)
        assert status == 200, body
        return body

    async def metrics(self) -> str:
        _, _, body = await asyncio.to_thread(http, self.url + "/metrics", headers=self.auth)
        return body

    def client(self, **options: Any) -> AsyncClient:
        return AsyncClient(f"ws://127.0.0.1:{self.port}", token=TRADE_TOKEN, **options)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM (see :meth:`terminate`), and wait for the process to end."""
        self.terminate()
        if self.process is not None:
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


class Cluster:
    """Nodes sharing ``database`` and a Redis prefix of their own; Coinbase's feed at ``simulator``."""

    def __init__(self, database: Database, simulator: Any, *, lease_seconds: int = 4):
        self.database = database
        self.prefix = f"xwrap-test-{uuid.uuid4().hex[:12]}"
        self.lease_seconds = lease_seconds
        self.directory = tempfile.TemporaryDirectory()
        exchanges: dict[str, Any] = {name: {"enabled": False} for name in EXCHANGE_NAMES}
        exchanges["coinbase"] = {"pairs": [PAIR], "rest_url": simulator.http_url, "ws_url": simulator.ws_url}
        self.settings = {
            "database_url": database.url,
            "tokens": TOKENS,
            "timeseries": {"backend": "none"},
            "exchanges": exchanges,
            "cluster": {"redis": REDIS, "lease_seconds": lease_seconds, "key_prefix": self.prefix},
        }
        self.nodes: dict[str, Node] = {}

    def node(self, name: str, *, clustered: bool = True) -> Node:
        """A node of the cluster named ``name`` (not started); not ``clustered``: a service alone on
        the same database and market (a baseline)."""
        node = self.nodes[name] = Node(name, self.settings, Path(self.directory.name), clustered=clustered)
        return node

    def close(self) -> None:
        for node in self.nodes.values():  # all at once: none takes over another's exchange meanwhile
            node.terminate()
        for node in self.nodes.values():
            node.stop()
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(match=f"{self.prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
        self.directory.cleanup()

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{node.tail()}" for name, node in self.nodes.items())
