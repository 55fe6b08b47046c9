"""Ledger verification: rebuild every balance from the postings and compare with what is stored.

``xwrap ledger verify`` prints :meth:`LedgerReport.as_json` and exits non-zero unless ``ok``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from peewee import Database

from ..core.ledger import EXACT, NON_NEGATIVE, Account, AccountKind, amount_text
from ..core.money import ZERO
from .database import read_transaction
from .models import ExchangeAccount, Hold, LedgerPosting, LedgerTransaction, Wallet


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing wrong: ``expected`` is what the postings say, ``found`` what is stored (None: absent)."""

    check: str
    subject: dict[str, Any]
    expected: Decimal | None = None
    found: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "subject": self.subject, "expected": _optional_text(self.expected),
                "found": _optional_text(self.found)}


@dataclass(frozen=True, slots=True)
class LedgerReport:
    transactions: int
    postings: int
    differences: tuple[Difference, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "transactions": self.transactions, "postings": self.postings,
                "differences": [d.as_json() for d in self.differences]}


@dataclass
class _Scan:
    """What one pass over the postings finds."""

    balances: dict[Account, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    totals: dict[tuple[int, str], Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    postings: int = 0
    malformed: list[Difference] = field(default_factory=list)


def verify_ledger(db: Database) -> LedgerReport:
    """Check, in one snapshot, that every transaction sums to zero per currency, that the Wallet,
    Hold and ExchangeAccount rows equal the sums of their accounts' postings, and that no
    wallet, hold or unallocated balance is negative."""
    with read_transaction(db), localcontext(EXACT):
        scan = _scan_postings()
        transaction_ids = [row.id for row in LedgerTransaction.select(LedgerTransaction.id)]
        differences = scan.malformed + _unbalanced(scan, transaction_ids) + _negative(scan.balances)
        differences += _wallets(scan.balances) + _holds(scan.balances) + _exchange_accounts(scan.balances)
    return LedgerReport(len(transaction_ids), scan.postings, tuple(differences))


def account_balances(db: Database) -> dict[Account, Decimal]:
    """Every account's balance, rebuilt from the postings (the non-zero ones)."""
    with read_transaction(db), localcontext(EXACT):
        return {account: amount for account, amount in _scan_postings().balances.items() if amount}


def _scan_postings() -> _Scan:
    scan = _Scan()
    query = LedgerPosting.select(LedgerPosting.id, LedgerPosting.transaction, LedgerPosting.account,
                                 LedgerPosting.wallet_set, LedgerPosting.exchange, LedgerPosting.currency,
                                 LedgerPosting.amount).tuples()
    for posting_id, transaction_id, name, wallet_set, exchange, currency, amount in query.iterator():
        scan.postings += 1
        scan.totals[(transaction_id, currency)] += amount
        try:
            account = Account.from_name(name, exchange, currency)
        except ValueError:
            account = None
        if account is None or account.wallet_set != wallet_set:
            scan.malformed.append(Difference("malformed_posting", {
                "posting": posting_id, "transaction": transaction_id, "account": name, "wallet_set": wallet_set}))
            continue
        scan.balances[account] += amount
    return scan


def _unbalanced(scan: _Scan, transaction_ids: list[int]) -> list[Difference]:
    out = [Difference("unbalanced_transaction", {"transaction": transaction_id, "currency": currency},
                      ZERO, total)
           for (transaction_id, currency), total in sorted(scan.totals.items()) if total != 0]
    posted = {transaction_id for transaction_id, _ in scan.totals}
    out += [Difference("empty_transaction", {"transaction": transaction_id})
            for transaction_id in sorted(transaction_ids) if transaction_id not in posted]
    return out


def _negative(balances: dict[Account, Decimal]) -> list[Difference]:
    return [Difference("negative_balance", _subject(account), ZERO, amount)
            for account, amount in sorted(balances.items(), key=lambda item: _order(item[0]))
            if account.kind in NON_NEGATIVE and amount < 0]


def _wallets(balances: dict[Account, Decimal]) -> list[Difference]:
    expected: dict[tuple[int, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])  # balance, hold
    for account, amount in balances.items():
        if account.kind in (AccountKind.AVAILABLE, AccountKind.HOLD):
            sums = expected[(account.wallet_set, account.exchange, account.currency)]
            sums[0] += amount
            if account.kind is AccountKind.HOLD:
                sums[1] += amount
    stored = {(w.wallet_set_id, w.exchange, w.currency): w for w in Wallet.select()}
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


def _holds(balances: dict[Account, Decimal]) -> list[Difference]:
    expected = {(a.wallet_set, a.order, a.exchange, a.currency): amount
                for a, amount in balances.items() if a.kind is AccountKind.HOLD}
    stored = {(h.wallet_set_id, h.order_ref, h.exchange, h.currency): h.amount for h in Hold.select()}
    return _compare("hold", ("wallet_set", "order", "exchange", "currency"), expected, stored)


def _exchange_accounts(balances: dict[Account, Decimal]) -> list[Difference]:
    expected = {(a.exchange, a.currency): amount for a, amount in balances.items()
                if a.kind is AccountKind.UNALLOCATED}
    stored = {(row.exchange, row.currency): row.unallocated for row in ExchangeAccount.select()}
    return _compare("unallocated", ("exchange", "currency"), expected, stored)


def _compare(check: str, names: tuple[str, ...], expected: dict[tuple, Decimal],
             stored: dict[tuple, Decimal]) -> list[Difference]:
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
