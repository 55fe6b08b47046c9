"""A complete paper-trading strategy on xWrap: buy at the market, offer what was bought at the best ask,
and follow the fills until the offer is taken.

    XWRAP_TOKEN=... .venv/bin/python docs/examples/strategy.py --url ws://127.0.0.1:8350 --pair BTC_USD --size 0.001

It makes its own paper wallet set and funds it with virtual money, so it can run against any
service, on live feeds or on a replay (``xwrap serve --replay``). Amounts stay decimal strings (or
Decimals) from start to end: no float ever touches a price or a size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from decimal import Decimal

from exchange_wrapper.client import AsyncClient
from exchange_wrapper.core.errors import InsufficientFunds

EXCHANGE = "coinbase"
FINAL = ("filled", "cancelled", "rejected", "expired")


async def run(url: str, token: str | None, pair: str, size: str, funds: str, wait: float) -> int:
    base, quote = pair.split("_")
    async with AsyncClient(url, token) as client:
        # 1. A paper wallet set of our own, funded with virtual money.
        wallet_set = await client.create_wallet_set(name=f"strategy-{time.time_ns()}", mode="paper")
        wallet_set_id = wallet_set["id"]
        await client.fund_wallet_set(wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=quote, amount=funds)
        print(f"wallet set {wallet_set_id}: {funds} {quote} on {EXCHANGE}")

        # 2. Listen before acting, so that no fill is missed.
        async with client.subscribe("fills", "orders") as events:
            # 3. Take liquidity: a market buy fills at once against the book.
            try:
                bought = await client.make_order(
                    wallet_set_id=wallet_set_id, exchange=EXCHANGE, pair=pair, side="buy", type="market", size=size
                )
            except InsufficientFunds as error:
                print(f"not enough {error.currency}: {error.needed} needed, {error.available} available")
                return 1
            for fill in bought["fills"]:
                print(f"bought {fill['size']} {base} at {fill['price']} ({fill['liquidity']}, fee {fill['fee']})")

            # 4. Provide liquidity: offer what we hold at the best ask; it fills when buyers take it.
            held = (await client.get_wallet(wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=base))["available"]
            best_ask = (await client.get_book(exchange=EXCHANGE, pair=pair, depth=1))["asks"][0][0]
            offer = await client.make_order(
                wallet_set_id=wallet_set_id,
                exchange=EXCHANGE,
                pair=pair,
                side="sell",
                price=best_ask,
                size=held,
                post_only=True,
            )
            print(f"offered {offer['size']} {base} at {offer['price']}: order {offer['id']} {offer['status']}")

            # 5. Follow the fills until the offer is done (or we stop waiting and cancel it).
            try:
                async with asyncio.timeout(wait):
                    async for topic, payload in events:
                        if topic == "fills" and payload["order_id"] == offer["id"]:
                            print(
                                f"sold {payload['size']} {base} at {payload['price']} ({payload['liquidity']}, "
                                f"fee {payload['fee']})"
                            )
                        elif topic == "orders" and payload["id"] == offer["id"] and payload["status"] in FINAL:
                            print(f"offer {payload['status']}")
                            break
            except TimeoutError:
                cancelled = await client.cancel_order(order_id=offer["id"])
                print(f"offer {cancelled['status']} after {wait} s, {cancelled['filled_size']} {base} sold")

        # 6. Where the money is now.
        for wallet in (await client.get_wallet_set(wallet_set_id=wallet_set_id))["wallets"]:
            print(f"{wallet['currency']}: balance {wallet['balance']}, available {wallet['available']}")
        spent = Decimal(funds) - Decimal(
            (await client.get_wallet(wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=quote))["balance"]
        )
        print(f"result: {-spent} {quote}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8350", help="the service (its JSON-RPC door)")
    parser.add_argument("--pair", default="BTC_USD", help="a pair the service follows on coinbase")
    parser.add_argument("--size", default="0.001", help="how much to buy, in the base currency")
    parser.add_argument("--funds", default="1000", help="virtual money to start with, in the quote currency")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the offer to fill")
    args = parser.parse_args()
    raise SystemExit(
        asyncio.run(run(args.url, os.environ.get("XWRAP_TOKEN"), args.pair, args.size, args.funds, args.wait))
    )


if __name__ == "__main__":
    main()
