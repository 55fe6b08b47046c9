"""The exchange itself: live orders go to the exchange account of their exchange
(:class:`~exchange_wrapper.connectors.account.LiveAccount`), whose events come back through the order
path like the virtual exchange's (docs/live-trading.md).

The venue runs its accounts and keeps their records: it is their
:class:`~exchange_wrapper.connectors.account.AccountOwner`. Each account runs in a task (the service
starts even if an exchange is unreachable) and, once open, is given its open live orders from the
records (the order path takes them back as its own); what it reports is recorded through the order
path's store. Reconciliation's ledger side is here: the ledger's record of each real account is
brought to the balances the exchange reports (:meth:`~..storage.wallets.WalletStore.reconcile`),
and every difference is logged, shown in the account's status and published with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from ..config import Settings
from ..connectors.account import LiveAccount
from ..connectors.recovery import StoredOrders
from ..core.book import OrderBook, Walk
from ..core.errors import ExchangeNotLive, InvalidParameter, Overallocated
from ..core.ledger import AccountKind, Mode
from ..core.markets import Market
from ..core.money import ZERO, format_decimal
from ..core.orders import Order, OrderEvent
from ..core.pairs import Pair
from ..exchanges.private import AccountBalances
from ..marketdata.hub import MarketDataHub
from ..storage.orders import OrderStore
from ..storage.wallets import WalletStore
from ..storage.worker import DatabaseThread
from . import OrderView, Store, amended_event

log = logging.getLogger(__name__)

#: What a live order's ``reason`` says after an amend, by how the exchange did it.
AMEND_REASONS = {
    "amend": "amended in place on {exchange} (queue priority kept)",
    "amend_requeued": "amended in place on {exchange} (exchange order {order} kept; queue priority lost: a new price "
    "goes to the back of its queue)",
    "cancel_replace": "amended on {exchange} by cancel-replace (now exchange order {order}; queue priority lost)",
    "cancel_then_place": "amended on {exchange} by cancelling and placing a new order (now exchange order {order}; "
    "queue priority lost)",
}


class LiveVenue:
    """Live orders on their exchanges' accounts (``accounts`` by exchange: the exchanges in live mode
    that have a private adapter). A new order is measured against the followed book, if any.

    ``store`` records the accounts' order events (the order path's); every storage call runs on
    ``database``: ``orders`` gives each account its open live orders, which go to ``on_reloaded``
    (the order path's open orders) before the account follows them, and keeps the client ids they
    have on the exchange; ``wallets`` is the ledger reconciled to the accounts' balances.
    ``publish("status", ...)`` announces an account whose reconciliation found a difference.
    """

    mode = Mode.LIVE

    def __init__(
        self,
        settings: Settings,
        hub: MarketDataHub,
        accounts: dict[str, LiveAccount],
        *,
        store: Store,
        database: DatabaseThread,
        orders: OrderStore,
        wallets: WalletStore,
        on_reloaded: Callable[[list[Order]], None],
        publish: Callable[[str, Any], None],
        clock: Callable[[], float],
    ):
        self.settings, self.hub, self.accounts, self.clock = settings, hub, accounts, clock
        self.store, self.database, self.orders, self.wallets = store, database, orders, wallets
        self.on_reloaded, self.publish = on_reloaded, publish
        self._running: dict[str, asyncio.Task[None]] = {}  # the accounts run here, by exchange
        self._ran: set[str] = set()  # the exchanges whose account has run here (a new one runs next)
        for account in accounts.values():
            account.serve(self)

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Run every account in a task: open, recover its orders, reconcile, then trade."""
        for exchange in self.accounts:
            self.adopt(exchange)

    def adopt(self, exchange: str) -> None:
        """Run ``exchange``'s account here, as a start does (cluster mode: this node took its lease):
        opened, its open live orders read from the records and brought to what the exchange says
        (unconfirmed placements asked about by their client ids, fills made meanwhile applied
        once), the balances reconciled, then trading. An account that ran here before is replaced
        by a new one (:meth:`~..connectors.account.LiveAccount.successor`). Nothing for an exchange
        without a live account."""
        account = self.accounts.get(exchange)
        if account is None or exchange in self._running:
            return
        if exchange in self._ran:
            account = self.accounts[exchange] = account.successor()
        self._ran.add(exchange)
        self._running[exchange] = asyncio.create_task(account.run(self._stored_of(account)))

    async def drop(self, exchange: str) -> None:
        """Stop running ``exchange``'s account at once (cluster mode: its lease is lost or given up):
        its task and its calls and stream end here; its orders stay in the records for the next owner."""
        task = self._running.pop(exchange, None)
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await self.accounts[exchange].stop()

    def runs(self, exchange: str) -> bool:
        """Whether ``exchange``'s account runs here (always, once started, outside cluster mode)."""
        return exchange in self._running

    async def stop(self) -> None:
        for exchange in list(self._running):
            await self.drop(exchange)

    def _stored_of(self, account: LiveAccount) -> Callable[[], Awaitable[StoredOrders]]:
        async def stored() -> StoredOrders:
            """The account's open live orders, their fills and client ids, read once it is open;
            the order path takes the orders back first (their events are recorded through it)."""
            orders = await self.database.run(
                self.orders.find, exchange=account.name, open_only=True, mode=Mode.LIVE.value, limit=1_000_000
            )
            self.on_reloaded(orders)
            ids = [o.id for o in orders]
            fills = await self.database.run(self.orders.fills, ids)
            client_ids = await self.database.run(self.orders.exchange_client_ids, ids)
            return StoredOrders(orders, fills, client_ids)

        return stored

    # -- the accounts' records (AccountOwner) -----------------------------------------------------

    async def store_events(self, events: list[OrderEvent]) -> None:
        """Live orders' events (from their account): recorded, settled and published as paper ones."""
        await self.store(events)

    async def store_state(self, order: Order) -> None:
        """A live order's state changed without an event (its ``reason``): written, then published."""
        await self.store([], also=[order])

    async def store_client_id(self, order: Order, client_id: str) -> None:
        await self.database.run(self.orders.set_exchange_client_id, order.id, client_id)

    async def reconcile(self, exchange: str, balances: AccountBalances) -> list[dict[str, Any]]:
        """Bring the ledger's record of the real ``exchange`` account to ``balances``. Every
        difference (money that came or went outside xWrap, a fill never seen) is recorded through
        the outside account, logged, shown in the account's status, counted and published with it;
        an account holding less than its live wallet sets (:class:`Overallocated`) is reported the
        same way."""
        currencies = set(balances.totals)
        if balances.complete:
            currencies.update(await self.database.run(self.wallets.account_currencies, exchange))
        differences = []
        for currency in sorted(currencies):
            total = balances.totals.get(currency, ZERO)
            try:
                entry = await self.database.run(
                    self.wallets.reconcile, exchange, currency, total, fence=self.orders.fence
                )
            except Overallocated as error:
                log.error("%s reconciliation: %s", exchange, error)
                differences.append({"currency": currency, "total": format_decimal(total), "problem": str(error)})
                continue
            except InvalidParameter as error:  # a currency xWrap cannot name (not an upper-case code)
                log.debug("%s reconciliation skips %s: %s", exchange, currency, error)
                continue
            if entry is not None:
                change = sum((p.amount for p in entry.postings if p.account.kind is AccountKind.UNALLOCATED), ZERO)
                log.warning(
                    "%s reconciliation: the account holds %s %s: %s %s %s than the ledger expected "
                    "(recorded as money from outside xWrap)",
                    exchange,
                    format_decimal(total),
                    currency,
                    format_decimal(abs(change)),
                    currency,
                    "more" if change > 0 else "less",
                )
                differences.append(
                    {"currency": currency, "total": format_decimal(total), "difference": format_decimal(change)}
                )
        account = self.accounts.get(exchange)
        if differences and account is not None:
            account.report_differences(differences)
            self.publish("status", {"exchange": exchange, "account": account.status()})
        return differences

    # -- orders -----------------------------------------------------------------------------------

    def account(self, exchange: str) -> LiveAccount:
        """The exchange's account; ExchangeNotLive (a conflict with the settings: no retry helps) if none."""
        account = self.accounts.get(exchange)
        if account is None:
            raise ExchangeNotLive(exchange, self.settings.exchange(exchange).mode)
        return account

    def book(self, exchange: str, pair: Pair) -> OrderBook | None:
        return self.hub.book(exchange, pair) if self.hub.follows(exchange, pair) else None

    def admit(self, order: Order) -> None:
        self.account(order.exchange).check(order)

    def hold_fee(self, order: Order, market: Market | None) -> Decimal | None:
        return None if market is None else self.taker_fee(order.exchange, market)

    def taker_fee(self, exchange: str, market: Market) -> Decimal:
        """The taker fee on ``market``: the settings' (``exchanges.NAME.fees.taker``), else the market's."""
        fee = self.settings.exchange(exchange).fees.taker
        return market.taker_fee if fee is None else fee

    def walk(self, order: Order, size: Decimal) -> Walk | None:
        book = self.book(order.exchange, Pair.parse(order.pair))
        return book.asks.walk(size) if book is not None and book.live else None

    def client_id(self, order: Order) -> str | None:
        return self.account(order.exchange).client_id_for(order.wallet_set_id, order.client_order_id)

    async def place(self, order: Order, budget: Decimal | None) -> OrderView | None:
        await self.account(order.exchange).place(order)
        return None

    def admit_amend(self, order: Order) -> None:
        self.account(order.exchange)
        if not order.type.has_limit or order.exchange_order_id is None:
            raise InvalidParameter("order_id", "a resting limit order", order.id)

    def check_amend(self, order: Order, price: Decimal, size: Decimal) -> None:
        if size <= order.filled_size:
            raise InvalidParameter(
                "size", f"more than the filled size {format_decimal(order.filled_size)}", format_decimal(size)
            )

    async def amend(self, order: Order, price: Decimal, size: Decimal, need: Decimal) -> list[OrderEvent]:
        """In place where the exchange can, else on a new exchange order: the order's ``reason``
        says which (:data:`AMEND_REASONS`); the exchange's events are stored as they come."""
        method = await self.account(order.exchange).amend(order, price, size)
        order.reason = AMEND_REASONS[method].format(exchange=order.exchange, order=order.exchange_order_id)
        return [amended_event(order, price, size, self.clock())]

    async def cancel(self, order: Order) -> None:
        await self.account(order.exchange).cancel(order)

    async def cancel_all(self, pairs: set[tuple[str, str]]) -> None:
        """One exchange cancel-all per (exchange, pair) where the account has no open order there that
        xWrap did not place (the order path then cancels what remains one by one)."""
        for exchange, pair in sorted(pairs):
            account = self.account(exchange)
            if account.is_foreign_free():
                await account.cancel_all(Pair.parse(pair))
