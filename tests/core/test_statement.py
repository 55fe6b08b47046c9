"""A statement's lines from ledger transactions made by the ledger's own rules: a fill's fee on a line of
its own, the hold paying for the fill first, the balances after each line; filters and pages."""

import unittest
from decimal import Decimal as D

from exchange_wrapper.core import ledger
from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.ledger import Account, AccountKind, FillTerms, Mode, TransactionKind, WalletSetRef
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.statement import RecordedTransaction, check_filters, select_lines, statement_lines

SET = WalletSetRef(7, Mode.PAPER)
BTC_USD = Pair("BTC", "USD")


class Ledger:
    """Transactions of the ledger's rules applied to running balances, recorded as a store would: with
    the balance and hold each leaves a set's wallets in."""

    def __init__(self):
        self.balances: dict[Account, D] = {}
        self.applied = []

    def apply(self, transaction, at):
        for account, change in transaction.changes().items():
            self.balances[account] = self.balances.get(account, D(0)) + change
        self.applied.append((transaction, at, dict(self.balances)))

    def recorded(self, wallet_set):
        out = []
        for number, (transaction, at, balances) in enumerate(self.applied, 1):
            after = {}
            for account, amount in balances.items():
                if account.wallet_set == wallet_set:
                    balance, hold = after.get((account.exchange, account.currency), (D(0), D(0)))
                    held = amount if account.kind is AccountKind.HOLD else D(0)
                    after[(account.exchange, account.currency)] = (balance + amount, hold + held)
            out.append(
                RecordedTransaction(
                    number, transaction.kind, transaction.reference, transaction.memo, at, transaction.postings, after
                )
            )
        return out


class StatementLinesTest(unittest.TestCase):
    def setUp(self):
        book = Ledger()
        book.apply(ledger.move_funds(TransactionKind.FUND, SET, "binance", "USD", "1000", book.balances), 10)
        book.apply(ledger.place_hold(SET, "binance", "USD", "101", "1", book.balances), 20)
        # a buy of 0.002 BTC at 50000 (100 USD) with a fee of 0.5 USD (made-up round amounts)
        fill = FillTerms.parse(BTC_USD, "buy", "50000", "0.002", "0.5", "USD")
        book.apply(ledger.settle_fill(SET, "binance", "1", fill, "1/t-1", book.balances), 30)
        book.apply(ledger.release_hold(SET, "binance", "USD", "1", book.balances), 40)
        self.book = book
        self.lines = statement_lines(SET.id, book.recorded(SET.id))

    def test_a_fill_and_its_fee_are_two_lines_and_the_hold_pays_for_the_fill_first(self):
        self.assertEqual(
            [(line.kind, line.currency, line.amount, line.hold_change, line.balance, line.hold) for line in self.lines],
            [
                ("fund", "USD", D(1000), D(0), D(1000), D(0)),
                ("hold", "USD", D(0), D(101), D(1000), D(101)),
                ("fill", "BTC", D("0.002"), D(0), D("0.002"), D(0)),
                ("fill", "USD", D(-100), D(-100), D(900), D(1)),
                ("fee", "USD", D("-0.5"), D("-0.5"), D("899.5"), D("0.5")),
                ("release", "USD", D(0), D("-0.5"), D("899.5"), D(0)),
            ],
        )
        fill = self.lines[3]
        self.assertEqual((fill.order_id, fill.trade_id, fill.counterparty), ("1", "t-1", "market"))
        self.assertEqual((self.lines[4].counterparty, self.lines[4].cursor), ("fees", "3.3"))
        self.assertEqual(self.lines[0].counterparty, "virtual_funding")
        self.assertEqual(self.lines[1].counterparty, None)
        self.assertEqual(
            [line.available for line in self.lines][-1], self.book.balances[Account.available(7, "binance", "USD")]
        )

    def test_a_fee_beyond_the_hold_comes_from_available(self):
        book = Ledger()
        book.apply(ledger.move_funds(TransactionKind.FUND, SET, "binance", "USD", "200", book.balances), 1)
        book.apply(ledger.place_hold(SET, "binance", "USD", "100.2", "2", book.balances), 2)
        fill = FillTerms.parse(BTC_USD, "buy", "50000", "0.002", "0.5", "USD")
        book.apply(ledger.settle_fill(SET, "binance", "2", fill, "2/t-9", book.balances), 3)
        fill_line, fee_line = statement_lines(SET.id, book.recorded(SET.id))[-2:]
        self.assertEqual((fill_line.amount, fill_line.hold_change), (D(-100), D(-100)))
        self.assertEqual((fee_line.amount, fee_line.hold_change, fee_line.hold), (D("-0.5"), D("-0.2"), D(0)))
        self.assertEqual(fee_line.balance, D("99.5"))

    def test_a_fee_in_a_third_currency_is_a_fee_line_alone(self):
        book = Ledger()
        for currency, amount in (("USD", "200"), ("BNB", "1")):
            book.apply(ledger.move_funds(TransactionKind.FUND, SET, "binance", currency, amount, book.balances), 1)
        book.apply(ledger.place_hold(SET, "binance", "USD", "100", "3", book.balances), 2)
        fill = FillTerms.parse(BTC_USD, "buy", "50000", "0.002", "0.0015", "BNB")  # made up: Binance's BNB fees
        book.apply(ledger.settle_fill(SET, "binance", "3", fill, "3/t-4", book.balances), 3)
        self.assertEqual(
            [
                (line.kind, line.currency, line.amount, line.balance)
                for line in statement_lines(7, book.recorded(7))[-3:]
            ],
            [
                ("fee", "BNB", D("-0.0015"), D("0.9985")),
                ("fill", "BTC", D("0.002"), D("0.002")),
                ("fill", "USD", D(-100), D(100)),
            ],
        )

    def test_a_transfer_names_the_other_set_and_shows_on_its_side_only_once(self):
        book = Ledger()
        other = WalletSetRef(8, Mode.PAPER)
        book.apply(ledger.move_funds(TransactionKind.FUND, SET, "binance", "USD", "5", book.balances), 1)
        book.apply(ledger.transfer(SET, other, "binance", "USD", "2", book.balances), 2)
        mine, theirs = statement_lines(7, book.recorded(7)), statement_lines(8, book.recorded(8))
        self.assertEqual(
            [(line.kind, line.amount, line.counterparty) for line in mine][-1], ("transfer", D(-2), "wallet_set:8")
        )
        self.assertEqual(
            [(line.kind, line.amount, line.balance, line.counterparty) for line in theirs],
            [("transfer", D(2), D(2), "wallet_set:7")],
        )

    def test_filters_and_pages_newest_first(self):
        lines = self.lines
        self.assertEqual(select_lines(lines, kind="fee")[0], [lines[4]])
        self.assertEqual(select_lines(lines, currency="USD", start=20, end=40)[0], [lines[4], lines[3], lines[1]])
        page, cursor = select_lines(lines, limit=2)
        self.assertEqual((page, cursor), ([lines[5], lines[4]], "3.3"))
        page, cursor = select_lines(lines, limit=2, cursor=cursor)
        self.assertEqual((page, cursor), ([lines[3], lines[2]], "3.1"))
        self.assertEqual(select_lines(lines, limit=2, cursor=cursor), ([lines[1], lines[0]], None))
        self.assertEqual(select_lines(lines, limit=6), (lines[::-1], None))

    def test_bad_filters_name_their_parameter(self):
        for filters, field in (
            ({"start": 2, "end": 1}, "end"),
            ({"kind": "bonus"}, "kind"),
            ({"cursor": "4"}, "cursor"),
            ({"cursor": "4.x"}, "cursor"),
            ({"cursor": "٤.1"}, "cursor"),
        ):
            with self.subTest(filters), self.assertRaises(InvalidParameter) as caught:
                check_filters(**filters)
            self.assertEqual(caught.exception.field, field)
        self.assertEqual(check_filters(start=1, end=1, kind="fee", cursor="12.3"), (12, 3))


if __name__ == "__main__":
    unittest.main()
