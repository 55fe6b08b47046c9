"""Double-entry rules for wallet sets: every change of money as a balanced transaction.

A wallet set owns, per (exchange, currency), one *available* account and one *hold* account
per order. Money enters and leaves wallet sets only through counter-accounts (virtual funding,
the real exchange account, the market, fees), so every currency sums to zero over all accounts.

Each operation takes the balances the caller read (under its lock) and returns the
:class:`Transaction` to record, or raises :class:`InsufficientFunds` when an account that must
stay non-negative would fall below zero. Nothing here reads or writes storage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from enum import Enum

from .errors import Conflict, InsufficientFunds, InvalidParameter, Overallocated
from .money import ZERO, format_decimal, parse_decimal
from .pairs import Pair

#: Every amount xWrap stores fits NUMERIC(38, 18): at most 18 decimals and 20 integer digits.
MAX_PLACES = 18
MAX_INTEGER_DIGITS = 20

#: Arithmetic on stored amounts runs in this context: wide enough for any sum or product of
#: them, and an error instead of a silent rounding if a result ever does not fit.
EXACT = Context(prec=100, traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])

_CURRENCY = re.compile(r"[A-Z0-9]{1,16}")  # fullmatch: "$" would let a trailing newline in
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class Mode(str, Enum):
    """Paper sets trade virtual money on the virtual exchange; live sets a share of a real account."""

    PAPER = "paper"
    LIVE = "live"


class AccountKind(str, Enum):
    AVAILABLE = "available"  # a wallet set's spendable funds
    HOLD = "hold"  # a wallet set's funds reserved for one order
    VIRTUAL_FUNDING = "virtual_funding"  # where paper money comes from and goes back to
    OUTSIDE = "outside"  # money entering or leaving the real exchange account (reconciliation)
    UNALLOCATED = "unallocated"  # the real exchange account's funds no live wallet set holds
    MARKET = "market"  # the counterparties of fills
    FEES = "fees"  # fees paid to the exchange


#: Accounts whose balance can never fall below zero.
NON_NEGATIVE = frozenset({AccountKind.AVAILABLE, AccountKind.HOLD, AccountKind.UNALLOCATED})


class TransactionKind(str, Enum):
    FUND = "fund"
    WITHDRAW = "withdraw"
    ALLOCATE = "allocate"
    DEALLOCATE = "deallocate"
    TRANSFER = "transfer"
    HOLD = "hold"
    RELEASE = "release"
    FILL = "fill"
    RECONCILE = "reconcile"


@dataclass(frozen=True, slots=True)
class Account:
    """One ledger account in one currency on one exchange.

    Stored as :attr:`name` plus exchange and currency columns: ``wallet_set:7:available``,
    ``wallet_set:7:hold:<order>``, or the kind alone for the counter-accounts.
    """

    kind: AccountKind
    exchange: str
    currency: str
    wallet_set: int | None = None
    order: str | None = None

    @classmethod
    def available(cls, wallet_set: int, exchange: str, currency: str) -> Account:
        return cls(AccountKind.AVAILABLE, exchange, currency, wallet_set)

    @classmethod
    def hold(cls, wallet_set: int, exchange: str, currency: str, order: str) -> Account:
        return cls(AccountKind.HOLD, exchange, currency, wallet_set, order)

    @property
    def name(self) -> str:
        if self.kind is AccountKind.AVAILABLE:
            return f"wallet_set:{self.wallet_set}:available"
        if self.kind is AccountKind.HOLD:
            return f"wallet_set:{self.wallet_set}:hold:{self.order}"
        counter: str = self.kind.value
        return counter

    @classmethod
    def from_name(cls, name: str, exchange: str, currency: str) -> Account:
        """The account a stored name stands for; ``ValueError`` if the name is malformed."""
        parts = name.split(":", 3)
        if parts[0] != "wallet_set":
            kind = AccountKind(name)
            if kind in (AccountKind.AVAILABLE, AccountKind.HOLD):
                raise ValueError(f"account name {name!r} lacks its wallet set")
            return cls(kind, exchange, currency)
        if len(parts) < 3 or not parts[1].isdigit():
            raise ValueError(f"malformed account name {name!r}")
        if parts[2] == "available" and len(parts) == 3:
            return cls.available(int(parts[1]), exchange, currency)
        if parts[2] == "hold" and len(parts) == 4 and parts[3]:
            return cls.hold(int(parts[1]), exchange, currency, parts[3])
        raise ValueError(f"malformed account name {name!r}")


@dataclass(frozen=True, slots=True)
class Posting:
    account: Account
    amount: Decimal  # signed: positive enters the account, negative leaves it


@dataclass(frozen=True, slots=True)
class Transaction:
    """Postings that sum to zero in every currency; constructing an unbalanced one raises ValueError."""

    kind: TransactionKind
    postings: tuple[Posting, ...]
    reference: str | None = None
    memo: str = ""

    def __post_init__(self) -> None:
        for currency, total in currency_totals(self.postings).items():
            if total != 0:
                raise ValueError(f"{self.kind.value} transaction does not balance in {currency}: {total}")

    def changes(self) -> dict[Account, Decimal]:
        """Net change per account (an account may be posted to more than once)."""
        out: dict[Account, Decimal] = {}
        with localcontext(EXACT):
            for posting in self.postings:
                out[posting.account] = out.get(posting.account, ZERO) + posting.amount
        return out


@dataclass(frozen=True, slots=True)
class WalletSetRef:
    """The facts about a wallet set that the rules depend on."""

    id: int
    mode: Mode


@dataclass(frozen=True, slots=True)
class FillTerms:
    """What a fill exchanged: ``size`` base at ``price`` quote each, and a fee.

    Build it with :meth:`parse`, which validates every field.
    """

    pair: Pair
    side: str  # "buy" or "sell"
    price: Decimal
    size: Decimal
    fee: Decimal
    fee_currency: str

    @classmethod
    def parse(
        cls, pair: Pair, side: str, price: object, size: object, fee: object = ZERO, fee_currency: str | None = None
    ) -> FillTerms:
        """``fee_currency`` defaults to the quote currency."""
        if side not in ("buy", "sell"):
            raise InvalidParameter("side", '"buy" or "sell"', side)
        fee_value = parse_decimal(fee, "fee", non_negative=True)
        return cls(
            pair,
            side,
            positive_amount(price, "price"),
            positive_amount(size, "size"),
            storable_amount(fee_value, "fee"),
            currency_code(fee_currency or pair.quote, "fee_currency"),
        )

    def value(self) -> Decimal:
        """``price * size`` in the quote currency, exactly; refused if it needs over 18 decimals."""
        with localcontext(EXACT):
            return storable_amount(self.price * self.size, "price * size")


#: Balances the caller read, by account; an account missing from the mapping holds zero.
Balances = Mapping[Account, Decimal]


def storable_amount(value: object, field: str) -> Decimal:
    """``value`` if it fits NUMERIC(38, 18); else :class:`InvalidParameter` naming ``field``.

    Never rounds: an amount with more than 18 decimals is refused.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidParameter(field, "a finite Decimal", value)
    if value != 0:
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)  # finite: only NaN and the infinities have a letter here
        trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
        if -(exponent + trailing_zeros) > MAX_PLACES:
            raise InvalidParameter(field, f"at most {MAX_PLACES} decimal places", amount_text(value))
        if value.adjusted() >= MAX_INTEGER_DIGITS:
            raise InvalidParameter(field, f"less than 10^{MAX_INTEGER_DIGITS}", amount_text(value))
    return value


def positive_amount(value: object, field: str) -> Decimal:
    """Parse a positive amount (Decimal, int or decimal string) that fits storage."""
    return storable_amount(parse_decimal(value, field, positive=True), field)


def currency_code(value: object, field: str = "currency") -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise InvalidParameter(field, 'an upper-case currency code such as "BTC"', value)
    return value


def wallet_set_name(value: object) -> str:
    """Validate a wallet set name: 1-64 letters, digits, ``_ . -``, not starting with a symbol."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidParameter("name", "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", value)
    return value


def parse_mode(value: object) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise InvalidParameter("mode", '"paper" or "live"', value) from None


def currency_totals(postings: tuple[Posting, ...] | list[Posting]) -> dict[str, Decimal]:
    """Sum of the postings per currency (a balanced transaction gives zeros)."""
    out: dict[str, Decimal] = {}
    with localcontext(EXACT):
        for posting in postings:
            currency = posting.account.currency
            out[currency] = out.get(currency, ZERO) + posting.amount
    return out


#: The moves between a set's available funds and a counter-account:
#: kind -> (the mode of set it is for, the counter-account, whether money enters the set).
#: The memo of the entries (withdraw on paper, deallocate live) that return a closing wallet set's
#: balances: a statement shows them as the kind ``close``.
CLOSING_MEMO = "closing the wallet set"

FUND_MOVES = {
    TransactionKind.FUND: (Mode.PAPER, AccountKind.VIRTUAL_FUNDING, True),
    TransactionKind.WITHDRAW: (Mode.PAPER, AccountKind.VIRTUAL_FUNDING, False),
    TransactionKind.ALLOCATE: (Mode.LIVE, AccountKind.UNALLOCATED, True),
    TransactionKind.DEALLOCATE: (Mode.LIVE, AccountKind.UNALLOCATED, False),
}


def move_funds(
    kind: TransactionKind,
    wallet_set: WalletSetRef,
    exchange: str,
    currency: str,
    amount: object,
    balances: Balances,
    memo: str = "",
) -> Transaction:
    """Fund or withdraw a paper set (virtual money), allocate or deallocate a live set (the real
    exchange account's unallocated funds, which cap what all live sets hold together)."""
    mode, counter_kind, into_set = FUND_MOVES[kind]
    if wallet_set.mode is not mode:
        raise Conflict(
            f"{kind.value} is for {mode.value} wallet sets only; wallet set {wallet_set.id} is {wallet_set.mode.value}"
        )
    value = positive_amount(amount, "amount")
    counter = Account(counter_kind, exchange, currency_code(currency))
    own = Account.available(wallet_set.id, exchange, currency)
    source, target = (counter, own) if into_set else (own, counter)
    return _move(kind, source, target, value, balances, wallet_set.id, memo=memo)


def transfer(
    source: WalletSetRef,
    target: WalletSetRef,
    exchange: str,
    currency: str,
    amount: object,
    balances: Balances,
    memo: str = "",
) -> Transaction:
    """Available funds from one set to another of the same mode, same exchange and currency."""
    if source.id == target.id:
        raise InvalidParameter("target", "a wallet set other than the source", target.id)
    if source.mode is not target.mode:
        raise Conflict(
            f"cannot transfer between the {source.mode.value} wallet set {source.id} and the "
            f"{target.mode.value} wallet set {target.id}"
        )
    value = positive_amount(amount, "amount")
    return _move(
        TransactionKind.TRANSFER,
        Account.available(source.id, exchange, currency_code(currency)),
        Account.available(target.id, exchange, currency),
        value,
        balances,
        source.id,
        memo=memo,
    )


def place_hold(
    wallet_set: WalletSetRef, exchange: str, currency: str, amount: object, order: str, balances: Balances
) -> Transaction:
    """Reserve available funds for ``order`` (adds to a hold the order already has)."""
    value = positive_amount(amount, "amount")
    order = _order_ref(order)
    return _move(
        TransactionKind.HOLD,
        Account.available(wallet_set.id, exchange, currency_code(currency)),
        Account.hold(wallet_set.id, exchange, currency, order),
        value,
        balances,
        wallet_set.id,
        reference=order,
    )


def release_hold(
    wallet_set: WalletSetRef, exchange: str, currency: str, order: str, balances: Balances, amount: object = None
) -> Transaction | None:
    """Return ``amount`` (default: all that remains) of ``order``'s hold to available.

    ``None`` when the order has nothing on hold and no amount was asked for.
    """
    order = _order_ref(order)
    hold = Account.hold(wallet_set.id, exchange, currency_code(currency), order)
    value = balances.get(hold, ZERO) if amount is None else positive_amount(amount, "amount")
    if value == 0:
        return None
    return _move(
        TransactionKind.RELEASE,
        hold,
        Account.available(wallet_set.id, exchange, currency),
        value,
        balances,
        wallet_set.id,
        reference=order,
    )


def settle_fill(
    wallet_set: WalletSetRef, exchange: str, order: str, fill: FillTerms, reference: str, balances: Balances
) -> Transaction:
    """Record a fill of ``order``: what the set pays leaves ``order``'s hold first, then available.

    A buy pays ``price * size`` quote to the market and receives ``size`` base; a sell the
    reverse. The fee goes to the fees account. Whatever the hold cannot cover (price moved
    against the hold, a fee in another currency) must be available, counting what this fill
    brings in, or :class:`InsufficientFunds` is raised.
    """
    order = _order_ref(order)
    base, quote = fill.pair.base, fill.pair.quote
    cost = fill.value()
    paid, received = (quote, base) if fill.side == "buy" else (base, quote)
    paid_amount, received_amount = (cost, fill.size) if fill.side == "buy" else (fill.size, cost)
    with localcontext(EXACT):
        debits = {paid: paid_amount}
        debits[fill.fee_currency] = debits.get(fill.fee_currency, ZERO) + fill.fee
        postings = [
            Posting(Account(AccountKind.MARKET, exchange, paid), paid_amount),
            Posting(Account(AccountKind.MARKET, exchange, received), -received_amount),
        ]
        if fill.fee:
            postings.append(Posting(Account(AccountKind.FEES, exchange, fill.fee_currency), fill.fee))
        net_available = {received: received_amount}
        for currency, debit in debits.items():
            hold = Account.hold(wallet_set.id, exchange, currency, order)
            from_hold = min(max(balances.get(hold, ZERO), ZERO), debit)
            if from_hold:
                postings.append(Posting(hold, -from_hold))
            net_available[currency] = net_available.get(currency, ZERO) - (debit - from_hold)
        postings.extend(
            Posting(Account.available(wallet_set.id, exchange, currency), amount)
            for currency, amount in net_available.items()
            if amount
        )
    transaction = Transaction(
        TransactionKind.FILL,
        tuple(postings),
        _order_ref(reference, "reference"),
        f"{fill.side} {format_decimal(fill.size)} {fill.pair} at {format_decimal(fill.price)} for order {order}",
    )
    return _checked(transaction, balances, wallet_set.id)


def reconcile(
    exchange: str, currency: str, total: object, unallocated: Decimal, allocated: Decimal
) -> Transaction | None:
    """Bring the ledger to the real exchange account's ``total``.

    ``unallocated`` is the exchange account's unallocated balance and ``allocated`` the sum of
    the live sets' balances there. The difference from ``total`` enters (or leaves) through
    the outside account; ``None`` when there is none. Raises :class:`Overallocated` when the
    real account holds less than the live sets are allocated.
    """
    value = storable_amount(parse_decimal(total, "total", non_negative=True), "total")
    if value < allocated:
        raise Overallocated(exchange, currency_code(currency), value, allocated)
    with localcontext(EXACT):
        delta = value - allocated - unallocated
    if delta == 0:
        return None
    outside = Account(AccountKind.OUTSIDE, exchange, currency)
    unallocated_account = Account(AccountKind.UNALLOCATED, exchange, currency)
    source, target = (outside, unallocated_account) if delta > 0 else (unallocated_account, outside)
    return _transfer(
        TransactionKind.RECONCILE,
        source,
        target,
        delta.copy_abs(),
        memo=f"{exchange} account holds {format_decimal(value)} {currency}",
    )


def _move(
    kind: TransactionKind,
    source: Account,
    target: Account,
    amount: Decimal,
    balances: Balances,
    wallet_set: int,
    *,
    reference: str | None = None,
    memo: str = "",
) -> Transaction:
    return _checked(_transfer(kind, source, target, amount, reference, memo), balances, wallet_set)


def _transfer(
    kind: TransactionKind,
    source: Account,
    target: Account,
    amount: Decimal,
    reference: str | None = None,
    memo: str = "",
) -> Transaction:
    """``amount`` from ``source`` to ``target``. Negated with ``copy_negate``, which never rounds: an
    amount has up to 38 digits, and ``-amount`` would round it to the context's 28."""
    return Transaction(kind, (Posting(source, amount.copy_negate()), Posting(target, amount)), reference, memo)


def _checked(transaction: Transaction, balances: Balances, wallet_set: int) -> Transaction:
    """``transaction`` if no non-negative account would fall below zero."""
    with localcontext(EXACT):
        for account, change in transaction.changes().items():
            if account.kind not in NON_NEGATIVE or change >= 0:
                continue
            before = balances.get(account, ZERO)
            if before + change < 0:
                owner = wallet_set if account.wallet_set is None else account.wallet_set
                raise InsufficientFunds(owner, account.exchange, account.currency, -change, before)
    return transaction


def _order_ref(value: object, field: str = "order") -> str:
    if not isinstance(value, str) or not value or len(value) > 128:
        raise InvalidParameter(field, "a reference of 1-128 characters", value)
    return value


def amount_text(value: Decimal) -> str:
    """The canonical text of an amount ("0.0001", "100"), exact however many digits it has."""
    with localcontext(EXACT):
        return format_decimal(value)
