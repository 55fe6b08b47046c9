"""The virtual exchange against real Coinbase books and trades (tests/captures/COINBASE.ws.28.0)."""

import itertools
import json
import random
import unittest
from decimal import Decimal as D
from pathlib import Path

from exchange_wrapper.core.book import BookSide, OrderBook
from exchange_wrapper.core.errors import InvalidParameter, OrderNotFound
from exchange_wrapper.core.markets import Market
from exchange_wrapper.core.matching import LatencyModel, MatchingEngine, fee_for
from exchange_wrapper.core.money import format_decimal
from exchange_wrapper.core.orders import Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.pairs import Pair

CAPTURE = Path(__file__).resolve().parent.parent / "captures" / "COINBASE.ws.28.0"
SIDES = {"buy": BookSide.BID, "sell": BookSide.ASK}


def coinbase_messages():
    """product -> [(time, message)] in the order received."""
    out = {}
    with open(CAPTURE) as handle:
        for line in handle:
            if not line.strip() or line.startswith(("wss://", "configuration:")):
                continue
            stamp, _, text = line.partition(": ")
            message = json.loads(text)
            if "product_id" in message:
                out.setdefault(message["product_id"], []).append((float(stamp), message))
    return out


MESSAGES = coinbase_messages()
SKL_USD = Market(
    "coinbase",
    Pair("SKL", "USD"),
    "SKL-USD",
    tick_size=D("0.0001"),
    size_step=D("0.1"),
    min_size=D("1"),
    maker_fee=D("0.005"),
    taker_fee=D("0.005"),
)
DASH_BTC = Market(
    "coinbase",
    Pair("DASH", "BTC"),
    "DASH-BTC",
    tick_size=D("0.00000001"),
    size_step=D("0.001"),
    min_size=D("0.001"),
    maker_fee=D("0.005"),
    taker_fee=D("0.005"),
)

_ids = itertools.count(1)


def order(side, type="limit", size=None, price=None, **fields):
    number = next(_ids)
    return Order(
        id=f"o{number}",
        client_order_id=f"c{number}",
        wallet_set_id=1,
        exchange="coinbase",
        pair="SKL_USD",
        side=Side(side),
        type=OrderType(type),
        size=None if size is None else D(size),
        price=None if price is None else D(price),
        **fields,
    )


class Replay:
    """Feeds one product's recorded messages into a book through an engine, step by step."""

    def __init__(self, product, market, **engine_options):
        self.messages = list(MESSAGES[product])
        self.position = 0
        self.book = OrderBook("coinbase", str(market.pair))
        self.engine = MatchingEngine(market, self.book, **engine_options)
        self.events = []
        self.matches = []
        self.step_until(lambda message: message["type"] == "snapshot")

    def step(self):
        at, message = self.messages[self.position]
        self.position += 1
        kind = message["type"]
        if kind == "snapshot":
            bids = [(D(p), D(s)) for p, s in message["bids"]]
            asks = [(D(p), D(s)) for p, s in message["asks"]]
            self.events += self.engine.apply_snapshot(bids, asks, at)
        elif kind == "l2update":
            for side, price, size in message["changes"]:
                self.events += self.engine.apply_delta(SIDES[side], D(price), D(size), at)
        elif kind == "match":
            taker = Side.BUY if message["side"] == "sell" else Side.SELL  # "side" is the maker's
            self.matches.append(message)
            self.events += self.engine.on_trade(
                str(message["trade_id"]), D(message["price"]), D(message["size"]), taker, at
            )
        return at, message

    def step_until(self, predicate):
        while self.position < len(self.messages):
            at, message = self.step()
            if predicate(message):
                return at, message
        raise AssertionError("stream ended")

    def run(self):
        while self.position < len(self.messages):
            self.step()

    @property
    def now(self):
        return self.messages[self.position - 1][0]


def fills_of(events, order_id=None):
    return [e.fill for e in events if e.fill is not None and (order_id is None or e.order_id == order_id)]


class TakerTest(unittest.TestCase):
    def setUp(self):
        self.replay = Replay("SKL-USD", SKL_USD)
        self.engine, self.book = self.replay.engine, self.replay.book

    def test_market_buy_walks_the_real_levels(self):
        asks = self.book.asks.top(5)
        size = asks[0][1] + asks[1][1] + asks[2][1] / 2
        buy = order("buy", "market", size=str(size))
        events = self.engine.submit(buy, self.replay.now)
        fills = fills_of(events)
        self.assertEqual([(f.price, f.size) for f in fills], [asks[0], asks[1], (asks[2][0], asks[2][1] / 2)])
        self.assertEqual(buy.status, OrderStatus.FILLED)
        cost = sum(p * s for p, s in [asks[0], asks[1]]) + asks[2][0] * asks[2][1] / 2
        self.assertEqual(buy.executed_value, cost)
        self.assertEqual(buy.average_price, cost / size)
        for fill in fills:
            self.assertEqual(fill.liquidity, Liquidity.TAKER)
            self.assertEqual(fill.fee, fee_for(fill.price * fill.size, D("0.005")))
            self.assertEqual(fill.cause["type"], "book_level")
        self.assertEqual(
            fills[2].cause,
            {
                "type": "book_level",
                "price": asks[2][0],
                "size_shown": asks[2][1],
                "consumed_before": 0,
                "book_time": self.book.updated_at,  # the time of the message that left the book so
            },
        )
        self.assertEqual(
            fills[2].to_json()["cause"],
            {
                "type": "book_level",
                "price": format_decimal(asks[2][0]),
                "size_shown": format_decimal(asks[2][1]),
                "consumed_before": "0",
                "book_time": self.book.updated_at,
            },
        )

    def test_limit_ioc_stops_at_its_price_and_cancels_the_rest(self):
        asks = self.book.asks.top(3)
        total = sum(s for _, s in asks[:2])
        ioc = order("buy", size=str(total + 1000), price=str(asks[1][0]), time_in_force=TimeInForce.IOC)
        events = self.engine.submit(ioc, self.replay.now)
        self.assertEqual([(f.price, f.size) for f in fills_of(events)], asks[:2])
        self.assertEqual(ioc.status, OrderStatus.CANCELLED)
        self.assertEqual(ioc.filled_size, total)
        self.assertEqual(events[-1].reason, "immediate-or-cancel remainder cancelled")

    def test_fok_fills_whole_or_not_at_all(self):
        bids = self.book.bids.top(3)
        available = sum(s for _, s in bids)
        too_big = order("sell", size=str(available + 1), price=str(bids[2][0]), time_in_force=TimeInForce.FOK)
        events = self.engine.submit(too_big, self.replay.now)
        self.assertEqual(fills_of(events), [])
        self.assertEqual(too_big.status, OrderStatus.CANCELLED)
        exact = order("sell", size=str(available), price=str(bids[2][0]), time_in_force=TimeInForce.FOK)
        events = self.engine.submit(exact, self.replay.now)
        self.assertEqual([(f.price, f.size) for f in fills_of(events)], bids)
        self.assertEqual(exact.status, OrderStatus.FILLED)

    def test_market_buy_by_funds(self):
        best_price, best_size = self.book.best_ask()
        funds = best_price * best_size + D("10")
        buy = order("buy", "market", funds=funds)
        fills = fills_of(self.engine.submit(buy, self.replay.now))
        self.assertEqual((fills[0].price, fills[0].size), (best_price, best_size))
        second_price = self.book.asks.top(2)[1][0]
        self.assertEqual(fills[1].size, (D("10") / second_price).quantize(D("0.1"), rounding="ROUND_DOWN"))
        self.assertLessEqual(buy.executed_value, funds)

    def test_budget_caps_a_market_buy(self):
        best_price, best_size = self.book.best_ask()
        budget = best_price * best_size * (1 + D("0.005"))
        buy = order("buy", "market", size=str(best_size * 3))
        events = self.engine.submit(buy, self.replay.now, budget=budget)
        self.assertEqual([f.size for f in fills_of(events)], [best_size])
        self.assertLessEqual(buy.executed_value + buy.fees, budget)
        self.assertEqual(events[-1].reason, "market order stopped at its wallet hold")

    def test_a_changed_budget_caps_later_taker_fills(self):
        bid = self.book.best_bid()[0]
        ask, ask_size = self.book.best_ask()
        buy = order("buy", size=str(ask_size), price=str(bid))
        self.engine.submit(buy, self.replay.now, budget=ask * ask_size * 2)
        self.engine.set_budget(buy.id, ask * 10 * (1 + D("0.005")))
        events = self.engine.amend(buy.id, self.replay.now, price=ask)  # now crosses: takes up to the budget
        self.assertEqual([(f.price, f.size) for f in fills_of(events, buy.id)], [(ask, D(10))])
        with self.assertRaises(OrderNotFound):
            self.engine.set_budget("nope", D(1))

    def test_a_walk_with_no_virtual_orders_is_the_books(self):
        self.assertEqual(self.engine.walk(Side.BUY, D("5000")), self.book.asks.walk(D("5000")))

    def test_post_only_is_rejected_if_it_would_take(self):
        best_ask = self.book.best_ask()[0]
        crossing = order("buy", size="10", price=str(best_ask), post_only=True)
        events = self.engine.submit(crossing, self.replay.now)
        self.assertEqual(
            [(e.status, e.reason) for e in events], [(OrderStatus.REJECTED, "post-only order would take liquidity")]
        )
        resting = order("buy", size="10", price=str(best_ask - D("0.0001")), post_only=True)
        self.engine.submit(resting, self.replay.now)
        self.assertEqual(resting.status, OrderStatus.OPEN)

    def test_a_book_that_is_not_live_is_never_traded(self):
        self.book.mark_stale("sequence gap")
        buy = order("buy", "market", size="10")
        events = self.engine.submit(buy, self.replay.now)
        self.assertEqual(buy.status, OrderStatus.REJECTED)
        self.assertEqual(events[0].reason, "book SKL_USD on coinbase is stale")
        self.assertEqual(fills_of(events), [])


class LiquidityOnceTest(unittest.TestCase):
    def setUp(self):
        self.replay = Replay("SKL-USD", SKL_USD)
        self.engine, self.book = self.replay.engine, self.replay.book

    def test_two_virtual_orders_never_take_the_same_real_size(self):
        price, size = self.book.best_ask()
        first = order("buy", "market", size=str(size / 2))
        self.engine.submit(first, self.replay.now)
        self.assertEqual(self.engine.visible_size(BookSide.ASK, price), size / 2)
        second = order("buy", "market", size=str(size))
        fills = fills_of(self.engine.submit(second, self.replay.now))
        self.assertEqual((fills[0].price, fills[0].size), (price, size / 2))
        self.assertEqual(D(fills[0].cause["consumed_before"]), size / 2)
        self.assertNotEqual(fills[1].price, price)

    def test_consumption_is_forgotten_as_the_exchange_shows_the_size_gone(self):
        price, size = self.book.best_ask()
        self.engine.submit(order("buy", "market", size=str(size / 2)), self.replay.now)
        self.engine.apply_delta(BookSide.ASK, price, size - size / 4, self.replay.now)
        self.assertEqual(self.engine.visible_size(BookSide.ASK, price), size / 2)
        self.engine.apply_delta(BookSide.ASK, price, size, self.replay.now)  # grew: new size is new liquidity
        self.assertEqual(self.engine.visible_size(BookSide.ASK, price), size / 2 + size / 4)
        self.engine.apply_delta(BookSide.ASK, price, D(0), self.replay.now)
        self.engine.apply_delta(BookSide.ASK, price, size, self.replay.now)
        self.assertEqual(self.engine.visible_size(BookSide.ASK, price), size)

    def test_real_size_left_comes_before_a_virtual_order_at_its_price(self):
        """A market buy meets, best price first: what virtual orders left of the best ask, then a
        virtual sell resting at that price behind it, then the next real level."""
        (best, shown), (second, second_shown) = self.book.asks.top(2)
        self.engine.submit(order("buy", "market", size=str(shown - 100)), self.replay.now)
        sell = order("sell", size="50", price=str(best))
        self.engine.submit(sell, self.replay.now)
        self.assertEqual((sell.status, self.engine.queue_ahead(sell.id)), (OrderStatus.OPEN, D(100)))
        buy = order("buy", "market", size="160")
        events = self.engine.submit(buy, self.replay.now)
        fills = fills_of(events, buy.id)
        self.assertEqual(
            [(f.price, f.size, f.cause["type"]) for f in fills],
            [(best, D(100), "book_level"), (best, D(50), "virtual_order"), (second, D(10), "book_level")],
        )
        self.assertEqual(
            fills[0].cause,
            {
                "type": "book_level",
                "price": best,
                "size_shown": shown,
                "consumed_before": shown - 100,
                "book_time": self.book.updated_at,
            },
        )
        self.assertEqual(fills[1].cause, {"type": "virtual_order", "order_id": sell.id, "price": best})
        self.assertEqual(fills_of(events, sell.id)[0].liquidity, Liquidity.MAKER)
        self.assertEqual((sell.status, buy.status), (OrderStatus.FILLED, OrderStatus.FILLED))
        self.assertEqual(self.engine.visible_size(BookSide.ASK, best), 0)
        self.assertEqual(self.engine.visible_size(BookSide.ASK, second), second_shown - 10)


class RestingTest(unittest.TestCase):
    def test_resting_orders_fill_only_when_real_trades_reach_them(self):
        """Rest a buy at the best bid of SKL-USD, replay the rest of the stream, and check each fill
        against the queue computed independently from the raw messages."""
        replay = Replay("SKL-USD", SKL_USD)
        price, shown = replay.book.best_bid()
        buy = order("buy", size="100", price=str(price))
        replay.engine.submit(buy, replay.now)
        self.assertEqual(replay.engine.queue_ahead(buy.id), shown)
        start = replay.position
        replay.run()
        fills = fills_of(replay.events, buy.id)
        traded_at_or_below = [
            m for m in replay.matches if m["side"] == "buy" and D(m["price"]) <= price
        ]  # sells hitting bids
        self.assertTrue(traded_at_or_below, "the capture has sells reaching the best bid")
        self.assertTrue(fills, "trades reached the price but the order never filled")
        for fill in fills:
            self.assertEqual(fill.price, price)
            self.assertEqual(fill.liquidity, Liquidity.MAKER)
            self.assertEqual(fill.cause["type"], "public_trade")
            trade = next(m for m in replay.matches if str(m["trade_id"]) == fill.cause["trade_id"])
            self.assertEqual(trade["side"], "buy")
            self.assertLessEqual(D(trade["price"]), price)
            if D(trade["price"]) == price:
                self.assertLess(D(fill.cause["queue_ahead"]), D(trade["size"]))
        self.assertGreater(start, 0)

    def test_queue_moves_on_trades_and_cancels_and_fills_after_it(self):
        replay = Replay("SKL-USD", SKL_USD)
        engine, book = replay.engine, replay.book
        price, shown = book.best_ask()
        sell = order("sell", size="100", price=str(price))
        engine.submit(sell, replay.now)
        self.assertEqual(engine.queue_ahead(sell.id), shown)
        at = replay.now + 1
        # a public trade at our price takes part of the queue ahead
        events = engine.on_trade("x1", price, shown / 4, Side.BUY, at)
        self.assertEqual(fills_of(events), [])
        self.assertEqual(engine.queue_ahead(sell.id), shown - shown / 4)
        # the exchange then shows that trade: already counted, the queue does not move again
        engine.apply_delta(BookSide.ASK, price, shown - shown / 4, at)
        self.assertEqual(engine.queue_ahead(sell.id), shown - shown / 4)
        # a cancel of half the rest: spread evenly over the queue, all of which is ahead of us
        engine.apply_delta(BookSide.ASK, price, (shown - shown / 4) / 2, at)
        self.assertEqual(engine.queue_ahead(sell.id), (shown - shown / 4) / 2)
        # a trade bigger than the queue fills us with the excess
        ahead = engine.queue_ahead(sell.id)
        events = engine.on_trade("x2", price, ahead + 40, Side.BUY, at)
        fills = fills_of(events, sell.id)
        self.assertEqual([(f.price, f.size) for f in fills], [(price, D(40))])
        self.assertEqual(
            fills[0].cause,
            {"type": "public_trade", "trade_id": "x2", "price": price, "size": ahead + 40, "queue_ahead": ahead},
        )
        self.assertEqual(
            fills[0].to_json()["cause"],
            {
                "type": "public_trade",
                "trade_id": "x2",
                "price": format_decimal(price),
                "size": format_decimal(ahead + 40),
                "queue_ahead": format_decimal(ahead),
            },
        )
        self.assertEqual(sell.status, OrderStatus.PARTIALLY_FILLED)

    def test_fills_from_an_estimated_queue_are_whole_size_steps(self):
        replay = Replay("SKL-USD", SKL_USD)
        engine, book = replay.engine, replay.book
        price, shown = book.best_ask()
        sell = order("sell", size="1000", price=str(price))
        engine.submit(sell, replay.now)
        engine.apply_delta(BookSide.ASK, price, shown + 7, replay.now)  # size joins behind us
        engine.apply_delta(BookSide.ASK, price, shown * 2 / 3, replay.now)  # a cancel, spread: ahead is fractional
        ahead = engine.queue_ahead(sell.id)
        self.assertNotEqual(ahead, ahead.quantize(SKL_USD.size_step))
        events = engine.on_trade("x", price, ahead + D("12.345"), Side.BUY, replay.now)
        self.assertEqual([f.size for f in fills_of(events, sell.id)], [D("12.3")])

    def test_new_size_behind_us_does_not_move_the_queue_and_a_cross_fills_us(self):
        replay = Replay("SKL-USD", SKL_USD)
        engine, book = replay.engine, replay.book
        bid, shown = book.best_bid()
        buy = order("buy", size="50", price=str(bid))
        engine.submit(buy, replay.now)
        engine.apply_delta(BookSide.BID, bid, shown + 500, replay.now)
        self.assertEqual(engine.queue_ahead(buy.id), shown)
        # the real ask comes down to our price: the seller would have met us
        events = engine.apply_delta(BookSide.ASK, bid, D("30"), replay.now)
        fills = fills_of(events, buy.id)
        self.assertEqual([(f.price, f.size, f.liquidity) for f in fills], [(bid, D(30), Liquidity.MAKER)])
        self.assertEqual(fills[0].cause["type"], "book_cross")
        self.assertEqual(engine.visible_size(BookSide.ASK, bid), 0)

    def test_a_resync_that_crosses_fills_resting_orders_best_first_level_by_level(self):
        """The market fell while the feed was resynchronising: the new snapshot's asks are below
        our resting buys. Each buy, best price first then in time order, fills at its own price
        against the best real ask with size left, moving to the next level as one runs out."""
        replay = Replay("SKL-USD", SKL_USD)
        engine, book = replay.engine, replay.book
        tick = SKL_USD.tick_size
        bid = book.best_bid()[0]
        first, second = order("buy", size="20", price=str(bid)), order("buy", size="30", price=str(bid))
        lower = order("buy", size="40", price=str(bid - tick))
        for o in (first, second, lower):
            engine.submit(o, replay.now)
        bids = [(p, s) for p, s in book.bids.top(len(book.bids)) if p < bid - 2 * tick]
        asks = [(bid - tick, D("25.0")), (bid, D("50.0"))] + book.asks.top(len(book.asks))
        events = engine.apply_snapshot(bids, asks, replay.now + 1)
        self.assertEqual(
            [(e.order_id, f.price, f.size, f.liquidity) for e in events for f in [e.fill]],
            [
                (first.id, bid, D(20), Liquidity.MAKER),
                (second.id, bid, D(5), Liquidity.MAKER),
                (second.id, bid, D(25), Liquidity.MAKER),
            ],
        )
        self.assertEqual(
            [e.fill.cause for e in events],
            [
                {"type": "book_cross", "price": p, "size_shown": D(shown), "consumed_before": before, "book_time": at}
                for p, shown, before, at in (
                    (bid - tick, "25.0", 0, replay.now + 1),  # the snapshot's time
                    (bid - tick, "25.0", 20, replay.now + 1),
                    (bid, "50.0", 0, replay.now + 1),
                )
            ],
        )
        self.assertEqual((first.status, second.status), (OrderStatus.FILLED, OrderStatus.FILLED))
        self.assertEqual((lower.status, lower.filled_size), (OrderStatus.OPEN, 0))  # the ask left is above it
        self.assertEqual(engine.visible_size(BookSide.ASK, bid - tick), 0)
        self.assertEqual(engine.visible_size(BookSide.ASK, bid), 25)

    def test_trade_through_fills_the_whole_order(self):
        replay = Replay("SKL-USD", SKL_USD)
        bid = replay.book.best_bid()[0]
        buy = order("buy", size="50", price=str(bid))
        replay.engine.submit(buy, replay.now)
        events = replay.engine.on_trade("t", bid - D("0.0005"), D("1"), Side.SELL, replay.now)
        self.assertEqual([f.size for f in fills_of(events, buy.id)], [D(50)])
        self.assertEqual(buy.status, OrderStatus.FILLED)

    def test_virtual_orders_match_each_other_by_price_then_time(self):
        replay = Replay("SKL-USD", SKL_USD)
        engine = replay.engine
        bid, ask = replay.book.best_bid()[0], replay.book.best_ask()[0]
        inside = bid + D("0.0001")
        self.assertLess(inside, ask)
        early = order("buy", size="10", price=str(inside))
        late = order("buy", size="10", price=str(inside))
        self.assertLess(inside + D("0.0001"), ask)
        better = order("buy", size="5", price=str(inside + D("0.0001")))
        for o in (early, late, better):
            engine.submit(o, replay.now)
        sell = order("sell", "market", size="12")
        events = engine.submit(sell, replay.now)
        fills = fills_of(events, sell.id)
        self.assertEqual([f.cause["order_id"] for f in fills], [better.id, early.id])
        self.assertEqual([(f.price, f.size) for f in fills], [(better.price, D(5)), (inside, D(7))])
        self.assertEqual(late.filled_size, 0)
        maker_fills = fills_of(events, early.id)
        self.assertEqual(maker_fills[0].liquidity, Liquidity.MAKER)

    def test_amend_keeps_or_loses_the_queue_position(self):
        replay = Replay("SKL-USD", SKL_USD)
        engine, book = replay.engine, replay.book
        bid, shown = book.best_bid()
        buy = order("buy", size="100", price=str(bid))
        engine.submit(buy, replay.now)
        engine.on_trade("t1", bid, shown / 2, Side.SELL, replay.now)
        self.assertEqual(engine.queue_ahead(buy.id), shown / 2)
        engine.amend(buy.id, replay.now, size=D("60"))
        self.assertEqual((buy.size, engine.queue_ahead(buy.id)), (D(60), shown / 2))
        engine.amend(buy.id, replay.now, size=D("80"))
        self.assertEqual(engine.queue_ahead(buy.id), shown)  # back of the queue
        lower = bid - D("0.0010")
        engine.amend(buy.id, replay.now, price=lower)
        self.assertEqual(engine.queue_ahead(buy.id), book.bids.size_at(lower))
        with self.assertRaises(InvalidParameter):
            engine.amend(buy.id, replay.now, size=D("0"))


class TimeTest(unittest.TestCase):
    def test_latency_meets_the_book_as_it_is_when_the_order_arrives(self):
        replay = Replay("SKL-USD", SKL_USD, latency=LatencyModel("fixed", order=0.5))
        sent_at = replay.now
        buy = order("buy", "market", size="10")
        self.assertEqual(replay.engine.submit(buy, sent_at), [])
        self.assertEqual(buy.status, OrderStatus.PENDING)
        # replay until the first message after the arrival time: the book then is what it fills against
        while replay.messages[replay.position][0] < sent_at + 0.5:
            replay.step()
        expected_price = replay.book.best_ask()[0]
        replay.step()
        fills = fills_of(replay.events, buy.id)
        self.assertEqual(buy.status, OrderStatus.FILLED)
        self.assertEqual(fills[0].price, expected_price)
        self.assertEqual(fills[0].at, sent_at + 0.5)

    def test_cancel_latency_lets_fills_happen_meanwhile(self):
        replay = Replay("SKL-USD", SKL_USD, latency=LatencyModel("fixed", cancel=1.0))
        bid = replay.book.best_bid()[0]
        buy = order("buy", size="50", price=str(bid))
        replay.engine.submit(buy, replay.now)
        self.assertEqual(replay.engine.cancel(buy.id, replay.now), [])
        events = replay.engine.on_trade("t", bid - D("0.001"), D("1"), Side.SELL, replay.now + 0.5)
        self.assertEqual(buy.status, OrderStatus.FILLED)
        self.assertEqual(replay.engine.advance(replay.now + 2), [])
        self.assertTrue(fills_of(events, buy.id))

    def test_uniform_latency_is_drawn_from_the_seeded_generator(self):
        model = LatencyModel("uniform", order=0.1, jitter=0.05)
        draws = [model.draw(0.1, random.Random(7)) for _ in range(3)]
        self.assertEqual(len(set(draws)), 1)
        many = [model.draw(0.1, random.Random(seed)) for seed in range(200)]
        self.assertTrue(all(0.05 <= d <= 0.15 for d in many))

    def test_gtd_orders_expire(self):
        replay = Replay("SKL-USD", SKL_USD)
        bid = replay.book.best_bid()[0]
        gtd = order(
            "buy", size="10", price=str(bid - D("0.01")), time_in_force=TimeInForce.GTD, expire_time=replay.now + 60
        )
        replay.engine.submit(gtd, replay.now)
        self.assertEqual(replay.engine.advance(replay.now + 59), [])
        events = replay.engine.advance(replay.now + 60)
        self.assertEqual([(e.status, e.reason) for e in events], [(OrderStatus.EXPIRED, "expired")])
        with self.assertRaises(OrderNotFound):
            replay.engine.cancel(gtd.id, replay.now + 61)

    def test_a_gtd_order_expires_at_its_time_before_a_later_trade_could_fill_it(self):
        """Whenever the tick last ran: the trade after the expiry time finds the order expired
        (stamped with its expiry time), and fills nothing."""
        replay = Replay("SKL-USD", SKL_USD)
        bid = replay.book.best_bid()[0]
        expiry = replay.now + 5
        gtd = order("buy", size="10", price=str(bid), time_in_force=TimeInForce.GTD, expire_time=expiry)
        replay.engine.submit(gtd, replay.now)
        events = replay.engine.on_trade("t", bid - D("0.001"), D("100"), Side.SELL, expiry + 1)  # through its price
        self.assertEqual([(e.status, e.at, e.fill) for e in events], [(OrderStatus.EXPIRED, expiry, None)])

    def test_an_order_sent_comes_after_what_fell_due_before_it(self):
        """A pending order whose latency ended at t takes the best ask before an order sent at t + 1
        with no latency left to wait, though no tick and no market data came in between."""
        replay = Replay("SKL-USD", SKL_USD, latency=LatencyModel("fixed", order=0.5))
        (ask, shown) = replay.book.best_ask()
        first = order("buy", size=str(shown), price=str(ask))
        replay.engine.submit(first, replay.now)
        replay.engine.latency = LatencyModel()
        second = order("buy", size=str(shown), price=str(ask))
        events = replay.engine.submit(second, replay.now + 1)
        self.assertEqual(
            [(e.order_id, e.status, e.at) for e in events],
            [
                (first.id, OrderStatus.OPEN, replay.now + 0.5),
                (first.id, OrderStatus.FILLED, replay.now + 0.5),
                (second.id, OrderStatus.OPEN, replay.now + 1),
            ],
        )
        self.assertEqual(second.filled_size, 0)  # the first took the level

    def test_stops_trigger_on_the_last_trade_price(self):
        replay = Replay("SKL-USD", SKL_USD)
        engine = replay.engine
        ask = replay.book.best_ask()[0]
        stop = order("buy", "stop_market", size="10", stop_price=ask + D("0.001"))
        engine.submit(stop, replay.now)
        self.assertEqual(stop.status, OrderStatus.OPEN)
        self.assertEqual(fills_of(engine.on_trade("t1", ask, D("1"), Side.BUY, replay.now)), [])
        events = engine.on_trade("t2", ask + D("0.001"), D("1"), Side.BUY, replay.now)
        self.assertTrue(stop.triggered)
        self.assertEqual(stop.status, OrderStatus.FILLED)
        self.assertEqual(fills_of(events, stop.id)[0].price, replay.book.best_ask()[0])


class RestoreTest(unittest.TestCase):
    def test_a_restored_order_rejoins_the_queue_and_keeps_its_fills(self):
        replay = Replay("SKL-USD", SKL_USD)
        bid, shown = replay.book.best_bid()
        buy = order("buy", size="100", price=str(bid))
        replay.engine.submit(buy, replay.now)
        replay.engine.on_trade("t1", bid - D("0.01"), D("1"), Side.SELL, replay.now)  # through: filled
        self.assertEqual(buy.fill_ids, {f"{buy.id}-1"})
        second = order("buy", size="100", price=str(bid))
        replay.engine.submit(second, replay.now)
        fresh = MatchingEngine(SKL_USD, replay.book)
        fresh.restore(second, replay.now)
        self.assertEqual(fresh.queue_ahead(second.id), replay.book.bids.size_at(bid))


class RestoredExpiryTest(unittest.TestCase):
    def test_a_restored_gtd_order_still_expires(self):
        replay = Replay("SKL-USD", SKL_USD)
        bid = replay.book.best_bid()[0]
        gtd = order(
            "buy", size="10", price=str(bid - D("0.01")), time_in_force=TimeInForce.GTD, expire_time=replay.now + 30
        )
        replay.engine.submit(gtd, replay.now)
        fresh = MatchingEngine(SKL_USD, replay.book)
        fresh.restore(gtd, replay.now)
        self.assertEqual(fresh.advance(replay.now + 29), [])
        self.assertEqual([e.status for e in fresh.advance(replay.now + 31)], [OrderStatus.EXPIRED])


class PropertyTest(unittest.TestCase):
    def test_random_orders_on_the_real_stream(self):
        """Over many seeds: no taker fill beats the visible book, no level gives more than it showed,
        no order overfills."""
        for seed in range(40):
            rng = random.Random(seed)
            product, market = rng.choice([("SKL-USD", SKL_USD), ("DASH-BTC", DASH_BTC)])
            replay = Replay(product, market)
            engine, book = replay.engine, replay.book
            taken = {}
            orders = []
            while replay.position < len(replay.messages):
                replay.step()
                if rng.random() < 0.05:
                    side = rng.choice(["buy", "sell"])
                    best = book.best_ask() if side == "buy" else book.best_bid()
                    if best is None:
                        continue
                    size = D(rng.randint(1, 2000)) * market.size_step * 10
                    offset = market.tick_size * rng.randint(-5, 5)
                    kind = rng.choice(["market", "limit", "limit"])
                    o = order(side, kind, size=str(size), price=None if kind == "market" else str(best[0] + offset))
                    ladder = book.asks if side == "buy" else book.bids
                    shown = {p: engine.visible_size(ladder.side, p) for p, _ in ladder.top(50)}
                    events = engine.submit(o, replay.now)
                    replay.events += events
                    orders.append(o)
                    for fill in fills_of(events, o.id):
                        if fill.liquidity is Liquidity.TAKER and fill.cause["type"] == "book_level":
                            self.assertIn(fill.price, shown, seed)
                            key = (fill.price, replay.position)
                            taken[key] = taken.get(key, 0) + fill.size
                            self.assertLessEqual(taken[key], shown[fill.price], seed)
                            better = [
                                p
                                for p, s in shown.items()
                                if s > 0 and (p < fill.price if side == "buy" else p > fill.price)
                            ]
                            self.assertTrue(all(taken.get((p, replay.position), 0) == shown[p] for p in better), seed)
            for o in orders:
                self.assertLessEqual(o.filled_size, o.size, seed)
                self.assertEqual(o.filled_size, sum(f.size for f in fills_of(replay.events, o.id)), seed)
                for fill in fills_of(replay.events, o.id):
                    if fill.liquidity is Liquidity.MAKER:
                        self.assertEqual(fill.price, o.price, seed)


if __name__ == "__main__":
    unittest.main()
