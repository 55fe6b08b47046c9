"""A wallet set's life cycle in the store, on both databases: created with allocations, withdrawn
from, closed for good; the races of closing and withdrawing against holds, transfers and fills, with
``ledger verify`` after each. ``XWRAP_RACE_ROUNDS`` repeats the races (a few rounds in the suite)."""

from __future__ import annotations

import os
import random
import threading
import unittest
from collections import Counter
from decimal import Decimal

from exchange_wrapper.core.errors import Conflict, InsufficientFunds, InvalidParameter, WalletSetClosed
from exchange_wrapper.core.ledger import CLOSING_MEMO, AccountKind, FillTerms, TransactionKind
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.storage.database import close_database, open_database
from exchange_wrapper.storage.models import WalletSet
from exchange_wrapper.storage.verify import account_balances, verify_ledger
from tests.storage.dbs import OnSqlite, on_both_databases
from tests.storage.test_wallets import StoreCase, run_threads

D = Decimal
ROUNDS = int(os.environ.get("XWRAP_RACE_ROUNDS", "2"))


def money_out(test: StoreCase, kind: AccountKind) -> dict[tuple[str, str], Decimal]:
    """What the ``kind`` counter-account holds per (exchange, currency), from the postings."""
    return {(a.exchange, a.currency): amount for a, amount in account_balances(test.db).items() if a.kind is kind}


class CreateWithAllocationsCases(StoreCase):
    def test_a_paper_set_is_created_funded(self):
        info = self.store.create_wallet_set(
            "funded",
            "paper",
            [("coinbase", "USD", D("500")), ("coinbase", "SKL", D("1000")), ("kraken", "USD", D("1"))],
        )
        self.assertEqual((D("500"), D("0"), D("500")), self.wallet(info.id, "USD"))
        self.assertEqual((D("1000"), D("0"), D("1000")), self.wallet(info.id, "SKL"))
        self.assertEqual((D("1"), D("0"), D("1")), self.wallet(info.id, "USD", "kraken"))
        self.assertEqual(["fund"] * 3, [e.kind.value for e in self.store.entries(info.id)])
        self.assert_verified()

    def test_a_live_set_is_allocated_from_the_unallocated_funds(self):
        self.store.reconcile("kraken", "BTC", D("2"))
        info = self.store.create_wallet_set("live", "live", [("kraken", "BTC", D("1.5"))])
        self.assertEqual((D("1.5"), D("0"), D("1.5")), self.wallet(info.id, "BTC", "kraken"))
        self.assertEqual((D("2"), D("0.5")), self.store.exchange_account("kraken", "BTC"))
        self.assert_verified()

    def test_one_allocation_refused_creates_nothing(self):
        self.store.reconcile("kraken", "BTC", D("1"))
        before = self.row_counts()
        with self.assertRaises(InsufficientFunds):
            self.store.create_wallet_set("live", "live", [("kraken", "BTC", D("0.5")), ("kraken", "BTC", D("0.6"))])
        with self.assertRaises(InvalidParameter) as caught:
            self.store.create_wallet_set("paper", "paper", [("coinbase", "USD", D("1")), ("coinbase", "USD", D("-1"))])
        self.assertEqual("allocations[1].amount", caught.exception.field)
        with self.assertRaises(InvalidParameter) as caught:
            self.store.create_wallet_set("paper", "paper", [("coinbase", "usd", D("1"))])
        self.assertEqual("allocations[0].currency", caught.exception.field)
        with self.assertRaises(InvalidParameter) as caught:
            self.store.create_wallet_set("paper", "paper", [("mtgox", "USD", D("1"))])
        self.assertEqual("allocations[0].exchange", caught.exception.field)
        self.assertEqual(before, self.row_counts())
        self.assertEqual(0, WalletSet.select().count())
        self.assertEqual((D("1"), D("1")), self.store.exchange_account("kraken", "BTC"))
        self.assert_verified()


class WithdrawCases(StoreCase):
    def test_paper_withdraws_to_virtual_funding_never_below_the_holds(self):
        ws = self.store.create_wallet_set("paper", "paper", [("coinbase", "USD", D("100"))]).id
        self.store.place_hold(ws, "coinbase", "USD", D("30"), "o1")
        entry = self.store.withdraw(ws, "coinbase", "USD", D("60"))
        self.assertEqual(TransactionKind.WITHDRAW, entry.kind)
        self.assertEqual((D("40"), D("30"), D("10")), self.wallet(ws, "USD"))
        before = self.row_counts()
        with self.assertRaises(InsufficientFunds) as caught:
            self.store.withdraw(ws, "coinbase", "USD", D("10.01"))
        self.assertEqual((D("10.01"), D("10")), (caught.exception.needed, caught.exception.available))
        self.assertEqual(before, self.row_counts())
        self.assertEqual({("coinbase", "USD"): D("-40")}, money_out(self, AccountKind.VIRTUAL_FUNDING))
        self.assert_verified()

    def test_live_withdraws_to_the_unallocated_funds(self):
        self.store.reconcile("kraken", "BTC", D("2"))
        ws = self.store.create_wallet_set("live", "live", [("kraken", "BTC", D("2"))]).id
        entry = self.store.withdraw(ws, "kraken", "BTC", D("0.75"))
        self.assertEqual(TransactionKind.DEALLOCATE, entry.kind)
        self.assertEqual((D("2"), D("0.75")), self.store.exchange_account("kraken", "BTC"))
        self.assertEqual((D("1.25"), D("0"), D("1.25")), self.wallet(ws, "BTC", "kraken"))
        self.assert_verified()


class CloseCases(StoreCase):
    def test_closing_a_paper_set_returns_everything_and_is_final(self):
        ws = self.store.create_wallet_set(
            "paper", "paper", [("coinbase", "USD", D("100")), ("coinbase", "SKL", D("5"))]
        )
        other = self.store.create_wallet_set("other", "paper", [("coinbase", "USD", D("10"))]).id
        self.store.place_hold(ws.id, "coinbase", "USD", D("30"), "o1")
        self.store.release_hold(ws.id, "o1")
        closed = self.store.close_wallet_set(ws.id)
        self.assertEqual(
            [("SKL", D("5")), ("USD", D("100"))],
            [(e.postings[0].account.currency, -e.postings[0].amount) for e in closed.entries],
        )
        self.assertEqual({TransactionKind.WITHDRAW}, {e.kind for e in closed.entries})
        self.assertEqual({CLOSING_MEMO}, {e.memo for e in closed.entries})
        self.assertEqual(closed.wallet_set.closed_at, self.store.wallet_set(ws.id).closed_at)
        self.assertEqual(closed.wallet_set, self.store.known_wallet_set(ws.name))  # what the order path checks first
        self.assertIsNotNone(closed.wallet_set.closed_at)
        self.assertEqual([ws.id], [w.id for w in self.store.wallet_sets() if w.closed_at is not None])
        self.assertEqual((D("0"), D("0"), D("0")), self.wallet(ws.id, "USD"))
        self.assertEqual({("coinbase", "USD"): D("-10")}, money_out(self, AccountKind.VIRTUAL_FUNDING))
        before = self.row_counts()
        refusals = {
            "close": lambda: self.store.close_wallet_set(ws.id),
            "fund": lambda: self.store.move_funds("fund", ws.id, "coinbase", "USD", D("1")),
            "withdraw": lambda: self.store.withdraw(ws.id, "coinbase", "USD", D("1")),
            "hold": lambda: self.store.place_hold(ws.id, "coinbase", "USD", D("1"), "o2", new_order=True),
            "transfer out": lambda: self.store.transfer(ws.id, other, "coinbase", "USD", D("1")),
            "transfer in": lambda: self.store.transfer(other, ws.id, "coinbase", "USD", D("1")),
        }
        parameters = {"transfer out": "from_wallet_set_id", "transfer in": "to_wallet_set_id"}
        for name, refused in refusals.items():
            with self.subTest(name), self.assertRaises(WalletSetClosed) as caught:
                refused()
            self.assertEqual(
                (ws.id, parameters.get(name, "wallet_set_id")),
                (caught.exception.wallet_set_id, caught.exception.parameter),
            )
            self.assertEqual("conflict", caught.exception.kind)
        self.assertEqual(before, self.row_counts())
        # its history stays: 2 funds, the hold and its release, the 2 entries of the close
        self.assertEqual(
            ["withdraw", "withdraw", "release", "hold", "fund", "fund"],
            [e.kind.value for e in self.store.entries(ws.id)],
        )
        self.assert_verified()

    def test_closing_a_live_set_returns_its_balances_to_the_unallocated_funds(self):
        self.store.reconcile("kraken", "BTC", D("2"))
        self.store.reconcile("kraken", "USD", D("1000"))
        ws = self.store.create_wallet_set("live", "live", [("kraken", "BTC", D("1.5")), ("kraken", "USD", D("400"))])
        fill = FillTerms.parse(Pair("BTC", "USD"), "buy", "100", "0.5", "0.1")
        self.store.place_hold(ws.id, "kraken", "USD", D("50.1"), "o1")
        self.store.settle_fill(ws.id, "kraken", "o1", fill, "t1")
        self.store.release_hold(ws.id, "o1")
        closed = self.store.close_wallet_set(ws.id)
        self.assertEqual({TransactionKind.DEALLOCATE}, {e.kind for e in closed.entries})
        # 1.5 BTC allocated and 0.5 bought go back: 2.5 unallocated until a reconciliation sees the fill
        self.assertEqual((D("2"), D("2.5")), self.store.exchange_account("kraken", "BTC"))
        self.assertEqual((D("1000"), D("949.9")), self.store.exchange_account("kraken", "USD"))
        self.assert_verified()

    def test_a_set_with_funds_on_hold_is_not_closed(self):
        ws = self.store.create_wallet_set("paper", "paper", [("coinbase", "USD", D("100"))]).id
        self.store.place_hold(ws, "coinbase", "USD", D("30"), "o1")
        before = self.row_counts()
        with self.assertRaises(Conflict) as caught:
            self.store.close_wallet_set(ws)
        self.assertNotIsInstance(caught.exception, WalletSetClosed)
        self.assertIn("USD on coinbase", str(caught.exception))
        self.assertEqual(before, self.row_counts())
        self.assertIsNone(self.store.wallet_set(ws).closed_at)

    def test_an_empty_set_closes(self):
        ws = self.store.create_wallet_set("empty", "paper").id
        self.assertEqual((), self.store.close_wallet_set(ws).entries)
        self.assertIsNotNone(self.store.wallet_set(ws).closed_at)
        self.assert_verified()

    def test_verify_finds_money_in_a_closed_set(self):
        ws = self.store.create_wallet_set("paper", "paper", [("coinbase", "USD", D("100"))]).id
        WalletSet.update(closed_at=1).where(WalletSet.id == ws).execute()  # closed behind the store's back
        checks = [d.check for d in verify_ledger(self.db).differences]
        self.assertEqual(["closed_wallet_set"], checks)


class RaceCases(StoreCase):
    """Threads race a close against holds, transfers in and out and fills; withdrawals against holds.
    Nothing is created or lost: the money out of the sets plus what they hold is what went in."""

    def test_close_against_holds_transfers_and_fills(self):
        for round in range(ROUNDS):
            with self.subTest(round=round):
                self.race_a_close(round)

    def race_a_close(self, round: int) -> None:
        target = self.store.create_wallet_set(f"closing-{round}", "paper", [("coinbase", "USD", D("100"))]).id
        other = self.store.create_wallet_set(f"other-{round}", "paper", [("coinbase", "USD", D("100"))]).id
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()
        closed = threading.Event()

        def note(outcome: str) -> None:
            with lock:
                outcomes[outcome] += 1

        def work(thread: int) -> None:
            rng = random.Random(round * 100 + thread)
            try:
                if thread == 0:
                    while True:  # close once no order holds: a fill or a release may come between
                        try:
                            self.store.close_wallet_set(target)
                            break
                        except Conflict:
                            note("close waited")
                    closed.set()
                    return
                for n in range(20):
                    action = rng.choice(("hold", "in", "out", "withdraw"))
                    try:
                        if action == "hold":
                            order = f"r{round}-t{thread}-{n}"
                            self.store.place_hold(target, "coinbase", "USD", D("1"), order, new_order=True)
                            if rng.random() < 0.5:
                                fill = FillTerms.parse(Pair("SKL", "USD"), "buy", "0.5", "1")
                                self.store.settle_fill(target, "coinbase", order, fill, order)
                            self.store.release_hold(target, order)
                        elif action == "in":
                            self.store.transfer(other, target, "coinbase", "USD", D("0.5"))
                        elif action == "out":
                            self.store.transfer(target, other, "coinbase", "USD", D("0.5"))
                        else:
                            self.store.withdraw(target, "coinbase", "USD", D("0.25"))
                        note(action)
                    except WalletSetClosed:
                        note("refused: closed")
                    except InsufficientFunds:
                        note("refused: funds")
            finally:
                self.db.close()

        run_threads(work, 6)
        self.assertTrue(closed.is_set())
        self.assertIsNotNone(self.store.wallet_set(target).closed_at)
        self.assertEqual([], [b for b in self.store.balances(target) if b.balance])
        self.assertGreater(outcomes["refused: closed"] + sum(outcomes[a] for a in ("hold", "in", "out", "withdraw")), 0)
        self.assert_conserved()
        self.assert_verified()

    def test_withdrawals_against_holds_never_overdraw(self):
        for round in range(ROUNDS):
            ws = self.store.create_wallet_set(f"w-{round}", "paper", [("coinbase", "USD", D("100"))]).id
            taken = Counter[str]()
            lock = threading.Lock()

            def work(thread: int) -> None:
                try:
                    for n in range(25):
                        try:
                            if thread % 2:
                                self.store.withdraw(ws, "coinbase", "USD", D("3"))
                                outcome = "withdrawn"
                            else:
                                self.store.place_hold(ws, "coinbase", "USD", D("3"), f"w{round}-{thread}-{n}")
                                outcome = "held"
                        except InsufficientFunds:
                            outcome = "refused"
                        with lock:
                            taken[outcome] += 1
                finally:
                    self.db.close()

            run_threads(work, 6)
            self.assertEqual(33, taken["withdrawn"] + taken["held"])  # 100 // 3, however they interleaved
            balance, hold, available = self.wallet(ws, "USD")
            self.assertEqual((D(3) * taken["held"], D("1")), (hold, available))
            self.assertEqual(D(100) - D(3) * taken["withdrawn"], balance)
            self.assert_conserved()
            self.assert_verified()

    def assert_conserved(self) -> None:
        """Every currency sums to zero over all accounts (the postings balance: nothing created or lost)."""
        totals: dict[str, Decimal] = {}
        for account, amount in account_balances(self.db).items():
            totals[account.currency] = totals.get(account.currency, D(0)) + amount
        self.assertEqual({}, {currency: total for currency, total in totals.items() if total})


class MigrationCase(StoreCase, OnSqlite, unittest.TestCase):
    """A database of schema version 3 (before closing existed) gains ``wallet_set.closed_at``, rows kept."""

    def test_version_3_gains_closed_at(self):
        self.store.create_wallet_set("kept", "paper", [("coinbase", "USD", D("1"))])
        self.db.execute_sql('ALTER TABLE "wallet_set" DROP COLUMN "closed_at"')
        self.db.execute_sql('DELETE FROM "schema_version" WHERE version >= 4')
        close_database(self.db)
        db = open_database(self.url)
        self.addCleanup(close_database, db)
        self.assertIn("closed_at", [c.name for c in db.get_columns("wallet_set")])
        self.assertEqual([("kept", None)], [(ws.name, ws.closed_at) for ws in WalletSet.select()])


CreateWithAllocationsCasesSqlite, CreateWithAllocationsCasesPostgres = on_both_databases(CreateWithAllocationsCases)
WithdrawCasesSqlite, WithdrawCasesPostgres = on_both_databases(WithdrawCases)
CloseCasesSqlite, CloseCasesPostgres = on_both_databases(CloseCases)
RaceCasesSqlite, RaceCasesPostgres = on_both_databases(RaceCases)
