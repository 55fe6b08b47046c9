"""The client's operations, one typed method each: GENERATED from exchange_wrapper/contract.py by
``python -m exchange_wrapper.client_codegen``; do not edit by hand.

:class:`AsyncOperations` is mixed into :class:`.client.AsyncClient`, :class:`Operations` into
:class:`.client.Client`. A parameter left at None is not sent (the service's default applies).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Literal, cast

from .contract import (
    AccountView,
    Alerts,
    Book,
    BookTopPage,
    Cancelled,
    CandlePage,
    ClosedWalletSet,
    ExchangeState,
    Fill,
    Funded,
    Market,
    Order,
    OrderPage,
    OrderWithEvents,
    Pnl,
    Pricing,
    ReplayState,
    Statement,
    StatementKindName,
    Status,
    Trade,
    Transferred,
    WalletHistory,
    WalletOfSet,
    WalletSet,
    WalletSetSummary,
    Withdrawn,
)


def _given(**params: Any) -> dict[str, Any]:
    return {name: value for name, value in params.items() if value is not None}


class AsyncOperations:
    """The operations of the service as methods (coroutines)."""

    call: Callable[..., Awaitable[Any]]

    async def echo(self, **params: Any) -> dict[str, Any]:
        """Return the body as given: a round-trip check.

        Needs a ``read`` token.
        """
        return cast(dict[str, Any], await self.call("echo", **params))

    async def get_status(self) -> Status:
        """Version, uptime, the exchanges and the database.

        Needs a ``read`` token.
        """
        return cast(Status, await self.call("get_status"))

    async def get_exchanges(self) -> dict[str, ExchangeState]:
        """Per exchange: trading mode, market-data status, pairs followed.

        Needs a ``read`` token.
        """
        return cast(dict[str, ExchangeState], await self.call("get_exchanges"))

    async def get_markets(self, *, exchange: str | None = None, pair: str | None = None) -> list[Market]:
        """Precision rules of the markets.

        exchange: An exchange by name.
        pair: A pair in unified BASE_QUOTE form.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair)
        return cast(list[Market], await self.call("get_markets", **params))

    async def get_pricing(self, *, exchange: str | None = None) -> list[Pricing]:
        """Bid, ask, mid and last trade of every followed pair.

        exchange: An exchange by name.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange)
        return cast(list[Pricing], await self.call("get_pricing", **params))

    async def get_book(self, *, exchange: str, pair: str, depth: int = 10) -> Book:
        """The top levels of a book, best first, with its state and age.

        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        depth: Levels per side.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair, depth=depth)
        return cast(Book, await self.call("get_book", **params))

    async def get_trades(
        self,
        *,
        exchange: str,
        pair: str,
        limit: int = 100,
        start: float | None = None,
        end: float | None = None,
    ) -> list[Trade]:
        """The latest public trades of a pair, newest first; with start, the stored ones from then, oldest first.

        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        limit: At most this many.
        start: Start of the time range, Unix seconds (included).
        end: End of the time range, Unix seconds (excluded; default now).

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair, limit=limit, start=start, end=end)
        return cast(list[Trade], await self.call("get_trades", **params))

    async def get_ohlc(
        self,
        *,
        exchange: str,
        pair: str,
        interval: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "1m",
        start: float | None = None,
        end: float | None = None,
        limit: int = 100,
    ) -> CandlePage:
        """OHLC candles from the stored market history, oldest first, paged.

        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        interval: Candle length: 1m, 5m, 15m, 1h, 4h or 1d.
        start: Start of the time range, Unix seconds (included).
        end: End of the time range, Unix seconds (excluded; default now).
        limit: At most this many.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair, interval=interval, start=start, end=end, limit=limit)
        return cast(CandlePage, await self.call("get_ohlc", **params))

    async def get_book_tops(
        self,
        *,
        exchange: str,
        pair: str,
        start: float,
        end: float | None = None,
        limit: int = 100,
    ) -> BookTopPage:
        """Best bid and ask with their sizes as sampled into the stored market history, oldest first, paged.

        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        start: Start of the time range, Unix seconds (included) (required).
        end: End of the time range, Unix seconds (excluded; default now).
        limit: At most this many.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair, start=start, end=end, limit=limit)
        return cast(BookTopPage, await self.call("get_book_tops", **params))

    async def advance_replay(self, *, until: float) -> ReplayState:
        """Play a stepped replay up to a recorded moment and hold there.

        until: The recorded moment to play the replay up to, Unix seconds (required).

        Needs a ``trade`` token.
        """
        params = _given(until=until)
        return cast(ReplayState, await self.call("advance_replay", **params))

    async def make_order(
        self,
        *,
        wallet_set_id: int,
        exchange: str,
        pair: str,
        side: Literal["buy", "sell"],
        type: Literal["market", "limit", "stop_market", "stop_limit"] = "limit",
        size: Decimal | str | None = None,
        funds: Decimal | str | None = None,
        price: Decimal | str | None = None,
        stop_price: Decimal | str | None = None,
        time_in_force: Literal["GTC", "IOC", "FOK", "GTD"] = "GTC",
        expire_time: float | None = None,
        post_only: bool = False,
        client_order_id: str | None = None,
        strict: bool = False,
        tag: str | None = None,
    ) -> Order:
        """Place an order.

        wallet_set_id: A wallet set's id (required).
        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        side: buy or sell (required).
        type: Order type.
        size: Size in base units.
        funds: Quote amount to spend (market buy without a size).
        price: Limit price.
        stop_price: Stop trigger price (stop_market, stop_limit).
        time_in_force: GTC, IOC, FOK, or GTD with expire_time.
        expire_time: When a GTD order expires, Unix seconds.
        post_only: Refuse to take liquidity (limit orders).
        client_order_id: Your id for the order; placing it again returns the first order.
        strict: Refuse a price or size off the market's grid instead of rounding it.
        tag: A strategy run's label: given to make_order, carried by the order and its fills; filters them.

        Needs a ``trade`` token.
        """
        params = _given(
            wallet_set_id=wallet_set_id,
            exchange=exchange,
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
        return cast(Order, await self.call("make_order", **params))

    async def get_orders(
        self,
        *,
        wallet_set_id: int | None = None,
        exchange: str | None = None,
        pair: str | None = None,
        status: Literal["open", "recent"] = "open",
        limit: int = 100,
        before: int | None = None,
        tag: str | None = None,
    ) -> OrderPage:
        """Open or recent orders, newest first.

        wallet_set_id: A wallet set's id.
        exchange: An exchange by name.
        pair: A pair in unified BASE_QUOTE form.
        status: Open orders only, or recent ones too.
        limit: At most this many.
        before: Page: orders older than this id (next_before of the previous page).
        tag: A strategy run's label: given to make_order, carried by the order and its fills; filters them.

        Needs a ``read`` token.
        """
        params = _given(
            wallet_set_id=wallet_set_id,
            exchange=exchange,
            pair=pair,
            status=status,
            limit=limit,
            before=before,
            tag=tag,
        )
        return cast(OrderPage, await self.call("get_orders", **params))

    async def cancel_all_orders(
        self,
        *,
        wallet_set_id: int | None = None,
        exchange: str | None = None,
        pair: str | None = None,
    ) -> Cancelled:
        """Cancel every open order matching the filters.

        wallet_set_id: A wallet set's id.
        exchange: An exchange by name.
        pair: A pair in unified BASE_QUOTE form.

        Needs a ``trade`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, exchange=exchange, pair=pair)
        return cast(Cancelled, await self.call("cancel_all_orders", **params))

    async def get_order(
        self,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
        wallet_set_id: int | None = None,
    ) -> OrderWithEvents:
        """One order with its fills and events.

        order_id: An order's id as xWrap gave it.
        client_order_id: Your id for the order; placing it again returns the first order.
        wallet_set_id: A wallet set's id.

        Needs a ``read`` token.
        """
        params = _given(order_id=order_id, client_order_id=client_order_id, wallet_set_id=wallet_set_id)
        return cast(OrderWithEvents, await self.call("get_order", **params))

    async def cancel_order(
        self,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
        wallet_set_id: int | None = None,
    ) -> Order:
        """Cancel an order.

        order_id: An order's id as xWrap gave it.
        client_order_id: Your id for the order; placing it again returns the first order.
        wallet_set_id: A wallet set's id.

        Needs a ``trade`` token.
        """
        params = _given(order_id=order_id, client_order_id=client_order_id, wallet_set_id=wallet_set_id)
        return cast(Order, await self.call("cancel_order", **params))

    async def amend_order(
        self,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
        wallet_set_id: int | None = None,
        price: Decimal | str | None = None,
        size: Decimal | str | None = None,
        strict: bool = False,
    ) -> Order:
        """Change an open order's price or size.

        order_id: An order's id as xWrap gave it.
        client_order_id: Your id for the order; placing it again returns the first order.
        wallet_set_id: A wallet set's id.
        price: Limit price.
        size: Size in base units.
        strict: Refuse a price or size off the market's grid instead of rounding it.

        Needs a ``trade`` token.
        """
        params = _given(
            order_id=order_id,
            client_order_id=client_order_id,
            wallet_set_id=wallet_set_id,
            price=price,
            size=size,
            strict=strict,
        )
        return cast(Order, await self.call("amend_order", **params))

    async def get_fills(
        self,
        *,
        order_id: str | None = None,
        wallet_set_id: int | None = None,
        limit: int = 100,
        tag: str | None = None,
    ) -> list[Fill]:
        """The fills of one order, or of a wallet set's recent orders.

        order_id: An order's id as xWrap gave it.
        wallet_set_id: A wallet set's id.
        limit: At most this many.
        tag: A strategy run's label: given to make_order, carried by the order and its fills; filters them.

        Needs a ``read`` token.
        """
        params = _given(order_id=order_id, wallet_set_id=wallet_set_id, limit=limit, tag=tag)
        return cast(list[Fill], await self.call("get_fills", **params))

    async def create_wallet_set(
        self,
        *,
        name: str,
        mode: Literal["paper", "live"] = "paper",
        allocations: list[dict[str, str]] | None = None,
    ) -> WalletSet:
        """Create a wallet set.

        name: A name for the wallet set (required).
        mode: paper or live.
        allocations: Funds the new wallet set is given at once: up to 100 of {exchange, currency, amount}.

        Needs a ``trade`` token.
        """
        params = _given(name=name, mode=mode, allocations=allocations)
        return cast(WalletSet, await self.call("create_wallet_set", **params))

    async def get_wallet_sets(self) -> list[WalletSetSummary]:
        """Every wallet set, without balances.

        Needs a ``read`` token.
        """
        return cast(list[WalletSetSummary], await self.call("get_wallet_sets"))

    async def get_wallet_set(self, *, wallet_set_id: int) -> WalletSet:
        """A wallet set with its wallets.

        wallet_set_id: A wallet set's id (required).

        Needs a ``read`` token.
        """
        params = _given(wallet_set_id=wallet_set_id)
        return cast(WalletSet, await self.call("get_wallet_set", **params))

    async def get_wallet(self, *, wallet_set_id: int, exchange: str, currency: str) -> WalletOfSet:
        """One wallet: balance, hold, available.

        wallet_set_id: A wallet set's id (required).
        exchange: An exchange by name (required).
        currency: A currency code (required).

        Needs a ``read`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, exchange=exchange, currency=currency)
        return cast(WalletOfSet, await self.call("get_wallet", **params))

    async def fund_wallet_set(
        self,
        *,
        wallet_set_id: int,
        exchange: str,
        currency: str,
        amount: Decimal | str,
    ) -> Funded:
        """Add funds to a wallet set (virtual money to a paper set; to a live set, from the real account).

        wallet_set_id: A wallet set's id (required).
        exchange: An exchange by name (required).
        currency: A currency code (required).
        amount: An amount of the currency (required).

        Needs a ``trade`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, exchange=exchange, currency=currency, amount=amount)
        return cast(Funded, await self.call("fund_wallet_set", **params))

    async def transfer(
        self,
        *,
        from_wallet_set_id: int,
        to_wallet_set_id: int,
        exchange: str,
        currency: str,
        amount: Decimal | str,
    ) -> Transferred:
        """Move available funds between two wallet sets of one mode.

        from_wallet_set_id: The wallet set the funds leave (required).
        to_wallet_set_id: The wallet set the funds go to (required).
        exchange: An exchange by name (required).
        currency: A currency code (required).
        amount: An amount of the currency (required).

        Needs a ``trade`` token.
        """
        params = _given(
            from_wallet_set_id=from_wallet_set_id,
            to_wallet_set_id=to_wallet_set_id,
            exchange=exchange,
            currency=currency,
            amount=amount,
        )
        return cast(Transferred, await self.call("transfer", **params))

    async def get_pnl(
        self,
        *,
        wallet_set_id: int,
        currency: str = "USD",
        exchange: str | None = None,
        pair: str | None = None,
        tag: str | None = None,
    ) -> Pnl:
        """Realized and unrealized P&L and fees per pair (average cost), valued in a chosen currency.

        wallet_set_id: A wallet set's id (required).
        currency: The currency to value in (through any chain of books).
        exchange: An exchange by name.
        pair: A pair in unified BASE_QUOTE form.
        tag: A strategy run's label: given to make_order, carried by the order and its fills; filters them.

        Needs a ``read`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, currency=currency, exchange=exchange, pair=pair, tag=tag)
        return cast(Pnl, await self.call("get_pnl", **params))

    async def get_wallet_history(
        self,
        *,
        wallet_set_id: int,
        start: float | None = None,
        end: float | None = None,
        interval: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "1m",
        limit: int = 100,
    ) -> WalletHistory:
        """The wallet set's total value in USD as sampled every minute, the last sample of each interval, paged.

        wallet_set_id: A wallet set's id (required).
        start: Start of the time range, Unix seconds (included).
        end: End of the time range, Unix seconds (excluded; default now).
        interval: Candle length: 1m, 5m, 15m, 1h, 4h or 1d.
        limit: At most this many.

        Needs a ``read`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, start=start, end=end, interval=interval, limit=limit)
        return cast(WalletHistory, await self.call("get_wallet_history", **params))

    async def withdraw(self, *, wallet_set_id: int, exchange: str, currency: str, amount: Decimal | str) -> Withdrawn:
        """Take available funds out of a wallet set (what open orders hold stays).

        wallet_set_id: A wallet set's id (required).
        exchange: An exchange by name (required).
        currency: A currency code (required).
        amount: An amount of the currency (required).

        Needs a ``trade`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, exchange=exchange, currency=currency, amount=amount)
        return cast(Withdrawn, await self.call("withdraw", **params))

    async def close_wallet_set(self, *, wallet_set_id: int) -> ClosedWalletSet:
        """Close a wallet set for good: cancel its open orders, return every balance; it stays readable.

        wallet_set_id: A wallet set's id (required).

        Needs a ``trade`` token.
        """
        params = _given(wallet_set_id=wallet_set_id)
        return cast(ClosedWalletSet, await self.call("close_wallet_set", **params))

    async def get_statement(
        self,
        *,
        wallet_set_id: int,
        start: float | None = None,
        end: float | None = None,
        currency: str | None = None,
        kind: StatementKindName | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Statement:
        """A wallet set's ledger entries with the balances after each, newest first, paged.

        wallet_set_id: A wallet set's id (required).
        start: Start of the time range, Unix seconds (included).
        end: End of the time range, Unix seconds (excluded; default now).
        currency: A currency code.
        kind: A statement line's kind.
        limit: At most this many.
        cursor: Page: the lines after this one (next_cursor of the previous page).

        Needs a ``read`` token.
        """
        params = _given(
            wallet_set_id=wallet_set_id,
            start=start,
            end=end,
            currency=currency,
            kind=kind,
            limit=limit,
            cursor=cursor,
        )
        return cast(Statement, await self.call("get_statement", **params))

    async def get_accounts(self, *, exchange: str | None = None) -> list[AccountView]:
        """Per exchange: the real account as reconciled, allocated, held, unallocated; the paper sets' totals.

        exchange: An exchange by name.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange)
        return cast(list[AccountView], await self.call("get_accounts", **params))

    async def get_alerts(self) -> Alerts:
        """The alerts firing now and the last cleared ones (docs/alerts.md).

        Needs a ``read`` token.
        """
        return cast(Alerts, await self.call("get_alerts"))


class Operations:
    """The operations of the service as methods."""

    call: Callable[..., Any]

    def echo(self, **params: Any) -> dict[str, Any]:
        """Return the body as given: a round-trip check.

        Needs a ``read`` token.
        """
        return cast(dict[str, Any], self.call("echo", **params))

    def get_status(self) -> Status:
        """Version, uptime, the exchanges and the database.

        Needs a ``read`` token.
        """
        return cast(Status, self.call("get_status"))

    def get_exchanges(self) -> dict[str, ExchangeState]:
        """Per exchange: trading mode, market-data status, pairs followed.

        Needs a ``read`` token.
        """
        return cast(dict[str, ExchangeState], self.call("get_exchanges"))

    def get_markets(self, *, exchange: str | None = None, pair: str | None = None) -> list[Market]:
        """Precision rules of the markets.

        exchange: An exchange by name.
        pair: A pair in unified BASE_QUOTE form.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair)
        return cast(list[Market], self.call("get_markets", **params))

    def get_pricing(self, *, exchange: str | None = None) -> list[Pricing]:
        """Bid, ask, mid and last trade of every followed pair.

        exchange: An exchange by name.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange)
        return cast(list[Pricing], self.call("get_pricing", **params))

    def get_book(self, *, exchange: str, pair: str, depth: int = 10) -> Book:
        """The top levels of a book, best first, with its state and age.

        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        depth: Levels per side.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair, depth=depth)
        return cast(Book, self.call("get_book", **params))

    def get_trades(
        self,
        *,
        exchange: str,
        pair: str,
        limit: int = 100,
        start: float | None = None,
        end: float | None = None,
    ) -> list[Trade]:
        """The latest public trades of a pair, newest first; with start, the stored ones from then, oldest first.

        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        limit: At most this many.
        start: Start of the time range, Unix seconds (included).
        end: End of the time range, Unix seconds (excluded; default now).

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair, limit=limit, start=start, end=end)
        return cast(list[Trade], self.call("get_trades", **params))

    def get_ohlc(
        self,
        *,
        exchange: str,
        pair: str,
        interval: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "1m",
        start: float | None = None,
        end: float | None = None,
        limit: int = 100,
    ) -> CandlePage:
        """OHLC candles from the stored market history, oldest first, paged.

        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        interval: Candle length: 1m, 5m, 15m, 1h, 4h or 1d.
        start: Start of the time range, Unix seconds (included).
        end: End of the time range, Unix seconds (excluded; default now).
        limit: At most this many.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair, interval=interval, start=start, end=end, limit=limit)
        return cast(CandlePage, self.call("get_ohlc", **params))

    def get_book_tops(
        self,
        *,
        exchange: str,
        pair: str,
        start: float,
        end: float | None = None,
        limit: int = 100,
    ) -> BookTopPage:
        """Best bid and ask with their sizes as sampled into the stored market history, oldest first, paged.

        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        start: Start of the time range, Unix seconds (included) (required).
        end: End of the time range, Unix seconds (excluded; default now).
        limit: At most this many.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange, pair=pair, start=start, end=end, limit=limit)
        return cast(BookTopPage, self.call("get_book_tops", **params))

    def advance_replay(self, *, until: float) -> ReplayState:
        """Play a stepped replay up to a recorded moment and hold there.

        until: The recorded moment to play the replay up to, Unix seconds (required).

        Needs a ``trade`` token.
        """
        params = _given(until=until)
        return cast(ReplayState, self.call("advance_replay", **params))

    def make_order(
        self,
        *,
        wallet_set_id: int,
        exchange: str,
        pair: str,
        side: Literal["buy", "sell"],
        type: Literal["market", "limit", "stop_market", "stop_limit"] = "limit",
        size: Decimal | str | None = None,
        funds: Decimal | str | None = None,
        price: Decimal | str | None = None,
        stop_price: Decimal | str | None = None,
        time_in_force: Literal["GTC", "IOC", "FOK", "GTD"] = "GTC",
        expire_time: float | None = None,
        post_only: bool = False,
        client_order_id: str | None = None,
        strict: bool = False,
        tag: str | None = None,
    ) -> Order:
        """Place an order.

        wallet_set_id: A wallet set's id (required).
        exchange: An exchange by name (required).
        pair: A pair in unified BASE_QUOTE form (required).
        side: buy or sell (required).
        type: Order type.
        size: Size in base units.
        funds: Quote amount to spend (market buy without a size).
        price: Limit price.
        stop_price: Stop trigger price (stop_market, stop_limit).
        time_in_force: GTC, IOC, FOK, or GTD with expire_time.
        expire_time: When a GTD order expires, Unix seconds.
        post_only: Refuse to take liquidity (limit orders).
        client_order_id: Your id for the order; placing it again returns the first order.
        strict: Refuse a price or size off the market's grid instead of rounding it.
        tag: A strategy run's label: given to make_order, carried by the order and its fills; filters them.

        Needs a ``trade`` token.
        """
        params = _given(
            wallet_set_id=wallet_set_id,
            exchange=exchange,
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
        return cast(Order, self.call("make_order", **params))

    def get_orders(
        self,
        *,
        wallet_set_id: int | None = None,
        exchange: str | None = None,
        pair: str | None = None,
        status: Literal["open", "recent"] = "open",
        limit: int = 100,
        before: int | None = None,
        tag: str | None = None,
    ) -> OrderPage:
        """Open or recent orders, newest first.

        wallet_set_id: A wallet set's id.
        exchange: An exchange by name.
        pair: A pair in unified BASE_QUOTE form.
        status: Open orders only, or recent ones too.
        limit: At most this many.
        before: Page: orders older than this id (next_before of the previous page).
        tag: A strategy run's label: given to make_order, carried by the order and its fills; filters them.

        Needs a ``read`` token.
        """
        params = _given(
            wallet_set_id=wallet_set_id,
            exchange=exchange,
            pair=pair,
            status=status,
            limit=limit,
            before=before,
            tag=tag,
        )
        return cast(OrderPage, self.call("get_orders", **params))

    def cancel_all_orders(
        self,
        *,
        wallet_set_id: int | None = None,
        exchange: str | None = None,
        pair: str | None = None,
    ) -> Cancelled:
        """Cancel every open order matching the filters.

        wallet_set_id: A wallet set's id.
        exchange: An exchange by name.
        pair: A pair in unified BASE_QUOTE form.

        Needs a ``trade`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, exchange=exchange, pair=pair)
        return cast(Cancelled, self.call("cancel_all_orders", **params))

    def get_order(
        self,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
        wallet_set_id: int | None = None,
    ) -> OrderWithEvents:
        """One order with its fills and events.

        order_id: An order's id as xWrap gave it.
        client_order_id: Your id for the order; placing it again returns the first order.
        wallet_set_id: A wallet set's id.

        Needs a ``read`` token.
        """
        params = _given(order_id=order_id, client_order_id=client_order_id, wallet_set_id=wallet_set_id)
        return cast(OrderWithEvents, self.call("get_order", **params))

    def cancel_order(
        self,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
        wallet_set_id: int | None = None,
    ) -> Order:
        """Cancel an order.

        order_id: An order's id as xWrap gave it.
        client_order_id: Your id for the order; placing it again returns the first order.
        wallet_set_id: A wallet set's id.

        Needs a ``trade`` token.
        """
        params = _given(order_id=order_id, client_order_id=client_order_id, wallet_set_id=wallet_set_id)
        return cast(Order, self.call("cancel_order", **params))

    def amend_order(
        self,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
        wallet_set_id: int | None = None,
        price: Decimal | str | None = None,
        size: Decimal | str | None = None,
        strict: bool = False,
    ) -> Order:
        """Change an open order's price or size.

        order_id: An order's id as xWrap gave it.
        client_order_id: Your id for the order; placing it again returns the first order.
        wallet_set_id: A wallet set's id.
        price: Limit price.
        size: Size in base units.
        strict: Refuse a price or size off the market's grid instead of rounding it.

        Needs a ``trade`` token.
        """
        params = _given(
            order_id=order_id,
            client_order_id=client_order_id,
            wallet_set_id=wallet_set_id,
            price=price,
            size=size,
            strict=strict,
        )
        return cast(Order, self.call("amend_order", **params))

    def get_fills(
        self,
        *,
        order_id: str | None = None,
        wallet_set_id: int | None = None,
        limit: int = 100,
        tag: str | None = None,
    ) -> list[Fill]:
        """The fills of one order, or of a wallet set's recent orders.

        order_id: An order's id as xWrap gave it.
        wallet_set_id: A wallet set's id.
        limit: At most this many.
        tag: A strategy run's label: given to make_order, carried by the order and its fills; filters them.

        Needs a ``read`` token.
        """
        params = _given(order_id=order_id, wallet_set_id=wallet_set_id, limit=limit, tag=tag)
        return cast(list[Fill], self.call("get_fills", **params))

    def create_wallet_set(
        self,
        *,
        name: str,
        mode: Literal["paper", "live"] = "paper",
        allocations: list[dict[str, str]] | None = None,
    ) -> WalletSet:
        """Create a wallet set.

        name: A name for the wallet set (required).
        mode: paper or live.
        allocations: Funds the new wallet set is given at once: up to 100 of {exchange, currency, amount}.

        Needs a ``trade`` token.
        """
        params = _given(name=name, mode=mode, allocations=allocations)
        return cast(WalletSet, self.call("create_wallet_set", **params))

    def get_wallet_sets(self) -> list[WalletSetSummary]:
        """Every wallet set, without balances.

        Needs a ``read`` token.
        """
        return cast(list[WalletSetSummary], self.call("get_wallet_sets"))

    def get_wallet_set(self, *, wallet_set_id: int) -> WalletSet:
        """A wallet set with its wallets.

        wallet_set_id: A wallet set's id (required).

        Needs a ``read`` token.
        """
        params = _given(wallet_set_id=wallet_set_id)
        return cast(WalletSet, self.call("get_wallet_set", **params))

    def get_wallet(self, *, wallet_set_id: int, exchange: str, currency: str) -> WalletOfSet:
        """One wallet: balance, hold, available.

        wallet_set_id: A wallet set's id (required).
        exchange: An exchange by name (required).
        currency: A currency code (required).

        Needs a ``read`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, exchange=exchange, currency=currency)
        return cast(WalletOfSet, self.call("get_wallet", **params))

    def fund_wallet_set(self, *, wallet_set_id: int, exchange: str, currency: str, amount: Decimal | str) -> Funded:
        """Add funds to a wallet set (virtual money to a paper set; to a live set, from the real account).

        wallet_set_id: A wallet set's id (required).
        exchange: An exchange by name (required).
        currency: A currency code (required).
        amount: An amount of the currency (required).

        Needs a ``trade`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, exchange=exchange, currency=currency, amount=amount)
        return cast(Funded, self.call("fund_wallet_set", **params))

    def transfer(
        self,
        *,
        from_wallet_set_id: int,
        to_wallet_set_id: int,
        exchange: str,
        currency: str,
        amount: Decimal | str,
    ) -> Transferred:
        """Move available funds between two wallet sets of one mode.

        from_wallet_set_id: The wallet set the funds leave (required).
        to_wallet_set_id: The wallet set the funds go to (required).
        exchange: An exchange by name (required).
        currency: A currency code (required).
        amount: An amount of the currency (required).

        Needs a ``trade`` token.
        """
        params = _given(
            from_wallet_set_id=from_wallet_set_id,
            to_wallet_set_id=to_wallet_set_id,
            exchange=exchange,
            currency=currency,
            amount=amount,
        )
        return cast(Transferred, self.call("transfer", **params))

    def get_pnl(
        self,
        *,
        wallet_set_id: int,
        currency: str = "USD",
        exchange: str | None = None,
        pair: str | None = None,
        tag: str | None = None,
    ) -> Pnl:
        """Realized and unrealized P&L and fees per pair (average cost), valued in a chosen currency.

        wallet_set_id: A wallet set's id (required).
        currency: The currency to value in (through any chain of books).
        exchange: An exchange by name.
        pair: A pair in unified BASE_QUOTE form.
        tag: A strategy run's label: given to make_order, carried by the order and its fills; filters them.

        Needs a ``read`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, currency=currency, exchange=exchange, pair=pair, tag=tag)
        return cast(Pnl, self.call("get_pnl", **params))

    def get_wallet_history(
        self,
        *,
        wallet_set_id: int,
        start: float | None = None,
        end: float | None = None,
        interval: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "1m",
        limit: int = 100,
    ) -> WalletHistory:
        """The wallet set's total value in USD as sampled every minute, the last sample of each interval, paged.

        wallet_set_id: A wallet set's id (required).
        start: Start of the time range, Unix seconds (included).
        end: End of the time range, Unix seconds (excluded; default now).
        interval: Candle length: 1m, 5m, 15m, 1h, 4h or 1d.
        limit: At most this many.

        Needs a ``read`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, start=start, end=end, interval=interval, limit=limit)
        return cast(WalletHistory, self.call("get_wallet_history", **params))

    def withdraw(self, *, wallet_set_id: int, exchange: str, currency: str, amount: Decimal | str) -> Withdrawn:
        """Take available funds out of a wallet set (what open orders hold stays).

        wallet_set_id: A wallet set's id (required).
        exchange: An exchange by name (required).
        currency: A currency code (required).
        amount: An amount of the currency (required).

        Needs a ``trade`` token.
        """
        params = _given(wallet_set_id=wallet_set_id, exchange=exchange, currency=currency, amount=amount)
        return cast(Withdrawn, self.call("withdraw", **params))

    def close_wallet_set(self, *, wallet_set_id: int) -> ClosedWalletSet:
        """Close a wallet set for good: cancel its open orders, return every balance; it stays readable.

        wallet_set_id: A wallet set's id (required).

        Needs a ``trade`` token.
        """
        params = _given(wallet_set_id=wallet_set_id)
        return cast(ClosedWalletSet, self.call("close_wallet_set", **params))

    def get_statement(
        self,
        *,
        wallet_set_id: int,
        start: float | None = None,
        end: float | None = None,
        currency: str | None = None,
        kind: StatementKindName | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Statement:
        """A wallet set's ledger entries with the balances after each, newest first, paged.

        wallet_set_id: A wallet set's id (required).
        start: Start of the time range, Unix seconds (included).
        end: End of the time range, Unix seconds (excluded; default now).
        currency: A currency code.
        kind: A statement line's kind.
        limit: At most this many.
        cursor: Page: the lines after this one (next_cursor of the previous page).

        Needs a ``read`` token.
        """
        params = _given(
            wallet_set_id=wallet_set_id,
            start=start,
            end=end,
            currency=currency,
            kind=kind,
            limit=limit,
            cursor=cursor,
        )
        return cast(Statement, self.call("get_statement", **params))

    def get_accounts(self, *, exchange: str | None = None) -> list[AccountView]:
        """Per exchange: the real account as reconciled, allocated, held, unallocated; the paper sets' totals.

        exchange: An exchange by name.

        Needs a ``read`` token.
        """
        params = _given(exchange=exchange)
        return cast(list[AccountView], self.call("get_accounts", **params))

    def get_alerts(self) -> Alerts:
        """The alerts firing now and the last cleared ones (docs/alerts.md).

        Needs a ``read`` token.
        """
        return cast(Alerts, self.call("get_alerts"))
