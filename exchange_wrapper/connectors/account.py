"""One live exchange account: its limits, its orders on the exchange, its stream and its balances.

A :class:`LiveAccount` drives one exchange's :class:`~..exchanges.private.PrivateAdapter` for every
strategy and wallet set that trades there, composed of one set of signed, paced calls
(:class:`~.calls.AccountCalls`: the account's quotas, preferring what the exchange publishes and
what its answers say it counted) and one authenticated stream (:class:`~.private_stream.PrivateStream`,
or polling). It turns what the exchange says into
:class:`~exchange_wrapper.core.orders.OrderEvent` values on xWrap's own orders and hands them to
its owner (the trading service) to record, exactly like the virtual exchange's events.

Idempotent placement: the owner stores the order (pending) before :meth:`LiveAccount.place` sends
it, under a client order id derived from the wallet set and xWrap's client order id. When no
answer comes (a timeout, a lost connection, a 5xx or the exchange's "status unknown"), the order
stays pending and the account asks the exchange about that client order id, never sending it
again: found, it applies what the exchange says; not found once the exchange's receive window
has passed since the request was signed (the exchange refuses it after that), it rejects it.

Rate limits: a 429 or 418 (or the exchange's equivalent) pauses every call to the account for
the time it gives; orders asked meanwhile are refused at once with
:class:`~exchange_wrapper.core.errors.RateLimited`, background calls wait, and so does the
stream's next connection (a refused handshake pauses the account the same way).

Reconciliation compares the ledger with balances the exchange reports: it is skipped while an
order request is unanswered or a placement unconfirmed (its effects may be in the balances and not
yet in the ledger, or the reverse) and tried again soon. While the stream is not subscribed, the
account polls its orders and balances (and shows ``degraded``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from ..config import ExchangeSettings, Settings
from ..core.errors import ExchangeUnavailable, RateLimited, XWrapError
from ..core.exchanges import EXCHANGE_NAMES
from ..core.execution import OrderReport, apply_report
from ..core.markets import Market
from ..core.money import ZERO
from ..core.orders import Fill, Order, OrderEvent, OrderStatus
from ..core.pacing import Backoff, TokenBucket
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from ..exchanges.base import Credentials
from ..exchanges.http import Request, Response
from ..exchanges.private import (
    AccountBalances,
    Amendment,
    NotOnExchange,
    PrivateAdapter,
    Quota,
    client_key,
    private_adapter_class,
)
from ..marketdata.hub import MarketDataHub
from .calls import AccountCalls
from .private_stream import PrivateStream
from .stream import Reconnecting

log = logging.getLogger(__name__)

#: Seconds added to the exchange's receive window before an unconfirmed placement that the
#: exchange does not know is taken as never placed (clock error, the exchange's own delays).
RECV_MARGIN = 1.0
#: Cancel-replaces of one order looked through to find the revision of its stored client id.
MAX_REVISIONS = 10_000


class AccountOwner(Protocol):
    """What the account needs from the service that keeps the records (the trading service)."""

    async def store_events(self, events: list[OrderEvent]) -> None:
        """Record and publish events of live orders (fills settle in the ledger)."""

    async def store_client_id(self, order: Order, client_id: str) -> None:
        """Remember the client id the order now has on the exchange (after a cancel-replace)."""

    async def store_state(self, order: Order) -> None:
        """Record and publish the order's state changed without an event (its ``reason``: a placement
        left unconfirmed, being asked about)."""

    async def reconcile(self, exchange: str, balances: AccountBalances) -> list[dict[str, Any]]:
        """Bring the ledger to ``balances``; return the differences found (reported there)."""


@dataclass(eq=False)
class _Tracked:
    """A live order the account follows: its client id on the exchange and what has been applied."""

    order: Order
    key: bytes
    client_id: str
    revision: int = 0
    applied: dict[str, Decimal] = field(default_factory=dict)  # exchange order id -> size of its fills applied
    signed_at: float | None = None  # when an unconfirmed placement was signed (exchange clock)


def open_accounts(settings: Settings, hub: MarketDataHub, **options: Any) -> dict[str, LiveAccount]:
    """A :class:`LiveAccount` (not started) for every enabled exchange in live mode that has a
    private adapter; ``options`` go to each (tests inject clocks and intervals). An exchange in live
    mode without one is logged, and its live orders are refused."""
    accounts = {}
    for name in EXCHANGE_NAMES:
        exchange = settings.exchange(name)
        if not (exchange.enabled and exchange.mode == "live"):
            continue
        try:
            accounts[name] = LiveAccount(private_adapter_class(name), exchange, hub, **options)
        except ExchangeUnavailable as error:
            log.error("%s is in live mode, but %s", name, error.reason)
    return accounts


class LiveAccount:
    """One exchange account. The owner calls :meth:`open` (retrying on errors), :meth:`recover`
    with the live orders it holds, :meth:`reconcile` once, :meth:`set_ready`, then runs :meth:`run`
    until it stops; once ready it may :meth:`place`, :meth:`cancel`, :meth:`amend` and
    :meth:`cancel_all`.

    ``clock`` is Unix seconds and ``sleep`` waits (both injected in tests); ``reconcile_interval``
    seconds between balance reconciliations; a reconciliation is skipped while an order request or
    placement is unresolved, or when anything happened on the account during it or within ``quiet``
    seconds after (a fill on its way would show as a difference), and tried again
    ``reconcile_retry`` seconds later; ``resolve_interval`` seconds between queries about
    unconfirmed placements; ``poll_interval`` seconds between polls of the orders and balances
    while the stream is not subscribed (or the exchange has none; default: the adapter's).
    """

    def __init__(
        self,
        adapter_class: type[PrivateAdapter],
        settings: ExchangeSettings,
        hub: MarketDataHub,
        owner: AccountOwner | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        backoff: Backoff | None = None,
        reconcile_interval: float = 60.0,
        quiet: float = 1.0,
        resolve_interval: float = 2.0,
        reconcile_retry: float = 5.0,
        poll_interval: float | None = None,
        timeout: float = 10.0,
    ):
        self.adapter_class, self.settings, self.hub, self.owner = adapter_class, settings, hub, owner
        self.name = adapter_class.name
        self.clock, self.sleep = clock, sleep
        self.connection = Reconnecting(clock=clock, sleep=sleep, backoff=backoff)
        self.backoff = self.connection.backoff
        self.reconcile_interval, self.quiet, self.resolve_interval = reconcile_interval, quiet, resolve_interval
        self.reconcile_retry = reconcile_retry
        self.poll_interval = poll_interval or adapter_class.poll_interval
        self.credentials = Credentials(settings.api_key, settings.api_secret, settings.passphrase)
        self.calls = AccountCalls(
            self.name,
            settings.rest_url or adapter_class.rest_url,
            adapter_class.quotas,
            hub,
            sequential=adapter_class.sequential,
            clock=clock,
            sleep=sleep,
            timeout=timeout,
        )
        self.stream: PrivateStream | None = None
        self.opened_at: float | None = None  # the exchange's time when the account was opened
        self.state, self.reason = "connecting", "starting"
        self.differences: list[dict[str, Any]] = []  # the last differences reconciliation reported
        self.difference_count = 0
        self.activity = 0  # counts what can change balances: reports applied, stream messages, order requests
        self.requests = 0  # order requests (place, cancel, amend, cancel-all) sent
        self.changing = 0  # of which not answered yet
        self.reconciliations_skipped = 0  # rounds not run: an order request or placement was unresolved
        self._reconcile_pending = False
        self.foreign: set[str] = set()  # open exchange orders on the account that xWrap did not place
        self._tracked: dict[str, _Tracked] = {}  # by xWrap order id
        self._by_client_id: dict[str, _Tracked] = {}
        self._by_exchange_id: dict[str, _Tracked] = {}
        self._lock = asyncio.Lock()

    @property
    def adapter(self) -> PrivateAdapter | None:
        """The exchange's private adapter, once :meth:`open` has built it."""
        return self.calls.adapter

    @property
    def quotas(self) -> dict[str, Quota]:
        return self.calls.quotas

    @property
    def buckets(self) -> dict[str, TokenBucket]:
        return self.calls.buckets

    @property
    def stream_up(self) -> bool:
        """Whether the private stream is subscribed (the exchange tells what happens as it happens)."""
        return self.stream is not None and self.stream.up

    @property
    def stream_state(self) -> str:
        return self.stream.state if self.stream is not None else "not connected"

    # -- life cycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Load the markets and the limits they publish, take the exchange's time, start the stream
        (raises what the exchange answers; the owner retries)."""
        cls = self.adapter_class
        markets = cls.market_adapter
        body = await self.calls.call(
            Request(
                markets.markets_path,
                weight=markets.markets_weight,
                costs={"weight": markets.markets_weight, "requests": 1},
            ),
            signed=False,
        )
        table = SymbolTable(self.name, markets.parse_markets(body))
        self.hub.add_markets(self.name, table)
        self.calls.adapter = adapter = cls(table, self.credentials, body)
        self.calls.set_quotas(adapter.published_quotas(body))
        time_request = adapter.time_request()
        if time_request is not None:
            before = self.clock()
            server = adapter.parse_time(await self.calls.call(time_request, signed=False))
            self.calls.offset = server - (before + self.clock()) / 2
        self.opened_at = self.exchange_time()
        if adapter.stream_url is not None:
            self.stream = PrivateStream(
                self.name,
                adapter,
                adapter.stream_address(self.settings.ws_url),
                self.calls,
                self.connection,
                on_message=self._touched,
                on_report=self.on_report,
                on_balances=self._stream_balances,
                on_resubscribed=self._catch_up,
            )
            self.connection.spawn(self.stream.run())
        self.state, self.reason = "recovering", "markets loaded"

    async def recover(
        self, orders: Iterable[Order], fills: Mapping[str, list[Fill]], client_ids: Mapping[str, str | None]
    ) -> None:
        """Follow the owner's open live ``orders`` again (with their recorded fills and client ids)
        and bring each to what the exchange says now: fills made while xWrap was away are applied
        once, finished orders finish. Open orders on the account that xWrap did not place are noted
        (cancel-all leaves them alone)."""
        self._ready()
        for order in orders:
            if order.id in self._tracked:  # a retry: followed already
                continue
            tracked = self._track(order, client_ids.get(order.id))
            for fill in fills.get(order.id, ()):
                exchange_order_id = fill.cause.get("exchange_order_id")
                if exchange_order_id is not None:
                    tracked.applied[exchange_order_id] = tracked.applied.get(exchange_order_id, ZERO) + fill.size
        await self.refresh()
        await self._resolve_unconfirmed()
        while unconfirmed := [t for t in self._tracked.values() if t.signed_at is not None]:
            # reconciliation cannot count what they did: their outcome first (known once expired)
            self.reason = f"resolving {len(unconfirmed)} unconfirmed placement(s)"
            await self.sleep(self.resolve_interval)
            for tracked in unconfirmed:
                await self._ask_about(tracked)

    def set_ready(self) -> None:
        """The owner has recovered the orders and reconciled the balances: orders may come."""
        self.state, self.reason = "ready", "trading"

    async def refresh(self) -> None:
        """Ask the exchange about every followed order (at start-up, after a gap in the stream,
        polling): the account's open orders in one list (those xWrap did not place are noted:
        cancel-all leaves them alone), then each followed order the list leaves out (finished, or
        past the list's page) by its client id."""
        adapter = self._ready()
        listed, foreign = set(), set()
        for report in adapter.parse_orders(await self.calls.call(adapter.open_orders_request()), self.clock()):
            tracked = self._find(report)
            if tracked is None:
                foreign.add(report.exchange_order_id)
                continue
            listed.add(tracked.order.id)
            async with self._lock:
                await self._apply(tracked, report)
        self.foreign = foreign
        for tracked in list(self._tracked.values()):
            if tracked.order.id not in listed and tracked.order.status is not OrderStatus.PENDING:
                async with self._lock:  # pending: placing, or the resolver's
                    await self._refresh(tracked)

    async def run(self) -> None:
        """Reconcile the balances every ``reconcile_interval``, resolve unconfirmed placements,
        poll orders and balances while nothing streams them; until cancelled."""
        self._ready()
        self.connection.spawn(self._every(self.resolve_interval, self._resolve_unconfirmed))
        self.connection.spawn(self._every(self.poll_interval, self._poll))
        await self._every(self.reconcile_interval, self.reconcile)

    async def _poll(self) -> None:
        """What the stream would say, asked (it is down, or the exchange has none): the orders,
        their fills included, then the balances."""
        if self.stream_up or self.pause_left() > 0:
            return
        await self.refresh()
        await self.reconcile()

    async def stop(self) -> None:
        await self.connection.cancel()
        self.calls.close()
        self.state, self.reason = "down", "stopped"

    def serve(self, owner: AccountOwner) -> None:
        """Record what the account reports through ``owner`` (the trading service), from now on."""
        self.owner = owner

    def report_differences(self, differences: list[dict[str, Any]]) -> None:
        """The owner's reconciliation found ``differences``: shown in :meth:`status` and counted."""
        self.differences = differences
        self.difference_count += len(differences)

    def down(self, reason: str) -> None:
        """The owner could not open or recover the account: show why."""
        if (self.state, self.reason) != ("down", reason):
            log.warning("%s account down: %s", self.name, reason)
        self.state, self.reason = "down", reason

    # -- what the service asks --------------------------------------------------------------------

    def check(self, order: Order) -> None:
        """Refuse before anything is stored: the account not ready (:class:`ExchangeUnavailable`),
        calls paused (:class:`RateLimited`), what the exchange cannot do (InvalidParameter)."""
        if self.state != "ready" or self.adapter is None:
            raise ExchangeUnavailable(self.name, f"the account is {self.state}: {self.reason}")
        paused = self.pause_left()
        if paused > 0:
            raise RateLimited(self.name, paused)
        self.adapter.check(order)

    def client_id_for(self, wallet_set_id: int, client_order_id: str) -> str:
        """The exchange client order id a new order gets (store it with the order)."""
        return self._ready().client_id(client_key(wallet_set_id, client_order_id), 0)

    def market(self, pair: Pair) -> Market:
        return self._ready().markets.market(pair)

    async def place(self, order: Order) -> None:
        """Send a stored pending order; its events reach the owner before this returns. Never sends
        an order twice: without an answer it stays pending and is resolved by queries."""
        adapter = self._ready()
        tracked = self._track(order, None)
        tracked.signed_at = None  # being sent (perhaps waiting for the limits): not unconfirmed until no answer comes
        signed: list[float] = []
        with self._changing():
            try:
                response = await self.calls.send(
                    adapter.place_request(order, tracked.client_id), fail_fast=True, signed=signed
                )
            except RateLimited as error:
                return await self._reject(tracked, f"not sent: {error}")
            except ExchangeUnavailable as error:
                return await self._unconfirmed(tracked, signed, error)
            if response.status < 300:
                async with self._lock:
                    return await self._apply(tracked, adapter.parse_order(response.body, self.clock()))
            refusal = adapter.error(response)
            if isinstance(refusal, ExchangeUnavailable):
                return await self._unconfirmed(tracked, signed, refusal)
            await self._reject(tracked, str(refusal))

    async def cancel(self, order: Order) -> None:
        """Cancel an open live order; its events reach the owner before this returns. Where the
        exchange no longer has it open (filled meanwhile), the order is brought to what it says."""
        adapter = self._ready()
        tracked = self._tracked_of(order)
        with self._changing():
            response = await self.calls.send(adapter.cancel_request(order, tracked.client_id), fail_fast=True)
            async with self._lock:
                if response.status < 300:
                    if not adapter.cancel_reports_order:
                        return await self._refresh(tracked)
                    return await self._apply(tracked, adapter.parse_order(response.body, self.clock()))
                error = adapter.error(response)
                if not isinstance(error, NotOnExchange):
                    raise error
                await self._refresh(tracked)
        if order.is_open:
            raise error

    async def cancel_all(self, pair: Pair) -> None:
        """Cancel every open order of the account on ``pair`` with the exchange's cancel-all (the
        owner uses it only when no open order there is someone else's)."""
        adapter = self._ready()
        request = adapter.cancel_all_request(pair)
        if request is None:  # the exchange has none per pair: the owner cancels one by one
            return
        with self._changing():
            response = await self.calls.send(request, fail_fast=True)
            if response.status >= 300:
                error = adapter.error(response)
                if isinstance(error, NotOnExchange):  # nothing was open
                    return
                raise error
            for report in adapter.parse_orders(response.body, self.clock()):
                await self.on_report(report)

    async def amend(self, order: Order, price: Decimal, size: Decimal) -> str:
        """Change a resting limit order's price and total size on the exchange; return how
        (:attr:`~..exchanges.private.Amendment.method`): in place, keeping its priority, or on a new exchange
        order. The order's price and size change only once the exchange has done it."""
        adapter = self._ready()
        tracked = self._tracked_of(order)
        assert order.exchange_order_id is not None
        base = order.filled_size - tracked.applied.get(order.exchange_order_id, ZERO)
        next_client_id = adapter.client_id(tracked.key, tracked.revision + 1)
        amendment = adapter.amend_request(
            order, price=price, size=size, base=base, client_id=tracked.client_id, next_client_id=next_client_id
        )
        with self._changing():
            async with self._lock:  # the stream waits: its reports of the old and new orders come after
                if amendment.request is None:
                    await self._cancel_then_place(tracked, amendment, price, size)
                    return amendment.method
                if not amendment.in_place:
                    self._by_client_id[next_client_id] = tracked
                try:
                    response = await self.calls.send(amendment.request, fail_fast=True)
                except ExchangeUnavailable:
                    if not await self._find_replacement(tracked, amendment, price, size):
                        raise
                    return amendment.method
                at = self.clock()
                if response.status >= 300:
                    error = adapter.error(response)
                    reason = f"cancelled to be replaced, but {self.name} refused the new order: {error}"
                    for report in adapter.partial_amend(response.body, at):  # cancelled, not replaced
                        await self._apply(tracked, replace(report, reason=reason))
                    raise error
                reports = adapter.parse_amended(response.body, at, amendment)
                order.price, order.size = price, size
                if not amendment.in_place:
                    await self._apply(tracked, replace(reports[0], status=OrderStatus.OPEN))
                    await self._switch(tracked, amendment, reports[-1].exchange_order_id)
                await self._apply(tracked, reports[-1])
        return amendment.method

    async def _cancel_then_place(self, tracked: _Tracked, amendment: Amendment, price: Decimal, size: Decimal) -> None:
        """An exchange without cancel-replace: cancel, then place what remains to fill at the new
        price under the next client id (stored first: a lost answer is resolved like a placement's).
        Where the exchange refuses the new order, the order stays cancelled, with the reason."""
        adapter, order = self._ready(), tracked.order
        response = await self.calls.send(adapter.cancel_request(order, tracked.client_id), fail_fast=True)
        if response.status >= 300:
            error = adapter.error(response)
            if isinstance(error, NotOnExchange):  # filled meanwhile
                await self._refresh(tracked)
            raise error
        report = adapter.parse_order(response.body, self.clock())
        if not adapter.cancel_reports_order:  # the answer does not say what the order filled: ask, before the rest
            queried = await self._query(order, tracked.client_id)
            if queried.status < 300:
                report = adapter.parse_order(queried.body, self.clock())
            elif not isinstance(adapter.error(queried), NotOnExchange):  # gone: cancelled without a fill (Coinbase)
                raise adapter.error(queried)
        await self._apply(tracked, replace(report, status=OrderStatus.OPEN) if report.status.is_final else report)
        if not order.is_open:
            return
        order.price, order.size = price, size
        await self._switch(tracked, amendment, None)
        signed: list[float] = []
        try:
            response = await self.calls.send(
                adapter.place_request(replace(order, size=size - order.filled_size), tracked.client_id),
                fail_fast=False,
                signed=signed,
            )
        except ExchangeUnavailable:
            tracked.signed_at = signed[0] if signed else self.exchange_time()
            return
        if response.status < 300:
            return await self._apply(tracked, adapter.parse_order(response.body, self.clock()))
        error = adapter.error(response)
        if isinstance(error, ExchangeUnavailable):
            tracked.signed_at = signed[0] if signed else self.exchange_time()
            return
        await self._finish(
            tracked, OrderStatus.CANCELLED, f"cancelled to be replaced, but {self.name} refused the new order: {error}"
        )
        raise error

    async def balances(self) -> AccountBalances:
        adapter = self._ready()
        return adapter.parse_balances(await self.calls.call(adapter.balances_request()), self.clock())

    async def reconcile(self, quiet: bool = True) -> list[dict[str, Any]] | None:
        """Have the owner reconcile the ledger with the account's balances; return the differences.
        Skipped (None: counted, logged, tried again ``reconcile_retry`` seconds later) while an
        order request is unanswered or a placement unconfirmed, before or after the balances are
        read (their effects may be in the balances and not yet in the ledger, or the reverse), while
        the stream is down when asking about the orders after the balances were read applies anything
        (a fill the balances hold and the ledger does not), and, when ``quiet``, when anything
        happened on the account meanwhile (a fill on its way)."""
        assert self.owner is not None
        activity, requests = self.activity, self.requests
        busy = self.unresolved()
        if busy is None:
            balances = await self.balances()
            if quiet:
                await self.sleep(self.quiet)
            learned = self.activity
            if not self.stream_up and self._tracked:  # nothing tells of their fills: ask, put off if one came
                await self.refresh()
            busy = self.unresolved()
            if busy is None and self.activity != learned:
                busy = "fills learned by polling since the balances were read"
            if busy is None and (self.requests != requests or (quiet and self.activity != activity)):
                busy = "the account was busy"
            if busy is None:
                return await self.owner.reconcile(self.name, balances)
        self.reconciliations_skipped += 1
        log.info("%s reconciliation skipped (%s): again in %g s", self.name, busy, self.reconcile_retry)
        self._reconcile_soon()
        return None

    def unresolved(self) -> str | None:
        """What may have changed the balances without the ledger knowing yet (or the reverse):
        order requests awaiting their answer, placements unconfirmed. None: nothing."""
        unconfirmed = sum(t.signed_at is not None for t in self._tracked.values())
        parts = ([f"{self.changing} order request(s) awaiting an answer"] if self.changing else []) + (
            [f"{unconfirmed} placement(s) unconfirmed"] if unconfirmed else []
        )
        return ", ".join(parts) or None

    def _reconcile_soon(self) -> None:
        """A reconciliation in ``reconcile_retry`` seconds (one at a time)."""
        if not self._reconcile_pending:
            self._reconcile_pending = True
            self.connection.spawn(self._reconcile_later())

    async def _reconcile_later(self) -> None:
        await self.sleep(self.reconcile_retry)
        self._reconcile_pending = False
        try:
            await self.reconcile()
        except XWrapError as error:
            log.warning("%s account: %s", self.name, error)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """An order request out: reconciliation waits for its answer."""
        self.activity += 1
        self.requests += 1
        self.changing += 1
        try:
            yield
        finally:
            self.changing -= 1
            self.activity += 1

    def status(self) -> dict[str, Any]:
        """The account as the exchange status shows it (values that change only with the account's
        state: the status notifications follow them). A ready account whose stream is not
        subscribed is ``degraded``: it is polled."""
        state, reason = self.state, self.reason
        if state == "ready" and not self.stream_up and self.adapter is not None and self.adapter.stream_url:
            state, reason = (
                "degraded",
                (
                    f"the private stream is not subscribed ({self.stream_state}): orders and "
                    f"balances are polled every {self.poll_interval:g} s"
                ),
            )
        return {
            "state": state,
            "reason": reason,
            "stream": self.stream_state,
            "paused_until": round(self.paused_until, 3) if self.pause_left() > 0 else None,
            "differences": self.differences,
            "foreign_open_orders": len(self.foreign),
            "unconfirmed_orders": sum(t.signed_at is not None for t in self._tracked.values()),
        }

    def exchange_time(self) -> float:
        return self.calls.exchange_time()

    def is_foreign_free(self) -> bool:
        """No open order on the account that xWrap did not place (as far as it has seen)."""
        return not self.foreign

    # -- reports ----------------------------------------------------------------------------------

    async def on_report(self, report: OrderReport) -> None:
        """A report from the stream or a list answer: applied to the order it is about; one about
        an order xWrap did not place is only noted."""
        self.activity += 1
        async with self._lock:
            tracked = self._find(report)
            if tracked is not None:
                return await self._apply(tracked, report)
            if report.status.is_final:
                self.foreign.discard(report.exchange_order_id)
            else:
                self.foreign.add(report.exchange_order_id)

    async def _apply(self, tracked: _Tracked, report: OrderReport) -> None:
        """Apply ``report`` (under the lock), fetching fills the exchange counts and the report
        does not carry; hand the events to the owner."""
        order = tracked.order
        current = order.exchange_order_id
        if report.exchange_order_id != current and (current is not None or report.client_id != tracked.client_id):
            report = replace(report, status=OrderStatus.OPEN)  # an exchange order this one replaced: its fills only
        elif report.client_id == tracked.client_id:
            tracked.signed_at = None  # the exchange has the current placement
        events = self._apply_once(tracked, report)
        if order.is_open and report.filled_size > tracked.applied.get(report.exchange_order_id, ZERO):
            adapter = self._ready()
            try:
                fills = [
                    fill
                    for fill in adapter.parse_fills(
                        await self.calls.call(adapter.fills_request(order, report.exchange_order_id)), self.clock()
                    )
                    if fill.cause.get("exchange_order_id", report.exchange_order_id) == report.exchange_order_id
                ]
                events += self._apply_once(tracked, replace(report, fills=tuple(fills)))
            except XWrapError as error:
                log.warning("%s order %s: fills not fetched, retried later: %s", self.name, order.id, error)
        if order.exchange_order_id is not None:
            self._by_exchange_id[order.exchange_order_id] = tracked
        if events:
            self.activity += 1
            assert self.owner is not None
            await self.owner.store_events(events)
        if not order.is_open:
            self._forget(tracked)

    def _apply_once(self, tracked: _Tracked, report: OrderReport) -> list[OrderEvent]:
        events, _ = apply_report(tracked.order, report, tracked.applied.get(report.exchange_order_id, ZERO))
        filled = sum((e.fill.size for e in events if e.fill is not None), ZERO)
        if filled:
            tracked.applied[report.exchange_order_id] = tracked.applied.get(report.exchange_order_id, ZERO) + filled
        return events

    async def _refresh(self, tracked: _Tracked) -> None:
        """Query one order by its client id and apply the answer (under the lock)."""
        adapter = self._ready()
        order = tracked.order
        response = await self._query(order, tracked.client_id)
        if response.status < 300:
            return await self._apply(tracked, adapter.parse_order(response.body, self.clock()))
        error = adapter.error(response)
        if not isinstance(error, NotOnExchange):
            raise error
        if tracked.signed_at is None:
            await self._finish(tracked, OrderStatus.CANCELLED, f"{self.name} no longer knows this order")
        elif self._expired(tracked):  # an unconfirmed placement (or replacement) that never arrived
            await self._finish(
                tracked,
                OrderStatus.REJECTED if order.status is OrderStatus.PENDING else OrderStatus.CANCELLED,
                f"never reached {self.name}: {error.message}",
            )

    async def _query(self, order: Order, client_id: str) -> Response:
        """The exchange's answer about one order, asked by its client id (then where else the adapter says)."""
        adapter = self._ready()
        response = await self.calls.send(adapter.query_request(order, client_id), fail_fast=False)
        fallback = adapter.query_fallback(order, client_id)
        if response.status >= 300 and fallback is not None and isinstance(adapter.error(response), NotOnExchange):
            response = await self.calls.send(fallback, fail_fast=False)
        return response

    # -- placement outcomes -----------------------------------------------------------------------

    async def _unconfirmed(self, tracked: _Tracked, signed: list[float], error: XWrapError) -> None:
        """No answer to a placement: ask the exchange about it (once now; the resolver goes on)."""
        tracked.signed_at = signed[0] if signed else self.exchange_time()
        tracked.order.reason = f"placement unconfirmed ({error}); asking {self.name}"
        log.warning("%s order %s: %s", self.name, tracked.order.id, tracked.order.reason)
        assert self.owner is not None
        await self.owner.store_state(tracked.order)
        await self._resolve(tracked)

    async def _resolve(self, tracked: _Tracked) -> None:
        try:
            await self._ask_about(tracked)
        except XWrapError as error:
            log.info("%s order %s still unconfirmed: %s", self.name, tracked.order.id, error)

    async def _ask_about(self, tracked: _Tracked) -> None:
        async with self._lock:
            if tracked.signed_at is not None and tracked.order.is_open:
                await self._refresh(tracked)

    async def _resolve_unconfirmed(self) -> None:
        if self.pause_left() > 0:  # the exchange asked for silence: ask again after it
            return
        for tracked in [t for t in self._tracked.values() if t.signed_at is not None]:
            await self._resolve(tracked)

    def _expired(self, tracked: _Tracked) -> bool:
        """Whether the exchange can no longer execute the placement: its receive window has passed
        since it was signed (for one from before a restart, since the account was opened)."""
        assert tracked.signed_at is not None
        return self.exchange_time() > tracked.signed_at + self._ready().recv_window + RECV_MARGIN

    async def _reject(self, tracked: _Tracked, reason: str) -> None:
        await self._finish(tracked, OrderStatus.REJECTED, reason)

    async def _finish(self, tracked: _Tracked, status: OrderStatus, reason: str) -> None:
        order = tracked.order
        if order.is_open:
            event = order.transition(status, self.clock(), reason)
            assert self.owner is not None
            await self.owner.store_events([event])
        self._forget(tracked)

    async def _find_replacement(self, tracked: _Tracked, amendment: Amendment, price: Decimal, size: Decimal) -> bool:
        """An amend without an answer: whether it happened. A replacement the exchange has (asked by
        its client id) becomes the order; otherwise the order is as the exchange says now."""
        adapter, order = self._ready(), tracked.order
        if not amendment.in_place:
            response = await self.calls.send(adapter.query_request(order, amendment.client_id), fail_fast=False)
            if response.status < 300:
                replacement, replaced_id = adapter.parse_order(response.body, self.clock()), tracked.client_id
                order.price, order.size = price, size
                await self._switch(tracked, amendment, replacement.exchange_order_id)
                old = await self.calls.send(adapter.query_request(order, replaced_id), fail_fast=False)
                if old.status < 300:  # the replaced exchange order: its fills only
                    await self._apply(tracked, adapter.parse_order(old.body, self.clock()))
                await self._apply(tracked, replacement)
                return True
        await self._refresh(tracked)
        return False

    async def _switch(self, tracked: _Tracked, amendment: Amendment, exchange_order_id: str | None) -> None:
        """The order now lives on the exchange under the amendment's client id, as
        ``exchange_order_id`` (None: being placed, its first report says)."""
        self._by_client_id.pop(tracked.client_id, None)
        tracked.client_id, tracked.revision = amendment.client_id, tracked.revision + 1
        tracked.order.exchange_order_id = exchange_order_id
        self._by_client_id[tracked.client_id] = tracked
        if exchange_order_id is not None:
            self._by_exchange_id[exchange_order_id] = tracked
        assert self.owner is not None
        await self.owner.store_client_id(tracked.order, tracked.client_id)

    # -- following orders -------------------------------------------------------------------------

    def _track(self, order: Order, client_id: str | None) -> _Tracked:
        tracked = self._tracked.get(order.id)
        if tracked is not None:
            return tracked
        adapter = self._ready()
        key = client_key(order.wallet_set_id, order.client_order_id)
        revision = 0
        if client_id is not None:  # after cancel-replaces: the revision that gave this client id
            revision = next((r for r in range(MAX_REVISIONS) if adapter.client_id(key, r) == client_id), 0)
        tracked = _Tracked(order, key, adapter.client_id(key, revision), revision)
        if order.status is OrderStatus.PENDING:  # placed before a restart, unconfirmed: signed before we opened
            tracked.signed_at = self.opened_at
        self._tracked[order.id] = self._by_client_id[tracked.client_id] = tracked
        if order.exchange_order_id is not None:
            self._by_exchange_id[order.exchange_order_id] = tracked
            self.foreign.discard(order.exchange_order_id)
        return tracked

    def _tracked_of(self, order: Order) -> _Tracked:
        tracked = self._tracked.get(order.id)
        if tracked is None:
            raise ExchangeUnavailable(self.name, f"order {order.id} is not followed on the account")
        return tracked

    def _find(self, report: OrderReport) -> _Tracked | None:
        return self._by_exchange_id.get(report.exchange_order_id) or self._by_client_id.get(report.client_id)

    def _forget(self, tracked: _Tracked) -> None:
        self._tracked.pop(tracked.order.id, None)
        for index in (self._by_client_id, self._by_exchange_id):
            for key in [k for k, v in index.items() if v is tracked]:
                del index[key]

    # -- the stream -------------------------------------------------------------------------------

    def _touched(self) -> None:
        """A stream message: something may have changed on the account."""
        self.activity += 1

    async def _catch_up(self) -> None:
        try:
            await self.refresh()
        except XWrapError as error:
            log.warning("%s orders not refreshed after the stream came back: %s", self.name, error)

    async def _stream_balances(self, balances: AccountBalances) -> None:
        """Balances the stream pushes after the reports of what changed them: reconciled at once
        (once the account is ready), unless an order request or placement is unresolved (then a
        reconciliation follows soon)."""
        if self.state != "ready" or self.owner is None:
            return
        busy = self.unresolved()
        if busy is not None:
            log.debug("%s pushed balances not reconciled (%s)", self.name, busy)
            return self._reconcile_soon()
        await self.owner.reconcile(self.name, balances)

    # -- calls ------------------------------------------------------------------------------------

    def pause_left(self) -> float:
        """Seconds every call to the account still waits after a 429/418."""
        return self.calls.pause_left()

    @property
    def paused_until(self) -> float:
        return self.calls.paused_until

    # -- helpers ----------------------------------------------------------------------------------

    def _ready(self) -> PrivateAdapter:
        if self.adapter is None:
            raise ExchangeUnavailable(self.name, f"the account is {self.state}: {self.reason}")
        return self.adapter

    async def _every(self, seconds: float, job: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await self.sleep(seconds)
            try:
                await job()
            except XWrapError as error:
                log.warning("%s account: %s", self.name, error)
            except Exception:  # one bad round must not end the job
                log.exception("%s account: %s failed", self.name, getattr(job, "__name__", job))
