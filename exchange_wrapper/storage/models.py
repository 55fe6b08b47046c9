"""The database tables, as peewee models.

Conventions:

* Amounts are :class:`MoneyField`: exact Decimals on both databases (TEXT holding the canonical
  decimal string on SQLite, NUMERIC(38,18) on PostgreSQL); more than 18 decimals is refused.
* Times are :class:`TimestampField`: integer microseconds since the Unix epoch, UTC.
* Enumerated columns are strings checked by the database against the tuples below.

The models carry no database: :func:`exchange_wrapper.storage.database.open_database` binds
them to the one it opens (one open database per process).
"""

from __future__ import annotations

import re
import time
from decimal import Decimal, localcontext

from peewee import (
    SQL,
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    Check,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    NodeList,
    TextField,
)

from ..core.ledger import EXACT, MAX_INTEGER_DIGITS, MAX_PLACES, Mode, TransactionKind, amount_text, storable_amount
from ..core.money import ZERO, format_decimal

WALLET_SET_MODES = tuple(mode.value for mode in Mode)
TRANSACTION_KINDS = tuple(kind.value for kind in TransactionKind)
ORDER_SIDES = ("buy", "sell")
ORDER_TYPES = ("market", "limit", "stop_market", "stop_limit")
TIMES_IN_FORCE = ("GTC", "IOC", "FOK", "GTD")
ORDER_STATUSES = ("pending", "open", "partially_filled", "filled", "cancelled", "rejected", "expired")
LIQUIDITIES = ("maker", "taker")
#: The longest run tag an order takes (``make_order``'s ``tag``; the contract says the same).
TAG_LENGTH = 64

#: The column type of MoneyField on each database (``field_types`` of the Database).
MONEY_COLUMN = {"sqlite": "TEXT", "postgresql": f"NUMERIC({MAX_INTEGER_DIGITS + MAX_PLACES},{MAX_PLACES})"}


def now_us() -> int:
    """The wall clock as a :class:`TimestampField` value."""
    return time.time_ns() // 1000


def money_param(value: Decimal | int, field: str) -> str:
    """An amount as a MONEY column is written (the canonical text); refused if it does not fit
    (:func:`~exchange_wrapper.core.ledger.storable_amount`, here checked on the text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        value = storable_amount(value, field)  # raises
    text = format_decimal(value)
    integer, _, fraction = text.lstrip("-").partition(".")
    if len(fraction) > MAX_PLACES or len(integer) > MAX_INTEGER_DIGITS:
        storable_amount(value, field)  # raises
    return text


#: The text :func:`money_param` writes: plain notation, no trailing zeros ("0", "-0.5", "100").
_CANONICAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?")


def money_value(value: str | Decimal) -> Decimal:
    """A MONEY column as read (text on SQLite, NUMERIC on PostgreSQL) as its canonical Decimal."""
    if type(value) is str and _CANONICAL.fullmatch(value) and value != "-0":
        return Decimal(value)
    return Decimal(amount_text(Decimal(value)))


class MoneyField(Field):
    """An exact Decimal amount (never REAL: SQLite's DECIMAL affinity would store a float)."""

    field_type = "MONEY"

    def db_value(self, value: Decimal | int | None) -> str | None:
        return None if value is None else money_param(value, self.name)

    def python_value(self, value: str | Decimal | None) -> Decimal | None:
        return None if value is None else money_value(value)


class TimestampField(BigIntegerField):
    """Microseconds since the Unix epoch, UTC."""


def _one_of(column: str, values: tuple[str, ...]) -> SQL | NodeList:
    return Check(f"{column} IN ({', '.join(repr(v) for v in values)})")


class BaseModel(Model):
    class Meta:
        legacy_table_names = False


class SchemaVersion(BaseModel):
    """One row per schema version applied to this database."""

    version = IntegerField(primary_key=True)
    applied_at = TimestampField()


class WalletSet(BaseModel):
    """A named partition of funds, paper (virtual money) or live (a share of a real account)."""

    id = AutoField()
    name = CharField(max_length=64, unique=True)
    mode = CharField(max_length=8, constraints=[_one_of("mode", WALLET_SET_MODES)])
    created_at = TimestampField()
    closed_at = TimestampField(null=True)  # closing is final: a closed set holds nothing and takes nothing


class Wallet(BaseModel):
    """A wallet set's funds in one currency on one exchange: a cached projection of the ledger.

    ``balance`` is everything the set owns there, ``hold`` the part reserved for open orders;
    only :mod:`exchange_wrapper.storage.wallets` writes them, in the ledger's transaction.
    """

    wallet_set = ForeignKeyField(WalletSet, backref="wallets", on_delete="RESTRICT")
    wallet_set_id: int  # the key's column, as peewee reads it without a query (declared for the type checker)
    exchange = CharField(max_length=32)
    currency = CharField(max_length=16)
    balance = MoneyField(default=ZERO)
    hold = MoneyField(default=ZERO)

    class Meta:
        indexes = ((("wallet_set", "exchange", "currency"), True),)

    @property
    def available(self) -> Decimal:
        with localcontext(EXACT):
            return self.balance - self.hold


class LedgerTransaction(BaseModel):
    """One balanced change of money; its postings sum to zero in every currency.

    ``reference`` is the order (hold, release) or the fill (fill) it belongs to; a fill
    reference is unique, so one fill cannot be settled twice.
    """

    id = BigAutoField()
    kind = CharField(max_length=16, constraints=[_one_of("kind", TRANSACTION_KINDS)])
    reference = CharField(max_length=128, null=True, index=True)
    created_at = TimestampField()
    memo = TextField(default="")


LedgerTransaction.add_index(
    LedgerTransaction.kind,
    LedgerTransaction.reference,
    unique=True,
    where=(LedgerTransaction.kind == TransactionKind.FILL.value),
)


class LedgerPosting(BaseModel):
    """One leg of a transaction: ``amount`` (signed) enters ``account`` in ``currency`` on ``exchange``.

    ``account`` is :attr:`exchange_wrapper.core.ledger.Account.name`; ``wallet_set`` repeats the
    set an account belongs to (null for counter-accounts) so a set's entries can be found by index.
    A set's posting also records its wallet's ``balance_after`` and ``hold_after`` the transaction
    (schema version 3), so that a statement reads any page without summing the set's history.
    """

    id = BigAutoField()
    transaction = ForeignKeyField(LedgerTransaction, backref="postings", on_delete="RESTRICT")
    transaction_id: int
    account = CharField(max_length=255)
    wallet_set = ForeignKeyField(WalletSet, null=True, backref="postings", on_delete="RESTRICT")
    wallet_set_id: int | None
    exchange = CharField(max_length=32)
    currency = CharField(max_length=16)
    amount = MoneyField()
    balance_after = MoneyField(null=True)
    hold_after = MoneyField(null=True)

    class Meta:
        indexes = ((("account", "exchange", "currency"), False), (("wallet_set", "exchange", "currency"), False))


class Hold(BaseModel):
    """What remains reserved for one order (a projection of the order's hold account)."""

    wallet_set = ForeignKeyField(WalletSet, backref="holds", on_delete="RESTRICT")
    wallet_set_id: int
    exchange = CharField(max_length=32)
    currency = CharField(max_length=16)
    order_ref = CharField(max_length=128)
    amount = MoneyField(default=ZERO)
    created_at = TimestampField()
    updated_at = TimestampField()

    class Meta:
        indexes = ((("wallet_set", "order_ref"), True),)


class ExchangeAccount(BaseModel):
    """The real account on an exchange, per currency: caps what live wallet sets are allocated.

    ``total`` is what the account held when last reconciled (``reconciled_at``);
    ``unallocated`` is the projection of the ledger's unallocated account, never negative.
    """

    id = AutoField()
    exchange = CharField(max_length=32)
    currency = CharField(max_length=16)
    total = MoneyField(default=ZERO)
    unallocated = MoneyField(default=ZERO)
    reconciled_at = TimestampField(null=True)

    class Meta:
        indexes = ((("exchange", "currency"), True),)


class Order(BaseModel):
    """An order as a strategy placed it and as it stands now.

    ``size`` is in base, ``funds`` (market buys by quote amount) in quote; ``filled_size``,
    ``executed_value`` (quote) and ``fees`` accumulate over its fills. ``expire_time`` is for GTD.
    A live order has ``exchange_client_id`` (stored before it is sent: the id the exchange is asked
    about when its answer is lost) and, once the exchange has it, ``exchange_order_id``.
    """

    id = BigAutoField()
    client_order_id = CharField(max_length=64)
    wallet_set = ForeignKeyField(WalletSet, backref="orders", on_delete="RESTRICT")
    wallet_set_id: int
    mode = CharField(max_length=8, constraints=[_one_of("mode", WALLET_SET_MODES)])
    exchange = CharField(max_length=32)
    pair = CharField(max_length=40)
    side = CharField(max_length=4, constraints=[_one_of("side", ORDER_SIDES)])
    type = CharField(max_length=16, constraints=[_one_of("type", ORDER_TYPES)])
    size = MoneyField(null=True)
    funds = MoneyField(null=True)
    price = MoneyField(null=True)
    stop_price = MoneyField(null=True)
    time_in_force = CharField(max_length=3, default="GTC", constraints=[_one_of("time_in_force", TIMES_IN_FORCE)])
    expire_time = TimestampField(null=True)
    post_only = BooleanField(default=False)
    triggered = BooleanField(default=False)  # a stop order whose stop price was reached
    status = CharField(max_length=16, default="pending", index=True, constraints=[_one_of("status", ORDER_STATUSES)])
    filled_size = MoneyField(default=ZERO)
    executed_value = MoneyField(default=ZERO)
    fees = MoneyField(default=ZERO)
    reject_reason = TextField(null=True)
    exchange_order_id = CharField(max_length=128, null=True, index=True)
    exchange_client_id = CharField(max_length=64, null=True)  # a live order's client order id on the exchange
    created_at = TimestampField()
    updated_at = TimestampField()
    tag = CharField(max_length=TAG_LENGTH, null=True)  # the strategy run it belongs to (schema version 3)

    class Meta:
        table_name = "orders"  # "order" is an SQL keyword
        indexes = ((("wallet_set", "client_order_id"), True), (("wallet_set", "tag"), False))


class OrderEvent(BaseModel):
    """One status change of an order (``from_status`` is null for the first)."""

    id = BigAutoField()
    order = ForeignKeyField(Order, backref="events", on_delete="CASCADE")
    order_id: int
    from_status = CharField(max_length=16, null=True)
    to_status = CharField(max_length=16, constraints=[_one_of("to_status", ORDER_STATUSES)])
    at = TimestampField()
    reason = TextField(default="")


class Fill(BaseModel):
    """One execution of an order; (order, trade_id) is unique so a fill is never applied twice.

    ``cause`` is JSON text: the book level or public trade that produced the fill. ``tag`` repeats
    the order's run tag, so that a run's fills are found without the orders.
    """

    id = BigAutoField()
    order = ForeignKeyField(Order, backref="fills", on_delete="RESTRICT")
    order_id: int
    trade_id = CharField(max_length=128)
    price = MoneyField()
    size = MoneyField()
    fee = MoneyField(default=ZERO)
    fee_currency = CharField(max_length=16)
    liquidity = CharField(max_length=5, constraints=[_one_of("liquidity", LIQUIDITIES)])
    at = TimestampField()
    cause = TextField(default="{}")
    tag = CharField(max_length=TAG_LENGTH, null=True, index=True)  # its order's (schema version 3)

    class Meta:
        indexes = ((("order", "trade_id"), True),)


class MarketTrade(BaseModel):
    """A public trade of a market, as history collects it; one per (exchange, pair, trade id)."""

    id = BigAutoField()
    exchange = CharField(max_length=32)
    pair = CharField(max_length=40)
    trade_id = CharField(max_length=128)
    price = MoneyField()
    size = MoneyField()
    taker_side = CharField(max_length=4, constraints=[_one_of("taker_side", ORDER_SIDES)])
    time = TimestampField()

    class Meta:
        indexes = ((("exchange", "pair", "trade_id"), True), (("exchange", "pair", "time"), False))


class MarketCandle(BaseModel):
    """An OHLCV candle of ``interval`` seconds opening at ``start`` (Unix seconds); one per (exchange,
    pair, interval, start). ``from_exchange``: the exchange's own candle, else one xWrap built from
    the trades it saw (an exchange's candle replaces it, never the reverse)."""

    id = BigAutoField()
    exchange = CharField(max_length=32)
    pair = CharField(max_length=40)
    interval = IntegerField()
    start = BigIntegerField()
    open = MoneyField()
    high = MoneyField()
    low = MoneyField()
    close = MoneyField()
    volume = MoneyField()
    from_exchange = BooleanField()

    class Meta:
        indexes = ((("exchange", "pair", "interval", "start"), True),)


class MarketBookTop(BaseModel):
    """A book's best bid and ask with their sizes, sampled at ``time``; one per (exchange, pair, time)."""

    id = BigAutoField()
    exchange = CharField(max_length=32)
    pair = CharField(max_length=40)
    time = TimestampField()
    bid = MoneyField(null=True)
    bid_size = MoneyField(null=True)
    ask = MoneyField(null=True)
    ask_size = MoneyField(null=True)

    class Meta:
        indexes = ((("exchange", "pair", "time"), True),)


class WalletEquity(BaseModel):
    """A wallet set's total value in USD sampled at ``time`` (the equity history); ``unvalued`` the
    currencies held then that no chain of books valued, comma-separated. One per (wallet set, time).
    No foreign key: the history store may be another database than the wallets'."""

    id = BigAutoField()
    wallet_set_id = BigIntegerField()
    time = TimestampField()
    value = MoneyField()
    unvalued = TextField(default="")

    class Meta:
        indexes = ((("wallet_set_id", "time"), True),)


class ExchangeLease(BaseModel):
    """Which node runs an exchange (cluster mode, docs/scaling.md): ``owner`` until ``expires_at``
    (microseconds of the database's clock), renewed by it; ``epoch`` grows at each takeover and
    fences the writes of an older owner (:mod:`.leases`)."""

    exchange = CharField(primary_key=True, max_length=32)
    owner = CharField(max_length=128)
    epoch = BigIntegerField()
    expires_at = BigIntegerField()


#: The models of schema version 1 (wallets, ledger, orders), in an order that satisfies foreign keys.
LEDGER_MODELS = (
    SchemaVersion,
    WalletSet,
    Wallet,
    LedgerTransaction,
    LedgerPosting,
    Hold,
    ExchangeAccount,
    Order,
    OrderEvent,
    Fill,
)

#: The models of market history, added by schema version 2.
HISTORY_MODELS = (MarketTrade, MarketCandle, MarketBookTop)

#: The equity history of wallet sets, added by schema version 3.
EQUITY_MODELS = (WalletEquity,)

#: The exchange leases of cluster mode, added by schema version 6.
CLUSTER_MODELS = (ExchangeLease,)

#: Every model, in an order that satisfies foreign keys when creating tables.
MODELS = LEDGER_MODELS + HISTORY_MODELS + EQUITY_MODELS + CLUSTER_MODELS
