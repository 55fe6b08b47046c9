"""Recorded traffic played through the same adapter parser and hub as live data.

:class:`Replay` reads capture files (see :mod:`.capture`), takes the market metadata from the
recorded REST response of the adapter's ``markets_path``, follows the books the recording holds
snapshots of (a book without one could never go live), and feeds the other records in time order:
each websocket message through the adapter's parser into the hub, each other REST response (Binance
depth snapshots) through ``parse_rest``. A new recorded connection gets a new parser, and its books
wait for new snapshots, as live. Where the exchange truncates books to the subscribed depth
(Kraken), each book is kept to the depth the recording's subscription acknowledgement granted.
:meth:`Replay.run` goes as fast as it can with the recorded times;
:class:`~.playback.Playback` plays replays for a service (pace, window, loop, recorded clock).
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from ..core.errors import NotFound, XWrapError
from ..core.marketdata import BookSnapshot, MarketEvent, Problem
from ..core.money import format_decimal
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from ..exchanges.base import Adapter, Parser, adapter_class
from ..marketdata.hub import MarketDataHub
from .capture import CaptureRecord, RestResponse, WsOpened, WsReceived, read_capture

Record = RestResponse | WsOpened | WsReceived
PARSE_ERRORS = (XWrapError, ValueError, KeyError, TypeError, IndexError)


class Replay:
    """One exchange's capture ``files`` fed into ``hub`` (a new one by default), following the
    books of ``pairs``: by default those the recording holds a snapshot of, or every market of the
    metadata when the files hold no book at all (metadata only: the caller feeds the events).

    Raises :class:`NotFound` if no file holds the exchange's market metadata response.
    """

    def __init__(
        self,
        exchange: str,
        files: Sequence[str | os.PathLike[str]],
        hub: MarketDataHub | None = None,
        pairs: Iterable[Pair] | None = None,
    ):
        self.files = list(files)
        self.hub = hub or MarketDataHub()
        cls = adapter_class(exchange)
        self._markets_path = cls.markets_path
        markets = cls.parse_markets(self._metadata(cls).body)
        table = SymbolTable(exchange, markets)
        if pairs is None:
            pairs = self._recorded_books(cls(table, ())) or [market.pair for market in markets]
        self.adapter: Adapter = cls(table, pairs)
        self.market_count = len(markets)
        self.hub.add_markets(exchange, markets)
        self.adapter.add_books(self.hub, self.adapter.pairs)
        self.parser = self.adapter.parser()
        self.parsers: dict[str, Parser] = {}  # by connection URL, where the market is the connection's (Luno)
        self.seconds = 0.0
        self._truncated = cls.book_depth is not None  # the depth granted is read off the acknowledgements
        self._counted_before: dict[str, int] = {}  # the counters when the window of :meth:`run` opened

    @property
    def exchange(self) -> str:
        return self.adapter.name

    def records(self) -> Iterator[Record]:
        """Every record but the metadata, in time order across the files (each message named by its
        connection's URL where the adapter's markets are per connection: Luno)."""
        return self._records(self.adapter.market_per_connection)

    def _records(self, named: bool) -> Iterator[Record]:
        read = _with_urls if named else read_capture
        streams = [
            (r for r in read(path) if isinstance(r, (RestResponse, WsOpened, WsReceived))) for path in self.files
        ]
        for record in heapq.merge(*streams, key=lambda r: r.ts):
            if not (isinstance(record, RestResponse) and self._is_metadata(record)):
                yield record

    def span(self) -> tuple[float, float]:
        """The recorded times of the first and the last record (metadata aside); raises
        :class:`NotFound` if the files hold nothing else."""
        first = last = None
        for record in self.records():
            if first is None:
                first = record.ts
            last = record.ts
        if first is None or last is None:
            raise NotFound(
                "recorded traffic besides the market metadata in", ", ".join(os.fspath(path) for path in self.files)
            )
        return first, last

    def restart(self, url: str | None = None) -> None:
        """Start over from the beginning of the recording: as a new connection (to ``url``), a new
        parser, and every book waits for the snapshot the recording holds next (not counted as a resync)."""
        if self.adapter.market_per_connection:  # that connection's market starts over from its own state
            if url is not None:
                self.parsers[url] = self.adapter.connection_parser(url)
            return
        self.parser = self.adapter.parser() if url is None else self.adapter.connection_parser(url)
        self.hub.resyncing(self.adapter.name, self.adapter.pairs, counted=False)

    def step(self, record: Record, at: float) -> None:
        """Feed one record, stamping its events ``at``."""
        hub, name = self.hub, self.adapter.name
        if isinstance(record, WsReceived):
            if not record.message:
                return
            if self._truncated:
                self._keep_granted_depth(record.message)
        if isinstance(record, WsOpened):  # a new connection: a new parser, and the books start over from its snapshots
            self.restart(record.url)
            return
        try:
            events = _events(self.adapter, _parser_of(record, self.parser, self.parsers), record, at)
        except PARSE_ERRORS as error:
            hub.fail_all(name, Problem.MALFORMED, f"{type(error).__name__}: {error}")
            return
        resyncs = hub.handle(name, events, at)
        if resyncs:  # what the recording holds later (a new snapshot) is all a replay can resync from
            hub.resyncing(name, [r.pair for r in resyncs if r.pair is not None])

    def run(self, start: float | None = None, end: float | None = None) -> dict[str, Any]:
        """Feed every record up to ``end`` (all by default) as fast as possible, with its recorded
        time; return :meth:`report`, whose counters count the records from ``start`` on (those
        before it still build the books)."""
        started = time.perf_counter()
        step, counting = self.step, start is None
        for record in self.records():
            if end is not None and record.ts > end:
                break
            if start is not None and not counting and record.ts >= start:
                self._counted_before, counting = self.hub.counters(self.exchange), True
            step(record, record.ts)
        self.seconds = time.perf_counter() - started
        return self.report()

    def report(self) -> dict[str, Any]:
        """What the replay did, as ``xwrap replay`` prints it: every book that received data
        (unified pair names, amounts as strings), the counters, and the books that ended corrupt
        (not live: stale, or still waiting for a snapshot after a problem)."""
        counts = self.hub.counters(self.exchange)
        counts = {name: count - self._counted_before.get(name, 0) for name, count in counts.items()}
        books, corrupt = {}, []
        for pair, keeper in sorted(self.hub.exchange(self.exchange).keepers.items()):
            book = keeper.book
            if book.updated_at is None:
                continue
            bid, ask = book.bids.best, book.asks.best
            books[str(pair)] = {
                "bid": format_decimal(bid[0]) if bid else None,
                "ask": format_decimal(ask[0]) if ask else None,
                "bid_levels": len(book.bids),
                "ask_levels": len(book.asks),
                "state": book.state.value,
            }
            if not book.live:
                corrupt.append(str(pair))
        return {
            "exchange": self.exchange,
            "messages": counts["messages"],
            "books": books,
            "checksums": {"verified": counts["checksums_verified"], "failed": counts["checksums_failed"]},
            "sequence_gaps": counts[Problem.SEQUENCE_GAP.value],
            "resyncs": counts["resyncs"],
            "trades": counts["trades"],
            "seconds": round(self.seconds, 3),
            "crossed_books": counts[Problem.CROSSED.value],
            "tickers": counts["tickers"],
            "corrupt": corrupt,
        }

    def _keep_granted_depth(self, message: str) -> None:
        """Keep each book a subscription acknowledgement names to the depth it granted (the
        exchange sends no removal for levels pushed out of it, so the book must cut them)."""
        keepers = self.hub.exchange(self.adapter.name).keepers
        for pair, depth in self.adapter.granted_depths(message).items():
            keeper = keepers.get(pair)
            if keeper is not None:
                keeper.depth = depth

    def _metadata(self, cls: type[Adapter]) -> RestResponse:
        for path in self.files:
            for record in read_capture(path):
                if isinstance(record, RestResponse) and self._is_metadata(record):
                    return record
        raise NotFound(
            f"{cls.name} market metadata (GET {cls.markets_path}) in", ", ".join(os.fspath(path) for path in self.files)
        )

    def _recorded_books(self, adapter: Adapter) -> list[Pair]:
        """The pairs whose book the recording holds a snapshot of, in the order they come."""
        parser = adapter.parser()
        parsers: dict[str, Parser] = {}  # by connection URL, where the market is the connection's
        found: dict[Pair, None] = {}  # a set that keeps the order
        for record in self._records(adapter.market_per_connection):
            if isinstance(record, WsOpened):
                parser = parsers[record.url] = adapter.connection_parser(record.url)
                continue
            try:
                events = _events(adapter, _parser_of(record, parser, parsers), record, record.ts)
            except PARSE_ERRORS:  # the replay itself will say so
                continue
            found.update((event.pair, None) for event in events if type(event) is BookSnapshot)
        return list(found)

    def _is_metadata(self, record: RestResponse) -> bool:
        """The response of ``markets_path``, its query too where it has one (OKX's ``?instType=SPOT``)."""
        url = urlparse(record.url)
        path, _, query = self._markets_path.partition("?")
        return url.path.endswith(path) and (not query or url.query == query)


def _events(adapter: Adapter, parser: Any, record: RestResponse | WsReceived, at: float) -> list[MarketEvent]:
    """The events of one recorded message (a websocket message through ``parser``, a REST response
    through the adapter); raises one of :data:`PARSE_ERRORS` for a malformed one."""
    if isinstance(record, RestResponse):
        return adapter.parse_rest(record.url, record.body)
    return parser.parse(record.message, at)


def _parser_of(record: RestResponse | WsReceived, parser: Parser, parsers: dict[str, Parser]) -> Parser:
    """The parser of ``record``'s connection where parsers are kept by URL, else ``parser``."""
    return parsers.get(record.url, parser) if isinstance(record, WsReceived) and record.url else parser


def _with_urls(path: str | os.PathLike[str]) -> Iterator[CaptureRecord]:
    """The records of the capture file at ``path``, each received message named by the URL of the
    connection it came on (a file holds one connection at a time)."""
    url = ""
    for record in read_capture(path):
        if isinstance(record, WsOpened):
            url = record.url
        elif isinstance(record, WsReceived):
            record = WsReceived(record.ts, record.message, url)
        yield record
