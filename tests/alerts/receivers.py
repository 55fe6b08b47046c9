"""Real receivers of alerts on loopback: a webhook (aiohttp) and an SMTP server (aiosmtpd) with STARTTLS
on a self-signed certificate made for the test, and login."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class WebhookReceiver:
    """``async with WebhookReceiver() as hook``: POSTs to any path are kept in :attr:`received` as (path
    with query, parsed JSON); the next ``fail`` answer with HTTP 500; ``hang`` seconds before answering."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []
        self.fail = 0
        self.hang = 0.0
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def wait(self, count: int, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.hang:
            await asyncio.sleep(self.hang)
        if self.fail:
            self.fail -= 1
            return web.Response(status=500, text="try later")
        self.received.append((request.path_qs, json.loads(body)))
        self.arrived.set()
        return web.Response(status=200, text="ok")


def self_signed(directory: str) -> tuple[str, str]:
    """(certificate, key) files for 127.0.0.1 and localhost, made now with openssl, valid a day."""
    cert, key = str(Path(directory) / "cert.pem"), str(Path(directory) / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class _Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str, bool]] = []  # (from, to, data, over TLS)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        tls = session.ssl is not None
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode(), tls))
        return "250 OK"


class SmtpReceiver:
    """An SMTP submission server on loopback that requires STARTTLS before anything else and a login
    of ``username``/``password``; :attr:`messages` what it accepted, :attr:`cert` the certificate to trust."""

    def __init__(self, username: str, password: str):
        self.username, self.password = username.encode(), password.encode()
        self._directory = tempfile.TemporaryDirectory()
        self.cert, key = self_signed(self._directory.name)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.handler = _Collect()
        self.logins: list[tuple[str, bool]] = []
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
        )

    @property
    def messages(self) -> list[tuple[str, list[str], str, bool]]:
        return self.handler.messages

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
        self._directory.cleanup()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (self.username, self.password)
        self.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "", ok))
        return AuthResult(success=ok, handled=False)


class LogLines(logging.Handler):
    """Every log record of every logger, formatted with its exception, as the service's log would show it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def watch(self, test: Any) -> LogLines:
        """Capture every logger's records, DEBUG included, for the rest of ``test``."""
        root = logging.getLogger()
        test.addCleanup(root.setLevel, root.level)
        root.setLevel(logging.DEBUG)
        root.addHandler(self)
        test.addCleanup(root.removeHandler, self)
        return self

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
