"""One live exchange account, composed of its parts: calls, stream, followed orders, placement,
recovery, reconciliation.

A :class:`LiveAccount` drives one exchange's :class:`~..exchanges.private.PrivateAdapter` for every
strategy and wallet set that trades there. It turns what the exchange says into
:class:`~exchange_wrapper.core.orders.OrderEvent` values on xWrap's own orders and hands them to its
owner (the live venue) to record, exactly like the virtual exchange's events. Each part has one job
and its own module:

* :class:`~.calls.AccountCalls`: the REST calls, paced under the account's quotas, signed as they
  leave, every call paused after a rate-limit answer (orders asked meanwhile are refused at once with
  :class:`~exchange_wrapper.core.errors.RateLimited`, background calls wait);
* :class:`~.private_stream.PrivateStream`: the authenticated stream on the shared reconnecting one;
* :class:`~.followed.FollowedOrders`: the orders followed, and each report's fills applied once;
* :class:`~.resolution.Resolver`: what the exchange says about them applied, unconfirmed placements
  asked about until known;
* :class:`~.placement.Placement`: the order requests (place, cancel, amend, cancel-all), each sent once;
* :class:`~.recovery.Recovery`: catching up after a restart or a gap in the stream, polling while it is down;
* :class:`~.reconciliation.Reconciliation`: when the balances may be compared with the ledger.

This class holds the account's life (open, recover, ready, the periodic jobs, stop) and its status,
and is what the venue asks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Protocol

from ..config import ExchangeSettings, Settings
from ..core.errors import ExchangeUnavailable, RateLimited, XWrapError
from ..core.exchanges import EXCHANGE_NAMES
from ..core.execution import OrderReport
from ..core.markets import Market
from ..core.orders import Fill, Order, OrderEvent
from ..core.pacing import Backoff, TokenBucket
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from ..exchanges.base import Credentials
from ..exchanges.private import AccountBalances, PrivateAdapter, Quota, private_adapter_class
from ..marketdata.hub import MarketDataHub
from .calls import AccountCalls
from .followed import FollowedOrders
from .placement import Placement
from .private_stream import PrivateStream
from .reconciliation import Reconciliation
from .recovery import Recovery, StoredOrders
from .resolution import Resolver
from .stream import Reconnecting

log = logging.getLogger(__name__)


class AccountOwner(Protocol):
    """What the account needs from whoever keeps the records (the live venue, through the order path
    and the ledger): it subscribes with :meth:`LiveAccount.serve`."""

    async def store_events(self, events: list[OrderEvent]) -> None:
        """Record and publish events of live orders (fills settle in the ledger)."""

    async def store_client_id(self, order: Order, client_id: str) -> None:
        """Remember the client id the order now has on the exchange (after a cancel-replace)."""

    async def store_state(self, order: Order) -> None:
        """Record and publish the order's state changed without an event (its ``reason``: a placement
        left unconfirmed, being asked about)."""

    async def reconcile(self, exchange: str, balances: AccountBalances) -> list[dict[str, Any]]:
        """Bring the ledger to ``balances``; return the differences found (reported to the account
        with :meth:`LiveAccount.report_differences`)."""


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
            if name == "ccxt":  # any other exchange, through ccxt (the optional extra)
                from .ccxt_account import ccxt_private_class

                adapter_class = ccxt_private_class(settings.exchanges.ccxt)
            else:
                adapter_class = private_adapter_class(name)
            accounts[name] = LiveAccount(adapter_class, exchange, hub, **options)
        except ExchangeUnavailable as error:
            log.error("%s is in live mode, but %s", name, error.reason)
    return accounts


class LiveAccount:
    """One exchange account. The owner (the live venue) subscribes with :meth:`serve` and keeps
    :meth:`run` going until it cancels it; once the account is ready it may :meth:`place`,
    :meth:`cancel`, :meth:`amend` and :meth:`cancel_all`. (:meth:`open`, :meth:`recover` and
    :meth:`set_ready` are the steps :meth:`run` takes first.)

    ``clock`` is Unix seconds and ``sleep`` waits (both injected in tests); ``reconcile_interval``
    seconds between balance reconciliations; a reconciliation is skipped while an order request or
    placement is unresolved, or when anything happened on the account during it or within ``quiet``
    seconds after (a fill on its way), and tried again ``reconcile_retry`` seconds later;
    ``resolve_interval`` seconds between queries about unconfirmed placements; ``poll_interval``
    seconds between polls of the orders and balances while the stream is not subscribed (or the
    exchange has none; default: the adapter's).
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
        self._options: dict[str, Any] = {
            "clock": clock,
            "sleep": sleep,
            "backoff": backoff,
            "reconcile_interval": reconcile_interval,
            "quiet": quiet,
            "resolve_interval": resolve_interval,
            "reconcile_retry": reconcile_retry,
            "poll_interval": poll_interval,
            "timeout": timeout,
        }
        self.name = name = adapter_class.name
        self.clock, self.sleep = clock, sleep
        self.connection = Reconnecting(clock=clock, sleep=sleep, backoff=backoff)
        self.reconcile_interval, self.resolve_interval = reconcile_interval, resolve_interval
        self.poll_interval = poll_interval or adapter_class.poll_interval
        self.credentials = Credentials(settings.api_key, settings.api_secret, settings.passphrase)
        self.calls = AccountCalls(
            name,
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
        self.followed = FollowedOrders(name)
        self.reconciliation = Reconciliation(
            name,
            self.followed,
            balances=self.balances,
            ledger=self._reconcile_ledger,
            stream_up=lambda: self.stream_up,
            refresh=self.refresh,
            spawn=self.connection.spawn,
            sleep=sleep,
            quiet=quiet,
            retry=reconcile_retry,
        )
        self.resolver = Resolver(
            name,
            self.calls,
            self.followed,
            adapter=self._ready,
            record=self._record,
            record_state=self._record_state,
            touched=self.reconciliation.touched,
            clock=clock,
        )
        self.placement = Placement(
            name,
            self.calls,
            self.followed,
            self.resolver,
            self.reconciliation,
            adapter=self._ready,
            record_client_id=self._record_client_id,
            clock=clock,
        )
        self.recovery = Recovery(
            name,
            self.calls,
            self.followed,
            self.resolver,
            self.reconciliation,
            adapter=self._ready,
            stream_up=lambda: self.stream_up,
            on_progress=self._progress,
            sleep=sleep,
            resolve_interval=resolve_interval,
        )

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
        """The private stream's state; for an exchange without one (Luno), that it is polled."""
        if self.stream is not None:
            return self.stream.state
        return "not connected" if self.adapter_class.stream_url else f"none: polled every {self.poll_interval:g} s"

    @property
    def difference_count(self) -> int:
        """Differences the reconciliations found, in all (the metrics)."""
        return self.reconciliation.difference_count

    @property
    def reconciliations_skipped(self) -> int:
        """Reconciliations put off while an order request or placement was unresolved (the metrics)."""
        return self.reconciliation.skipped

    # -- life cycle -------------------------------------------------------------------------------

    def serve(self, owner: AccountOwner) -> None:
        """Record what the account reports through ``owner`` (the live venue), from now on."""
        self.owner = owner

    def successor(self) -> LiveAccount:
        """A new account like this one, not started, served by the same owner: what runs the
        exchange when this node takes it again (cluster mode), with nothing of this one's state
        (its followed orders, its calls' pauses) carried over: the records and the exchange say
        what is true now."""
        return LiveAccount(self.adapter_class, self.settings, self.hub, self.owner, **self._options)

    async def run(self, stored: Callable[[], Awaitable[StoredOrders]]) -> None:
        """Open the account (retrying while the exchange is unreachable: the account shows
        ``down`` with the reason meanwhile), follow again the open live orders ``stored()`` reads
        from the records once it is open, bring them up to date (fills made while xWrap was down
        applied once), reconcile the balances, become ready; then reconcile every
        ``reconcile_interval``, resolve unconfirmed placements, poll orders and balances while
        nothing streams them; until cancelled."""
        backoff = Backoff(0.5, 30.0)
        await self._retrying(backoff, self.open)
        records = await stored()

        async def recover() -> None:
            await self.recovery.recover(records, self.opened_at)
            await self.reconcile(quiet=False)

        await self._retrying(backoff, recover)
        self.set_ready()
        log.info("%s account ready: %d open live orders", self.name, len(records.orders))
        self.connection.spawn(self._every(self.resolve_interval, self.resolver.resolve_unconfirmed))
        self.connection.spawn(self._every(self.poll_interval, self.recovery.poll))
        await self._every(self.reconcile_interval, self.reconcile)

    async def open(self) -> None:
        """Load the markets and the limits they publish, take the exchange's time, start the stream
        (raises what the exchange answers; :meth:`run` retries)."""
        cls = self.adapter_class
        body = await self.calls.call(cls.markets_request(), signed=False)
        table = SymbolTable(self.name, cls.read_markets(body))
        self.hub.add_markets(self.name, table)
        adapter = cls(table, self.credentials, body)
        self.calls.use(adapter, adapter.published_quotas(body))
        time_request = adapter.time_request()
        if time_request is not None:
            await self.calls.synchronise(time_request, adapter.parse_time)
        self.opened_at = self.exchange_time()
        if adapter.stream_url is not None:
            self.stream = PrivateStream(
                self.name,
                adapter,
                adapter.stream_address(self.settings.ws_url),
                self.calls,
                self.connection,
                on_message=self.reconciliation.touched,
                on_report=self.resolver.on_report,
                on_balances=self._stream_balances,
                on_resubscribed=self.recovery.catch_up,
            )
            self.connection.spawn(self.stream.run())
        self.state, self.reason = "recovering", "markets loaded"

    async def recover(
        self, orders: Iterable[Order], fills: Mapping[str, list[Fill]], client_ids: Mapping[str, str | None]
    ) -> None:
        """Follow the open live ``orders`` of the records again (with their recorded fills and client
        ids) and bring each to what the exchange says now (:meth:`.recovery.Recovery.recover`)."""
        await self.recovery.recover(StoredOrders(list(orders), fills, client_ids), self.opened_at)

    def set_ready(self) -> None:
        """The orders are recovered and the balances reconciled: orders may come."""
        self.state, self.reason = "ready", "trading"

    async def stop(self) -> None:
        await self.connection.cancel()
        self.calls.close()
        self.state, self.reason = "down", "stopped"

    def report_differences(self, differences: list[dict[str, Any]]) -> None:
        """The owner's reconciliation found ``differences``: shown in :meth:`status` and counted."""
        self.reconciliation.report(differences)

    def down(self, reason: str) -> None:
        """The account could not be opened or recovered: show why."""
        if (self.state, self.reason) != ("down", reason):
            log.warning("%s account down: %s", self.name, reason)
        self.state, self.reason = "down", reason

    # -- what the venue asks ----------------------------------------------------------------------

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
        return self.placement.client_id_for(wallet_set_id, client_order_id)

    def market(self, pair: Pair) -> Market:
        return self._ready().markets.market(pair)

    async def place(self, order: Order) -> None:
        """Send a stored pending order (:meth:`.placement.Placement.place`)."""
        await self.placement.place(order)

    async def cancel(self, order: Order) -> None:
        """Cancel an open live order (:meth:`.placement.Placement.cancel`)."""
        await self.placement.cancel(order)

    async def cancel_all(self, pair: Pair) -> None:
        """Cancel the account's open orders on ``pair`` at once (:meth:`.placement.Placement.cancel_all`)."""
        await self.placement.cancel_all(pair)

    async def amend(self, order: Order, price: Decimal, size: Decimal) -> str:
        """Amend a resting limit order; how it was done (:meth:`.placement.Placement.amend`)."""
        return await self.placement.amend(order, price, size)

    def is_foreign_free(self) -> bool:
        """No open order on the account that xWrap did not place (as far as it has seen)."""
        return not self.followed.foreign

    async def on_report(self, report: OrderReport) -> None:
        """A report about an order of the account (:meth:`.resolution.Resolver.on_report`)."""
        await self.resolver.on_report(report)

    async def refresh(self) -> None:
        """Ask the exchange about every followed order (:meth:`.resolution.Resolver.refresh`)."""
        await self.resolver.refresh()

    async def balances(self) -> AccountBalances:
        adapter = self._ready()
        return adapter.parse_balances(await self.calls.call(adapter.balances_request()), self.clock())

    async def reconcile(self, quiet: bool = True) -> list[dict[str, Any]] | None:
        """Have the owner reconcile the ledger with the account's balances; the differences, or None
        when the round was skipped (:meth:`.reconciliation.Reconciliation.run`)."""
        return await self.reconciliation.run(quiet)

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
            "differences": self.reconciliation.differences,
            "foreign_open_orders": len(self.followed.foreign),
            "unconfirmed_orders": len(self.followed.unconfirmed_orders()),
        }

    def exchange_time(self) -> float:
        return self.calls.exchange_time()

    def pause_left(self) -> float:
        """Seconds every call to the account still waits after a 429/418."""
        return self.calls.pause_left()

    @property
    def paused_until(self) -> float:
        return self.calls.paused_until

    # -- the parts' ways to the owner -------------------------------------------------------------

    def _owner(self) -> AccountOwner:
        assert self.owner is not None, "served before it runs"
        return self.owner

    async def _record(self, events: list[OrderEvent]) -> None:
        await self._owner().store_events(events)

    async def _record_state(self, order: Order) -> None:
        await self._owner().store_state(order)

    async def _record_client_id(self, order: Order, client_id: str) -> None:
        await self._owner().store_client_id(order, client_id)

    async def _reconcile_ledger(self, balances: AccountBalances) -> list[dict[str, Any]]:
        return await self._owner().reconcile(self.name, balances)

    async def _stream_balances(self, balances: AccountBalances) -> None:
        """Balances the stream pushes: reconciled once the account is ready."""
        if self.state != "ready" or self.owner is None:
            return
        await self.reconciliation.pushed(balances)

    # -- helpers ----------------------------------------------------------------------------------

    def _progress(self, reason: str) -> None:
        self.reason = reason

    def _ready(self) -> PrivateAdapter:
        if self.adapter is None:
            raise ExchangeUnavailable(self.name, f"the account is {self.state}: {self.reason}")
        return self.adapter

    async def _retrying(self, backoff: Backoff, step: Callable[[], Awaitable[Any]]) -> None:
        """Run ``step`` until it succeeds; after each failure the account is down with the reason,
        and waits the ``backoff``."""
        while True:
            try:
                await step()
                backoff.reset()
                return
            except XWrapError as error:
                self.down(str(error))
            await asyncio.sleep(backoff.next_delay())

    async def _every(self, seconds: float, job: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await self.sleep(seconds)
            try:
                await job()
            except XWrapError as error:
                log.warning("%s account: %s", self.name, error)
            except Exception:  # one bad round must not end the job
                log.exception("%s account: %s failed", self.name, getattr(job, "__name__", job))
