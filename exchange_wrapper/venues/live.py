"""The exchange itself: live orders go to the exchange account of their exchange
(:class:`~exchange_wrapper.connectors.account.LiveAccount`), whose events come back through the order
path like the virtual exchange's (docs/live-trading.md)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ..config import Settings
from ..connectors.account import LiveAccount
from ..core.book import OrderBook, Walk
from ..core.errors import ExchangeNotLive, InvalidParameter
from ..core.ledger import Mode
from ..core.markets import Market
from ..core.money import format_decimal
from ..core.orders import Order, OrderEvent
from ..core.pairs import Pair
from ..marketdata.hub import MarketDataHub
from . import OrderView, amended_event

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
    that have a private adapter). A new order is measured against the followed book, if any."""

    mode = Mode.LIVE

    def __init__(
        self, settings: Settings, hub: MarketDataHub, accounts: dict[str, LiveAccount], *, clock: Callable[[], float]
    ):
        self.settings, self.hub, self.accounts, self.clock = settings, hub, accounts, clock

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
