"""What an owner reads of the ledger: a wallet set's statement, and the exchange accounts' views.

Both are reads in one snapshot (:func:`~.database.read_transaction`). A statement's balances after each
line are running sums from the set's first transaction (:mod:`..core.statement`), so it reads every
transaction that touched the set, with all their postings, then filters and pages in memory: its cost
grows with the set's history, not with the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from peewee import Database

from ..core.ledger import EXACT, Account, Mode, Posting, TransactionKind
from ..core.money import ZERO
from ..core.statement import RecordedTransaction, StatementLine, check_filters, select_lines, statement_lines
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
        check_filters(start=start, end=end, kind=kind, cursor=cursor)
        info = self.wallets.wallet_set(wallet_set)
        with read_transaction(self.db):
            lines = statement_lines(info.id, self._transactions(info.id))
        page, following = select_lines(
            lines, start=start, end=end, currency=currency, kind=kind, cursor=cursor, limit=limit
        )
        return info, page, following

    def _transactions(self, wallet_set_id: int) -> Iterable[RecordedTransaction]:
        """Every transaction that touched the set, oldest first, with all its postings."""
        current: list = []
        for row in sql.rows(self.db, _SET_POSTINGS, (wallet_set_id,)):
            if current and current[0][0] != row[0]:
                yield _transaction(current)
                current = []
            current.append(row)
        if current:
            yield _transaction(current)

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


def _transaction(rows: list[tuple]) -> RecordedTransaction:
    id, kind, reference, memo, created_at = rows[0][:5]
    postings = tuple(
        Posting(Account.from_name(account, exchange, currency), money_value(amount))
        for *_, account, exchange, currency, amount in rows
    )
    return RecordedTransaction(id, TransactionKind(kind), reference, memo, created_at, postings)


_SET_POSTINGS = """SELECT t.id, t.kind, t.reference, t.memo, t.created_at, p.account, p.exchange, p.currency, p.amount
FROM "ledger_transaction" t JOIN "ledger_posting" p ON p.transaction_id = t.id
WHERE t.id IN (SELECT transaction_id FROM "ledger_posting" WHERE wallet_set_id = ?)
ORDER BY t.id, p.id"""
_EXCHANGE_ACCOUNTS = 'SELECT exchange, currency, total, unallocated, reconciled_at FROM "exchange_account"'
_WALLETS = """SELECT w.exchange, w.currency, s.mode, w.balance, w.hold
FROM "wallet" w JOIN "wallet_set" s ON s.id = w.wallet_set_id"""
