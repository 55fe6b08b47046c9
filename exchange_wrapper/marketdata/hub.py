"""The market-data hub: every book, trade and ticker of every exchange, owned by the service.

Live feeds (:mod:`exchange_wrapper.connectors.feed`) and replays (:mod:`exchange_wrapper.replay`)
hand it the events their adapter parsed from each message; it keeps the books right through
:class:`~exchange_wrapper.core.integrity.BookKeeper`, passes book changes and trades through the
matching engine attached to a market, hands the engine's order events to the service's callback,
counts everything for the metrics, hands every public trade to whoever subscribed to them (market
history) and says which books need a resync. Synchronous and free of I/O:
the caller acts on what it returns.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.book import OrderBook
from ..core.errors import ExchangeUnavailable, UnknownExchange, UnknownPair
from ..core.integrity import BookKeeper, Stale
from ..core.marketdata import (
    BookDelta,
    BookSnapshot,
    FeedError,
    FeedStatus,
    MarketEvent,
    Problem,
    Resync,
    Ticker,
    Trade,
)
from ..core.markets import Market
from ..core.orders import OrderEvent
from ..core.pairs import Pair

log = logging.getLogger(__name__)

OrderEventsCallback = Callable[[str, Pair, list[OrderEvent]], None]
"""``(exchange, pair, events)``: what the matching engine of a market produced, in order."""

TradeCallback = Callable[[str, Trade, float], None]
"""``(exchange, trade, at)``: a public trade as the hub applied it, received at ``at``."""

#: Counter names, also the metrics' names: messages, trades and tickers seen; one per
#: :class:`Problem` (each time a book went stale for it); resyncs asked; reconnects made.
COUNTERS = ("messages", "trades", "tickers", *(p.value for p in Problem), "resyncs", "reconnects")

_NO_RESYNC: tuple[Resync, ...] = ()

#: Public trades kept per pair for ``get_trades``.
RECENT_TRADES = 1000

#: Books not live named in a status reason; more are counted, so that the reason stays one short line.
NAMED_IN_STATUS = 5


@dataclass
class ExchangeData:
    """One exchange's market data and health, as the hub holds it."""

    name: str
    keepers: dict[Pair, BookKeeper] = field(default_factory=dict)
    markets: dict[Pair, Market] = field(default_factory=dict)
    markets_loaded: bool = False  # until then no pair can be called unknown
    trades: dict[Pair, deque[Trade]] = field(default_factory=dict)  # the latest per pair, oldest first
    tickers: dict[Pair, Ticker] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    connection: FeedStatus = FeedStatus.CONNECTING
    reason: str = "starting"
    rest_paused_until: float = 0.0


class MarketDataHub:
    """Books, trades, tickers and counters per exchange.

    Register what to follow with :meth:`add_markets` and :meth:`add_book`; feed each wire message's
    events to :meth:`handle`, and resynchronise what it returns. A matching engine attached to a
    book (:meth:`attach_engine`) sees its changes and trades; its events go to whoever attached it.
    """

    def __init__(self) -> None:
        self.exchanges: dict[str, ExchangeData] = {}
        self._engine_events: dict[tuple[str, Pair], OrderEventsCallback] = {}
        self._trade_listeners: list[TradeCallback] = []

    # -- set-up -----------------------------------------------------------------------------------

    def exchange(self, name: str) -> ExchangeData:
        """The data of exchange ``name``, created on first use."""
        data = self.exchanges.get(name)
        if data is None:
            data = self.exchanges[name] = ExchangeData(name)
        return data

    def add_markets(self, exchange: str, markets: Iterable[Market]) -> None:
        """The markets ``exchange`` lists, as loaded from it: from now on a pair not among them is unknown."""
        data = self.exchange(exchange)
        data.markets.update((market.pair, market) for market in markets)
        data.markets_loaded = True

    def add_book(
        self,
        exchange: str,
        pair: Pair,
        *,
        checksum: Callable[[OrderBook], int] | None = None,
        depth: int | None = None,
        buffer_deltas: bool = False,
    ) -> BookKeeper:
        """Follow ``pair``'s book on ``exchange`` (kept if already followed); it is RESYNCING
        until its first snapshot. The options are the exchange's integrity rules (BookKeeper)."""
        keepers = self.exchange(exchange).keepers
        keeper = keepers.get(pair)
        if keeper is None:
            keeper = keepers[pair] = BookKeeper(
                OrderBook(exchange, str(pair)), checksum=checksum, depth=depth, buffer_deltas=buffer_deltas
            )
        return keeper

    def attach_engine(self, exchange: str, pair: Pair, engine: Any, on_events: OrderEventsCallback) -> None:
        """Route ``pair``'s book changes and trades through ``engine`` (a MatchingEngine built on
        :meth:`book` of that pair); ``on_events(exchange, pair, events)`` receives its events."""
        self._keeper(exchange, pair).attach(engine)
        self._engine_events[(exchange, pair)] = on_events

    def detach_engine(self, exchange: str, pair: Pair) -> None:
        """Stop routing ``pair``'s book through its engine (its exchange is run by another node now)."""
        self._keeper(exchange, pair).attach(None)
        self._engine_events.pop((exchange, pair), None)

    def copy_trades(self, exchange: str, pair: Pair, trades: Iterable[Trade]) -> None:
        """The latest public trades of ``pair`` as another node's hub has them (a cluster node's copy of
        an exchange it does not run): they replace those kept here, and reach no engine or subscriber
        (the owner's did)."""
        self.exchange(exchange).trades[pair] = deque(trades, maxlen=RECENT_TRADES)

    def forget(self, exchange: str) -> None:
        """Drop everything held of ``exchange`` (a cluster node about to run its feed, where it kept a
        copy of another node's books): its feed registers it anew with the exchange's own rules."""
        self.exchanges.pop(exchange, None)
        for key in [key for key in self._engine_events if key[0] == exchange]:
            del self._engine_events[key]

    def on_trade(self, callback: TradeCallback) -> Callable[[], None]:
        """Call ``callback(exchange, trade, at)`` for every public trade from now on, after the
        matching engines saw it; returns the function that ends the subscription. The callback runs
        on the feed's path: it must be quick and must not raise."""
        self._trade_listeners.append(callback)
        return lambda: self._trade_listeners.remove(callback)

    # -- reads ------------------------------------------------------------------------------------

    def book(self, exchange: str, pair: Pair) -> OrderBook:
        return self._keeper(exchange, pair).book

    def follows(self, exchange: str, pair: Pair) -> bool:
        """Whether ``pair``'s book on ``exchange`` is followed (:meth:`add_book`)."""
        data = self.exchanges.get(exchange)
        return data is not None and pair in data.keepers

    def started(self, exchange: str) -> bool:
        """Whether anything of ``exchange`` was registered here (a feed or a replay started it)."""
        return exchange in self.exchanges

    def started_exchanges(self) -> list[str]:
        """The exchanges :meth:`started` here, sorted."""
        return sorted(self.exchanges)

    def connection(self, exchange: str) -> FeedStatus:
        """The state of ``exchange``'s market-data connection (DOWN if it never started)."""
        data = self.exchanges.get(exchange)
        return FeedStatus.DOWN if data is None else data.connection

    def followed(self, exchange: str) -> list[Pair]:
        """The pairs whose books ``exchange`` follows, sorted by name (none if it never started)."""
        data = self.exchanges.get(exchange)
        return [] if data is None else sorted(data.keepers, key=str)

    def books(self, exchange: str) -> Iterator[tuple[Pair, OrderBook]]:
        """Every followed book of ``exchange`` with its pair, in no order (:meth:`followed` sorts):
        for what visits them all often, such as sampling their tops."""
        data = self.exchanges.get(exchange)
        if data is not None:
            for pair, keeper in data.keepers.items():
                yield pair, keeper.book

    def recent_trades(self, exchange: str, pair: Pair) -> Sequence[Trade]:
        """The latest public trades of ``pair`` (up to :data:`RECENT_TRADES`), oldest first."""
        data = self.exchanges.get(exchange)
        return () if data is None else data.trades.get(pair, ())

    def markets_loaded(self, exchange: str) -> bool:
        """Whether ``exchange``'s markets were loaded (offline, or in the first seconds after
        start, they are not: nothing can be said about a pair yet)."""
        data = self.exchanges.get(exchange)
        return data is not None and data.markets_loaded

    def markets(self, exchange: str) -> Mapping[Pair, Market]:
        """Every market ``exchange`` lists, by pair. Raises :class:`ExchangeUnavailable` (retry
        later) while they are not loaded."""
        data = self.exchanges.get(exchange)
        if data is None or not data.markets_loaded:
            reason = "not started" if data is None else f"{data.connection.value}: {data.reason}"
            raise ExchangeUnavailable(exchange, f"its markets are not loaded yet ({reason})")
        return data.markets

    def market(self, exchange: str, pair: Pair) -> Market:
        """The market of ``pair`` on ``exchange``: :class:`ExchangeUnavailable` while the markets
        are not loaded (retry later), :class:`UnknownPair` once they are and do not list it."""
        market = self.markets(exchange).get(pair)
        if market is None:
            raise UnknownPair(exchange, str(pair))
        return market

    def currencies(self, exchange: str) -> set[str]:
        """The currencies of ``exchange``'s markets (bases and quotes); ExchangeUnavailable as
        :meth:`markets`."""
        return {currency for pair in self.markets(exchange) for currency in (pair.base, pair.quote)}

    def status(self, exchange: str, now: float) -> tuple[FeedStatus, str]:
        """(status, reason): the connection's state, DEGRADED while a book is not live or REST
        calls are paused after a 429 (the first :data:`NAMED_IN_STATUS` such books named, the
        others counted)."""
        data = self._data(exchange)
        if data.connection is not FeedStatus.READY:
            return data.connection, data.reason
        books = [(pair, keeper.book) for pair, keeper in data.keepers.items() if not keeper.book.live]
        waiting = [
            f"{pair} {book.state.value}" + (f" ({book.stale_reason})" if book.stale_reason else "")
            for pair, book in books[:NAMED_IN_STATUS]
        ]
        if len(books) > NAMED_IN_STATUS:
            waiting.append(f"{len(books) - NAMED_IN_STATUS} more books not live")
        if data.rest_paused_until > now:
            waiting.append(f"REST calls paused for {data.rest_paused_until - now:.1f} s (HTTP 429)")
        if waiting:
            return FeedStatus.DEGRADED, "; ".join(waiting)
        return FeedStatus.READY, data.reason

    def counters(self, exchange: str) -> dict[str, int]:
        """Every counter of :data:`COUNTERS`, plus ``checksums_verified`` and ``checksums_failed``."""
        data = self._data(exchange)
        out = {name: data.counts[name] for name in COUNTERS}
        out["checksums_verified"] = sum(k.checksums_verified for k in data.keepers.values())
        out["checksums_failed"] = sum(k.checksums_failed for k in data.keepers.values())
        return out

    # -- the feed ---------------------------------------------------------------------------------

    def handle(self, exchange: str, events: list[MarketEvent], at: float) -> tuple[Resync, ...] | list[Resync]:
        """Apply the events parsed from one wire message received at ``at``; return the resyncs
        to make (books that went stale, or the whole connection for a Resync of no pair)."""
        data = self.exchanges[exchange]
        data.counts["messages"] += 1
        resyncs: tuple[Resync, ...] | list[Resync] = _NO_RESYNC
        for event in events:
            kind = type(event)
            if kind is BookDelta or kind is BookSnapshot:
                keeper = data.keepers.get(event.pair)  # type: ignore[union-attr, arg-type]
                if keeper is None:
                    continue
                if kind is BookDelta:
                    found, stale = keeper.delta(event, at)  # type: ignore[arg-type]
                else:
                    found, stale = keeper.snapshot(event, at)  # type: ignore[arg-type]
                if found:
                    self._publish(exchange, event.pair, found)  # type: ignore[union-attr, arg-type]
                if stale is not None:
                    resyncs = [*resyncs, self._went_stale(data, event.pair, stale)]  # type: ignore[union-attr, arg-type]
            elif kind is Trade:
                self._trade(data, event, at)  # type: ignore[arg-type]
            elif kind is Ticker:
                data.counts["tickers"] += 1
                data.tickers[event.pair] = event  # type: ignore[union-attr, index, assignment]
            elif kind is Resync:
                resyncs = [*resyncs, *self._resync_event(data, event)]  # type: ignore[arg-type]
            elif kind is FeedError:
                data.counts[Problem.EXCHANGE_ERROR.value] += 1
                log.warning("%s reported an error: %s", exchange, event.reason)  # type: ignore[union-attr]
        return resyncs

    def fail_all(
        self, exchange: str, problem: Problem, detail: str, pairs: Iterable[Pair] | None = None
    ) -> list[Resync]:
        """Every book of ``exchange`` (of ``pairs`` only, where given: those of one connection)
        stops being trusted (silent feed, lost connection); returns the resyncs for the books this
        made stale (each counted and logged once)."""
        data = self._data(exchange)
        resyncs = []
        only = None if pairs is None else set(pairs)
        for pair, keeper in data.keepers.items():
            if only is not None and pair not in only:
                continue
            stale = keeper.fail(problem, detail)
            if stale is not None:
                resyncs.append(self._went_stale(data, pair, stale))
        return resyncs

    def resyncing(self, exchange: str, pairs: Iterable[Pair], *, counted: bool = True) -> None:
        """A snapshot was asked for each of ``pairs``: the books wait for it. ``counted``: count
        it as a resync (not for the snapshots of a new connection, counted as a reconnect)."""
        data = self._data(exchange)
        for pair in pairs:
            keeper = data.keepers.get(pair)
            if keeper is not None:
                keeper.resyncing()
                data.counts["resyncs"] += counted

    def finish(self, exchange: str, reason: str) -> None:
        """The feed has ended for good (a replay's recorded traffic is over): the status is
        FINISHED with ``reason``, and no book is live any more, so that nothing is filled or
        accepted on books that will not change again. Not a fault of the books: nothing is counted."""
        for keeper in self._data(exchange).keepers.values():
            keeper.book.mark_stale(reason)
        self.set_connection(exchange, FeedStatus.FINISHED, reason)

    def rest_paused(self, exchange: str, until: float) -> None:
        """``exchange``'s REST calls wait until ``until`` after a rate-limit answer: the status says
        so (DEGRADED) until then. A shorter pause than one already known changes nothing."""
        data = self.exchange(exchange)
        data.rest_paused_until = max(data.rest_paused_until, until)

    def rest_pause_left(self, exchange: str, now: float) -> float:
        """Seconds ``exchange``'s REST calls still wait after a rate-limit answer (0: none)."""
        return max(self._data(exchange).rest_paused_until - now, 0.0)

    def set_connection(self, exchange: str, status: FeedStatus, reason: str) -> None:
        """The feed's own state (connecting, ready, down) and why; logged when it changes."""
        data = self._data(exchange)
        if (data.connection, data.reason) != (status, reason):
            level = logging.WARNING if status is FeedStatus.DOWN else logging.INFO
            log.log(level, "%s market data %s: %s", exchange, status.value, reason)
        data.connection, data.reason = status, reason

    # -- internals --------------------------------------------------------------------------------

    def _trade(self, data: ExchangeData, trade: Trade, at: float) -> None:
        data.counts["trades"] += 1
        recent = data.trades.get(trade.pair)
        if recent is None:
            recent = data.trades[trade.pair] = deque(maxlen=RECENT_TRADES)
        recent.append(trade)
        keeper = data.keepers.get(trade.pair)
        if keeper is not None and keeper.engine is not None:
            found = keeper.engine.on_trade(trade.trade_id, trade.price, trade.size, trade.taker_side, at, trade.time)
            if found:
                self._publish(data.name, trade.pair, found)
        for listener in self._trade_listeners:
            listener(data.name, trade, at)

    def _resync_event(self, data: ExchangeData, event: Resync) -> list[Resync]:
        if event.pair is None:
            return self.fail_all(data.name, event.problem, event.detail)
        keeper = data.keepers.get(event.pair)
        stale = keeper.fail(event.problem, event.detail) if keeper is not None else None
        return [self._went_stale(data, event.pair, stale)] if stale is not None else []

    def _went_stale(self, data: ExchangeData, pair: Pair, stale: Stale) -> Resync:
        data.counts[stale.problem.value] += 1
        log.warning("%s %s book stale, resyncing: %s: %s", data.name, pair, stale.problem.value, stale.detail)
        return Resync(pair, stale.problem, stale.detail)

    def _publish(self, exchange: str, pair: Pair, events: list[OrderEvent]) -> None:
        listener = self._engine_events.get((exchange, pair))
        if listener is not None:
            listener(exchange, pair, events)

    def _data(self, exchange: str) -> ExchangeData:
        try:
            return self.exchanges[exchange]
        except KeyError:
            raise UnknownExchange(exchange) from None

    def _keeper(self, exchange: str, pair: Pair) -> BookKeeper:
        keeper = self._data(exchange).keepers.get(pair)
        if keeper is None:
            raise UnknownPair(exchange, str(pair))
        return keeper
