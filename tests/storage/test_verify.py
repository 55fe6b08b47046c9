"""Ledger verification on both databases: a clean ledger passes, every kind of damage is reported."""
from __future__ import annotations

import json
import unittest
from decimal import Decimal

from exchange_wrapper.core.ledger import FillTerms
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.storage.models import ExchangeAccount, Hold, LedgerPosting, LedgerTransaction, Wallet
from exchange_wrapper.storage.verify import account_balances, verify_ledger
from exchange_wrapper.storage.wallets import WalletStore
from tests.core.test_ledger import coinbase_matches
from tests.storage.dbs import DatabaseCase, on_both_databases

D = Decimal


class VerifyCases(DatabaseCase):
    """A paper set that bought SKL at a price recorded on Coinbase, and a live set on kraken."""

    def setUp(self):
        super().setUp()
        self.store = WalletStore(self.db)
        self.paper = self.store.create_wallet_set("paper", "paper").id
        self.live = self.store.create_wallet_set("live", "live").id
        match = coinbase_matches("SKL-USD", 1)[0]  # 450 SKL at 0.791 USD
        self.store.move_funds("fund", self.paper, "coinbase", "USD", D("1000"))
        self.store.place_hold(self.paper, "coinbase", "USD", D("400"), "o1")
        fill = FillTerms.parse(Pair("SKL", "USD"), "buy", match["price"], match["size"], D("1.77975"))
        self.store.settle_fill(self.paper, "coinbase", "o1", fill, "f1")
        self.store.reconcile("kraken", "BTC", D("2"))
        self.store.move_funds("allocate", self.live, "kraken", "BTC", D("1.5"))

    def differences(self) -> list[dict]:
        report = verify_ledger(self.db)
        self.assertFalse(report.ok)
        return report.as_json()["differences"]

    def post(self, *postings: tuple[str, int | None, str, str, Decimal]) -> int:
        """Write a transaction directly, bypassing the store (as damage or a bug would)."""
        row = LedgerTransaction.create(kind="fund", created_at=0)
        for account, wallet_set, exchange, currency, amount in postings:
            LedgerPosting.create(transaction=row.id, account=account, wallet_set=wallet_set, exchange=exchange,
                                 currency=currency, amount=amount)
        return row.id

    def test_a_clean_ledger_verifies(self):
        report = verify_ledger(self.db)
        self.assertEqual({"ok": True, "transactions": 5, "postings": 13, "differences": []}, report.as_json())

    def test_rebuilt_balances_sum_to_zero_per_currency(self):
        balances = {(a.name, a.exchange, a.currency): amount for a, amount in account_balances(self.db).items()}
        self.assertEqual({("virtual_funding", "coinbase", "USD"): D("-1000"),
                          ("market", "coinbase", "USD"): D("355.95"),
                          ("fees", "coinbase", "USD"): D("1.77975"),
                          (f"wallet_set:{self.paper}:hold:o1", "coinbase", "USD"): D("42.27025"),
                          (f"wallet_set:{self.paper}:available", "coinbase", "USD"): D("600"),
                          ("market", "coinbase", "SKL"): D("-450"),
                          (f"wallet_set:{self.paper}:available", "coinbase", "SKL"): D("450"),
                          ("outside", "kraken", "BTC"): D("-2"),
                          ("unallocated", "kraken", "BTC"): D("0.5"),
                          (f"wallet_set:{self.live}:available", "kraken", "BTC"): D("1.5")}, balances)

    def test_changed_wallet_balance(self):
        Wallet.update(balance=D("642.27026")).where(Wallet.currency == "USD").execute()
        self.assertEqual([{"check": "wallet_balance",
                           "subject": {"wallet_set": self.paper, "exchange": "coinbase", "currency": "USD"},
                           "expected": "642.27025", "found": "642.27026"}], self.differences())

    def test_changed_wallet_hold_making_available_negative(self):
        Wallet.update(hold=D("700")).where(Wallet.currency == "USD").execute()
        subject = {"wallet_set": self.paper, "exchange": "coinbase", "currency": "USD"}
        self.assertEqual([{"check": "wallet_hold", "subject": subject, "expected": "42.27025", "found": "700"},
                          {"check": "wallet_negative", "subject": subject, "expected": None,
                           "found": "-57.72975"}],
                         self.differences())

    def test_changed_and_missing_holds(self):
        Hold.update(amount=D("42")).execute()
        Hold.create(wallet_set=self.paper, exchange="coinbase", currency="USD", order_ref="ghost",
                    amount=D("1"), created_at=0, updated_at=0)
        self.assertEqual([{"check": "hold", "subject": {"wallet_set": self.paper, "order": "ghost",
                                                        "exchange": "coinbase", "currency": "USD"},
                           "expected": "0", "found": "1"},
                          {"check": "hold", "subject": {"wallet_set": self.paper, "order": "o1",
                                                        "exchange": "coinbase", "currency": "USD"},
                           "expected": "42.27025", "found": "42"}], self.differences())

    def test_missing_wallet_row(self):
        Wallet.delete().where(Wallet.currency == "SKL").execute()
        self.assertEqual([{"check": "wallet_missing",
                           "subject": {"wallet_set": self.paper, "exchange": "coinbase", "currency": "SKL"},
                           "expected": "450", "found": None}], self.differences())

    def test_changed_unallocated(self):
        ExchangeAccount.update(unallocated=D("0.6")).execute()
        self.assertEqual([{"check": "unallocated", "subject": {"exchange": "kraken", "currency": "BTC"},
                           "expected": "0.5", "found": "0.6"}], self.differences())

    def test_unbalanced_and_empty_transactions(self):
        unbalanced = self.post(("fees", None, "coinbase", "USD", D("0.01")),
                               ("market", None, "coinbase", "SKL", D("-0.01")))
        empty = self.post()
        self.assertEqual([{"check": "unbalanced_transaction",
                           "subject": {"transaction": unbalanced, "currency": "SKL"},
                           "expected": "0", "found": "-0.01"},
                          {"check": "unbalanced_transaction",
                           "subject": {"transaction": unbalanced, "currency": "USD"},
                           "expected": "0", "found": "0.01"},
                          {"check": "empty_transaction", "subject": {"transaction": empty},
                           "expected": None, "found": None}], self.differences())

    def test_malformed_postings(self):
        bad_name = self.post(("wallet_set:x:available", None, "coinbase", "USD", D("1")),
                             ("fees", None, "coinbase", "USD", D("-1")))
        wrong_set = self.post((f"wallet_set:{self.paper}:available", self.live, "coinbase", "EUR", D("1")),
                              ("fees", None, "coinbase", "EUR", D("-1")))
        found = [(d["check"], d["subject"]["transaction"], d["subject"]["account"]) for d in self.differences()]
        self.assertEqual([("malformed_posting", bad_name, "wallet_set:x:available"),
                          ("malformed_posting", wrong_set, f"wallet_set:{self.paper}:available")], found)

    def test_negative_balances(self):
        Wallet.update(balance=D("-0.5")).where(Wallet.wallet_set == self.live).execute()
        self.post((f"wallet_set:{self.live}:available", self.live, "kraken", "BTC", D("-2")),
                  ("fees", None, "kraken", "BTC", D("2")))
        subject = {"wallet_set": self.live, "exchange": "kraken", "currency": "BTC"}
        self.assertEqual([{"check": "negative_balance",
                           "subject": {"account": f"wallet_set:{self.live}:available", **subject},
                           "expected": "0", "found": "-0.5"},
                          {"check": "wallet_negative", "subject": subject, "expected": None, "found": "-0.5"}],
                         self.differences())

    def test_report_is_json(self):
        Wallet.update(balance=D("1E+3")).where(Wallet.currency == "USD").execute()
        document = json.loads(json.dumps(verify_ledger(self.db).as_json()))
        self.assertEqual((False, "1000"), (document["ok"], document["differences"][0]["found"]))


VerifyCasesSqlite, VerifyCasesPostgres = on_both_databases(VerifyCases)


if __name__ == "__main__":
    unittest.main()
