import unittest
from decimal import Decimal

from exchange_wrapper.core.book import BookSide, BookState
from exchange_wrapper.core.errors import ExchangeUnavailable, UnknownExchange, UnknownPair
from exchange_wrapper.core.marketdata import (
    BookDelta,
    BookSnapshot,
    FeedError,
    FeedStatus,
    Problem,
    Resync,
    Ticker,
    Trade,
)
from exchange_wrapper.core.markets import Market
from exchange_wrapper.core.matching import LatencyModel, MatchingEngine
from exchange_wrapper.core.orders import Order, OrderStatus, OrderType, Side
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.marketdata.hub import COUNTERS, MarketDataHub

D = Decimal
BTC, ETH = Pair("BTC", "USD"), Pair("ETH", "USD")
SNAPSHOT = BookSnapshot(BTC, [(D("100.00"), D("1")), (D("99.50"), D("2"))], [(D("100.50"), D("1.5"))])


class HubTest(unittest.TestCase):
    def setUp(self):
        self.published = []
        self.hub = MarketDataHub()
        self.hub.add_book("coinbase", BTC)
        self.hub.add_book("coinbase", ETH)
        self.hub.set_connection("coinbase", FeedStatus.READY, "streaming")

    def test_events_reach_books_trades_and_tickers_and_are_counted(self):
        trade = Trade(BTC, "7", D("100.50"), D("0.1"), Side.BUY, 5.0)
        ticker = Ticker(BTC, D("100.00"), D("100.50"), 5.0)
        self.assertEqual(self.hub.handle("coinbase", [SNAPSHOT], 1.0), ())
        self.assertEqual(self.hub.handle("coinbase", [BookDelta(BTC, [(BookSide.BID, D("100.25"), D("3"))])], 2.0), ())
        self.assertEqual(self.hub.handle("coinbase", [trade, ticker], 3.0), ())
        self.assertEqual(self.hub.handle("coinbase", [], 4.0), ())  # a heartbeat
        self.assertEqual(self.hub.book("coinbase", BTC).bids.best, (D("100.25"), D("3")))
        data = self.hub.exchange("coinbase")
        self.assertEqual((list(data.trades[BTC]), data.tickers[BTC]), ([trade], ticker))
        counters = self.hub.counters("coinbase")
        self.assertEqual(set(counters), set(COUNTERS) | {"checksums_verified", "checksums_failed"})
        self.assertEqual((counters["messages"], counters["trades"], counters["tickers"]), (4, 1, 1))

    def test_trade_subscribers_get_every_trade_until_they_unsubscribe(self):
        trades = [
            Trade(BTC, "7", D("100.50"), D("0.1"), Side.BUY, 5.0),
            Trade(ETH, "8", D("3"), D("2"), Side.SELL, 5.5),
        ]
        seen, also = [], []
        unsubscribe = self.hub.on_trade(lambda *args: seen.append(args))
        self.hub.on_trade(lambda *args: also.append(args))
        self.hub.handle("coinbase", [SNAPSHOT, trades[0]], 6.0)
        self.hub.handle("coinbase", [trades[1]], 7.0)
        self.assertEqual([("coinbase", trades[0], 6.0), ("coinbase", trades[1], 7.0)], seen)
        unsubscribe()
        self.hub.handle("coinbase", trades, 8.0)
        self.assertEqual(2, len(seen))
        self.assertEqual(4, len(also))

    def test_a_book_gone_stale_is_returned_once_for_resync_counted_and_logged(self):
        self.hub.handle("coinbase", [SNAPSHOT], 1.0)
        crossing = BookDelta(BTC, [(BookSide.BID, D("101"), D("1"))])
        with self.assertLogs("exchange_wrapper.marketdata.hub", "WARNING") as logs:
            resyncs = self.hub.handle("coinbase", [crossing], 2.0)
            self.assertEqual(self.hub.handle("coinbase", [crossing], 3.0), ())
        self.assertEqual(resyncs, [Resync(BTC, Problem.CROSSED, "best bid 101 >= best ask 100.50")])
        self.assertEqual(
            logs.output,
            [
                "WARNING:exchange_wrapper.marketdata.hub:coinbase BTC_USD book stale, "
                "resyncing: crossed_book: best bid 101 >= best ask 100.50"
            ],
        )
        self.assertEqual(self.hub.counters("coinbase")["crossed_book"], 1)
        self.assertEqual(
            self.hub.status("coinbase", 0.0),
            (FeedStatus.DEGRADED, "BTC_USD stale (crossed_book: best bid 101 >= best ask 100.50); ETH_USD resyncing"),
        )
        self.hub.resyncing("coinbase", [BTC])
        self.assertEqual(self.hub.counters("coinbase")["resyncs"], 1)
        self.assertIs(self.hub.book("coinbase", BTC).state, BookState.RESYNCING)

    def test_a_connection_wide_resync_and_a_lost_connection_fail_every_book(self):
        self.hub.handle("coinbase", [SNAPSHOT, BookSnapshot(ETH, [(D("10"), D("1"))], [(D("11"), D("1"))])], 1.0)
        self.assertEqual(self.hub.status("coinbase", 0.0), (FeedStatus.READY, "streaming"))
        resyncs = self.hub.handle("coinbase", [Resync(None, Problem.SEQUENCE_GAP, "message 5 after 3")], 2.0)
        self.assertEqual(
            [(r.pair, r.problem) for r in resyncs], [(BTC, Problem.SEQUENCE_GAP), (ETH, Problem.SEQUENCE_GAP)]
        )
        self.assertEqual(self.hub.fail_all("coinbase", Problem.DISCONNECTED, "closed"), [])  # already stale
        self.assertEqual(self.hub.counters("coinbase")["sequence_gap"], 2)

    def test_status_shows_a_rest_pause_and_the_connection_state(self):
        self.hub.handle("coinbase", [SNAPSHOT, BookSnapshot(ETH, [(D("10"), D("1"))], [(D("11"), D("1"))])], 1.0)
        self.hub.rest_paused("coinbase", 130.0)
        self.hub.rest_paused("coinbase", 120.0)  # a shorter pause changes nothing
        self.assertEqual(
            self.hub.status("coinbase", 100.0), (FeedStatus.DEGRADED, "REST calls paused for 30.0 s (HTTP 429)")
        )
        self.assertEqual(self.hub.status("coinbase", 130.0), (FeedStatus.READY, "streaming"))
        self.hub.set_connection("coinbase", FeedStatus.DOWN, "cannot connect: OSError: refused")
        self.assertEqual(self.hub.status("coinbase", 130.0), (FeedStatus.DOWN, "cannot connect: OSError: refused"))

    def test_a_status_names_a_few_books_not_live_and_counts_the_others(self):
        pairs = [Pair(base, "USD") for base in ("ADA", "BCH", "DOT", "LTC", "SOL", "XLM")]
        for pair in pairs:
            self.hub.add_book("coinbase", pair)
        self.hub.handle("coinbase", [SNAPSHOT], 1.0)
        status, reason = self.hub.status("coinbase", 0.0)
        self.assertEqual(
            (status, reason),
            (
                FeedStatus.DEGRADED,
                "ETH_USD resyncing; ADA_USD resyncing; BCH_USD "
                "resyncing; DOT_USD resyncing; LTC_USD resyncing; "
                "2 more books not live",
            ),
        )

    def test_a_finished_feed_says_so_and_its_frozen_books_are_not_live_nothing_counted(self):
        self.hub.handle("coinbase", [SNAPSHOT, BookSnapshot(ETH, [(D("10"), D("1"))], [(D("11"), D("1"))])], 1.0)
        before = self.hub.counters("coinbase")
        with self.assertLogs("exchange_wrapper.marketdata.hub", "INFO") as logs:
            self.hub.finish("coinbase", "the replay of COINBASE.ws.28.0 has ended")
        self.assertEqual(
            self.hub.status("coinbase", 2.0), (FeedStatus.FINISHED, "the replay of COINBASE.ws.28.0 has ended")
        )
        self.assertEqual(
            logs.output,
            [
                "INFO:exchange_wrapper.marketdata.hub:coinbase market data finished: "
                "the replay of COINBASE.ws.28.0 has ended"
            ],
        )
        for pair in (BTC, ETH):
            book = self.hub.book("coinbase", pair)
            self.assertEqual((book.live, book.stale_reason), (False, "the replay of COINBASE.ws.28.0 has ended"))
        self.assertEqual(self.hub.book("coinbase", BTC).bids.best, (D("100.00"), D("1")))  # the last state kept
        self.assertEqual(self.hub.counters("coinbase"), before)

    def test_an_order_arriving_after_the_feed_finished_is_not_filled_on_the_frozen_book(self):
        market = Market("coinbase", BTC, "BTC-USD", D("0.01"), D("0.0001"), D("0.0001"))
        engine = MatchingEngine(market, self.hub.book("coinbase", BTC), latency=LatencyModel("fixed", order=0.5))
        self.hub.attach_engine("coinbase", BTC, engine, self.publish)
        self.hub.handle("coinbase", [SNAPSHOT], 1.0)
        order = Order(
            id="o1",
            client_order_id="c1",
            wallet_set_id=1,
            exchange="coinbase",
            pair="BTC_USD",
            side=Side.BUY,
            type=OrderType.MARKET,
            size=D("0.5"),
        )
        engine.submit(order, 1.0)  # on its way: it reaches the book half a second later
        self.hub.finish("coinbase", "the replay of COINBASE.ws.28.0 has ended")
        [event] = engine.advance(2.0)
        self.assertEqual(
            (event.status, event.reason, order.filled_size),
            (OrderStatus.REJECTED, "book BTC_USD on coinbase is stale", 0),
        )

    def test_exchange_errors_are_counted_and_logged(self):
        with self.assertLogs("exchange_wrapper.marketdata.hub", "WARNING") as logs:
            self.hub.handle("coinbase", [FeedError("Failed to subscribe: FOO-BAR is not a valid product")], 1.0)
        self.assertEqual(self.hub.counters("coinbase")["exchange_error"], 1)
        self.assertIn("FOO-BAR is not a valid product", logs.output[0])

    def publish(self, exchange, pair, events):
        self.published.append((exchange, pair, events))

    def test_engine_events_go_to_the_callback(self):
        market = Market("coinbase", BTC, "BTC-USD", D("0.01"), D("0.0001"), D("0.0001"))
        engine = MatchingEngine(market, self.hub.book("coinbase", BTC))
        self.hub.attach_engine("coinbase", BTC, engine, self.publish)
        self.hub.handle("coinbase", [SNAPSHOT], 1.0)
        order = Order(
            id="o1",
            client_order_id="c1",
            wallet_set_id=1,
            exchange="coinbase",
            pair="BTC_USD",
            side=Side.SELL,
            type=OrderType.LIMIT,
            size=D("0.5"),
            price=D("100.25"),
        )
        engine.submit(order, 1.5)
        self.hub.handle("coinbase", [Trade(BTC, "9", D("100.30"), D("1"), Side.BUY, 2.0)], 2.0)
        [(exchange, pair, events)] = self.published
        self.assertEqual((exchange, pair), ("coinbase", BTC))
        self.assertEqual(
            [(e.order_id, e.status, e.fill.price) for e in events], [("o1", OrderStatus.FILLED, D("100.25"))]
        )

    def test_no_pair_is_unknown_until_the_markets_are_loaded(self):
        self.hub.set_connection("coinbase", FeedStatus.DOWN, "markets not loaded: HTTP 503 from /products")
        for ask in (
            lambda: self.hub.market("coinbase", BTC),
            lambda: self.hub.market("coinbase", Pair("SOL", "USD")),
            lambda: self.hub.markets("coinbase"),
            lambda: self.hub.currencies("coinbase"),
        ):
            with self.assertRaises(ExchangeUnavailable) as caught:
                ask()
            self.assertEqual(
                caught.exception.reason,
                "its markets are not loaded yet (down: markets not loaded: HTTP 503 from /products)",
            )
        with self.assertRaises(ExchangeUnavailable) as caught:
            self.hub.market("kraken", BTC)
        self.assertEqual(caught.exception.reason, "its markets are not loaded yet (not started)")
        self.assertEqual((self.hub.markets_loaded("coinbase"), self.hub.markets_loaded("kraken")), (False, False))

        market = Market("coinbase", BTC, "BTC-USD", D("0.01"), D("0.0001"), D("0.0001"))
        self.hub.add_markets("coinbase", [market])
        self.assertTrue(self.hub.markets_loaded("coinbase"))
        self.assertEqual(
            (self.hub.market("coinbase", BTC), dict(self.hub.markets("coinbase"))), (market, {BTC: market})
        )
        self.assertEqual(self.hub.currencies("coinbase"), {"BTC", "USD"})
        with self.assertRaises(UnknownPair):
            self.hub.market("coinbase", Pair("SOL", "USD"))
        self.assertEqual([self.hub.follows("coinbase", pair) for pair in (BTC, Pair("SOL", "USD"))], [True, False])
        self.assertFalse(self.hub.follows("kraken", BTC))

    def test_unknown_names_are_refused(self):
        with self.assertRaises(UnknownExchange):
            self.hub.counters("kraken")
        with self.assertRaises(UnknownPair):
            self.hub.book("coinbase", Pair("SOL", "USD"))


if __name__ == "__main__":
    unittest.main()
