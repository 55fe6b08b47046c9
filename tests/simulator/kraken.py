"""Kraken spot websocket v2, as the simulator speaks it, and its wire format.

No recording of Kraken's traffic exists: ``tests/captures/KRAKEN.0`` and ``KRAKEN.ws.0.0`` are
synthetic, written by ``tests/fixtures/kraken/make_capture.py`` from an exchange-side book model
with the message writers below, in the shapes of Kraken's documentation and of real v2 messages
recorded in public code: numbers as JSON numbers written with the pair's decimals (``0.12290``,
``9705.60000000``, a removal ``0.00000000``), RFC 3339 timestamps, one acknowledgement per symbol.

:class:`KrakenProtocol` replays that capture to the adapter: it answers subscriptions (a
snapshot of the book as the recording has it then), streams the recorded messages to the
subscribed clients, and can spoil the book on the wire, for the adapter's checksum to catch: a
wrong checksum (:meth:`~KrakenProtocol.corrupt_checksum`), a change left out of an update
(:meth:`~KrakenProtocol.drop_level`), a level left out of a snapshot
(:meth:`~KrakenProtocol.truncate_snapshot`). :attr:`~KrakenProtocol.rest_errors` makes the next
OHLC calls fail the way Kraken does (HTTP 200, the error in the body).

OHLC of a pair given made-up 1-minute candles (:attr:`~tests.simulator.server.Protocol.candles`,
by the pair's REST name) is served as Kraken documents it: only the 720 most recent intervals
whatever ``since`` asks, the last of them the one still running (the made-up range's last minute),
those after ``since`` (exclusive), rows ``[time, open, high, low, close, vwap, volume, count]``
with strings for the numbers, under the pair's key with ``last``, the open time of the last
committed one; no row for a minute without trades.
"""

from __future__ import annotations

import functools
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

from tests.simulator.candles import MINUTE
from tests.simulator.server import Protocol, recorded

WS_URL = "wss://ws.kraken.com/v2"
REST_URL = "https://api.kraken.com"
ASSET_PAIRS = "/0/public/AssetPairs"
OHLC = "/0/public/OHLC"
CHECKSUM_LEVELS = 10
OHLC_KEPT = 720  # the intervals OHLC serves, the running one included
BID, ASK = "bids", "asks"
# Kraken spells two currencies differently on websocket v2 than in AssetPairs' wsname
V2_CODES = {"XBT": "BTC", "XDG": "DOGE"}


def v2_symbol(wsname: str) -> str:
    return "/".join(V2_CODES.get(code, code) for code in wsname.split("/"))


# -- the wire ------------------------------------------------------------------------------------

Level = tuple[str, str]
"""(price, qty) as written on the wire."""


def rfc3339(micros: int) -> str:
    """``2026-09-25T12:00:00.123456Z`` for a time in Unix microseconds."""
    seconds, fraction = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:06d}Z"


def book_message(kind: str, symbol: str, bids: list[Level], asks: list[Level], checksum: int, timestamp: str) -> str:
    def side(levels: list[Level]) -> str:
        return ",".join(f'{{"price":{price},"qty":{qty}}}' for price, qty in levels)

    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol}","bids":[{side(bids)}],'
        f'"asks":[{side(asks)}],"checksum":{checksum},"timestamp":"{timestamp}"}}]}}'
    )


def ack(method: str, result: dict, at: str) -> str:
    return json.dumps(
        {"method": method, "result": result, "success": True, "time_in": at, "time_out": at}, separators=(",", ":")
    )


def refusal(method: str, symbol: str, error: str, at: str) -> str:
    return json.dumps(
        {"error": error, "method": method, "success": False, "symbol": symbol, "time_in": at, "time_out": at},
        separators=(",", ":"),
    )


HEARTBEAT = '{"channel":"heartbeat"}'


def status(connection_id: int) -> str:
    """The first message of every connection (as recorded live in August 2026)."""
    return (
        '{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online","api_version":"v2",'
        f'"connection_id":{connection_id}}}]}}'
    )


def wire_checksum(bids: list[Level], asks: list[Level]) -> int:
    """CRC32 of the top 10 asks then bids, each price then qty without '.' and leading zeros
    (the documented steps, on the full-precision text the capture writes)."""

    def text(levels: list[Level]) -> str:
        return "".join(
            price.replace(".", "").lstrip("0") + qty.replace(".", "").lstrip("0")
            for price, qty in levels[:CHECKSUM_LEVELS]
        )

    return zlib.crc32((text(asks) + text(bids)).encode())


@dataclass
class VisibleBook:
    """One pair's book as a subscriber sees it: levels by price, kept to ``depth`` per side."""

    depth: int
    sides: dict[str, dict[Decimal, Level]] = field(default_factory=lambda: {BID: {}, ASK: {}})

    def load(self, bids: list[Level], asks: list[Level]) -> None:
        self.sides = {
            side: {Decimal(price): (price, qty) for price, qty in levels} for side, levels in ((BID, bids), (ASK, asks))
        }

    def apply(self, side: str, price: str, qty: str) -> None:
        if Decimal(qty):
            self.sides[side][Decimal(price)] = (price, qty)
        else:
            self.sides[side].pop(Decimal(price), None)

    def truncate(self) -> None:
        for side in (BID, ASK):
            for price in [price for price, _ in self.levels(side)[self.depth :]]:
                del self.sides[side][Decimal(price)]

    def levels(self, side: str, depth: int | None = None) -> list[Level]:
        """Best first."""
        prices = sorted(self.sides[side], reverse=side == BID)[:depth]
        return [self.sides[side][price] for price in prices]

    def checksum(self) -> int:
        return wire_checksum(self.levels(BID, CHECKSUM_LEVELS), self.levels(ASK, CHECKSUM_LEVELS))


# -- the simulator protocol ----------------------------------------------------------------------


def kraken_protocol() -> KrakenProtocol:
    """The simulator protocol with the Kraken capture (AssetPairs and OHLC over REST, the stream)."""
    messages, rest = _capture()
    return KrakenProtocol(messages, rest)


def _rest_key(url: str) -> str:
    parts = urlparse(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@functools.cache
def _capture() -> tuple[list[str], dict[str, str]]:
    return recorded("KRAKEN.0", "KRAKEN.ws.0.0", url_to_path=_rest_key)


@functools.cache
def parsed(message: str) -> dict:
    """A message with its numbers kept as the text on the wire."""
    return json.loads(message, parse_float=str, parse_int=str)


class KrakenProtocol(Protocol):
    def __init__(self, recording: list[str], rest: dict[str, str]):
        super().__init__(recording, rest)
        self.known = {v2_symbol(pair["wsname"]) for pair in json.loads(rest[ASSET_PAIRS])["result"].values()}
        self.depth = next(
            int(m["result"]["depth"])
            for m in map(parsed, recording)
            if m.get("method") == "subscribe" and m["result"]["channel"] == "book"
        )
        self.books: dict[str, VisibleBook] = {}
        self.tickers: dict[str, str] = {}  # symbol -> its last ticker message
        self.now = ""  # the exchange's time: the last timestamp streamed
        self.faults: list[tuple[str, str]] = []
        self.spoiled: list[str] = []  # the messages as the faults made them
        self.rest_errors: list[str] = []  # Kraken errors for the next OHLC calls (HTTP 200, as Kraken does)

    # -- faults -----------------------------------------------------------------------------------

    def corrupt_checksum(self, symbol: str) -> None:
        """The next update of ``symbol``'s book goes out with a checksum off by one."""
        self.faults.append(("checksum", symbol))

    def drop_level(self, symbol: str) -> None:
        """The next update of ``symbol`` that changes its top 10 goes out without that change."""
        self.faults.append(("drop", symbol))

    def truncate_snapshot(self, symbol: str) -> None:
        """The next snapshot of ``symbol`` goes out without its best bid (its checksum kept)."""
        self.faults.append(("truncate", symbol))

    # -- the protocol -----------------------------------------------------------------------------

    def session(self) -> dict[str, set[str]]:
        return {"book": set(), "trade": set(), "ticker": set()}

    def answer(self, message: str, session: dict[str, set[str]]) -> list[str]:
        request = json.loads(message)
        method, params = request["method"], request.get("params", {})
        if method == "ping":
            return [
                json.dumps(
                    {"method": "pong", "req_id": request.get("req_id"), "time_in": self.now, "time_out": self.now},
                    separators=(",", ":"),
                )
            ]
        channel = params["channel"]
        replies = []
        for symbol in params["symbol"]:
            if symbol not in self.known:
                replies.append(refusal(method, symbol, f"Currency pair not supported {symbol}", self.now))
            elif method == "subscribe" and symbol in session[channel]:
                replies.append(refusal(method, symbol, "Already subscribed", self.now))
            elif method == "unsubscribe" and symbol not in session[channel]:
                replies.append(refusal(method, symbol, "Subscription Not Found", self.now))
            else:
                (session[channel].add if method == "subscribe" else session[channel].discard)(symbol)
                replies.append(ack(method, self._result(channel, symbol, params), self.now))
        if method == "subscribe":  # the snapshots follow the acknowledgements
            for symbol in params["symbol"]:
                if channel == "book" and symbol in self.books and symbol in session["book"]:
                    book = self.books[symbol]
                    depth = int(params.get("depth", 10))
                    replies.append(
                        self._outgoing(
                            book_message(
                                "snapshot",
                                symbol,
                                book.levels(BID, depth),
                                book.levels(ASK, depth),
                                book.checksum(),
                                self.now,
                            )
                        )
                    )
                elif channel == "ticker" and symbol in self.tickers and params.get("snapshot", True):
                    replies.append(self.tickers[symbol].replace('"type":"update"', '"type":"snapshot"', 1))
        return replies

    def _result(self, channel: str, symbol: str, params: dict) -> dict:
        if channel == "book":
            return {"channel": "book", "depth": int(params.get("depth", 10)), "snapshot": True, "symbol": symbol}
        if channel == "trade":
            return {"channel": "trade", "snapshot": bool(params.get("snapshot", False)), "symbol": symbol}
        return {"channel": channel, "snapshot": bool(params.get("snapshot", True)), "symbol": symbol}

    def advance(self, message: str) -> None:
        msg = parsed(message)
        channel = msg.get("channel")
        if channel == "book":
            data = msg["data"][0]
            self.now = data["timestamp"]
            bids, asks = _levels(data[BID]), _levels(data[ASK])
            if msg["type"] == "snapshot":
                book = self.books[data["symbol"]] = VisibleBook(self.depth)
                book.load(bids, asks)
            else:
                book = self.books[data["symbol"]]
                for side, levels in ((BID, bids), (ASK, asks)):
                    for price, qty in levels:
                        book.apply(side, price, qty)
                book.truncate()
        elif channel == "ticker":
            self.tickers[msg["data"][0]["symbol"]] = message
        elif channel == "trade":
            self.now = msg["data"][-1]["timestamp"]

    def deliver(self, message: str, session: dict[str, set[str]]) -> str | None:
        msg = parsed(message)
        channel = msg.get("channel")
        if channel in ("book", "trade", "ticker"):
            if msg["data"][0]["symbol"] not in session[channel]:
                return None
            return self._outgoing(message) if channel == "book" else message
        if channel == "heartbeat" and any(session.values()):
            return message
        return None  # the recorder's own acknowledgements and status

    def heartbeats(self, session: dict[str, set[str]]) -> list[str]:
        return [HEARTBEAT] if any(session.values()) else []

    def rest_body(self, path: str) -> str | None:
        """AssetPairs as recorded; OHLC of the pair and interval asked, the rows after ``since``
        (or the next of :attr:`rest_errors`)."""
        parts = urlparse(path)
        if parts.path != OHLC:
            return super().rest_body(path)
        if self.rest_errors:
            return json.dumps({"error": [self.rest_errors.pop(0)]})
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        if query.get("pair") in self.candles and query.get("interval") == "1":
            return self.made_up_ohlc(query["pair"], int(query.get("since", 0)))
        body = self.rest.get(f"{OHLC}?pair={query.get('pair')}&interval={query.get('interval')}")
        if body is None:
            return '{"error":["EQuery:Unknown asset pair"]}'
        if "since" in query:
            response = json.loads(body)
            for key, rows in response["result"].items():
                if key != "last":
                    response["result"][key] = [row for row in rows if row[0] > int(query["since"])]
            body = json.dumps(response, separators=(",", ":"))
        return body

    def made_up_ohlc(self, pair: str, since: int) -> str:
        candles = self.candles[pair]
        running = candles.end - MINUTE
        served = candles.between(max(running - (OHLC_KEPT - 1) * MINUTE, since + 1), running)
        rows = [
            [m.start, str(m.open), str(m.high), str(m.low), str(m.close), str(m.vwap), f"{m.volume:.8f}", m.trades]
            for m in served
        ]
        return json.dumps({"error": [], "result": {pair: rows, "last": running - MINUTE}}, separators=(",", ":"))

    # -- spoiling the book on the wire ------------------------------------------------------------

    def _outgoing(self, message: str) -> str:
        msg = parsed(message)
        data = msg["data"][0]
        symbol, kind = data["symbol"], msg["type"]
        wanted = {"snapshot": ("truncate",), "update": ("checksum", "drop")}[kind]
        for fault in self.faults:
            if fault[1] == symbol and fault[0] in wanted:
                spoiled = self._spoil(fault[0], kind, data)
                if spoiled is not None:
                    self.faults.remove(fault)
                    self.spoiled.append(spoiled)
                    return spoiled
        return message

    def _spoil(self, fault: str, kind: str, data: dict) -> str | None:
        bids, asks, checksum = _levels(data[BID]), _levels(data[ASK]), int(data["checksum"])
        if fault == "checksum":
            checksum = (checksum + 1) % 2**32
        elif fault == "truncate":
            bids = bids[1:]
        else:  # drop a change within the top 10 (the model has this update applied already)
            book = self.books[data["symbol"]]
            for side, levels in ((BID, bids), (ASK, asks)):
                top = book.levels(side, CHECKSUM_LEVELS)
                for change in levels:
                    if len(top) < CHECKSUM_LEVELS or (
                        Decimal(change[0]) >= Decimal(top[-1][0])
                        if side == BID
                        else Decimal(change[0]) <= Decimal(top[-1][0])
                    ):
                        levels.remove(change)
                        return book_message(kind, data["symbol"], bids, asks, checksum, data["timestamp"])
            return None
        return book_message(kind, data["symbol"], bids, asks, checksum, data["timestamp"])


def _levels(levels: list[dict]) -> list[Level]:
    return [(level["price"], level["qty"]) for level in levels]
