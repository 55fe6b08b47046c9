"""Statements built once, on both databases: inserts with every column, updates, deferred writes."""

from __future__ import annotations

import unittest
from decimal import Decimal as D

from peewee import IntegrityError

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.storage import sql
from exchange_wrapper.storage.database import is_postgres, write_transaction
from exchange_wrapper.storage.models import Order, OrderEvent, Wallet, WalletSet
from tests.storage.dbs import DatabaseCase, on_both_databases

START_US = 1_618_677_817_129_516  # when the Coinbase capture was recorded
INSERT_ORDER = sql.Insert(Order, ignore_conflicts=True)
INSERT_EVENT = sql.Insert(OrderEvent)
SAVE_WALLET = sql.Update(Wallet, ("balance", "hold"))


class StatementCases(DatabaseCase):
    def setUp(self):
        super().setUp()
        self.ws = WalletSet.create(name="paper-1", mode="paper", created_at=START_US).id

    def insert_order(self, client_order_id: str) -> int | None:
        return INSERT_ORDER(
            self.db,
            client_order_id=client_order_id,
            wallet_set=self.ws,
            mode="paper",
            exchange="coinbase",
            pair="SKL_USD",
            side="buy",
            type="limit",
            size=D("100"),
            price=D("0.7876"),
            status="pending",
            created_at=START_US,
            updated_at=START_US,
        )

    def test_text_in_the_database_paramstyle(self):
        expected = "SELECT %s, %s" if is_postgres(self.db) else "SELECT ?, ?"
        self.assertEqual(expected, sql.text(self.db, "SELECT ?, ?"))
        self.assertEqual([(1, "a")], sql.rows(self.db, "SELECT ?, ?", (1, "a")))

    def test_an_insert_writes_every_column_with_the_model_defaults(self):
        first, second = self.insert_order("c1"), self.insert_order("c2")
        self.assertEqual(first + 1, second)
        order = Order.get_by_id(first)
        self.assertEqual(
            ("c1", self.ws, D("100"), D("0.7876"), None),
            (order.client_order_id, order.wallet_set_id, order.size, order.price, order.funds),
        )
        self.assertEqual(
            ("GTC", False, False, D(0), D(0), D(0), None),
            (
                order.time_in_force,
                order.post_only,
                order.triggered,
                order.filled_size,
                order.executed_value,
                order.fees,
                order.exchange_order_id,
            ),
        )

    def test_an_insert_that_breaks_a_unique_index_is_ignored_when_asked(self):
        self.insert_order("c1")
        self.assertIsNone(self.insert_order("c1"))
        self.assertEqual(1, Order.select().count())
        with self.assertRaises(IntegrityError), write_transaction(self.db):
            INSERT_EVENT(self.db, order=999, to_status="pending", at=START_US)  # no such order

    def test_amounts_are_checked_and_exact(self):
        with self.assertRaises(InvalidParameter) as caught:
            INSERT_ORDER(
                self.db,
                client_order_id="c1",
                wallet_set=self.ws,
                mode="paper",
                exchange="coinbase",
                pair="SKL_USD",
                side="buy",
                type="limit",
                size=D("0.0000000000000000001"),
                status="pending",
                created_at=START_US,
                updated_at=START_US,
            )
        self.assertEqual("size", caught.exception.field)
        wallet = Wallet.create(wallet_set=self.ws, exchange="coinbase", currency="USD")
        with write_transaction(self.db):
            SAVE_WALLET(self.db, wallet.id, D("12345678901234567890.123456789012345678"), D("0.000000000000000001"))
        stored = Wallet.get_by_id(wallet.id)
        self.assertEqual(
            (D("12345678901234567890.123456789012345678"), D("0.000000000000000001")), (stored.balance, stored.hold)
        )

    def test_several_rows_in_one_insert(self):
        Wallet.create(wallet_set=self.ws, exchange="coinbase", currency="USD", balance=D("5"))
        with write_transaction(self.db):
            sql.insert_rows(
                self.db,
                "wallet",
                ("wallet_set_id", "exchange", "currency", "balance", "hold"),
                [(self.ws, "coinbase", currency, "0", "0") for currency in ("BTC", "USD", "SKL")],
                ignore_conflicts=True,
            )
        self.assertEqual(
            [("BTC", D(0)), ("SKL", D(0)), ("USD", D(5))],
            [(w.currency, w.balance) for w in Wallet.select().order_by(Wallet.currency)],
        )

    def test_deferred_writes_come_before_what_follows_them(self):
        order = self.insert_order("c1")
        with write_transaction(self.db):
            for status in ("pending", "open"):
                INSERT_EVENT.defer(self.db, order=order, to_status=status, at=START_US)
            self.assertEqual(
                [("pending", ""), ("open", "")],
                sql.rows(self.db, 'SELECT to_status, reason FROM "order_event" ORDER BY id'),
            )
        INSERT_EVENT.defer(self.db, order=order, to_status="cancelled", at=START_US)  # no transaction: at once
        self.assertEqual(3, OrderEvent.select().count())


StatementCasesSqlite, StatementCasesPostgres = on_both_databases(StatementCases)

if __name__ == "__main__":
    unittest.main()
