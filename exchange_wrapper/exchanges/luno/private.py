"""Luno's private side: its account, orders and fills translated to xWrap's types. No I/O.

The markets and their metadata are :mod:`.public`'s; docs/live-trading.md has the checklist of a
private adapter. Its loopback simulator is tests/simulator/luno_private.py, and
tests/service/test_live_luno.py runs the live-trading behaviours against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from urllib.parse import urlencode

import orjson

from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ...core.execution import OrderReport
from ...core.money import ZERO, format_decimal
from ...core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from ...core.pairs import Pair, common_currency
from ..http import DEFAULT_RETRY_AFTER, Request, Response, retry_after
from ..private import AccountBalances, Amendment, NotOnExchange, PrivateAdapter, Quota
from ..wire import Fields, expect, load_json
from .public import EXCHANGE, LunoAdapter, basic_auth
from .public import parse_markets as parse_markets  # re-exported: the markets a private adapter is built with

#: Milliseconds a placement stays valid after its ``timestamp`` (Luno's ``ttl``): a placement that
#: reaches Luno later is refused, so one whose answer was lost is known not to execute after it.
TTL_MS = 10_000
#: ``error_code`` values of an order Luno does not know (never placed, or the id is wrong).
NOT_FOUND_CODES = frozenset({"ErrOrderNotFound", "ErrNotFound"})
#: The placements: what the account spends of its ``orders`` quota and signs with a ``timestamp``.
PLACEMENTS = ("/api/1/postorder", "/api/1/marketorder")
#: What Luno's ``stop_direction`` is for xWrap's stop-limit orders: the side of the trigger price
#: inferred from the last trade (Luno's ``RELATIVE_LAST_TRADE``).
STOP_DIRECTION = "RELATIVE_LAST_TRADE"
_SIDES = {Side.BUY: "BID", Side.SELL: "ASK"}
_MARKET_SIDES = {Side.BUY: "BUY", Side.SELL: "SELL"}


class LunoPrivate(PrivateAdapter):
    """A Luno account: orders, fills and balances over REST with HTTP basic authentication (the
    key id and secret), polled (Luno's streams are the market's, and its user stream is not used).

    A limit order is ``POST /api/1/postorder`` (``BID``/``ASK``, ``post_only``, ``time_in_force``
    GTC, IOC or FOK, a stop-limit with ``stop_price``), a market order ``POST /api/1/marketorder``
    (a buy by ``counter_volume``, a sell by ``base_volume``), each with the ``client_order_id``
    (Luno refuses a second order with the same one: HTTP 409); a cancel is ``POST
    /api/1/stoporder`` by the order's id; an order is asked about by its client id (``GET
    /api/exchange/3/order``), its fills are the account's trades on its market (``GET
    /api/1/listtrades``). Luno has neither a cancel-all nor an amend: amends are cancel-then-place.
    """

    name = EXCHANGE
    market_adapter = LunoAdapter
    rest_url = LunoAdapter.rest_url
    stream_url = None  # polled
    # Luno's Rate-Limiting: 300 calls a minute per account, every call counted; past it a 429
    # (``ErrTooManyRequests``) that states no wait: a Retry-After where a gateway adds one, else
    # xWrap's default pause.
    quotas = (Quota("requests", "requests", 300, 60),)
    recv_window = TTL_MS / 1000
    poll_interval = 5.0
    cancel_reports_order = False  # {"success": true}: the order is asked about after

    # -- limits, time, signing ----------------------------------------------------------------------

    def pause_for(self, response: Response, now: float) -> float | None:
        """A 429: its ``Retry-After`` where it has one, else the default pause."""
        if response.status != 429:
            return None
        return retry_after(response.headers.get("retry-after"), now) or DEFAULT_RETRY_AFTER

    def answered(self, request: Request, response: Response) -> Response:
        """A placement's answer names the order only (``{"order_id"}``) and a cancel's says
        ``{"success": true}``: both are read with the ids the request carried."""
        if response.status >= 300 or request.method != "POST":
            return response
        try:
            body = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            return response
        if not isinstance(body, dict):
            return response
        ids = {name: request.params[name] for name in ("client_order_id", "order_id") if name in request.params}
        return replace(response, body=orjson.dumps({**ids, **body}).decode())

    def error(self, response: Response) -> XWrapError:
        """Luno's ``{"error", "error_code"}``: an unknown order is :class:`NotOnExchange`; a 409 (a
        client order id used already: the placement arrived before) and a 5xx leave the outcome
        unknown; anything else is refused."""
        code, message = _error_of(response.body)
        text = f"{code}: {message}" if code else message
        if response.status >= 500 or response.status == 409:
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: HTTP {response.status}: {text}")
        if code in NOT_FOUND_CODES or response.status == 404:
            return NotOnExchange(EXCHANGE, response.status, text)
        return ExchangeRejected(EXCHANGE, response.status, text)

    def sign(self, request: Request, now: float) -> Request:
        """HTTP basic authentication with the key id and secret; a placement carries ``timestamp``
        (``now`` in milliseconds) and ``ttl``; a POST's parameters go as a form."""
        params = dict(request.params)
        if request.path in PLACEMENTS:
            params.update(timestamp=round(now * 1000), ttl=TTL_MS)
        headers = {**request.headers, **basic_auth(self.credentials)}
        if request.method == "POST":
            return replace(request, params={}, body=urlencode(params), headers=headers)
        return replace(request, params=params, headers=headers)

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """``xw`` and 32 hex digits of the key, ``-<revision>`` after the first: within Luno's
        ``client_order_id`` (letters, digits and ``_ ; , . -``, at most 255 characters)."""
        return "xw" + key.hex()[:32] + (f"-{revision}" if revision else "")

    def check(self, order: Order) -> None:
        if order.type is OrderType.STOP_MARKET:
            raise InvalidParameter("type", "market, limit or stop_limit: luno has no stop-market order", "stop_market")
        if order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC, IOC or FOK: luno has no GTD", "GTD")
        if order.post_only and order.time_in_force is not TimeInForce.GTC:
            raise InvalidParameter("time_in_force", "GTC for a post-only order on luno", order.time_in_force.value)
        if order.type is not OrderType.MARKET:
            return
        if order.time_in_force is not TimeInForce.GTC and order.time_in_force is not TimeInForce.IOC:
            raise InvalidParameter("time_in_force", "GTC or IOC for a market order on luno", order.time_in_force.value)
        if order.side is Side.BUY and order.funds is None:
            raise InvalidParameter("funds", "a quote amount: luno takes a market buy by counter_volume", missing=True)
        if order.side is Side.SELL and order.funds is not None:
            raise InvalidParameter(
                "funds", "a size: luno takes a market sell by base_volume", format_decimal(order.funds)
            )

    def place_request(self, order: Order, client_id: str) -> Request:
        pair = self.markets.to_symbol(order.pair)
        if order.type is OrderType.MARKET:
            params = {"pair": pair, "type": _MARKET_SIDES[order.side]}
            if order.funds is not None:
                params["counter_volume"] = format_decimal(order.funds)
            else:
                assert order.size is not None
                params["base_volume"] = format_decimal(order.size)
            params["client_order_id"] = client_id
            return _request("POST", "/api/1/marketorder", params)
        assert order.size is not None and order.price is not None
        params = {
            "pair": pair,
            "type": _SIDES[order.side],
            "volume": format_decimal(order.size),
            "price": format_decimal(order.price),
        }
        if order.post_only:
            params["post_only"] = "true"
        else:
            params["time_in_force"] = order.time_in_force.value
        if order.type is OrderType.STOP_LIMIT:
            assert order.stop_price is not None
            params["stop_price"] = format_decimal(order.stop_price)
            params["stop_direction"] = STOP_DIRECTION
        params["client_order_id"] = client_id
        return _request("POST", "/api/1/postorder", params)

    def query_request(self, order: Order, client_id: str) -> Request:
        return _request("GET", "/api/exchange/3/order", {"client_order_id": client_id})

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        """The account's trades on the order's market since the order was made (a trade of another
        order is left out by its ``cause``)."""
        since = max(0, round(order.created_at * 1000) - 1000)
        return _request(
            "GET", "/api/1/listtrades", {"pair": self.markets.to_symbol(order.pair), "since": since, "limit": 1000}
        )

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """``POST /api/1/stoporder`` by the order's id (Luno cancels by it only)."""
        if order.exchange_order_id is None:
            raise InvalidParameter("exchange_order_id", "the order's id on luno: it cancels by it only", missing=True)
        return _request("POST", "/api/1/stoporder", {"order_id": order.exchange_order_id})

    def cancel_all_request(self, pair: Pair) -> None:
        return None  # Luno has no cancel-all: one cancel per order

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """Luno has no amend: the order is cancelled, then the rest placed under ``next_client_id``."""
        return Amendment(None, False, next_client_id)

    def open_orders_request(self) -> Request:
        return _request("GET", "/api/exchange/2/listorders", {"closed": "false", "limit": 1000})

    def balances_request(self) -> Request:
        return _request("GET", "/api/1/balance")

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """A placement's answer (the order's id, with the client id it was sent with: open,
        nothing filled yet), a query's (the order, ``GET /api/exchange/3/order``), a cancel's
        (``success``, with the id it was sent with: still open until asked about)."""
        raw = load_json(body, f"an order answer on {EXCHANGE}")
        order = Fields(EXCHANGE, "order", raw)
        if not order.has("status"):
            return OrderReport(
                order.text("order_id"), str(order.raw.get("client_order_id", "")), OrderStatus.OPEN, ZERO, at
            )
        return self._report(order, at)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """``GET /api/exchange/2/listorders``: ``{"orders": [...]}`` (null when there are none)."""
        answer = Fields(EXCHANGE, "listorders", load_json(body, f"orders on {EXCHANGE}"))
        rows = answer.raw.get("orders") or []
        rows = expect(rows, list, answer.label("orders"), "a JSON list")
        return [self._report(Fields(EXCHANGE, f"order {index}", raw), at) for index, raw in enumerate(rows)]

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        raise InvalidParameter("amend", "cancel then place: luno has no amend", "an amend answer")

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """``GET /api/1/listtrades``: each trade's ``sequence`` is its id in the market; the fee is
        ``fee_base`` (a buy pays in what it gets) or ``fee_counter``; ``is_buy`` says whether the
        taker bought, so a bid's trade with ``is_buy`` true was taken by it."""
        answer = Fields(EXCHANGE, "listtrades", load_json(body, f"trades on {EXCHANGE}"))
        rows = expect(answer.raw.get("trades") or [], list, answer.label("trades"), "a JSON list")
        fills = []
        for index, raw in enumerate(rows):
            trade = Fields(EXCHANGE, f"trade {index}", raw)
            pair = self.markets.to_pair(trade.text("pair"))
            ours_bid = trade.text("type") in ("BID", "BUY")
            fee_base, fee_counter = trade.decimal("fee_base"), trade.decimal("fee_counter")
            fills.append(
                Fill(
                    "",
                    str(trade.integer("sequence")),
                    trade.decimal("price", positive=True),
                    trade.decimal("volume", positive=True),
                    fee_base or fee_counter,
                    pair.base if fee_base else pair.quote,
                    Liquidity.TAKER if trade.flag("is_buy") is ours_bid else Liquidity.MAKER,
                    trade.integer("timestamp") / 1000,
                    {"exchange_order_id": trade.text("order_id")},
                )
            )
        return fills

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """``GET /api/1/balance``: per account, ``balance`` (what it holds, its ``reserved`` part
        included: what is available is ``balance`` less ``reserved``), summed per currency over
        the accounts of the same currency; ``unconfirmed`` (deposits not confirmed yet, not
        spendable) is left out."""
        answer = Fields(EXCHANGE, "balance", load_json(body, f"GET /api/1/balance on {EXCHANGE}"))
        rows = expect(answer.raw.get("balance") or [], list, answer.label("balance"), "a JSON list")
        totals: dict[str, Decimal] = {}
        for index, raw in enumerate(rows):
            account = Fields(EXCHANGE, f"account {index}", raw)
            currency = common_currency(EXCHANGE, account.text("asset"))
            totals[currency] = totals.get(currency, ZERO) + account.decimal("balance")
        return AccountBalances({currency: total for currency, total in totals.items() if total}, at, complete=True)

    def _report(self, order: Fields, at: float) -> OrderReport:
        """An order of ``GET /api/exchange/3/order`` or ``listorders``: ``AWAITING`` (a stop not
        triggered yet, or not in the book yet) and ``PENDING`` are open; ``COMPLETE`` is filled
        where all its volume traded (a market order always), else cancelled."""
        status, filled = order.text("status"), order.decimal("base")
        if status in ("AWAITING", "PENDING"):
            state = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.OPEN
        elif status == "COMPLETE":
            whole = order.text("type") == "MARKET" or filled >= order.decimal("limit_volume")
            state = OrderStatus.FILLED if whole else OrderStatus.CANCELLED
        else:
            raise InvalidParameter(order.label("status"), "AWAITING, PENDING or COMPLETE", status)
        completed = order.raw.get("completed_timestamp") or 0
        return OrderReport(
            order.text("order_id"),
            str(order.raw.get("client_order_id") or ""),
            state,
            filled,
            completed / 1000 if isinstance(completed, int) and completed else at,
        )


def _request(method: str, path: str, params: Mapping[str, object] | None = None) -> Request:
    """A request to the account, costing one of its requests (a placement one of its orders too)."""
    return Request(path, dict(params or {}), method=method, costs={"requests": 1})


def _error_of(body: str) -> tuple[str, str]:
    """(error_code, error) of ``{"error": "...", "error_code": "..."}``; ("", the body) for anything else."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raw = None
    if isinstance(raw, dict) and ("error" in raw or "error_code" in raw):
        return str(raw.get("error_code") or ""), str(raw.get("error") or "")
    return "", body[:200]
