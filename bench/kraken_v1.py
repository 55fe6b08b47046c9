"""Kraken's websocket v2 messages rewritten as the same events in its websocket v1, for the
replay bench: xWrap reads v2 (tests/captures/KRAKEN.ws.0.0), cryptofeed 2.3.2 reads only v1.

One v1 message per v2 message, carrying the same numbers as the same text (v1 writes them as
strings, with the pair's decimals, as the capture does): book snapshots (``as``/``bs``) and
updates (``a`` and/or ``b``, the checksum ``c`` in the last dict), trades, tickers, heartbeats,
the system status and subscription acknowledgements. Pure standard library: it runs in either
interpreter.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

V1_CODES = {"BTC": "XBT", "DOGE": "XDG"}  # the v1 (AssetPairs wsname) spelling of v2 codes


def v1_messages(messages: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """(receive time, v1 message) for each (receive time, v2 message)."""
    channels: dict[tuple[str, str], int] = {}
    return [(ts, _v1(json.loads(text, parse_float=str, parse_int=str), channels)) for ts, text in messages]


def _v1(msg: dict, channels: dict[tuple[str, str], int]) -> str:
    channel = msg.get("channel")
    if channel == "heartbeat":
        return '{"event":"heartbeat"}'
    if channel == "status":
        return json.dumps(
            {
                "connectionID": int(msg["data"][0]["connection_id"]),
                "event": "systemStatus",
                "status": "online",
                "version": "1.9.2",
            }
        )
    if channel is None:  # a subscription acknowledgement
        result = msg["result"]
        name = result["channel"] + (f"-{result['depth']}" if "depth" in result else "")
        subscription = {"name": result["channel"], **({"depth": int(result["depth"])} if "depth" in result else {})}
        return json.dumps(
            {
                "channelID": _channel(channels, name, result["symbol"]),
                "channelName": name,
                "event": "subscriptionStatus",
                "pair": _wsname(result["symbol"]),
                "status": "subscribed",
                "subscription": subscription,
            }
        )
    data = msg["data"]
    symbol = data[0]["symbol"]
    if channel == "trade":
        trades = [[t["price"], t["qty"], _seconds(t["timestamp"]), t["side"][0], t["ord_type"][0], ""] for t in data]
        return _message(channels, "trade", symbol, [trades])
    if channel == "ticker":
        t = data[0]
        opened = str(Decimal(t["last"]) - Decimal(t["change"]))
        return _message(
            channels,
            "ticker",
            symbol,
            [
                {
                    "a": [t["ask"], 0, t["ask_qty"]],
                    "b": [t["bid"], 0, t["bid_qty"]],
                    "c": [t["last"], "0.00000000"],
                    "v": [t["volume"], t["volume"]],
                    "p": [t["vwap"], t["vwap"]],
                    "t": [0, 0],
                    "l": [t["low"], t["low"]],
                    "h": [t["high"], t["high"]],
                    "o": [opened, opened],
                }
            ],
        )
    book = data[0]
    stamp = _seconds(book["timestamp"])
    levels = {side: [[level["price"], level["qty"], stamp] for level in book[side]] for side in ("asks", "bids")}
    if msg["type"] == "snapshot":
        parts = [{"as": levels["asks"], "bs": levels["bids"]}]
    else:
        parts = [{key: levels[side]} for key, side in (("a", "asks"), ("b", "bids")) if levels[side]]
        parts[-1]["c"] = book["checksum"]
    return _message(channels, "book-100", symbol, parts)


def _message(channels: dict[tuple[str, str], int], name: str, symbol: str, parts: list) -> str:
    return json.dumps([_channel(channels, name, symbol), *parts, name, _wsname(symbol)], separators=(",", ":"))


def _channel(channels: dict[tuple[str, str], int], name: str, symbol: str) -> int:
    return channels.setdefault((name, symbol), len(channels) + 100)


def _wsname(symbol: str) -> str:
    return "/".join(V1_CODES.get(code, code) for code in symbol.split("/"))


def _seconds(timestamp: str) -> str:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return f"{int(moment.timestamp())}.{moment.microsecond:06d}"
