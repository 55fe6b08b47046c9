"""Coinbase Exchange's websocket feed, as the simulator speaks it.

Subscribe and unsubscribe requests are acknowledged with a ``subscriptions`` message; a book
channel subscription is answered with a ``snapshot`` of the book as the recording has it then.
Recorded messages go to the clients subscribed to their product and channel.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from urllib.parse import urlparse

from tests.simulator.server import Protocol, recorded

BOOK_CHANNELS = ("level2", "level2_batch")
CHANNEL_OF = {"snapshot": "book", "l2update": "book", "match": "matches", "last_match": "matches", "ticker": "ticker"}


def coinbase_protocol() -> CoinbaseProtocol:
    """The simulator protocol with the Coinbase capture (products over REST, the 10-product stream)."""
    messages, rest = _capture()
    return CoinbaseProtocol(messages, rest)


@functools.cache
def _capture() -> tuple[list[str], dict[str, str]]:
    return recorded("COINBASE.0", "COINBASE.ws.28.0", url_to_path=lambda url: urlparse(url).path)


@functools.cache
def _parsed(message: str) -> dict:
    return json.loads(message)


class CoinbaseProtocol(Protocol):
    def __init__(self, recording: list[str], rest: dict[str, str]):
        super().__init__(recording, rest)
        # product -> side ("bids"/"asks") -> Decimal price -> [price text, size text]
        self.books: dict[str, dict[str, dict[Decimal, list[str]]]] = {}

    def session(self) -> dict[str, set[str]]:
        return {"book": set(), "matches": set(), "ticker": set(), "heartbeat": set()}

    def answer(self, message: str, session: dict[str, set[str]]) -> list[str]:
        request = json.loads(message)
        products = set(request["product_ids"])
        replies = []
        for channel in request["channels"]:
            name = channel if isinstance(channel, str) else channel["name"]
            key = "book" if name in BOOK_CHANNELS else name
            if key not in session:
                replies.append(
                    json.dumps(
                        {"type": "error", "message": "Failed to subscribe", "reason": f"{name} is not a valid channel"}
                    )
                )
                continue
            if request["type"] == "subscribe":
                session[key] |= products
                if key == "book":
                    replies += [self.snapshot(product) for product in sorted(products) if product in self.books]
            else:
                session[key] -= products
        channels = [{"name": name, "product_ids": sorted(ids)} for name, ids in session.items() if ids]
        return [json.dumps({"type": "subscriptions", "channels": channels})] + replies

    def advance(self, message: str) -> None:
        msg = _parsed(message)
        if msg["type"] == "snapshot":
            self.books[msg["product_id"]] = {
                side: {Decimal(price): [price, size] for price, size in msg[side]} for side in ("bids", "asks")
            }
        elif msg["type"] == "l2update":
            book = self.books[msg["product_id"]]
            for side, price, size in msg["changes"]:
                levels = book["bids" if side == "buy" else "asks"]
                if Decimal(size):
                    levels[Decimal(price)] = [price, size]
                else:
                    levels.pop(Decimal(price), None)

    def deliver(self, message: str, session: dict[str, set[str]]) -> str | None:
        msg = _parsed(message)
        channel = CHANNEL_OF.get(msg["type"])
        return message if channel is not None and msg["product_id"] in session[channel] else None

    def heartbeats(self, session: dict[str, set[str]]) -> list[str]:
        return [
            json.dumps(
                {
                    "type": "heartbeat",
                    "product_id": product,
                    "sequence": 0,
                    "last_trade_id": 0,
                    "time": "2021-04-17T16:45:00.000000Z",
                }
            )
            for product in sorted(session["heartbeat"])
        ]

    def snapshot(self, product: str) -> str:
        book = self.books[product]
        return json.dumps(
            {
                "type": "snapshot",
                "product_id": product,
                "bids": [book["bids"][p] for p in sorted(book["bids"], reverse=True)],
                "asks": [book["asks"][p] for p in sorted(book["asks"])],
            }
        )
