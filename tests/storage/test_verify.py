"""Ledger verification on both databases: a clean ledger passes, every kind of damage is reported.

The states are built through the stores as the service builds them (orders with their holds, fills
recorded with their settlement); the damage is then written directly, as a bug would.
"""

from __future__ import annotations

import json
import unittest
from decimal import Decimal

from exchange_wrapper.core.holds import required_hold
from exchange_wrapper.core.ledger import FillTerms
from exchange_wrapper.core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.storage import models
from exchange_wrapper.storage.database import fill_balances_after
from exchange_wrapper.storage.models import ExchangeAccount, Hold, LedgerPosting, LedgerTransaction, Wallet
from exchange_wrapper.storage.orders import OrderStore
from exchange_wrapper.storage.verify import account_balances, verify_ledger
from exchange_wrapper.storage.wallets import WalletStore
from tests.core.test_ledger import coinbase_matches
from tests.storage.dbs import DatabaseCase, on_both_databases
from tests.storage.test_orders import SKL_USD

D = Decimal


def order(wallet_set: int, client: str, side: str, type: str, size: str, price: str | None = None, **fields) -> Order:
    return Order(
        id="",
        client_order_id=client,
        wallet_set_id=wallet_set,
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


def fill(placed: Order, trade_id: str, price: Decimal, size: Decimal, liquidity: str = "taker") -> Fill:
    fee = price * size * (SKL_USD.taker_fee if liquidity == "taker" else SKL_USD.maker_fee)
    return Fill(placed.id, trade_id, price, size, fee, "USD", Liquidity(liquidity), 102.0)


class VerifyCases(DatabaseCase):
    """A paper set trading SKL_USD on coinbase through the order store, and a live set on kraken.

    The paper set has: ``bought``, a limit buy of 450 filled by a match recorded on Coinbase (450 at
    0.791, closed); ``selling``, a limit sell of 200 at 0.9 that sold 50 (holds its rest, 150 SKL);
    ``buying``, a limit buy of 100 at 0.78 that bought 40 as taker (holds 60 × 0.78 × 1.006);
    ``cancelled``, a limit buy cancelled before any fill (holds nothing).
    """

    def setUp(self):
        super().setUp()
        self.store = WalletStore(self.db)
        self.orders = OrderStore(self.db, self.store)
        self.paper = self.store.create_wallet_set("paper", "paper").id
        self.live = self.store.create_wallet_set("live", "live").id
        self.store.move_funds("fund", self.paper, "coinbase", "USD", D("1000"))
        self.store.move_funds("fund", self.paper, "coinbase", "SKL", D("500"))
        match = coinbase_matches("SKL-USD", 1)[0]  # 450 SKL at 0.791 USD
        self.bought = self.place(order(self.paper, "bought", "buy", "limit", "450", "0.8"))
        self.record(self.bought, fill(self.bought, str(match["trade_id"]), match["price"], match["size"]))
        self.selling = self.place(order(self.paper, "selling", "sell", "limit", "200", "0.9"))
        self.record(self.selling, fill(self.selling, "s1", D("0.9"), D("50"), "maker"))
        self.buying = self.place(order(self.paper, "buying", "buy", "limit", "100", "0.78"))
        self.record(self.buying, fill(self.buying, "b1", D("0.78"), D("40")))
        self.cancelled = self.place(order(self.paper, "cancelled", "buy", "limit", "10", "0.7"))
        self.orders.record(
            [self.cancelled.transition(OrderStatus.CANCELLED, 103.0)], {self.cancelled.id: self.cancelled}
        )
        self.store.reconcile("kraken", "BTC", D("2"))
        self.store.move_funds("allocate", self.live, "kraken", "BTC", D("1.5"))

    def place(self, new: Order) -> Order:
        """Store ``new`` with the hold the order path gives a limit order, and open it."""
        self.orders.create(new, required_hold(new, SKL_USD, taker_fee=SKL_USD.taker_fee, margin=D("0.05")), "paper")
        self.orders.record([new.transition(OrderStatus.OPEN, 101.0)], {new.id: new})
        return new

    def record(self, placed: Order, *fills: Fill) -> None:
        self.orders.record([placed.apply_fill(f) for f in fills], {placed.id: placed})

    def differences(self, **options) -> list[dict]:
        report = verify_ledger(self.db, **options)
        self.assertFalse(report.ok)
        return report.as_json()["differences"]

    def post(self, *postings: tuple[str, int | None, str, str, Decimal]) -> int:
        """Write a transaction directly, bypassing the store (as damage or a bug would), then the
        postings' balances after as the store records them (only what a test damages differs)."""
        row = LedgerTransaction.create(kind="fund", created_at=0)
        for account, wallet_set, exchange, currency, amount in postings:
            LedgerPosting.create(
                transaction=row.id,
                account=account,
                wallet_set=wallet_set,
                exchange=exchange,
                currency=currency,
                amount=amount,
            )
        fill_balances_after(self.db)
        return row.id

    def subject(self, placed: Order, **more) -> dict:
        return {"order": placed.id, "wallet_set": self.paper, **more}

    def test_a_clean_ledger_verifies(self):
        report = verify_ledger(self.db)
        self.assertEqual({"ok": True, "transactions": 13, "postings": 35, "differences": []}, report.as_json())

    def test_rebuilt_balances_sum_to_zero_per_currency(self):
        balances = {(a.name, a.exchange, a.currency): amount for a, amount in account_balances(self.db).items()}
        self.assertEqual(
            {
                ("virtual_funding", "coinbase", "USD"): D("-1000"),
                ("virtual_funding", "coinbase", "SKL"): D("-500"),
                ("market", "coinbase", "USD"): D("355.95") + D("31.2") - D("45"),
                ("fees", "coinbase", "USD"): D("2.1357") + D("0.1872") + D("0.18"),
                (f"wallet_set:{self.paper}:hold:{self.buying.id}", "coinbase", "USD"): D("47.0808"),
                (f"wallet_set:{self.paper}:hold:{self.selling.id}", "coinbase", "SKL"): D("150"),
                (f"wallet_set:{self.paper}:available", "coinbase", "USD"): D("608.2663"),
                ("market", "coinbase", "SKL"): D("-440"),
                (f"wallet_set:{self.paper}:available", "coinbase", "SKL"): D("790"),
                ("outside", "kraken", "BTC"): D("-2"),
                ("unallocated", "kraken", "BTC"): D("0.5"),
                (f"wallet_set:{self.live}:available", "kraken", "BTC"): D("1.5"),
            },
            balances,
        )

    def test_changed_wallet_balance(self):
        Wallet.update(balance=D("655.3472")).where(Wallet.currency == "USD").execute()
        self.assertEqual(
            [
                {
                    "check": "wallet_balance",
                    "subject": {"wallet_set": self.paper, "exchange": "coinbase", "currency": "USD"},
                    "expected": "655.3471",
                    "found": "655.3472",
                }
            ],
            self.differences(),
        )

    def test_changed_wallet_hold_making_available_negative(self):
        Wallet.update(hold=D("700")).where(Wallet.currency == "USD").execute()
        subject = {"wallet_set": self.paper, "exchange": "coinbase", "currency": "USD"}
        self.assertEqual(
            [
                {"check": "wallet_hold", "subject": subject, "expected": "47.0808", "found": "700"},
                {"check": "wallet_negative", "subject": subject, "expected": None, "found": "-44.6529"},
            ],
            self.differences(),
        )

    def test_changed_and_missing_holds(self):
        Hold.update(amount=D("47")).where(Hold.order_ref == self.buying.id).execute()  # within its bounds
        Hold.create(
            wallet_set=self.paper,
            exchange="coinbase",
            currency="USD",
            order_ref="ghost",
            amount=D("1"),
            created_at=0,
            updated_at=0,
        )
        self.assertEqual(
            [
                {
                    "check": "hold",
                    "subject": {
                        "wallet_set": self.paper,
                        "order": self.buying.id,
                        "exchange": "coinbase",
                        "currency": "USD",
                    },
                    "expected": "47.0808",
                    "found": "47",
                },
                {
                    "check": "hold",
                    "subject": {"wallet_set": self.paper, "order": "ghost", "exchange": "coinbase", "currency": "USD"},
                    "expected": "0",
                    "found": "1",
                },
            ],
            self.differences(),
        )

    def test_missing_wallet_row(self):
        Wallet.delete().where(Wallet.currency == "SKL").execute()
        self.assertEqual(
            [
                {
                    "check": "wallet_missing",
                    "subject": {"wallet_set": self.paper, "exchange": "coinbase", "currency": "SKL"},
                    "expected": "940",
                    "found": None,
                }
            ],
            self.differences(),
        )

    def test_changed_unallocated(self):
        ExchangeAccount.update(unallocated=D("0.6")).execute()
        self.assertEqual(
            [
                {
                    "check": "unallocated",
                    "subject": {"exchange": "kraken", "currency": "BTC"},
                    "expected": "0.5",
                    "found": "0.6",
                }
            ],
            self.differences(),
        )

    def test_unbalanced_and_empty_transactions(self):
        unbalanced = self.post(
            ("fees", None, "coinbase", "USD", D("0.01")), ("market", None, "coinbase", "SKL", D("-0.01"))
        )
        empty = self.post()
        self.assertEqual(
            [
                {
                    "check": "unbalanced_transaction",
                    "subject": {"transaction": unbalanced, "currency": "SKL"},
                    "expected": "0",
                    "found": "-0.01",
                },
                {
                    "check": "unbalanced_transaction",
                    "subject": {"transaction": unbalanced, "currency": "USD"},
                    "expected": "0",
                    "found": "0.01",
                },
                {"check": "empty_transaction", "subject": {"transaction": empty}, "expected": None, "found": None},
            ],
            self.differences(),
        )

    def test_malformed_postings(self):
        bad_name = self.post(
            ("wallet_set:x:available", None, "coinbase", "USD", D("1")), ("fees", None, "coinbase", "USD", D("-1"))
        )
        wrong_set = self.post(
            (f"wallet_set:{self.paper}:available", self.live, "coinbase", "EUR", D("1")),
            ("fees", None, "coinbase", "EUR", D("-1")),
        )
        found = [(d["check"], d["subject"]["transaction"], d["subject"]["account"]) for d in self.differences()]
        self.assertEqual(
            [
                ("malformed_posting", bad_name, "wallet_set:x:available"),
                ("malformed_posting", wrong_set, f"wallet_set:{self.paper}:available"),
            ],
            found,
        )

    def test_negative_balances(self):
        Wallet.update(balance=D("-0.5")).where(Wallet.wallet_set == self.live).execute()
        self.post(
            (f"wallet_set:{self.live}:available", self.live, "kraken", "BTC", D("-2")),
            ("fees", None, "kraken", "BTC", D("2")),
        )
        subject = {"wallet_set": self.live, "exchange": "kraken", "currency": "BTC"}
        self.assertEqual(
            [
                {
                    "check": "negative_balance",
                    "subject": {"account": f"wallet_set:{self.live}:available", **subject},
                    "expected": "0",
                    "found": "-0.5",
                },
                {"check": "wallet_negative", "subject": subject, "expected": None, "found": "-0.5"},
            ],
            self.differences(),
        )

    # -- orders ---------------------------------------------------------------------------------------

    def test_an_order_amended_without_its_hold_is_under_held(self):
        models.Order.update(size=D("200")).where(models.Order.id == self.buying.id).execute()
        self.assertEqual(
            [
                {
                    "check": "order_hold",
                    "subject": self.subject(self.buying, currency="USD", bound="minimum"),
                    "expected": "124.8",
                    "found": "47.0808",
                }
            ],
            self.differences(),
        )  # 160 x 0.78

    def test_a_limit_buy_holds_at_least_its_rest_at_its_price(self):
        self.store.release_hold(self.paper, self.buying.id, D("0.2808"))  # 60 x 0.78 = 46.8 remains
        self.assertTrue(verify_ledger(self.db).ok)
        self.store.release_hold(self.paper, self.buying.id, D("1E-18"))
        self.assertEqual(
            [
                {
                    "check": "order_hold",
                    "subject": self.subject(self.buying, currency="USD", bound="minimum"),
                    "expected": "46.8",
                    "found": "46.799999999999999999",
                }
            ],
            self.differences(),
        )

    def test_a_limit_buy_holds_at_most_its_rest_with_the_highest_fee(self):
        self.assertEqual(["order_hold"], [d["check"] for d in self.differences(max_fee=D("0.005"))])
        self.assertTrue(verify_ledger(self.db, max_fee=D("0.006")).ok)
        self.store.place_hold(self.paper, "coinbase", "USD", D("0.1872"), self.buying.id)  # 46.8 x 1.01
        self.assertTrue(verify_ledger(self.db).ok)
        self.store.place_hold(self.paper, "coinbase", "USD", D("1E-18"), self.buying.id)
        self.assertEqual(
            [
                {
                    "check": "order_hold",
                    "subject": self.subject(self.buying, currency="USD", bound="maximum"),
                    "expected": "47.268",
                    "found": "47.268000000000000001",
                }
            ],
            self.differences(),
        )

    def test_the_highest_hold_is_rounded_up_as_holds_are(self):
        odd = self.place(order(self.paper, "odd", "buy", "limit", "3", "0.123456789012345679"))
        self.assertEqual(D("0.372592589239259260"), self.store.held(self.paper, odd.id))  # 0.3725925892392592592...
        self.assertTrue(verify_ledger(self.db, max_fee=SKL_USD.taker_fee).ok)

    def test_a_sell_holds_exactly_its_rest(self):
        self.store.place_hold(self.paper, "coinbase", "SKL", D("1"), self.selling.id)
        self.assertEqual(
            [
                {
                    "check": "order_hold",
                    "subject": self.subject(self.selling, currency="SKL", bound="exact"),
                    "expected": "150",
                    "found": "151",
                }
            ],
            self.differences(),
        )

    def test_a_market_buy_only_has_to_have_a_hold(self):
        walked = order(self.paper, "walked", "buy", "market", "10")
        self.orders.create(walked, ("USD", D("9.3")), "paper")
        self.assertTrue(verify_ledger(self.db).ok)
        unheld = order(self.paper, "unheld", "buy", "stop_market", "10", stop_price=D("0.95"))
        self.orders.create(unheld, None, "paper")
        self.assertEqual(
            [
                {
                    "check": "order_hold",
                    "subject": self.subject(unheld, currency="USD", bound="present"),
                    "expected": None,
                    "found": None,
                }
            ],
            self.differences(),
        )

    def test_a_hold_placed_on_a_cancelled_order(self):
        self.store.place_hold(self.paper, "coinbase", "USD", D("1"), self.cancelled.id)
        self.assertEqual(
            [
                {
                    "check": "closed_order_hold",
                    "subject": self.subject(self.cancelled, status="cancelled", exchange="coinbase", currency="USD"),
                    "expected": "0",
                    "found": "1",
                }
            ],
            self.differences(),
        )

    def test_an_order_closed_without_releasing_its_hold(self):
        models.Order.update(status="cancelled").where(models.Order.id == self.buying.id).execute()
        self.assertEqual(
            [
                {
                    "check": "closed_order_hold",
                    "subject": self.subject(self.buying, status="cancelled", exchange="coinbase", currency="USD"),
                    "expected": "0",
                    "found": "47.0808",
                }
            ],
            self.differences(),
        )

    def test_filled_size_executed_value_and_fees_are_the_sums_of_the_fills(self):
        models.Order.update(filled_size=D("449"), fees=D("2")).where(models.Order.id == self.bought.id).execute()
        self.assertEqual(
            [
                {
                    "check": "order_fills",
                    "subject": self.subject(self.bought, field="filled_size"),
                    "expected": "450",
                    "found": "449",
                },
                {
                    "check": "order_fills",
                    "subject": self.subject(self.bought, field="fees"),
                    "expected": "2.1357",
                    "found": "2",
                },
            ],
            self.differences(),
        )

    def test_a_fill_without_its_settlement(self):
        models.Fill.create(
            order=int(self.selling.id),
            trade_id="s2",
            price=D("0.9"),
            size=D("10"),
            fee=D("0.036"),
            fee_currency="USD",
            liquidity="maker",
            at=0,
        )
        models.Order.update(filled_size=D("60"), executed_value=D("54"), fees=D("0.216")).where(
            models.Order.id == self.selling.id
        ).execute()
        self.assertEqual(
            [
                {
                    "check": "order_hold",
                    "subject": self.subject(self.selling, currency="SKL", bound="exact"),
                    "expected": "140",
                    "found": "150",
                },  # nor did its hold follow
                {
                    "check": "fill_unsettled",
                    "subject": {"order": self.selling.id, "trade_id": "s2", "reference": f"{self.selling.id}/s2"},
                    "expected": None,
                    "found": None,
                },
            ],
            self.differences(),
        )

    def test_a_settlement_without_its_fill(self):
        terms = FillTerms.parse(Pair("SKL", "USD"), "buy", D("0.8"), D("1"))
        entry = self.store.settle_fill(self.paper, "coinbase", self.bought.id, terms, f"{self.bought.id}/lost")
        self.assertEqual(
            [
                {
                    "check": "settlement_without_fill",
                    "subject": {"transaction": entry.id, "reference": f"{self.bought.id}/lost"},
                    "expected": None,
                    "found": None,
                }
            ],
            self.differences(),
        )

    def test_an_unreadable_pair(self):
        models.Order.update(pair="SKLUSD").where(models.Order.id == self.buying.id).execute()
        self.assertEqual(
            [
                {
                    "check": "malformed_order",
                    "subject": self.subject(self.buying, pair="SKLUSD"),
                    "expected": None,
                    "found": None,
                }
            ],
            self.differences(),
        )

    def test_the_report_shows_the_first_differences_and_counts_the_rest(self):
        models.Order.update(filled_size=D("1"), executed_value=D("1"), fees=D("1")).where(
            models.Order.id == self.bought.id
        ).execute()
        report = verify_ledger(self.db)
        self.assertEqual(
            (["order_fills"], 2),
            (
                [d["check"] for d in report.as_json(limit=1)["differences"]],
                report.as_json(limit=1)["differences_left_off"],
            ),
        )
        self.assertNotIn("differences_left_off", report.as_json(limit=3))
        self.assertEqual("the ledger does not verify: 3 differences (order_fills)", report.summary())

    def test_report_is_json(self):
        Wallet.update(balance=D("1E+3")).where(Wallet.currency == "USD").execute()
        document = json.loads(json.dumps(verify_ledger(self.db).as_json()))
        self.assertEqual((False, "1000"), (document["ok"], document["differences"][0]["found"]))


VerifyCasesSqlite, VerifyCasesPostgres = on_both_databases(VerifyCases)


if __name__ == "__main__":
    unittest.main()
