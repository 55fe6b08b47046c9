"""Profit and loss of a wallet set's trading, by the average-cost method.

Per exchange and pair, the fills are taken in time order. A fill in the direction of the open
position (or opening one) adds its size to the position and its value (price × size, in the quote
currency) to the position's cost. A fill against the position closes part of it: the closed size
realizes ``(price − average cost) × size`` (a long; the reverse for a short), and takes its share of
the cost away at the average cost, which is therefore unchanged by a partial close. A fill larger than
the position closes it and opens the other side with the rest at the fill's price. Fees are kept
apart, per currency, never folded into the cost. The open position is marked to a price (a book's mid,
or its last trade): unrealized is ``position × mark − cost``.

All the figures are in the pair's quote currency; :func:`valued` turns them into one currency through
a :class:`~.valuation.Valuation` (at today's rates: a realized profit in BTC is worth what BTC is worth
now), and says which currencies it could not value. Pure: the fills and the quotes are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from .orders import Side
from .pairs import Pair
from .valuation import RATES, NoRate, Quote, Rate, Valuation

ZERO = Decimal(0)


@dataclass(frozen=True)
class Execution:
    """One fill as the P&L reads it: of an order on ``side`` of ``pair`` on ``exchange``."""

    exchange: str
    pair: Pair
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    fee_currency: str
    time: float


@dataclass
class PairPnl:
    """The average-cost account of one pair on one exchange, in its quote currency: ``position`` in
    base units (negative: short), ``cost`` of the open position, ``realized`` profit, ``fees`` per
    currency and the number of ``fills`` taken in."""

    exchange: str
    pair: Pair
    position: Decimal = ZERO
    cost: Decimal = ZERO
    realized: Decimal = ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)
    fills: int = 0

    @property
    def average_cost(self) -> Decimal | None:
        """The cost of one unit of the open position; None when flat."""
        if not self.position:
            return None
        with localcontext(RATES):
            return self.cost / self.position

    def add(self, fill: Execution) -> None:
        """Take one fill in (they must come in time order)."""
        with localcontext(RATES):
            self.fills += 1
            if fill.fee:
                self.fees[fill.fee_currency] = self.fees.get(fill.fee_currency, ZERO) + fill.fee
            signed = fill.size if fill.side is Side.BUY else -fill.size
            if self.position and (signed > 0) != (self.position > 0):  # against the position: close first
                closed = min(abs(signed), abs(self.position))
                average = self.cost / self.position
                direction = 1 if self.position > 0 else -1
                self.realized += (fill.price - average) * closed * direction
                if closed == abs(self.position):
                    self.position, self.cost = ZERO, ZERO  # exactly flat, whatever the rounding of the average
                else:
                    self.position -= closed * direction
                    self.cost -= average * closed * direction
                signed += closed * direction
            if signed:
                self.position += signed
                self.cost += signed * fill.price

    def unrealized(self, mark: Decimal) -> Decimal:
        """The open position's profit if it were closed at ``mark``."""
        with localcontext(RATES):
            return self.position * mark - self.cost


def accounts(fills: Iterable[Execution]) -> list[PairPnl]:
    """The account of every (exchange, pair) the fills touch, sorted by exchange and pair; the fills
    are taken in time order (ties keep the order given)."""
    by_pair: dict[tuple[str, Pair], PairPnl] = {}
    for fill in sorted(fills, key=lambda f: f.time):
        key = (fill.exchange, fill.pair)
        account = by_pair.get(key)
        if account is None:
            account = by_pair[key] = PairPnl(fill.exchange, fill.pair)
        account.add(fill)
    return [by_pair[key] for key in sorted(by_pair, key=lambda k: (k[0], str(k[1])))]


@dataclass(frozen=True)
class ValuedPair:
    """One pair's account with its figures in the valuation currency (None where a currency of them
    could not be valued, or the open position has no mark); ``mark`` the quote it was marked to."""

    account: PairPnl
    mark: Quote | None
    unrealized: Decimal | None  # in the quote currency
    realized_value: Decimal | None
    unrealized_value: Decimal | None
    fees_value: Decimal | None

    @property
    def net_value(self) -> Decimal | None:
        parts = (self.realized_value, self.unrealized_value, self.fees_value)
        if any(part is None for part in parts):
            return None
        with localcontext(RATES):
            return self.realized_value + self.unrealized_value - self.fees_value  # type: ignore[operator]


@dataclass(frozen=True)
class Report:
    """The pairs valued in ``currency``, the totals of what could be valued, the rates used and the
    currencies (and pairs without a mark) that could not be."""

    currency: str
    pairs: list[ValuedPair]
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    rates: list[Rate]
    unvalued: list[str]
    unmarked: list[str]

    @property
    def net(self) -> Decimal:
        with localcontext(RATES):
            return self.realized + self.unrealized - self.fees


def valued(pairs: Iterable[PairPnl], valuation: Valuation, currency: str) -> Report:
    """``pairs`` in ``currency``: each open position marked to its own pair's quote on its exchange,
    each figure converted at the rate of its currency (:meth:`Valuation.rate`)."""
    rates: dict[str, Rate] = {}
    unvalued: set[str] = set()
    unmarked: list[str] = []

    def convert(amount: Decimal, of: str) -> Decimal | None:
        try:
            rate = valuation.rate(of, currency)  # remembered by the valuation
        except NoRate:
            unvalued.add(of)
            return None
        rates[of] = rate
        with localcontext(RATES):
            return amount * rate.rate

    out: list[ValuedPair] = []
    totals = [ZERO, ZERO, ZERO]
    for account in pairs:
        quote_currency = account.pair.quote
        mark = valuation.quote(account.exchange, account.pair)
        unrealized: Decimal | None = ZERO
        if account.position:
            unrealized = None if mark is None else account.unrealized(mark.price)
            if mark is None:
                unmarked.append(f"{account.exchange}:{account.pair}")
        fee_values = [convert(amount, fee_currency) for fee_currency, amount in sorted(account.fees.items())]
        fees = None if any(v is None for v in fee_values) else sum((v for v in fee_values if v is not None), ZERO)
        row = ValuedPair(
            account,
            mark,
            unrealized,
            convert(account.realized, quote_currency),
            None if unrealized is None else convert(unrealized, quote_currency),
            fees,
        )
        out.append(row)
        with localcontext(RATES):
            for index, part in enumerate((row.realized_value, row.unrealized_value)):
                totals[index] += part or ZERO
            totals[2] += sum((v for v in fee_values if v is not None), ZERO)
    realized, unrealized, fees_total = totals
    return Report(
        currency,
        out,
        realized,
        unrealized,
        fees_total,
        rates=[rates[c] for c in sorted(rates) if c != currency],
        unvalued=sorted(unvalued),
        unmarked=unmarked,
    )
