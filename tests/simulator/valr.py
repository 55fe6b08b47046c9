"""VALR's trade websocket, as the simulator speaks it.

``{"type":"SUBSCRIBE","subscriptions":[{"event":...,"pairs":[...]}]}`` replaces each named event's
pair list, as VALR does: every pair that leaves the list is answered ``UNSUBSCRIBED``, every pair
that joins it ``SUBSCRIBED`` (``{"type":"SUBSCRIBED","message":"OB_L1_DIFF:BTCZAR"}``), and a pair
joining ``OB_L1_DIFF`` then gets an ``OB_L1_SNAPSHOT`` of its book as the recording has it (the
book's last ``sq``, so the recorded diffs that follow chain on it, and its checksum). An unknown
event or pair gets ``{"type":"ERROR","message":"Channel X, pair Y combination invalid"}`` (the
valid pairs of the same message still subscribe); ``{"type":"PING"}`` gets ``{"type":"PONG"}``
(``"message":"NO_SUBSCRIPTIONS"`` before any subscription). Recorded messages go to the clients
subscribed to their event and pair; the recorded acknowledgements go to nobody.

Failures of VALR's own beyond the server's hooks: :meth:`ValrProtocol.lose_update` keeps one
recorded diff from every client (the next one's ``sq`` skips one), :meth:`ValrProtocol.spoil_checksum`
sends one with a wrong ``cs``, and ``answer_pings = False`` makes a server that no longer answers.

``GET /v1/public/{pair}/buckets?periodSeconds=60&startTime=&endTime=`` of a pair given made-up
1-minute candles serves them as VALR does: newest first, those opening from ``startTime`` to
``endTime`` (both included), 300 at most.

The wire writers (:func:`book_message`, :func:`wire_checksum`) are the capture generator's too
(tests/fixtures/valr/make_capture.py).
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlparse

from tests.simulator.candles import MINUTE, query_of
from tests.simulator.server import Protocol, recorded

BOOK = "OB_L1_DIFF"
EVENTS = (BOOK, "NEW_TRADE", "MARKET_SUMMARY_UPDATE")
REST_URL = "https://api.valr.com"
WS_URL = "wss://api.valr.com/ws/trade"
PAIRS_PATH = "/v1/public/pairs"
MAX_BUCKETS = 300
CHECKSUM_LEVELS = 25
PONG = '{"type":"PONG"}'

Level = list[str]  # [price, quantity] as written


def valr_protocol() -> ValrProtocol:
    """The simulator protocol with the VALR capture (made up: tests/fixtures/README.md)."""
    messages, rest = recorded("VALR.0", "VALR.ws.0.0", url_to_path=lambda url: urlparse(url).path)
    return ValrProtocol(messages, rest)


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def wire_checksum(bids: list[Level], asks: list[Level]) -> int:
    """VALR's checksum on the levels as written: the top 25 bids and asks interleaved
    ``bidPrice:bidQuantity:askPrice:askQuantity:...``, the longer side going on alone, the
    unsigned CRC32 of that text."""
    parts: list[str] = []
    for index in range(CHECKSUM_LEVELS):
        for side in (bids, asks):
            if index < len(side):
                parts += side[index]
    return zlib.crc32(":".join(parts).encode())


def book_message(kind: str, symbol: str, bids: list[Level], asks: list[Level], sequence: int, checksum: int,
                 last_change: int) -> str:  # fmt: skip
    data = {"lc": last_change, "a": asks, "b": bids, "sq": sequence, "cs": checksum}
    return compact({"type": kind, "ps": symbol, "d": data})


def ack(kind: str, event: str, symbol: str) -> str:
    return compact({"type": kind, "message": f"{event}:{symbol}"})


def iso_ms(ms: int) -> str:
    """A time in milliseconds as VALR writes it (``2019-04-25T19:51:55.393Z``)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class _Book:
    """One pair's book as the recording has it: levels by side (price -> level as written), the
    last message's ``sq`` and ``lc``."""

    def __init__(self, data: dict):
        self.sides = {side: {Decimal(level[0]): level for level in data[side]} for side in ("b", "a")}
        self.sequence, self.last_change = data["sq"], data["lc"]

    def update(self, data: dict) -> None:
        for side in ("b", "a"):
            levels = self.sides[side]
            for level in data[side]:
                if Decimal(level[1]):
                    levels[Decimal(level[0])] = level
                else:
                    levels.pop(Decimal(level[0]), None)
        self.sequence, self.last_change = data["sq"], data["lc"]

    def snapshot(self, symbol: str) -> str:
        bids = [self.sides["b"][price] for price in sorted(self.sides["b"], reverse=True)]
        asks = [self.sides["a"][price] for price in sorted(self.sides["a"])]
        checksum = wire_checksum(bids, asks)
        return book_message("OB_L1_SNAPSHOT", symbol, bids, asks, self.sequence, checksum, self.last_change)


class ValrProtocol(Protocol):
    def __init__(self, recording: list[str], rest: dict[str, str]):
        super().__init__(recording, rest)
        self.parsed = {message: json.loads(message) for message in recording}
        self.books: dict[str, _Book] = {}
        self.symbols = {msg["ps"] for msg in self.parsed.values() if "ps" in msg}
        self.lost: set[tuple[str, int]] = set()
        self.spoil: set[tuple[str, int]] = set()
        self.spoiled: list[str] = []
        self.answer_pings = True

    def lose_update(self, symbol: str, sequence: int) -> None:
        """Keep the recorded diff of ``symbol`` with ``sq`` ``sequence`` from every client (the
        model still applies it, as the exchange did)."""
        self.lost.add((symbol, sequence))

    def spoil_checksum(self, symbol: str, sequence: int) -> None:
        """Send the recorded diff of ``symbol`` with ``sq`` ``sequence`` with a wrong checksum
        (what it is sent as is kept in :attr:`spoiled`)."""
        self.spoil.add((symbol, sequence))

    def session(self) -> dict[str, list[str]]:
        return {event: [] for event in EVENTS}

    def answer(self, message: str, session: dict[str, list[str]]) -> list[str]:  # type: ignore[override]
        try:
            request = json.loads(message)
        except ValueError:
            return [compact({"type": "ERROR", "message": "Invalid message - Invalid JSON"})]
        if request.get("type") == "PING":
            if not self.answer_pings:
                return []
            return [PONG if any(session.values()) else compact({"type": "PONG", "message": "NO_SUBSCRIPTIONS"})]
        if request.get("type") != "SUBSCRIBE":
            return [compact({"type": "ERROR", "message": f"Invalid message type {request.get('type')}"})]
        replies = []
        for subscription in request.get("subscriptions", []):
            event = subscription.get("event")
            wanted = [symbol.upper() for symbol in subscription.get("pairs", sorted(self.symbols))]
            invalid = [symbol for symbol in wanted if event not in session or symbol not in self.symbols]
            replies += [
                compact({"type": "ERROR", "message": f"Channel {event}, pair {symbol} combination invalid"})
                for symbol in invalid
            ]
            if event not in session:
                continue
            valid = [symbol for symbol in wanted if symbol not in invalid]
            before = session[event]
            replies += [ack("UNSUBSCRIBED", event, symbol) for symbol in before if symbol not in valid]
            for symbol in valid:
                if symbol in before:
                    continue
                replies.append(ack("SUBSCRIBED", event, symbol))
                if event == BOOK and symbol in self.books:
                    replies.append(self.books[symbol].snapshot(symbol))
            session[event] = valid
        return replies

    def advance(self, message: str) -> None:
        msg = self.parsed[message]
        if msg.get("type") == "OB_L1_SNAPSHOT":
            self.books[msg["ps"]] = _Book(msg["d"])
        elif msg.get("type") == "OB_L1_DIFF":
            self.books[msg["ps"]].update(msg["d"])

    def deliver(self, message: str, session: dict[str, list[str]]) -> str | None:  # type: ignore[override]
        msg = self.parsed[message]
        kind = msg.get("type")
        if kind in ("OB_L1_SNAPSHOT", "OB_L1_DIFF"):
            event, symbol = BOOK, msg["ps"]
        elif kind in EVENTS:
            event, symbol = kind, msg["currencyPairSymbol"]
        else:
            return None  # the recorder's own acknowledgements and pongs
        if symbol not in session.get(event, ()):
            return None
        if kind == "OB_L1_DIFF":
            key = (symbol, msg["d"]["sq"])
            if key in self.lost:
                return None
            if key in self.spoil:
                spoiled = compact({**msg, "d": {**msg["d"], "cs": msg["d"]["cs"] ^ 0x5A5A}})
                self.spoiled.append(spoiled)
                return spoiled
        return message

    # -- REST buckets -----------------------------------------------------------------------------

    def rest_answer(self, path: str) -> tuple[int, str] | None:
        where, query = query_of(path)
        parts = where.split("/")  # "", "v1", "public", symbol, "buckets"
        symbol = parts[3] if len(parts) == 5 and parts[4] == "buckets" else ""
        if symbol not in self.candles or query.get("periodSeconds", "60") != "60":
            return super().rest_answer(path)
        candles = self.candles[symbol]
        first = int(query.get("startTime", candles.start))
        last = int(query.get("endTime", candles.end))
        if (last - first) // MINUTE + 1 > MAX_BUCKETS:
            return 400, compact({"code": -21, "message": "Too many buckets requested"})
        minutes = candles.between(-(-first // MINUTE) * MINUTE, last)[-MAX_BUCKETS:]
        rows = [
            {
                "currencyPairSymbol": symbol,
                "bucketPeriodInSeconds": 60,
                "startTime": datetime.fromtimestamp(m.start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "open": str(m.open),
                "high": str(m.high),
                "low": str(m.low),
                "close": str(m.close),
                "volume": str(m.volume),
                "quoteVolume": str(m.quote_volume),
            }
            for m in reversed(minutes)
        ]
        return 200, compact(rows)
