"""Ledger verification: rebuild every balance from the postings and compare with what is stored;
check that every order holds what its rest requires and that its fills are its state and are settled.

``xwrap ledger verify`` prints :meth:`LedgerReport.as_json` and exits non-zero unless ``ok``.
Each table is read once, in one snapshot; the rows are compared in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from peewee import Database

from ..core.errors import InvalidParameter
from ..core.holds import with_fee
from ..core.ledger import EXACT, NON_NEGATIVE, Account, AccountKind, TransactionKind, amount_text
from ..core.money import ZERO
from ..core.orders import FINAL_STATUSES, LIMIT_TYPES, Side
from ..core.pairs import Pair
from ..core.statement import balances_after
from . import sql
from .database import SET_POSTINGS, read_transaction
from .models import ExchangeAccount, Wallet, money_value

#: The highest taker fee a limit buy's hold may include when the caller does not say
#: (``xwrap ledger verify`` passes the largest configured one if higher).
DEFAULT_MAX_FEE = Decimal("0.01")

#: How many differences ``xwrap ledger verify`` prints (the report says how many more there are).
SHOWN_DIFFERENCES = 50


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing wrong: ``expected`` is what the postings (for an order: its fills, its rest) say,
    ``found`` what is stored (None: absent). An ``order_hold`` subject's ``bound`` says whether
    ``expected`` is the exact hold, its minimum or its maximum (or ``present``: a hold row at all)."""

    check: str
    subject: dict[str, Any]
    expected: Decimal | None = None
    found: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "subject": self.subject,
            "expected": _optional_text(self.expected),
            "found": _optional_text(self.found),
        }


@dataclass(frozen=True, slots=True)
class LedgerReport:
    transactions: int
    postings: int
    differences: tuple[Difference, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_json(self, limit: int | None = None) -> dict[str, Any]:
        """The report; with ``limit``, only the first ``limit`` differences and how many were left off."""
        shown = self.differences if limit is None else self.differences[:limit]
        out = {
            "ok": self.ok,
            "transactions": self.transactions,
            "postings": self.postings,
            "differences": [d.as_json() for d in shown],
        }
        if len(shown) < len(self.differences):
            out["differences_left_off"] = len(self.differences) - len(shown)
        return out

    def summary(self) -> str:
        """One line: ok, or how many differences and the checks that found them."""
        if self.ok:
            return "the ledger verifies"
        checks = ", ".join(dict.fromkeys(d.check for d in self.differences))
        return f"the ledger does not verify: {len(self.differences)} differences ({checks})"


@dataclass
class _Scan:
    """What one pass over the postings finds."""

    balances: dict[Account, Decimal] = field(default_factory=dict)
    totals: dict[tuple[int, str], Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    postings: int = 0
    malformed: list[Difference] = field(default_factory=list)


@dataclass
class _Fills:
    """What one pass over the fills finds: per order id the sums of sizes, values (price × size)
    and fees; and each fill's settlement reference with its (order id, trade id)."""

    sums: dict[int, list[Decimal]] = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO, ZERO]))
    references: dict[str, tuple[int, str]] = field(default_factory=dict)


#: (wallet set, order reference) -> (exchange, currency, amount) of the Hold rows.
_Holds = dict[tuple[int, str], tuple[str, str, Decimal]]


def highest_fee(takers: Iterable[Decimal | None]) -> Decimal:
    """The ``max_fee`` of :func:`verify_ledger` for the configured taker fees (None: the market's
    default): a buy's hold includes the taker fee, so the highest configured one bounds it."""
    return max([DEFAULT_MAX_FEE, *(taker for taker in takers if taker is not None)])


def verify_ledger(db: Database, *, max_fee: Decimal = DEFAULT_MAX_FEE) -> LedgerReport:
    """Check, in one snapshot, that every transaction sums to zero per currency, that the Wallet,
    Hold and ExchangeAccount rows equal the sums of their accounts' postings, that each set's posting
    records the balance and hold its transaction left its wallet in, and that no wallet, hold or
    unallocated balance is negative; then the orders: an open order holds what its
    rest requires (:func:`_order_hold`; ``max_fee`` is the highest taker fee a limit buy's hold may
    include), a closed one holds nothing, its filled size, executed value and fees are the sums of
    its fills, and each fill has its settlement and each settlement its fill; a closed wallet set
    holds nothing (its close returned every balance)."""
    with read_transaction(db), localcontext(EXACT):
        scan = _scan_postings(db)
        transaction_ids, fill_settlements = _scan_transactions(db)
        holds = _scan_holds(db)
        differences = scan.malformed + _unbalanced(scan, transaction_ids) + _negative(scan.balances)
        differences += _wallets(scan.balances) + _holds(scan.balances, holds) + _exchange_accounts(scan.balances)
        differences += _closed_sets(db, scan.balances)
        differences += _balances_after(db)
        fills = _scan_fills(db)
        differences += _orders(db, holds, fills, max_fee) + _settlements(fills, fill_settlements)
    return LedgerReport(len(transaction_ids), scan.postings, tuple(differences))


def account_balances(db: Database) -> dict[Account, Decimal]:
    """Every account's balance, rebuilt from the postings (the non-zero ones)."""
    with read_transaction(db), localcontext(EXACT):
        return {account: amount for account, amount in _scan_postings(db).balances.items() if amount}


def _scan_postings(db: Database) -> _Scan:
    """Sums by account; each distinct (name, wallet set, exchange, currency) is read as an account once."""
    scan = _Scan()
    accounts: dict[tuple[str, int | None, str, str], Account | None] = {}
    sums: dict[tuple[str, int | None, str, str], Decimal] = defaultdict(lambda: ZERO)
    for posting_id, transaction_id, name, wallet_set, exchange, currency, amount in sql.run(db, _POSTINGS):
        amount = Decimal(amount)
        scan.postings += 1
        scan.totals[(transaction_id, currency)] += amount
        key = (name, wallet_set, exchange, currency)
        if key not in accounts:
            accounts[key] = _account(*key)
        if accounts[key] is None:
            scan.malformed.append(
                Difference(
                    "malformed_posting",
                    {"posting": posting_id, "transaction": transaction_id, "account": name, "wallet_set": wallet_set},
                )
            )
            continue
        sums[key] += amount
    scan.balances = {account: amount for key, amount in sums.items() if (account := accounts[key]) is not None}
    return scan


def _account(name: str, wallet_set: int | None, exchange: str, currency: str) -> Account | None:
    """The account a posting names, None if the name is malformed or the wallet set column disagrees."""
    try:
        account = Account.from_name(name, exchange, currency)
    except ValueError:
        return None
    return account if account.wallet_set == wallet_set else None


def _scan_transactions(db: Database) -> tuple[list[int], dict[str, int]]:
    """Every transaction's id, and the fill settlements' ids by reference."""
    ids, fills = [], {}
    for transaction_id, kind, reference in sql.run(db, _TRANSACTIONS):
        ids.append(transaction_id)
        if kind == TransactionKind.FILL.value:
            fills[reference] = transaction_id
    return ids, fills


def _unbalanced(scan: _Scan, transaction_ids: list[int]) -> list[Difference]:
    out = [
        Difference("unbalanced_transaction", {"transaction": transaction_id, "currency": currency}, ZERO, total)
        for (transaction_id, currency), total in sorted(scan.totals.items())
        if total != 0
    ]
    posted = {transaction_id for transaction_id, _ in scan.totals}
    out += [
        Difference("empty_transaction", {"transaction": transaction_id})
        for transaction_id in sorted(transaction_ids)
        if transaction_id not in posted
    ]
    return out


def _negative(balances: dict[Account, Decimal]) -> list[Difference]:
    return [
        Difference("negative_balance", _subject(account), ZERO, amount)
        for account, amount in sorted(balances.items(), key=lambda item: _order(item[0]))
        if account.kind in NON_NEGATIVE and amount < 0
    ]


def _balances_after(db: Database) -> list[Difference]:
    """Each set's posting's ``balance_after`` and ``hold_after`` against the running sums (statements show them)."""
    rows, accounts = sql.rows(db, SET_POSTINGS), {}
    for _, _, name, wallet_set, exchange, currency, *_ in rows:
        if (name, wallet_set, exchange, currency) not in accounts:
            accounts[(name, wallet_set, exchange, currency)] = _account(name, wallet_set, exchange, currency)
    expected = balances_after(
        (id, transaction, account, Decimal(amount))
        for id, transaction, name, wallet_set, exchange, currency, amount, *_ in rows
        if (account := accounts[(name, wallet_set, exchange, currency)]) is not None  # malformed: reported
    )
    out = []
    for id, transaction, _, wallet_set, exchange, currency, _, balance, hold in rows:
        if id not in expected:
            continue
        found = (None if balance is None else money_value(balance), None if hold is None else money_value(hold))
        subject = {"posting": id, "transaction": transaction, "wallet_set": wallet_set, "exchange": exchange}
        for check, want, got in zip(("posting_balance_after", "posting_hold_after"), expected[id], found):
            if want != got:
                out.append(Difference(check, {**subject, "currency": currency}, want, got))
    return out


def _wallets(balances: dict[Account, Decimal]) -> list[Difference]:
    expected: dict[tuple[int | None, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])  # balance, hold
    for account, amount in balances.items():
        if account.kind in (AccountKind.AVAILABLE, AccountKind.HOLD):
            sums = expected[(account.wallet_set, account.exchange, account.currency)]
            sums[0] += amount
            if account.kind is AccountKind.HOLD:
                sums[1] += amount
    stored: dict[tuple[int | None, str, str], Wallet] = {
        (w.wallet_set_id, w.exchange, w.currency): w for w in Wallet.select()
    }
    out = []
    for key in sorted(set(expected) | set(stored)):
        subject = {"wallet_set": key[0], "exchange": key[1], "currency": key[2]}
        balance, hold = expected.get(key, (ZERO, ZERO))
        row = stored.get(key)
        if row is None:
            if balance or hold:
                out.append(Difference("wallet_missing", subject, balance, None))
            continue
        if row.balance != balance:
            out.append(Difference("wallet_balance", subject, balance, row.balance))
        if row.hold != hold:
            out.append(Difference("wallet_hold", subject, hold, row.hold))
        if row.hold < 0 or row.available < 0:
            out.append(Difference("wallet_negative", subject, None, min(row.hold, row.available)))
    return out


def _closed_sets(db: Database, balances: dict[Account, Decimal]) -> list[Difference]:
    closed = {wallet_set for (wallet_set,) in sql.run(db, _CLOSED_SETS)}
    return [
        Difference("closed_wallet_set", _subject(account), ZERO, amount)
        for account, amount in sorted(balances.items(), key=lambda item: _order(item[0]))
        if account.wallet_set in closed and amount
    ]


def _scan_holds(db: Database) -> _Holds:
    return {
        (wallet_set, order): (exchange, currency, Decimal(amount))
        for wallet_set, order, exchange, currency, amount in sql.run(db, _HOLDS)
    }


def _holds(balances: dict[Account, Decimal], holds: _Holds) -> list[Difference]:
    expected = {
        (a.wallet_set, a.order, a.exchange, a.currency): amount
        for a, amount in balances.items()
        if a.kind is AccountKind.HOLD
    }
    stored = {
        (wallet_set, order, exchange, currency): amount
        for (wallet_set, order), (exchange, currency, amount) in holds.items()
    }
    return _compare("hold", ("wallet_set", "order", "exchange", "currency"), expected, stored)


def _exchange_accounts(balances: dict[Account, Decimal]) -> list[Difference]:
    expected = {(a.exchange, a.currency): amount for a, amount in balances.items() if a.kind is AccountKind.UNALLOCATED}
    stored = {(row.exchange, row.currency): row.unallocated for row in ExchangeAccount.select()}
    return _compare("unallocated", ("exchange", "currency"), expected, stored)


def _scan_fills(db: Database) -> _Fills:
    fills = _Fills()
    for order_id, trade_id, price, size, fee in sql.run(db, _FILLS):
        size = Decimal(size)
        sums = fills.sums[order_id]
        sums[0] += size
        sums[1] += Decimal(price) * size
        sums[2] += Decimal(fee)
        fills.references[f"{order_id}/{trade_id}"] = (order_id, trade_id)
    return fills


_FILL_FIELDS = ("filled_size", "executed_value", "fees")


def _orders(db: Database, holds: _Holds, fills: _Fills, max_fee: Decimal) -> list[Difference]:
    """One pass over the orders: their state against their fills, their holds against their status."""
    out = []
    for order_id, wallet_set, pair, side, order_type, status, size, price, *state in sql.run(db, _ORDERS):
        size, price, state = _optional_money(size), _optional_money(price), list(map(Decimal, state))
        subject = {"order": str(order_id), "wallet_set": wallet_set}
        sums = fills.sums.get(order_id, (ZERO, ZERO, ZERO))
        out += [
            Difference("order_fills", {**subject, "field": name}, expected, found)
            for name, expected, found in zip(_FILL_FIELDS, sums, state)
            if expected != found
        ]
        hold = holds.get((wallet_set, str(order_id)))
        if status in FINAL_STATUSES:
            if hold is not None and hold[2]:
                out.append(
                    Difference(
                        "closed_order_hold",
                        {**subject, "status": status, "exchange": hold[0], "currency": hold[1]},
                        ZERO,
                        hold[2],
                    )
                )
            continue
        try:
            currency = _held_currency(pair, side)
        except InvalidParameter:
            out.append(Difference("malformed_order", {**subject, "pair": pair}))
            continue
        held = hold[2] if hold is not None and hold[1] == currency else None
        rest = None if size is None else size - state[0]
        out += _order_hold({**subject, "currency": currency}, side, order_type, rest, price, held, max_fee)
    return out


def _held_currency(pair: str, side: str) -> str:
    parsed = Pair.parse(pair)
    return parsed.base if side == Side.SELL else parsed.quote


def _order_hold(
    subject: dict[str, Any],
    side: str,
    order_type: str,
    rest: Decimal | None,
    price: Decimal | None,
    held: Decimal | None,
    max_fee: Decimal,
) -> list[Difference]:
    """What an open order's hold must be; ``held`` is None if the order has no hold row in its
    currency (base for a sell, quote for a buy).

    A sell holds its rest exactly. A limit buy holds its rest × price plus at most ``max_fee`` of
    it (rounded up as holds are). A market or stop-market buy is held by a cost not stored (the
    book walked, the stop price with a margin): it only has to have a hold.
    """
    amount = held or ZERO
    if side == Side.SELL:
        if amount != rest:
            return [Difference("order_hold", {**subject, "bound": "exact"}, rest, held)]
        return []
    if order_type not in LIMIT_TYPES:
        return [] if held is not None else [Difference("order_hold", {**subject, "bound": "present"})]
    assert rest is not None and price is not None  # a limit order is given by size, at a price
    low = rest * price
    high = with_fee(low, max_fee)
    if amount < low:
        return [Difference("order_hold", {**subject, "bound": "minimum"}, low, held)]
    if amount > high:
        return [Difference("order_hold", {**subject, "bound": "maximum"}, high, held)]
    return []


def _settlements(fills: _Fills, settlements: dict[str, int]) -> list[Difference]:
    """Each fill row against the fill transactions (by reference ``order id/trade id``)."""
    out = [
        Difference("fill_unsettled", {"order": str(order_id), "trade_id": trade_id, "reference": reference})
        for reference, (order_id, trade_id) in sorted(fills.references.items(), key=lambda item: item[1])
        if reference not in settlements
    ]
    out += [
        Difference("settlement_without_fill", {"transaction": transaction_id, "reference": reference})
        for reference, transaction_id in sorted(settlements.items(), key=lambda item: item[1])
        if reference not in fills.references
    ]
    return out


def _compare(
    check: str, names: tuple[str, ...], expected: dict[tuple, Decimal], stored: dict[tuple, Decimal]
) -> list[Difference]:
    """Differences between rebuilt and stored amounts; a zero on one side matches absence on the other."""
    out = []
    for key in sorted(set(expected) | set(stored)):
        want, have = expected.get(key), stored.get(key)
        if (want or ZERO) != (have or ZERO):
            out.append(Difference(check, dict(zip(names, key)), want or ZERO, have))
    return out


def _subject(account: Account) -> dict[str, Any]:
    out: dict[str, Any] = {"account": account.name, "exchange": account.exchange, "currency": account.currency}
    if account.wallet_set is not None:
        out["wallet_set"] = account.wallet_set
    return out


def _order(account: Account) -> tuple:
    return account.name, account.exchange, account.currency


def _optional_text(value: Decimal | None) -> str | None:
    return None if value is None else amount_text(value)


def _optional_money(value: str | Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# Plain rows, not models (a fraction of the time on 100k orders). A MONEY column is read with Decimal():
# exact from SQLite's text and PostgreSQL's NUMERIC, compared by value, printed canonically (amount_text).
_POSTINGS = 'SELECT id, transaction_id, account, wallet_set_id, exchange, currency, amount FROM "ledger_posting"'
_TRANSACTIONS = 'SELECT id, kind, reference FROM "ledger_transaction"'
_CLOSED_SETS = 'SELECT id FROM "wallet_set" WHERE closed_at IS NOT NULL'
_HOLDS = 'SELECT wallet_set_id, order_ref, exchange, currency, amount FROM "hold"'
_FILLS = 'SELECT order_id, trade_id, price, size, fee FROM "fill"'
_ORDERS = (
    'SELECT id, wallet_set_id, pair, side, "type", status, size, price, filled_size, executed_value, fees '
    'FROM "orders" ORDER BY id'
)
