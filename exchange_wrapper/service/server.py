"""Runs the service: opens the database, builds the API and serves every door on one port."""
from __future__ import annotations

import asyncio
import logging
import signal
import socket
from typing import Any

from ..config import Settings
from ..storage.database import close_database, describe_url, open_database
from .api import ExchangeWrapper
from .http import create_app

log = logging.getLogger(__name__)


class Server:
    """The running service. ``await start()``, then ``await stop()``; ``port`` is the bound port."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.database: Any = None
        self.api: ExchangeWrapper | None = None
        self._server: Any = None
        self.port: int | None = None

    async def start(self) -> None:
        self.database = open_database(self.settings.database_url)
        self.api = ExchangeWrapper(self.settings, self.database)
        app = create_app(self.api)
        server = self.settings.server
        sock = socket.socket(socket.AF_INET6 if ":" in server.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((server.host, server.port))
        sock.listen(1024)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._server = await app.create_server(sock=sock, access_log=False)
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        log.info("xWrap listening on http://%s:%s (database %s)", server.host, self.port,
                 describe_url(self.settings.database_url))

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.before_stop()
            await self._server.close()
            await self._server.after_stop()
            self._server = None
        if self.database is not None:
            close_database(self.database)
            self.database = None


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    server = Server(settings)
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        log.info("xWrap stopping")
        await server.stop()
