"""Orders of wallet sets: precision rules, holds, persistence, events; the order path, written once.

Every order passes the same steps whatever its wallet set's mode: the market's precision rules,
a hold on the wallet set, a persisted ``pending`` record. Then its venue takes it, chosen once by
the mode (:mod:`exchange_wrapper.venues`): a paper order goes to the matching engine of its market,
a live order to its exchange account; what either does comes back here as order events, recorded,
settled and published the same way.
The engines run on the event loop; the database is used from one worker thread, in order, so that
an order's events are written in the order they happened and the loop never waits on a disk.
The live accounts are run, and reconciled with the ledger, by their venue (:mod:`..venues.live`).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from ..config import Settings
from ..connectors.account import LiveAccount
from ..core.book import Walk
from ..core.errors import (
    Conflict,
    ExchangeUnavailable,
    InvalidParameter,
    OrderNotFound,
    UnknownExchange,
    WalletSetClosed,
)
from ..core.holds import required_hold, rest_hold, walk_cost
from ..core.ledger import Mode
from ..core.markets import Market
from ..core.matching import taken_side
from ..core.orders import Order, OrderEvent, OrderStatus, OrderType, Side, TimeInForce
from ..core.pairs import Pair
from ..core.precision import CheckedOrder, check_order
from ..marketdata.hub import MarketDataHub
from ..marketdata.quotes import valuation
from ..storage.orders import OrderStore
from ..storage.wallets import Closed, WalletBalance, WalletStore
from ..storage.worker import DatabaseThread
from ..venues import OrderView, Venue
from ..venues.live import LiveVenue
from ..venues.paper import PaperVenue

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds a close waits for the exchange to confirm the cancels of the set's orders before giving up
#: (nothing closed: closing again picks up where it stopped).
CLOSE_CANCEL_SECONDS = 30.0


@dataclass(frozen=True)
class OrderRequest:
    """A new order as the API parsed it (types checked, amounts Decimal)."""

    wallet_set_id: int
    exchange: str
    pair: Pair
    side: Side
    type: OrderType
    size: Decimal | None = None
    funds: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_time: float | None = None
    post_only: bool = False
    client_order_id: str | None = None
    strict: bool = False
    tag: str | None = None


Listener = Callable[[str, Any], None]


class Trading:
    """Places, amends and cancels orders, and keeps their records and money right.

    ``publish(topic, payload)`` receives ``orders`` updates (the order's JSON), ``fills`` and
    ``wallets`` (the balances that changed) after they are stored, and ``status`` when a live
    account's reconciliation finds a difference (from the live venue). ``accounts`` are the live
    exchange accounts (:func:`~..connectors.account.open_accounts`), which the live venue runs from
    :meth:`start`. Orders go to ``paper_venue`` (the virtual exchange) or ``live_venue`` (the
    accounts) by their wallet set's mode.
    """

    def __init__(
        self,
        settings: Settings,
        hub: MarketDataHub,
        wallets: WalletStore,
        orders: OrderStore,
        database: DatabaseThread,
        *,
        publish: Listener | None = None,
        clock: Callable[[], float] = time.time,
        accounts: dict[str, LiveAccount] | None = None,
    ):
        self.settings = settings
        self.hub = hub
        self.database = database  # every storage call, in order
        self.wallets = wallets
        self.orders = orders
        self.publish = publish or (lambda topic, payload: None)
        self.clock = clock
        self.open: dict[str, Order] = {}  # every open order; a paper one shared with its engine
        self.live: set[str] = set()  # the ids of the open live orders
        self.accounts = accounts or {}
        self.paper_venue = PaperVenue(
            settings,
            hub,
            store=self._store,
            on_events=self._on_engine_events,
            held=lambda order: self.db(self.wallets.held, order.wallet_set_id, order.id),
            clock=clock,
        )
        self.live_venue = LiveVenue(
            settings,
            hub,
            self.accounts,
            store=self._store,
            database=database,
            orders=orders,
            wallets=wallets,
            on_reloaded=self._reloaded_live,
            publish=self.publish,
            clock=clock,
        )
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # an order's requests, one at a time
        self._amending: set[str] = set()  # orders holding for an amend: fills meanwhile keep the hold
        self._hold_fees: dict[str, Decimal] = {}  # the taker fee an open order's hold includes
        self._closing: set[int] = set()  # wallet sets being closed: they take no new order
        self._placing: Counter[int] = Counter()  # orders being placed, by wallet set (a close waits for them)
        self.fill_counts: Counter[str] = Counter()  # by liquidity, for the metrics
        self.transition_counts: Counter[str] = Counter()  # by the status reached
        #: orders the venue rejected, by (exchange, mode), and the last one's "order id: reason" per exchange:
        #: what the metrics and the order_rejected alerts read
        self.rejections: Counter[tuple[str, str]] = Counter()
        self.last_rejection: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- life cycle -------------------------------------------------------------------------------

    async def start(self, *, reload: bool = True) -> None:
        """Load the open paper orders (each rejoins its engine once its book is live), start the
        virtual exchange and the live accounts. Without ``reload`` (cluster mode) no exchange's
        orders are taken until :meth:`adopt` is called for it."""
        self._loop = asyncio.get_running_loop()
        reloaded = (
            await self.db(self.orders.find, open_only=True, mode=Mode.PAPER.value, limit=1_000_000) if reload else []
        )
        self.open.update((order.id, order) for order in reloaded)
        self.paper_venue.start(reloaded)
        self.live_venue.start()

    async def adopt(self, exchange: str) -> None:
        """Take over ``exchange``'s open paper orders from the database, as a restart does (cluster
        mode: this node now holds its lease): each rejoins its engine once its book is live, its
        hold what the ledger says."""
        reloaded = await self.db(
            self.orders.find, open_only=True, mode=Mode.PAPER.value, exchange=exchange, limit=1_000_000
        )
        self.open.update((order.id, order) for order in reloaded)
        self.paper_venue.reload(reloaded)

    def release(self, exchange: str) -> None:
        """Stop acting for ``exchange`` at once (cluster mode: its lease is lost or given up): its
        engines and open orders are dropped here; the database keeps them for the next owner."""
        self.paper_venue.drop(exchange)
        for order in [o for o in self.open.values() if o.exchange == exchange]:
            del self.open[order.id]
            self.live.discard(order.id)
            self._hold_fees.pop(order.id, None)

    async def stop(self) -> None:
        await self.live_venue.stop()
        await self.paper_venue.stop()
        await self.database.run(lambda: None)  # the writes queued so far are done

    async def db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a storage call on the database thread, after every write queued before it."""
        return await self.database.run(function, *args, **kwargs)

    # -- requests ---------------------------------------------------------------------------------

    async def make_order(self, request: OrderRequest) -> OrderView:
        """Place an order; a repeated client order id returns the order it made first. The answer is
        the order as its first records made it, with their fills (committed before it returns)."""
        wallet_set = self.wallets.known_wallet_set(request.wallet_set_id)
        if wallet_set is None:
            wallet_set = await self.db(self.wallets.wallet_set, request.wallet_set_id)
        if wallet_set.closed_at is not None:  # as last known: a set closed elsewhere is refused by its hold
            raise WalletSetClosed(wallet_set.id, wallet_set.closed_at)
        if wallet_set.id in self._closing:
            raise Conflict(f"wallet_set_id: wallet set {wallet_set.id} is being closed")
        self._placing[wallet_set.id] += 1
        try:
            return await self._make_order(request, wallet_set.id, wallet_set.mode)
        finally:
            self._placing[wallet_set.id] -= 1
            if not self._placing[wallet_set.id]:
                del self._placing[wallet_set.id]

    async def _make_order(self, request: OrderRequest, wallet_set_id: int, mode: Mode) -> OrderView:
        """:meth:`make_order` once the wallet set is known (and not being closed)."""
        if request.client_order_id is not None:
            existing = await self.db(self.orders.by_client_order_id, wallet_set_id, request.client_order_id)
            if existing is not None:
                return existing
        market = self.market(request.exchange, request.pair)
        venue = self._venue(mode)
        book = venue.book(request.exchange, request.pair)
        best = book.ladder(taken_side(request.side)).best if book is not None and book.live else None
        checked = check_order(
            market,
            side=request.side.value,
            type=request.type.value,
            size=request.size,
            price=request.price,
            stop_price=request.stop_price,
            funds=request.funds,
            post_only=request.post_only,
            reference_price=best[0] if best else None,
            strict=request.strict,
        )
        order = self._new_order(request, wallet_set_id, checked)
        venue.admit(order)
        size = _market_buy_size(order)
        fee = venue.hold_fee(order, market)
        assert fee is not None  # admitted: the venue knows the market
        hold = required_hold(
            order,
            market,
            taker_fee=fee,
            margin=self.settings.paper.market_buy_margin,
            walk_cost=self._market_buy_cost(order, None if size is None else venue.walk(order, size)),
        )
        existing = await self._create(order, hold, venue.mode, fee, venue.client_id(order))
        if existing is not None:
            return existing
        if venue is self.live_venue:
            self.live.add(order.id)
        answer = await venue.place(order, hold[1] if order.side is Side.BUY else None)
        if answer is None:  # the venue's events are stored: read the order as they left it
            answer = await self.db(self.orders.view, order.id)
        return answer

    def _new_order(self, request: OrderRequest, wallet_set_id: int, checked: CheckedOrder) -> Order:
        now = self.clock()
        return Order(
            id="",
            client_order_id=request.client_order_id or uuid.uuid4().hex,
            wallet_set_id=wallet_set_id,
            exchange=request.exchange,
            pair=str(request.pair),
            side=request.side,
            type=request.type,
            size=checked.size,
            price=checked.price,
            stop_price=checked.stop_price,
            funds=checked.funds,
            time_in_force=request.time_in_force,
            expire_time=request.expire_time,
            post_only=request.post_only,
            created_at=now,
            updated_at=now,
            tag=request.tag,
        )

    async def _create(
        self,
        order: Order,
        hold: tuple[str, Decimal],
        mode: Mode,
        hold_fee: Decimal,
        exchange_client_id: str | None = None,
    ) -> OrderView | None:
        """Store a new order with its hold (which includes the taker fee ``hold_fee``) and publish
        it; None, or the order stored first where the same client order id raced in (the caller
        then returns that one)."""
        try:
            await self.db(self.orders.create, order, hold, mode.value, exchange_client_id)
        except Conflict:  # the same client order id raced in: the first one wins
            existing = await self.db(self.orders.by_client_order_id, order.wallet_set_id, order.client_order_id)
            if existing is None:
                raise
            return existing
        self.open[order.id] = order
        self._hold_fees[order.id] = hold_fee
        self.publish("orders", order.to_json())
        return None

    async def cancel_order(self, order_id: str) -> Order:
        """Cancel an open order (a cancel of a finished order returns it as it is)."""
        async with self._exclusive(order_id):
            order = self.open.get(order_id)
            if order is None:
                stored = await self.db(self.orders.get, order_id)
                if stored.status.is_final:
                    return stored
                raise OrderNotFound(order_id)
            if not order.is_open:  # finished a moment ago; its records are on their way to the database
                return order
            await self._venue_of(order).cancel(order)
            return order

    async def amend_order(
        self, order_id: str, *, price: Decimal | None = None, size: Decimal | None = None, strict: bool = False
    ) -> Order:
        """Change a resting order's price and/or total size. The hold follows: what more the order
        needs is held first (or the amend is refused and nothing changes); the amended order, an
        ``amended`` event in its history and the release of what it no longer needs are then
        written in one transaction, before the answer. Requests for one order run one at a time."""
        if price is None and size is None:
            raise InvalidParameter("price", "a new price or size", missing=True)
        async with self._exclusive(order_id):
            order = self.open.get(order_id)
            if order is None or not order.is_open:
                raise OrderNotFound(order_id)
            venue = self._venue_of(order)
            venue.admit_amend(order)
            new_price, new_size = self._amended_terms(order, price, size, strict)
            venue.check_amend(order, new_price, new_size)
            async with self._holding_for_amend(order, new_price, new_size) as need:
                events = await venue.amend(order, new_price, new_size, need)
            return (await self._store(events)).get(order.id, order)

    @staticmethod
    def _market_buy_cost(order: Order, walk: Walk | None) -> Decimal | None:
        """What a market buy by size holds for (:func:`~..core.holds.walk_cost` of the book walked
        for it, paper and live alike); None for any other order. Refused where there is no book to walk."""
        size = _market_buy_size(order)
        if size is None:
            return None
        cost = None if walk is None else walk_cost(walk, size)
        if cost is None:
            raise ExchangeUnavailable(
                order.exchange,
                f"a market buy by size holds what walking the {order.pair} "
                f"book costs: follow it (exchanges.{order.exchange}.pairs) or give funds",
            )
        return cost

    def _amended_terms(
        self, order: Order, price: Decimal | None, size: Decimal | None, strict: bool
    ) -> tuple[Decimal, Decimal]:
        """The (price, size) ``order`` amended to these (None: as it is) would have, by the market's
        precision rules, paper and live alike."""
        checked = check_order(
            self.market(order.exchange, Pair.parse(order.pair)),
            side=order.side.value,
            type=order.type.value,
            size=order.size if size is None else size,
            price=order.price if price is None else price,
            post_only=order.post_only,
            strict=strict,
        )
        assert checked.price is not None and checked.size is not None
        return checked.price, checked.size

    @asynccontextmanager
    async def _exclusive(self, order_id: str) -> AsyncIterator[None]:
        """Requests for one order (amend, cancel) one at a time: each sees what the one before did."""
        lock, users = self._locks.setdefault(order_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[order_id]

    @asynccontextmanager
    async def _holding_for_amend(self, order: Order, price: Decimal, size: Decimal) -> AsyncIterator[Decimal]:
        """Hold what ``order`` amended to ``size`` at ``price`` needs (InsufficientFunds, and nothing
        changed, if the set cannot), then run the amend; yields what the order needs in all. While
        it runs, fills keep the hold (their records release nothing), so that it cannot fall below
        what the amended order needs. If the amend fails the order goes back to holding what its
        rest needs."""
        self._amending.add(order.id)
        try:
            fee = self._hold_fee(order)
            assert fee is not None  # an order that can be amended is one its venue knows
            need = await self._hold_more(order, price, size, fee)
            if not order.is_open:  # finished while the hold was placed: its record released the hold
                raise OrderNotFound(order.id)
            yield need
        except BaseException:
            self._amending.discard(order.id)
            if order.is_open:
                await self._store([], also=[order])
            raise
        self._amending.discard(order.id)

    async def _hold_more(self, order: Order, price: Decimal, size: Decimal, taker_fee: Decimal) -> Decimal:
        """Hold what an amend to ``size`` at ``price`` needs beyond what the order holds (refused
        with InsufficientFunds before anything changes); returns what it needs in all."""
        currency, need = rest_hold(order, price, size, taker_fee)
        # One job, queued while the order is open: a record finishing it comes after and releases it all.
        await self.db(self.orders.hold_at_least, order, currency, need)
        return need

    async def cancel_all_orders(
        self, *, wallet_set_id: int | None = None, exchange: str | None = None, pair: Pair | None = None
    ) -> list[Order]:
        """Cancel every open order matching the filters; returns those cancelled. Live orders of
        every wallet set on a pair go in one exchange cancel-all, where the account has no open
        order there that xWrap did not place; otherwise one by one."""
        chosen = [
            o
            for o in list(self.open.values())
            if (wallet_set_id is None or o.wallet_set_id == wallet_set_id)
            and (exchange is None or o.exchange == exchange)
            and (pair is None or o.pair == str(pair))
        ]
        chosen = [o for o in chosen if o.is_open]
        if wallet_set_id is None:
            await self.live_venue.cancel_all({(o.exchange, o.pair) for o in chosen if o.id in self.live})
        for order in chosen:
            if order.is_open:
                await self.cancel_order(order.id)
        return chosen

    async def close_wallet_set(self, wallet_set_id: int) -> Closed:
        """Close a wallet set: no new order is taken for it from now, the orders being placed land,
        every open order is cancelled (a live one once the exchange confirms it: at most
        :data:`CLOSE_CANCEL_SECONDS`, else ExchangeUnavailable and the set stays open), then its
        balances are returned and it is marked closed in one transaction
        (:meth:`..storage.wallets.WalletStore.close_wallet_set`); the wallets events follow."""
        info = await self.db(self.wallets.wallet_set, wallet_set_id)
        if info.closed_at is not None:
            raise WalletSetClosed(info.id, info.closed_at)
        if info.id in self._closing:
            raise Conflict(f"wallet_set_id: wallet set {info.id} is being closed")
        self._closing.add(info.id)
        try:
            deadline = time.monotonic() + CLOSE_CANCEL_SECONDS
            while self._placing[info.id] or self._open_of(info.id):
                for order in self._open_of(info.id):
                    await self.cancel_order(order.id)
                if time.monotonic() > deadline:
                    pending = ", ".join(o.id for o in self._open_of(info.id)) or "orders being placed"
                    raise ExchangeUnavailable(
                        info.mode.value, f"closing wallet set {info.id}: {pending} not cancelled yet (close again)"
                    )
                await asyncio.sleep(0.01 if self._placing[info.id] or self._open_of(info.id) else 0)
            closed = await self.db(self.wallets.close_wallet_set, info.id)
        finally:
            self._closing.discard(info.id)
        exchanges = {p.account.exchange for e in closed.entries for p in e.postings}
        await self.publish_wallets({(info.id, exchange) for exchange in exchanges}, change="close")
        return closed

    def _open_of(self, wallet_set_id: int) -> list[Order]:
        return [o for o in list(self.open.values()) if o.wallet_set_id == wallet_set_id and o.is_open]

    # -- venues -----------------------------------------------------------------------------------

    def _venue(self, mode: Mode) -> Venue:
        """Where a wallet set of ``mode`` sends its orders."""
        return self.live_venue if mode is Mode.LIVE else self.paper_venue

    def _venue_of(self, order: Order) -> Venue:
        return self.live_venue if order.id in self.live else self.paper_venue

    def account_status(self, exchange: str) -> dict[str, Any] | None:
        """The live account's state for the exchange status (None in paper mode)."""
        account = self.accounts.get(exchange)
        return None if account is None else account.status()

    def _reloaded_live(self, orders: list[Order]) -> None:
        """An account's open live orders, read back from the database once it is open: the order
        path's again (their events, from the account's recovery on, are recorded here)."""
        for order in orders:
            self.open[order.id] = order
            self.live.add(order.id)

    # -- markets and engines ----------------------------------------------------------------------

    def market(self, exchange: str, pair: Pair) -> Market:
        """The market of ``pair``: ExchangeUnavailable while the exchange's markets are not loaded
        (retry later), UnknownPair once they are and do not list it."""
        if not self.settings.exchange(exchange).enabled:
            raise UnknownExchange(exchange)
        return self.hub.market(exchange, pair)

    # -- events -----------------------------------------------------------------------------------

    def _on_engine_events(self, exchange: str, pair: Pair, events: list[OrderEvent]) -> None:
        """Called by the hub, on the loop, when market data moved orders: their states are taken
        and their write queued now, so that writes follow the engine's order."""
        if events and self._loop is not None:
            self._loop.create_task(self._announce(*self._write(events)))

    async def _store(self, events: list[OrderEvent], also: Iterable[Order] = ()) -> dict[str, Order]:
        """Record ``events`` (and the state of the orders in ``also``), then announce them; returns
        the orders' states as written, by id: what an answer may show."""
        return await self._announce(*self._write(events, also))

    def _write(
        self, events: list[OrderEvent], also: Iterable[Order] = ()
    ) -> tuple[list[OrderEvent], dict[str, Order], asyncio.Future[dict[int, list[WalletBalance]]]]:
        """Take the involved orders' states now (copies: the live orders move on) and queue their
        write on the database thread, behind every write queued before: the database sees the
        orders' changes in the order they happened."""
        states: dict[str, Order] = {}
        for order in [*(self.open[e.order_id] for e in events if e.order_id in self.open), *also]:
            if order.id not in states:
                states[order.id] = copy.copy(order)
        # where a fill or an amend may have left the hold above what the rest needs
        moved = {e.order_id for e in events if e.fill is not None or e.previous is e.status} | {o.id for o in also}
        holds = {
            order_id: need
            for order_id in moved - self._amending
            if order_id in states
            and states[order_id].is_open
            and (need := self._rest_hold(states[order_id])) is not None
        }
        assert self._loop is not None
        if not states:  # nothing to write: a request the engine answers later (latency)
            nothing: asyncio.Future[dict[int, list[WalletBalance]]] = self._loop.create_future()
            nothing.set_result({})
            return events, states, nothing
        written = self.database.submit(self.orders.record, events, states, holds)
        return events, states, written

    async def _announce(
        self,
        events: list[OrderEvent],
        states: dict[str, Order],
        written: asyncio.Future[dict[int, list[WalletBalance]]],
    ) -> dict[str, Order]:
        """Once the write is committed, and only then, publish what it holds: nothing a client is
        told can be taken back by a crash."""
        if not states:
            return states
        try:
            balances = await written
        except Exception:
            log.exception("orders %s: their changes could not be stored", ", ".join(states))
            raise
        for event in events:
            order = states[event.order_id]
            if event.fill is None or event.previous is not event.status:
                self.transition_counts[event.status.value] += 1
                if event.status is OrderStatus.REJECTED:
                    mode = Mode.LIVE if order.id in self.live else Mode.PAPER
                    self.rejections[(order.exchange, mode.value)] += 1
                    self.last_rejection[order.exchange] = f"{order.id} ({order.pair}): {event.reason}"
            if event.fill is not None:
                self.fill_counts[event.fill.liquidity.value] += 1
                self.publish(
                    "fills",
                    {
                        **event.fill.to_json(),
                        "wallet_set_id": order.wallet_set_id,
                        "exchange": order.exchange,
                        "pair": order.pair,
                        "side": order.side.value,
                        "tag": order.tag,
                    },
                )
        for order in states.values():
            self.publish("orders", order.to_json())
            if not order.is_open:
                self.open.pop(order.id, None)
                self.live.discard(order.id)
                self._hold_fees.pop(order.id, None)
        await self.publish_wallets({(o.wallet_set_id, o.exchange) for o in states.values()}, balances, change="trade")
        return states

    def _hold_fee(self, order: Order) -> Decimal | None:
        """The taker fee ``order``'s hold includes: as placed, or (reloaded after a restart) its
        venue's now; None while the venue cannot say (the order's hold is then left as it is)."""
        fee = self._hold_fees.get(order.id)
        if fee is None:
            market = (
                self.hub.markets(order.exchange).get(Pair.parse(order.pair))
                if self.hub.markets_loaded(order.exchange)
                else None
            )
            fee = self._venue_of(order).hold_fee(order, market)
            if fee is not None:
                self._hold_fees[order.id] = fee
        return fee

    def _rest_hold(self, order: Order) -> Decimal | None:
        """What an open order must hold for its rest, where that follows from its terms: a sell's
        rest, a limit buy's rest at its price with the taker fee its hold was made with."""
        fee = self._hold_fee(order)
        if fee is None or order.size is None or not (order.side is Side.SELL or order.type.has_limit):
            return None
        return rest_hold(order, order.price, order.size, fee)[1]

    async def publish_wallets(
        self, changed: set[tuple[int, str]], known: dict[int, list[WalletBalance]] | None = None, *, change: str
    ) -> None:
        """Publish the balances of the (wallet set, exchange) pairs whose money moved, valued in USD
        (:meth:`usd_prices`); ``known``: balances by wallet set that the caller read already (the rest
        are read); ``change``: what moved them (trade, create, fund, withdraw, transfer, close)."""
        prices = self.usd_prices()
        for wallet_set_id, exchange in sorted(changed):
            balances = (
                known[wallet_set_id]
                if known and wallet_set_id in known
                else await self.db(self.wallets.balances, wallet_set_id)
            )
            self.publish(
                "wallets",
                {
                    "wallet_set_id": wallet_set_id,
                    "exchange": exchange,
                    "change": change,
                    "wallets": [b.valued(prices).as_json() for b in balances if b.exchange == exchange],
                },
            )

    def usd_prices(self) -> Callable[[str, str], Decimal | None]:
        """What one unit of a currency is worth in USD now (a wallet's ``usd_value``), by the one
        valuation of the hub's quotes (:func:`~..marketdata.quotes.valuation`: any chain of followed
        books of any exchange; the exchange the wallet is on does not matter)."""
        rates = valuation(self.hub)
        return lambda _exchange, currency: rates.value_or_none(Decimal(1), currency, "USD")


def _market_buy_size(order: Order) -> Decimal | None:
    """The size of a market buy given by size (it holds what walking the book costs), else None."""
    return order.size if order.side is Side.BUY and order.type is OrderType.MARKET else None
