"""The wallet-set store on both databases: operations, atomicity, locking, randomised sequences."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import unittest
from collections import Counter, defaultdict
from decimal import Decimal
from unittest import mock

import psycopg2
import psycopg2.errors

from exchange_wrapper.core.errors import (
    Conflict,
    DatabaseUnavailable,
    InsufficientFunds,
    InvalidParameter,
    NotFound,
    Overallocated,
    UnknownExchange,
)
from exchange_wrapper.core.ledger import FillTerms
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.storage.database import is_postgres
from exchange_wrapper.storage.models import Hold, LedgerPosting, LedgerTransaction, Wallet
from exchange_wrapper.storage.verify import account_balances, verify_ledger
from exchange_wrapper.storage.wallets import WalletStore
from tests.core.test_ledger import coinbase_matches
from tests.storage.dbs import DatabaseCase, on_both_databases

D = Decimal
START_US = 1_618_677_817_129_516  # when the Coinbase capture was recorded
SKL_USD = Pair("SKL", "USD")


class StoreCase(DatabaseCase):
    """``self.store`` on ``self.db`` with a clock that ticks one microsecond per reading."""

    def setUp(self):
        super().setUp()
        ticks = iter(range(START_US, START_US + 10**9))
        self.store = WalletStore(self.db, clock=lambda: next(ticks))

    def wallet(self, wallet_set: int, currency: str, exchange: str = "coinbase") -> tuple[Decimal, ...]:
        """(balance, hold, available); zeros for a wallet that does not exist."""
        for row in self.store.balances(wallet_set):
            if (row.exchange, row.currency) == (exchange, currency):
                return row.balance, row.hold, row.available
        return D(0), D(0), D(0)

    def assert_verified(self):
        """The ledger verifies. These tests settle fills of orders the order store never wrote, so
        their settlements have no fill row (that check is tested in test_verify)."""
        report = verify_ledger(self.db)
        self.assertEqual([], [d.as_json() for d in report.differences if d.check != "settlement_without_fill"])

    def row_counts(self) -> tuple[int, int, int, int]:
        return (
            LedgerTransaction.select().count(),
            LedgerPosting.select().count(),
            Wallet.select().count(),
            Hold.select().count(),
        )


class WalletSetCases(StoreCase):
    def test_create_and_find_by_id_or_name(self):
        paper = self.store.create_wallet_set("momentum", "paper")
        live = self.store.create_wallet_set("market-maker.1", "live")
        self.assertEqual((1, "momentum", "paper", START_US), (paper.id, paper.name, paper.mode.value, paper.created_at))
        self.assertEqual(live, self.store.wallet_set("market-maker.1"))
        self.assertEqual(paper, self.store.wallet_set(paper.id))
        self.assertEqual([paper, live], self.store.wallet_sets())
        self.assertEqual(
            {"id": 1, "name": "momentum", "mode": "paper", "created_at": START_US, "closed_at": None}, paper.as_json()
        )

    def test_names_are_unique(self):
        self.store.create_wallet_set("momentum", "paper")
        with self.assertRaises(Conflict) as caught:
            self.store.create_wallet_set("momentum", "live")
        self.assertIn("momentum", str(caught.exception))
        self.assertEqual(1, len(self.store.wallet_sets()))

    def test_a_set_is_known_once_read_and_committed(self):
        created = self.store.create_wallet_set("momentum", "paper")
        self.assertIsNone(self.store.known_wallet_set(created.id))
        self.assertEqual(created, self.store.wallet_set("momentum"))
        self.assertEqual(
            (created, created), (self.store.known_wallet_set(created.id), self.store.known_wallet_set("momentum"))
        )
        with self.assertRaises(RuntimeError), self.store.transaction():
            undone = self.store.create_wallet_set("undone", "live")
            self.assertEqual(undone, self.store.wallet_set(undone.id))  # seen by its own transaction
            raise RuntimeError("rolled back")
        self.assertEqual((None, None), (self.store.known_wallet_set(undone.id), self.store.known_wallet_set("undone")))
        with self.assertRaises(NotFound):
            self.store.wallet_set("undone")
        with self.store.transaction():
            kept = self.store.create_wallet_set("kept", "live")
            self.store.wallet_set("kept")
            self.assertIsNone(self.store.known_wallet_set("kept"))  # not before the commit
        self.assertEqual(kept, self.store.known_wallet_set(kept.id))

    def test_bad_names_modes_and_keys(self):
        with self.assertRaises(InvalidParameter) as caught:
            self.store.create_wallet_set("no spaces", "paper")
        self.assertEqual("name", caught.exception.field)
        with self.assertRaises(InvalidParameter) as caught:
            self.store.create_wallet_set("x", "demo")
        self.assertEqual("mode", caught.exception.field)
        with self.assertRaises(NotFound):
            self.store.wallet_set("nobody")
        with self.assertRaises(NotFound):
            self.store.wallet_set(99)
        with self.assertRaises(InvalidParameter):
            self.store.wallet_set(1.0)


class PaperMoneyCases(StoreCase):
    def setUp(self):
        super().setUp()
        self.ws = self.store.create_wallet_set("paper-a", "paper").id

    def test_fund_and_withdraw(self):
        entry = self.store.move_funds("fund", self.ws, "coinbase", "USD", D("1000"), memo="seed money")
        self.store.move_funds("withdraw", "paper-a", "coinbase", "USD", D("0.01"))
        self.assertEqual((D("999.99"), D("0"), D("999.99")), self.wallet(self.ws, "USD"))
        self.assertEqual("fund", entry.kind.value)
        self.assertEqual("seed money", entry.memo)
        self.assert_verified()

    def test_the_widest_amounts_move_exactly(self):
        widest = D("999999999999999.999999999999999999")  # what the API takes: 15 digits and 18 places
        other = self.store.create_wallet_set("paper-b", "paper").id
        self.store.move_funds("fund", self.ws, "coinbase", "USD", widest)
        self.store.move_funds("fund", self.ws, "coinbase", "USD", widest)
        self.store.transfer(self.ws, other, "coinbase", "USD", widest)
        self.assertEqual((widest, D(0), widest), self.wallet(self.ws, "USD"))
        self.store.place_hold(other, "coinbase", "USD", widest, "o1")
        self.assertEqual((widest, widest, D(0)), self.wallet(other, "USD"))
        self.store.release_hold(other, "o1")
        self.store.move_funds("withdraw", other, "coinbase", "USD", widest)
        self.assertEqual((D(0), D(0), D(0)), self.wallet(other, "USD"))
        self.assertEqual(
            [widest.copy_negate(), widest, widest.copy_negate(), widest],
            [p.amount for p in self.store.entries(self.ws)[-1].postings + self.store.entries(other)[0].postings],
        )
        self.assert_verified()

    def test_overdraft_refused_and_nothing_changes(self):
        self.store.move_funds("fund", self.ws, "coinbase", "USD", D("10"))
        before = self.row_counts()
        with self.assertRaises(InsufficientFunds) as caught:
            self.store.move_funds("withdraw", self.ws, "coinbase", "USD", D("10.000000000000000001"))
        self.assertEqual(
            {
                "wallet_set_id": self.ws,
                "exchange": "coinbase",
                "currency": "USD",
                "needed": "10.000000000000000001",
                "available": "10",
            },
            caught.exception.details(),
        )
        with self.assertRaises(InsufficientFunds):
            self.store.move_funds("withdraw", self.ws, "coinbase", "EUR", D("1"))  # no EUR wallet is left
        self.assertEqual(before, self.row_counts())
        self.assertEqual((D("10"), D("0"), D("10")), self.wallet(self.ws, "USD"))
        self.assert_verified()

    def test_live_only_operations_refused(self):
        with self.assertRaises(Conflict) as caught:
            self.store.move_funds("allocate", self.ws, "coinbase", "USD", D("1"))
        self.assertIn("allocate is for live wallet sets only", str(caught.exception))

    def test_only_the_four_fund_moves(self):
        for kind in ("transfer", "hold", "deposit", None):
            with self.subTest(kind=kind), self.assertRaises(InvalidParameter) as caught:
                self.store.move_funds(kind, self.ws, "coinbase", "USD", D("1"))
            self.assertEqual("kind", caught.exception.field)
            self.assertIn('"fund" or "withdraw" or "allocate" or "deallocate"', str(caught.exception))

    def test_unknown_exchange_and_bad_amounts(self):
        with self.assertRaises(UnknownExchange):
            self.store.move_funds("fund", self.ws, "mtgox", "USD", D("1"))
        for amount in (D("0.0000000000000000001"), D("-1"), 1.5):
            with self.subTest(amount=amount), self.assertRaises(InvalidParameter):
                self.store.move_funds("fund", self.ws, "coinbase", "USD", amount)
        self.assertEqual((0, 0, 0, 0), self.row_counts())


class LiveAllocationCases(StoreCase):
    def setUp(self):
        super().setUp()
        self.a = self.store.create_wallet_set("live-a", "live").id
        self.b = self.store.create_wallet_set("live-b", "live").id

    def test_nothing_to_allocate_before_reconciliation(self):
        with self.assertRaises(InsufficientFunds) as caught:
            self.store.move_funds("allocate", self.a, "kraken", "BTC", D("0.1"))
        self.assertEqual(D("0"), caught.exception.available)

    def test_allocations_capped_by_the_real_account_over_all_live_sets(self):
        self.assertEqual("reconcile", self.store.reconcile("kraken", "BTC", D("2.5")).kind.value)
        self.store.move_funds("allocate", self.a, "kraken", "BTC", D("1.5"))
        self.store.move_funds("allocate", self.b, "kraken", "BTC", D("1"))
        with self.assertRaises(InsufficientFunds) as caught:
            self.store.move_funds("allocate", self.b, "kraken", "BTC", D("0.00000001"))
        self.assertEqual(
            (self.b, D("0.00000001"), D("0")),
            (caught.exception.wallet_set, caught.exception.needed, caught.exception.available),
        )
        self.store.move_funds("deallocate", self.a, "kraken", "BTC", D("0.5"))
        self.assertEqual((D("2.5"), D("0.5")), self.store.exchange_account("kraken", "BTC"))
        self.assert_verified()

    def test_the_largest_stored_amounts_reconcile_and_allocate_exactly(self):
        largest = D("99999999999999999999.999999999999999999")  # NUMERIC(38, 18)
        self.store.reconcile("kraken", "USD", largest)
        self.store.move_funds("allocate", self.a, "kraken", "USD", largest)
        self.assertEqual((largest, D(0)), self.store.exchange_account("kraken", "USD"))
        self.store.move_funds("deallocate", self.a, "kraken", "USD", largest)
        self.store.reconcile("kraken", "USD", D(0))
        self.assertEqual((D(0), D(0)), self.store.exchange_account("kraken", "USD"))
        self.assert_verified()

    def test_reconcile_follows_deposits_and_withdrawals(self):
        self.store.reconcile("kraken", "BTC", D("2"))
        self.store.move_funds("allocate", self.a, "kraken", "BTC", D("1.5"))
        self.assertIsNone(self.store.reconcile("kraken", "BTC", D("2")))
        self.store.reconcile("kraken", "BTC", D("1.6"))
        self.assertEqual((D("1.6"), D("0.1")), self.store.exchange_account("kraken", "BTC"))
        with self.assertRaises(Overallocated) as caught:
            self.store.reconcile("kraken", "BTC", D("1.4"))
        self.assertEqual(
            {"exchange": "kraken", "currency": "BTC", "total": "1.4", "allocated": "1.5"}, caught.exception.details()
        )
        self.assertEqual((D("1.6"), D("0.1")), self.store.exchange_account("kraken", "BTC"))
        outside = {a.name: amount for a, amount in account_balances(self.db).items() if a.currency == "BTC"}
        self.assertEqual(
            {"outside": D("-1.6"), "unallocated": D("0.1"), f"wallet_set:{self.a}:available": D("1.5")}, outside
        )
        self.assert_verified()

    def test_reconcile_counts_live_holds_and_fills_as_allocated(self):
        self.store.reconcile("kraken", "USD", D("1000"))
        self.store.move_funds("allocate", self.a, "kraken", "USD", D("1000"))
        self.store.place_hold(self.a, "kraken", "USD", D("400"), "o1")
        fill = FillTerms.parse(Pair("BTC", "USD"), "buy", D("39000"), D("0.01"), D("0.39"))
        self.store.settle_fill(self.a, "kraken", "o1", fill, "f1")
        # the real account paid 390.39 USD: reconciling to what it now holds moves nothing
        self.assertIsNone(self.store.reconcile("kraken", "USD", D("609.61")))
        self.assert_verified()

    def test_paper_and_live_do_not_mix(self):
        paper = self.store.create_wallet_set("paper-a", "paper").id
        self.store.move_funds("fund", paper, "kraken", "BTC", D("1"))
        with self.assertRaises(Conflict):
            self.store.transfer(paper, self.a, "kraken", "BTC", D("1"))
        with self.assertRaises(Conflict):
            self.store.move_funds("fund", self.a, "kraken", "BTC", D("1"))
        self.store.reconcile("kraken", "BTC", D("1"))
        self.store.move_funds("allocate", self.a, "kraken", "BTC", D("1"))
        self.store.transfer(self.a, self.b, "kraken", "BTC", D("0.25"))
        self.assertEqual((D("0.25"), D("0"), D("0.25")), self.wallet(self.b, "BTC", "kraken"))
        self.assert_verified()


class TransferCases(StoreCase):
    def test_transfer_between_paper_sets(self):
        a = self.store.create_wallet_set("a", "paper").id
        b = self.store.create_wallet_set("b", "paper").id
        self.store.move_funds("fund", a, "binance", "USDT", D("100"))
        entry = self.store.transfer("a", "b", "binance", "USDT", D("40.5"))
        self.assertEqual(
            sorted([(f"wallet_set:{a}:available", D("-40.5")), (f"wallet_set:{b}:available", D("40.5"))]),
            sorted((p.account.name, p.amount) for p in entry.postings),
        )
        self.assertEqual((D("59.5"), D("0"), D("59.5")), self.wallet(a, "USDT", "binance"))
        with self.assertRaises(InsufficientFunds):
            self.store.transfer(a, b, "binance", "USDT", D("59.51"))
        with self.assertRaises(InvalidParameter):
            self.store.transfer(a, a, "binance", "USDT", D("1"))
        self.assert_verified()


class HoldCases(StoreCase):
    def setUp(self):
        super().setUp()
        self.ws = self.store.create_wallet_set("paper-a", "paper").id
        self.store.move_funds("fund", self.ws, "coinbase", "USD", D("100"))

    def test_hold_and_release(self):
        self.store.place_hold(self.ws, "coinbase", "USD", D("30"), "o1")
        self.store.place_hold(self.ws, "coinbase", "USD", D("5"), "o1")
        self.assertEqual((D("100"), D("35"), D("65")), self.wallet(self.ws, "USD"))
        self.assertEqual(D("35"), self.store.held(self.ws, "o1"))
        self.store.release_hold(self.ws, "o1", D("10"))
        self.assertEqual(D("25"), self.store.held(self.ws, "o1"))
        entry = self.store.release_hold(self.ws, "o1")
        self.assertEqual(("release", "o1"), (entry.kind.value, entry.reference))
        self.assertIsNone(self.store.release_hold(self.ws, "o1"))
        self.assertIsNone(self.store.release_hold(self.ws, "never-held"))
        self.assertEqual((D("100"), D("0"), D("100")), self.wallet(self.ws, "USD"))
        self.assert_verified()

    def test_hold_beyond_available_refused(self):
        self.store.place_hold(self.ws, "coinbase", "USD", D("60"), "o1")
        before = self.row_counts()
        with self.assertRaises(InsufficientFunds) as caught:
            self.store.place_hold(self.ws, "coinbase", "USD", D("40.01"), "o2")
        self.assertEqual((D("40.01"), D("40")), (caught.exception.needed, caught.exception.available))
        self.assertEqual(before, self.row_counts())

    def test_one_order_holds_one_currency(self):
        self.store.move_funds("fund", self.ws, "coinbase", "BTC", D("1"))
        self.store.place_hold(self.ws, "coinbase", "USD", D("1"), "o1")
        with self.assertRaises(Conflict):
            self.store.place_hold(self.ws, "coinbase", "BTC", D("0.1"), "o1")

    def test_release_more_than_held_refused(self):
        self.store.place_hold(self.ws, "coinbase", "USD", D("1"), "o1")
        with self.assertRaises(InsufficientFunds):
            self.store.release_hold(self.ws, "o1", D("1.5"))
        with self.assertRaises(NotFound):
            self.store.release_hold(self.ws, "never-held", D("1"))


class FillCases(StoreCase):
    """Fills at the prices and sizes of SKL-USD trades recorded on Coinbase, 0.5 % taker fee."""

    def setUp(self):
        super().setUp()
        self.ws = self.store.create_wallet_set("paper-a", "paper").id
        self.matches = coinbase_matches("SKL-USD", 2)

    def fill(self, index: int, side: str) -> FillTerms:
        match = self.matches[index]
        return FillTerms.parse(
            SKL_USD, side, match["price"], match["size"], match["price"] * match["size"] * D("0.005")
        )

    def test_buy_then_sell(self):
        self.store.move_funds("fund", self.ws, "coinbase", "USD", D("2000"))
        self.store.place_hold(self.ws, "coinbase", "USD", D("400"), "buy-1")  # limit 0.8 for 450 + fee
        self.store.settle_fill(self.ws, "coinbase", "buy-1", self.fill(0, "buy"), "fill-1")
        self.assertEqual(D("42.27025"), self.store.held(self.ws, "buy-1"))  # 400 - 355.95 - 1.77975
        self.store.release_hold(self.ws, "buy-1")
        self.assertEqual((D("1642.27025"), D("0"), D("1642.27025")), self.wallet(self.ws, "USD"))
        self.assertEqual((D("450"), D("0"), D("450")), self.wallet(self.ws, "SKL"))

        self.store.place_hold(self.ws, "coinbase", "SKL", D("450"), "sell-1")
        sell = FillTerms.parse(SKL_USD, "sell", self.matches[1]["price"], D("450"), D("1.7802"))
        self.store.settle_fill(self.ws, "coinbase", "sell-1", sell, "fill-2")  # 450 at 0.7912 = 356.04
        self.assertEqual((D("1996.53005"), D("0"), D("1996.53005")), self.wallet(self.ws, "USD"))
        self.assertEqual((D("0"), D("0"), D("0")), self.wallet(self.ws, "SKL"))
        totals = defaultdict(D)
        for account, amount in account_balances(self.db).items():
            totals[account.name] += amount if account.currency == "USD" else 0
        self.assertEqual(
            {
                "virtual_funding": D("-2000"),
                "market": D("-0.09"),
                "fees": D("3.55995"),
                f"wallet_set:{self.ws}:available": D("1996.53005"),
            },
            dict(totals),
        )
        self.assert_verified()

    def test_the_same_fill_is_settled_once(self):
        self.store.move_funds("fund", self.ws, "coinbase", "USD", D("2000"))
        self.store.place_hold(self.ws, "coinbase", "USD", D("800"), "buy-1")
        self.store.settle_fill(self.ws, "coinbase", "buy-1", self.fill(0, "buy"), "fill-1")
        before = self.row_counts()
        with self.assertRaises(Conflict) as caught:
            self.store.settle_fill(self.ws, "coinbase", "buy-1", self.fill(0, "buy"), "fill-1")
        self.assertIn("fill-1", str(caught.exception))
        self.assertEqual(before, self.row_counts())

    def test_short_hold_takes_available_and_refuses_cleanly(self):
        self.store.move_funds("fund", self.ws, "coinbase", "USD", D("357"))
        self.store.place_hold(self.ws, "coinbase", "USD", D("355.95"), "buy-1")
        before = self.row_counts()
        with self.assertRaises(InsufficientFunds) as caught:
            self.store.settle_fill(self.ws, "coinbase", "buy-1", self.fill(0, "buy"), "fill-1")
        self.assertEqual((D("1.77975"), D("1.05")), (caught.exception.needed, caught.exception.available))
        self.assertEqual(before, self.row_counts())  # not even an SKL wallet was left behind
        self.store.move_funds("fund", self.ws, "coinbase", "USD", D("0.72975"))
        self.store.settle_fill(self.ws, "coinbase", "buy-1", self.fill(0, "buy"), "fill-1")
        self.assertEqual((D("0"), D("0"), D("0")), self.wallet(self.ws, "USD"))
        self.assert_verified()

    def test_failure_after_postings_leaves_nothing_written(self):
        self.store.move_funds("fund", self.ws, "coinbase", "USD", D("2000"))
        before = self.row_counts()
        with mock.patch.object(WalletStore, "_project", side_effect=RuntimeError("disk on fire")):
            with self.assertRaises(RuntimeError):
                self.store.place_hold(self.ws, "coinbase", "USD", D("10"), "o1")
        self.assertEqual(before, self.row_counts())
        self.assert_verified()


class ReadingCases(StoreCase):
    def setUp(self):
        super().setUp()
        self.a = self.store.create_wallet_set("a", "paper").id
        self.b = self.store.create_wallet_set("b", "paper").id
        self.store.move_funds("fund", self.a, "coinbase", "USD", D("100"))
        self.store.move_funds("fund", self.a, "coinbase", "BTC", D("0.5"))
        self.store.move_funds("fund", self.a, "kraken", "EUR", D("7"))
        self.store.place_hold(self.a, "coinbase", "USD", D("30"), "o1")
        self.store.transfer(self.a, self.b, "coinbase", "USD", D("20"))

    def test_balances_with_usd_values(self):
        prices = {("coinbase", "BTC"): D("61234.56")}
        rows = self.store.balances(self.a, price=lambda exchange, currency: prices.get((exchange, currency)))
        self.assertEqual(
            [
                ("coinbase", "BTC", D("0.5"), D("0"), D("0.5"), D("30617.28")),
                ("coinbase", "USD", D("80"), D("30"), D("50"), D("80")),
                ("kraken", "EUR", D("7"), D("0"), D("7"), None),
            ],
            [(r.exchange, r.currency, r.balance, r.hold, r.available, r.usd_value) for r in rows],
        )
        self.assertEqual(
            {
                "exchange": "coinbase",
                "currency": "USD",
                "balance": "80",
                "hold": "30",
                "available": "50",
                "usd_value": "80",
            },
            rows[1].as_json(),
        )
        self.assertIsNone(self.store.balances(self.a)[0].usd_value)

    def test_entries_newest_first_filtered_and_paged(self):
        entries = self.store.entries(self.a)
        self.assertEqual(["transfer", "hold", "fund", "fund", "fund"], [e.kind.value for e in entries])
        self.assertEqual(["transfer"], [e.kind.value for e in self.store.entries(self.b)])
        self.assertEqual(["hold"], [e.kind.value for e in self.store.entries(reference="o1")])
        page = self.store.entries(self.a, limit=2, before=entries[1].id)
        self.assertEqual([entries[2].id, entries[3].id], [e.id for e in page])
        document = json.loads(json.dumps(entries[1].as_json()))
        self.assertEqual(
            {
                "id": entries[1].id,
                "kind": "hold",
                "reference": "o1",
                "memo": "",
                "created_at": entries[1].created_at,
                "postings": [
                    {
                        "account": f"wallet_set:{self.a}:available",
                        "exchange": "coinbase",
                        "currency": "USD",
                        "amount": "-30",
                    },
                    {
                        "account": f"wallet_set:{self.a}:hold:o1",
                        "exchange": "coinbase",
                        "currency": "USD",
                        "amount": "30",
                    },
                ],
            },
            document,
        )
        with self.assertRaises(InvalidParameter):
            self.store.entries(limit=0)


class LockingCases(StoreCase):
    def test_concurrent_holds_never_overdraw(self):
        """16 threads x 50 holds of 3 USD race for 300 USD: exactly 100 succeed."""
        ws = self.store.create_wallet_set("racer", "paper").id
        self.store.move_funds("fund", ws, "coinbase", "USD", D("300.5"))
        outcomes = Counter()
        lock = threading.Lock()

        def place(thread: int):
            try:
                for n in range(50):
                    try:
                        self.store.place_hold(ws, "coinbase", "USD", D("3"), f"t{thread}-{n}")
                        result = "held"
                    except InsufficientFunds:
                        result = "refused"
                    with lock:
                        outcomes[result] += 1
            finally:
                self.db.close()

        run_threads(place, 16)
        self.assertEqual({"held": 100, "refused": 700}, dict(outcomes))
        self.assertEqual((D("300.5"), D("300"), D("0.5")), self.wallet(ws, "USD"))
        self.assertEqual(100, Hold.select().count())
        self.assert_verified()

    def test_the_write_transaction_locks_what_it_read(self):
        ws = self.store.create_wallet_set("a", "paper").id
        self.store.move_funds("fund", ws, "coinbase", "USD", D("10"))
        with self.store.transaction():
            self.store.place_hold(ws, "coinbase", "USD", D("1"), "o1")
            self.assertTrue(other_writer_blocked(self, ws))
        self.assertFalse(other_writer_blocked(self, ws))

    def test_callers_group_store_calls_in_one_transaction(self):
        ws = self.store.create_wallet_set("a", "paper").id
        self.store.move_funds("fund", ws, "coinbase", "USD", D("10"))
        before = self.row_counts()
        with self.assertRaises(RuntimeError), self.store.transaction():
            self.store.place_hold(ws, "coinbase", "USD", D("4"), "o1")
            self.store.place_hold(ws, "coinbase", "USD", D("4"), "o2")
            raise RuntimeError("the order could not be recorded")
        self.assertEqual(before, self.row_counts())
        self.assertEqual((D("10"), D("0"), D("10")), self.wallet(ws, "USD"))

    def test_crossing_transfers_do_not_deadlock(self):
        a = self.store.create_wallet_set("a", "paper").id
        b = self.store.create_wallet_set("b", "paper").id
        for ws in (a, b):
            self.store.move_funds("fund", ws, "coinbase", "USD", D("50"))
            self.store.move_funds("fund", ws, "coinbase", "BTC", D("1"))

        def shuffle(thread: int):
            rng = random.Random(thread)
            try:
                for _ in range(15):
                    source, target = (a, b) if rng.random() < 0.5 else (b, a)
                    currency = rng.choice(("USD", "BTC"))
                    try:
                        self.store.transfer(source, target, "coinbase", currency, D(rng.randint(1, 30)) / 100)
                    except InsufficientFunds:
                        pass
            finally:
                self.db.close()

        run_threads(shuffle, 8)
        self.assertEqual(D("100"), self.wallet(a, "USD")[0] + self.wallet(b, "USD")[0])
        self.assertEqual(D("2"), self.wallet(a, "BTC")[0] + self.wallet(b, "BTC")[0])
        self.assert_verified()

    def test_concurrent_allocations_share_one_cap(self):
        sets = [self.store.create_wallet_set(f"live-{i}", "live").id for i in range(4)]
        self.store.reconcile("binance", "BTC", D("5"))

        def allocate(thread: int):
            try:
                for _ in range(4):
                    try:
                        self.store.move_funds("allocate", sets[thread % 4], "binance", "BTC", D("0.5"))
                    except InsufficientFunds:
                        pass
            finally:
                self.db.close()

        run_threads(allocate, 8)
        self.assertEqual(10, sum(self.wallet(ws, "BTC", "binance")[0] for ws in sets) / D("0.5"))
        self.assertEqual((D("5"), D("0")), self.store.exchange_account("binance", "BTC"))
        self.assert_verified()

    def test_a_writer_waits_for_a_lock_held_elsewhere(self):
        ws = self.store.create_wallet_set("a", "paper").id
        self.store.move_funds("fund", ws, "coinbase", "USD", D("10"))
        with lock_elsewhere(self, ws, release_after=0.2):
            self.store.move_funds("withdraw", ws, "coinbase", "USD", D("1"))
        self.assertEqual(D("9"), self.wallet(ws, "USD")[0])

    def test_lock_conflicts_retried_then_reported(self):
        ws = self.store.create_wallet_set("a", "paper").id
        self.store.move_funds("fund", ws, "coinbase", "USD", D("10"))
        short_lock_timeout(self)
        with lock_elsewhere(self, ws, release_after=0.15):
            # fails fast, retried until the lock is gone
            self.store.move_funds("withdraw", ws, "coinbase", "USD", D("1"))
        impatient = WalletStore(self.db, attempts=2)
        with lock_elsewhere(self, ws, release_after=2), self.assertRaises(DatabaseUnavailable) as caught:
            impatient.move_funds("withdraw", ws, "coinbase", "USD", D("1"))
        self.assertIn("lock conflict after 2 attempts", str(caught.exception))
        self.assertEqual(D("9"), self.wallet(ws, "USD")[0])


class LedgerModel:
    """The expected balance of every account, kept by the test's own arithmetic.

    Accounts are (name, exchange, currency); wallet-set accounts and ``unallocated`` may never
    go negative, and an operation that would make one negative changes nothing.
    """

    def __init__(self):
        self.accounts: dict[tuple[str, str, str], Decimal] = defaultdict(D)
        self.orders: dict[str, tuple[int, str, str]] = {}  # order -> (wallet set, exchange, held currency)

    def apply(self, moves: list[tuple[tuple[str, str, str], Decimal]]) -> bool:
        after = dict(self.accounts)
        for key, amount in moves:
            after[key] = after.get(key, D(0)) + amount
        if any(
            amount < 0
            for (name, _, _), amount in after.items()
            if name.startswith("wallet_set:") or name == "unallocated"
        ):
            return False
        self.accounts.update(after)
        return True

    def wallet(self, ws: int, exchange: str, currency: str) -> tuple[Decimal, Decimal]:
        """(balance, hold) of one wallet."""
        prefix = f"wallet_set:{ws}:"
        hold = sum(
            (
                a
                for (n, e, c), a in self.accounts.items()
                if n.startswith(prefix + "hold:") and (e, c) == (exchange, currency)
            ),
            D(0),
        )
        return self.accounts.get((prefix + "available", exchange, currency), D(0)) + hold, hold

    def non_zero(self) -> dict[tuple[str, str, str], Decimal]:
        return {key: amount for key, amount in self.accounts.items() if amount}


def avail(ws: int, exchange: str, currency: str) -> tuple[str, str, str]:
    return f"wallet_set:{ws}:available", exchange, currency


class RandomisedCases(StoreCase):
    """Random operations, overdrafts included, against :class:`LedgerModel`, over many seeds."""

    SEEDS = 10
    STEPS = 30

    def test_random_sequences_agree_with_the_model(self):
        model = LedgerModel()
        for seed in range(self.SEEDS):
            rng = random.Random(seed)
            sets = {
                mode: [self.store.create_wallet_set(f"s{seed}-{mode}-{i}", mode).id for i in range(2)]
                for mode in ("paper", "live")
            }
            self.start_funded(model, sets)
            for step in range(self.STEPS):
                operation = rng.choice(OPERATIONS)
                with self.subTest(seed=seed, step=step, operation=operation.__name__):
                    operation(self, model, rng, sets, f"{seed}-{step}")
            self.check_against(model, sets, seed)

    def start_funded(self, model: LedgerModel, sets: dict) -> None:
        """Each paper set gets 2000 USD and 0.1 BTC; each live set 1000 USD and 0.05 BTC of new deposits."""
        for currency, amount in (("USD", D("2000")), ("BTC", D("0.1"))):
            for ws in sets["paper"]:
                model.apply(
                    [(("virtual_funding", "coinbase", currency), -amount), (avail(ws, "coinbase", currency), amount)]
                )
                self.store.move_funds("fund", ws, "coinbase", currency, amount)
            deposit = amount  # half of the paper amount for each of the two live sets
            model.apply([(("outside", "kraken", currency), -deposit), (("unallocated", "kraken", currency), deposit)])
            held_by_ledger = model.accounts[("unallocated", "kraken", currency)] + sum(
                (model.wallet(ws, "kraken", currency)[0] for ws in sets_ever_live(model, currency)), D(0)
            )
            self.store.reconcile("kraken", currency, held_by_ledger)
            for ws in sets["live"]:
                model.apply(
                    [(("unallocated", "kraken", currency), -deposit / 2), (avail(ws, "kraken", currency), deposit / 2)]
                )
                self.store.move_funds("allocate", ws, "kraken", currency, deposit / 2)

    def check_against(self, model: LedgerModel, sets: dict, seed: int) -> None:
        with self.subTest(seed=seed, check="after the sequence"):
            self.assert_verified()
            stored = {(a.name, a.exchange, a.currency): amount for a, amount in account_balances(self.db).items()}
            self.assertEqual(model.non_zero(), stored)
            totals = defaultdict(D)
            for (_, _, currency), amount in stored.items():
                totals[currency] += amount
            self.assertEqual({}, {c: t for c, t in totals.items() if t})
            for ws in sets["paper"] + sets["live"]:
                for row in self.store.balances(ws):
                    self.assertEqual(model.wallet(ws, row.exchange, row.currency), (row.balance, row.hold))
                    self.assertGreaterEqual(row.available, 0)

    def expect(self, applied: bool, error: type[Exception], call) -> None:
        """``call`` succeeds if the model applied the operation, else raises ``error``."""
        if applied:
            call()
        else:
            self.assertRaises(error, call)


def exchange_of(sets: dict, ws: int) -> str:
    return "coinbase" if ws in sets["paper"] else "kraken"


def random_amount(rng: random.Random, top: int, places: int) -> Decimal:
    return D(rng.randint(1, top * 10**places)).scaleb(-places)


def random_share(rng: random.Random, balance: Decimal, places: int = 6) -> Decimal:
    """Up to 130 % of ``balance`` (so about one in four overdraws), or a small amount if it is empty."""
    step = D(1).scaleb(-places)
    if balance <= 0:
        return random_amount(rng, 1, places)
    return max((balance * rng.randint(1, 130) / 100).quantize(step), step)


def op_fund(test, model, rng, sets, tag):
    ws, currency = rng.choice(sets["paper"]), rng.choice(("USD", "BTC"))
    amount = random_amount(rng, 3000 if currency == "USD" else 1, 8)
    model.apply([(("virtual_funding", "coinbase", currency), -amount), (avail(ws, "coinbase", currency), amount)])
    test.store.move_funds("fund", ws, "coinbase", currency, amount)


def op_withdraw(test, model, rng, sets, tag):
    ws, currency = rng.choice(sets["paper"]), rng.choice(("USD", "BTC"))
    amount = random_share(rng, model.accounts[avail(ws, "coinbase", currency)], 8)
    applied = model.apply(
        [(avail(ws, "coinbase", currency), -amount), (("virtual_funding", "coinbase", currency), amount)]
    )
    test.expect(applied, InsufficientFunds, lambda: test.store.move_funds("withdraw", ws, "coinbase", currency, amount))


def op_transfer(test, model, rng, sets, tag):
    mode = rng.choice(("paper", "live"))
    source, target = sets[mode]
    if rng.random() < 0.5:
        source, target = target, source
    exchange, currency = exchange_of(sets, source), rng.choice(("USD", "BTC"))
    amount = random_share(rng, model.accounts[avail(source, exchange, currency)])
    applied = model.apply([(avail(source, exchange, currency), -amount), (avail(target, exchange, currency), amount)])
    test.expect(applied, InsufficientFunds, lambda: test.store.transfer(source, target, exchange, currency, amount))


def op_mixed_transfer(test, model, rng, sets, tag):
    with test.assertRaises(Conflict):
        test.store.transfer(rng.choice(sets["paper"]), rng.choice(sets["live"]), "coinbase", "USD", D("1"))


def op_reconcile(test, model, rng, sets, tag):
    currency = rng.choice(("USD", "BTC"))
    total = random_amount(rng, 5000 if currency == "USD" else 2, 8)
    allocated = sum((model.wallet(ws, "kraken", currency)[0] for ws in sets_ever_live(model, currency)), D(0))
    if total < allocated:
        with test.assertRaises(Overallocated):
            test.store.reconcile("kraken", currency, total)
        return
    unallocated = model.accounts[("unallocated", "kraken", currency)]
    model.apply(
        [
            (("outside", "kraken", currency), unallocated + allocated - total),
            (("unallocated", "kraken", currency), total - allocated - unallocated),
        ]
    )
    test.store.reconcile("kraken", currency, total)


def sets_ever_live(model: LedgerModel, currency: str) -> set[int]:
    """Every live set (of any seed) that has had funds in ``currency`` on kraken."""
    return {
        int(name.split(":")[1])
        for name, exchange, c in model.accounts
        if name.startswith("wallet_set:") and exchange == "kraken" and c == currency
    }


def op_allocate(test, model, rng, sets, tag):
    ws, currency = rng.choice(sets["live"]), rng.choice(("USD", "BTC"))
    if rng.random() < 0.6:
        amount = random_share(rng, model.accounts[("unallocated", "kraken", currency)], 8)
        applied = model.apply([(("unallocated", "kraken", currency), -amount), (avail(ws, "kraken", currency), amount)])
        test.expect(
            applied, InsufficientFunds, lambda: test.store.move_funds("allocate", ws, "kraken", currency, amount)
        )
    else:
        amount = random_share(rng, model.accounts[avail(ws, "kraken", currency)], 8)
        applied = model.apply([(avail(ws, "kraken", currency), -amount), (("unallocated", "kraken", currency), amount)])
        test.expect(
            applied, InsufficientFunds, lambda: test.store.move_funds("deallocate", ws, "kraken", currency, amount)
        )


def op_hold(test, model, rng, sets, tag):
    ws = rng.choice(sets["paper"] + sets["live"])
    exchange = exchange_of(sets, ws)
    mine = [o for o, (owner, _, _) in model.orders.items() if owner == ws]
    order = rng.choice(mine) if mine and rng.random() < 0.3 else f"o{tag}"
    currency = model.orders[order][2] if order in model.orders else rng.choice(("USD", "BTC"))
    amount = random_share(rng, model.accounts[avail(ws, exchange, currency)])
    applied = model.apply(
        [(avail(ws, exchange, currency), -amount), ((f"wallet_set:{ws}:hold:{order}", exchange, currency), amount)]
    )
    if applied:
        model.orders[order] = (ws, exchange, currency)
    test.expect(applied, InsufficientFunds, lambda: test.store.place_hold(ws, exchange, currency, amount, order))


def op_release(test, model, rng, sets, tag):
    if not model.orders:
        return
    order = rng.choice(sorted(model.orders))
    ws, exchange, currency = model.orders[order]
    hold_key = (f"wallet_set:{ws}:hold:{order}", exchange, currency)
    amount = None if rng.random() < 0.5 else random_share(rng, model.accounts[hold_key])
    released = model.accounts[hold_key] if amount is None else amount
    applied = model.apply([(hold_key, -released), (avail(ws, exchange, currency), released)])
    result = []
    test.expect(applied, InsufficientFunds, lambda: result.append(test.store.release_hold(ws, order, amount)))
    if applied and not released:
        test.assertEqual([None], result)


def op_fill(test, model, rng, sets, tag):
    if not model.orders:
        return
    order = rng.choice(sorted(model.orders))
    ws, exchange, held_currency = model.orders[order]
    side = "buy" if held_currency == "USD" else "sell"
    price, size = random_amount(rng, 40000, 2), D(rng.randint(1, 500)).scaleb(-4)
    cost = price * size
    fee = cost * rng.choice((D(0), D("0.001"), D("0.005")))
    paid, paid_amount, received, received_amount = (
        ("USD", cost, "BTC", size) if side == "buy" else ("BTC", size, "USD", cost)
    )
    debits = defaultdict(D, {paid: paid_amount})
    debits["USD"] += fee
    moves = [
        (("market", exchange, paid), paid_amount),
        (("market", exchange, received), -received_amount),
        (("fees", exchange, "USD"), fee),
        (avail(ws, exchange, received), received_amount),
    ]
    for currency, debit in debits.items():
        hold_key = (f"wallet_set:{ws}:hold:{order}", exchange, currency)
        from_hold = min(model.accounts.get(hold_key, D(0)), debit)
        moves += [(hold_key, -from_hold), (avail(ws, exchange, currency), from_hold - debit)]
    applied = model.apply(moves)
    fill = FillTerms.parse(Pair("BTC", "USD"), side, price, size, fee)
    test.expect(applied, InsufficientFunds, lambda: test.store.settle_fill(ws, exchange, order, fill, f"f{tag}"))


OPERATIONS = (
    op_fund,
    op_fund,
    op_withdraw,
    op_transfer,
    op_mixed_transfer,
    op_reconcile,
    op_allocate,
    op_allocate,
    op_hold,
    op_hold,
    op_hold,
    op_release,
    op_fill,
    op_fill,
    op_fill,
)


class lock_elsewhere:
    """Another connection holds the write lock (SQLite) or the set's wallet rows (PostgreSQL)."""

    def __init__(self, test: StoreCase, wallet_set: int, release_after: float):
        self.test, self.wallet_set, self.release_after = test, wallet_set, release_after

    def __enter__(self):
        if is_postgres(self.test.db):
            self.connection = psycopg2.connect(self.test.url)
            self.connection.cursor().execute(
                "SELECT id FROM wallet WHERE wallet_set_id = %s FOR UPDATE", (self.wallet_set,)
            )
        else:
            self.connection = sqlite3.connect(self.test.db.database, isolation_level=None, check_same_thread=False)
            self.connection.execute("BEGIN IMMEDIATE")
        self.timer = threading.Timer(self.release_after, self.connection.rollback)
        self.timer.start()

    def __exit__(self, *exc):
        self.timer.cancel()
        self.timer.join()
        self.connection.rollback()
        self.connection.close()


def other_writer_blocked(test: StoreCase, wallet_set: int) -> bool:
    """Whether another connection is kept from writing the set's wallets right now."""
    if is_postgres(test.db):
        with psycopg2.connect(test.url) as connection, connection.cursor() as cursor:
            try:
                cursor.execute("SELECT id FROM wallet WHERE wallet_set_id = %s FOR UPDATE NOWAIT", (wallet_set,))
                return False
            except psycopg2.errors.LockNotAvailable:
                return True
    connection = sqlite3.connect(test.db.database, isolation_level=None, timeout=0)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


def short_lock_timeout(test: StoreCase) -> None:
    """Make this thread's connection give up on a lock after 50 ms."""
    if is_postgres(test.db):
        test.db.execute_sql("SET lock_timeout = '50ms'")
    else:
        test.db.execute_sql("PRAGMA busy_timeout = 50")


def run_threads(work, count: int) -> None:
    errors = []

    def guarded(index: int):
        try:
            work(index)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


WalletSetCasesSqlite, WalletSetCasesPostgres = on_both_databases(WalletSetCases)
PaperMoneyCasesSqlite, PaperMoneyCasesPostgres = on_both_databases(PaperMoneyCases)
LiveAllocationCasesSqlite, LiveAllocationCasesPostgres = on_both_databases(LiveAllocationCases)
TransferCasesSqlite, TransferCasesPostgres = on_both_databases(TransferCases)
HoldCasesSqlite, HoldCasesPostgres = on_both_databases(HoldCases)
FillCasesSqlite, FillCasesPostgres = on_both_databases(FillCases)
ReadingCasesSqlite, ReadingCasesPostgres = on_both_databases(ReadingCases)
LockingCasesSqlite, LockingCasesPostgres = on_both_databases(LockingCases)
RandomisedCasesSqlite, RandomisedCasesPostgres = on_both_databases(RandomisedCases)


if __name__ == "__main__":
    unittest.main()
