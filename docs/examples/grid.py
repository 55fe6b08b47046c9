"""A grid strategy (Moonraker's example): buy orders resting at fixed steps below the market, sell orders
at fixed steps above it; each buy that fills is answered by a sell one step higher, each sell by a buy
one step lower, so that the grid earns a step on every round trip while the price swings inside it.

Against a served replay in backtest mode (the recorded Coinbase capture, stepped by the strategy):

    .venv/bin/xwrap serve --replay tests/captures/COINBASE.0 tests/captures/COINBASE.ws.28.0 \\
        --clock recorded --speed step --from 1618677818.5 --database-url sqlite:///grid.sqlite
    .venv/bin/python docs/examples/grid.py --url ws://127.0.0.1:8350 --pair SKL_USD \\
        --step-price 0.0002 --levels 4 --size 500 --seconds 28
    .venv/bin/xwrap ledger verify --database-url sqlite:///grid.sqlite

It makes its own paper wallet set. On a stepped replay (``--speed step``) it moves the replay on itself
(``advance_replay``, clock.py beside it) one ``--tick`` of recorded time at a time; on live feeds or a
replay played at a pace it waits that long instead. Prices and sizes are Decimals from start to end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from clock import Clock
from orders import EXCHANGE, mid

from exchange_wrapper.client import AsyncClient

Side = Literal["buy", "sell"]


async def run(
    url: str,
    token: str | None,
    pair: str,
    step_price: str,
    levels: int,
    size: str,
    funds: str,
    holdings: str,
    tick: float,
    seconds: float,
) -> int:
    base, quote = pair.split("_")
    step = Decimal(step_price)
    async with AsyncClient(url, token) as client:
        wallet_set_id = (await client.create_wallet_set(name=f"grid-{time.time_ns()}", mode="paper"))["id"]
        for currency, amount in ((quote, funds), (base, holdings)):
            await client.fund_wallet_set(
                wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=currency, amount=amount
            )
        print(f"wallet set {wallet_set_id}: {funds} {quote} and {holdings} {base} on {EXCHANGE}")
        clock = Clock(client)
        await clock.start()

        sides: dict[str, Side] = {}  # every order placed: id -> side

        async def place(side: Side, price: Decimal) -> str:
            order = await client.make_order(
                wallet_set_id=wallet_set_id, exchange=EXCHANGE, pair=pair, side=side, price=price, size=size
            )
            print(f"{side} {size} {base} at {price}: order {order['id']} {order['status']}")
            sides[order["id"]] = side
            return order["id"]

        # The grid's centre: the mid price, down to a whole step, so that every level is on the grid.
        start_mid = await mid(client, pair)
        centre = (start_mid / step).to_integral_value(ROUND_DOWN) * step
        print(f"mid {start_mid} {quote}, grid centre {centre}, step {step}, {levels} levels a side")
        open_orders: dict[str, tuple[Side, Decimal]] = {}  # order id -> (side, price)
        for level in range(1, levels + 1):
            grid: tuple[tuple[Side, Decimal], ...] = (("buy", centre - level * step), ("sell", centre + level * step))
            for side, price in grid:
                open_orders[await place(side, price)] = (side, price)

        # Each filled level is answered one step the other way; the grid keeps its shape.
        round_trips = 0
        end = clock.now + seconds
        while clock.now < end and await clock.wait(tick):
            for order_id, (side, price) in list(open_orders.items()):
                order = await client.get_order(order_id=order_id)
                if order["status"] != "filled":
                    continue
                del open_orders[order_id]
                round_trips += side == "sell"
                answer: tuple[Side, Decimal] = ("sell", price + step) if side == "buy" else ("buy", price - step)
                print(f"{side} at {price} filled: answering with a {answer[0]} at {answer[1]}")
                open_orders[await place(*answer)] = answer

        for order_id in open_orders:
            await client.cancel_order(order_id=order_id)
        fills = await client.get_fills(wallet_set_id=wallet_set_id, limit=1000)
        bought = sum(Decimal(f["size"]) for f in fills if sides[f["order_id"]] == "buy")
        sold = sum(Decimal(f["size"]) for f in fills if sides[f["order_id"]] == "sell")
        print(f"{len(fills)} fills: bought {bought} {base}, sold {sold} {base}, {round_trips} sells filled")
        balances = {
            wallet["currency"]: Decimal(wallet["balance"])
            for wallet in (await client.get_wallet_set(wallet_set_id=wallet_set_id))["wallets"]
        }
        for currency, balance in sorted(balances.items()):
            print(f"{currency}: balance {balance}")
        last = await mid(client, pair)
        value = balances[quote] - Decimal(funds) + (balances[base] - Decimal(holdings)) * last
        print(f"result at the last mid ({last}): {value} {quote}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8350", help="the service (its JSON-RPC door)")
    parser.add_argument("--pair", default="SKL_USD", help="a pair the service follows on coinbase")
    parser.add_argument("--step-price", default="0.0002", help="the grid's step, in the quote currency")
    parser.add_argument("--levels", type=int, default=4, help="orders on each side of the centre")
    parser.add_argument("--size", default="500", help="each order's size, in the base currency")
    parser.add_argument("--funds", default="5000", help="virtual quote currency to start with")
    parser.add_argument("--holdings", default="5000", help="virtual base currency to start with")
    parser.add_argument("--tick", type=float, default=0.5, help="seconds between looks at the orders")
    parser.add_argument("--seconds", type=float, default=28.0, help="how long to run")
    args = parser.parse_args()
    raise SystemExit(
        asyncio.run(
            run(
                args.url,
                os.environ.get("XWRAP_TOKEN"),
                args.pair,
                args.step_price,
                args.levels,
                args.size,
                args.funds,
                args.holdings,
                args.tick,
                args.seconds,
            )
        )
    )


if __name__ == "__main__":
    main()
