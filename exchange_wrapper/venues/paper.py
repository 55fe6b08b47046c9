"""The virtual exchange: paper orders rest and fill in a matching engine per followed market, on
the hub's live books (docs/matching.md).

Engines are made on first use and attached to their book; what market data does to orders comes
back through ``on_events`` (the order path queues its write at once, in the engines' order). Open
orders reloaded after a restart wait until their book is live (a queue position needs the level's
size), then rejoin their engine at the back of the queue. A tick gives the engines the time when no
market data arrives (latency arrivals, GTD expiry).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal

from ..config import Settings
from ..core.book import OrderBook, Walk
from ..core.errors import ExchangeUnavailable
from ..core.ledger import Mode
from ..core.markets import Market
from ..core.matching import LatencyModel, MatchingEngine
from ..core.orders import Order, OrderEvent, OrderStatus, Side
from ..core.pairs import Pair
from ..marketdata.hub import MarketDataHub, OrderEventsCallback
from . import OrderView, Store, amended_event

log = logging.getLogger(__name__)

#: How often engines are given the time when no market data arrives (latency arrivals, GTD expiry).
TICK_SECONDS = 0.05


class PaperVenue:
    """Paper orders in the matching engines. ``store`` records events the venue's requests make,
    ``on_events`` receives those market data makes; ``held(order)`` reads what an order holds
    (a reloaded buy's budget in its engine)."""

    mode = Mode.PAPER

    def __init__(
        self,
        settings: Settings,
        hub: MarketDataHub,
        *,
        store: Store,
        on_events: OrderEventsCallback,
        held: Callable[[Order], Awaitable[Decimal]],
        clock: Callable[[], float],
    ):
        self.settings, self.hub, self.store, self.on_events = settings, hub, store, on_events
        self.held, self.clock = held, clock
        self.engines: dict[tuple[str, Pair], MatchingEngine] = {}
        self.waiting: dict[tuple[str, Pair], list[Order]] = {}  # reloaded, waiting for a live book
        latency = settings.paper.latency
        self.latency = LatencyModel(
            latency.model,
            float(latency.order_ms) / 1000,
            float(latency.cancel_ms) / 1000,
            float(latency.jitter_ms) / 1000,
        )
        self._ticker: asyncio.Task[None] | None = None
        self._seed: int | None = None

    def seed_latency(self, seed: int) -> None:
        """Draw each engine's latencies from a generator seeded with ``seed`` and its market (engines
        made from now on), so that a replay given the same orders at the same recorded moments
        gives the same fills run after run; unseeded otherwise."""
        self._seed = seed

    # -- life cycle -------------------------------------------------------------------------------

    def start(self, reloaded: list[Order]) -> None:
        """Take the open paper orders reloaded from the database (each rejoins its engine once its
        book is live) and start the tick."""
        self.reload(reloaded)
        self._ticker = asyncio.create_task(self._tick())

    def reload(self, reloaded: list[Order]) -> None:
        """Open paper orders read back from the database: each rejoins its engine once its book is live."""
        for order in reloaded:
            self.waiting.setdefault((order.exchange, Pair.parse(order.pair)), []).append(order)

    def drop(self, exchange: str) -> None:
        """Forget ``exchange``'s engines and waiting orders (another node runs it now): its books no
        longer go through them."""
        for key in [key for key in self.engines if key[0] == exchange]:
            self.hub.detach_engine(*key)
            del self.engines[key]
        for key in [key for key in self.waiting if key[0] == exchange]:
            del self.waiting[key]

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass

    # -- what the order path asks -----------------------------------------------------------------

    def book(self, exchange: str, pair: Pair) -> OrderBook | None:
        engine = self.engine(exchange, pair)
        return None if engine is None else engine.book

    def admit(self, order: Order) -> None:
        engine = self.engine(order.exchange, Pair.parse(order.pair))
        if engine is None:
            raise ExchangeUnavailable(
                order.exchange, f"{order.pair} is not followed (add it to exchanges.{order.exchange}.pairs)"
            )
        book = engine.book
        if not book.live:
            raise ExchangeUnavailable(
                order.exchange,
                f"book {order.pair} is {book.state.value}" + (f" ({book.stale_reason})" if book.stale_reason else ""),
            )

    def hold_fee(self, order: Order, market: Market | None) -> Decimal | None:
        engine = self.engines.get((order.exchange, Pair.parse(order.pair)))
        return None if engine is None else engine.taker_fee

    def walk(self, order: Order, size: Decimal) -> Walk | None:
        engine = self.engine(order.exchange, Pair.parse(order.pair))
        return None if engine is None else engine.walk(Side.BUY, size)

    def client_id(self, order: Order) -> str | None:
        return None

    async def place(self, order: Order, budget: Decimal | None) -> OrderView | None:
        engine = self.engines[(order.exchange, Pair.parse(order.pair))]
        events = engine.submit(order, self.clock(), budget=budget)
        state = (await self.store(events)).get(order.id) or copy.copy(order)  # no events: still pending
        return state, [e.fill for e in events if e.fill is not None and e.order_id == order.id]

    def admit_amend(self, order: Order) -> None:
        key = (order.exchange, Pair.parse(order.pair))
        if key not in self.engines or order in self.waiting.get(key, ()):
            raise ExchangeUnavailable(order.exchange, f"book {order.pair} is not live yet")

    def check_amend(self, order: Order, price: Decimal, size: Decimal) -> None:
        self.engines[(order.exchange, Pair.parse(order.pair))].check_amend(order.id, price=price, size=size)

    async def amend(self, order: Order, price: Decimal, size: Decimal, need: Decimal) -> list[OrderEvent]:
        engine = self.engines[(order.exchange, Pair.parse(order.pair))]
        if order.side is Side.BUY:
            engine.set_budget(order.id, order.executed_value + order.fees + need)
        amended = amended_event(order, price, size, self.clock())
        return [amended, *engine.amend(order.id, self.clock(), price=price, size=size)]

    async def cancel(self, order: Order) -> None:
        key = (order.exchange, Pair.parse(order.pair))
        waiting = self.waiting.get(key, [])
        if order in waiting:  # reloaded, its book not live yet: no engine knows it
            waiting.remove(order)
            await self.store([order.transition(OrderStatus.CANCELLED, self.clock(), "cancelled")])
        else:
            await self.store(self.engines[key].cancel(order.id, self.clock()))

    # -- the engines ------------------------------------------------------------------------------

    def engine(self, exchange: str, pair: Pair) -> MatchingEngine | None:
        """The engine of ``pair`` on ``exchange``, made and attached to its book on first use; None
        while the pair is not followed or the exchange's markets are not loaded."""
        engine = self.engines.get((exchange, pair))
        if engine is not None:
            return engine
        market = self.hub.markets(exchange).get(pair) if self.hub.markets_loaded(exchange) else None
        if market is None or not self.hub.follows(exchange, pair):
            return None
        fees = self.settings.exchange(exchange).fees
        engine = MatchingEngine(
            market,
            self.hub.book(exchange, pair),
            maker_fee=fees.maker,
            taker_fee=fees.taker,
            latency=self.latency,
            rng=None if self._seed is None else random.Random(f"{self._seed}/{exchange}/{pair}"),
        )
        self.hub.attach_engine(exchange, pair, engine, self.on_events)
        self.engines[(exchange, pair)] = engine
        return engine

    async def _restore_waiting(self) -> None:
        for key, orders in list(self.waiting.items()):
            engine = self.engine(*key)
            if engine is None or not engine.book.live:
                continue
            for order in list(orders):
                held = await self.held(order)
                if order in orders and order.is_open:  # not cancelled meanwhile
                    budget = held + order.executed_value + order.fees if order.side is Side.BUY else None
                    orders.remove(order)
                    await self.store(engine.restore(order, self.clock(), budget=budget))
            del self.waiting[key]

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if self.waiting:
                await self._restore_waiting()
            now = self.clock()
            for engine in list(self.engines.values()):
                try:
                    events = engine.advance(now)
                except Exception:  # an engine bug must not stop every other market's clock
                    log.exception("matching engine %s failed to advance", engine.market.name)
                    continue
                if events:
                    await self.store(events)
