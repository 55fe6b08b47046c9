"""Liveness and readiness of this node, for container health checks and load balancers.

Liveness says the process serves (its event loop answers a request): a node that is not live is
restarted. Readiness says the node can do its work now: its database answers and every exchange it
runs has its market data (and, live, its account) ready. A node that is not ready is kept out of a
load balancer until it is, not restarted: a feed reconnecting or a database restarting comes back
by itself. Both are open without a token (a probe carries none) and say nothing a client could
misuse: the database's own error is logged, not answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from ..contract import Liveness, Readiness
from ..core.errors import DatabaseUnavailable
from ..storage.database import ping
from .api import ExchangeWrapper

log = logging.getLogger(__name__)

#: The longest the database may take to answer ``SELECT 1`` (behind the writes queued before it)
#: before the node counts as not ready.
DATABASE_TIMEOUT = 5.0


class Health:
    """Answers the two probes of one node. ``exchanges()`` names the exchanges this node runs now
    (the server's feeds or replays); each must be ``ready`` for the node to be."""

    def __init__(
        self, api: ExchangeWrapper, exchanges: Callable[[], Iterable[str]], *, timeout: float = DATABASE_TIMEOUT
    ):
        self.api, self.exchanges, self.timeout = api, exchanges, timeout
        self._reasons: list[str] | None = None  # the last answer's, to log each change once

    def liveness(self) -> Liveness:
        """Live: the event loop answered."""
        return {"live": True}

    async def readiness(self) -> Readiness:
        """Whether the node is ready, the database's and each exchange's state, and the reasons if not."""
        reasons = []
        database = await self._database_problem()
        if database is not None:
            reasons.append("database unreachable")
        states: dict[str, Any] = await self.api.get_exchanges()
        exchanges = {}
        for name in sorted(self.exchanges()):
            state = states.get(name, {"status": "down", "reason": "not enabled"})
            exchanges[name] = state["status"]
            if state["status"] != "ready":
                reasons.append(f"exchange {name} {state['status']}: {state['reason']}")
        self._log_change(reasons, database)
        return {
            "ready": not reasons,
            "database": "unreachable" if database is not None else "reachable",
            "exchanges": exchanges,
            "reasons": reasons,
        }

    async def _database_problem(self) -> str | None:
        """Why the database did not answer (None when it did), on the database thread as every call."""
        trading = self.api.trading
        try:
            await asyncio.wait_for(trading.db(ping, self.api.database, self.api.settings.database_url), self.timeout)
        except DatabaseUnavailable as error:
            return error.reason
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        return None

    def _log_change(self, reasons: list[str], database: str | None) -> None:
        if reasons == self._reasons:
            return
        if reasons:
            detail = f" (database: {database})" if database is not None else ""
            log.warning("not ready: %s%s", "; ".join(reasons), detail)
        elif self._reasons is not None:
            log.info("ready again")
        self._reasons = reasons
