"""Wallet sets and their ledger, stored: every change of money goes through the ledger's rules.

Each write runs in one database transaction that locks what it reads, asks
:mod:`exchange_wrapper.core.ledger` for the postings, records them and updates the cached
projections (Wallet, Hold, ExchangeAccount) before committing, so a refused operation
changes nothing. Safe to call from many threads (each uses its own connection).

Locking: on SQLite the transaction begins IMMEDIATE (one writer at a time, taken before the
first read); on PostgreSQL the rows are locked with SELECT ... FOR UPDATE in one fixed order
(exchange accounts, then wallets by wallet set, exchange, currency), so two operations never
wait on each other in a circle. Lock conflicts are retried a bounded number of times.

The statements an order runs (locks, ledger entries, projections, balances) are SQL text built
once (:mod:`.sql`); a wallet set, which is never deleted and never changes mode, is read once
and then known.

Closing is final (:meth:`WalletStore.close_wallet_set`), so whether a set is closed is read
under lock by every write that a closed set refuses: the wallet set rows come first in the
lock order, shared by those writes (FOR SHARE) and taken alone by the close (FOR UPDATE).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from typing import Any, TypeVar

from peewee import Database, IntegrityError, PeeweeException

from ..core import ledger
from ..core.errors import Conflict, DatabaseUnavailable, InvalidParameter, NotFound, UnknownExchange, WalletSetClosed
from ..core.ledger import (
    CLOSING_MEMO,
    EXACT,
    Account,
    AccountKind,
    FillTerms,
    Mode,
    Posting,
    Transaction,
    TransactionKind,
    WalletSetRef,
    amount_text,
)
from ..core.money import ZERO
from ..exchanges import EXCHANGE_NAMES
from . import sql
from .database import is_lock_conflict, is_postgres, write_transaction
from .models import (
    ExchangeAccount,
    Hold,
    LedgerPosting,
    LedgerTransaction,
    Wallet,
    WalletSet,
    money_param,
    money_value,
    now_us,
)

#: ``price(exchange, currency)``: the USD value of one unit, or None when no price is known.
PriceLookup = Callable[[str, str], Decimal | None]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WalletSetInfo:
    id: int
    name: str
    mode: Mode
    created_at: int  # microseconds since the Unix epoch, UTC
    #: When it was closed (microseconds), None while open; as read: the writes it refuses read it under lock.
    closed_at: int | None = None

    @property
    def ref(self) -> WalletSetRef:
        return WalletSetRef(self.id, self.mode)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "mode": self.mode.value,
            "created_at": self.created_at,
            "closed_at": self.closed_at,
        }


#: What a new wallet set is given, or what is taken out of one: (exchange, currency, amount).
Allocation = tuple[str, str, Decimal]


@dataclass(frozen=True, slots=True)
class Closed:
    """A wallet set as its close left it, with the ledger entries that returned its balances."""

    wallet_set: WalletSetInfo
    entries: tuple[LedgerEntry, ...]


@dataclass(frozen=True, slots=True)
class WalletBalance:
    """A wallet set's funds in one currency on one exchange; ``usd_value`` of the balance if priced."""

    exchange: str
    currency: str
    balance: Decimal
    hold: Decimal
    available: Decimal
    usd_value: Decimal | None

    def as_json(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "currency": self.currency,
            "balance": amount_text(self.balance),
            "hold": amount_text(self.hold),
            "available": amount_text(self.available),
            "usd_value": None if self.usd_value is None else amount_text(self.usd_value),
        }

    def valued(self, price: PriceLookup) -> WalletBalance:
        """This balance with its ``usd_value`` as ``price`` gives it now."""
        return replace(self, usd_value=_usd_value(self.exchange, self.currency, self.balance, price))


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A recorded ledger transaction."""

    id: int
    kind: TransactionKind
    reference: str | None
    memo: str
    created_at: int  # microseconds since the Unix epoch, UTC
    postings: tuple[Posting, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "reference": self.reference,
            "memo": self.memo,
            "created_at": self.created_at,
            "postings": [
                {
                    "account": p.account.name,
                    "exchange": p.account.exchange,
                    "currency": p.account.currency,
                    "amount": amount_text(p.amount),
                }
                for p in self.postings
            ],
        }


class _WalletRow:
    """A locked Wallet row as read, changed in memory until :meth:`WalletStore._record` saves it."""

    __slots__ = ("id", "balance", "hold", "changed")

    def __init__(self, id: int, balance: Decimal, hold: Decimal):
        self.id, self.balance, self.hold, self.changed = id, balance, hold, False


class _AccountRow:
    """A locked ExchangeAccount row (as :class:`_WalletRow`)."""

    __slots__ = ("id", "total", "unallocated", "changed")

    def __init__(self, id: int, total: Decimal, unallocated: Decimal):
        self.id, self.total, self.unallocated, self.changed = id, total, unallocated, False


@dataclass(slots=True)
class _HoldRow:
    id: int
    exchange: str
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class _Projection:
    """A projection table locked by key: its key and amount columns and the row class."""

    table: str
    keys: tuple[str, ...]
    amounts: tuple[str, ...]
    row: type


_WALLETS = _Projection("wallet", ("wallet_set_id", "exchange", "currency"), ("balance", "hold"), _WalletRow)
_ACCOUNTS = _Projection("exchange_account", ("exchange", "currency"), ("total", "unallocated"), _AccountRow)


class _Locked:
    """The projection rows one write transaction has locked, and the balances they show."""

    def __init__(
        self,
        wallets: dict[tuple[int, str, str], _WalletRow],
        exchange_accounts: dict[tuple[str, str], _AccountRow],
        holds: dict[tuple[int, str], _HoldRow],
    ):
        self.wallets, self.exchange_accounts, self.holds = wallets, exchange_accounts, holds

    def balances(self) -> dict[Account, Decimal]:
        with localcontext(EXACT):
            out = {Account.available(*key): row.balance - row.hold for key, row in self.wallets.items()}
        out.update((Account.hold(ws, h.exchange, h.currency, order), h.amount) for (ws, order), h in self.holds.items())
        out.update(
            (Account(AccountKind.UNALLOCATED, *key), row.unallocated) for key, row in self.exchange_accounts.items()
        )
        return out


class WalletStore:
    """Wallet sets, their balances and their ledger in one database.

    ``clock`` gives the time recorded on rows (microseconds, UTC); ``attempts`` bounds how often a
    write is tried when it meets a lock conflict before :class:`DatabaseUnavailable` is raised.
    """

    def __init__(self, db: Database, *, clock: Callable[[], int] = now_us, attempts: int = 8):
        self.db, self.clock, self.attempts = db, clock, attempts
        self._known: dict[int | str, WalletSetInfo] = {}  # committed wallet sets by id and by name

    def transaction(self) -> AbstractContextManager:
        """A write transaction to group store calls with the caller's own writes (e.g. a Fill row
        and its settlement); inside it store calls do not retry: the caller retries the whole."""
        return write_transaction(self.db)

    # wallet sets

    def create_wallet_set(self, name: str, mode: str | Mode, allocations: Sequence[Allocation] = ()) -> WalletSetInfo:
        """A new wallet set given ``allocations`` in the same transaction (funded, paper; allocated from
        the exchange account's unallocated funds, live): all of it or, refused, nothing (the set is
        not created). Raises :class:`Conflict` if the name is taken."""
        name, mode = ledger.wallet_set_name(name), ledger.parse_mode(mode)
        for index, (exchange, _, _) in enumerate(allocations):
            _check_exchange(exchange, f"allocations[{index}].exchange")
        kind = TransactionKind.FUND if mode is Mode.PAPER else TransactionKind.ALLOCATE

        def create() -> WalletSetInfo:
            try:
                with self.db.atomic():
                    row = WalletSet.create(name=name, mode=mode.value, created_at=self.clock())
            except IntegrityError:
                raise Conflict(f"a wallet set named {name!r} exists already") from None
            info = _info(row)
            for index, (exchange, currency, amount) in enumerate(allocations):
                self._move_funds(kind, info, exchange, currency, amount, f"allocations[{index}]")
            return info

        return self._write(create)

    def wallet_set(self, key: int | str) -> WalletSetInfo:
        """The wallet set with this id (int) or name (str), as stored now (whether it is closed);
        :class:`NotFound` otherwise."""
        info = self._find(key)
        found = sql.rows(self.db, _WALLET_SET_CLOSED, (info.id,))
        return replace(info, closed_at=found[0][0] if found else None)

    def known_wallet_set(self, key: int | str) -> WalletSetInfo | None:
        """The wallet set if this store has read it before (no database call: safe on any thread,
        e.g. the event loop's), else None; :meth:`wallet_set` reads it."""
        return None if isinstance(key, bool) else self._known.get(key)

    def wallet_sets(self) -> list[WalletSetInfo]:
        """Every wallet set, closed ones too, as stored now."""
        return [_info(row) for row in WalletSet.select().order_by(WalletSet.id)]

    # money

    def move_funds(
        self,
        kind: TransactionKind | str,
        wallet_set: int | str,
        exchange: str,
        currency: str,
        amount: Decimal,
        memo: str = "",
    ) -> LedgerEntry:
        """``fund`` / ``withdraw`` a paper set (virtual money), or ``allocate`` / ``deallocate`` a live
        set: it takes from or returns to the exchange account's unallocated funds (see :meth:`reconcile`)."""
        kind = _fund_move(kind)
        _check_exchange(exchange)
        return self._write(
            lambda: self._move_funds(kind, self._find(wallet_set), exchange, currency, amount, memo=memo)
        )

    def withdraw(self, wallet_set: int | str, exchange: str, currency: str, amount: Decimal) -> LedgerEntry:
        """Take ``amount`` of the set's available funds out (what open orders hold stays): a paper
        set's goes back to virtual funding, a live set's to the exchange account's unallocated funds."""
        _check_exchange(exchange)

        def move() -> LedgerEntry:
            ws = self._find(wallet_set)
            kind = TransactionKind.WITHDRAW if ws.mode is Mode.PAPER else TransactionKind.DEALLOCATE
            return self._move_funds(kind, ws, exchange, currency, amount)

        return self._write(move)

    def close_wallet_set(self, wallet_set: int | str) -> Closed:
        """Return every balance of the set (paper: to virtual funding; live: to the exchange account's
        unallocated funds), one ledger entry per wallet, and mark it closed, at once. Refused with
        :class:`WalletSetClosed` if it is closed already, :class:`Conflict` while an order of it holds
        funds (cancel its orders first: :meth:`..trading.order_path.Trading.close_wallet_set`)."""

        def close() -> Closed:
            ws = self._find(wallet_set)
            self._lock_open([ws.id], close=True)
            keys = [(exchange, currency) for exchange, currency, _, _ in sql.rows(self.db, _BALANCES, (ws.id,))]
            accounts = keys if ws.mode is Mode.LIVE else []
            locked = self._lock(wallets=[(ws.id, *key) for key in keys], exchange_accounts=accounts)
            held = sorted(
                f"{currency} on {exchange}" for (_, exchange, currency), w in locked.wallets.items() if w.hold
            )
            if held:
                raise Conflict(f"wallet set {ws.id} has open orders holding {', '.join(held)}: cancel them first")
            kind = TransactionKind.WITHDRAW if ws.mode is Mode.PAPER else TransactionKind.DEALLOCATE
            entries = tuple(
                self._record(
                    ledger.move_funds(
                        kind, ws.ref, exchange, currency, wallet.balance, locked.balances(), CLOSING_MEMO
                    ),
                    locked,
                )
                for (_, exchange, currency), wallet in sorted(locked.wallets.items())
                if wallet.balance
            )
            closed_at = self.clock()
            _SAVE_CLOSED(self.db, ws.id, closed_at)
            info = replace(ws, closed_at=closed_at)
            self.db.after_commit(lambda: self._known.update({info.id: info, info.name: info}))
            return Closed(info, entries)

        return self._write(close)

    def transfer(
        self, source: int | str, target: int | str, exchange: str, currency: str, amount: Decimal, memo: str = ""
    ) -> LedgerEntry:
        """Move available funds between two sets of the same mode (paper to live is refused)."""
        _check_exchange(exchange)

        def move() -> LedgerEntry:
            src, dst = self._find(source), self._find(target)
            self._lock_open([src.id, dst.id], names={src.id: "from_wallet_set_id", dst.id: "to_wallet_set_id"})
            locked = self._lock(wallets=[(src.id, exchange, currency), (dst.id, exchange, currency)])
            return self._record(
                ledger.transfer(src.ref, dst.ref, exchange, currency, amount, locked.balances(), memo), locked
            )

        return self._write(move)

    def place_hold(
        self,
        wallet_set: int | str,
        exchange: str,
        currency: str,
        amount: Decimal,
        order: str,
        *,
        new_order: bool = False,
    ) -> LedgerEntry:
        """Reserve available funds for ``order`` (adding to its hold if it has one, same currency).
        ``new_order``: the order was created in this transaction, so it holds nothing yet (and its
        hold is not read; were a hold of that reference there, its row would refuse a second)."""
        return self._write(lambda: self._place_hold(wallet_set, exchange, currency, amount, order, new_order=new_order))

    def release_hold(self, wallet_set: int | str, order: str, amount: Decimal | None = None) -> LedgerEntry | None:
        """Return ``amount`` (default: all that remains) of ``order``'s hold to available.

        ``None`` when nothing remains to release (calling it twice is harmless).
        """
        return self._write(lambda: self._release_hold(wallet_set, order, amount))

    def settle_fill(
        self, wallet_set: int | str, exchange: str, order: str, fill: FillTerms, reference: str
    ) -> LedgerEntry:
        """Record a fill of ``order`` (see :func:`exchange_wrapper.core.ledger.settle_fill`).

        ``reference`` names the fill and must be unique among fills: a second settlement with
        the same reference raises :class:`Conflict`. Release what remains of the hold when the
        order is done.
        """
        return self._write(lambda: self._settle_fill(wallet_set, exchange, order, fill, reference))

    def reconcile(
        self, exchange: str, currency: str, total: Decimal, *, fence: Callable[[str], None] | None = None
    ) -> LedgerEntry | None:
        """Record that the real ``exchange`` account holds ``total`` of ``currency`` now.

        The difference from what the ledger expects (unallocated plus the live sets' balances)
        enters or leaves the unallocated funds; ``None`` when there is none. Raises
        :class:`Overallocated` if ``total`` is below what the live sets hold. Fills that settle
        while the exchange reports are the caller's to order. ``fence(exchange)`` runs first in
        the transaction (cluster mode: a node that lost the exchange's lease records nothing).
        """
        _check_exchange(exchange)
        currency = ledger.currency_code(currency)

        def record() -> LedgerEntry | None:
            if fence is not None:
                fence(exchange)
            # The exchange account first: allocations wait on it, so no live wallet appears meanwhile.
            accounts = self._lock(exchange_accounts=[(exchange, currency)]).exchange_accounts
            live = (
                Wallet.select(Wallet.wallet_set, Wallet.exchange, Wallet.currency)
                .join(WalletSet)
                .where(WalletSet.mode == Mode.LIVE.value, Wallet.exchange == exchange, Wallet.currency == currency)
            )
            wallets = self._lock(wallets=[(w.wallet_set_id, w.exchange, w.currency) for w in live]).wallets
            locked = _Locked(wallets, accounts, {})
            account = accounts[(exchange, currency)]
            transaction = ledger.reconcile(
                exchange, currency, total, account.unallocated, _sum(w.balance for w in locked.wallets.values())
            )
            entry = None if transaction is None else self._record(transaction, locked)
            (
                ExchangeAccount.update(total=total, reconciled_at=self.clock())
                .where(ExchangeAccount.id == account.id)
                .execute()
            )
            return entry

        return self._write(record)

    # reading

    def balances(self, wallet_set: int | str, price: PriceLookup | None = None) -> list[WalletBalance]:
        """The set's wallets by exchange and currency; ``usd_value`` where ``price`` knows one (USD is 1)."""
        ws = self._find(wallet_set)
        out = []
        with localcontext(EXACT):
            for exchange, currency, balance, hold in sql.rows(self.db, _BALANCES, (ws.id,)):
                balance, hold = money_value(balance), money_value(hold)
                out.append(
                    WalletBalance(
                        exchange,
                        currency,
                        balance,
                        hold,
                        balance - hold,
                        _usd_value(exchange, currency, balance, price),
                    )
                )
        return out

    def held(self, wallet_set: int | str, order: str) -> Decimal:
        """What remains on hold for ``order`` (zero if it never had a hold)."""
        ws = self._find(wallet_set)
        hold = self._hold(ws.id, order)
        return ZERO if hold is None else hold.amount

    def account_currencies(self, exchange: str) -> list[str]:
        """The currencies of the real ``exchange`` account the ledger knows (reconciled or allocated)."""
        query = ExchangeAccount.select(ExchangeAccount.currency).where(ExchangeAccount.exchange == exchange)
        return sorted(row.currency for row in query)

    def exchange_account(self, exchange: str, currency: str) -> tuple[Decimal, Decimal]:
        """``(total as last reconciled, unallocated)`` of the real account; zeros if never reconciled."""
        row = ExchangeAccount.get_or_none(ExchangeAccount.exchange == exchange, ExchangeAccount.currency == currency)
        return (ZERO, ZERO) if row is None else (row.total, row.unallocated)

    def entries(
        self,
        wallet_set: int | str | None = None,
        reference: str | None = None,
        limit: int = 100,
        before: int | None = None,
    ) -> list[LedgerEntry]:
        """Ledger transactions, newest first, with all their postings.

        Filter by the set they touch and/or their reference; page with ``before`` (an entry id).
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidParameter("limit", "an integer from 1 to 1000", limit)
        query = LedgerTransaction.select().order_by(LedgerTransaction.id.desc()).limit(limit)
        if wallet_set is not None:
            ws = self._find(wallet_set)
            query = query.where(
                LedgerTransaction.id.in_(
                    LedgerPosting.select(LedgerPosting.transaction).where(LedgerPosting.wallet_set == ws.id)
                )
            )
        if reference is not None:
            query = query.where(LedgerTransaction.reference == reference)
        if before is not None:
            query = query.where(LedgerTransaction.id < before)
        transactions = list(query)
        postings: dict[int, list[Posting]] = {t.id: [] for t in transactions}
        for row in (
            LedgerPosting.select().where(LedgerPosting.transaction.in_(list(postings))).order_by(LedgerPosting.id)
        ):
            postings[row.transaction_id].append(
                Posting(Account.from_name(row.account, row.exchange, row.currency), row.amount)
            )
        return [
            LedgerEntry(t.id, TransactionKind(t.kind), t.reference, t.memo, t.created_at, tuple(postings[t.id]))
            for t in transactions
        ]

    # inside a write transaction

    def _write(self, operation: Callable[[], T]) -> T:
        """Run ``operation`` in a write transaction, retrying lock conflicts; inside the caller's
        transaction (:meth:`transaction`) it is part of it, with no savepoint of its own: an error
        rolls the caller's whole transaction back, and the caller retries the whole."""
        if self.db.transaction_depth():
            return operation()
        for attempt in range(1, self.attempts + 1):
            try:
                with write_transaction(self.db):
                    return operation()
            except PeeweeException as exc:
                if not is_lock_conflict(exc):
                    raise
                if attempt == self.attempts:
                    raise DatabaseUnavailable("ledger", f"lock conflict after {attempt} attempts") from exc
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise AssertionError("unreachable")

    def _find(self, key: int | str) -> WalletSetInfo:
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise InvalidParameter("wallet_set", "a wallet set id or name", key)
        info = self._known.get(key)
        if info is not None:
            return info
        found = sql.rows(self.db, _WALLET_SET_BY_ID if isinstance(key, int) else _WALLET_SET_BY_NAME, (key,))
        if not found:
            raise NotFound("wallet set", key)
        id, name, mode, created_at, closed_at = found[0]
        info = WalletSetInfo(id, name, Mode(mode), created_at, closed_at)
        # Known once committed (now, outside a transaction): the row may be this transaction's own.
        # (A set created and read inside a savepoint that rolls back while its transaction commits
        # would be known wrongly: the store never does that, and writes for it would fail.)
        self.db.after_commit(lambda: self._known.update({id: info, name: info}))
        return info

    # the operations themselves, run by the public ones inside a write transaction

    def _place_hold(
        self,
        wallet_set: int | str,
        exchange: str,
        currency: str,
        amount: Decimal,
        order: str,
        *,
        new_order: bool = False,
    ) -> LedgerEntry:
        _check_exchange(exchange)
        ws = self._find(wallet_set)
        self._lock_open([ws.id])
        locked = self._lock(wallets=[(ws.id, exchange, currency)], hold=None if new_order else (ws.id, order))
        existing = locked.holds.get((ws.id, order))
        if existing and (existing.exchange, existing.currency) != (exchange, currency):
            raise Conflict(f"order {order!r} already holds {existing.currency} on {existing.exchange}")
        return self._record(ledger.place_hold(ws.ref, exchange, currency, amount, order, locked.balances()), locked)

    def _release_hold(self, wallet_set: int | str, order: str, amount: Decimal | None = None) -> LedgerEntry | None:
        ws = self._find(wallet_set)
        hold = self._hold(ws.id, order)
        if hold is None:
            if amount is None:
                return None
            raise NotFound("hold", order)
        locked = self._lock(wallets=[(ws.id, hold.exchange, hold.currency)], hold=(ws.id, order))
        transaction = ledger.release_hold(ws.ref, hold.exchange, hold.currency, order, locked.balances(), amount)
        return None if transaction is None else self._record(transaction, locked)

    def _settle_fill(
        self, wallet_set: int | str, exchange: str, order: str, fill: FillTerms, reference: str
    ) -> LedgerEntry:
        _check_exchange(exchange)
        ws = self._find(wallet_set)
        currencies = {fill.pair.base, fill.pair.quote, fill.fee_currency}
        locked = self._lock(wallets=[(ws.id, exchange, c) for c in currencies], hold=(ws.id, order))
        if sql.rows(self.db, _FILL_SETTLED, (reference,)):
            raise Conflict(f"fill {reference!r} is settled already")
        return self._record(ledger.settle_fill(ws.ref, exchange, order, fill, reference, locked.balances()), locked)

    def _move_funds(
        self,
        kind: TransactionKind,
        ws: WalletSetInfo,
        exchange: str,
        currency: str,
        amount: Decimal,
        field: str | None = None,
        memo: str = "",
    ) -> LedgerEntry:
        """One move between the set's available funds and its counter-account; ``field`` names the
        allocation it makes in the errors of its currency and amount (``allocations[1].amount``)."""
        try:
            self._lock_open([ws.id])
            accounts = [(exchange, currency)] if ws.mode is Mode.LIVE else []
            locked = self._lock(wallets=[(ws.id, exchange, currency)], exchange_accounts=accounts)
            return self._record(
                ledger.move_funds(kind, ws.ref, exchange, currency, amount, locked.balances(), memo), locked
            )
        except InvalidParameter as exc:
            if field is None:
                raise
            raise InvalidParameter(f"{field}.{exc.field}", exc.expected, exc.got, missing=exc.missing) from None

    def _lock_open(self, ids: list[int], *, close: bool = False, names: dict[int, str] | None = None) -> None:
        """Lock the wallet sets' rows (first in the lock order: shared, or alone to ``close``) and refuse
        with :class:`WalletSetClosed` if one is closed; ``names``: the parameter naming each set."""
        statement = _LOCK_SETS[len(ids)]
        if is_postgres(self.db):
            statement += " FOR UPDATE" if close else " FOR SHARE"
        for id, closed_at in sql.rows(self.db, statement, sorted(ids)):
            if closed_at is not None:
                raise WalletSetClosed(id, closed_at, (names or {}).get(id, "wallet_set_id"))

    def _hold(self, wallet_set_id: int, order: str) -> _HoldRow | None:
        found = sql.rows(self.db, _HOLD, (wallet_set_id, order))
        if not found:
            return None
        id, exchange, currency, amount = found[0]
        return _HoldRow(id, exchange, currency, money_value(amount))

    def _lock(
        self,
        *,
        wallets: Iterable[tuple[int, str, str]] = (),
        exchange_accounts: Iterable[tuple[str, str]] = (),
        hold: tuple[int, str] | None = None,
    ) -> _Locked:
        """Create missing projection rows and lock them: exchange accounts, then wallets, in key order."""
        wallet_keys = sorted(set((ws, ex, ledger.currency_code(ccy)) for ws, ex, ccy in wallets))
        accounts = self._ensure_and_lock(_ACCOUNTS, sorted(set(exchange_accounts)))
        wallet_rows = self._ensure_and_lock(_WALLETS, wallet_keys)
        holds = {}
        if hold is not None:
            row = self._hold(*hold)
            if row is not None:
                holds[hold] = row
        return _Locked(wallet_rows, accounts, holds)

    def _ensure_and_lock(self, projection: _Projection, keys: list[tuple]) -> dict:
        if not keys:
            return {}
        select = _lock_statement(projection, len(keys), is_postgres(self.db))
        params = [value for key in keys for value in key]
        rows = self._locked_rows(projection, select, params)
        missing = [key for key in keys if key not in rows]
        if missing:  # created zero, then locked with the rest (a deadlock this may cause is retried)
            zeros = (money_param(ZERO, "amount"),) * len(projection.amounts)
            sql.insert_rows(
                self.db,
                projection.table,
                projection.keys + projection.amounts,
                [key + zeros for key in missing],
                ignore_conflicts=True,
            )
            rows = self._locked_rows(projection, select, params)
        return rows

    def _locked_rows(self, projection: _Projection, select: str, params: list) -> dict:
        width = len(projection.keys)
        return {
            tuple(row[1 : 1 + width]): projection.row(row[0], *map(money_value, row[1 + width :]))
            for row in sql.rows(self.db, select, params)
        }

    def _record(self, transaction: Transaction, locked: _Locked) -> LedgerEntry:
        """Write ``transaction`` and update the locked projections it touches."""
        created_at = self.clock()
        transaction_id = _INSERT_TRANSACTION(
            self.db,
            kind=transaction.kind.value,
            reference=transaction.reference,
            memo=transaction.memo,
            created_at=created_at,
        )
        assert transaction_id is not None  # only an INSERT that ignores conflicts gives None
        with localcontext(EXACT):
            for account, change in transaction.changes().items():
                self._project(account, change, locked, created_at)
        sql.insert_rows(
            self.db,
            "ledger_posting",
            _POSTING_COLUMNS,
            [
                (
                    transaction_id,
                    p.account.name,
                    p.account.wallet_set,
                    p.account.exchange,
                    p.account.currency,
                    money_param(p.amount, "amount"),
                    *_wallet_after(p.account, locked),
                )
                for p in transaction.postings
            ],
        )
        for wallet in locked.wallets.values():
            if wallet.changed:
                _SAVE_WALLET(self.db, wallet.id, wallet.balance, wallet.hold)
                wallet.changed = False
        for account_row in locked.exchange_accounts.values():
            if account_row.changed:
                _SAVE_UNALLOCATED(self.db, account_row.id, account_row.unallocated)
                account_row.changed = False
        return LedgerEntry(
            transaction_id, transaction.kind, transaction.reference, transaction.memo, created_at, transaction.postings
        )

    def _project(self, account: Account, change: Decimal, locked: _Locked, at: int) -> None:
        if account.kind is AccountKind.UNALLOCATED:
            row = locked.exchange_accounts[(account.exchange, account.currency)]
            row.unallocated += change
            row.changed = True
            return
        if account.kind not in (AccountKind.AVAILABLE, AccountKind.HOLD):
            return
        wallet_set = account.wallet_set
        assert wallet_set is not None  # available and hold accounts are a wallet set's
        wallet = locked.wallets[(wallet_set, account.exchange, account.currency)]
        wallet.balance += change
        wallet.changed = True
        if account.kind is AccountKind.HOLD:
            wallet.hold += change
            assert account.order is not None  # a hold account is an order's
            hold = locked.holds.get((wallet_set, account.order))
            if hold is None:
                _INSERT_HOLD.defer(
                    self.db,
                    wallet_set=account.wallet_set,
                    exchange=account.exchange,
                    currency=account.currency,
                    order_ref=account.order,
                    amount=change,
                    created_at=at,
                    updated_at=at,
                )
            else:
                hold.amount += change
                _SAVE_HOLD(self.db, hold.id, hold.amount, at)


_WALLET_SET_BY_ID = 'SELECT id, name, mode, created_at, closed_at FROM "wallet_set" WHERE id = ?'
_WALLET_SET_BY_NAME = 'SELECT id, name, mode, created_at, closed_at FROM "wallet_set" WHERE name = ?'
_WALLET_SET_CLOSED = 'SELECT closed_at FROM "wallet_set" WHERE id = ?'
_LOCK_SETS = {
    count: f'SELECT id, closed_at FROM "wallet_set" WHERE id IN ({", ".join("?" * count)}) ORDER BY id'
    for count in (1, 2)
}
_SAVE_CLOSED = sql.Update(WalletSet, ("closed_at",))
_BALANCES = 'SELECT exchange, currency, balance, hold FROM "wallet" WHERE wallet_set_id = ? ORDER BY exchange, currency'
_HOLD = 'SELECT id, exchange, currency, amount FROM "hold" WHERE wallet_set_id = ? AND order_ref = ?'
_FILL_SETTLED = f"""SELECT 1 FROM "ledger_transaction" WHERE kind = '{TransactionKind.FILL.value}' AND reference = ?"""
_SAVE_WALLET = sql.Update(Wallet, ("balance", "hold"))
_SAVE_UNALLOCATED = sql.Update(ExchangeAccount, ("unallocated",))
_SAVE_HOLD = sql.Update(Hold, ("amount", "updated_at"))
_POSTING_COLUMNS = (
    "transaction_id",
    "account",
    "wallet_set_id",
    "exchange",
    "currency",
    "amount",
    "balance_after",
    "hold_after",
)
_INSERT_TRANSACTION = sql.Insert(LedgerTransaction)
_INSERT_HOLD = sql.Insert(Hold)
_lock_statements: dict[tuple[str, int, bool], str] = {}


def _lock_statement(projection: _Projection, count: int, for_update: bool) -> str:
    """SELECT id, keys, amounts of ``count`` keys, in key order, locked FOR UPDATE on PostgreSQL."""
    key = (projection.table, count, for_update)
    found = _lock_statements.get(key)
    if found is None:
        one = "(" + " AND ".join(f"{column} = ?" for column in projection.keys) + ")"
        found = _lock_statements[key] = (
            f'SELECT id, {", ".join(projection.keys + projection.amounts)} FROM "{projection.table}" '
            f"WHERE {' OR '.join([one] * count)} ORDER BY {', '.join(projection.keys)}"
            + (" FOR UPDATE" if for_update else "")
        )
    return found


def _wallet_after(account: Account, locked: _Locked) -> tuple[str | None, str | None]:
    """(balance, hold) of the wallet a set's account is part of, as the transaction leaves it
    (projected already); nulls for a counter-account."""
    if account.wallet_set is None:
        return None, None
    wallet = locked.wallets[(account.wallet_set, account.exchange, account.currency)]
    return money_param(wallet.balance, "balance_after"), money_param(wallet.hold, "hold_after")


def _fund_move(kind: object) -> TransactionKind:
    try:
        move = TransactionKind(kind)
    except ValueError:
        move = None
    if move not in ledger.FUND_MOVES:
        raise InvalidParameter("kind", " or ".join(f'"{k.value}"' for k in ledger.FUND_MOVES), kind)
    return move


def _check_exchange(exchange: object, field: str = "exchange") -> None:
    if exchange not in EXCHANGE_NAMES:
        if field != "exchange":
            raise InvalidParameter(field, "an exchange: " + ", ".join(EXCHANGE_NAMES), exchange)
        raise UnknownExchange(str(exchange))


def _info(row: WalletSet) -> WalletSetInfo:
    return WalletSetInfo(row.id, row.name, Mode(row.mode), row.created_at, row.closed_at)


def _usd_value(exchange: str, currency: str, amount: Decimal, price: PriceLookup | None) -> Decimal | None:
    unit = Decimal(1) if currency == "USD" else None if price is None else price(exchange, currency)
    if unit is None:
        return None
    with localcontext(EXACT):
        return amount * unit


def _sum(values: Iterable[Decimal]) -> Decimal:
    with localcontext(EXACT):
        return sum(values, ZERO)
