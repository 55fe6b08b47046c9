"""The virtual exchange on every recorded stream: the books and trades come from the captures through
the real adapters (Replay), the engines are attached as the service attaches them, and random orders
are checked against what the book showed and the trades that printed."""

import random
import unittest
from decimal import Decimal as D
from pathlib import Path

from exchange_wrapper.core.matching import MatchingEngine, taken_side
from exchange_wrapper.core.orders import Liquidity, Order, OrderType, Side, TimeInForce
from exchange_wrapper.replay.capture import WsReceived
from exchange_wrapper.replay.source import Replay

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
STREAMS = {
    "coinbase": ["COINBASE.0", "COINBASE.ws.28.0"],
    "binance": ["BINANCE.0", "BINANCE.http.0.0", "BINANCE.ws.1.0"],
    "bitfinex": ["BITFINEX.0", "BITFINEX.ws.11.0"],
    "poloniex": ["POLONIEX.0", "POLONIEX.ws.1.0"],
    "kraken": ["KRAKEN.0", "KRAKEN.ws.0.0"],  # synthetic, to Kraken's documented formats
}


class StreamSession:
    """One capture replayed with engines on every book once it is live, and random orders."""

    def __init__(self, exchange, rng, test):
        self.replay = Replay(exchange, [CAPTURES / name for name in STREAMS[exchange]])
        self.hub, self.rng, self.test = self.replay.hub, rng, test
        self.engines = {}
        self.events = []
        self.orders = {}
        self.trades = {}
        self.numbers = iter(range(1, 10**6))

    def run(self):
        for record in self.replay.records():
            at = record.ts
            self.replay.step(record, at)
            if isinstance(record, WsReceived):
                self.remember_trades()
            for pair, keeper in self.hub.exchange(self.replay.exchange).keepers.items():
                if keeper.book.live and pair not in self.engines and keeper.book.bids.best and keeper.book.asks.best:
                    engine = MatchingEngine(self.hub.exchange(self.replay.exchange).markets[pair], keeper.book)
                    self.hub.attach_engine(
                        self.replay.exchange, pair, engine, lambda exchange, pair, events: self.events.extend(events)
                    )
                    self.engines[pair] = engine
            if self.engines and self.rng.random() < 0.2:
                self.place(at)
        return self

    def remember_trades(self):
        for recent in self.hub.exchange(self.replay.exchange).trades.values():
            for trade in recent:
                self.trades[trade.trade_id] = trade

    def place(self, at):
        pair, engine = self.rng.choice(sorted(self.engines.items(), key=lambda item: str(item[0])))
        if not engine.book.live:
            return
        market = engine.market
        side = self.rng.choice([Side.BUY, Side.SELL])
        ladder = engine.book.ladder(taken_side(side))
        if ladder.best is None:
            return
        shown = [(price, engine.visible_size(ladder.side, price)) for price, _ in ladder.top(30)]
        shown = [(p, s) for p, s in shown if s > 0]
        if not shown:
            return
        depth = self.rng.randint(1, min(4, len(shown)))
        size = sum(s for _, s in shown[:depth])
        size = (
            max(market.size_step, size - size % market.size_step)
            if self.rng.random() < 0.5
            else market.size_step * self.rng.randint(1, 50)
        )
        number = next(self.numbers)
        kind = self.rng.choice([OrderType.MARKET, OrderType.LIMIT])
        tick = market.tick_size or shown[0][0].scaleb(-4)
        price = None
        if kind is OrderType.LIMIT:
            away = tick * self.rng.randint(-3, 3)
            price = shown[0][0] + (away if side is Side.BUY else -away)
        order = Order(
            id=f"v{number}",
            client_order_id=f"c{number}",
            wallet_set_id=1,
            exchange=market.exchange,
            pair=str(pair),
            side=side,
            type=kind,
            size=size,
            price=price,
            time_in_force=self.rng.choice([TimeInForce.GTC, TimeInForce.IOC]),
        )
        self.orders[order.id] = order
        events = engine.submit(order, at)
        self.events.extend(events)
        self.check_taker(order, events, shown)

    def check_taker(self, order, events, shown):
        """Taker fills took the shown levels best first, never more than each showed."""
        taker = [
            e.fill
            for e in events
            if e.fill is not None
            and e.order_id == order.id
            and e.fill.liquidity is Liquidity.TAKER
            and e.fill.cause.get("type") == "book_level"
        ]
        left = dict(shown)
        for fill in taker:
            self.test.assertIn(fill.price, left, (order, fill))
            self.test.assertLessEqual(fill.size, left[fill.price])
            left[fill.price] -= fill.size
            if order.price is not None:
                beyond = fill.price > order.price if order.side is Side.BUY else fill.price < order.price
                self.test.assertFalse(beyond, (order, fill))
            for price, _ in shown:
                if price == fill.price:
                    break
                self.test.assertEqual(left[price], 0, "a better level was left untaken")

    def check_makers(self):
        """A resting order filled only from a trade at or through its price, or a book that crossed it."""
        makers = 0
        for event in self.events:
            fill = event.fill
            if fill is None or fill.liquidity is not Liquidity.MAKER:
                continue
            order = self.orders[event.order_id]
            self.test.assertEqual(fill.price, order.price)
            cause = fill.cause
            if cause["type"] == "public_trade":
                trade = self.trades[cause["trade_id"]]
                self.test.assertNotEqual(trade.taker_side, order.side)
                reached = trade.price <= order.price if order.side is Side.BUY else trade.price >= order.price
                self.test.assertTrue(reached, (order, trade))
                makers += 1
            elif cause["type"] == "book_cross":
                crossed = (
                    D(cause["price"]) <= order.price if order.side is Side.BUY else D(cause["price"]) >= order.price
                )
                self.test.assertTrue(crossed, (order, cause))
                makers += 1
        for order in self.orders.values():
            self.test.assertLessEqual(order.filled_size, order.size)
        return makers


class RecordedStreamsTest(unittest.TestCase):
    def test_every_capture(self):
        for exchange in STREAMS:
            with self.subTest(exchange=exchange):
                session = StreamSession(exchange, random.Random(exchange), self).run()
                self.assertTrue(session.orders, "orders were placed")
                takers = sum(1 for e in session.events if e.fill is not None and e.fill.liquidity is Liquidity.TAKER)
                self.assertGreater(takers, 0)
                self.assertGreater(session.check_makers(), 0, "resting orders were reached")
                self.assertEqual(self.stale_books(session), [])

    @staticmethod
    def stale_books(session):
        return [
            str(p)
            for p, k in session.hub.exchange(session.replay.exchange).keepers.items()
            if k.book.updated_at is not None and not k.book.live
        ]


if __name__ == "__main__":
    unittest.main()
