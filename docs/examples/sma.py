"""A moving-average crossover (algo-trade's SMA): short bars of the pair's public trades, a fast and a slow
simple moving average of their closes; buy when the fast one crosses above the slow one, sell what was
bought when it crosses back below.

Against a served replay in backtest mode (the recorded Coinbase capture, stepped by the strategy):

    .venv/bin/xwrap serve --replay tests/captures/COINBASE.0 tests/captures/COINBASE.ws.28.0 \\
        --clock recorded --speed step --from 1618677818.5 --database-url sqlite:///sma.sqlite
    .venv/bin/python docs/examples/sma.py --url ws://127.0.0.1:8350 --pair SKL_USD \\
        --bar 1 --fast 3 --slow 8 --size 1000 --seconds 28
    .venv/bin/xwrap ledger verify --database-url sqlite:///sma.sqlite

The bars are short (``--bar`` seconds), of the pair's public trades as the service received them
(bars.py beside it says why: a recording of 31 s holds at most one stored candle of a minute). On hours
of recording or live, the same averages over ``get_ohlc(interval="1m")``'s closes are algo-trade's SMA
on stored candles. Prices are Decimals.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from decimal import Decimal
from typing import Literal

from bars import TradeBars
from clock import Clock
from orders import EXCHANGE, market_order, print_result

from exchange_wrapper.client import AsyncClient

Side = Literal["buy", "sell"]


def average(closes: list[Decimal], count: int) -> Decimal:
    return sum(closes[-count:], Decimal(0)) / count


async def run(
    url: str, token: str | None, pair: str, bar: float, fast: int, slow: int, size: str, funds: str, seconds: float
) -> int:
    base, quote = pair.split("_")
    async with AsyncClient(url, token) as client:
        wallet_set_id = (await client.create_wallet_set(name=f"sma-{time.time_ns()}", mode="paper"))["id"]
        await client.fund_wallet_set(wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=quote, amount=funds)
        print(f"wallet set {wallet_set_id}: {funds} {quote} on {EXCHANGE}")
        clock = Clock(client)
        await clock.start()

        bars = TradeBars(client, EXCHANGE, pair, bar, clock.now)
        above: bool | None = None  # was the fast average above the slow one at the last bar?
        held = Decimal(0)
        end = clock.now + seconds
        while clock.now < end:
            if not await clock.wait(bar):
                break
            if not await bars.update(clock.now) or len(bars.bars) < slow:
                continue
            closes = bars.closes
            fast_average, slow_average = average(closes, fast), average(closes, slow)
            now_above = fast_average > slow_average
            crossed = above is not None and now_above != above
            above = now_above
            if not crossed or bool(held) == now_above:  # already in on a cross up, out on a cross down
                continue
            side: Side = "buy" if now_above else "sell"
            amount = Decimal(size) if side == "buy" else held
            filled, taken = await market_order(client, wallet_set_id, pair, side, size=amount)
            held += filled if side == "buy" else -filled
            where = "above" if now_above else "below"
            print(f"fast {fast_average:.6f} crossed {where} slow {slow_average:.6f}: {side} {filled} {base} ({taken})")

        await print_result(client, wallet_set_id, pair, funds, held, len(bars.bars))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8350", help="the service (its JSON-RPC door)")
    parser.add_argument("--pair", default="SKL_USD", help="a pair the service follows on coinbase")
    parser.add_argument("--bar", type=float, default=1.0, help="seconds a bar")
    parser.add_argument("--fast", type=int, default=3, help="bars in the fast average")
    parser.add_argument("--slow", type=int, default=8, help="bars in the slow average")
    parser.add_argument("--size", default="1000", help="how much to buy on a cross up, in the base currency")
    parser.add_argument("--funds", default="5000", help="virtual quote currency to start with")
    parser.add_argument("--seconds", type=float, default=28.0, help="how long to run")
    args = parser.parse_args()
    raise SystemExit(
        asyncio.run(
            run(
                args.url,
                os.environ.get("XWRAP_TOKEN"),
                args.pair,
                args.bar,
                args.fast,
                args.slow,
                args.size,
                args.funds,
                args.seconds,
            )
        )
    )


if __name__ == "__main__":
    main()
