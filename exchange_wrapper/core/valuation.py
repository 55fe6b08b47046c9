"""Valuation: what an amount of one currency is worth in another, through a chain of followed books.

A strategy holds SKL and wants its worth in USD; no book may price SKL in USD on that exchange, but
SKL-BTC and BTC-USD do together. The prices known (:class:`Quote`: a book's mid, or its last trade
where the book is not live, and the pegs of :data:`PEGS`) make a graph whose nodes are currencies;
:meth:`Valuation.rate` walks the shortest chain of quotes from one currency to the other and answers
the rate with every quote it used, so that an answer can say where each figure came from.

Pure: the caller gathers the quotes (with their times) from the hub; nothing here reads a clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import Any, Literal

from .money import format_decimal
from .pairs import Pair

QuoteSource = Literal["mid", "last", "peg"]

#: Rates and values are computed to 28 significant digits: a rate through an inverse (1 / price) is
#: not exact in decimal, and 28 digits keep any amount a ledger holds well below its last place.
RATES = Context(prec=28)

#: Stable coins counted as worth one USD where no book prices them (a chain through a book is
#: preferred at equal length: see :meth:`Valuation.rate`).
PEGS: tuple[tuple[str, str], ...] = (("USDT", "USD"), ("USDC", "USD"))

#: A chain prefers, at equal length, mids to last trades and both to pegs.
_PREFERENCE: dict[str, int] = {"mid": 0, "last": 1, "peg": 2}


@dataclass(frozen=True)
class Quote:
    """The price of one ``pair`` (quote currency per base unit) from ``source`` on ``exchange``
    (None for a peg) at ``time`` (Unix seconds; None for a peg)."""

    exchange: str | None
    pair: Pair
    price: Decimal
    source: QuoteSource
    time: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "pair": str(self.pair),
            "price": format_decimal(self.price),
            "source": self.source,
            "time": self.time,
        }


@dataclass(frozen=True)
class Rate:
    """One unit of ``currency`` is worth ``rate`` of ``into``, through ``chain`` (in the order walked;
    empty when the two are one currency)."""

    currency: str
    into: str
    rate: Decimal
    chain: tuple[Quote, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "into": self.into,
            "rate": format_decimal(self.rate),
            "chain": [quote.as_json() for quote in self.chain],
        }


class NoRate(LookupError):
    """No chain of quotes leads from ``currency`` to ``into``: ``currency`` cannot be valued in it."""

    def __init__(self, currency: str, into: str):
        self.currency, self.into = currency, into
        super().__init__(f"no chain of followed books values {currency} in {into}")


def pegs() -> list[Quote]:
    """The quotes of :data:`PEGS`, at 1."""
    return [Quote(None, Pair(base, quote), Decimal(1), "peg", None) for base, quote in PEGS]


class Valuation:
    """Rates between currencies from ``quotes`` (at most one per exchange and pair is expected; a
    non-positive price is ignored: it prices nothing)."""

    def __init__(self, quotes: Iterable[Quote]):
        usable = sorted(
            (q for q in quotes if q.price > 0), key=lambda q: (_PREFERENCE[q.source], q.exchange or "", str(q.pair))
        )
        self.quotes = usable
        # currency -> [(neighbour, quote, whether the quote is walked from base to quote)], preferred first
        self._edges: dict[str, list[tuple[str, Quote, bool]]] = {}
        for quote in usable:
            base, counter = quote.pair.base, quote.pair.quote
            self._edges.setdefault(base, []).append((counter, quote, True))
            self._edges.setdefault(counter, []).append((base, quote, False))
        self._rates: dict[tuple[str, str], Rate | None] = {}

    def currencies(self) -> set[str]:
        """Every currency some quote names."""
        return set(self._edges)

    def quote(self, exchange: str, pair: Pair) -> Quote | None:
        """The quote of ``pair`` on ``exchange`` (a P&L marks a position to it), if there is one."""
        return next((q for q in self.quotes if q.exchange == exchange and q.pair == pair), None)

    def rate(self, currency: str, into: str = "USD") -> Rate:
        """The rate of ``currency`` in ``into`` through the shortest chain (fewest quotes; at equal
        length the preferred sources, then exchanges and pairs by name, so the answer is the same on
        the same quotes). Raises :class:`NoRate` when no chain exists."""
        key = (currency, into)
        if key not in self._rates:
            self._rates[key] = self._walk(currency, into)
        found = self._rates[key]
        if found is None:
            raise NoRate(currency, into)
        return found

    def value(self, amount: Decimal, currency: str, into: str = "USD") -> Decimal:
        """``amount`` of ``currency`` in ``into`` (to :data:`RATES`' precision). Raises :class:`NoRate`."""
        with localcontext(RATES):
            return amount * self.rate(currency, into).rate

    def value_or_none(self, amount: Decimal, currency: str, into: str = "USD") -> Decimal | None:
        """As :meth:`value`, None where no chain exists."""
        try:
            return self.value(amount, currency, into)
        except NoRate:
            return None

    def _walk(self, currency: str, into: str) -> Rate | None:
        if currency == into:
            return Rate(currency, into, Decimal(1), ())
        came_from: dict[str, tuple[str, Quote, bool]] = {}
        seen, queue = {currency}, deque([currency])
        while queue:
            node = queue.popleft()
            for neighbour, quote, forward in self._edges.get(node, ()):
                if neighbour in seen:
                    continue
                seen.add(neighbour)
                came_from[neighbour] = (node, quote, forward)
                if neighbour == into:
                    return self._chain(currency, into, came_from)
                queue.append(neighbour)
        return None

    @staticmethod
    def _chain(currency: str, into: str, came_from: dict[str, tuple[str, Quote, bool]]) -> Rate:
        steps: list[tuple[Quote, bool]] = []
        node = into
        while node != currency:
            node, quote, forward = came_from[node]
            steps.append((quote, forward))
        steps.reverse()
        rate = Decimal(1)
        with localcontext(RATES):
            for quote, forward in steps:
                rate = rate * quote.price if forward else rate / quote.price
        return Rate(currency, into, rate, tuple(quote for quote, _ in steps))
