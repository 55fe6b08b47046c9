"""Poloniex's public websocket (spot API v3), as the simulator speaks it.

A subscribe or unsubscribe request names channels and symbols; each channel is acknowledged on
its own (``{"event":"subscribe","channel":"book_lv2","symbols":[...]}``) and a ``book_lv2``
subscription is then answered with a snapshot per symbol of the book as the recording has it,
carrying the symbol's last ``id``, so the recorded updates that follow chain on it. An unknown
channel gets ``{"event":"error",...}``; ``{"event":"ping"}`` gets ``{"event":"pong"}``. Recorded
messages go to the clients subscribed to their channel and symbol; the recorded acks (answers
to the recorder's own requests) go to nobody. Poloniex sends nothing unasked, no heartbeat.

Two failures of Poloniex's own beyond the server's hooks: :meth:`PoloniexProtocol.lose_update`
keeps one recorded book update from every client, so the next one's ``lastId`` names an id the
client never saw (a gap); ``answer_pings = False`` makes a server that no longer answers.

``GET /markets/{symbol}/candles?interval=MINUTE_1&startTime=&endTime=&limit=`` of a symbol given
made-up 1-minute candles (:attr:`~tests.simulator.server.Protocol.candles`) serves them in
Poloniex's 14 columns (strings for the numbers, times in milliseconds), those opening from
``startTime`` to ``endTime`` (both included), oldest first, ``limit`` of them (100 by default, 500
at most), none for a minute without trades; other candles requests get the fixture.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

from tests.simulator.candles import MINUTE, query_of
from tests.simulator.server import Protocol, recorded

BOOK = "book_lv2"
CHANNELS = (BOOK, "trades", "ticker")
#: The path of the made-up candles body served (no capture holds a candles response).
CANDLES_PATH = "/markets/BTC_USDT/candles"
CANDLES = re.compile(r"/markets/([A-Z0-9]+_[A-Z0-9]+)/candles")
MAX_CANDLES = 500
CANDLES_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "poloniex" / "candles_BTC_USDT_MINUTE_5.json"


def poloniex_protocol() -> PoloniexProtocol:
    """The simulator protocol with the Poloniex capture (markets over REST, the 11-symbol stream)
    and the candles fixture."""
    messages, rest = recorded("POLONIEX.0", "POLONIEX.ws.1.0", url_to_path=lambda url: urlparse(url).path)
    return PoloniexProtocol(messages, {**rest, CANDLES_PATH: CANDLES_FIXTURE.read_text()})


class _Book:
    """One symbol's book as the recording has it: levels by side (price -> [price, size] as
    written), and the last message's ids and times."""

    def __init__(self, data: dict):
        self.sides = {side: {Decimal(price): [price, size] for price, size in data[side]} for side in ("bids", "asks")}
        self.follow(data)

    def follow(self, data: dict) -> None:
        self.last_id, self.id = data["lastId"], data["id"]
        self.create_time, self.ts = data["createTime"], data["ts"]

    def update(self, data: dict) -> None:
        for side in ("bids", "asks"):
            levels = self.sides[side]
            for price, size in data[side]:
                if Decimal(size):
                    levels[Decimal(price)] = [price, size]
                else:
                    levels.pop(Decimal(price), None)
        self.follow(data)

    def snapshot(self, symbol: str) -> str:
        bids, asks = self.sides["bids"], self.sides["asks"]
        return json.dumps(
            {
                "channel": BOOK,
                "data": [
                    {
                        "symbol": symbol,
                        "createTime": self.create_time,
                        "asks": [asks[price] for price in sorted(asks)],
                        "bids": [bids[price] for price in sorted(bids, reverse=True)],
                        "lastId": self.last_id,
                        "id": self.id,
                        "ts": self.ts,
                    }
                ],
                "action": "snapshot",
            },
            separators=(",", ":"),
        )


class PoloniexProtocol(Protocol):
    def __init__(self, recording: list[str], rest: dict[str, str]):
        super().__init__(recording, rest)
        self.parsed = {message: json.loads(message) for message in recording}
        self.books: dict[str, _Book] = {}
        self.lost: set[tuple[str, int]] = set()
        self.answer_pings = True

    def lose_update(self, symbol: str, update_id: int) -> None:
        """Keep the recorded book update of ``symbol`` with ``id`` ``update_id`` from every client
        (the model still applies it, as the exchange did)."""
        self.lost.add((symbol, update_id))

    def session(self) -> dict[str, set[str]]:
        return {channel: set() for channel in CHANNELS}

    def answer(self, message: str, session: dict[str, set[str]]) -> list[str]:
        request = json.loads(message)
        event = request.get("event")
        if event == "ping":
            return [json.dumps({"event": "pong"})] if self.answer_pings else []
        if event not in ("subscribe", "unsubscribe"):
            return [json.dumps({"event": "error", "message": f"Invalid event value {json.dumps(event)}"})]
        symbols = request["symbols"]
        replies = []
        for channel in request["channel"]:
            if channel not in session:
                replies.append(json.dumps({"event": "error", "message": f'Invalid channel value ["{channel}"]'}))
                continue
            replies.append(json.dumps({"event": event, "channel": channel, "symbols": symbols}, separators=(",", ":")))
            if event == "unsubscribe":
                session[channel] -= set(symbols)
                continue
            session[channel] |= set(symbols)
            if channel == BOOK:
                replies += [self.books[symbol].snapshot(symbol) for symbol in symbols if symbol in self.books]
        return replies

    def advance(self, message: str) -> None:
        msg = self.parsed[message]
        if msg.get("channel") != BOOK or "data" not in msg:
            return
        for data in msg["data"]:
            if msg["action"] == "snapshot":
                self.books[data["symbol"]] = _Book(data)
            else:
                self.books[data["symbol"]].update(data)

    def deliver(self, message: str, session: dict[str, set[str]]) -> str | None:
        msg = self.parsed[message]
        if "data" not in msg or msg["channel"] not in session:
            return None  # the recorder's own acks
        [data] = msg["data"]  # the recording has one symbol a message
        if (data["symbol"], data.get("id")) in self.lost and msg.get("action") == "update":
            return None
        return message if data["symbol"] in session[msg["channel"]] else None

    # -- REST candles -----------------------------------------------------------------------------

    def rest_answer(self, path: str) -> tuple[int, str] | None:
        where, query = query_of(path)
        match = CANDLES.fullmatch(where)
        if match is None or match[1] not in self.candles or query.get("interval") != "MINUTE_1":
            return super().rest_answer(path)
        candles = self.candles[match[1]]
        limit = min(int(query.get("limit", 100)), MAX_CANDLES)
        start = math.ceil(int(query.get("startTime", 0)) / 1000 / MINUTE) * MINUTE
        end = int(query["endTime"]) // 1000 if "endTime" in query else candles.end
        rows = [
            [
                str(m.low),
                str(m.high),
                str(m.open),
                str(m.close),
                f"{m.quote_volume}",
                f"{m.volume}",
                f"{m.quote_volume / 2}",
                f"{m.volume / 2}",
                m.trades,
                (m.start + MINUTE) * 1000 - 1,
                str(m.vwap),
                "MINUTE_1",
                m.start * 1000,
                (m.start + MINUTE) * 1000 - 1,
            ]
            for m in candles.between(start, end)[:limit]
        ]
        return 200, json.dumps(rows, separators=(",", ":"))
