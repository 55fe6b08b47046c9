"""ExchangeWrapper: every operation of the service, free of any transport.

The doors (JSON-RPC, REST, Socket.IO) translate requests into keyword calls on this class and
its results back; they add nothing of their own. Results are JSON-ready (amounts as strings).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from .. import __version__
from ..config import Settings
from ..exchanges import EXCHANGE_NAMES
from ..storage.database import describe_url, is_postgres, schema_version


class ExchangeWrapper:
    """The operations. ``clock`` returns Unix seconds (injected so tests control time)."""

    def __init__(self, settings: Settings, database: Any, *, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.database = database
        self.clock = clock
        self.started_at = clock()

    async def echo(self, **params: Any) -> dict[str, Any]:
        """Return the parameters as given: a round-trip check for clients."""
        return params

    async def get_status(self) -> dict[str, Any]:
        """Version, uptime, the exchanges with their states, and the database."""
        return {
            "version": __version__,
            "uptime": round(self.clock() - self.started_at, 3),
            "exchanges": {name: self._exchange_status(name) for name in EXCHANGE_NAMES
                          if self.settings.exchange(name).enabled},
            "database": {"kind": "postgresql" if is_postgres(self.database) else "sqlite",
                         "url": describe_url(self.settings.database_url),
                         "schema_version": schema_version(self.database)},
        }

    def _exchange_status(self, name: str) -> dict[str, Any]:
        exchange = self.settings.exchange(name)
        return {"mode": exchange.mode, "status": "down", "reason": "market data adapter not started",
                "pairs": list(exchange.pairs)}
