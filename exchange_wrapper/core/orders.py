"""Orders, fills and the order life cycle, the same for paper and live orders.

An order changes only through :meth:`Order.transition` and :meth:`Order.apply_fill`; both check
the life-cycle table and return the event to publish and persist. A fill whose trade id was
already applied is refused, so nothing is ever filled twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any, NamedTuple

from .errors import InvalidParameter, Rejected
from .money import ZERO, format_decimal


def to_microseconds(seconds: float) -> float:
    """A time as it is stored (whole microseconds, rounded as the database's columns are written):
    the same instant reads the same from memory and from the database."""
    return round(seconds * 1_000_000) / 1_000_000


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(str, Enum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"

    @property
    def is_stop(self) -> bool:
        return self in STOP_TYPES

    @property
    def has_limit(self) -> bool:
        return self in LIMIT_TYPES


# Sets of members rather than tuples of ``OrderType.X``: reading an Enum member off its class is
# slow, and the matching engine asks these once per order.
STOP_TYPES = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})
LIMIT_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})


class TimeInForce(str, Enum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTD = "GTD"


class Liquidity(str, Enum):
    MAKER = "maker"
    TAKER = "taker"


class OrderStatus(str, Enum):
    PENDING = "pending"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})
_FILLED, _PARTIALLY_FILLED = OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED

#: The allowed (from, to) transitions; everything else is a bug or a stale message.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.OPEN, OrderStatus.REJECTED, OrderStatus.CANCELLED}),
    OrderStatus.OPEN: frozenset(
        {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
    ),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}


class InvalidTransition(Rejected):
    kind = "invalid_transition"

    def __init__(self, order_id: str, current: OrderStatus, wanted: OrderStatus):
        self.order_id, self.current, self.wanted = order_id, current, wanted
        super().__init__(f"order {order_id} cannot go from {current.value} to {wanted.value}")

    def details(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.current.value, "wanted": self.wanted.value}


class DuplicateFill(Rejected):
    kind = "duplicate_fill"

    def __init__(self, order_id: str, trade_id: str):
        self.order_id, self.trade_id = order_id, trade_id
        super().__init__(f"order {order_id} already has the fill of trade {trade_id}")

    def details(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "trade_id": self.trade_id}


class Fill(NamedTuple):
    """One execution of an order. ``cause`` says why it happened (the book level taken, or the
    public trade that reached a resting order and the queue ahead at that moment) and names the
    market event matched, so that a fill can be checked against a recording: a book's update id
    (``book_sequence``, where the exchange numbers updates) and the time of that book state
    (``book_time``), a public trade's id and the exchange's time of the print (``trade_id``,
    ``trade_time``). Its amounts may be Decimals, which :meth:`to_json` writes as strings like
    the fill's own.

    A named tuple, not a frozen dataclass: as immutable, and far cheaper to build, which the
    matching engine does once per level it takes. Its hot paths build these (and OrderEvent) with
    ``tuple.__new__(Fill, (every field, in order))``, which skips the Python-level ``__new__``
    that NamedTuple generates and halves the cost again.
    """

    order_id: str
    trade_id: str
    price: Decimal
    size: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    at: float
    cause: Mapping[str, Any] = MappingProxyType({})

    @property
    def value(self) -> Decimal:
        return self.price * self.size

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "trade_id": self.trade_id,
            "price": format_decimal(self.price),
            "size": format_decimal(self.size),
            "fee": format_decimal(self.fee),
            "fee_currency": self.fee_currency,
            "liquidity": self.liquidity.value,
            "time": to_microseconds(self.at),
            "cause": {
                key: format_decimal(value) if isinstance(value, Decimal) else value for key, value in self.cause.items()
            },
        }


class OrderEvent(NamedTuple):
    """A change of an order: a transition, a fill, or both (``fill`` set). Immutable."""

    order_id: str
    previous: OrderStatus
    status: OrderStatus
    at: float
    reason: str = ""
    fill: Fill | None = None


@dataclass(slots=True)
class Order:
    """An order as xWrap keeps it. ``size`` is in base units; a market buy may give ``funds``
    (quote units) instead. Times are Unix seconds."""

    id: str
    client_order_id: str
    wallet_set_id: int
    exchange: str
    pair: str
    side: Side
    type: OrderType
    size: Decimal | None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    funds: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_time: float | None = None
    post_only: bool = False
    status: OrderStatus = OrderStatus.PENDING
    filled_size: Decimal = ZERO
    executed_value: Decimal = ZERO
    fees: Decimal = ZERO
    created_at: float = 0.0
    updated_at: float = 0.0
    reason: str = ""
    triggered: bool = False
    exchange_order_id: str | None = None
    tag: str | None = None  # the strategy run it belongs to, as make_order gave it
    fill_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.size is None and self.funds is None:
            raise InvalidParameter("size", "a size, or funds for a market order", missing=True)
        if self.type.has_limit and self.price is None:
            raise InvalidParameter("price", f"a price for a {self.type.value} order", missing=True)
        if self.type.is_stop and self.stop_price is None:
            raise InvalidParameter("stop_price", f"a stop price for a {self.type.value} order", missing=True)
        if self.time_in_force is TimeInForce.GTD and self.expire_time is None:
            raise InvalidParameter("expire_time", "an expiry time for a GTD order", missing=True)

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_STATUSES

    @property
    def remaining_size(self) -> Decimal | None:
        """Base size still to fill, or ``None`` for an order given by funds."""
        return None if self.size is None else self.size - self.filled_size

    @property
    def remaining_funds(self) -> Decimal | None:
        return None if self.funds is None else self.funds - self.executed_value

    @property
    def average_price(self) -> Decimal | None:
        return self.executed_value / self.filled_size if self.filled_size else None

    def transition(self, status: OrderStatus, at: float, reason: str = "") -> OrderEvent:
        """Move to ``status``; raises :class:`InvalidTransition` if the table forbids it."""
        if status not in TRANSITIONS[self.status]:
            raise InvalidTransition(self.id, self.status, status)
        event = tuple.__new__(OrderEvent, (self.id, self.status, status, at, reason, None))  # see Fill
        self.status, self.updated_at = status, at
        if reason:
            self.reason = reason
        return event

    def apply_fill(self, fill: Fill) -> OrderEvent:
        """Record ``fill`` and move to partially_filled or filled.

        The order is filled when its size (or funds) is used up; raises :class:`DuplicateFill`
        for a trade id already applied.
        """
        trade_id, size, at = fill.trade_id, fill.size, fill.at
        if trade_id in self.fill_ids:
            raise DuplicateFill(self.id, trade_id)
        value = fill.price * size
        if self.size is not None:
            done = self.filled_size + size >= self.size
        else:
            assert self.funds is not None
            done = self.executed_value + value >= self.funds
        target = _FILLED if done else _PARTIALLY_FILLED
        if target not in TRANSITIONS[self.status]:
            raise InvalidTransition(self.id, self.status, target)
        self.fill_ids.add(trade_id)
        self.filled_size += size
        self.executed_value += value
        self.fees += fill.fee
        event = tuple.__new__(OrderEvent, (self.id, self.status, target, at, "", fill))  # see Fill
        self.status, self.updated_at = target, at
        return event

    def to_json(self) -> dict[str, Any]:
        def amount(value: Decimal | None) -> str | None:
            return None if value is None else format_decimal(value)

        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "wallet_set_id": self.wallet_set_id,
            "exchange": self.exchange,
            "pair": self.pair,
            "side": self.side.value,
            "type": self.type.value,
            "size": amount(self.size),
            "funds": amount(self.funds),
            "price": amount(self.price),
            "stop_price": amount(self.stop_price),
            "time_in_force": self.time_in_force.value,
            "expire_time": self.expire_time,
            "post_only": self.post_only,
            "status": self.status.value,
            "filled_size": format_decimal(self.filled_size),
            "executed_value": format_decimal(self.executed_value),
            "fees": format_decimal(self.fees),
            "average_price": amount(self.average_price),
            "created_at": to_microseconds(self.created_at),
            "updated_at": to_microseconds(self.updated_at),
            "reason": self.reason,
            "triggered": self.triggered,
            "exchange_order_id": self.exchange_order_id,
            "tag": self.tag,
        }
