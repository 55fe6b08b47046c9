"""MACD with a stochastic filter (the Kraken bot's): the MACD line (a fast exponential moving average of
the closes less a slow one) crossing its signal line (an EMA of the MACD) says the trend turns; the
stochastic oscillator %K (where the close stands in the range of the last bars, 0 at the low, 100 at the
high) lets only the turns that start low buy and only those that start high sell.

Against a served replay in backtest mode (the recorded Coinbase capture, stepped by the strategy):

    .venv/bin/xwrap serve --replay tests/captures/COINBASE.0 tests/captures/COINBASE.ws.28.0 \\
        --clock recorded --speed step --from 1618677818.5 --database-url sqlite:///macd.sqlite
    .venv/bin/python docs/examples/macd.py --url ws://127.0.0.1:8350 --pair SKL_USD \\
        --bar 1 --fast 3 --slow 6 --signal 3 --stochastic 5 --oversold 50 --overbought 50 --size 1000
    .venv/bin/xwrap ledger verify --database-url sqlite:///macd.sqlite

The bars are short (``--bar`` seconds), of the pair's public trades as the service received them
(bars.py beside it says why); on hours of recording or live, ``get_ohlc``'s candles give the same
indicators a minute a bar. Every average is a Decimal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from decimal import Decimal
from typing import Literal

from bars import Bar, TradeBars
from clock import Clock
from orders import EXCHANGE, market_order, print_result

from exchange_wrapper.client import AsyncClient

Side = Literal["buy", "sell"]


def ema(values: list[Decimal], count: int) -> list[Decimal]:
    """The exponential moving average of ``values`` over ``count``, one a value, from the first value."""
    weight = Decimal(2) / (count + 1)
    averages = [values[0]]
    for value in values[1:]:
        averages.append(averages[-1] + weight * (value - averages[-1]))
    return averages


def stochastic(bars: list[Bar], count: int) -> Decimal:
    """%K of the last bar over the last ``count`` bars (50 when they did not move)."""
    window = bars[-count:]
    high, low = max(bar.high for bar in window), min(bar.low for bar in window)
    return Decimal(50) if high == low else (window[-1].close - low) / (high - low) * 100


async def run(
    url: str,
    token: str | None,
    pair: str,
    bar: float,
    periods: tuple[int, int, int, int],
    oversold: str,
    overbought: str,
    size: str,
    funds: str,
    seconds: float,
) -> int:
    fast, slow, signal, stochastic_bars = periods
    base, quote = pair.split("_")
    async with AsyncClient(url, token) as client:
        wallet_set_id = (await client.create_wallet_set(name=f"macd-{time.time_ns()}", mode="paper"))["id"]
        await client.fund_wallet_set(wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=quote, amount=funds)
        print(f"wallet set {wallet_set_id}: {funds} {quote} on {EXCHANGE}")
        clock = Clock(client)
        await clock.start()

        bars = TradeBars(client, EXCHANGE, pair, bar, clock.now)
        above: bool | None = None  # was the MACD above its signal line at the last bar?
        held = Decimal(0)
        end = clock.now + seconds
        while clock.now < end:
            if not await clock.wait(bar):
                break
            if not await bars.update(clock.now) or len(bars.bars) < max(slow, stochastic_bars):
                continue
            closes = bars.closes
            macd = [f - s for f, s in zip(ema(closes, fast), ema(closes, slow))]
            macd_above = macd[-1] > ema(macd, signal)[-1]
            crossed = above is not None and macd_above != above
            above = macd_above
            k = stochastic(bars.bars, stochastic_bars)
            if not crossed or bool(held) == macd_above:  # already in on a turn up, out on a turn down
                continue
            if (macd_above and k > Decimal(oversold)) or (not macd_above and k < Decimal(overbought)):
                print(f"MACD turned {'up' if macd_above else 'down'} at %K {k:.1f}: filtered out")
                continue
            side: Side = "buy" if macd_above else "sell"
            amount = Decimal(size) if side == "buy" else held
            filled, taken = await market_order(client, wallet_set_id, pair, side, size=amount)
            held += filled if side == "buy" else -filled
            print(f"MACD turned {'up' if macd_above else 'down'} at %K {k:.1f}: {side} {filled} {base} ({taken})")

        await print_result(client, wallet_set_id, pair, funds, held, len(bars.bars))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8350", help="the service (its JSON-RPC door)")
    parser.add_argument("--pair", default="SKL_USD", help="a pair the service follows on coinbase")
    parser.add_argument("--bar", type=float, default=1.0, help="seconds a bar")
    parser.add_argument("--fast", type=int, default=3, help="bars in the MACD's fast EMA")
    parser.add_argument("--slow", type=int, default=6, help="bars in the MACD's slow EMA")
    parser.add_argument("--signal", type=int, default=3, help="bars in the signal line's EMA")
    parser.add_argument("--stochastic", type=int, default=5, help="bars in the stochastic's range")
    parser.add_argument("--oversold", default="50", help="buy only at %%K at most this")
    parser.add_argument("--overbought", default="50", help="sell only at %%K at least this")
    parser.add_argument("--size", default="1000", help="how much to buy on a turn up, in the base currency")
    parser.add_argument("--funds", default="5000", help="virtual quote currency to start with")
    parser.add_argument("--seconds", type=float, default=28.0, help="how long to run")
    args = parser.parse_args()
    periods = (args.fast, args.slow, args.signal, args.stochastic)
    raise SystemExit(
        asyncio.run(
            run(
                args.url,
                os.environ.get("XWRAP_TOKEN"),
                args.pair,
                args.bar,
                periods,
                args.oversold,
                args.overbought,
                args.size,
                args.funds,
                args.seconds,
            )
        )
    )


if __name__ == "__main__":
    main()
