"""Coinbase's private side: its account, orders and fills translated to xWrap's types. No I/O.

The markets and their metadata are :mod:`.public`'s; docs/live-trading.md has the checklist of a
private adapter.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlencode

import orjson

from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ...core.execution import OrderReport
from ...core.money import ZERO, format_decimal
from ...core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from ...core.pairs import Pair, common_currency
from ...core.symbols import SymbolTable
from ..base import Credentials, decimal_loads
from ..http import Request, Response, retry_after
from ..private import AccountBalances, Amendment, NotOnExchange, PrivateAdapter, Quota, StreamEvent, StreamNotice
from ..wire import Fields, expect, load_json
from .public import EXCHANGE, CoinbaseAdapter, iso_seconds, signature, ws_authentication
from .public import parse_markets as parse_markets  # re-exported: the markets a private adapter is built with

#: Seconds ``CB-ACCESS-TIMESTAMP`` may be away from the API's time: a request signed longer ago is
#: refused, so a placement signed longer ago can no longer execute.
TIMESTAMP_WINDOW = 30.0
#: A GTT order's ``cancel_after`` values, by the seconds after placement each cancels it.
CANCEL_AFTER = {60: "min", 3600: "hour", 86400: "day"}
#: How much later than one of those delays a GTD's expiry may be and still go as GTT.
GTT_TOLERANCE = 2.0
#: Results of one ``GET /orders`` or ``GET /fills`` page (the most a page holds).
PAGE_LIMIT = 1000
#: Coinbase states fees with 16 decimals (``fill_fees``, ``fee``).
FEE_QUANTUM = Decimal("1e-16")
#: Order statuses that are not final, and the ``done_reason`` of a finished one.
_LIVE = frozenset({"open", "pending", "received", "active"})
_DONE = {"filled": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED, "rejected": OrderStatus.REJECTED}
#: Errors that mean the order asked about is not (or no longer) there: 404 "NotFound" / "order not
#: found", and a cancel of an order that has finished ("Order already done").
_GONE_MESSAGES = ("order already done",)
_LIQUIDITY = {"M": Liquidity.MAKER, "T": Liquidity.TAKER}


@dataclass
class _Known:
    """What the adapter saw of one exchange order still open, for the stream's ``done`` message
    (which states what remained, not what filled, nor the order's time in force)."""

    size: Decimal | None
    time_in_force: str = "GTC"
    expire_time: float | None = None


class CoinbasePrivate(PrivateAdapter):
    """A Coinbase Exchange profile: orders, fills and balances over the signed REST API, own orders
    over the websocket feed's authenticated ``user`` channel.

    Requests carry ``CB-ACCESS-KEY``, ``CB-ACCESS-SIGN``, ``CB-ACCESS-TIMESTAMP`` (whole seconds of
    the API's clock, ``GET /time``) and ``CB-ACCESS-PASSPHRASE``. ``client_oid`` is a UUID made from
    xWrap's client key. There is no replace: an amend is a cancel, then a new order for the rest.
    Cancels answer only the order's id: the account queries the order after them. Stop orders are
    limit orders with ``stop`` (``entry`` to buy, ``loss`` to sell) and ``stop_price``; stop market
    orders no longer exist. A GTD goes as GTT with ``cancel_after`` where its expiry is a minute, an
    hour or a day after the order. Fees are in the quote currency. Limits: 15 requests a second per
    profile (bursts of 30), ``/fills`` 10 a second (bursts of 20); a 429 pauses for its Retry-After.
    """

    name = EXCHANGE
    market_adapter = CoinbaseAdapter
    rest_url = CoinbaseAdapter.rest_url
    stream_url = CoinbaseAdapter.ws_url
    # Coinbase's buckets hold 30 (fills 20) and refill 15 (10) a second: ours hold half of that, so
    # no interval ever spends more than Coinbase's bucket allows.
    quotas = (Quota("private", "requests", 30, 1), Quota("fills", "fills", 20, 1))
    recv_window = TIMESTAMP_WINDOW
    cancel_reports_order = False  # a cancel answers the order's id only

    def __init__(self, markets: SymbolTable, credentials: Credentials, metadata: str | bytes = b""):
        super().__init__(markets, credentials, metadata)
        self._symbols = {market.symbol for market in markets}
        self._known: dict[str, _Known] = {}  # open exchange orders by id

    # -- limits, time, signing ----------------------------------------------------------------------

    def pause_for(self, response: Response, now: float) -> float | None:
        """A 429 ("Private rate limit exceeded"): its Retry-After, or the shared default pause."""
        if response.status != 429:
            return None
        return retry_after(response.headers.get("retry-after"), now)

    def error(self, response: Response) -> XWrapError:
        message = _message(response.body)
        if response.status >= 500:
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: HTTP {response.status}: {message}")
        if response.status == 404 or message.lower() in _GONE_MESSAGES:
            return NotOnExchange(EXCHANGE, response.status, message)
        return ExchangeRejected(EXCHANGE, response.status, message)

    def time_request(self) -> Request:
        return Request("/time", costs={"requests": 1})

    def parse_time(self, body: str) -> float:
        """``{"iso": "2015-01-07T23:47:25.201Z", "epoch": 1420674445.201}`` (``epoch`` a JSON number)."""
        return float(Fields(EXCHANGE, "time", decimal_loads(body)).decimal("epoch", positive=True))

    def sign(self, request: Request, now: float) -> Request:
        """The query string joins the path (the signature covers it); the body is signed as sent."""
        path = f"{request.path}?{urlencode(request.params)}" if request.params else request.path
        timestamp = str(int(now))
        headers = {
            **request.headers,
            "CB-ACCESS-KEY": self.credentials.key,
            "CB-ACCESS-SIGN": signature(self.credentials.secret, timestamp, request.method, path, request.body or ""),
            "CB-ACCESS-TIMESTAMP": timestamp,
            "CB-ACCESS-PASSPHRASE": self.credentials.passphrase,
        }
        return replace(request, path=path, params={}, headers=headers)

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """A version 4 UUID: the key's first 16 bytes, or for a replacement the first 16 bytes of
        the SHA-256 of the key and its revision number."""
        seed = key if revision == 0 else hashlib.sha256(key + b"/%d" % revision).digest()
        return str(uuid.UUID(bytes=seed[:16], version=4))

    def check(self, order: Order) -> None:
        if order.type is OrderType.STOP_MARKET:
            raise InvalidParameter(
                "type", "market, limit or stop_limit: coinbase has no stop market orders", order.type.value
            )
        tif = order.time_in_force
        if order.type is OrderType.MARKET and tif is not TimeInForce.GTC and tif is not TimeInForce.IOC:
            raise InvalidParameter(
                "time_in_force", "GTC or IOC for a market order on coinbase (it takes what it can at once)", tif.value
            )
        if order.type is OrderType.STOP_LIMIT and tif in (TimeInForce.IOC, TimeInForce.FOK):
            raise InvalidParameter(
                "time_in_force", "GTC or GTD for a stop order on coinbase (it rests until it triggers)", tif.value
            )
        if order.post_only and tif in (TimeInForce.IOC, TimeInForce.FOK):
            raise InvalidParameter("time_in_force", "GTC or GTD for a post-only order on coinbase", tif.value)
        if tif is TimeInForce.GTD:
            self._cancel_after(order)

    def _cancel_after(self, order: Order) -> str:
        """The ``cancel_after`` of a GTD order: its expiry one of the GTT delays after the order."""
        assert order.expire_time is not None
        delay = order.expire_time - order.created_at
        for seconds, name in CANCEL_AFTER.items():
            if seconds <= delay <= seconds + GTT_TOLERANCE:
                return name
        raise InvalidParameter(
            "time_in_force",
            "GTC, IOC or FOK, or GTD with expire_time 1 minute, 1 hour or "
            f"1 day (up to {GTT_TOLERANCE:g} s more) after the order: coinbase's "
            "GTT cancels after min, hour or day",
            f"GTD expiring {delay:g} s after",
        )

    def place_request(self, order: Order, client_id: str) -> Request:
        """``POST /orders`` with a JSON body."""
        body: dict[str, Any] = {
            "client_oid": client_id,
            "product_id": self.markets.to_symbol(order.pair),
            "side": order.side.value,
            "type": "market" if order.type is OrderType.MARKET else "limit",
        }
        if order.size is not None:
            body["size"] = format_decimal(order.size)
        else:
            assert order.funds is not None
            body["funds"] = format_decimal(order.funds)
        if order.type.has_limit:
            assert order.price is not None
            body["price"] = format_decimal(order.price)
            if order.time_in_force is TimeInForce.GTD:
                body.update(time_in_force="GTT", cancel_after=self._cancel_after(order))
            else:
                body["time_in_force"] = order.time_in_force.value
            if order.post_only:
                body["post_only"] = True
        if order.type is OrderType.STOP_LIMIT:
            assert order.stop_price is not None
            body.update(stop="entry" if order.side is Side.BUY else "loss", stop_price=format_decimal(order.stop_price))
        return Request(
            "/orders",
            method="POST",
            body=orjson.dumps(body).decode(),
            content_type="application/json",
            costs={"requests": 1},
        )

    def query_request(self, order: Order, client_id: str) -> Request:
        return Request(f"/orders/client:{client_id}", costs={"requests": 1})

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        return Request(
            "/fills", {"order_id": exchange_order_id, "limit": PAGE_LIMIT}, costs={"requests": 1, "fills": 1}
        )

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """By the exchange's id where it is known, else by ``client:<client_oid>``."""
        target = order.exchange_order_id or f"client:{client_id}"
        return Request(
            f"/orders/{target}",
            {"product_id": self.markets.to_symbol(order.pair)},
            method="DELETE",
            costs={"requests": 1},
        )

    def cancel_all_request(self, pair: Pair) -> Request:
        return Request("/orders", {"product_id": self.markets.to_symbol(pair)}, method="DELETE", costs={"requests": 1})

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """Coinbase has no replace: the account cancels, then places the rest as a new order."""
        return Amendment(None, False, next_client_id)

    def open_orders_request(self) -> Request:
        """Open, pending and untriggered stop (``active``) orders of every product: one page."""
        return Request(f"/orders?status=open&status=pending&status=active&limit={PAGE_LIMIT}", costs={"requests": 1})

    def balances_request(self) -> Request:
        return Request("/accounts", costs={"requests": 1})

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """An order as ``POST /orders`` and ``GET /orders/<id>`` answer it. A cancel answers the
        order's id alone (a JSON string): a report that says nothing yet (open, nothing filled)."""
        raw = load_json(body, f"an order answer on {EXCHANGE}")
        if isinstance(raw, str):
            return OrderReport(raw, "", OrderStatus.OPEN, ZERO, at)
        return self._report(raw, at)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """``GET /orders``. ``DELETE /orders`` answers the ids it cancelled, no order: no report
        (each cancelled order's ``done`` message on the stream says what it filled)."""
        rows = expect(load_json(body, f"an orders answer on {EXCHANGE}"), list, f"orders on {EXCHANGE}", "a JSON list")
        return [self._report(raw, at) for raw in rows if not isinstance(raw, str)]

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        raise NotImplementedError("coinbase amends by cancelling then placing")

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """``GET /fills``: one row per trade, newest first on the wire, oldest first here (``liquidity``
        M or T; the fee in the quote currency)."""
        rows = expect(load_json(body, f"GET /fills on {EXCHANGE}"), list, f"fills on {EXCHANGE}", "a JSON list")
        fills = []
        for index, raw in enumerate(rows):
            fill = Fields(EXCHANGE, f"fill {index}", raw)
            fills.append(
                Fill(
                    "",
                    str(fill.integer("trade_id")),
                    fill.decimal("price", positive=True),
                    fill.decimal("size", positive=True),
                    fill.decimal("fee"),
                    self.markets.to_pair(fill.text("product_id")).quote,
                    _LIQUIDITY.get(fill.text("liquidity"), Liquidity.TAKER),
                    iso_seconds(fill.text("created_at")),
                    {"exchange_order_id": fill.text("order_id")},
                )
            )
        return sorted(fills, key=lambda fill: int(fill.trade_id))

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """``GET /accounts``: one account per currency, ``balance`` being available plus held."""
        rows = expect(load_json(body, f"GET /accounts on {EXCHANGE}"), list, f"accounts on {EXCHANGE}", "a JSON list")
        totals = {}
        for index, raw in enumerate(rows):
            account = Fields(EXCHANGE, f"account {index}", raw)
            total = account.decimal("balance")
            if total:
                totals[common_currency(EXCHANGE, account.text("currency"))] = total
        return AccountBalances(totals, at, complete=True)

    def _report(self, raw: object, at: float) -> OrderReport:
        order = Fields(EXCHANGE, raw.get("product_id", "order") if isinstance(raw, dict) else "order", raw)
        exchange_order_id, filled = order.text("id"), order.decimal("filled_size")
        tif = order.raw.get("time_in_force") or "GTC"
        expire = iso_seconds(order.raw["expire_time"]) if order.raw.get("expire_time") else None
        status, done_at = order.text("status"), iso_seconds(order.raw["done_at"]) if order.raw.get("done_at") else None
        if status in _LIVE:
            self._known[exchange_order_id] = _Known(order.optional_decimal("size"), tif, expire)
            state = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.OPEN
        elif status == "rejected":
            state = OrderStatus.REJECTED
        else:
            reason = order.text("done_reason") if status == "done" else status
            if reason not in _DONE:
                raise InvalidParameter(order.label("done_reason"), "filled, canceled or rejected", reason)
            state = _finished(_DONE[reason], tif, expire, done_at or at)
            self._known.pop(exchange_order_id, None)
        return OrderReport(
            exchange_order_id,
            order.raw.get("client_oid") or "",
            state,
            filled,
            at if done_at is None else done_at,
            reason=order.raw.get("reject_reason") or "",
        )

    # -- the stream -------------------------------------------------------------------------------

    def stream_address(self, ws_url: str) -> str:
        """The same websocket feed as market data (the settings' ``ws_url`` where one is set)."""
        return ws_url or super().stream_address(ws_url)

    def stream_subscribe(self, now: float) -> list[str]:
        """The ``user`` channel of every product, authenticated by a signed GET of ``/users/self/verify``."""
        products = sorted(market.symbol for market in self.markets)
        return [
            orjson.dumps(
                {
                    "type": "subscribe",
                    "channels": [{"name": "user", "product_ids": products}],
                    **ws_authentication(self.credentials, now),
                }
            ).decode()
        ]

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        """The ``user`` channel: the full channel's messages about the profile's own orders.
        ``received`` (with the ``client_oid``), ``open``, ``match`` (a fill: ours is the maker or
        the taker side, as its ``maker_fee_rate`` or ``taker_fee_rate`` says; the fee is the price
        times the size times that rate, in the quote currency), ``done`` (``filled`` or
        ``canceled``, with what remained), ``change`` and ``activate`` (a stop triggered; new
        sizes noted). ``subscriptions`` acknowledges; ``error`` ends the subscription."""
        msg = orjson.loads(message)
        kind = msg.get("type")
        if kind == "subscriptions":
            names = {channel.get("name") for channel in msg.get("channels", ()) if isinstance(channel, dict)}
            if "user" in names:
                return [StreamNotice("subscribed to the user channel")]
            return [StreamNotice("the user channel is not among the subscriptions", fatal=True)]
        if kind == "error":
            return [StreamNotice(f"{msg.get('message', 'error')}: {msg.get('reason', '')}".rstrip(": "), fatal=True)]
        handler = self._stream_handlers.get(kind)
        if handler is None or msg.get("product_id") not in self._symbols:
            return []
        return handler(self, Fields(EXCHANGE, msg["product_id"], msg), iso_seconds(msg["time"]))

    def _received(self, msg: Fields, at: float) -> list[StreamEvent]:
        order_id = msg.text("order_id")
        self._known.setdefault(order_id, _Known(msg.optional_decimal("size")))
        return [OrderReport(order_id, msg.raw.get("client_oid") or "", OrderStatus.OPEN, ZERO, at)]

    def _open(self, msg: Fields, at: float) -> list[StreamEvent]:
        order_id = msg.text("order_id")
        filled = self._filled(order_id, msg.decimal("remaining_size"))
        return [OrderReport(order_id, "", OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.OPEN, filled, at)]

    def _match(self, msg: Fields, at: float) -> list[StreamEvent]:
        side = "maker" if msg.has("maker_fee_rate") else "taker" if msg.has("taker_fee_rate") else None
        if side is None:  # not one of ours
            return []
        order_id = msg.text(f"{side}_order_id")
        price, size = msg.decimal("price", positive=True), msg.decimal("size", positive=True)
        fee = price * size * msg.decimal(f"{side}_fee_rate")
        exponent, quantum = fee.as_tuple().exponent, FEE_QUANTUM.as_tuple().exponent
        # Both finite (msg.decimal refuses NaN and infinity), so the exponents are ints, not 'n', 'N' or 'F'.
        assert isinstance(exponent, int) and isinstance(quantum, int)
        if exponent < quantum:
            fee = fee.quantize(FEE_QUANTUM)
        fill = Fill(
            "",
            str(msg.integer("trade_id")),
            price,
            size,
            fee,
            self.markets.to_pair(msg.symbol).quote,
            Liquidity.MAKER if side == "maker" else Liquidity.TAKER,
            at,
            {"exchange_order_id": order_id},
        )
        return [OrderReport(order_id, "", OrderStatus.PARTIALLY_FILLED, ZERO, at, (fill,))]

    def _done(self, msg: Fields, at: float) -> list[StreamEvent]:
        order_id, reason = msg.text("order_id"), msg.text("reason")
        if reason not in _DONE:
            raise InvalidParameter(msg.label("reason"), "filled, canceled or rejected", reason)
        known = self._known.pop(order_id, None)
        remaining = msg.optional_decimal("remaining_size")
        if remaining is None and reason == "filled":  # a market order states none: filled means all of it
            remaining = ZERO
        filled = known.size - remaining if known and known.size is not None and remaining is not None else ZERO
        status = _finished(_DONE[reason], known.time_in_force, known.expire_time, at) if known else _DONE[reason]
        return [OrderReport(order_id, "", status, filled, at)]

    def _resized(self, msg: Fields, at: float) -> list[StreamEvent]:
        known = self._known.get(msg.text("order_id"))
        size = msg.optional_decimal("new_size") or msg.optional_decimal("size")
        if known is not None and size is not None:
            known.size = size
        return []

    def _filled(self, order_id: str, remaining: Decimal) -> Decimal:
        known = self._known.get(order_id)
        return known.size - remaining if known is not None and known.size is not None else ZERO

    _stream_handlers: ClassVar[dict[str, Callable[[CoinbasePrivate, Fields, float], list[StreamEvent]]]] = {
        "received": _received,
        "open": _open,
        "match": _match,
        "done": _done,
        "change": _resized,
        "activate": _resized,
    }


def _finished(status: OrderStatus, time_in_force: str, expire_time: float | None, at: float) -> OrderStatus:
    """A ``canceled`` order that its time in force ended (IOC or FOK, or GTT at its expiry) expired."""
    if status is OrderStatus.CANCELLED and (
        time_in_force in ("IOC", "FOK") or (time_in_force == "GTT" and expire_time is not None and at >= expire_time)
    ):
        return OrderStatus.EXPIRED
    return status


def _message(body: str) -> str:
    """The ``message`` of ``{"message": "..."}``; the body's start for anything else."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200]
    return str(raw["message"]) if isinstance(raw, dict) and "message" in raw else body[:200]
