"""The ledger's pure rules: postings of every operation, overdraft refusals, exact amounts."""

from __future__ import annotations

import json
import unittest
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.core import ledger
from exchange_wrapper.core.errors import Conflict, InsufficientFunds, InvalidParameter, Overallocated
from exchange_wrapper.core.ledger import (
    Account,
    AccountKind,
    FillTerms,
    Mode,
    Posting,
    Transaction,
    TransactionKind,
    WalletSetRef,
)
from exchange_wrapper.core.pairs import Pair

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
PAPER = WalletSetRef(1, Mode.PAPER)
OTHER_PAPER = WalletSetRef(2, Mode.PAPER)
LIVE = WalletSetRef(3, Mode.LIVE)
D = Decimal
FUND, WITHDRAW = TransactionKind.FUND, TransactionKind.WITHDRAW
ALLOCATE, DEALLOCATE = TransactionKind.ALLOCATE, TransactionKind.DEALLOCATE


def coinbase_matches(product: str, count: int) -> list[dict]:
    """The first ``count`` public trades of ``product`` in the recorded Coinbase feed, numbers as Decimal."""
    out = []
    with open(CAPTURES / "COINBASE.ws.28.0") as capture:
        for line in capture:
            _, _, message = line.partition(": ")
            if '"type":"match"' in message and f'"product_id":"{product}"' in message:
                match = json.loads(message, parse_float=Decimal)
                out.append({**match, "price": D(match["price"]), "size": D(match["size"])})
                if len(out) == count:
                    break
    return out


def available(wallet_set: int, currency: str, exchange: str = "coinbase") -> Account:
    return Account.available(wallet_set, exchange, currency)


def held(wallet_set: int, currency: str, order: str, exchange: str = "coinbase") -> Account:
    return Account.hold(wallet_set, exchange, currency, order)


def counter(kind: AccountKind, currency: str, exchange: str = "coinbase") -> Account:
    return Account(kind, exchange, currency)


def postings(transaction: Transaction) -> set[tuple[Account, Decimal]]:
    return {(p.account, p.amount) for p in transaction.postings}


class AccountTest(unittest.TestCase):
    def test_names_round_trip(self):
        for account in (
            available(7, "USD"),
            held(7, "BTC", "order:42:a"),
            counter(AccountKind.FEES, "USD"),
            counter(AccountKind.UNALLOCATED, "BTC", "kraken"),
        ):
            self.assertEqual(account, Account.from_name(account.name, account.exchange, account.currency))
        self.assertEqual("wallet_set:7:hold:order:42:a", held(7, "BTC", "order:42:a").name)
        self.assertEqual("virtual_funding", counter(AccountKind.VIRTUAL_FUNDING, "USD").name)

    def test_malformed_names_raise(self):
        for name in (
            "wallet_set:x:available",
            "wallet_set:7",
            "wallet_set:7:hold",
            "wallet_set:7:hold:",
            "wallet_set:7:available:x",
            "available",
            "hold",
            "nonsense",
            "",
        ):
            with self.subTest(name=name), self.assertRaises(ValueError):
                Account.from_name(name, "coinbase", "USD")


class TransactionTest(unittest.TestCase):
    def test_unbalanced_transaction_cannot_exist(self):
        with self.assertRaises(ValueError):
            Transaction(
                TransactionKind.FUND,
                (Posting(available(1, "USD"), D("1")), Posting(counter(AccountKind.FEES, "USD"), D("-0.99"))),
            )

    def test_balance_is_per_currency(self):
        with self.assertRaises(ValueError):
            Transaction(
                TransactionKind.FUND, (Posting(available(1, "USD"), D("1")), Posting(available(1, "EUR"), D("-1")))
            )

    def test_changes_net_repeated_accounts(self):
        account = available(1, "USD")
        transaction = Transaction(
            TransactionKind.FUND,
            (
                Posting(account, D("5")),
                Posting(account, D("-2")),
                Posting(counter(AccountKind.VIRTUAL_FUNDING, "USD"), D("-3")),
            ),
        )
        self.assertEqual({account: D("3"), counter(AccountKind.VIRTUAL_FUNDING, "USD"): D("-3")}, transaction.changes())


class AmountTest(unittest.TestCase):
    def test_eighteen_places_fit_nineteen_do_not(self):
        self.assertEqual(D("0.000000000000000001"), ledger.storable_amount(D("0.000000000000000001"), "amount"))
        self.assertEqual(D("1.5"), ledger.storable_amount(D("1.50000000000000000000000"), "amount"))
        with self.assertRaises(InvalidParameter) as caught:
            ledger.storable_amount(D("0.0000000000000000001"), "amount")
        self.assertEqual("amount", caught.exception.field)
        self.assertIn("at most 18 decimal places", str(caught.exception))
        self.assertIn("0.0000000000000000001", str(caught.exception))

    def test_twenty_integer_digits_fit(self):
        largest = D("99999999999999999999.999999999999999999")
        self.assertEqual(largest, ledger.storable_amount(largest, "amount"))
        with self.assertRaises(InvalidParameter):
            ledger.storable_amount(D("100000000000000000000"), "amount")
        self.assertEqual(D("1E+19"), ledger.storable_amount(D("1E+19"), "amount"))

    def test_floats_and_non_finite_refused(self):
        for value in (0.1, D("NaN"), D("Infinity"), "1"):
            with self.subTest(value=value), self.assertRaises(InvalidParameter):
                ledger.storable_amount(value, "amount")

    def test_positive_amount_parses_strings(self):
        self.assertEqual(D("0.01"), ledger.positive_amount("0.01", "amount"))
        for value in ("0", "-1", 1.5, "abc", True):
            with self.subTest(value=value), self.assertRaises(InvalidParameter):
                ledger.positive_amount(value, "amount")

    def test_amount_text_is_exact_beyond_28_digits(self):
        value = D("12345678901234567890.123456789012345678")
        self.assertEqual("12345678901234567890.123456789012345678", ledger.amount_text(value))
        self.assertEqual("100", ledger.amount_text(D("1E+2")))


class WidestAmountTest(unittest.TestCase):
    """Every move takes the widest amount the API accepts (15 integer digits, 18 places: 33 significant
    digits, past the 28 of Python's default context) and the largest the database stores, exactly."""

    WIDEST = D("999999999999999.999999999999999999")
    STORED = D("99999999999999999999.999999999999999999")

    def test_moves_of_the_widest_amounts_balance(self):
        for amount in (self.WIDEST, self.STORED):
            with self.subTest(amount=amount):
                funds = {
                    available(1, "USD"): amount,
                    available(3, "USD"): amount,
                    counter(AccountKind.UNALLOCATED, "USD"): amount,
                    held(1, "USD", "o1"): amount,
                }
                for transaction in (
                    ledger.move_funds(FUND, PAPER, "coinbase", "USD", amount, {}),
                    ledger.move_funds(WITHDRAW, PAPER, "coinbase", "USD", amount, funds),
                    ledger.move_funds(ALLOCATE, LIVE, "coinbase", "USD", amount, funds),
                    ledger.transfer(PAPER, OTHER_PAPER, "coinbase", "USD", amount, funds),
                    ledger.place_hold(PAPER, "coinbase", "USD", amount, "o1", funds),
                    ledger.release_hold(PAPER, "coinbase", "USD", "o1", funds),
                ):
                    self.assertEqual({amount, amount.copy_negate()}, {p.amount for p in transaction.postings})

    def test_reconcile_of_the_widest_difference(self):
        transaction = ledger.reconcile("coinbase", "USD", self.STORED, unallocated=D(0), allocated=D(0))
        self.assertEqual(
            {
                (counter(AccountKind.OUTSIDE, "USD"), self.STORED.copy_negate()),
                (counter(AccountKind.UNALLOCATED, "USD"), self.STORED),
            },
            postings(transaction),
        )
        transaction = ledger.reconcile("coinbase", "USD", D(0), unallocated=self.STORED, allocated=D(0))
        self.assertEqual(
            {
                (counter(AccountKind.UNALLOCATED, "USD"), self.STORED.copy_negate()),
                (counter(AccountKind.OUTSIDE, "USD"), self.STORED),
            },
            postings(transaction),
        )


class FundAndWithdrawTest(unittest.TestCase):
    def test_fund_moves_virtual_money_in(self):
        transaction = ledger.move_funds(FUND, PAPER, "coinbase", "USD", "1000.50", {}, memo="start")
        self.assertEqual(TransactionKind.FUND, transaction.kind)
        self.assertEqual("start", transaction.memo)
        self.assertEqual(
            {(counter(AccountKind.VIRTUAL_FUNDING, "USD"), D("-1000.50")), (available(1, "USD"), D("1000.50"))},
            postings(transaction),
        )

    def test_fund_and_withdraw_refused_for_live_sets(self):
        with self.assertRaises(Conflict) as caught:
            ledger.move_funds(FUND, LIVE, "coinbase", "USD", D("1"), {})
        self.assertIn("paper", str(caught.exception))
        with self.assertRaises(Conflict):
            ledger.move_funds(WITHDRAW, LIVE, "coinbase", "USD", D("1"), {available(3, "USD"): D("5")})

    def test_withdraw_up_to_available(self):
        funds = {available(1, "USD"): D("10")}
        transaction = ledger.move_funds(WITHDRAW, PAPER, "coinbase", "USD", D("10"), funds)
        self.assertEqual(
            {(available(1, "USD"), D("-10")), (counter(AccountKind.VIRTUAL_FUNDING, "USD"), D("10"))},
            postings(transaction),
        )

    def test_overdraft_names_wallet_set_currency_needed_available(self):
        with self.assertRaises(InsufficientFunds) as caught:
            ledger.move_funds(WITHDRAW, PAPER, "coinbase", "USD", D("10.01"), {available(1, "USD"): D("10")})
        error = caught.exception
        self.assertEqual(
            (1, "coinbase", "USD", D("10.01"), D("10")),
            (error.wallet_set, error.exchange, error.currency, error.needed, error.available),
        )

    def test_missing_account_counts_as_zero(self):
        with self.assertRaises(InsufficientFunds) as caught:
            ledger.move_funds(WITHDRAW, PAPER, "coinbase", "USD", D("1"), {})
        self.assertEqual(D("0"), caught.exception.available)

    def test_bad_currency_and_amount(self):
        with self.assertRaises(InvalidParameter) as caught:
            ledger.move_funds(FUND, PAPER, "coinbase", "usd", D("1"), {})
        self.assertEqual("currency", caught.exception.field)
        with self.assertRaises(InvalidParameter) as caught:
            ledger.move_funds(FUND, PAPER, "coinbase", "USD", D("-1"), {})
        self.assertEqual("amount", caught.exception.field)

    def test_a_trailing_newline_is_not_part_of_a_code_or_a_name(self):  # "$" matches before one
        with self.assertRaises(InvalidParameter):
            ledger.currency_code("USD\n")
        with self.assertRaises(InvalidParameter):
            ledger.wallet_set_name("main\n")


class AllocationTest(unittest.TestCase):
    unallocated = {counter(AccountKind.UNALLOCATED, "BTC"): D("2")}

    def test_allocate_from_unallocated(self):
        transaction = ledger.move_funds(ALLOCATE, LIVE, "coinbase", "BTC", D("1.5"), self.unallocated)
        self.assertEqual(
            {(counter(AccountKind.UNALLOCATED, "BTC"), D("-1.5")), (available(3, "BTC"), D("1.5"))},
            postings(transaction),
        )

    def test_allocation_capped_by_exchange_account(self):
        with self.assertRaises(InsufficientFunds) as caught:
            ledger.move_funds(ALLOCATE, LIVE, "coinbase", "BTC", D("2.1"), self.unallocated)
        self.assertEqual(
            (3, D("2.1"), D("2")), (caught.exception.wallet_set, caught.exception.needed, caught.exception.available)
        )

    def test_paper_sets_cannot_allocate(self):
        with self.assertRaises(Conflict):
            ledger.move_funds(ALLOCATE, PAPER, "coinbase", "BTC", D("1"), self.unallocated)

    def test_deallocate_returns_available(self):
        funds = {available(3, "BTC"): D("0.5")}
        transaction = ledger.move_funds(DEALLOCATE, LIVE, "coinbase", "BTC", D("0.5"), funds)
        self.assertEqual(
            {(available(3, "BTC"), D("-0.5")), (counter(AccountKind.UNALLOCATED, "BTC"), D("0.5"))},
            postings(transaction),
        )
        with self.assertRaises(InsufficientFunds):
            ledger.move_funds(DEALLOCATE, LIVE, "coinbase", "BTC", D("0.6"), {available(3, "BTC"): D("0.5")})


class ReconcileTest(unittest.TestCase):
    def test_deposit_seen_enters_unallocated(self):
        transaction = ledger.reconcile("coinbase", "BTC", D("3"), unallocated=D("1"), allocated=D("1.5"))
        self.assertEqual(
            {(counter(AccountKind.OUTSIDE, "BTC"), D("-0.5")), (counter(AccountKind.UNALLOCATED, "BTC"), D("0.5"))},
            postings(transaction),
        )

    def test_withdrawal_seen_leaves_unallocated(self):
        transaction = ledger.reconcile("coinbase", "BTC", D("2"), unallocated=D("1"), allocated=D("1.5"))
        self.assertEqual(
            {(counter(AccountKind.UNALLOCATED, "BTC"), D("-0.5")), (counter(AccountKind.OUTSIDE, "BTC"), D("0.5"))},
            postings(transaction),
        )

    def test_no_difference_no_transaction(self):
        self.assertIsNone(ledger.reconcile("coinbase", "BTC", D("2.5"), unallocated=D("1"), allocated=D("1.5")))

    def test_total_below_allocations_refused(self):
        with self.assertRaises(Overallocated) as caught:
            ledger.reconcile("coinbase", "BTC", D("1.4"), unallocated=D("1"), allocated=D("1.5"))
        self.assertEqual(
            {"exchange": "coinbase", "currency": "BTC", "total": "1.4", "allocated": "1.5"}, caught.exception.details()
        )


class TransferTest(unittest.TestCase):
    def test_between_paper_sets(self):
        funds = {available(1, "USD"): D("4")}
        transaction = ledger.transfer(PAPER, OTHER_PAPER, "coinbase", "USD", D("4"), funds)
        self.assertEqual({(available(1, "USD"), D("-4")), (available(2, "USD"), D("4"))}, postings(transaction))

    def test_paper_to_live_refused(self):
        with self.assertRaises(Conflict) as caught:
            ledger.transfer(PAPER, LIVE, "coinbase", "USD", D("1"), {available(1, "USD"): D("4")})
        self.assertIn("paper wallet set 1", str(caught.exception))
        self.assertIn("live wallet set 3", str(caught.exception))

    def test_to_itself_refused(self):
        with self.assertRaises(InvalidParameter) as caught:
            ledger.transfer(PAPER, PAPER, "coinbase", "USD", D("1"), {available(1, "USD"): D("4")})
        self.assertEqual("target", caught.exception.field)

    def test_more_than_available_refused(self):
        with self.assertRaises(InsufficientFunds):
            ledger.transfer(PAPER, OTHER_PAPER, "coinbase", "USD", D("4.000001"), {available(1, "USD"): D("4")})


class HoldTest(unittest.TestCase):
    def test_hold_moves_available_to_the_orders_hold(self):
        transaction = ledger.place_hold(PAPER, "coinbase", "USD", D("25"), "o1", {available(1, "USD"): D("30")})
        self.assertEqual("o1", transaction.reference)
        self.assertEqual({(available(1, "USD"), D("-25")), (held(1, "USD", "o1"), D("25"))}, postings(transaction))

    def test_hold_beyond_available_refused(self):
        funds = {available(1, "USD"): D("30"), held(1, "USD", "o0"): D("70")}
        with self.assertRaises(InsufficientFunds) as caught:
            ledger.place_hold(PAPER, "coinbase", "USD", D("31"), "o1", funds)
        self.assertEqual((D("31"), D("30")), (caught.exception.needed, caught.exception.available))

    def test_release_all_or_part(self):
        funds = {held(1, "USD", "o1"): D("25")}
        everything = ledger.release_hold(PAPER, "coinbase", "USD", "o1", funds)
        self.assertEqual({(held(1, "USD", "o1"), D("-25")), (available(1, "USD"), D("25"))}, postings(everything))
        part = ledger.release_hold(PAPER, "coinbase", "USD", "o1", funds, amount=D("10"))
        self.assertEqual({(held(1, "USD", "o1"), D("-10")), (available(1, "USD"), D("10"))}, postings(part))
        with self.assertRaises(InsufficientFunds):
            ledger.release_hold(PAPER, "coinbase", "USD", "o1", funds, amount=D("25.01"))

    def test_release_of_nothing_is_none(self):
        self.assertIsNone(ledger.release_hold(PAPER, "coinbase", "USD", "o1", {}))
        self.assertIsNone(ledger.release_hold(PAPER, "coinbase", "USD", "o1", {held(1, "USD", "o1"): D("0")}))

    def test_order_reference_required(self):
        with self.assertRaises(InvalidParameter) as caught:
            ledger.place_hold(PAPER, "coinbase", "USD", D("1"), "", {available(1, "USD"): D("30")})
        self.assertEqual("order", caught.exception.field)


class SettleFillTest(unittest.TestCase):
    """Fills at the prices and sizes of trades recorded on Coinbase (SKL-USD, SKL-BTC), 0.5 % taker fee."""

    def setUp(self):
        self.skl_usd = coinbase_matches("SKL-USD", 3)
        self.skl_btc = coinbase_matches("SKL-BTC", 1)[0]
        self.pair = Pair("SKL", "USD")

    def fill(self, match: dict, side: str, fee_rate: str = "0.005") -> FillTerms:
        fee = match["price"] * match["size"] * D(fee_rate)
        return FillTerms.parse(self.pair, side, match["price"], match["size"], fee)

    def test_recorded_trades_are_the_ones_expected(self):
        self.assertEqual(
            [(D("0.791"), D("450")), (D("0.7912"), D("1787"))], [(m["price"], m["size"]) for m in self.skl_usd[:2]]
        )

    def test_buy_pays_quote_and_fee_from_the_hold(self):
        match = self.skl_usd[0]  # 450 SKL at 0.791 USD = 355.95 USD, fee 1.77975 USD
        funds = {held(1, "USD", "o1"): D("400"), available(1, "USD"): D("0")}
        transaction = ledger.settle_fill(PAPER, "coinbase", "o1", self.fill(match, "buy"), "f1", funds)
        self.assertEqual(TransactionKind.FILL, transaction.kind)
        self.assertEqual("f1", transaction.reference)
        self.assertEqual(
            {
                (counter(AccountKind.MARKET, "USD"), D("355.95")),
                (counter(AccountKind.MARKET, "SKL"), D("-450")),
                (counter(AccountKind.FEES, "USD"), D("1.77975")),
                (held(1, "USD", "o1"), D("-357.72975")),
                (available(1, "SKL"), D("450")),
            },
            postings(transaction),
        )

    def test_sell_pays_base_from_the_hold_and_fee_from_the_proceeds(self):
        match = self.skl_usd[1]  # 1787 SKL at 0.7912 = 1413.8744 USD, fee 7.069372 USD
        funds = {held(1, "SKL", "o2"): D("1787")}
        transaction = ledger.settle_fill(PAPER, "coinbase", "o2", self.fill(match, "sell"), "f2", funds)
        self.assertEqual(
            {
                (counter(AccountKind.MARKET, "SKL"), D("1787")),
                (counter(AccountKind.MARKET, "USD"), D("-1413.8744")),
                (counter(AccountKind.FEES, "USD"), D("7.069372")),
                (held(1, "SKL", "o2"), D("-1787")),
                (available(1, "USD"), D("1406.805028")),
            },
            postings(transaction),
        )

    def test_buy_beyond_the_hold_takes_the_rest_from_available(self):
        match = self.skl_usd[0]
        funds = {held(1, "USD", "o1"): D("355"), available(1, "USD"): D("5")}
        transaction = ledger.settle_fill(PAPER, "coinbase", "o1", self.fill(match, "buy"), "f1", funds)
        changes = transaction.changes()
        self.assertEqual(D("-355"), changes[held(1, "USD", "o1")])
        self.assertEqual(D("-2.72975"), changes[available(1, "USD")])

    def test_buy_beyond_hold_and_available_refused(self):
        match = self.skl_usd[0]
        funds = {held(1, "USD", "o1"): D("355"), available(1, "USD"): D("2.7")}
        with self.assertRaises(InsufficientFunds) as caught:
            ledger.settle_fill(PAPER, "coinbase", "o1", self.fill(match, "buy"), "f1", funds)
        self.assertEqual(
            ("USD", D("2.72975"), D("2.7")),
            (caught.exception.currency, caught.exception.needed, caught.exception.available),
        )

    def test_fee_in_the_received_currency_comes_out_of_it(self):
        match = self.skl_usd[2]
        fill = FillTerms.parse(self.pair, "buy", match["price"], match["size"], D("0.1"), "SKL")
        cost = match["price"] * match["size"]
        transaction = ledger.settle_fill(PAPER, "coinbase", "o3", fill, "f3", {held(1, "USD", "o3"): cost})
        self.assertEqual(
            {
                (counter(AccountKind.MARKET, "USD"), cost),
                (counter(AccountKind.MARKET, "SKL"), -match["size"]),
                (counter(AccountKind.FEES, "SKL"), D("0.1")),
                (held(1, "USD", "o3"), -cost),
                (available(1, "SKL"), match["size"] - D("0.1")),
            },
            postings(transaction),
        )

    def test_fee_in_a_third_currency_needs_it_available(self):
        match = self.skl_usd[0]
        fill = FillTerms.parse(self.pair, "buy", match["price"], match["size"], D("0.002"), "BNB")
        funds = {held(1, "USD", "o1"): D("355.95"), available(1, "BNB"): D("0.0019")}
        with self.assertRaises(InsufficientFunds) as caught:
            ledger.settle_fill(PAPER, "coinbase", "o1", fill, "f1", funds)
        self.assertEqual("BNB", caught.exception.currency)
        funds[available(1, "BNB")] = D("0.002")
        transaction = ledger.settle_fill(PAPER, "coinbase", "o1", fill, "f1", funds)
        self.assertEqual(D("-0.002"), transaction.changes()[available(1, "BNB")])

    def test_value_needing_more_than_18_decimals_refused(self):
        pair = Pair("SKL", "BTC")
        price = self.skl_btc["price"]  # 0.00001305
        fill = FillTerms.parse(pair, "buy", price, D("0.0000000000001"))
        with self.assertRaises(InvalidParameter) as caught:
            ledger.settle_fill(PAPER, "coinbase", "o1", fill, "f1", {held(1, "BTC", "o1"): D("1")})
        self.assertEqual("price * size", caught.exception.field)

    def test_sub_satoshi_value_kept_exactly(self):
        match = self.skl_btc  # 985 SKL at 0.00001305 BTC
        fill = FillTerms.parse(Pair("SKL", "BTC"), "buy", match["price"], match["size"])
        self.assertEqual(D("0.01285425"), fill.value())

    def test_fill_terms_validated(self):
        with self.assertRaises(InvalidParameter) as caught:
            FillTerms.parse(self.pair, "long", D("1"), D("1"))
        self.assertEqual("side", caught.exception.field)
        with self.assertRaises(InvalidParameter) as caught:
            FillTerms.parse(self.pair, "buy", D("1"), D("1"), D("-0.1"))
        self.assertEqual("fee", caught.exception.field)
        with self.assertRaises(InvalidParameter) as caught:
            FillTerms.parse(self.pair, "buy", D("0"), D("1"))
        self.assertEqual("price", caught.exception.field)
        self.assertEqual("USD", FillTerms.parse(self.pair, "buy", D("1"), D("1")).fee_currency)


class WalletSetNamesTest(unittest.TestCase):
    def test_names_and_modes(self):
        self.assertEqual("strategy-1.a_b", ledger.wallet_set_name("strategy-1.a_b"))
        for name in ("", "-x", "a b", "x" * 65, 7):
            with self.subTest(name=name), self.assertRaises(InvalidParameter):
                ledger.wallet_set_name(name)
        self.assertIs(Mode.LIVE, ledger.parse_mode("live"))
        with self.assertRaises(InvalidParameter) as caught:
            ledger.parse_mode("demo")
        self.assertEqual("mode", caught.exception.field)


if __name__ == "__main__":
    unittest.main()
