"""The live orders an exchange account follows, and what of each has been applied.

An exchange speaks of an order by its exchange order id or by the client id xWrap gave it; after a
cancel-replace the same xWrap order lives under a new client id and a new exchange order id, and
reports of the replaced exchange order still bring its fills. :class:`FollowedOrders` finds the
order any report is about, applies a report's fills once (the size applied per exchange order,
so that a report repeated by the stream, a list answer and a query adds nothing), knows which
placements are unconfirmed (sent without an answer: their signing time says when the exchange can
no longer take them), and notes the open orders of the account that xWrap did not place
(cancel-all leaves them alone). Synchronous: the parts that talk to the exchange use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from ..core.errors import ExchangeUnavailable
from ..core.execution import OrderReport, apply_report
from ..core.money import ZERO
from ..core.orders import Order, OrderEvent, OrderStatus
from ..exchanges.private import client_key

#: Cancel-replaces of one order looked through to find the revision of its stored client id.
MAX_REVISIONS = 10_000

#: ``client_id(key, revision)``: the adapter's client id of an order's key after ``revision`` cancel-replaces.
ClientIds = Callable[[bytes, int], str]


@dataclass(eq=False)
class Followed:
    """A live order the account follows: its client id on the exchange, the fills applied of each
    of its exchange orders, and when its placement was signed while it is unconfirmed."""

    order: Order
    key: bytes
    client_id: str
    revision: int = 0
    applied: dict[str, Decimal] = field(default_factory=dict)  # exchange order id -> size of its fills applied
    signed_at: float | None = None  # when an unconfirmed placement was signed (exchange clock)

    def applied_to(self, exchange_order_id: str) -> Decimal:
        """The size of the fills of ``exchange_order_id`` applied to the order so far."""
        return self.applied.get(exchange_order_id, ZERO)

    @property
    def unconfirmed(self) -> bool:
        """Its placement was sent and no answer came: the exchange is asked about it."""
        return self.signed_at is not None

    def sending(self) -> None:
        """Its placement is being sent (perhaps waiting for the limits): not unconfirmed until no answer comes."""
        self.signed_at = None

    def unanswered(self, signed_at: float) -> None:
        """Its placement, signed at ``signed_at`` (the exchange's clock), got no answer."""
        self.signed_at = signed_at

    def confirmed(self) -> None:
        """The exchange has its current placement."""
        self.signed_at = None


class FollowedOrders:
    """The orders account ``name`` follows, found by xWrap id, client id or exchange order id."""

    def __init__(self, name: str):
        self.name = name
        self.foreign: set[str] = set()  # open exchange orders on the account that xWrap did not place
        self._by_id: dict[str, Followed] = {}
        self._by_client_id: dict[str, Followed] = {}
        self._by_exchange_id: dict[str, Followed] = {}

    def __iter__(self) -> Iterator[Followed]:
        """A copy of the followed orders (the caller may finish them meanwhile)."""
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, order_id: str) -> Followed | None:
        return self._by_id.get(order_id)

    def of(self, order: Order) -> Followed:
        """The followed ``order``; ExchangeUnavailable if the account does not follow it."""
        followed = self._by_id.get(order.id)
        if followed is None:
            raise ExchangeUnavailable(self.name, f"order {order.id} is not followed on the account")
        return followed

    def follow(
        self, order: Order, client_id: str | None, client_ids: ClientIds, signed_before: float | None
    ) -> Followed:
        """Follow ``order`` (once: the one followed already is returned). ``client_id`` is the one
        stored with it (after cancel-replaces, a later revision of its key), None for a new order;
        a pending order was placed before a restart and is unconfirmed, signed before ``signed_before``."""
        followed = self._by_id.get(order.id)
        if followed is not None:
            return followed
        key = client_key(order.wallet_set_id, order.client_order_id)
        revision = 0
        if client_id is not None:  # after cancel-replaces: the revision that gave this client id
            revision = next((r for r in range(MAX_REVISIONS) if client_ids(key, r) == client_id), 0)
        pending = order.status is OrderStatus.PENDING
        followed = Followed(
            order, key, client_ids(key, revision), revision, signed_at=signed_before if pending else None
        )
        self._by_id[order.id] = self._by_client_id[followed.client_id] = followed
        if order.exchange_order_id is not None:
            self._by_exchange_id[order.exchange_order_id] = followed
            self.foreign.discard(order.exchange_order_id)
        return followed

    def count_fill(self, followed: Followed, exchange_order_id: str, size: Decimal) -> None:
        """A fill of ``size`` recorded before (recovery): its report adds nothing."""
        followed.applied[exchange_order_id] = followed.applied_to(exchange_order_id) + size

    def find(self, report: OrderReport) -> Followed | None:
        """The followed order ``report`` is about, if any."""
        return self._by_exchange_id.get(report.exchange_order_id) or self._by_client_id.get(report.client_id)

    def apply_once(self, followed: Followed, report: OrderReport) -> list[OrderEvent]:
        """The order's events from ``report``: only fills beyond those applied of its exchange order."""
        exchange_order_id = report.exchange_order_id
        events, _ = apply_report(followed.order, report, followed.applied_to(exchange_order_id))
        filled = sum((e.fill.size for e in events if e.fill is not None), ZERO)
        if filled:
            self.count_fill(followed, exchange_order_id, filled)
        if followed.order.exchange_order_id is not None:
            self._by_exchange_id[followed.order.exchange_order_id] = followed
        return events

    def forget(self, followed: Followed) -> None:
        """The order is finished: no longer followed."""
        self._by_id.pop(followed.order.id, None)
        for index in (self._by_client_id, self._by_exchange_id):
            for key in [k for k, v in index.items() if v is followed]:
                del index[key]

    # -- client ids and placements ----------------------------------------------------------------

    def expect(self, followed: Followed, client_id: str) -> None:
        """Reports under ``client_id`` (a replacement being placed) are about ``followed``."""
        self._by_client_id[client_id] = followed

    def switch(self, followed: Followed, client_id: str, exchange_order_id: str | None) -> None:
        """The order now lives on the exchange under its next revision's ``client_id``, as
        ``exchange_order_id`` (None: being placed, its first report says)."""
        self._by_client_id.pop(followed.client_id, None)
        followed.client_id, followed.revision = client_id, followed.revision + 1
        followed.order.exchange_order_id = exchange_order_id
        self._by_client_id[client_id] = followed
        if exchange_order_id is not None:
            self._by_exchange_id[exchange_order_id] = followed

    def unconfirmed_orders(self) -> list[Followed]:
        return [f for f in self._by_id.values() if f.unconfirmed]

    # -- orders xWrap did not place ---------------------------------------------------------------

    def note_foreign(self, report: OrderReport) -> None:
        """A report about an exchange order xWrap did not place: open ones are noted."""
        if report.status.is_final:
            self.foreign.discard(report.exchange_order_id)
        else:
            self.foreign.add(report.exchange_order_id)

    def set_foreign(self, exchange_order_ids: set[str]) -> None:
        """The open orders xWrap did not place, as the exchange's list of open orders says now."""
        self.foreign = exchange_order_ids
