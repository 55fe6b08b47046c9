"""What every exchange's end-to-end feed test needs: the feed started as ``xwrap serve`` starts it,
against the loopback simulator, and its books compared with the capture read independently.

A test module subclasses :class:`FeedCase` with its exchange, the pairs to follow, its simulator
protocol, the books the capture ends with (rebuilt by the test itself) and how its keys name a
book; :func:`gone_while_away` finds the levels only a resync can have removed.
"""

from __future__ import annotations

import asyncio
import unittest
from collections.abc import Callable, Sequence
from typing import Any
from unittest import mock

from exchange_wrapper.config import ExchangeSettings, ExchangesSettings, Settings
from exchange_wrapper.connectors.feed import start_feeds
from exchange_wrapper.core.book import BookState, OrderBook
from exchange_wrapper.core.marketdata import Problem
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges import EXCHANGE_NAMES
from exchange_wrapper.exchanges.base import Adapter
from exchange_wrapper.marketdata.hub import MarketDataHub
from tests.simulator.server import ExchangeSimulator, Protocol

HUB_LOG = "exchange_wrapper.marketdata.hub"

Levels = tuple[dict, dict]
"""(bids, asks) as {Decimal price: Decimal size}."""


class FeedCase(unittest.IsolatedAsyncioTestCase):
    exchange: str
    pairs: dict[Any, Pair]  # the capture's key of a book (its symbol) -> the pair followed
    final: dict[Any, Levels]  # the books the capture ends with, rebuilt by the test
    silence = 2.0  # the feed's silence timeout in these tests

    def make_protocol(self) -> Protocol:
        raise NotImplementedError

    async def asyncSetUp(self) -> None:
        asyncio.get_running_loop().set_debug(False)  # unittest turns it on; it slows the stream tenfold
        self.protocol = self.make_protocol()
        self.sim = await ExchangeSimulator(self.protocol).__aenter__()
        self.hub = MarketDataHub()
        followed = ExchangeSettings(
            pairs=[str(pair) for pair in self.pairs.values()], rest_url=self.sim.http_url, ws_url=self.sim.ws_url
        )
        self.settings = Settings(
            exchanges=ExchangesSettings(
                **{
                    name: followed if name == self.exchange else ExchangeSettings(enabled=False)
                    for name in EXCHANGE_NAMES
                }
            )
        )
        self.feeds = self.start()

    def start(self) -> dict[str, Any]:
        """Start the feeds (as ``xwrap serve`` does, with quick retries); returns them by exchange."""
        return start_feeds(self.settings, self.hub, backoff=Backoff(0.01, 0.05), silence_timeout=self.silence)

    async def asyncTearDown(self) -> None:
        for feed in self.feeds.values():
            await feed.stop()
        await self.sim.__aexit__(None, None, None)

    async def until(self, condition: Callable[[], bool], timeout: float = 8.0) -> None:
        async def wait() -> None:
            while not condition():
                await asyncio.sleep(0.05)

        await asyncio.wait_for(wait(), timeout)

    def book(self, key: Any) -> OrderBook:
        return self.hub.book(self.exchange, self.pairs[key])

    def counters(self) -> dict[str, int]:
        return self.hub.counters(self.exchange)

    async def finished_and_live(self) -> None:
        """Wait until the recording has been streamed and the feed has read it all (its books are
        then the final ones; if they never get there, the assertion that follows shows how not)."""
        try:
            await self.until(
                lambda: (
                    self.sim.finished.is_set()
                    and self.counters()["messages"] >= self.sim.sent
                    and all(self.book(key).live and levels(self.book(key)) == self.final[key] for key in self.pairs)
                )
            )
        except TimeoutError:
            pass

    def assertBooksAre(self, expected: dict[Any, Levels]) -> None:
        for key in self.pairs:
            with self.subTest(book=key):
                book = self.book(key)
                self.assertIs(book.state, BookState.LIVE)
                self.assertEqual(levels(book), expected[key])


class AppPingFeedCase(FeedCase):
    """An exchange whose keep-alive is its application's ping (OKX, Bybit, VALR): pinged every 0.1 s
    here, silent after 0.5 s."""

    adapter_class: type[Adapter]
    silence = 0.5

    async def asyncSetUp(self) -> None:
        pings = mock.patch.object(self.adapter_class, "app_ping_interval", 0.1)
        pings.start()
        self.addCleanup(pings.stop)
        await super().asyncSetUp()

    def requests(self) -> list[Any]:
        """What the feed sent, pings left out."""
        return [message for message in self.sim.received if message != self.adapter_class.app_ping]


class SilenceCase:
    """Mixed into an :class:`AppPingFeedCase`: a server that stops sending and answering pings is
    found silent, every book stale at once and logged once; the feed reconnects and the books end as
    the capture's."""

    async def test_a_server_that_stops_sending_and_answering_is_silent(self: Any) -> None:
        self.protocol.answer_pings = False
        self.sim.silence_after(500, skip=100)
        with self.assertLogs(HUB_LOG, level="WARNING") as logs:
            await self.until(lambda: self.counters()[Problem.SILENT.value] > 0, timeout=3)
            self.protocol.answer_pings = True  # the exchange is back
            await self.finished_and_live()
        self.assertBooksAre(self.final)
        self.assertEqual(self.counters()[Problem.SILENT.value], len(self.pairs))
        name = self.exchange
        self.assertEqual(
            sorted(logs.output),
            sorted(
                [
                    f"WARNING:{HUB_LOG}:{name} {pair} book stale, resyncing: silent_feed: no message in 0.5 s"
                    for pair in self.pairs.values()
                ]
                + [f"WARNING:{HUB_LOG}:{name} market data down: silent feed: no message in 0.5 s"]
            ),
        )
        self.assertEqual((self.sim.connections, self.counters()["reconnects"]), (2, 1))


def levels(book: OrderBook) -> Levels:
    return dict(book.bids), dict(book.asks)


def gone_while_away(
    books_after: Callable[[Sequence], dict[Any, Levels]],
    touched: Callable[[Sequence], dict[Any, set]],
    recording: Sequence,
    dropped: int,
    skip: int,
) -> dict[Any, set]:
    """Book key -> the prices it held when the stream dropped (after ``dropped`` messages of
    ``recording``) that were removed while the client was away (the next ``skip`` messages) and
    not touched since: only a new snapshot can have taken them out of the client's book.
    ``books_after(messages)`` rebuilds the books, ``touched(messages)`` gives the prices they change."""
    at_drop, at_resync = books_after(recording[:dropped]), books_after(recording[: dropped + skip])
    later = touched(recording[dropped + skip :])
    return {
        key: {
            price
            for side in (0, 1)
            for price in at_drop[key][side]
            if price not in at_resync[key][side] and price not in later.get(key, ())
        }
        for key in at_drop
    }
