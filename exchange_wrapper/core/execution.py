"""Live orders: what an exchange reports about one of its orders, applied to xWrap's order.

Every exchange says the same few things about an order, whatever its wire format: its status, how
much of it has filled so far, and (in a placement's answer, a stream message or a trade query) the
fills themselves with their trade ids. :func:`apply_report` turns one such report into the order's
life-cycle events, the same :class:`~.orders.OrderEvent` values a paper order produces, so a live
order's fills and transitions go through the same records and ledger. Reports may come twice, late
or out of order (a REST answer and the stream say the same thing): a fill already applied is
skipped by its trade id, a finished order takes nothing more, and an order is never finished
while the exchange counts fills that have not been applied yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .money import ZERO
from .orders import TRANSITIONS, Fill, Order, OrderEvent, OrderStatus

_PENDING, _OPEN = OrderStatus.PENDING, OrderStatus.OPEN


@dataclass(frozen=True, slots=True)
class OrderReport:
    """One exchange order as the exchange reports it at ``at`` (Unix seconds).

    ``filled_size`` is what the exchange counts as filled on this exchange order (cumulative);
    ``fills`` are the executions the report carries (``order_id`` left empty: the exchange does not
    know xWrap's). ``client_id`` is the client order id in the exchange's own format.
    """

    exchange_order_id: str
    client_id: str
    status: OrderStatus
    filled_size: Decimal
    at: float
    fills: tuple[Fill, ...] = ()
    reason: str = ""


def apply_report(order: Order, report: OrderReport, applied: Decimal) -> tuple[list[OrderEvent], Decimal]:
    """Bring ``order`` to what ``report`` says; return the events and the size still missing.

    ``applied`` is the size of the order's fills already applied from the report's exchange order
    (an order cancel-replaced on the exchange has had several). A report that counts more filled
    than the applied fills explain leaves the difference missing: fetch those fills, apply them in
    a report of their own, and the order finishes then. A pending order becomes open first (unless
    the exchange refused it); a final status the table does not allow from where the order is (an
    exchange's ``REJECTED`` for an order already open) cancels it with the exchange's reason.
    """
    if not order.is_open:
        return [], ZERO
    events: list[OrderEvent] = []
    if order.exchange_order_id is None:
        order.exchange_order_id = report.exchange_order_id
    if order.status is _PENDING and report.status is not OrderStatus.REJECTED:
        events.append(order.transition(_OPEN, report.at))
    for fill in report.fills:
        if fill.trade_id not in order.fill_ids and order.is_open:
            events.append(order.apply_fill(fill._replace(order_id=order.id)))
            applied += fill.size
    missing = max(report.filled_size - applied, ZERO)
    if missing or not order.is_open or not report.status.is_final:
        return events, missing
    status = report.status if report.status in TRANSITIONS[order.status] else OrderStatus.CANCELLED
    events.append(order.transition(status, report.at, report.reason))
    return events, ZERO
