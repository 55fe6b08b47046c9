"""The virtual exchange: virtual orders matched against the real live book, one engine per market.

The engine is pure and synchronous. Book changes go through :meth:`MatchingEngine.apply_delta` and
:meth:`~MatchingEngine.apply_snapshot`, which first let orders whose latency has run out meet the
book as it was, then change the book and fill what the change reaches; public trades go to
:meth:`~MatchingEngine.on_trade`.
Every call returns the :class:`~exchange_wrapper.core.orders.OrderEvent` list to persist and publish,
in order. ``docs/matching.md`` describes the model: consumed liquidity, the queue, latency.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import operator
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from .book import BookSide, Ladder, Level, OrderBook, Walk
from .errors import InvalidParameter, OrderNotFound
from .markets import Market
from .money import ZERO, format_decimal, quantize_down
from .orders import (
    FINAL_STATUSES,
    LIMIT_TYPES,
    STOP_TYPES,
    Fill,
    Liquidity,
    Order,
    OrderEvent,
    OrderStatus,
    Side,
    TimeInForce,
)

#: Fees are rounded up to this quantum: never undercharged, and within what the database stores.
FEE_QUANTUM = Decimal("1e-18")

BID, ASK = BookSide.BID, BookSide.ASK
# Module constants for the hot paths: reading an Enum member off its class is a slow attribute lookup.
_BUY = Side.BUY
_MAKER, _TAKER = Liquidity.MAKER, Liquidity.TAKER
_PENDING, _OPEN = OrderStatus.PENDING, OrderStatus.OPEN
_GTD, _FOK = TimeInForce.GTD, TimeInForce.FOK
_RESTING_TIFS = frozenset({TimeInForce.GTC, TimeInForce.GTD})


def taken_side(side: Side) -> BookSide:
    """The book side an order of ``side`` takes from: a buy takes asks."""
    return ASK if side is _BUY else BID


def resting_side(side: Side) -> BookSide:
    """The book side an order of ``side`` rests on: a buy rests on the bids."""
    return BID if side is _BUY else ASK


def better_or_equal(side: BookSide, price: Decimal, than: Decimal) -> bool:
    """Whether ``price`` is at least as good as ``than`` for a taker on ``side`` (lower ask, higher bid)."""
    return price <= than if side is ASK else price >= than


def fee_for(value: Decimal, rate: Decimal) -> Decimal:
    return (value * rate).quantize(FEE_QUANTUM, ROUND_CEILING)  # positional: a keyword costs more


def _best_first(ladder: Ladder) -> Iterator[Level]:
    """The ladder's levels best first, the first one read from ``ladder.best`` (kept current by the
    book, so free): what stops at the best level never walks the ladder's heap."""
    best = ladder.best
    if best is not None:
        yield best
        levels = iter(ladder)
        next(levels)  # the best level again
        yield from levels


def _resting_size(order: Order) -> Decimal:
    size = order.remaining_size
    assert size is not None  # a resting order is a limit order, given by size
    return size


@dataclass(frozen=True)
class LatencyModel:
    """Order-entry and cancel latency in seconds: zero, fixed, uniform (centre ± jitter) or
    normal (mean, standard deviation ``jitter``, never below zero)."""

    model: str = "zero"
    order: float = 0.0
    cancel: float = 0.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.model not in ("zero", "fixed", "uniform", "normal"):
            raise InvalidParameter("paper.latency.model", "zero, fixed, uniform or normal", self.model)

    def draw(self, centre: float, rng: random.Random) -> float:
        if self.model == "zero":
            return 0.0
        if self.model == "fixed":
            return centre
        if self.model == "uniform":
            return max(0.0, rng.uniform(centre - self.jitter, centre + self.jitter))
        return max(0.0, rng.gauss(centre, self.jitter))


@dataclass(eq=False, slots=True)
class _Resting:
    """A resting virtual order, the price it rests at and the real size queued ahead of it there."""

    order: Order
    price: Decimal
    ahead: Decimal
    joined: int


class _SideState:
    """What virtual orders do on one side of the book: rest there, and take from it."""

    __slots__ = ("side", "queues", "prices", "consumed", "unmatched_trades", "better_or_equal")

    def __init__(self, side: BookSide):
        self.side = side
        self.queues: dict[Decimal, list[_Resting]] = {}  # resting virtual orders by price, in time order
        self.prices: list[Decimal] = []  # the prices of ``queues``, ascending
        self.consumed: dict[Decimal, Decimal] = {}  # real size virtual orders took, by price
        self.unmatched_trades: dict[Decimal, Decimal] = {}
        # better_or_equal(side, ...) for this side, as a C function
        self.better_or_equal: Callable[[Decimal, Decimal], bool] = operator.le if side is ASK else operator.ge

    def best_resting(self) -> Decimal:
        """The best price a virtual order rests at (``prices`` must not be empty)."""
        return self.prices[-1] if self.side is BID else self.prices[0]


class MatchingEngine:
    """Matches virtual orders of one market against its live book and its public trades.

    ``book`` is the live book the engine reads (it never writes it). Fees are the market's defaults
    unless ``maker_fee``/``taker_fee`` are given. ``rng`` draws latencies (seed it in tests).
    """

    def __init__(
        self,
        market: Market,
        book: OrderBook,
        *,
        maker_fee: Decimal | None = None,
        taker_fee: Decimal | None = None,
        latency: LatencyModel = LatencyModel(),
        rng: random.Random | None = None,
    ):
        self.market = market
        self.book = book
        self.maker_fee = market.maker_fee if maker_fee is None else maker_fee
        self.taker_fee = market.taker_fee if taker_fee is None else taker_fee
        self.latency = latency
        self.rng = rng or random.Random()
        self.last_trade_price: Decimal | None = None
        self._orders: dict[str, Order] = {}
        self._budgets: dict[str, Decimal] = {}
        self._sides = {BID: _SideState(BID), ASK: _SideState(ASK)}
        self._by_id: dict[str, _Resting] = {}
        self._stops: dict[str, Order] = {}
        self._arrivals: list[tuple[float, int, str, str, dict[str, Any]]] = []
        self._expiries: list[tuple[float, int, str]] = []  # (expire_time, sequence, order id) of GTD orders
        self._sequence = itertools.count()

    # -- requests ---------------------------------------------------------------------------------

    def submit(self, order: Order, at: float, *, budget: Decimal | None = None) -> list[OrderEvent]:
        """Accept a new ``pending`` order sent at time ``at``.

        ``budget`` caps the quote currency a buy may spend on fills and fees (its wallet hold).
        With latency the order stays pending until the book reaches its arrival time. What falls
        due by ``at`` (other orders' arrivals and cancels, GTD expiries) happens first, whenever
        the tick last ran: an order sent at ``at`` comes after everything due before it.
        """
        if order.status is not _PENDING:
            raise InvalidParameter("order", "a pending order", order.status.value)
        due = self.advance(at) if self._arrivals or self._expiries else []
        self._track(order, budget)
        delay = self.latency.draw(self.latency.order, self.rng)
        if delay <= 0:
            return due + self._arrive(order, at)
        self._schedule(at + delay, "arrive", order.id, {})
        return due

    def cancel(self, order_id: str, at: float, reason: str = "cancelled") -> list[OrderEvent]:
        """Cancel an open order; with cancel latency it may still fill until the cancel arrives.
        What falls due by ``at`` happens first (it may finish the order: then only that is returned)."""
        order = self._open_order(order_id)
        due = self.advance(at) if self._arrivals or self._expiries else []
        if not order.is_open:
            return due
        delay = self.latency.draw(self.latency.cancel, self.rng)
        if delay <= 0:
            return due + self._cancel_now(order, at, reason)
        self._schedule(at + delay, "cancel", order.id, {"reason": reason})
        return due

    def amend(
        self, order_id: str, at: float, *, price: Decimal | None = None, size: Decimal | None = None
    ) -> list[OrderEvent]:
        """Change a resting limit order's price and/or total size.

        A smaller size at the same price keeps the queue position; a new price or a larger size
        joins the back of the queue, as on real exchanges. A new price that crosses the book takes
        liquidity first (a post-only order is refused instead).
        """
        order = self.check_amend(order_id, price=price, size=size)
        new_price = order.price if price is None else price
        new_size = order.size if size is None else size
        assert new_price is not None and new_size is not None and order.size is not None
        if new_price == order.price and new_size <= order.size:
            order.size = new_size
            return []
        self._unrest(self._by_id[order_id])
        order.price, order.size = new_price, new_size
        events = self._take(order, at)
        if order.is_open:
            self._rest(order)
        return events

    def check_amend(self, order_id: str, *, price: Decimal | None = None, size: Decimal | None = None) -> Order:
        """Raise what :meth:`amend` with these arguments would raise now, changing nothing; returns
        the order. The service checks first, holds what the amend needs, then amends."""
        order = self._open_order(order_id)
        if order_id not in self._by_id:
            raise InvalidParameter("order_id", "a resting limit order", order_id)
        if size is not None and size <= order.filled_size:
            raise InvalidParameter(
                "size", f"more than the filled size {format_decimal(order.filled_size)}", format_decimal(size)
            )
        new_price = order.price if price is None else price
        assert new_price is not None
        if order.post_only and new_price != order.price and self._would_take(order.side, new_price):
            raise InvalidParameter(
                "price", "a price that does not take liquidity (post-only order)", format_decimal(new_price)
            )
        return order

    def advance(self, now: float) -> list[OrderEvent]:
        """Process what falls due by ``now``: arrivals and cancels after latency, GTD expiries."""
        return self.before_update(now, inclusive=True)

    def restore(self, order: Order, at: float, *, budget: Decimal | None = None) -> list[OrderEvent]:
        """Take back an open order loaded from the database after a restart.

        A resting order rejoins the back of the queue at its price (its old position is unknown);
        a pending one arrives now.
        """
        self._track(order, budget)
        if order.status is _PENDING:
            return self._arrive(order, at)
        if order.type.is_stop and not order.triggered:
            self._stops[order.id] = order
        else:
            self._rest(order)
        return []

    def _track(self, order: Order, budget: Decimal | None) -> None:
        self._orders[order.id] = order
        if budget is not None:
            self._budgets[order.id] = budget
        if order.time_in_force is _GTD and order.expire_time is not None:
            heapq.heappush(self._expiries, (order.expire_time, next(self._sequence), order.id))

    def set_budget(self, order_id: str, budget: Decimal) -> None:
        """Change what a buy may spend in all (fills and fees), e.g. after an amend moved its hold."""
        self._open_order(order_id)
        self._budgets[order_id] = budget

    def walk(self, side: Side, size: Decimal) -> Walk:
        """What taking ``size`` now would take, level by level, best first: the book less what
        virtual orders took from it, with the virtual orders resting there (:meth:`Ladder.walk`
        on the book alone)."""
        levels: list[Level] = []
        filled = cost = ZERO
        for price, available, _ in self._liquidity(side, None):
            take = min(available, size - filled)
            if take <= 0:
                break
            levels.append((price, take))
            filled += take
            cost += take * price
        return Walk(tuple(levels), filled, cost)

    def open_orders(self) -> list[Order]:
        return [o for o in self._orders.values() if o.is_open]

    def queue_ahead(self, order_id: str) -> Decimal:
        """The real size queued ahead of a resting order (for tests and ``get_order``)."""
        return self._by_id[order_id].ahead

    def visible_size(self, side: BookSide, price: Decimal) -> Decimal:
        """What a level shows to virtual orders: its real size less what virtual orders took there."""
        return max(ZERO, self.book.ladder(side).size_at(price) - self._sides[side].consumed.get(price, ZERO))

    # -- market data ------------------------------------------------------------------------------

    def apply_delta(self, side: BookSide, price: Decimal, size: Decimal, at: float) -> list[OrderEvent]:
        """Change one level of the book through the engine: due orders first, then the change."""
        due = self.before_update(at) if self._arrivals or self._expiries else None
        previous = self.book.apply_delta(side, price, size, at)
        changes = self.on_book_change(side, price, previous, size, at)
        return due + changes if due else changes

    def apply_snapshot(self, bids: Any, asks: Any, at: float, sequence: int | None = None) -> list[OrderEvent]:
        """Rebuild the book through the engine: due orders first, then the snapshot."""
        events = self.before_update(at)
        self.book.apply_snapshot(bids, asks, at, sequence)
        return events + self.on_book_snapshot(at)

    def before_update(self, at: float, *, inclusive: bool = False) -> list[OrderEvent]:
        """Let what falls due before ``at`` happen, in time order, on the book as it is now: orders
        and cancels whose latency ends, GTD orders whose expiry time comes (expired at that time)."""
        events: list[OrderEvent] = []
        expiries = self._expiries
        while True:
            arrivals = self._arrivals  # a cancel of a pending order makes a new list
            arrival = arrivals[0][0] if arrivals else None
            expiry = expiries[0][0] if expiries else None
            if expiry is not None and (arrival is None or expiry < arrival):
                if not (expiry < at or (inclusive and expiry <= at)):
                    break
                _, _, order_id = heapq.heappop(expiries)
                order = self._orders.get(order_id)
                # a pending order meets its expiry on arrival
                if order is not None and order.is_open and order.status is not _PENDING:
                    events += self._finish(order, OrderStatus.EXPIRED, expiry, "expired")
                continue
            if arrival is None or not (arrival < at or (inclusive and arrival <= at)):
                break
            due, _, kind, order_id, extra = heapq.heappop(arrivals)
            order = self._orders.get(order_id)
            if order is None or not order.is_open:
                continue
            if kind == "arrive":
                events += self._arrive(order, due)
            else:
                events += self._cancel_now(order, due, extra["reason"])
        return events

    def on_book_change(
        self, side: BookSide, price: Decimal, previous: Decimal, size: Decimal, at: float
    ) -> list[OrderEvent]:
        """A level of the real book went from ``previous`` to ``size`` (0: removed)."""
        state = self._sides[side]
        if size < previous:
            consumed = state.consumed
            if consumed and price in consumed:
                left = consumed[price] - (previous - size)
                if left > 0 and size > 0:
                    consumed[price] = left
                else:
                    del consumed[price]
            queue = state.queues.get(price)
            if queue is not None:
                self._move_queue(state, price, queue, previous, size)
        elif size > previous:
            opposite = ASK if side is BID else BID
            resting = self._sides[opposite]
            if resting.prices and state.better_or_equal(price, resting.best_resting()):
                return self._fill_crossed(opposite, at)
        return []

    def on_book_snapshot(self, at: float) -> list[OrderEvent]:
        """The book was rebuilt: keep what is consistent with it and fill what it now crosses."""
        for side, state in self._sides.items():
            ladder = self.book.ladder(side)
            consumed = state.consumed
            for price in list(consumed):
                real = ladder.size_at(price)
                if real <= 0:
                    del consumed[price]
                else:
                    consumed[price] = min(consumed[price], real)
            for price, queue in state.queues.items():
                real = ladder.size_at(price)
                for entry in queue:
                    entry.ahead = min(entry.ahead, real)
            state.unmatched_trades.clear()
        return self._fill_crossed(BID, at) + self._fill_crossed(ASK, at)

    def on_trade(
        self, trade_id: str, price: Decimal, size: Decimal, taker: Side, at: float, time: float | None = None
    ) -> list[OrderEvent]:
        """A public trade printed: it moves queues, fills resting orders it reaches, triggers stops.
        ``time`` is the exchange's time of the print, which the fills' cause carries where given."""
        events = self.before_update(at)
        self.last_trade_price = price
        side = resting_side(taker.opposite)  # a taker sell hits the bids
        prices = self._sides[side].prices
        if prices:
            reached = (
                prices[bisect.bisect_left(prices, price) :]
                if side is BID
                else prices[: bisect.bisect_right(prices, price)]
            )
            if side is BID:
                reached.reverse()
            for level in reached:
                events += self._fill_from_trade(side, level, trade_id, price, size, at, time)
        if self._stops:
            events += self._trigger_stops(price, at)
        return events

    # -- arrival and taking -----------------------------------------------------------------------

    def _arrive(self, order: Order, at: float) -> list[OrderEvent]:
        if not self.book.live:
            return [order.transition(OrderStatus.REJECTED, at, f"book {self.market.name} is {self.book.state.value}")]
        if order.post_only and order.price is not None and self._would_take(order.side, order.price):
            return [order.transition(OrderStatus.REJECTED, at, "post-only order would take liquidity")]
        events = [order.transition(_OPEN, at)]
        if order.time_in_force is _GTD and order.expire_time is not None and order.expire_time <= at:
            return events + self._finish(order, OrderStatus.EXPIRED, at, "expired")
        if order.type in STOP_TYPES and not order.triggered:
            if self._stop_reached(order, self.last_trade_price):
                order.triggered = True
            else:
                self._stops[order.id] = order
                return events
        events += self._execute(order, at)
        return events

    def _execute(self, order: Order, at: float) -> list[OrderEvent]:
        """Take what the order can take now, then rest or cancel the rest by its time in force."""
        if order.time_in_force is _FOK and not self._fillable_whole(order):
            return self._finish(order, OrderStatus.CANCELLED, at, "fill-or-kill order could not fill whole")
        events = self._take(order, at)
        if order.status in FINAL_STATUSES:
            return events
        has_limit = order.type in LIMIT_TYPES
        if has_limit and order.time_in_force in _RESTING_TIFS:
            self._rest(order)
            return events
        if has_limit:
            reason = "immediate-or-cancel remainder cancelled"
        elif next(self._liquidity(order.side, None), None) is None:
            reason = "no more liquidity for the market order"
        else:
            reason = "market order stopped at its wallet hold"
        return events + self._finish(order, OrderStatus.CANCELLED, at, reason)

    def _take(self, order: Order, at: float) -> list[OrderEvent]:
        book_side = taken_side(order.side)
        state = self._sides[book_side]
        limit = order.price if order.type in LIMIT_TYPES else None
        if state.prices:
            return self._take_merged(order, at, book_side, state, limit)
        # No virtual order rests on the side taken: walk the real levels alone, as _best_first
        # would but without a generator (a tenth of the cost of an order that takes one level).
        events: list[OrderEvent] = []
        consumed, better_or_equal_ = state.consumed, state.better_or_equal
        ladder = self.book.ladder(book_side)
        level, further = ladder.best, None
        while level is not None:
            price, shown = level
            if limit is not None and not better_or_equal_(price, limit):
                break
            available = shown - consumed.get(price, ZERO) if consumed else shown
            if available > 0:
                size = self._affordable(order, price, available)
                if size <= 0:
                    break
                events.append(self._take_level(order, consumed, price, shown, size, at))
                if order.status in FINAL_STATUSES:
                    break
            if further is None:
                further = iter(ladder)
                next(further)  # the best level, seen above
            level = next(further, None)
        return events

    def _take_merged(
        self, order: Order, at: float, book_side: BookSide, state: _SideState, limit: Decimal | None
    ) -> list[OrderEvent]:
        events: list[OrderEvent] = []
        for price, available, source in self._merged_liquidity(book_side, state, limit):
            size = self._affordable(order, price, available)
            if size <= 0:
                break
            if type(source) is _Resting:
                events += self._match_virtual(order, source, size, at)
            else:
                events.append(self._take_level(order, state.consumed, price, source, size, at))
            if order.status in FINAL_STATUSES:
                break
        return events

    def _take_level(
        self, order: Order, consumed: dict[Decimal, Decimal], price: Decimal, shown: Decimal, size: Decimal, at: float
    ) -> OrderEvent:
        before = consumed.get(price, ZERO)
        consumed[price] = before + size
        cause = {"type": "book_level", "price": price, "size_shown": shown, "consumed_before": before}
        return self._fill(order, price, size, _TAKER, at, self._book_state(cause))

    def _book_state(self, cause: dict[str, Any]) -> dict[str, Any]:
        """``cause`` with the book state a fill matched, to check it against the recording: the
        exchange's update id the book is at (``book_sequence``, where the exchange numbers
        updates), the time xWrap received the message that left the book so (``book_time``: the
        line to find in a recording) and the exchange's own time of that state
        (``book_exchange_time``, where the exchange stamps its book messages)."""
        book = self.book
        if book.sequence is not None:
            cause["book_sequence"] = book.sequence
        cause["book_time"] = book.updated_at
        if book.exchange_time is not None:
            cause["book_exchange_time"] = book.exchange_time
        return cause

    def _affordable(self, order: Order, price: Decimal, available: Decimal) -> Decimal:
        """How much of ``available`` at ``price`` the order can still take (size, funds, budget)."""
        size = available
        if order.size is not None:
            remaining = order.size - order.filled_size
            if remaining < size:
                size = remaining
        if order.funds is not None:
            cap = quantize_down((order.funds - order.executed_value) / price, self.market.size_step)
            if cap < size:
                size = cap
        if self._budgets:
            budget = self._budget_left(order)
            if budget is not None:
                size = min(size, quantize_down(budget / (price * (1 + self.taker_fee)), self.market.size_step))
        return size

    def _budget_left(self, order: Order) -> Decimal | None:
        budget = self._budgets.get(order.id)
        if budget is None or order.side is not _BUY:
            return None
        return budget - order.executed_value - order.fees

    def _liquidity(self, side: Side, limit: Decimal | None) -> Iterator[tuple[Decimal, Decimal, Any]]:
        """What a taker on ``side`` can take, best price first, as (price, available, source): real
        levels (less what virtual orders took; source: the size the level shows) and resting
        virtual orders (source: their :class:`_Resting`), real size first at equal prices."""
        book_side = taken_side(side)
        return self._merged_liquidity(book_side, self._sides[book_side], limit)

    def _merged_liquidity(
        self, book_side: BookSide, state: _SideState, limit: Decimal | None
    ) -> Iterator[tuple[Decimal, Decimal, Any]]:
        consumed, better_or_equal_ = state.consumed, state.better_or_equal
        real = _best_first(self.book.ladder(book_side))
        virtual = self._virtual_best_first(state)
        next_real = next(real, None)
        next_virtual = next(virtual, None)
        while next_real is not None or next_virtual is not None:
            if next_real is not None and (next_virtual is None or better_or_equal_(next_real[0], next_virtual.price)):
                price, size = next_real
                next_real = next(real, None)
                if limit is not None and not better_or_equal_(price, limit):
                    return
                available = size - consumed.get(price, ZERO) if consumed else size
                if available > 0:
                    yield price, available, size
            else:
                entry = next_virtual
                assert entry is not None  # the loop goes on while either is left, and no real level is
                next_virtual = next(virtual, None)
                price = entry.price
                if limit is not None and not better_or_equal_(price, limit):
                    return
                yield price, _resting_size(entry.order), entry

    @staticmethod
    def _virtual_best_first(state: _SideState) -> Iterator[_Resting]:
        ordered = reversed(state.prices) if state.side is BID else iter(state.prices)
        for price in list(ordered):
            yield from list(state.queues.get(price, ()))

    def _would_take(self, side: Side, price: Decimal) -> bool:
        return next(iter(self._liquidity(side, price)), None) is not None

    def _fillable_whole(self, order: Order) -> bool:
        limit = order.price if order.type.has_limit else None
        need = order.remaining_size
        filled = cost = ZERO
        for price, available, _ in self._liquidity(order.side, limit):
            if need is not None:
                filled += min(available, need - filled)
                if filled >= need:
                    return True
            else:
                assert order.remaining_funds is not None
                cost += available * price
                if cost >= order.remaining_funds:
                    return True
        return False

    def _match_virtual(self, taker: Order, maker_entry: _Resting, size: Decimal, at: float) -> list[OrderEvent]:
        maker, price = maker_entry.order, maker_entry.price
        events = [
            self._fill(taker, price, size, _TAKER, at, {"type": "virtual_order", "order_id": maker.id, "price": price}),
            self._fill(maker, price, size, _MAKER, at, {"type": "virtual_order", "order_id": taker.id, "price": price}),
        ]
        if maker.status in FINAL_STATUSES:
            self._unrest(maker_entry)
        return events

    # -- resting orders ---------------------------------------------------------------------------

    def _rest(self, order: Order) -> None:
        side = resting_side(order.side)
        state = self._sides[side]
        price = order.price
        assert price is not None  # only limit orders rest
        entry = _Resting(order, price, self.visible_size(side, price), next(self._sequence))
        queue = state.queues.get(price)
        if queue is None:
            state.queues[price] = [entry]
            bisect.insort(state.prices, price)
        else:
            queue.append(entry)
        self._by_id[order.id] = entry

    def _unrest(self, entry: _Resting) -> None:
        order, price = entry.order, entry.price
        state = self._sides[resting_side(order.side)]
        queue = state.queues[price]
        queue.remove(entry)
        if not queue:
            del state.queues[price]
            del state.prices[bisect.bisect_left(state.prices, price)]
            state.unmatched_trades.pop(price, None)
        del self._by_id[order.id]

    @staticmethod
    def _move_queue(state: _SideState, price: Decimal, queue: list[_Resting], previous: Decimal, size: Decimal) -> None:
        """A level with resting virtual orders shrank: trades already counted are matched first;
        the rest is cancels, assumed spread evenly over the queue."""
        decrease = previous - size
        traded = state.unmatched_trades.get(price, ZERO)
        explained = min(decrease, traded)
        if explained:
            state.unmatched_trades[price] = traded - explained
        cancelled = decrease - explained
        before_cancels = previous - explained
        spread = cancelled > 0 and before_cancels > 0
        for entry in queue:
            ahead = entry.ahead
            if spread and ahead > 0:
                ahead -= cancelled * ahead / before_cancels
            entry.ahead = size if ahead > size else ahead

    def _fill_from_trade(
        self,
        side: BookSide,
        level: Decimal,
        trade_id: str,
        price: Decimal,
        size: Decimal,
        at: float,
        time: float | None,
    ) -> list[OrderEvent]:
        events: list[OrderEvent] = []
        state = self._sides[side]
        queue = state.queues.get(level)
        if not queue:
            return events
        through = level != price
        if not through:
            state.unmatched_trades[level] = state.unmatched_trades.get(level, ZERO) + size
        taken_by_earlier = ZERO
        for entry in list(queue):
            order = entry.order
            ahead = entry.ahead
            if through:
                fill = _resting_size(order)
            else:
                # the queue ahead is an estimate (cancels are spread over it): fill whole steps only
                fill = min(
                    _resting_size(order),
                    quantize_down(max(ZERO, size - ahead - taken_by_earlier), self.market.size_step),
                )
                entry.ahead = max(ZERO, ahead - size)
            if fill > 0 and self.book.live:
                cause = {
                    "type": "public_trade",
                    "trade_id": trade_id,
                    "price": price,
                    "size": size,
                    "queue_ahead": ahead,
                }
                if time is not None:
                    cause["trade_time"] = time
                events.append(self._fill(order, level, fill, _MAKER, at, cause))
                taken_by_earlier += fill
                if order.status in FINAL_STATUSES:
                    self._unrest(entry)
        return events

    def _fill_crossed(self, side: BookSide, at: float) -> list[OrderEvent]:
        """Resting virtual orders on ``side`` that the other side of the real book now reaches fill
        against it, at their own price, as makers."""
        events: list[OrderEvent] = []
        state = self._sides[side]
        if not state.prices or not self.book.live:
            return events
        other = ASK if side is BID else BID
        taken = self._sides[other]
        consumed = taken.consumed
        # The best real level with size left: levels before it stay used up while this loop only adds
        # to ``consumed``, so the search goes on from there instead of starting again at the top.
        levels = _best_first(self.book.ladder(other))
        level = next(levels, None)
        while state.prices:
            while level is not None:
                available = level[1] - consumed.get(level[0], ZERO) if consumed else level[1]
                if available > 0:
                    break
                level = next(levels, None)
            else:  # no real size left on the other side
                break
            best_virtual = state.best_resting()
            if not taken.better_or_equal(level[0], best_virtual):
                break
            real_price, shown = level
            entry = state.queues[best_virtual][0]
            order = entry.order
            size = min(_resting_size(order), available)
            before = consumed.get(real_price, ZERO)
            consumed[real_price] = before + size
            cause = {"type": "book_cross", "price": real_price, "size_shown": shown, "consumed_before": before}
            events.append(self._fill(order, best_virtual, size, _MAKER, at, self._book_state(cause)))
            if order.status in FINAL_STATUSES:
                self._unrest(entry)
        return events

    # -- stops, cancels, fills --------------------------------------------------------------------

    @staticmethod
    def _stop_reached(order: Order, last: Decimal | None) -> bool:
        if last is None or order.stop_price is None:
            return False
        return last >= order.stop_price if order.side is _BUY else last <= order.stop_price

    def _trigger_stops(self, price: Decimal, at: float) -> list[OrderEvent]:
        events: list[OrderEvent] = []
        for order in [o for o in self._stops.values() if self._stop_reached(o, price)]:
            del self._stops[order.id]
            order.triggered = True
            if not self.book.live:
                events += self._finish(
                    order,
                    OrderStatus.CANCELLED,
                    at,
                    f"stop triggered while book {self.market.name} is {self.book.state.value}",
                )
            else:
                events += self._execute(order, at)
        return events

    def _cancel_now(self, order: Order, at: float, reason: str) -> list[OrderEvent]:
        if order.status is _PENDING:
            self._arrivals = [a for a in self._arrivals if a[3] != order.id]
            heapq.heapify(self._arrivals)
        return self._finish(order, OrderStatus.CANCELLED, at, reason)

    def _finish(self, order: Order, status: OrderStatus, at: float, reason: str) -> list[OrderEvent]:
        entry = self._by_id.get(order.id)
        if entry is not None:
            self._unrest(entry)
        self._stops.pop(order.id, None)
        self._budgets.pop(order.id, None)
        self._orders.pop(order.id, None)
        return [order.transition(status, at, reason)]

    def _fill(
        self, order: Order, price: Decimal, size: Decimal, liquidity: Liquidity, at: float, cause: dict[str, Any]
    ) -> OrderEvent:
        rate = self.maker_fee if liquidity is _MAKER else self.taker_fee
        order_id = order.id
        fill = tuple.__new__(
            Fill,
            (
                order_id,
                f"{order_id}-{len(order.fill_ids) + 1}",
                price,
                size,  # see Fill
                fee_for(price * size, rate),
                self.market.pair.quote,
                liquidity,
                at,
                cause,
            ),
        )
        event = order.apply_fill(fill)
        if order.status in FINAL_STATUSES:
            self._budgets.pop(order_id, None)
            self._orders.pop(order_id, None)
        return event

    def _open_order(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None or not order.is_open:
            raise OrderNotFound(order_id)
        return order

    def _schedule(self, due: float, kind: str, order_id: str, extra: dict[str, Any]) -> None:
        heapq.heappush(self._arrivals, (due, next(self._sequence), kind, order_id, extra))
