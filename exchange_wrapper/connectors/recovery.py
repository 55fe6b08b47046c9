"""Catching up with what happened on a live account while xWrap was not listening.

After a restart the open live orders of the records are followed again (with the fills recorded of
each and the client id it has on the exchange), and brought to what the exchange says now: fills
made meanwhile are applied once, finished orders finish, and a placement the restart left
unconfirmed is resolved before the account is reconciled (reconciliation could not count it).
After a gap in the private stream the followed orders are asked about again; while the stream is
down (or the exchange has none) orders and balances are polled.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.errors import XWrapError
from ..core.orders import Fill, Order
from ..exchanges.private import PrivateAdapter
from .calls import AccountCalls
from .followed import FollowedOrders
from .reconciliation import Reconciliation
from .resolution import Resolver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredOrders:
    """An account's open live orders as the records hold them: each order's recorded fills and the
    client id it has on the exchange (None: the first revision's), by order id."""

    orders: list[Order]
    fills: Mapping[str, list[Fill]]
    client_ids: Mapping[str, str | None]


class Recovery:
    """Account ``name``'s catching up: :meth:`recover` at start-up, :meth:`catch_up` after a gap in
    the stream, :meth:`poll` while nothing streams.

    ``adapter()`` is the account's private adapter, ``stream_up()`` whether the stream is
    subscribed; ``on_progress(reason)`` shows what recovery waits for; ``sleep`` waits
    ``resolve_interval`` seconds between queries about unconfirmed placements.
    """

    def __init__(
        self,
        name: str,
        calls: AccountCalls,
        followed: FollowedOrders,
        resolver: Resolver,
        reconciliation: Reconciliation,
        *,
        adapter: Callable[[], PrivateAdapter],
        stream_up: Callable[[], bool],
        on_progress: Callable[[str], None],
        sleep: Callable[[float], Awaitable[Any]],
        resolve_interval: float,
    ):
        self.name, self.calls, self.followed, self.resolver, self.reconciliation = (
            name,
            calls,
            followed,
            resolver,
            reconciliation,
        )
        self.adapter, self.stream_up, self.on_progress = adapter, stream_up, on_progress
        self.sleep, self.resolve_interval = sleep, resolve_interval

    async def recover(self, stored: StoredOrders, opened_at: float | None) -> None:
        """Follow the ``stored`` orders again and bring each to what the exchange says now (an
        order still pending was placed before the account was opened at ``opened_at``, the
        exchange's time); return once no placement is unconfirmed. Open orders on the account
        that xWrap did not place are noted (cancel-all leaves them alone)."""
        adapter = self.adapter()
        for order in stored.orders:
            if self.followed.get(order.id) is not None:  # a retry: followed already
                continue
            followed = self.followed.follow(order, stored.client_ids.get(order.id), adapter.client_id, opened_at)
            for fill in stored.fills.get(order.id, ()):
                exchange_order_id = fill.cause.get("exchange_order_id")
                if exchange_order_id is not None:
                    self.followed.count_fill(followed, exchange_order_id, fill.size)
        await self.resolver.refresh()
        await self.resolver.resolve_unconfirmed()
        while unconfirmed := self.followed.unconfirmed_orders():
            # reconciliation cannot count what they did: their outcome first (known once expired)
            self.on_progress(f"resolving {len(unconfirmed)} unconfirmed placement(s)")
            await self.sleep(self.resolve_interval)
            for followed in unconfirmed:
                await self.resolver.ask_about(followed)

    async def catch_up(self) -> None:
        """The stream is subscribed again: what it said meanwhile is lost, the orders are asked about."""
        try:
            await self.resolver.refresh()
        except XWrapError as error:
            log.warning("%s orders not refreshed after the stream came back: %s", self.name, error)

    async def poll(self) -> None:
        """What the stream would say, asked (it is down, or the exchange has none): the orders,
        their fills included, then the balances."""
        if self.stream_up() or self.calls.pause_left() > 0:
            return
        await self.resolver.refresh()
        await self.reconciliation.run()
