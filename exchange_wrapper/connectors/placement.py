"""The order requests of a live account: place, cancel, amend, cancel-all, each sent once.

Idempotent placement: the order path stores the order (pending) before :meth:`Placement.place`
sends it, under a client id derived from the wallet set and xWrap's client order id. When no answer
comes (a timeout, a lost connection, a 5xx or the exchange's "status unknown") the order stays
pending and the :class:`~.resolution.Resolver` asks the exchange about that client id, never sending
it again. An amend is made the way the exchange can (in place, cancel-replace, or cancel then place
what remains under the next client id); one without an answer is found out the same way. Every
request is counted while it awaits its answer: reconciliation waits for it (its effects may be in
the balances and not yet in the ledger).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal

from ..core.errors import ExchangeUnavailable, RateLimited
from ..core.orders import Order, OrderStatus
from ..core.pairs import Pair
from ..exchanges.private import Amendment, NotOnExchange, PrivateAdapter, client_key
from .calls import AccountCalls
from .followed import Followed, FollowedOrders
from .reconciliation import Reconciliation
from .resolution import Resolver


class Placement:
    """Account ``name``'s order requests, sent through ``calls`` with ``adapter()``; what the
    exchange answers is applied by ``resolver`` to the ``followed`` orders, and each request is
    counted by ``reconciliation`` while it is out. ``record_client_id(order, client_id)`` stores
    the client id an order has on the exchange after a cancel-replace."""

    def __init__(
        self,
        name: str,
        calls: AccountCalls,
        followed: FollowedOrders,
        resolver: Resolver,
        reconciliation: Reconciliation,
        *,
        adapter: Callable[[], PrivateAdapter],
        record_client_id: Callable[[Order, str], Awaitable[None]],
        clock: Callable[[], float],
    ):
        self.name, self.calls, self.followed, self.resolver = name, calls, followed, resolver
        self.reconciliation, self.adapter, self.record_client_id, self.clock = (
            reconciliation,
            adapter,
            record_client_id,
            clock,
        )

    def client_id_for(self, wallet_set_id: int, client_order_id: str) -> str:
        """The exchange client order id a new order gets (stored with the order before it is sent)."""
        return self.adapter().client_id(client_key(wallet_set_id, client_order_id), 0)

    async def place(self, order: Order) -> None:
        """Send a stored pending order; its events are recorded before this returns. Never sends
        an order twice: without an answer it stays pending and is resolved by queries."""
        adapter = self.adapter()
        followed = self.followed.follow(order, None, adapter.client_id, None)
        followed.sending()
        signed: list[float] = []
        with self.reconciliation.request():
            try:
                response = await self.calls.send(
                    adapter.place_request(order, followed.client_id), fail_fast=True, signed=signed
                )
            except RateLimited as error:
                return await self.resolver.finish(followed, OrderStatus.REJECTED, f"not sent: {error}")
            except ExchangeUnavailable as error:
                return await self.resolver.unanswered(followed, signed, error)
            if response.status < 300:
                async with self.resolver.lock:
                    return await self.resolver.apply_answer(followed, response.body)
            refusal = adapter.error(response)
            if isinstance(refusal, ExchangeUnavailable):
                return await self.resolver.unanswered(followed, signed, refusal)
            await self.resolver.finish(followed, OrderStatus.REJECTED, str(refusal))

    async def cancel(self, order: Order) -> None:
        """Cancel an open live order; its events are recorded before this returns. Where the
        exchange no longer has it open (filled meanwhile), the order is brought to what it says."""
        adapter = self.adapter()
        followed = self.followed.of(order)
        with self.reconciliation.request():
            response = await self.calls.send(adapter.cancel_request(order, followed.client_id), fail_fast=True)
            async with self.resolver.lock:
                if response.status < 300:
                    if not adapter.cancel_reports_order:
                        return await self.resolver.refresh_order(followed)
                    return await self.resolver.apply_answer(followed, response.body)
                error = adapter.error(response)
                if not isinstance(error, NotOnExchange):
                    raise error
                await self.resolver.refresh_order(followed)
        if order.is_open:
            raise error

    async def cancel_all(self, pair: Pair) -> None:
        """Cancel every open order of the account on ``pair`` with the exchange's cancel-all (the
        order path uses it only when no open order there is someone else's)."""
        adapter = self.adapter()
        request = adapter.cancel_all_request(pair)
        if request is None:  # the exchange has none per pair: the order path cancels one by one
            return
        with self.reconciliation.request():
            response = await self.calls.send(request, fail_fast=True)
            if response.status >= 300:
                error = adapter.error(response)
                if isinstance(error, NotOnExchange):  # nothing was open
                    return
                raise error
            for report in adapter.parse_orders(response.body, self.clock()):
                await self.resolver.on_report(report)

    async def amend(self, order: Order, price: Decimal, size: Decimal) -> str:
        """Change a resting limit order's price and total size on the exchange; return how
        (:attr:`~..exchanges.private.Amendment.method`): in place, keeping its priority, or on a new exchange
        order. The order's price and size change only once the exchange has done it."""
        adapter = self.adapter()
        followed = self.followed.of(order)
        assert order.exchange_order_id is not None
        base = order.filled_size - followed.applied_to(order.exchange_order_id)
        next_client_id = adapter.client_id(followed.key, followed.revision + 1)
        amendment = adapter.amend_request(
            order, price=price, size=size, base=base, client_id=followed.client_id, next_client_id=next_client_id
        )
        with self.reconciliation.request():
            async with self.resolver.lock:  # the stream waits: its reports of the old and new orders come after
                if amendment.request is None:
                    await self._cancel_then_place(followed, amendment, price, size)
                    return amendment.method
                if not amendment.in_place:
                    self.followed.expect(followed, next_client_id)
                try:
                    response = await self.calls.send(amendment.request, fail_fast=True)
                except ExchangeUnavailable:
                    if not await self._find_replacement(followed, amendment, price, size):
                        raise
                    return amendment.method
                at = self.clock()
                if response.status >= 300:
                    error = adapter.error(response)
                    reason = f"cancelled to be replaced, but {self.name} refused the new order: {error}"
                    for report in adapter.partial_amend(response.body, at):  # cancelled, not replaced
                        await self.resolver.apply(followed, replace(report, reason=reason))
                    raise error
                reports = adapter.parse_amended(response.body, at, amendment)
                order.price, order.size = price, size
                if not amendment.in_place:
                    await self.resolver.apply(followed, replace(reports[0], status=OrderStatus.OPEN))
                    await self._switch(followed, amendment, reports[-1].exchange_order_id)
                await self.resolver.apply(followed, reports[-1])
        return amendment.method

    async def _cancel_then_place(self, followed: Followed, amendment: Amendment, price: Decimal, size: Decimal) -> None:
        """An exchange without cancel-replace: cancel, then place what remains to fill at the new
        price under the next client id (stored first: a lost answer is resolved like a placement's).
        Where the exchange refuses the new order, the order stays cancelled, with the reason."""
        adapter, order = self.adapter(), followed.order
        response = await self.calls.send(adapter.cancel_request(order, followed.client_id), fail_fast=True)
        if response.status >= 300:
            error = adapter.error(response)
            if isinstance(error, NotOnExchange):  # filled meanwhile
                await self.resolver.refresh_order(followed)
            raise error
        report = adapter.parse_order(response.body, self.clock())
        if not adapter.cancel_reports_order:  # the answer does not say what the order filled: ask, before the rest
            queried = await self.resolver.query(order, followed.client_id)
            if queried.status < 300:
                report = adapter.parse_order(queried.body, self.clock())
            elif not isinstance(adapter.error(queried), NotOnExchange):  # gone: cancelled without a fill (Coinbase)
                raise adapter.error(queried)
        await self.resolver.apply(
            followed, replace(report, status=OrderStatus.OPEN) if report.status.is_final else report
        )
        if not order.is_open:
            return
        order.price, order.size = price, size
        await self._switch(followed, amendment, None)
        signed: list[float] = []
        try:
            response = await self.calls.send(
                adapter.place_request(replace(order, size=size - order.filled_size), followed.client_id),
                fail_fast=False,
                signed=signed,
            )
        except ExchangeUnavailable:
            followed.unanswered(signed[0] if signed else self.calls.exchange_time())
            return
        if response.status < 300:
            return await self.resolver.apply_answer(followed, response.body)
        error = adapter.error(response)
        if isinstance(error, ExchangeUnavailable):
            followed.unanswered(signed[0] if signed else self.calls.exchange_time())
            return
        await self.resolver.finish(
            followed, OrderStatus.CANCELLED, f"cancelled to be replaced, but {self.name} refused the new order: {error}"
        )
        raise error

    async def _find_replacement(self, followed: Followed, amendment: Amendment, price: Decimal, size: Decimal) -> bool:
        """An amend without an answer: whether it happened. A replacement the exchange has (asked by
        its client id) becomes the order; otherwise the order is as the exchange says now."""
        adapter, order = self.adapter(), followed.order
        if not amendment.in_place:
            response = await self.calls.send(adapter.query_request(order, amendment.client_id), fail_fast=False)
            if response.status < 300:
                replacement, replaced_id = adapter.parse_order(response.body, self.clock()), followed.client_id
                order.price, order.size = price, size
                await self._switch(followed, amendment, replacement.exchange_order_id)
                old = await self.calls.send(adapter.query_request(order, replaced_id), fail_fast=False)
                if old.status < 300:  # the replaced exchange order: its fills only
                    await self.resolver.apply_answer(followed, old.body)
                await self.resolver.apply(followed, replacement)
                return True
        await self.resolver.refresh_order(followed)
        return False

    async def _switch(self, followed: Followed, amendment: Amendment, exchange_order_id: str | None) -> None:
        """The order now lives on the exchange under the amendment's client id, as
        ``exchange_order_id`` (None: being placed, its first report says); the client id is stored."""
        self.followed.switch(followed, amendment.client_id, exchange_order_id)
        await self.record_client_id(followed.order, followed.client_id)
