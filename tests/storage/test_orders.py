"""Orders persisted with their holds, fills settled through the ledger, on both databases.

The fills come from the matching engine run on the real Coinbase SKL-USD book."""

import json
import unittest
from decimal import Decimal as D
from pathlib import Path

from exchange_wrapper.core.book import OrderBook
from exchange_wrapper.core.errors import Conflict, InsufficientFunds, NotFound, OrderNotFound
from exchange_wrapper.core.holds import required_hold
from exchange_wrapper.core.markets import Market
from exchange_wrapper.core.matching import MatchingEngine
from exchange_wrapper.core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.storage import models
from exchange_wrapper.storage.orders import OrderStore
from exchange_wrapper.storage.verify import verify_ledger
from exchange_wrapper.storage.wallets import WalletStore
from tests.storage.dbs import DatabaseCase, on_both_databases
from tests.storage.test_wallets import run_threads

CAPTURE = Path(__file__).resolve().parent.parent / "captures" / "COINBASE.ws.28.0"
SKL_USD = Market(
    "coinbase",
    Pair("SKL", "USD"),
    "SKL-USD",
    tick_size=D("0.0001"),
    size_step=D("0.1"),
    min_size=D("1"),
    maker_fee=D("0.004"),
    taker_fee=D("0.006"),
)


def skl_snapshot():
    with open(CAPTURE) as handle:
        for line in handle:
            if '"type":"snapshot"' in line and '"SKL-USD"' in line:
                message = json.loads(line.partition(": ")[2])
                return ([(D(p), D(s)) for p, s in message["bids"]], [(D(p), D(s)) for p, s in message["asks"]])
    raise AssertionError("no SKL-USD snapshot in the capture")


BIDS, ASKS = skl_snapshot()


class OrderCases(DatabaseCase):
    def setUp(self):
        super().setUp()
        self.wallets = WalletStore(self.db)
        self.store = OrderStore(self.db, self.wallets)
        self.ws = self.wallets.create_wallet_set("paper-1", "paper").id
        self.wallets.move_funds("fund", self.ws, "coinbase", "USD", D("1000"))
        self.wallets.move_funds("fund", self.ws, "coinbase", "SKL", D("500"))
        self.book = OrderBook("coinbase", "SKL_USD")
        self.book.apply_snapshot(BIDS, ASKS, 100.0)
        self.engine = MatchingEngine(SKL_USD, self.book)
        self.numbers = iter(range(1, 1000))

    def order(self, side, type="limit", size="100", price=None, client=None, **fields):
        number = next(self.numbers)
        return Order(
            id="",
            client_order_id=client or f"c{number}",
            wallet_set_id=self.ws,
            exchange="coinbase",
            pair="SKL_USD",
            side=Side(side),
            type=OrderType(type),
            size=D(size),
            price=None if price is None else D(price),
            created_at=100.0,
            updated_at=100.0,
            **fields,
        )

    def balance(self, currency):
        return {b.currency: b for b in self.wallets.balances(self.ws)}[currency]

    def place(self, order):
        walk = self.engine.walk(order.side, order.size).cost if order.type is OrderType.MARKET else None
        hold = required_hold(order, SKL_USD, taker_fee=SKL_USD.taker_fee, margin=D("0.05"), walk_cost=walk)
        self.store.create(order, hold, "paper")
        events = self.engine.submit(order, 101.0, budget=hold[1] if order.side is Side.BUY else None)
        self.store.record(events, {order.id: order})
        return hold, events

    def test_a_resting_order_holds_its_cost_and_fee(self):
        price = BIDS[0][0]
        buy = self.order("buy", price=str(price))
        hold, _ = self.place(buy)
        self.assertEqual(hold, ("USD", price * 100 * D("1.006")))
        usd = self.balance("USD")
        self.assertEqual((usd.balance, usd.hold, usd.available), (D(1000), hold[1], D(1000) - hold[1]))
        stored = self.store.get(buy.id)
        self.assertEqual((stored.status, stored.price, stored.size), (OrderStatus.OPEN, price, D(100)))
        self.assertEqual(
            [(e["from"], e["to"]) for e in self.store.events(buy.id)], [(None, "pending"), ("pending", "open")]
        )
        self.assertTrue(verify_ledger(self.db).ok)

    def test_a_taker_buy_settles_every_fill_and_releases_the_rest(self):
        size = ASKS[0][1] + D("100")
        buy = self.order("buy", "market", size=str(size))
        hold, events = self.place(buy)
        self.assertEqual(buy.status, OrderStatus.FILLED)
        fills = self.store.fills([buy.id])[buy.id]
        self.assertEqual([(f.price, f.size) for f in fills], [ASKS[0], (ASKS[1][0], D(100))])
        cost = ASKS[0][0] * ASKS[0][1] + ASKS[1][0] * 100
        fees = sum(f.fee for f in fills)
        self.assertEqual(fees, buy.fees)
        usd, skl = self.balance("USD"), self.balance("SKL")
        self.assertEqual((usd.balance, usd.hold), (D(1000) - cost - fees, D(0)))
        self.assertEqual((skl.balance, skl.hold), (D(500) + size, D(0)))
        self.assertEqual(fills[0].cause["type"], "book_level")
        stored = self.store.get(buy.id)
        self.assertEqual(
            (stored.status, stored.filled_size, stored.executed_value, stored.fees),
            (OrderStatus.FILLED, size, cost, fees),
        )
        self.assertEqual(stored.fill_ids, {f.trade_id for f in fills})
        self.assertTrue(verify_ledger(self.db).ok)

    def test_a_sell_holds_base_and_cancel_releases_it(self):
        sell = self.order("sell", price=str(ASKS[0][0] + D("0.01")), size="200")
        self.place(sell)
        self.assertEqual((self.balance("SKL").hold, self.balance("SKL").available), (D(200), D(300)))
        events = self.engine.cancel(sell.id, 102.0)
        self.store.record(events, {sell.id: sell})
        self.assertEqual(self.balance("SKL").hold, 0)
        self.assertEqual(self.store.get(sell.id).status, OrderStatus.CANCELLED)
        self.assertEqual(self.store.find(wallet_set_id=self.ws, open_only=True), [])

    def test_an_order_the_set_cannot_cover_writes_nothing(self):
        buy = self.order("buy", price=str(BIDS[0][0]), size="5000")
        with self.assertRaises(InsufficientFunds) as caught:
            self.place(buy)
        self.assertEqual(caught.exception.currency, "USD")
        self.assertEqual(models.Order.select().count(), 0)
        self.assertEqual(models.OrderEvent.select().count(), 0)
        self.assertEqual(self.balance("USD").hold, 0)

    def test_client_order_ids_are_unique_per_wallet_set(self):
        self.place(self.order("buy", price=str(BIDS[5][0]), client="mine"))
        with self.assertRaises(Conflict):
            self.store.create(self.order("buy", price=str(BIDS[5][0]), client="mine"), None, "paper")
        found, fills = self.store.by_client_order_id(self.ws, "mine")
        self.assertEqual((found.client_order_id, fills), ("mine", []))
        self.assertEqual(self.store.order_id_of(self.ws, "mine"), found.id)
        self.assertIsNone(self.store.by_client_order_id(self.ws, "other"))

    def test_open_orders_reload_as_they_were(self):
        gtd = self.order("buy", price=str(BIDS[3][0]), time_in_force=TimeInForce.GTD, expire_time=500.0)
        self.place(gtd)
        stop = self.order("buy", "stop_limit", price=str(ASKS[0][0]), stop_price=ASKS[0][0])
        self.place(stop)
        reloaded = {o.id: o for o in self.store.find(open_only=True)}
        self.assertEqual(set(reloaded), {gtd.id, stop.id})
        self.assertEqual((reloaded[gtd.id].time_in_force, reloaded[gtd.id].expire_time), (TimeInForce.GTD, 500.0))
        self.assertEqual((reloaded[stop.id].stop_price, reloaded[stop.id].triggered), (ASKS[0][0], False))

    def test_record_returns_the_balances_it_leaves(self):
        price = BIDS[0][0]
        buy = self.order("buy", price=str(price))
        self.store.create(buy, ("USD", price * 100 * D("1.006")), "paper")
        balances = self.store.record([buy.transition(OrderStatus.OPEN, 101.0)], {buy.id: buy})
        hold = price * 100 * D("1.006")
        self.assertEqual(
            {self.ws: [("coinbase", "SKL", D(500), D(0), D(500)), ("coinbase", "USD", D(1000), hold, D(1000) - hold)]},
            {
                ws: [(b.exchange, b.currency, b.balance, b.hold, b.available) for b in rows]
                for ws, rows in balances.items()
            },
        )
        self.assertEqual(self.wallets.balances(self.ws), balances[self.ws])
        self.assertEqual({}, self.store.record([], {}))

    def test_an_order_of_an_unknown_wallet_set_writes_nothing(self):
        order = self.order("buy", price=str(BIDS[0][0]))
        order.wallet_set_id = 999
        with self.assertRaises(NotFound):
            self.store.create(order, ("USD", D("80")), "paper")
        self.assertEqual((0, 0), (models.Order.select().count(), models.OrderEvent.select().count()))

    def test_times_read_the_same_from_memory_and_from_the_database(self):
        at = 1796669294.7887235  # half a microsecond: round(at, 6) and the stored microseconds disagreed
        price = BIDS[0][0]
        buy = self.order("buy", price=str(price))
        self.place(buy)
        fill = Fill(buy.id, "t1", price, D(10), D(0), "USD", Liquidity.MAKER, at)
        self.store.record([buy.apply_fill(fill)], {buy.id: buy})
        stored, fills = self.store.view(buy.id)
        self.assertEqual(stored.to_json()["updated_at"], buy.to_json()["updated_at"])
        self.assertEqual(fills[0].to_json()["time"], fill.to_json()["time"])

    def test_a_fill_that_cannot_be_settled_records_nothing_of_its_events(self):
        """The fill row, the events and the order's state are written before the settlement
        fails (on PostgreSQL they wait to be sent with it): none of them stays."""
        price = BIDS[0][0]
        buy = self.order("buy", price=str(price))
        hold, _ = self.place(buy)
        self.wallets.move_funds("withdraw", self.ws, "coinbase", "USD", D(1000) - hold[1])
        fill = Fill(buy.id, "t1", price * 2, D(100), D(0), "USD", Liquidity.MAKER, 102.0)  # costs twice the hold
        with self.assertRaises(InsufficientFunds):
            self.store.record([buy.apply_fill(fill)], {buy.id: buy})
        self.assertEqual(0, models.Fill.select().count())
        self.assertEqual(["pending", "open"], [e["to"] for e in self.store.events(buy.id)])
        stored = self.store.get(buy.id)
        self.assertEqual((OrderStatus.OPEN, D(0)), (stored.status, stored.filled_size))
        self.assertEqual(hold[1], self.wallets.held(self.ws, buy.id))
        self.assertTrue(verify_ledger(self.db).ok)

    def test_concurrent_orders_never_overdraw(self):
        """8 threads race resting buys holding 1.509 USD each (0.15 for 10, fee included) for 1000 USD."""
        self.wallets.move_funds("withdraw", self.ws, "coinbase", "USD", D("900"))
        created = []

        def place(thread: int):
            try:
                for n in range(12):
                    order = self.order("buy", size="10", price="0.15", client=f"t{thread}-{n}")
                    try:
                        self.store.create(order, ("USD", D("1.509")), "paper")
                        created.append(order.id)
                    except InsufficientFunds:
                        pass
            finally:
                self.db.close()

        run_threads(place, 8)
        self.assertEqual(66, len(created))  # 100 // 1.509
        usd = self.balance("USD")
        self.assertEqual((D(100), D("1.509") * 66), (usd.balance, usd.hold))
        self.assertEqual(66, models.Order.select().count())
        self.assertTrue(verify_ledger(self.db).ok)

    def test_fills_of_many_orders(self):
        taker = self.order("buy", "market", size=str(ASKS[0][1] + 100))
        self.place(taker)
        ids = [str(n) for n in range(1, 1300)]
        fills = self.store.fills(ids)
        self.assertEqual(set(ids), set(fills))
        self.assertEqual([(ASKS[0][0], ASKS[0][1]), (ASKS[1][0], D(100))], [(f.price, f.size) for f in fills[taker.id]])
        self.assertEqual(2, sum(len(found) for found in fills.values()))

    def test_paging_and_unknown_orders(self):
        ids = [self.place(self.order("buy", price=str(BIDS[10][0]), size="10"))[1][0].order_id for _ in range(5)]
        page = self.store.find(wallet_set_id=self.ws, limit=2)
        self.assertEqual([o.id for o in page], ids[::-1][:2])
        self.assertEqual([o.id for o in self.store.find(before=int(page[-1].id), limit=10)], ids[::-1][2:])
        with self.assertRaises(OrderNotFound):
            self.store.get("999999")


OrderCasesSqlite, OrderCasesPostgres = on_both_databases(OrderCases)

if __name__ == "__main__":
    unittest.main()
