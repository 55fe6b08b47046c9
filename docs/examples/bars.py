"""Short bars of a pair's public trades for the examples' indicators: the service's stored candles are a
minute at the shortest (a 31 s recording holds at most one), and its stored trades are written a moment
of wall time after they come, so a stepped backtest reads the latest trades from the service's memory
(``get_trades`` without ``start``) each time it moves on, and groups them by the trades' own times."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from exchange_wrapper.client import AsyncClient


@dataclass(frozen=True)
class Bar:
    high: Decimal
    low: Decimal
    close: Decimal


class TradeBars:
    """Bars of ``seconds`` from ``start`` on: a bar is closed one bar after its end, so that every trade of
    it is in; its close is its last trade, a bar without trades repeats the previous close."""

    def __init__(self, client: AsyncClient, exchange: str, pair: str, seconds: float, start: float) -> None:
        self.client, self.exchange, self.pair = client, exchange, pair
        self.seconds, self.start = seconds, start
        self.trades: dict[str, tuple[float, Decimal]] = {}  # every trade seen, oldest first: id -> (time, price)
        self.bars: list[Bar] = []

    async def update(self, now: float) -> bool:
        """Read the latest trades at ``now``; True when that closed a bar."""
        for trade in reversed(await self.client.get_trades(exchange=self.exchange, pair=self.pair, limit=100)):
            self.trades.setdefault(trade["trade_id"], (trade["time"], Decimal(trade["price"])))
        opened = now - 2 * self.seconds
        if opened < self.start:
            return False
        prices = [price for at, price in self.trades.values() if opened <= at < opened + self.seconds]
        if prices:
            self.bars.append(Bar(high=max(prices), low=min(prices), close=prices[-1]))
        elif self.bars:
            close = self.bars[-1].close
            self.bars.append(Bar(high=close, low=close, close=close))
        return bool(self.bars)

    @property
    def closes(self) -> list[Decimal]:
        return [bar.close for bar in self.bars]
