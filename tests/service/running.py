"""The recorded service of :mod:`.recorded` with API tokens, and helpers for its websocket doors.

class SomeTest(RunningService):
    settings_overrides = {**WITH_TOKENS, "server.max_connections_per_client": 2}
    async def test_something(self): ... self.server, self.rpc_url, await self.raw_rpc()
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .recorded import READ_TOKEN, SKL, TOKENS, TRADE_TOKEN, RecordedServiceTest

__all__ = ["READ_TOKEN", "TRADE_TOKEN", "WITH_TOKENS", "Peer", "RunningService", "error_cases", "receive"]

WITH_TOKENS = {"tokens": TOKENS}


class RunningService(RecordedServiceTest):
    settings_overrides: dict[str, Any] = WITH_TOKENS

    async def asyncSetUp(self) -> None:
        await super().asyncSetUp()
        self.rpc_url = f"ws://127.0.0.1:{self.server.port}/xwrap/v1/rpc"

    @property
    def book(self) -> Any:
        return self.server.hub.book("coinbase", SKL)

    async def step_while(self, waiting: asyncio.Future | asyncio.Task, *, limit: int = 9000) -> Any:
        """Feed recorded messages, letting the loop run every few, until ``waiting`` is done;
        return its result."""
        for count, record in enumerate(self.records):
            self.replay.step(record, time.time())
            if count % 10 == 0:
                await asyncio.sleep(0.001)
            if waiting.done() or count > limit:
                break
        return await asyncio.wait_for(waiting, 5)

    async def raw_rpc(
        self,
        token: str | None = TRADE_TOKEN,
        *,
        query: str = "",
        origin: str | None = None,
        host: str | None = None,
        **options: Any,
    ) -> Peer:
        """A plain websocket to the JSON-RPC door (closed at the end of the test), opened as a web
        page of ``origin`` would, to the name ``host`` (as if it pointed at 127.0.0.1)."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        url = self.rpc_url if host is None else f"ws://{host}:{self.server.port}/xwrap/v1/rpc"
        ws = await connect(
            url + query,
            additional_headers=headers,
            max_size=None,
            origin=origin,
            host="127.0.0.1",
            port=self.server.port,
            **options,
        )
        self.addAsyncCleanup(ws.close)
        return Peer(ws)

    async def slow_clients_closed(self, door: str, count: int, timeout: float = 10) -> None:
        """Wait until the service closed ``count`` connections of ``door`` as too slow."""
        async with asyncio.timeout(timeout):
            while (
                self.server.metrics.registry.get_sample_value(
                    "xwrap_disconnects_total", {"door": door, "reason": "too_slow"}
                )
                != count
            ):
                await asyncio.sleep(0.02)

    async def drained(self, ws: Any, timeout: float = 20) -> Any:
        """Read ``ws`` until it is closed; the close frame the service sent (``rcvd``)."""
        with self.assertRaises(ConnectionClosed) as closed:
            async with asyncio.timeout(timeout):
                while True:
                    await ws.recv()
        return closed.exception.rcvd


async def receive(ws: Any, timeout: float = 5) -> Any:
    """The next message of ``ws``, decoded (NaN and Infinity refused: they are not JSON)."""
    return json.loads(await asyncio.wait_for(ws.recv(), timeout), parse_constant=_not_json)


class Peer:
    """A websocket to the JSON-RPC door seen as a client sees it: ``ask`` returns the next answer,
    keeping the notifications that came first for ``notifications``."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.kept: list[Any] = []

    async def ask(self, message: Any, timeout: float = 5) -> Any:
        """Send ``message`` (text or bytes as they are, anything else as JSON); the next answer."""
        await self.ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
        while True:
            reply = await receive(self.ws, timeout)
            if not (isinstance(reply, dict) and "method" in reply):
                return reply
            self.kept.append(reply)

    async def notifications(self, enough: Any, timeout: float = 5) -> list[Any]:
        """Notifications, oldest first, until ``enough(those so far)``."""
        seen, self.kept = self.kept, []
        async with asyncio.timeout(timeout):
            while not enough(seen):
                message = await receive(self.ws)
                if not (isinstance(message, dict) and "method" in message and "id" not in message):
                    raise AssertionError(f"not a notification: {message}")
                seen.append(message)
        return seen


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def error_cases(wallet_set_id: int) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(kind, method, params, details) for every error kind an operation produces on the
    recording, for the wallet set named "paper" of ``funded_wallet_set`` (1000 USD on coinbase). The details are
    worked out from the recording: SKL-USD's base_min_size is "5" in COINBASE.0; a limit buy
    holds price x size x (1 + taker fee 0.006)."""
    order = {"wallet_set_id": wallet_set_id, "exchange": "coinbase", "pair": "SKL_USD", "side": "buy"}
    return [
        (
            "unknown_exchange",
            "get_book",
            {"exchange": "nasdaq", "pair": "SKL_USD"},
            {
                "exchange": "nasdaq",
                "valid": ["coinbase", "binance", "kraken", "bitfinex", "poloniex", "okx", "bybit", "luno", "valr"],
            },
        ),
        (
            "unknown_pair",
            "get_book",
            {"exchange": "coinbase", "pair": "SKL_JPY"},
            {"exchange": "coinbase", "pair": "SKL_JPY"},
        ),
        (
            "invalid_parameter",
            "make_order",
            {**order, "size": "10"},
            {"field": "price", "expected": "a price for a limit order"},
        ),
        (
            "invalid_parameter",
            "get_book",
            {"exchange": "coinbase", "pair": "SKL_USD", "depht": 5},
            {"field": "depht", "expected": "no such parameter (known: depth, exchange, pair)"},
        ),
        (
            "precision_violation",
            "make_order",
            {**order, "price": "0.5", "size": "0.01"},
            {"rule": "min_size", "exchange": "coinbase", "pair": "SKL_USD", "value": "0.01", "limit": "5"},
        ),
        (
            "insufficient_funds",
            "make_order",
            {**order, "price": "0.5", "size": "5000"},
            {
                "wallet_set_id": wallet_set_id,
                "exchange": "coinbase",
                "currency": "USD",
                "needed": "2515",
                "available": "1000",
            },
        ),
        ("order_not_found", "cancel_order", {"order_id": "999999"}, {"what": "order", "key": "999999"}),
        ("not_found", "get_wallet_set", {"wallet_set_id": 999999}, {"what": "wallet set", "key": 999999}),
        ("conflict", "create_wallet_set", {"name": "paper"}, {}),
        (
            "exchange_unavailable",
            "get_markets",
            {"exchange": "binance"},  # enabled, not started: only coinbase is replayed
            {"exchange": "binance", "reason": "its markets are not loaded yet (not started)"},
        ),
        ("method_not_found", "make_orders", {}, {"method": "make_orders"}),
    ]
