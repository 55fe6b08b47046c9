"""Where orders go: the virtual exchange (:mod:`.paper`) or the exchange itself (:mod:`.live`).

The order path (:mod:`exchange_wrapper.trading.order_path`) is written once: precision, holds,
persistence and notifications. It asks a :class:`Venue`, chosen once by the wallet set's mode, what
a new order is measured against and to place, amend and cancel it; what the venue's orders do
comes back to the order path as order events, recorded through the ``store`` it was given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from decimal import Decimal
from typing import Protocol

from ..core.book import OrderBook, Walk
from ..core.ledger import Mode
from ..core.markets import Market
from ..core.money import format_decimal
from ..core.orders import Fill, Order, OrderEvent
from ..core.pairs import Pair


class Store(Protocol):
    """The order path's write of order events: recorded, settled and announced."""

    def __call__(self, events: list[OrderEvent], also: Iterable[Order] = ()) -> Awaitable[dict[str, Order]]:
        """Record ``events`` (and the state of the orders in ``also``: a ``reason`` changed without
        an event); the orders' states as written, by id."""


#: An order as committed and its fills, oldest first: what an answer shows.
OrderView = tuple[Order, list[Fill]]


class Venue(Protocol):
    """What the order path asks of the place an order goes to."""

    mode: Mode

    def book(self, exchange: str, pair: Pair) -> OrderBook | None:
        """The book a new order of ``pair`` is measured against (its best price), if any."""

    def admit(self, order: Order) -> None:
        """Refuse (ExchangeUnavailable, ExchangeNotLive, InvalidParameter...) what cannot go now,
        before anything is stored."""

    def hold_fee(self, order: Order, market: Market | None) -> Decimal | None:
        """The taker fee ``order``'s hold includes (None: not known yet)."""

    def walk(self, order: Order, size: Decimal) -> Walk | None:
        """What buying ``size`` at market would take from the book now (None: no book to walk)."""

    def client_id(self, order: Order) -> str | None:
        """The id ``order`` will have at the venue, stored with it before it is sent."""

    async def place(self, order: Order, budget: Decimal | None) -> OrderView | None:
        """Send a stored pending order (its events are stored before this returns); the answer, or
        None for the order path to read it."""

    def admit_amend(self, order: Order) -> None:
        """Refuse an amend of ``order`` that cannot be made at all, before its terms are checked."""

    def check_amend(self, order: Order, price: Decimal, size: Decimal) -> None:
        """Refuse an amend to ``price`` and ``size`` before anything is held for it."""

    async def amend(self, order: Order, price: Decimal, size: Decimal, need: Decimal) -> list[OrderEvent]:
        """Amend ``order`` (what it holds now covers ``need``); the events to store, the amend's own
        record among them."""

    async def cancel(self, order: Order) -> None:
        """Cancel ``order`` (its events are stored before this returns, or when the cancel arrives)."""


def amended_event(order: Order, price: Decimal, size: Decimal, at: float) -> OrderEvent:
    """The history's record of an amend: the price and size it asked for, at the order's status
    (a transition the amend causes, a fill of a new price, is an event of its own)."""
    return OrderEvent(
        order.id, order.status, order.status, at, f"amended: price {format_decimal(price)}, size {format_decimal(size)}"
    )
