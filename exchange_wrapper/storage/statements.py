"""What an owner reads of the ledger: a wallet set's statement, and the exchange accounts' views.

Both are reads in one snapshot (:func:`~.database.read_transaction`). A statement reads the set's
transactions newest first, a page's worth at a time (filtered by the database where it can: time,
currency, the kind of transaction), with all their postings and the balances they left the set's
wallets in, and makes their lines (:mod:`..core.statement`): its cost follows the page, not the set's
history.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from peewee import Database

from ..core.ledger import CLOSING_MEMO, EXACT, Account, Mode, Posting, TransactionKind
from ..core.money import ZERO
from ..core.statement import (
    CLOSE,
    FEE,
    RecordedTransaction,
    StatementLine,
    check_filters,
    select_lines,
    statement_lines,
)
from . import sql
from .database import read_transaction
from .models import money_value
from .wallets import WalletSetInfo, WalletStore


@dataclass(frozen=True, slots=True)
class LiveAccountView:
    """A real exchange account in one currency: ``reported`` is what the exchange reported when last
    reconciled (``reconciled_at``, microseconds; both None if never), ``allocated`` what the live sets
    own there (``held``: reserved for their open orders), ``unallocated`` what no live set owns."""

    currency: str
    reported: Decimal | None
    reconciled_at: int | None
    allocated: Decimal
    held: Decimal
    unallocated: Decimal


@dataclass(frozen=True, slots=True)
class PaperTotal:
    """The paper sets' funds in one currency on one exchange, summed: ``wallet_sets`` counts those
    owning any."""

    currency: str
    balance: Decimal
    held: Decimal
    wallet_sets: int

    @property
    def available(self) -> Decimal:
        with localcontext(EXACT):
            return self.balance - self.held


@dataclass(frozen=True, slots=True)
class AccountView:
    exchange: str
    live: list[LiveAccountView]
    paper: list[PaperTotal]


class Statements:
    """Reads statements and account views of the ledger ``wallets`` keeps."""

    def __init__(self, db: Database, wallets: WalletStore):
        self.db, self.wallets = db, wallets

    def statement(
        self,
        wallet_set: int | str,
        *,
        start: int | None = None,
        end: int | None = None,
        currency: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[WalletSetInfo, list[StatementLine], str | None]:
        """The set, a page of its statement lines (newest first, as :func:`select_lines` selects them)
        and the cursor of the next page. Bad filters are refused before anything is read."""
        after = check_filters(start=start, end=end, kind=kind, cursor=cursor)
        info = self.wallets.wallet_set(wallet_set)
        where: list[str] = ["p.wallet_set_id = ?"]
        params: list[int | str] = [info.id]
        for condition, value in (
            ("p.currency = ?", currency),
            ("t.created_at >= ?", start),
            ("t.created_at < ?", end),
            ("t.kind = ?", TransactionKind.FILL.value if kind == FEE else None if kind == CLOSE else kind),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        if kind == CLOSE:  # what returned a closing set's balances: a withdraw or a deallocate, by its memo
            where.append("t.kind IN (?, ?) AND t.memo = ?")
            params += [TransactionKind.WITHDRAW.value, TransactionKind.DEALLOCATE.value, CLOSING_MEMO]
        newest = None if after is None else after[0]
        page: list[StatementLine] = []
        with read_transaction(self.db):
            while len(page) <= limit:  # one more than the page: whether another follows
                bound = [] if newest is None else ["p.transaction_id <= ?"]
                ids = [
                    row[0]
                    for row in sql.rows(
                        self.db,
                        _SET_TRANSACTIONS.format(where=" AND ".join(where + bound)),
                        (*params, *([] if newest is None else [newest]), limit + 1),
                    )
                ]
                if not ids:
                    break
                lines = statement_lines(info.id, self._transactions(info.id, ids[::-1]))
                page += select_lines(
                    lines, start=start, end=end, currency=currency, kind=kind, cursor=cursor, limit=len(lines)
                )[0]
                newest = ids[-1] - 1
        return info, page[:limit], page[limit - 1].cursor if len(page) > limit else None

    def _transactions(self, wallet_set_id: int, ids: list[int]) -> list[RecordedTransaction]:
        """The transactions ``ids`` (oldest first) with all their postings and what they left the set's
        wallets at."""
        rows: dict[int, list[tuple]] = {id: [] for id in ids}
        template = _POSTINGS + f"({', '.join('?' * len(ids))}) ORDER BY p.id"
        for row in sql.rows(self.db, template, ids):
            rows[row[0]].append(row)
        return [_transaction(wallet_set_id, rows[id]) for id in ids]

    def accounts(self, exchanges: list[str]) -> list[AccountView]:
        """Per exchange (in the order given): its real account as the ledger knows it, per currency,
        and the paper sets' totals there."""
        wanted = set(exchanges)
        with read_transaction(self.db), localcontext(EXACT):
            reported = {
                (exchange, currency): (money_value(total), money_value(unallocated), reconciled_at)
                for exchange, currency, total, unallocated, reconciled_at in sql.rows(self.db, _EXCHANGE_ACCOUNTS)
                if exchange in wanted
            }
            sums: dict[tuple[str, str, str], tuple[Decimal, Decimal, int]] = {}
            for exchange, currency, mode, balance, hold in sql.rows(self.db, _WALLETS):
                if exchange in wanted:
                    owned, held, sets = sums.get((exchange, mode, currency), (ZERO, ZERO, 0))
                    balance, hold = money_value(balance), money_value(hold)
                    sums[(exchange, mode, currency)] = (owned + balance, held + hold, sets + (balance != 0))
        views = []
        for exchange in exchanges:
            currencies = sorted(
                {c for e, c in reported if e == exchange}
                | {c for e, m, c in sums if e == exchange and m == Mode.LIVE.value}
            )
            live = []
            for currency in currencies:
                total, unallocated, reconciled_at = reported.get((exchange, currency), (ZERO, ZERO, None))
                allocated, held, _ = sums.get((exchange, Mode.LIVE.value, currency), (ZERO, ZERO, 0))
                live.append(
                    LiveAccountView(
                        currency, None if reconciled_at is None else total, reconciled_at, allocated, held, unallocated
                    )
                )
            paper = [
                PaperTotal(currency, balance, held, sets)
                for (e, mode, currency), (balance, held, sets) in sorted(sums.items())
                if e == exchange and mode == Mode.PAPER.value
            ]
            views.append(AccountView(exchange, live, paper))
        return views


def _transaction(wallet_set_id: int, rows: list[tuple]) -> RecordedTransaction:
    id, kind, reference, memo, created_at = rows[0][:5]
    postings, after = [], {}
    for *_, account, wallet_set, exchange, currency, amount, balance_after, hold_after in rows:
        postings.append(Posting(Account.from_name(account, exchange, currency), money_value(amount)))
        if wallet_set == wallet_set_id:
            after[(exchange, currency)] = (money_value(balance_after), money_value(hold_after))
    return RecordedTransaction(id, TransactionKind(kind), reference, memo, created_at, tuple(postings), after)


#: The ids of the set's transactions matching ``where`` (on its postings ``p`` and their transaction
#: ``t``), newest first, at most the last parameter.
_SET_TRANSACTIONS = """SELECT DISTINCT p.transaction_id FROM "ledger_posting" p
JOIN "ledger_transaction" t ON t.id = p.transaction_id WHERE {where} ORDER BY p.transaction_id DESC LIMIT ?"""
_POSTINGS = """SELECT t.id, t.kind, t.reference, t.memo, t.created_at,
p.account, p.wallet_set_id, p.exchange, p.currency, p.amount, p.balance_after, p.hold_after
FROM "ledger_posting" p JOIN "ledger_transaction" t ON t.id = p.transaction_id WHERE t.id IN """
_EXCHANGE_ACCOUNTS = 'SELECT exchange, currency, total, unallocated, reconciled_at FROM "exchange_account"'
_WALLETS = """SELECT w.exchange, w.currency, s.mode, w.balance, w.hold
FROM "wallet" w JOIN "wallet_set" s ON s.id = w.wallet_set_id"""
