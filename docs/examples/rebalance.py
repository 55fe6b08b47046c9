"""A portfolio rebalancer towards efficient-frontier weights (the original xWrap's strategy): from the
returns of the last bars it estimates each asset's mean return and their covariances, takes of every
long-only mix (in steps of ``--step``) the one with the most mean return per unit of risk (the tangency
portfolio, a zero risk-free rate), or cash when none has a positive mean, and trades the wallet set
towards those weights, again every ``--every`` bars.

Against a served replay in backtest mode (the recorded Coinbase capture, stepped by the strategy):

    .venv/bin/xwrap serve --replay tests/captures/COINBASE.0 tests/captures/COINBASE.ws.28.0 \\
        --clock recorded --speed step --from 1618677818.5 --database-url sqlite:///rebalance.sqlite
    .venv/bin/python docs/examples/rebalance.py --url ws://127.0.0.1:8350 \\
        --pairs SKL_BTC,BAND_BTC,DASH_BTC --funds 0.1 --history 8 --every 8 --step 0.1 --seconds 28
    .venv/bin/xwrap ledger verify --database-url sqlite:///rebalance.sqlite

The prices are the books' mid prices, one a bar: the service's stored candles are a minute at the
shortest and a recording of 31 s holds at most one; on hours of recording or live, ``get_ohlc``'s closes
give the same estimates a minute a bar. Every amount and estimate is a Decimal.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import time
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from clock import Clock
from orders import EXCHANGE, market_order, mid

from exchange_wrapper.client import AsyncClient


def tangency_weights(prices: list[list[Decimal]], step: Decimal) -> list[Decimal]:
    """The long-only mix, in steps of ``step``, with the highest mean return over its standard deviation,
    of the assets whose prices (one list a bar, one price an asset) are given; all zero (cash) when no mix
    has a positive mean."""
    assets = len(prices[0])
    returns = [[now[i] / before[i] - 1 for i in range(assets)] for before, now in zip(prices, prices[1:])]
    means = [sum((r[i] for r in returns), Decimal(0)) / len(returns) for i in range(assets)]
    covariance = [
        [
            sum(((r[i] - means[i]) * (r[j] - means[j]) for r in returns), Decimal(0)) / len(returns)
            for j in range(assets)
        ]
        for i in range(assets)
    ]
    units = int(1 / step)
    best, best_ratio = [Decimal(0)] * assets, Decimal(0)
    for split in itertools.product(range(units + 1), repeat=assets):
        if sum(split) != units:
            continue
        weights = [count * step for count in split]
        mean = sum((w * m for w, m in zip(weights, means)), Decimal(0))
        variance = sum(
            (weights[i] * weights[j] * covariance[i][j] for i in range(assets) for j in range(assets)), Decimal(0)
        )
        if mean > 0 and variance > 0 and mean / variance.sqrt() > best_ratio:
            best, best_ratio = weights, mean / variance.sqrt()
    return best


async def run(
    url: str,
    token: str | None,
    pairs: list[str],
    funds: str,
    bar: float,
    history: int,
    every: int,
    step: str,
    band: str,
    seconds: float,
) -> int:
    quote = pairs[0].split("_")[1]
    bases = [pair.split("_")[0] for pair in pairs]
    async with AsyncClient(url, token) as client:
        wallet_set_id = (await client.create_wallet_set(name=f"rebalance-{time.time_ns()}", mode="paper"))["id"]
        await client.fund_wallet_set(wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=quote, amount=funds)
        print(f"wallet set {wallet_set_id}: {funds} {quote} on {EXCHANGE}")
        markets = {pair: (await client.get_markets(exchange=EXCHANGE, pair=pair))[0] for pair in pairs}
        clock = Clock(client)
        await clock.start()

        async def mids() -> list[Decimal]:
            return [await mid(client, pair) for pair in pairs]

        async def balance(currency: str) -> Decimal:
            wallet = await client.get_wallet(wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=currency)
            return Decimal(wallet["balance"])

        def down(amount: Decimal, step: str | None) -> Decimal:
            unit = Decimal(step or "0.00000001")
            return (amount / unit).to_integral_value(ROUND_DOWN) * unit

        async def trade(
            pair: str, side: Literal["buy", "sell"], size: Decimal | None = None, funds: Decimal | None = None
        ) -> None:
            filled, taken = await market_order(client, wallet_set_id, pair, side, size=size, funds=funds)
            print(f"  {side} {filled} {pair} ({taken})")

        async def rebalance(weights: list[Decimal], prices: list[Decimal]) -> None:
            held = [await balance(base) for base in bases]
            total = await balance(quote) + sum((h * p for h, p in zip(held, prices)), Decimal(0))
            # what to buy (more than zero) or sell of each, in the quote currency; smaller than the band: nothing
            changes = [(pair, w * total - h * p, p) for pair, w, h, p in zip(pairs, weights, held, prices)]
            for pair, change, price in changes:  # sell first: the buys need the funds
                size = down(-change / price, markets[pair]["size_step"])
                if change < -Decimal(band) * total and size >= Decimal(markets[pair]["min_size"] or 0):
                    await trade(pair, "sell", size=size)
            for pair, change, _ in changes:  # buy with funds: a market buy walks the asks, above the mid
                available = Decimal(
                    (await client.get_wallet(wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=quote))[
                        "available"
                    ]
                )
                if change > Decimal(band) * total:
                    await trade(
                        pair, "buy", funds=down(min(change, available / Decimal("1.01")), markets[pair]["funds_step"])
                    )

        prices = [await mids()]
        end, bars = clock.now + seconds, 0
        while clock.now < end and await clock.wait(bar):
            prices.append(await mids())
            bars += 1
            if bars < history or (bars - history) % every:
                continue
            weights = tangency_weights(prices[-history - 1 :], Decimal(step))
            shown = ", ".join(f"{base} {weight:.0%}" for base, weight in zip(bases, weights))
            print(f"bar {bars}: weights {shown}, {quote} {1 - sum(weights):.0%}")
            await rebalance(weights, prices[-1])

        fills = await client.get_fills(wallet_set_id=wallet_set_id, limit=1000)
        held = [await balance(base) for base in bases]
        value = await balance(quote) + sum((h * p for h, p in zip(held, prices[-1])), Decimal(0))
        print(f"{bars} bars, {len(fills)} fills")
        for base, amount in zip(bases, held):
            print(f"{base}: balance {amount}")
        print(f"value at the last mids: {value} {quote}, result {value - Decimal(funds)} {quote}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8350", help="the service (its JSON-RPC door)")
    parser.add_argument("--pairs", default="SKL_BTC,BAND_BTC,DASH_BTC", help="pairs on coinbase, one quote")
    parser.add_argument("--funds", default="0.1", help="virtual quote currency to start with")
    parser.add_argument("--bar", type=float, default=1.0, help="seconds a bar")
    parser.add_argument("--history", type=int, default=8, help="bars of returns the weights are estimated on")
    parser.add_argument("--every", type=int, default=8, help="bars between rebalances")
    parser.add_argument("--step", default="0.1", help="the weights' step")
    parser.add_argument("--band", default="0.01", help="skip trades smaller than this share of the value")
    parser.add_argument("--seconds", type=float, default=28.0, help="how long to run")
    args = parser.parse_args()
    raise SystemExit(
        asyncio.run(
            run(
                args.url,
                os.environ.get("XWRAP_TOKEN"),
                args.pairs.split(","),
                args.funds,
                args.bar,
                args.history,
                args.every,
                args.step,
                args.band,
                args.seconds,
            )
        )
    )


if __name__ == "__main__":
    main()
