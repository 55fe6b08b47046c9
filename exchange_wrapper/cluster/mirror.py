"""The books of the exchanges another node runs, copied here so that every node answers reads.

The owner of an exchange writes its markets, the top :data:`DEPTH` levels of each live book and
its latest :data:`TRADES` public trades to Redis every :data:`INTERVAL` seconds (keys that expire
after :data:`KEEP` seconds, so a dead owner's copy goes away); every other node reads them as often
and applies each book as a snapshot to its own hub, its trades as the pair's latest. A copy is
therefore at most about two intervals (plus a Redis round trip) behind the owner's book, and only
:data:`DEPTH` levels deep (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from ..core.marketdata import BookSnapshot, FeedStatus, Trade
from ..core.markets import Market, MarketStatus
from ..core.orders import Side
from ..core.pairs import Pair
from ..marketdata.hub import MarketDataHub
from .redis_link import RedisLink, dumps

log = logging.getLogger(__name__)

#: Seconds between two copies of an exchange's books.
INTERVAL = 0.25
#: Levels per side copied.
DEPTH = 50
#: The latest public trades per pair copied (the last price of get_pricing, get_trades).
TRADES = 50
#: Seconds a copy stays in Redis unrenewed.
KEEP = 5.0

_DECIMALS = ("tick_size", "size_step", "min_size", "max_size", "min_notional", "max_notional", "funds_step")


class BookMirror:
    """Publishes the books of the exchanges ``owns(name)`` says this node runs, and copies the
    others' into ``hub``, for ``exchanges``."""

    def __init__(
        self, link: RedisLink, node: str, hub: MarketDataHub, exchanges: Sequence[str], owns: Callable[[str], bool]
    ):
        self.link, self.node, self.hub, self.exchanges, self.owns = link, node, hub, list(exchanges), owns
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.cycle()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("copying books through Redis failed; retrying")
            await asyncio.sleep(INTERVAL)

    async def cycle(self) -> None:
        owned = [name for name in self.exchanges if self.owns(name)]
        others = [name for name in self.exchanges if name not in owned]
        if owned:
            async with self.link.redis.pipeline(transaction=False) as pipe:
                for name in owned:
                    pipe.set(self.link.key("books", name), self._books_of(name), px=int(KEEP * 1000))
                    if self.hub.markets_loaded(name):
                        pipe.set(self.link.key("markets", name), self._markets_of(name), px=int(KEEP * 1000))
                await pipe.execute()
        if others:
            keys = [self.link.key(kind, name) for name in others for kind in ("books", "markets")]
            found = await self.link.redis.mget(keys)
            for i, name in enumerate(others):
                if not self.owns(name):  # taken meanwhile: its own feed now
                    self._copy(name, _text(found[2 * i]), _text(found[2 * i + 1]))

    def _books_of(self, name: str) -> str:
        books = {
            str(pair): {
                "bids": book.bids.top(DEPTH),
                "asks": book.asks.top(DEPTH),
                "trades": [
                    (t.trade_id, t.price, t.size, t.taker_side, t.time)
                    for t in list(self.hub.recent_trades(name, pair))[-TRADES:]
                ],
            }
            for pair, book in self.hub.books(name)
            if book.live
        }
        return dumps({"node": self.node, "at": time.time(), "books": books})

    def _markets_of(self, name: str) -> str:
        return dumps([_market_json(market) for market in self.hub.markets(name).values()])

    def _copy(self, name: str, books_text: str | None, markets_text: str | None) -> None:
        """Apply another node's copy of ``name``'s books (none: no node runs it now); a book the
        owner has not live is not live here either."""
        if books_text is None or markets_text is None:
            self.hub.exchange(name)
            self.hub.set_connection(name, FeedStatus.DOWN, "no node runs it now (its lease is free)")
            for pair, book in self.hub.books(name):
                if book.live:
                    self.hub.resyncing(name, [pair], counted=False)
            return
        if not self.hub.markets_loaded(name):
            self.hub.add_markets(name, [_market(name, m) for m in json.loads(markets_text)])
        copy = json.loads(books_text)
        now = time.time()
        copied = {Pair.parse(name) for name in copy["books"]}
        self.hub.resyncing(
            name, [pair for pair, book in self.hub.books(name) if book.live and pair not in copied], counted=False
        )
        for pair_name, sides in copy["books"].items():
            pair = Pair.parse(pair_name)
            self.hub.add_book(name, pair)
            bids = [(Decimal(p), Decimal(s)) for p, s in sides["bids"]]
            asks = [(Decimal(p), Decimal(s)) for p, s in sides["asks"]]
            self.hub.handle(name, [BookSnapshot(pair, bids, asks)], now)
            self.hub.copy_trades(
                name,
                pair,
                (
                    Trade(pair, trade_id, Decimal(price), Decimal(size), Side(side), at)
                    for trade_id, price, size, side, at in sides["trades"]
                ),
            )
        self.hub.set_connection(name, FeedStatus.READY, f"a copy of node {copy['node']}'s books")


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _market_json(market: Market) -> dict[str, Any]:
    return {
        "pair": str(market.pair),
        "symbol": market.symbol,
        **{name: getattr(market, name) for name in _DECIMALS},
        "price_significant_digits": market.price_significant_digits,
        "maker_fee": market.maker_fee,
        "taker_fee": market.taker_fee,
        "status": market.status.value,
        "ws_symbol": market.ws_symbol,
        "alt_symbols": list(market.alt_symbols),
    }


def _market(exchange: str, raw: dict[str, Any]) -> Market:
    decimals: dict[str, Any] = {name: None if raw[name] is None else Decimal(raw[name]) for name in _DECIMALS}
    return Market(
        exchange=exchange,
        pair=Pair.parse(raw["pair"]),
        symbol=raw["symbol"],
        price_significant_digits=raw["price_significant_digits"],
        maker_fee=Decimal(raw["maker_fee"]),
        taker_fee=Decimal(raw["taker_fee"]),
        status=MarketStatus(raw["status"]),
        ws_symbol=raw["ws_symbol"],
        alt_symbols=tuple(raw["alt_symbols"]),
        **decimals,
    )
