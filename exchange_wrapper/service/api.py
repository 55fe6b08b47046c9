"""ExchangeWrapper: every operation of the service, free of any transport.

The doors (JSON-RPC, REST, Socket.IO) translate requests into keyword calls on this class and
its results back; they add nothing of their own. Every operation takes keyword arguments only,
validates them (an unknown or malformed parameter is an InvalidParameter naming it) and returns
JSON-ready data with amounts as decimal strings. Their parameters, results and scopes are the
contract's (:data:`exchange_wrapper.contract.OPERATIONS`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from .. import __version__
from ..config import Settings
from ..core.errors import ExchangeNotLive, ExchangeUnavailable, InvalidParameter, OrderNotFound, UnknownExchange
from ..core.ledger import Mode, TransactionKind
from ..core.marketdata import FeedStatus
from ..core.money import format_decimal
from ..core.orders import Fill, Order, OrderType, Side, TimeInForce
from ..core.pairs import Pair
from ..exchanges import EXCHANGE_NAMES
from ..marketdata.hub import RECENT_TRADES, MarketDataHub
from ..storage.database import describe_url, is_postgres, schema_version
from .params import Params
from .trading import OrderRequest, Trading


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal(value)


class ExchangeWrapper:
    """The operations. ``clock`` returns Unix seconds (injected so tests control time)."""

    def __init__(
        self,
        settings: Settings,
        database: Any,
        hub: MarketDataHub,
        trading: Trading,
        *,
        candles: Callable[..., Awaitable[list[Any]]] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.database = database
        self.hub = hub
        self.trading = trading
        self.wallets = trading.wallets
        self.orders = trading.orders
        self.candles = candles
        self.clock = clock
        self.started_at = clock()

    # -- the service ------------------------------------------------------------------------------

    async def echo(self, **params: Any) -> dict[str, Any]:
        """Return the parameters as given: a round-trip check for clients. (What no JSON answer can
        carry never gets here: every door refuses it as it decodes, :mod:`.decoding`.)"""
        return params

    async def get_status(self, **params: Any) -> dict[str, Any]:
        """Version, uptime, the exchanges with their states, and the database."""
        Params(params).done()
        return {
            "version": __version__,
            "uptime": round(self.clock() - self.started_at, 3),
            "exchanges": {name: self._exchange_status(name) for name in self._enabled()},
            "database": {
                "kind": "postgresql" if is_postgres(self.database) else "sqlite",
                "url": describe_url(self.settings.database_url),
                "schema_version": await self.trading.db(schema_version, self.database),
            },
        }

    async def get_exchanges(self, **params: Any) -> dict[str, Any]:
        """Per exchange: trading mode, market-data status with its reason, the pairs followed."""
        Params(params).done()
        return {name: self._exchange_status(name) for name in self._enabled()}

    def _enabled(self) -> list[str]:
        return [name for name in EXCHANGE_NAMES if self.settings.exchange(name).enabled]

    def _exchange_status(self, name: str) -> dict[str, Any]:
        exchange = self.settings.exchange(name)
        if self.hub.started(name):
            status, reason = self.hub.status(name, self.clock())
            pairs = [str(p) for p in self.hub.followed(name)]
        else:
            status, reason, pairs = FeedStatus.DOWN, "not started", sorted(exchange.pairs)
        out: dict[str, Any] = {"mode": exchange.mode, "status": status.value, "reason": reason, "pairs": pairs}
        account = self.trading.account_status(name)
        if account is not None:
            out["account"] = account
            if out["status"] == "ready" and account["state"] != "ready":  # e.g. its private stream down: polled
                out["status"], out["reason"] = "degraded", f"account {account['state']}: {account['reason']}"
        return out

    # -- market data ------------------------------------------------------------------------------

    async def get_markets(self, **params: Any) -> list[dict[str, Any]]:
        """The precision rules of the markets of an exchange (or of every exchange whose markets
        are loaded), optionally one pair. A named exchange whose markets are not loaded yet is
        ExchangeUnavailable; a pair it does not list, UnknownPair."""
        p = Params(params)
        exchange, pair = p.text("exchange"), p.pair()
        p.done()
        out = []
        for name in (
            [self._exchange(exchange)]
            if exchange
            else [name for name in self._enabled() if self.hub.markets_loaded(name)]
        ):
            if pair is None:
                markets = sorted(self.hub.markets(name).values(), key=lambda m: str(m.pair))
            elif exchange:
                markets = [self.hub.market(name, pair)]
            else:
                markets = [m for m in (self.hub.markets(name).get(pair),) if m is not None]
            out += [_market_json(m) for m in markets]
        return out

    async def get_pricing(self, **params: Any) -> list[dict[str, Any]]:
        """Mid, bid, ask and last trade for every followed pair (of one exchange if given: while its
        markets are not loaded, ExchangeUnavailable rather than an empty list)."""
        p = Params(params)
        exchange = p.text("exchange")
        p.done()
        if exchange:
            self.hub.markets(self._exchange(exchange))
        out = []
        for name in [exchange] if exchange else self._enabled():
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

    async def get_book(self, **params: Any) -> dict[str, Any]:
        """The top ``depth`` levels of a book, best first, with its state and age in seconds."""
        p = Params(params)
        exchange, pair = self._exchange(p.text("exchange", required=True)), p.pair(required=True)
        depth = p.integer("depth", minimum=1, maximum=1000) or 10
        p.done()
        book = self._book(exchange, pair)
        age = None if book.updated_at is None else round(max(0.0, self.clock() - book.updated_at), 3)
        return {
            "exchange": exchange,
            "pair": str(pair),
            "state": book.state.value,
            "age": age,
            "bids": [[_amount(px), _amount(sz)] for px, sz in book.bids.top(depth)],
            "asks": [[_amount(px), _amount(sz)] for px, sz in book.asks.top(depth)],
        }

    async def get_trades(self, **params: Any) -> list[dict[str, Any]]:
        """The latest public trades of a pair, newest first (up to ``limit``, 100 by default)."""
        p = Params(params)
        exchange, pair = self._exchange(p.text("exchange", required=True)), p.pair(required=True)
        limit = p.integer("limit", minimum=1, maximum=RECENT_TRADES) or 100
        p.done()
        self._book(exchange, pair)
        recent = list(self.hub.recent_trades(exchange, pair))[-limit:]
        return [
            {
                "trade_id": t.trade_id,
                "price": _amount(t.price),
                "size": _amount(t.size),
                "taker_side": t.taker_side.value,
                "time": t.time,
            }
            for t in reversed(recent)
        ]

    async def get_ohlc(self, **params: Any) -> list[dict[str, Any]]:
        """OHLC candles from the exchange (interval in seconds, start and end in Unix seconds)."""
        p = Params(params)
        exchange, pair = self._exchange(p.text("exchange", required=True)), p.pair(required=True)
        interval = p.integer("interval", minimum=60, maximum=86400 * 7) or 60
        start, end = p.number("start"), p.number("end")
        p.done()
        self._book(exchange, pair)
        if self.candles is None:
            raise ExchangeUnavailable(exchange, "candles are not available")
        return [
            {
                "start": c.start,
                "interval": c.interval,
                "open": _amount(c.open),
                "high": _amount(c.high),
                "low": _amount(c.low),
                "close": _amount(c.close),
                "volume": _amount(c.volume),
            }
            for c in await self.candles(exchange, pair, interval, start, end)
        ]

    # -- orders -----------------------------------------------------------------------------------

    async def make_order(self, **params: Any) -> dict[str, Any]:
        p = Params(params)
        request = OrderRequest(
            wallet_set_id=p.integer("wallet_set_id", required=True, minimum=1),
            exchange=self._exchange(p.text("exchange", required=True)),
            pair=p.pair(required=True),
            side=p.choice("side", Side, required=True),
            type=p.choice("type", OrderType, default=OrderType.LIMIT),
            size=p.decimal("size"),
            funds=p.decimal("funds"),
            price=p.decimal("price"),
            stop_price=p.decimal("stop_price"),
            time_in_force=p.choice("time_in_force", TimeInForce, default=TimeInForce.GTC),
            expire_time=p.number("expire_time"),
            post_only=p.flag("post_only"),
            client_order_id=p.text("client_order_id", max_length=64),
            strict=p.flag("strict"),
        )
        p.done()
        _check_order_shape(request)
        return _order_json(*await self.trading.make_order(request))

    async def amend_order(self, **params: Any) -> dict[str, Any]:
        p = Params(params)
        order_id = await self._order_id(p)
        price, size, strict = p.decimal("price"), p.decimal("size"), p.flag("strict")
        p.done()
        return await self._order_json(await self.trading.amend_order(order_id, price=price, size=size, strict=strict))

    async def cancel_order(self, **params: Any) -> dict[str, Any]:
        p = Params(params)
        order_id = await self._order_id(p)
        p.done()
        return await self._order_json(await self.trading.cancel_order(order_id))

    async def cancel_all_orders(self, **params: Any) -> dict[str, Any]:
        """Cancel every open order matching the filters; returns the orders cancelled."""
        p = Params(params)
        wallet_set_id = p.integer("wallet_set_id", minimum=1)
        exchange = p.text("exchange")
        pair = p.pair()
        p.done()
        if exchange is not None:
            self._exchange(exchange)
        orders = await self.trading.cancel_all_orders(wallet_set_id=wallet_set_id, exchange=exchange, pair=pair)
        return {"cancelled": [await self._order_json(order) for order in orders]}

    async def get_order(self, **params: Any) -> dict[str, Any]:
        p = Params(params)
        order_id = await self._order_id(p)
        p.done()

        def read() -> tuple[Order, list[Fill], list[dict[str, Any]]]:  # one job: one committed state
            return (*self.orders.view(order_id), self.orders.events(order_id))

        order, fills, events = await self.trading.db(read)
        return {**_order_json(order, fills), "events": events}

    async def get_orders(self, **params: Any) -> dict[str, Any]:
        """Open or recent orders, newest first; page with ``before`` (the last id of a page)."""
        p = Params(params)
        wallet_set_id = p.integer("wallet_set_id", minimum=1)
        exchange, pair = p.text("exchange"), p.pair()
        status = p.one_of("status", ("open", "recent"), default="open")
        limit = p.integer("limit", minimum=1, maximum=1000) or 100
        before = p.integer("before", minimum=1)
        p.done()

        def read() -> tuple[list[Order], dict[str, list[Fill]]]:  # one job: one committed state
            found = self.orders.find(
                wallet_set_id=wallet_set_id,
                exchange=exchange,
                pair=None if pair is None else str(pair),
                open_only=status == "open",
                before=before,
                limit=limit,
            )
            return found, self.orders.fills([o.id for o in found])

        orders, fills = await self.trading.db(read)
        items = [_order_json(o, fills[o.id]) for o in orders]
        return {"orders": items, "next_before": int(orders[-1].id) if len(orders) == limit else None}

    async def get_fills(self, **params: Any) -> list[dict[str, Any]]:
        """The fills of one order, or of a wallet set's recent orders."""
        p = Params(params)
        order_id = p.text("order_id")
        wallet_set_id = p.integer("wallet_set_id", minimum=1)
        limit = p.integer("limit", minimum=1, maximum=1000) or 100
        p.done()
        if order_id is None and wallet_set_id is None:
            raise InvalidParameter("order_id", "an order id or a wallet_set_id", missing=True)
        if order_id is not None:
            ids = [(await self.trading.db(self.orders.get, order_id)).id]
        else:
            ids = [o.id for o in await self.trading.db(self.orders.find, wallet_set_id=wallet_set_id, limit=limit)]
        fills = await self.trading.db(self.orders.fills, ids)
        return sorted((f.to_json() for i in ids for f in fills[i]), key=lambda f: f["time"], reverse=True)[:limit]

    async def _order_id(self, p: Params) -> str:
        """The order named by ``order_id``, or by ``client_order_id`` with ``wallet_set_id``."""
        order_id = p.text("order_id")
        client_order_id = p.text("client_order_id", max_length=64)
        wallet_set_id = p.integer("wallet_set_id", minimum=1)
        if order_id is not None:
            return order_id
        if client_order_id is None or wallet_set_id is None:
            raise InvalidParameter("order_id", "an order_id, or a client_order_id with its wallet_set_id", missing=True)
        order_id = await self.trading.db(self.orders.order_id_of, wallet_set_id, client_order_id)
        if order_id is None:
            raise OrderNotFound(client_order_id)
        return order_id

    async def _order_json(self, order: Order) -> dict[str, Any]:
        """The order as committed, with its fills: what an answer shows can never be taken back."""
        return _order_json(*await self.trading.db(self.orders.view, order.id))

    # -- wallet sets ------------------------------------------------------------------------------

    async def create_wallet_set(self, **params: Any) -> dict[str, Any]:
        p = Params(params)
        name = p.text("name", required=True, max_length=64)
        mode = p.choice("mode", Mode, default=Mode.PAPER)
        p.done()
        return _wallet_set_json(await self.trading.db(self.wallets.create_wallet_set, name, mode), [])

    async def get_wallet_set(self, **params: Any) -> dict[str, Any]:
        p = Params(params)
        wallet_set_id = p.integer("wallet_set_id", required=True, minimum=1)
        p.done()
        info = await self.trading.db(self.wallets.wallet_set, wallet_set_id)
        balances = await self.trading.db(self.wallets.balances, info.id, self._usd_price)
        return _wallet_set_json(info, balances)

    async def get_wallet_sets(self, **params: Any) -> list[dict[str, Any]]:
        Params(params).done()
        return [_wallet_set_json(info, None) for info in await self.trading.db(self.wallets.wallet_sets)]

    async def get_wallet(self, **params: Any) -> dict[str, Any]:
        """One wallet: ``balance``, ``hold`` and ``available`` (zero where nothing was ever put)."""
        p = Params(params)
        wallet_set_id = p.integer("wallet_set_id", required=True, minimum=1)
        exchange = self._exchange(p.text("exchange", required=True))
        currency = p.currency(required=True)
        p.done()
        balances = await self.trading.db(self.wallets.balances, wallet_set_id, self._usd_price)
        for balance in balances:
            if (balance.exchange, balance.currency) == (exchange, currency):
                return {"wallet_set_id": wallet_set_id, **balance.as_json()}
        return {
            "wallet_set_id": wallet_set_id,
            "exchange": exchange,
            "currency": currency,
            "balance": "0",
            "hold": "0",
            "available": "0",
            "usd_value": "0",
        }

    async def fund_wallet_set(self, **params: Any) -> dict[str, Any]:
        """Add funds to a wallet set: virtual money to a paper set; to a live set, a share of the real
        exchange account's unallocated funds (as reconciled from the exchange: never more than the
        account holds). A negative amount is refused."""
        p = Params(params)
        wallet_set_id = p.integer("wallet_set_id", required=True, minimum=1)
        exchange = self._exchange(p.text("exchange", required=True))
        currency = p.currency(required=True)
        amount = p.decimal("amount", required=True)
        p.done()
        info = await self.trading.db(self.wallets.wallet_set, wallet_set_id)
        if info.mode is Mode.LIVE and exchange not in self.trading.accounts:
            raise ExchangeNotLive(exchange, self.settings.exchange(exchange).mode)
        if currency not in self.hub.currencies(exchange):
            raise InvalidParameter("currency", f"a currency of a market {exchange} lists", currency)
        kind = TransactionKind.FUND if info.mode is Mode.PAPER else TransactionKind.ALLOCATE
        entry = await self.trading.db(self.wallets.move_funds, kind, info.id, exchange, currency, amount)
        return {
            "entry": entry.as_json(),
            "wallet": await self.get_wallet(wallet_set_id=wallet_set_id, exchange=exchange, currency=currency),
        }

    async def transfer(self, **params: Any) -> dict[str, Any]:
        """Move available funds from one wallet set to another of the same mode."""
        p = Params(params)
        source = p.integer("from_wallet_set_id", required=True, minimum=1)
        target = p.integer("to_wallet_set_id", required=True, minimum=1)
        exchange = self._exchange(p.text("exchange", required=True))
        currency = p.currency(required=True)
        amount = p.decimal("amount", required=True)
        p.done()
        entry = await self.trading.db(self.wallets.transfer, source, target, exchange, currency, amount)
        return {"entry": entry.as_json()}

    # -- helpers ----------------------------------------------------------------------------------

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

    def _usd_price(self, exchange: str, currency: str) -> Decimal | None:
        """The mid of CURRENCY_USD (or _USDT, _USDC) on that exchange, where a live book has one."""
        for quote in ("USD", "USDT", "USDC"):
            pair = Pair(currency, quote)
            book = self.hub.book(exchange, pair) if self.hub.follows(exchange, pair) else None
            if book is not None and book.live:
                bid, ask = book.bids.best, book.asks.best
                if bid and ask:
                    return (bid[0] + ask[0]) / 2
        return None


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


def _market_json(market: Any) -> dict[str, Any]:
    return {
        "exchange": market.exchange,
        "pair": str(market.pair),
        "symbol": market.symbol,
        "tick_size": _amount(market.tick_size),
        "price_significant_digits": market.price_significant_digits,
        "size_step": _amount(market.size_step),
        "min_size": _amount(market.min_size),
        "max_size": _amount(market.max_size),
        "min_notional": _amount(market.min_notional),
        "max_notional": _amount(market.max_notional),
        "funds_step": _amount(market.funds_step),
        "maker_fee": _amount(market.maker_fee),
        "taker_fee": _amount(market.taker_fee),
        "status": market.status.value,
    }


def _order_json(order: Order, fills: list[Any]) -> dict[str, Any]:
    return {**order.to_json(), "fills": [f.to_json() for f in fills]}


def _wallet_set_json(info: Any, balances: list[Any] | None) -> dict[str, Any]:
    out = {"id": info.id, "name": info.name, "mode": info.mode.value, "created_at": info.created_at / 1_000_000}
    if balances is not None:
        out["wallets"] = [b.as_json() for b in balances]
    return out
