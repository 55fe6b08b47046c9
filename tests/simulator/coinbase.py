"""Coinbase Exchange's websocket feed, as the simulator speaks it.

Subscribe and unsubscribe requests are acknowledged with a ``subscriptions`` message; a book
channel subscription is answered with a ``snapshot`` of the book as the recording has it then.
Recorded messages go to the clients subscribed to their product and channel.

``GET /products/{id}/candles?granularity=&start=&end=`` serves the made-up candles of
:attr:`~tests.simulator.server.Protocol.candles` as Coinbase's documentation describes the endpoint:
rows ``[time, low, high, open, close, volume]`` (JSON numbers), newest first, those from ``start``
to ``end`` (ISO 8601), no row for a minute without trades; a granularity not in {60, 300, 900, 3600,
21600, 86400} or a range of more than 300 candles is refused with a 400 and a ``message``.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlparse

from tests.simulator.candles import MINUTE, query_of
from tests.simulator.server import Protocol, recorded

BOOK_CHANNELS = ("level2", "level2_batch")
CHANNEL_OF = {"snapshot": "book", "l2update": "book", "match": "matches", "last_match": "matches", "ticker": "ticker"}
CANDLES_PATH = re.compile(r"/products/([A-Z0-9]+-[A-Z0-9]+)/candles")
GRANULARITIES = (60, 300, 900, 3600, 21600, 86400)
MAX_CANDLES = 300


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

    # -- REST candles -----------------------------------------------------------------------------

    def rest_answer(self, path: str) -> tuple[int, str] | None:
        where, query = query_of(path)
        match = CANDLES_PATH.fullmatch(where)
        if match is None or match[1] not in self.candles:
            return super().rest_answer(path)
        granularity = query.get("granularity", "")
        if not granularity.isdigit() or int(granularity) not in GRANULARITIES:
            return 400, '{"message":"Unsupported granularity"}'
        if int(granularity) != MINUTE:
            return 400, '{"message":"the simulator serves granularity 60 only"}'
        candles = self.candles[match[1]]
        end = _seconds(query["end"]) if "end" in query else candles.end
        start = _seconds(query["start"]) if "start" in query else end - MAX_CANDLES * MINUTE
        if (end - start) / MINUTE > MAX_CANDLES:
            return 400, json.dumps(
                {
                    "message": "granularity too small for the requested time range. "
                    f"Count of aggregations requested exceeds {MAX_CANDLES}"
                }
            )
        rows = [
            f"[{m.start},{m.low},{m.high},{m.open},{m.close},{m.volume}]"
            for m in reversed(candles.between(int(start) // MINUTE * MINUTE, int(end)))
        ]
        return 200, "[" + ",".join(rows) + "]"


def _seconds(text: str) -> float:
    """An ISO 8601 time (``2021-04-17T16:43:30Z``) as Unix seconds."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
