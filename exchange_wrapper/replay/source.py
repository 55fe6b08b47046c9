"""Recorded traffic played through the same adapter parser and hub as live data.

:class:`Replay` reads capture files (see :mod:`.capture`), takes the market metadata from the
recorded REST response of the adapter's ``markets_path``, follows every market's book, and feeds
the other records in time order: each websocket message through the adapter's parser into the hub,
each other REST response (Binance depth snapshots) through ``parse_rest``. A new recorded connection
gets a new parser, and its books wait for new snapshots, as live. :meth:`Replay.run` goes as fast as
it can with the recorded times; :meth:`Replay.play` keeps the recorded pace (or a multiple of it)
and stamps events with the clock, for a service running on recordings.
"""
from __future__ import annotations

import asyncio
import heapq
import os
import time
from typing import Any, Awaitable, Callable, Iterable, Iterator, Sequence
from urllib.parse import urlparse

from ..core.errors import NotFound, XWrapError
from ..core.marketdata import FeedStatus, Problem
from ..core.money import format_decimal
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from ..exchanges.base import Adapter, adapter_class
from ..marketdata.hub import MarketDataHub
from .capture import RestResponse, WsOpened, WsReceived, read_capture

Record = RestResponse | WsOpened | WsReceived
PARSE_ERRORS = (XWrapError, ValueError, KeyError, TypeError, IndexError)


class Replay:
    """One exchange's capture ``files`` fed into ``hub`` (a new one by default), following the
    books of ``pairs`` (every market of the metadata by default).

    Raises :class:`NotFound` if no file holds the exchange's market metadata response.
    """

    def __init__(self, exchange: str, files: Sequence[str | os.PathLike[str]], hub: MarketDataHub | None = None,
                 pairs: Iterable[Pair] | None = None):
        self.files = list(files)
        self.hub = hub or MarketDataHub()
        cls = adapter_class(exchange)
        markets = cls.parse_markets(self._metadata(cls).body)
        table = SymbolTable(exchange, markets)
        self.adapter: Adapter = cls(table, [market.pair for market in markets] if pairs is None else pairs)
        self.hub.add_markets(exchange, markets)
        self.adapter.add_books(self.hub, self.adapter.pairs)
        self.parser = self.adapter.parser()
        self.seconds = 0.0

    @property
    def exchange(self) -> str:
        return self.adapter.name

    def records(self) -> Iterator[Record]:
        """Every record but the metadata, in time order across the files."""
        streams = [(r for r in read_capture(path) if isinstance(r, (RestResponse, WsOpened, WsReceived)))
                   for path in self.files]
        for record in heapq.merge(*streams, key=lambda r: r.ts):
            if not (isinstance(record, RestResponse) and self._is_metadata(record)):
                yield record

    def step(self, record: Record, at: float) -> None:
        """Feed one record, stamping its events ``at``."""
        hub, name = self.hub, self.adapter.name
        if isinstance(record, WsReceived):
            if not record.message:
                return
            try:
                events = self.parser.parse(record.message, at)
            except PARSE_ERRORS as error:
                hub.fail_all(name, Problem.MALFORMED, f"{type(error).__name__}: {error}")
                return
        elif isinstance(record, RestResponse):
            events = self.adapter.parse_rest(record.url, record.body)
        else:  # a new connection: a new parser, and the books start over from its snapshots
            self.parser = self.adapter.parser()
            hub.resyncing(name, self.adapter.pairs, counted=False)
            return
        resyncs = hub.handle(name, events, at)
        if resyncs:  # what the recording holds later (a new snapshot) is all a replay can resync from
            hub.resyncing(name, [r.pair for r in resyncs if r.pair is not None])

    def run(self) -> dict[str, Any]:
        """Feed every record as fast as possible, with its recorded time; return :meth:`report`."""
        started = time.perf_counter()
        step = self.step
        for record in self.records():
            step(record, record.ts)
        self.seconds = time.perf_counter() - started
        return self.report()

    async def play(self, speed: float = 1.0, *, clock: Callable[[], float] = time.time,
                   sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> dict[str, Any]:
        """Feed every record at the recorded pace times ``speed``, each event stamped with
        ``clock()``; other tasks get their turn between records. Returns :meth:`report`."""
        started, first = clock(), None
        names = ", ".join(os.path.basename(os.fspath(path)) for path in self.files)
        self.hub.set_connection(self.exchange, FeedStatus.READY, f"replaying {names} at {speed:g}x")
        for record in self.records():
            if first is None:
                first = record.ts
            delay = (record.ts - first) / speed - (clock() - started)
            await sleep(max(delay, 0.0))
            self.step(record, clock())
        self.seconds = clock() - started
        self.hub.set_connection(self.exchange, FeedStatus.READY, f"replay of {names} finished")
        return self.report()

    def report(self) -> dict[str, Any]:
        """What the replay did, as ``xwrap replay`` prints it: every book that received data
        (unified pair names, amounts as strings), the counters, and the books that ended corrupt
        (not live: stale, or still waiting for a snapshot after a problem)."""
        counts = self.hub.counters(self.exchange)
        books, corrupt = {}, []
        for pair, keeper in sorted(self.hub.exchange(self.exchange).keepers.items()):
            book = keeper.book
            if book.updated_at is None:
                continue
            bid, ask = book.bids.best, book.asks.best
            books[str(pair)] = {"bid": format_decimal(bid[0]) if bid else None,
                                "ask": format_decimal(ask[0]) if ask else None,
                                "bid_levels": len(book.bids), "ask_levels": len(book.asks),
                                "state": book.state.value}
            if not book.live:
                corrupt.append(str(pair))
        return {"exchange": self.exchange, "messages": counts["messages"], "books": books,
                "checksums": {"verified": counts["checksums_verified"], "failed": counts["checksums_failed"]},
                "sequence_gaps": counts[Problem.SEQUENCE_GAP.value], "resyncs": counts["resyncs"],
                "trades": counts["trades"], "seconds": round(self.seconds, 3),
                "crossed_books": counts[Problem.CROSSED.value], "tickers": counts["tickers"],
                "corrupt": corrupt}

    def _metadata(self, cls: type[Adapter]) -> RestResponse:
        for path in self.files:
            for record in read_capture(path):
                if isinstance(record, RestResponse) and self._is_metadata(record, cls):
                    return record
        raise NotFound(f"{cls.name} market metadata (GET {cls.markets_path}) in",
                       ", ".join(map(os.fspath, self.files)))

    def _is_metadata(self, record: RestResponse, cls: type[Adapter] | None = None) -> bool:
        return urlparse(record.url).path.endswith((cls or type(self.adapter)).markets_path)

