"""ExchangeWrapper: every operation of the service, free of any transport.

Each operation of the contract (:data:`exchange_wrapper.contract.OPERATIONS`) is one method of the same
name, marked :func:`operation`, whose keyword-only parameters are the contract's parameters with their
parsed types (a :class:`Pair`, a ``Decimal``, an enum...) and defaults, and whose result is the
contract's result type: JSON-ready data with amounts as decimal strings. tests/service/test_operations.py
keeps the signatures and the contract the same.

The doors (JSON-RPC, REST, Socket.IO) add nothing of their own: each hands the name and the raw values
it received to :meth:`ExchangeWrapper.call`, which reads them with :func:`.params.arguments` (the
contract's kinds and bounds; an unknown or malformed parameter is an InvalidParameter naming it) and
calls the method. Python callers call the methods themselves. A method checks what needs the service's
state: an exchange enabled, an order found, the combination of an order's fields.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import fields
from decimal import Decimal
from typing import Any, TypeVar, cast

from .. import __version__, contract
from ..alerts.runner import AlertRunner
from ..cluster.node import ClusterNode
from ..config import Settings
from ..contract import OPERATIONS
from ..core.errors import (
    Conflict,
    ExchangeNotLive,
    ExchangeUnavailable,
    InvalidParameter,
    MethodNotFound,
    OrderNotFound,
    UnknownExchange,
)
from ..core.ledger import Mode, TransactionKind
from ..core.marketdata import FeedStatus, Trade
from ..core.markets import Market
from ..core.money import format_decimal
from ..core.orders import Fill, Order, OrderType, Side, TimeInForce
from ..core.pairs import Pair
from ..core.pnl import Execution, Report, accounts, valued
from ..core.statement import StatementLine
from ..core.valuation import Valuation
from ..exchanges import EXCHANGE_NAMES
from ..history.reader import History
from ..marketdata.hub import MarketDataHub
from ..marketdata.quotes import valuation
from ..replay.playback import Playback
from ..storage.database import describe_url, is_postgres, schema_version
from ..storage.statements import Statements
from ..storage.wallets import Allocation, WalletBalance, WalletSetInfo
from ..trading.order_path import OrderRequest, Trading
from .params import arguments

Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])
#: operation name -> its method (unbound): filled by :func:`operation` as the class is defined.
METHODS: dict[str, Callable[..., Awaitable[Any]]] = {}


def operation(method: Method) -> Method:
    """Marks ``method`` as the operation of its name in the contract, which :meth:`ExchangeWrapper.call`
    dispatches to."""
    if method.__name__ not in OPERATIONS:
        raise TypeError(f"{method.__name__} is not an operation of the contract")
    METHODS[method.__name__] = method
    return method


def _amount(value: Decimal) -> contract.Amount:
    return contract.Amount(format_decimal(value))


def _maybe_amount(value: Decimal | None) -> contract.Amount | None:
    return None if value is None else _amount(value)


def _level(price: Decimal, size: Decimal) -> tuple[contract.Amount, contract.Amount]:
    return _amount(price), _amount(size)


class ExchangeWrapper:
    """The operations. ``clock`` returns Unix seconds (injected so tests control time)."""

    def __init__(
        self,
        settings: Settings,
        database: Any,
        hub: MarketDataHub,
        trading: Trading,
        *,
        history: History | None = None,
        playback: Playback | None = None,
        alerts: AlertRunner | None = None,
        clock: Callable[[], float] = time.time,
        cluster: ClusterNode | None = None,
    ):
        self.settings = settings
        self.cluster = cluster  # several nodes: an exchange's orders go to the node that runs it
        self.database = database
        self.hub = hub
        self.trading = trading
        self.wallets = trading.wallets
        self.orders = trading.orders
        self.statements = Statements(database, trading.wallets)
        self.history = history  # None: nothing collected (timeseries.backend none), reads refused
        self.playback = playback  # on a replay: where it is, and how a stepped one moves on
        self.alerts = alerts  # None: no alert rules run (a bare API in tests)
        self.clock = clock
        self.started_at = clock()

    async def call(self, name: str, values: Mapping[str, Any] | None = None) -> Any:
        """The result of operation ``name`` called with the raw ``values`` a door received (named
        parameters as JSON, a query string or a path gives them): every door's one way in. A name that is
        not an operation is MethodNotFound."""
        method = METHODS.get(name)
        if method is None:
            raise MethodNotFound(name)
        return await method(self, **arguments(OPERATIONS[name], values))

    # -- the service ------------------------------------------------------------------------------

    @operation
    async def echo(self, /, **values: Any) -> dict[str, Any]:
        """Return the parameters as given: a round-trip check for clients. (What no JSON answer can
        carry never gets here: every door refuses it as it decodes, :mod:`.decoding`.)"""
        return values

    @operation
    async def get_status(self) -> contract.Status:
        """Version, uptime, the exchanges with their states, the database, and where a replay is."""
        status: contract.Status = {
            "version": __version__,
            "uptime": round(self.clock() - self.started_at, 3),
            "exchanges": await self.get_exchanges(),
            "database": {
                "kind": "postgresql" if is_postgres(self.database) else "sqlite",
                "url": describe_url(self.settings.database_url),
                "schema_version": await self.trading.db(schema_version, self.database),
            },
        }
        if self.playback is not None:
            status["replay"] = self.playback.status()
        if self.cluster is not None:
            status["cluster"] = cast(contract.ClusterState, self.cluster.status())
        return status

    @operation
    async def get_exchanges(self) -> dict[str, contract.ExchangeState]:
        """Per exchange: trading mode, market-data status with its reason, the pairs followed."""
        return {name: self._exchange_status(name) for name in self._enabled()}

    def _enabled(self) -> list[str]:
        return [name for name in EXCHANGE_NAMES if self.settings.exchange(name).enabled]

    def _exchange_status(self, name: str) -> contract.ExchangeState:
        exchange = self.settings.exchange(name)
        if self.hub.started(name):
            status, reason = self.hub.status(name, self.clock())
            pairs = [str(p) for p in self.hub.followed(name)]
        else:
            status, reason, pairs = FeedStatus.DOWN, "not started", sorted(exchange.pairs)
        out = cast(
            contract.ExchangeState, {"mode": exchange.mode, "status": status.value, "reason": reason, "pairs": pairs}
        )
        account = self.trading.account_status(name)
        if account is not None:
            out["account"] = account
            if out["status"] == "ready" and account["state"] != "ready":  # e.g. its private stream down: polled
                out["status"], out["reason"] = "degraded", f"account {account['state']}: {account['reason']}"
        return out

    # -- market data ------------------------------------------------------------------------------

    @operation
    async def get_markets(self, *, exchange: str | None = None, pair: Pair | None = None) -> list[contract.Market]:
        """The precision rules of the markets of an exchange (or of every exchange whose markets
        are loaded), optionally one pair. A named exchange whose markets are not loaded yet is
        ExchangeUnavailable; a pair it does not list, UnknownPair."""
        out = []
        for name in (
            [self._exchange(exchange)]
            if exchange is not None
            else [name for name in self._enabled() if self.hub.markets_loaded(name)]
        ):
            if pair is None:
                markets = sorted(self.hub.markets(name).values(), key=lambda m: str(m.pair))
            elif exchange is not None:
                markets = [self.hub.market(name, pair)]
            else:
                markets = [m for m in (self.hub.markets(name).get(pair),) if m is not None]
            out += [_market_json(m) for m in markets]
        return out

    @operation
    async def get_pricing(self, *, exchange: str | None = None) -> list[contract.Pricing]:
        """Mid, bid, ask and last trade for every followed pair (of one exchange if given: while its
        markets are not loaded, ExchangeUnavailable rather than an empty list)."""
        if exchange is not None:
            self.hub.markets(self._exchange(exchange))
        out: list[contract.Pricing] = []
        for name in [exchange] if exchange is not None else self._enabled():
            for pair in self.hub.followed(name):
                book = self.hub.book(name, pair)
                bid, ask = book.bids.best, book.asks.best
                recent = self.hub.recent_trades(name, pair)
                trade = recent[-1] if recent else None
                out.append(
                    {
                        "exchange": name,
                        "pair": str(pair),
                        "bid": _amount(bid[0]) if bid else None,
                        "ask": _amount(ask[0]) if ask else None,
                        "mid": _amount((bid[0] + ask[0]) / 2) if bid and ask else None,
                        "last": _amount(trade.price) if trade else None,
                        "state": book.state.value,
                    }
                )
        return out

    @operation
    async def get_book(self, *, exchange: str, pair: Pair, depth: int = 10) -> contract.Book:
        """The top ``depth`` levels of a book, best first, with its state and age in seconds."""
        book = self._book(self._exchange(exchange), pair)
        age = None if book.updated_at is None else round(max(0.0, self.clock() - book.updated_at), 3)
        return {
            "exchange": exchange,
            "pair": str(pair),
            "state": book.state.value,
            "age": age,
            "bids": [_level(px, sz) for px, sz in book.bids.top(depth)],
            "asks": [_level(px, sz) for px, sz in book.asks.top(depth)],
        }

    @operation
    async def get_trades(
        self, *, exchange: str, pair: Pair, limit: int = 100, start: float | None = None, end: float | None = None
    ) -> list[contract.Trade]:
        """Without ``start``: the latest public trades of a followed pair, newest first, from memory.
        With it: the stored trades from ``start`` to ``end`` (default now), oldest first, at most
        ``limit``; trades of one time are never split between answers, so the next page starts just
        after the last trade's time."""
        name = self._exchange(exchange)
        if start is None:
            if end is not None:
                raise InvalidParameter("start", "a time with end (the stored trades of a range)", missing=True)
            self._book(name, pair)
            trades: list[Trade] = list(self.hub.recent_trades(name, pair))[-limit:][::-1]
        else:
            self._stored_pair(name, pair)
            trades = (await self._history().trades(name, pair, start, self._end(end), limit)).items
        return [
            {
                "trade_id": t.trade_id,
                "price": _amount(t.price),
                "size": _amount(t.size),
                "taker_side": t.taker_side.value,
                "time": t.time,
            }
            for t in trades
        ]

    @operation
    async def get_ohlc(
        self,
        *,
        exchange: str,
        pair: Pair,
        interval: str = "1m",
        start: float | None = None,
        end: float | None = None,
        limit: int = 100,
    ) -> contract.CandlePage:
        """Candles of ``interval`` opening in [start, end) from the stored 1-minute candles (longer
        ones aggregated), oldest first; without ``start``, the last ``limit`` intervals before ``end``
        (default now). Any pair with stored history, followed now or not."""
        name = self._exchange(exchange)
        self._stored_pair(name, pair)
        seconds, until = contract.CANDLE_INTERVALS[interval], self._end(end)
        since = until - seconds * limit if start is None else start
        page = await self._history().candles(name, pair, seconds, since, until, limit)
        return {
            "exchange": name,
            "pair": str(pair),
            "interval": interval,
            "candles": [
                {
                    "start": c.start,
                    "interval": c.interval,
                    "open": _amount(c.open),
                    "high": _amount(c.high),
                    "low": _amount(c.low),
                    "close": _amount(c.close),
                    "volume": _amount(c.volume),
                }
                for c in page.items
            ],
            "next": page.next,
        }

    @operation
    async def get_book_tops(
        self, *, exchange: str, pair: Pair, start: float, end: float | None = None, limit: int = 100
    ) -> contract.BookTopPage:
        """The best bid and ask with their sizes, as sampled every ``timeseries.book_top_seconds``
        into the stored history, from ``start`` to ``end`` (default now), oldest first."""
        name = self._exchange(exchange)
        self._stored_pair(name, pair)
        page = await self._history().tops(name, pair, start, self._end(end), limit)
        return {
            "exchange": name,
            "pair": str(pair),
            "tops": [
                {
                    "time": top.time,
                    "bid": _maybe_amount(top.bid),
                    "bid_size": _maybe_amount(top.bid_size),
                    "ask": _maybe_amount(top.ask),
                    "ask_size": _maybe_amount(top.ask_size),
                }
                for top in page.items
            ],
            "next": page.next,
        }

    def _stored_pair(self, exchange: str, pair: Pair) -> None:
        """History is read for any pair, followed or not; once the exchange's markets are loaded, a
        pair they do not list is UnknownPair (before, nobody can tell, and the store answers)."""
        if self.hub.markets_loaded(exchange):
            self.hub.market(exchange, pair)

    def _history(self) -> History:
        if self.history is None:
            raise ExchangeUnavailable("history", "market history is not open")
        return self.history

    def _end(self, end: float | None) -> float:
        return self.clock() if end is None else end

    # -- replay -----------------------------------------------------------------------------------

    @operation
    async def advance_replay(self, *, until: float) -> contract.ReplayState:
        """Let a stepped replay play every record up to ``until`` (recorded Unix seconds) and answer
        once it holds there (or the recording ended), with where it is: a script sends its orders at
        the recorded moments it chooses, and the same script on the same recording gets the same fills."""
        if self.playback is None or self.playback.steps is None:
            raise Conflict("advance_replay needs a stepped replay (xwrap serve --replay ... --speed step)")
        await self.playback.steps.advance(until)
        return self.playback.status()

    # -- orders -----------------------------------------------------------------------------------

    @operation
    async def make_order(
        self,
        *,
        wallet_set_id: int,
        exchange: str,
        pair: Pair,
        side: Side,
        type: OrderType = OrderType.LIMIT,
        size: Decimal | None = None,
        funds: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_time: float | None = None,
        post_only: bool = False,
        client_order_id: str | None = None,
        strict: bool = False,
        tag: str | None = None,
    ) -> contract.Order:
        """Place an order: its fields must make one kind of order (:func:`_check_order_shape`); ``tag``
        names the strategy run it belongs to (its fills carry it too)."""
        request = OrderRequest(
            wallet_set_id=wallet_set_id,
            exchange=self._exchange(exchange),
            pair=pair,
            side=side,
            type=type,
            size=size,
            funds=funds,
            price=price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            expire_time=expire_time,
            post_only=post_only,
            client_order_id=client_order_id,
            strict=strict,
            tag=tag,
        )
        _check_order_shape(request)
        owner = self._owner(request.exchange)
        if owner is not None:
            values = {field.name: getattr(request, field.name) for field in fields(request)}
            return cast(contract.Order, await self._forward(owner, request.exchange, "make_order", values))
        return _order_json(*await self.trading.make_order(request))

    @operation
    async def amend_order(
        self,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
        wallet_set_id: int | None = None,
        price: Decimal | None = None,
        size: Decimal | None = None,
        strict: bool = False,
    ) -> contract.Order:
        """Change an open order's price or size; the order named as :meth:`_order_id` says."""
        order_id = await self._order_id(order_id, client_order_id, wallet_set_id)
        exchange, owner = await self._owner_of_order(order_id)
        if owner is not None:
            values = {"order_id": order_id, "price": price, "size": size, "strict": strict}
            return cast(contract.Order, await self._forward(owner, exchange, "amend_order", values))
        return await self._order_json(await self.trading.amend_order(order_id, price=price, size=size, strict=strict))

    @operation
    async def cancel_order(
        self, *, order_id: str | None = None, client_order_id: str | None = None, wallet_set_id: int | None = None
    ) -> contract.Order:
        """Cancel an order, named as :meth:`_order_id` says."""
        order_id = await self._order_id(order_id, client_order_id, wallet_set_id)
        exchange, owner = await self._owner_of_order(order_id)
        if owner is not None:
            return cast(contract.Order, await self._forward(owner, exchange, "cancel_order", {"order_id": order_id}))
        return await self._order_json(await self.trading.cancel_order(order_id))

    @operation
    async def cancel_all_orders(
        self, *, wallet_set_id: int | None = None, exchange: str | None = None, pair: Pair | None = None
    ) -> contract.Cancelled:
        """Cancel every open order matching the filters; returns the orders cancelled."""
        if exchange is not None:
            self._exchange(exchange)
        if self.cluster is not None:  # each exchange's, where it runs
            cancelled: list[contract.Order] = []
            for name in [exchange] if exchange is not None else self._enabled():
                values = {"wallet_set_id": wallet_set_id, "exchange": name, "pair": pair}
                owner = self._owner(name)
                if owner is not None:
                    answer = await self._forward(owner, name, "cancel_all_orders", values)
                    cancelled += cast(contract.Cancelled, answer)["cancelled"]
                else:
                    orders = await self.trading.cancel_all_orders(wallet_set_id=wallet_set_id, exchange=name, pair=pair)
                    cancelled += [await self._order_json(order) for order in orders]
            return {"cancelled": cancelled}
        orders = await self.trading.cancel_all_orders(wallet_set_id=wallet_set_id, exchange=exchange, pair=pair)
        return {"cancelled": [await self._order_json(order) for order in orders]}

    def _owner(self, exchange: str) -> str | None:
        """The node an order request for ``exchange`` goes to: None for this one (one node alone,
        or the holder of its lease); ExchangeUnavailable when no node runs it."""
        return None if self.cluster is None else self.cluster.owner(exchange)

    async def _owner_of_order(self, order_id: str) -> tuple[str, str | None]:
        """The exchange of an order (OrderNotFound for an unknown id) and :meth:`_owner` of it."""
        if self.cluster is None:
            return "", None
        known = self.trading.open.get(order_id)
        order = known if known is not None else await self.trading.db(self.orders.get, order_id)
        return order.exchange, self._owner(order.exchange)

    async def _forward(self, owner: str, exchange: str, name: str, values: Mapping[str, Any]) -> Any:
        """Operation ``name`` answered by node ``owner`` (:mod:`..cluster.forwarding`)."""
        assert self.cluster is not None  # only a cluster has owners
        return await self.cluster.forward(owner, exchange, name, {k: v for k, v in values.items() if v is not None})

    @operation
    async def get_order(
        self, *, order_id: str | None = None, client_order_id: str | None = None, wallet_set_id: int | None = None
    ) -> contract.OrderWithEvents:
        """One order with its fills and events, named as :meth:`_order_id` says."""
        named = await self._order_id(order_id, client_order_id, wallet_set_id)

        def read() -> tuple[Order, list[Fill], list[dict[str, Any]]]:  # one job: one committed state
            return (*self.orders.view(named), self.orders.events(named))

        order, fills, events = await self.trading.db(read)
        return cast(contract.OrderWithEvents, {**_order_json(order, fills), "events": events})

    @operation
    async def get_orders(
        self,
        *,
        wallet_set_id: int | None = None,
        exchange: str | None = None,
        pair: Pair | None = None,
        status: str = "open",
        limit: int = 100,
        before: int | None = None,
        tag: str | None = None,
    ) -> contract.OrderPage:
        """Open or recent orders, newest first; page with ``before`` (the last id of a page); ``tag``:
        of that run only."""

        def read() -> tuple[list[Order], dict[str, list[Fill]]]:  # one job: one committed state
            found = self.orders.find(
                wallet_set_id=wallet_set_id,
                exchange=exchange,
                pair=None if pair is None else str(pair),
                open_only=status == "open",
                tag=tag,
                before=before,
                limit=limit,
            )
            return found, self.orders.fills([o.id for o in found])

        orders, fills = await self.trading.db(read)
        items = [_order_json(o, fills[o.id]) for o in orders]
        return {"orders": items, "next_before": int(orders[-1].id) if len(orders) == limit else None}

    @operation
    async def get_fills(
        self, *, order_id: str | None = None, wallet_set_id: int | None = None, limit: int = 100, tag: str | None = None
    ) -> list[contract.Fill]:
        """The fills of one order, or of a wallet set's recent orders (``tag``: of that run only)."""
        if order_id is None and wallet_set_id is None:
            raise InvalidParameter("order_id", "an order id or a wallet_set_id", missing=True)
        if order_id is not None:
            orders = [await self.trading.db(self.orders.get, order_id)]
            orders = [o for o in orders if tag is None or o.tag == tag]
        else:
            orders = await self.trading.db(self.orders.find, wallet_set_id=wallet_set_id, tag=tag, limit=limit)
        fills = await self.trading.db(self.orders.fills, [o.id for o in orders])
        answer = sorted((_fill_json(f, o) for o in orders for f in fills[o.id]), key=lambda f: f["time"], reverse=True)[
            :limit
        ]
        return answer

    async def _order_id(self, order_id: str | None, client_order_id: str | None, wallet_set_id: int | None) -> str:
        """The order named by ``order_id``, or by ``client_order_id`` with ``wallet_set_id``."""
        if order_id is not None:
            return order_id
        if client_order_id is None or wallet_set_id is None:
            raise InvalidParameter("order_id", "an order_id, or a client_order_id with its wallet_set_id", missing=True)
        found = await self.trading.db(self.orders.order_id_of, wallet_set_id, client_order_id)
        if found is None:
            raise OrderNotFound(client_order_id)
        return found

    async def _order_json(self, order: Order) -> contract.Order:
        """The order as committed, with its fills: what an answer shows can never be taken back."""
        return _order_json(*await self.trading.db(self.orders.view, order.id))

    # -- wallet sets ------------------------------------------------------------------------------

    @operation
    async def create_wallet_set(
        self, *, name: str, mode: Mode = Mode.PAPER, allocations: list[Allocation] | None = None
    ) -> contract.WalletSet:
        """A new wallet set, with the funds of ``allocations`` given in the same transaction (all or,
        refused, nothing: the set is not created either)."""
        allocations = allocations or []
        for index, (exchange, currency, _) in enumerate(allocations):
            self._fundable(mode, exchange, currency, f"allocations[{index}].")
        info = await self.trading.db(self.wallets.create_wallet_set, name, mode, allocations)
        balances = await self.trading.db(self.wallets.balances, info.id, self.trading.usd_prices())
        await self.trading.publish_wallets({(info.id, b.exchange) for b in balances}, change="create")
        return _wallet_set_json(info, balances)

    @operation
    async def get_wallet_set(self, *, wallet_set_id: int) -> contract.WalletSet:
        """A wallet set with its wallets."""
        info = await self.trading.db(self.wallets.wallet_set, wallet_set_id)
        balances = await self.trading.db(self.wallets.balances, info.id, self.trading.usd_prices())
        return _wallet_set_json(info, balances)

    @operation
    async def get_wallet_sets(self) -> list[contract.WalletSetSummary]:
        """Every wallet set, without balances."""
        return [_wallet_set_summary(info) for info in await self.trading.db(self.wallets.wallet_sets)]

    @operation
    async def get_wallet(self, *, wallet_set_id: int, exchange: str, currency: str) -> contract.WalletOfSet:
        """One wallet: ``balance``, ``hold`` and ``available`` (zero where nothing was ever put)."""
        self._exchange(exchange)
        balances = await self.trading.db(self.wallets.balances, wallet_set_id, self.trading.usd_prices())
        for balance in balances:
            if (balance.exchange, balance.currency) == (exchange, currency):
                return cast(contract.WalletOfSet, {"wallet_set_id": wallet_set_id, **balance.as_json()})
        zero = contract.Amount("0")
        return {
            "wallet_set_id": wallet_set_id,
            "exchange": exchange,
            "currency": currency,
            "balance": zero,
            "hold": zero,
            "available": zero,
            "usd_value": zero,
        }

    @operation
    async def fund_wallet_set(
        self, *, wallet_set_id: int, exchange: str, currency: str, amount: Decimal
    ) -> contract.Funded:
        """Add funds to a wallet set: virtual money to a paper set; to a live set, a share of the real
        exchange account's unallocated funds (as reconciled from the exchange: never more than the
        account holds). A negative amount is refused."""
        self._exchange(exchange)
        info = await self.trading.db(self.wallets.wallet_set, wallet_set_id)
        self._fundable(info.mode, exchange, currency)
        kind = TransactionKind.FUND if info.mode is Mode.PAPER else TransactionKind.ALLOCATE
        entry = await self.trading.db(self.wallets.move_funds, kind, info.id, exchange, currency, amount)
        await self.trading.publish_wallets({(info.id, exchange)}, change="fund")
        return {
            "entry": cast(contract.LedgerEntry, entry.as_json()),
            "wallet": await self.get_wallet(wallet_set_id=wallet_set_id, exchange=exchange, currency=currency),
        }

    @operation
    async def transfer(
        self, *, from_wallet_set_id: int, to_wallet_set_id: int, exchange: str, currency: str, amount: Decimal
    ) -> contract.Transferred:
        """Move available funds from one wallet set to another of the same mode."""
        self._exchange(exchange)
        entry = await self.trading.db(
            self.wallets.transfer, from_wallet_set_id, to_wallet_set_id, exchange, currency, amount
        )
        await self.trading.publish_wallets(
            {(from_wallet_set_id, exchange), (to_wallet_set_id, exchange)}, change="transfer"
        )
        return {"entry": cast(contract.LedgerEntry, entry.as_json())}

    # -- accounting: valuation, P&L, equity history (issue 12) ------------------------------------

    def valuation(self) -> Valuation:
        """The rates of this moment through any chain of followed books (docs/accounting.md,
        "Valuation"): ``valuation().value(amount, currency, into="USD")``. Every figure xWrap values
        is valued by it."""
        return valuation(self.hub)

    @operation
    async def get_pnl(
        self,
        *,
        wallet_set_id: int,
        currency: str = "USD",
        exchange: str | None = None,
        pair: Pair | None = None,
        tag: str | None = None,
    ) -> contract.Pnl:
        """The wallet set's P&L by average cost per pair (docs/accounting.md, "P&L"), valued in
        ``currency``. A currency no followed book names, or that none of the figures' currencies
        reaches, is an InvalidParameter naming ``currency``; figures in a currency that cannot be
        valued are left out of the totals and listed in ``unvalued``."""
        if exchange is not None:
            self._exchange(exchange)
        await self.trading.db(self.wallets.wallet_set, wallet_set_id)  # not found: NotFound
        fills = await self.trading.db(
            self._executions, wallet_set_id, exchange, None if pair is None else str(pair), tag
        )
        rates, pairs = self.valuation(), accounts(fills)
        report = valued(pairs, rates, currency)
        needed = {a.pair.quote for a in pairs} | {c for a in pairs for c in a.fees}
        if currency not in rates.currencies() or (needed - {currency} and needed <= set(report.unvalued)):
            reached = ", ".join(sorted(needed)) or "the followed books"
            raise InvalidParameter("currency", f"a currency a chain of followed books reaches from {reached}", currency)
        return _pnl_json(wallet_set_id, self.clock(), report)

    @operation
    async def get_wallet_history(
        self,
        *,
        wallet_set_id: int,
        start: float | None = None,
        end: float | None = None,
        interval: str = "1m",
        limit: int = 100,
    ) -> contract.WalletHistory:
        """The set's equity in USD as sampled each minute into the history store, the last sample of
        each ``interval`` in [start, end), oldest first; without ``start``, the last ``limit``
        intervals before ``end`` (default now), as get_ohlc."""
        await self.trading.db(self.wallets.wallet_set, wallet_set_id)  # not found: NotFound
        seconds, until = contract.CANDLE_INTERVALS[interval], self._end(end)
        since = until - seconds * limit if start is None else start
        page = await self._history().equity(wallet_set_id, seconds, since, until, limit)
        return {
            "wallet_set_id": wallet_set_id,
            "currency": "USD",
            "interval": interval,
            "samples": [{"time": s.time, "value": _amount(s.value), "unvalued": list(s.unvalued)} for s in page.items],
            "next": page.next,
        }

    def _executions(
        self, wallet_set_id: int, exchange: str | None, pair: str | None, tag: str | None
    ) -> list[Execution]:
        """Every fill of the set's orders (of the run ``tag`` if given), on the database thread: one
        committed state."""
        out: list[Execution] = []
        before: int | None = None
        while True:
            page = self.orders.find(
                wallet_set_id=wallet_set_id, exchange=exchange, pair=pair, tag=tag, before=before, limit=1000
            )
            fills = self.orders.fills([o.id for o in page])
            for order in page:
                traded = Pair.parse(order.pair)
                out += [
                    Execution(order.exchange, traded, order.side, f.price, f.size, f.fee, f.fee_currency, f.at)
                    for f in fills[order.id]
                ]
            if len(page) < 1000:
                return out
            before = int(page[-1].id)

    # -- wallet sets: withdrawing and closing (issue 12) ------------------------------------------

    @operation
    async def withdraw(
        self, *, wallet_set_id: int, exchange: str, currency: str, amount: Decimal
    ) -> contract.Withdrawn:
        """Take available funds out of a wallet set: a paper set's back to virtual money, a live set's
        back to the exchange account's unallocated funds. What open orders hold is not available: more
        than the rest is InsufficientFunds, and nothing changes."""
        self._exchange(exchange)
        entry = await self.trading.db(self.wallets.withdraw, wallet_set_id, exchange, currency, amount)
        await self.trading.publish_wallets({(wallet_set_id, exchange)}, change="withdraw")
        return {
            "entry": cast(contract.LedgerEntry, entry.as_json()),
            "wallet": await self.get_wallet(wallet_set_id=wallet_set_id, exchange=exchange, currency=currency),
        }

    @operation
    async def close_wallet_set(self, *, wallet_set_id: int) -> contract.ClosedWalletSet:
        """Close a wallet set for good (:meth:`..trading.order_path.Trading.close_wallet_set`): the
        closed set, its wallets emptied, with the entries that returned its balances."""
        closed = await self.trading.close_wallet_set(wallet_set_id)
        balances = await self.trading.db(self.wallets.balances, wallet_set_id, self.trading.usd_prices())
        return {
            **_wallet_set_json(closed.wallet_set, balances),
            "returned": [cast(contract.LedgerEntry, entry.as_json()) for entry in closed.entries],
        }

    def _fundable(self, mode: Mode, exchange: str, currency: str, prefix: str = "") -> None:
        """Refuse funding a set of ``mode`` on ``exchange`` in ``currency``, naming ``prefix`` + the
        parameter: an exchange not enabled, a live set where no live account runs, a currency no market
        of the exchange lists."""
        if prefix and (exchange not in EXCHANGE_NAMES or not self.settings.exchange(exchange).enabled):
            raise InvalidParameter(prefix + "exchange", "an enabled exchange: " + ", ".join(self._enabled()), exchange)
        self._exchange(exchange)
        if mode is Mode.LIVE and exchange not in self.trading.accounts:
            raise ExchangeNotLive(exchange, self.settings.exchange(exchange).mode)
        if currency not in self.hub.currencies(exchange):
            raise InvalidParameter(prefix + "currency", f"a currency of a market {exchange} lists", currency)

    # -- what an owner reads of the ledger ---------------------------------------------------------

    @operation
    async def get_statement(
        self,
        *,
        wallet_set_id: int,
        start: float | None = None,
        end: float | None = None,
        currency: str | None = None,
        kind: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> contract.Statement:
        """A wallet set's statement (:mod:`..core.statement`): its lines in [start, end), of ``currency``
        and ``kind``, newest first, at most ``limit``; ``cursor`` (a page's ``next_cursor``) goes on."""
        info, lines, following = await self.trading.db(
            self.statements.statement,
            wallet_set_id,
            start=None if start is None else round(start * 1_000_000),
            end=None if end is None else round(end * 1_000_000),
            currency=currency,
            kind=kind,
            cursor=cursor,
            limit=limit,
        )
        return {
            "wallet_set_id": info.id,
            "entries": [_statement_entry(line) for line in lines],
            "next_cursor": following,
        }

    @operation
    async def get_accounts(self, *, exchange: str | None = None) -> list[contract.AccountView]:
        """Per enabled exchange (or the one named): its real account per currency as the ledger knows
        it (reported at the last reconciliation, allocated to live sets, held, unallocated) and the
        paper sets' totals there."""
        names = [self._exchange(exchange)] if exchange is not None else self._enabled()
        views = await self.trading.db(self.statements.accounts, names)
        return [
            {
                "exchange": view.exchange,
                "mode": self.settings.exchange(view.exchange).mode,
                "live": [
                    {
                        "currency": a.currency,
                        "reported": _maybe_amount(a.reported),
                        "reconciled_at": None if a.reconciled_at is None else a.reconciled_at / 1_000_000,
                        "allocated": _amount(a.allocated),
                        "held": _amount(a.held),
                        "unallocated": _amount(a.unallocated),
                    }
                    for a in view.live
                ],
                "paper": [
                    {
                        "currency": p.currency,
                        "balance": _amount(p.balance),
                        "held": _amount(p.held),
                        "available": _amount(p.available),
                        "wallet_sets": p.wallet_sets,
                    }
                    for p in view.paper
                ],
            }
            for view in views
        ]

    # -- helpers ----------------------------------------------------------------------------------

    # -- alerts -------------------------------------------------------------------------------------

    @operation
    async def get_alerts(self) -> contract.Alerts:
        """The alerts firing now (oldest first) and the last cleared ones (most recently cleared first)."""
        if self.alerts is None:
            return {"active": [], "recent": []}
        return self.alerts.alerts()

    def _exchange(self, name: str | None) -> str:
        if name not in EXCHANGE_NAMES or not self.settings.exchange(name).enabled:
            raise UnknownExchange(str(name), self._enabled())
        return name

    def _book(self, exchange: str, pair: Pair) -> Any:
        """The followed book of ``pair``: ExchangeUnavailable while the exchange's markets are not
        loaded or the pair, listed, is not followed; UnknownPair if the loaded markets do not list it."""
        self.hub.market(exchange, pair)
        if not self.hub.follows(exchange, pair):
            raise ExchangeUnavailable(exchange, f"{pair} is not followed (add it to exchanges.{exchange}.pairs)")
        return self.hub.book(exchange, pair)


def _check_order_shape(request: OrderRequest) -> None:
    if request.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and request.price is None:
        raise InvalidParameter("price", f"a price for a {request.type.value} order", missing=True)
    if request.type.is_stop and request.stop_price is None:
        raise InvalidParameter("stop_price", f"a stop price for a {request.type.value} order", missing=True)
    if request.size is None and request.funds is None:
        raise InvalidParameter("size", "a size (or funds for a market buy)", missing=True)
    if request.funds is not None and (
        request.type is not OrderType.MARKET or request.side is not Side.BUY or request.size is not None
    ):
        raise InvalidParameter("funds", "funds only on a market buy without a size", format_decimal(request.funds))
    if request.time_in_force is TimeInForce.GTD and request.expire_time is None:
        raise InvalidParameter("expire_time", "an expiry time for a GTD order", missing=True)
    if request.post_only and request.type is not OrderType.LIMIT:
        raise InvalidParameter("post_only", "post_only only on a limit order", True)
    if not request.type.has_limit and request.price is not None:
        raise InvalidParameter("price", f"no price on a {request.type.value} order", format_decimal(request.price))


def _market_json(market: Market) -> contract.Market:
    return {
        "exchange": market.exchange,
        "pair": str(market.pair),
        "symbol": market.symbol,
        "tick_size": _maybe_amount(market.tick_size),
        "price_significant_digits": market.price_significant_digits,
        "size_step": _maybe_amount(market.size_step),
        "min_size": _maybe_amount(market.min_size),
        "max_size": _maybe_amount(market.max_size),
        "min_notional": _maybe_amount(market.min_notional),
        "max_notional": _maybe_amount(market.max_notional),
        "funds_step": _maybe_amount(market.funds_step),
        "maker_fee": _maybe_amount(market.maker_fee),
        "taker_fee": _maybe_amount(market.taker_fee),
        "status": market.status.value,
    }


def _order_json(order: Order, fills: list[Fill]) -> contract.Order:
    return cast(contract.Order, {**order.to_json(), "fills": [_fill_json(f, order) for f in fills]})


def _fill_json(fill: Fill, order: Order) -> contract.Fill:
    return cast(contract.Fill, {**fill.to_json(), "tag": order.tag})


def _statement_entry(line: StatementLine) -> contract.StatementEntry:
    return {
        "id": line.cursor,
        "transaction_id": line.transaction_id,
        "time": line.created_at / 1_000_000,
        "kind": cast(contract.StatementKindName, line.kind),
        "exchange": line.exchange,
        "currency": line.currency,
        "amount": _amount(line.amount),
        "hold_change": _amount(line.hold_change),
        "balance": _amount(line.balance),
        "hold": _amount(line.hold),
        "available": _amount(line.available),
        "order_id": line.order_id,
        "trade_id": line.trade_id,
        "counterparty": line.counterparty,
        "memo": line.memo,
    }


def _wallet_set_summary(info: WalletSetInfo) -> contract.WalletSetSummary:
    return {
        "id": info.id,
        "name": info.name,
        "mode": info.mode.value,
        "created_at": info.created_at / 1_000_000,
        "closed_at": None if info.closed_at is None else info.closed_at / 1_000_000,
    }


def _wallet_set_json(info: WalletSetInfo, balances: list[WalletBalance]) -> contract.WalletSet:
    wallets = [cast(contract.Wallet, balance.as_json()) for balance in balances]
    return {**_wallet_set_summary(info), "wallets": wallets}


def _pnl_json(wallet_set_id: int, time: float, report: Report) -> contract.Pnl:
    return {
        "wallet_set_id": wallet_set_id,
        "currency": report.currency,
        "time": time,
        "pairs": [
            {
                "exchange": row.account.exchange,
                "pair": str(row.account.pair),
                "fills": row.account.fills,
                "position": _amount(row.account.position),
                "average_cost": _maybe_amount(row.account.average_cost),
                "mark": None if row.mark is None else cast(contract.RateQuote, row.mark.as_json()),
                "realized": _amount(row.account.realized),
                "unrealized": _maybe_amount(row.unrealized),
                "fees": [{"currency": c, "amount": _amount(a)} for c, a in sorted(row.account.fees.items())],
                "realized_value": _maybe_amount(row.realized_value),
                "unrealized_value": _maybe_amount(row.unrealized_value),
                "fees_value": _maybe_amount(row.fees_value),
                "net_value": _maybe_amount(row.net_value),
            }
            for row in report.pairs
        ],
        "totals": {
            "realized": _amount(report.realized),
            "unrealized": _amount(report.unrealized),
            "fees": _amount(report.fees),
            "net": _amount(report.net),
        },
        "rates": [cast(contract.Rate, rate.as_json()) for rate in report.rates],
        "unvalued": report.unvalued,
        "unmarked": report.unmarked,
    }
