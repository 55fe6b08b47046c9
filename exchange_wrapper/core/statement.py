"""A wallet set's statement: its ledger transactions as lines an owner reads, with the balances after each.

The ledger records transactions between accounts (:mod:`.ledger`); an owner reads, per wallet (exchange
and currency) of the set, what came in or went out, why, and what the wallet held after. A transaction
becomes one line per wallet of the set it touched, with its kind; a fill's fee becomes a line of its own,
kind ``fee``, after the fill's line (the ledger records both in one transaction). Each line says how the
wallet's ``balance`` (everything the set owns there) and its ``hold`` (the part reserved for open orders)
changed and what they are after it; ``available`` is the difference. Hold and release lines move funds
between available and held: they change the hold, not the balance.

The ledger records, with each transaction, the balance and hold it left each wallet of the set in, so
any transaction's lines are built on their own (:func:`statement_lines`): a page reads only its
transactions. Filtering and paging: :func:`select_lines`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from .errors import InvalidParameter
from .ledger import CLOSING_MEMO, EXACT, Account, AccountKind, Posting, TransactionKind
from .money import ZERO

#: The kind of a fill's fee line (the ledger's kinds are :class:`~.ledger.TransactionKind`).
FEE = "fee"
#: The kind of the lines of the entries that returned a closing set's balances (withdraw or deallocate
#: in the ledger, with :data:`~.ledger.CLOSING_MEMO`).
CLOSE = "close"
#: Every kind a statement line has, as a statement is filtered by.
LINE_KINDS = (*(kind.value for kind in TransactionKind), FEE, CLOSE)


@dataclass(frozen=True, slots=True)
class RecordedTransaction:
    """A ledger transaction as stored: ``created_at`` in microseconds, all of its postings, and ``after``:
    the (balance, hold) it left each wallet of the set in, by (exchange, currency)."""

    id: int
    kind: TransactionKind
    reference: str | None
    memo: str
    created_at: int
    postings: tuple[Posting, ...]
    after: Mapping[tuple[str, str], tuple[Decimal, Decimal]]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """What one transaction did to one wallet of the set (or a fill's fee).

    ``amount`` is the signed change of the balance, ``hold_change`` of the hold; ``balance`` and
    ``hold`` are the wallet's after the line. ``cursor`` places the line in the statement (its
    transaction, then its place among that transaction's lines) for paging.
    """

    transaction_id: int
    seq: int
    created_at: int  # microseconds since the Unix epoch, UTC
    kind: str
    exchange: str
    currency: str
    amount: Decimal
    hold_change: Decimal
    balance: Decimal
    hold: Decimal
    order_id: str | None
    trade_id: str | None
    counterparty: str | None
    memo: str

    @property
    def available(self) -> Decimal:
        with localcontext(EXACT):
            return self.balance - self.hold

    @property
    def cursor(self) -> str:
        return f"{self.transaction_id}.{self.seq}"


def statement_lines(wallet_set: int, transactions: Iterable[RecordedTransaction]) -> list[StatementLine]:
    """The lines of ``wallet_set``'s statement from transactions that touched it (given oldest first),
    oldest first."""
    lines: list[StatementLine] = []
    with localcontext(EXACT):
        for transaction in transactions:
            seq = 0
            for exchange, currency, amount, hold_change, fee in _changes(wallet_set, transaction):
                balance, hold = transaction.after[(exchange, currency)]
                balance, hold = balance - amount, hold - hold_change  # as the transaction found them
                kind = _kind(transaction)
                parts = [(kind, amount + fee, hold_change)]
                if fee:  # the hold pays for the fill first, then for the fee
                    fill_hold = max(hold_change, min(amount + fee, ZERO))
                    parts = [(kind, amount + fee, fill_hold), (FEE, -fee, hold_change - fill_hold)]
                for kind, change, held in parts:
                    if not change and not held:
                        continue  # a fee in a currency the fill does not trade
                    balance, hold = balance + change, hold + held
                    seq += 1
                    lines.append(
                        _line(wallet_set, transaction, seq, kind, exchange, currency, change, held, balance, hold)
                    )
    return lines


def balances_after(postings: Iterable[tuple[int, int, Account, Decimal]]) -> dict[int, tuple[Decimal, Decimal]]:
    """By posting id, the (balance, hold) its transaction left its wallet in: running sums of the
    wallets' postings, given as (posting id, transaction id, account, amount) of sets' accounts, in
    transaction order (what the ledger records with each posting, and ``xwrap ledger verify`` checks)."""
    running: dict[tuple[int | None, str, str], tuple[Decimal, Decimal]] = {}
    out: dict[int, tuple[Decimal, Decimal]] = {}
    pending: list[tuple[int, tuple[int | None, str, str]]] = []
    current = None
    with localcontext(EXACT):
        for posting_id, transaction_id, account, amount in postings:
            if transaction_id != current:
                out.update((posting, running[key]) for posting, key in pending)
                pending, current = [], transaction_id
            key = (account.wallet_set, account.exchange, account.currency)
            balance, hold = running.get(key, (ZERO, ZERO))
            running[key] = (balance + amount, hold + amount if account.kind is AccountKind.HOLD else hold)
            pending.append((posting_id, key))
        out.update((posting, running[key]) for posting, key in pending)
    return out


def select_lines(
    lines: Sequence[StatementLine],
    *,
    start: int | None = None,
    end: int | None = None,
    currency: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[StatementLine], str | None]:
    """The lines (given oldest first) in [start, end) (microseconds) of ``currency`` and ``kind``,
    newest first, after ``cursor`` (the last line of the previous page): at most ``limit``, and the
    cursor of the next page (None when there is none)."""
    after = check_filters(start=start, end=end, kind=kind, cursor=cursor)
    page: list[StatementLine] = []
    for line in reversed(lines):
        if after is not None and (line.transaction_id, line.seq) >= after:
            continue
        if (
            (start is not None and line.created_at < start)
            or (end is not None and line.created_at >= end)
            or (currency is not None and line.currency != currency)
            or (kind is not None and line.kind != kind)
        ):
            continue
        if len(page) == limit:
            return page, page[-1].cursor
        page.append(line)
    return page, None


def check_filters(
    *, start: int | None = None, end: int | None = None, kind: str | None = None, cursor: str | None = None
) -> tuple[int, int] | None:
    """Refuse a range that ends before it starts, a kind no line has, a malformed cursor (each an
    InvalidParameter naming it); the place the cursor names, if any."""
    if start is not None and end is not None and start > end:
        raise InvalidParameter("end", "a time at or after start", end / 1_000_000)
    if kind is not None and kind not in LINE_KINDS:
        raise InvalidParameter("kind", "one of " + ", ".join(LINE_KINDS), kind)
    return None if cursor is None else parse_cursor(cursor)


def parse_cursor(cursor: str) -> tuple[int, int]:
    """A line's place, as :attr:`StatementLine.cursor` writes it; InvalidParameter naming ``cursor``."""
    transaction, _, seq = cursor.partition(".")
    if not (transaction.isascii() and transaction.isdigit() and seq.isascii() and seq.isdigit()):
        raise InvalidParameter("cursor", 'the next_cursor of a previous page (such as "812.2")', cursor)
    return int(transaction), int(seq)


def _changes(wallet_set: int, transaction: RecordedTransaction) -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    """(exchange, currency, change of the balance, change of the hold, fee paid) per wallet of the set
    the transaction touched, by exchange and currency; the fee is a fill's, in that currency."""
    changes: dict[tuple[str, str], list[Decimal]] = {}
    fees: dict[tuple[str, str], Decimal] = {}
    for posting in transaction.postings:
        account = posting.account
        key = (account.exchange, account.currency)
        if account.wallet_set == wallet_set:
            change = changes.setdefault(key, [ZERO, ZERO])
            change[0] += posting.amount
            if account.kind is AccountKind.HOLD:
                change[1] += posting.amount
        elif account.kind is AccountKind.FEES and transaction.kind is TransactionKind.FILL:
            fees[key] = fees.get(key, ZERO) + posting.amount
    return [(*key, amount, hold, fees.get(key, ZERO)) for key, (amount, hold) in sorted(changes.items())]


def _line(
    wallet_set: int,
    transaction: RecordedTransaction,
    seq: int,
    kind: str,
    exchange: str,
    currency: str,
    amount: Decimal,
    hold_change: Decimal,
    balance: Decimal,
    hold: Decimal,
) -> StatementLine:
    order_id, trade_id = _references(transaction)
    return StatementLine(
        transaction.id,
        seq,
        transaction.created_at,
        kind,
        exchange,
        currency,
        amount,
        hold_change,
        balance,
        hold,
        order_id,
        trade_id,
        AccountKind.FEES.value if kind == FEE else _counterparty(wallet_set, transaction, exchange, currency),
        transaction.memo,
    )


def _references(transaction: RecordedTransaction) -> tuple[str | None, str | None]:
    """(order id, trade id): a hold or release names its order, a fill ``ORDER/TRADE``."""
    reference = transaction.reference
    if reference is None:
        return None, None
    if transaction.kind is TransactionKind.FILL:
        order_id, _, trade_id = reference.partition("/")
        return order_id, trade_id or None
    return reference, None


def _counterparty(wallet_set: int, transaction: RecordedTransaction, exchange: str, currency: str) -> str | None:
    """The account on the other side in that currency (another set's, the market, virtual funding, the
    exchange account's unallocated funds); None for a hold or release, which stay within the set."""
    for posting in transaction.postings:
        account = posting.account
        if (
            account.wallet_set != wallet_set
            and account.kind is not AccountKind.FEES
            and (account.exchange, account.currency) == (exchange, currency)
        ):
            return account.name if account.wallet_set is None else f"wallet_set:{account.wallet_set}"
    return None


def _kind(transaction: RecordedTransaction) -> str:
    """A line's kind: the ledger's, but ``close`` for what returned a closing set's balances."""
    closing = transaction.kind in (TransactionKind.WITHDRAW, TransactionKind.DEALLOCATE)
    return CLOSE if closing and transaction.memo == CLOSING_MEMO else transaction.kind.value
