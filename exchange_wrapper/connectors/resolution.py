"""What the exchange says about the followed orders, applied: reports, queries, unconfirmed placements.

Every way the exchange tells of an order — a stream report, an answer to a request, the list of open
orders, a query by client id — ends in :meth:`Resolver.apply`, one report at a time (:attr:`Resolver.lock`),
which fetches the fills the exchange counts and the report does not carry (an order never finishes
with fills missing) and hands the events to the records.

A placement without an answer is never sent again: the resolver asks the exchange about its client id
until it knows. Found, the order becomes what the exchange says; not found once the exchange's
receive window has passed since the request was signed (the exchange refuses it after that), it is
rejected (or, for a replacement, the order is cancelled).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from ..core.errors import XWrapError
from ..core.execution import OrderReport
from ..core.orders import Order, OrderEvent, OrderStatus
from ..exchanges.http import Response
from ..exchanges.private import NotOnExchange, PrivateAdapter
from .calls import AccountCalls
from .followed import Followed, FollowedOrders

log = logging.getLogger(__name__)

#: Seconds added to the exchange's receive window before an unconfirmed placement that the
#: exchange does not know is taken as never placed (clock error, the exchange's own delays).
RECV_MARGIN = 1.0


class Resolver:
    """Brings account ``name``'s ``followed`` orders to what the exchange says.

    ``adapter()`` is the account's private adapter (ExchangeUnavailable before it is opened);
    ``record(events)`` stores and publishes the orders' events, ``record_state(order)`` an order
    whose ``reason`` changed without an event; ``touched()`` is called when something happened
    on the account (a report, events applied: reconciliation waits for quiet).
    """

    def __init__(
        self,
        name: str,
        calls: AccountCalls,
        followed: FollowedOrders,
        *,
        adapter: Callable[[], PrivateAdapter],
        record: Callable[[list[OrderEvent]], Awaitable[None]],
        record_state: Callable[[Order], Awaitable[None]],
        touched: Callable[[], None],
        clock: Callable[[], float],
    ):
        self.name, self.calls, self.followed, self.adapter = name, calls, followed, adapter
        self.record, self.record_state, self.touched, self.clock = record, record_state, touched, clock
        #: Held while a report is applied; a request whose answer must be applied before the stream's
        #: reports about it (an amend) holds it too.
        self.lock = asyncio.Lock()

    async def on_report(self, report: OrderReport) -> None:
        """A report from the stream or a list answer: applied to the order it is about; one about
        an order xWrap did not place is only noted."""
        self.touched()
        async with self.lock:
            followed = self.followed.find(report)
            if followed is not None:
                return await self.apply(followed, report)
            self.followed.note_foreign(report)

    async def apply(self, followed: Followed, report: OrderReport) -> None:
        """Apply ``report`` (under :attr:`lock`), fetching fills the exchange counts and the report
        does not carry; hand the events to the records."""
        order = followed.order
        current = order.exchange_order_id
        if report.exchange_order_id != current and (current is not None or report.client_id != followed.client_id):
            report = replace(report, status=OrderStatus.OPEN)  # an exchange order this one replaced: its fills only
        elif report.client_id == followed.client_id:
            followed.confirmed()
        events = self.followed.apply_once(followed, report)
        if order.is_open and report.filled_size > followed.applied_to(report.exchange_order_id):
            adapter = self.adapter()
            try:
                fills = [
                    fill
                    for fill in adapter.parse_fills(
                        await self.calls.call(adapter.fills_request(order, report.exchange_order_id)), self.clock()
                    )
                    if fill.cause.get("exchange_order_id", report.exchange_order_id) == report.exchange_order_id
                ]
                events += self.followed.apply_once(followed, replace(report, fills=tuple(fills)))
            except XWrapError as error:
                log.warning("%s order %s: fills not fetched, retried later: %s", self.name, order.id, error)
        if events:
            self.touched()
            await self.record(events)
        if not order.is_open:
            self.followed.forget(followed)

    async def apply_answer(self, followed: Followed, body: str) -> None:
        """Apply the exchange's answer ``body`` about the order (under :attr:`lock`)."""
        await self.apply(followed, self.adapter().parse_order(body, self.clock()))

    async def refresh(self) -> None:
        """Ask the exchange about every followed order (at start-up, after a gap in the stream,
        polling): the account's open orders in one list (those xWrap did not place are noted:
        cancel-all leaves them alone), then each followed order the list leaves out (finished, or
        past the list's page) by its client id."""
        adapter = self.adapter()
        listed, foreign = set(), set()
        for report in adapter.parse_orders(await self.calls.call(adapter.open_orders_request()), self.clock()):
            followed = self.followed.find(report)
            if followed is None:
                foreign.add(report.exchange_order_id)
                continue
            listed.add(followed.order.id)
            async with self.lock:
                await self.apply(followed, report)
        self.followed.set_foreign(foreign)
        for followed in self.followed:
            if followed.order.id not in listed and followed.order.status is not OrderStatus.PENDING:
                async with self.lock:  # pending: placing, or the resolver's
                    await self.refresh_order(followed)

    async def refresh_order(self, followed: Followed) -> None:
        """Query one order by its client id and apply the answer (under :attr:`lock`): one the
        exchange no longer knows is cancelled, an unconfirmed placement it never got is finished
        once it has expired."""
        order = followed.order
        response = await self.query(order, followed.client_id)
        if response.status < 300:
            return await self.apply_answer(followed, response.body)
        error = self.adapter().error(response)
        if not isinstance(error, NotOnExchange):
            raise error
        if not followed.unconfirmed:
            await self.finish(followed, OrderStatus.CANCELLED, f"{self.name} no longer knows this order")
        elif self._expired(followed):  # an unconfirmed placement (or replacement) that never arrived
            await self.finish(
                followed,
                OrderStatus.REJECTED if order.status is OrderStatus.PENDING else OrderStatus.CANCELLED,
                f"never reached {self.name}: {error.message}",
            )

    async def query(self, order: Order, client_id: str) -> Response:
        """The exchange's answer about one order, asked by its client id (then where else the adapter says)."""
        adapter = self.adapter()
        response = await self.calls.send(adapter.query_request(order, client_id), fail_fast=False)
        fallback = adapter.query_fallback(order, client_id)
        if response.status >= 300 and fallback is not None and isinstance(adapter.error(response), NotOnExchange):
            response = await self.calls.send(fallback, fail_fast=False)
        return response

    async def finish(self, followed: Followed, status: OrderStatus, reason: str) -> None:
        """Finish the order with ``status`` (if it is open) and stop following it."""
        order = followed.order
        if order.is_open:
            await self.record([order.transition(status, self.clock(), reason)])
        self.followed.forget(followed)

    # -- unconfirmed placements -------------------------------------------------------------------

    async def unanswered(self, followed: Followed, signed: list[float], error: XWrapError) -> None:
        """No answer to a placement signed at ``signed`` (if it was): recorded as unconfirmed, then
        the exchange is asked about it (once now; :meth:`resolve_unconfirmed` goes on)."""
        followed.unanswered(signed[0] if signed else self.calls.exchange_time())
        followed.order.reason = f"placement unconfirmed ({error}); asking {self.name}"
        log.warning("%s order %s: %s", self.name, followed.order.id, followed.order.reason)
        await self.record_state(followed.order)
        await self._resolve(followed)

    async def resolve_unconfirmed(self) -> None:
        """Ask the exchange about every unconfirmed placement (not while the account's calls are paused)."""
        if self.calls.pause_left() > 0:  # the exchange asked for silence: ask again after it
            return
        for followed in self.followed.unconfirmed_orders():
            await self._resolve(followed)

    async def ask_about(self, followed: Followed) -> None:
        """Query an unconfirmed placement and apply what the exchange says."""
        async with self.lock:
            if followed.unconfirmed and followed.order.is_open:
                await self.refresh_order(followed)

    async def _resolve(self, followed: Followed) -> None:
        try:
            await self.ask_about(followed)
        except XWrapError as error:
            log.info("%s order %s still unconfirmed: %s", self.name, followed.order.id, error)

    def _expired(self, followed: Followed) -> bool:
        """Whether the exchange can no longer execute the placement: its receive window has passed
        since it was signed (for one from before a restart, since the account was opened)."""
        assert followed.signed_at is not None
        return self.calls.exchange_time() > followed.signed_at + self.adapter().recv_window + RECV_MARGIN
