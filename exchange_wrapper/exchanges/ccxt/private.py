"""Any other exchange's account through ccxt: ccxt builds, signs and reads each request, xWrap sends it.

ccxt's unified methods (``create_order``, ``cancel_order``, ``fetch_order``, ``fetch_open_orders``,
``fetch_my_trades``, ``fetch_balance``) each build the exchange's request, sign it and read its
answer, with an HTTP call in the middle (``fetch``). :class:`CcxtPrivate` runs ccxt's synchronous
exchange object with that one call replaced, so that ccxt stays a translator and xWrap's account
machinery (:class:`~exchange_wrapper.connectors.account.LiveAccount`: its token buckets, 429 pauses,
idempotent placement, polling, recovery and reconciliation) does the I/O, exactly as for a native
exchange:

* a request builder returns a :class:`~..http.Request` that names the ccxt method and its arguments
  (``path`` the method, ``params`` its arguments);
* :meth:`CcxtPrivate.sign` runs the method with ``fetch`` capturing what ccxt would send, at the
  time given (ccxt's clock replaced): the signed HTTP request;
* :meth:`CcxtPrivate.answered` runs the method again with ``fetch`` handing it the exchange's
  answer, so ccxt reads it (its error handling included), and gives the account ccxt's unified
  structure as JSON (or the answer with the ccxt error class named in ``x-ccxt-error``);
* the parsers read that unified JSON into reports, fills and balances, every amount a Decimal
  (ccxt's ``number = str``: its text).

A method that makes more than one HTTP call on the exchange cannot be run this way: it is refused
with an error naming it (docs/ccxt.md lists what that leaves out). This module imports no ccxt: the
exchange object and ccxt's error classes come bound by :mod:`exchange_wrapper.connectors.ccxt_account`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, localcontext
from typing import Any, ClassVar

from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ...core.execution import OrderReport
from ...core.markets import Market
from ...core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, TimeInForce
from ...core.pairs import Pair
from ..http import Request, Response, retry_after
from ..private import AccountBalances, Amendment, NotOnExchange, PrivateAdapter, Quota
from .public import EXCHANGE, exact, parse_markets

#: ccxt's unified order statuses (``open`` partly filled or not, by its ``filled``).
STATUSES = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
_UNFILLED_ENDS = (OrderStatus.REJECTED, OrderStatus.EXPIRED)
#: The header :meth:`CcxtPrivate.answered` names ccxt's error class in.
ERROR_HEADER = "x-ccxt-error"


class Captured(Exception):
    """What ccxt would send: raised by the replaced ``fetch`` so that nothing is sent (not an error:
    how the request ccxt built comes out of it)."""

    def __init__(self, url: str, method: str, headers: Mapping[str, str] | None, body: str | None):
        super().__init__(method, url)
        self.url, self.method, self.headers, self.body = url, method, dict(headers or {}), body


class SecondCall(Exception):
    """A ccxt method asked for a second HTTP call where xWrap runs one."""


def call(method: str, *args: Any, costs: Mapping[str, float] | None = None, **params: Any) -> Request:
    """The request that runs ccxt's ``method(*args, params)`` (signed and sent by the account)."""
    return Request(method, {"args": list(args), "params": params}, costs=costs or {"requests": 1})


class CcxtPrivate(PrivateAdapter):
    """The account of the settings' ccxt exchange. Unbound here: the connector binds a subclass to
    one ccxt exchange object (:attr:`ccxt`) and ccxt's error classes (:attr:`errors`)."""

    name = EXCHANGE
    ccxt: ClassVar[Any]  # ccxt's synchronous exchange object: numbers as text, its own limiter off
    errors: ClassVar[Any]  # ccxt.base.errors
    rest_url = ""  # ccxt's URLs are whole (pointed at the settings' rest_url where set)
    quotas = (Quota("requests", "requests", 1, 1.0),)  # replaced by the bound class: ccxt's rateLimit
    recv_window = 60.0  # where ccxt states none for the exchange (its options' recvWindow)
    lock: ClassVar[threading.Lock]  # one ccxt run at a time: the replaced fetch and clock are the object's

    # -- the markets, loaded before the adapter is built -------------------------------------------

    @classmethod
    def markets_request(cls) -> Request:
        """The request ccxt's ``fetch_markets`` makes (public: not signed). Its currencies are not
        asked for (a call of its own, signed on some exchanges): the markets name them."""
        captured = cls._capture("fetch_markets", [], {}, None)
        path = cls._relative(captured.url)
        return Request(path, method=captured.method, headers=captured.headers, costs={"requests": 1})

    @classmethod
    def read_markets(cls, body: str) -> list[Market]:
        """The markets ccxt reads from ``body``, its answer to :meth:`markets_request`; ccxt's object
        keeps them, to build the orders' requests."""
        fetched = cls._replay("fetch_markets", [], {}, Response(200, {}, body))
        with cls.lock:
            loaded = cls.ccxt.set_markets(fetched)
        return parse_markets(loaded, cls.ccxt.precisionMode)

    # -- limits, errors, signing ------------------------------------------------------------------

    def pause_for(self, response: Response, now: float) -> float | None:
        limited = response.headers.get(ERROR_HEADER) in ("DDoSProtection", "RateLimitExceeded")
        if response.status in (429, 418) or limited:
            return retry_after(response.headers.get("retry-after"), now)
        return None

    def answered(self, request: Request, response: Response) -> Response:
        """ccxt's unified structure of the answer as JSON, or the answer with ccxt's error class in
        :data:`ERROR_HEADER` (a 400 where the exchange said 200)."""
        if not isinstance(request.params.get("args"), list):  # not a ccxt call (the markets)
            return response
        try:
            unified = self._replay(request.path, request.params["args"], request.params["params"], response)
        except self.errors.BaseError as error:
            status = response.status if response.status >= 300 else 400
            return Response(status, {**response.headers, ERROR_HEADER: type(error).__name__}, f"{error}")
        except (ArithmeticError, LookupError, TypeError, ValueError) as error:
            return self._unreadable(request, response, error)
        body = json.dumps(unified, default=str)
        try:
            READERS[request.path](self, body, 0.0)  # read once here: what cannot be read is not an answer
        except (XWrapError, ArithmeticError, LookupError, TypeError, ValueError) as error:
            return self._unreadable(request, response, error)
        return Response(response.status, response.headers, body)

    @staticmethod
    def _unreadable(request: Request, response: Response, error: Exception) -> Response:
        """An answer neither ccxt nor xWrap can read: what the call did is unknown (a placement is
        then asked about by its client id), as after a 5xx."""
        text = f"ccxt's {request.path} answer not readable: {error}"
        return Response(502, {**response.headers, ERROR_HEADER: "NotReadable"}, text)

    def error(self, response: Response) -> XWrapError:
        found = getattr(self.errors, response.headers.get(ERROR_HEADER, ""), None)
        kind = found if isinstance(found, type) else None
        text = response.body[:300]
        if kind is not None and issubclass(kind, self.errors.OrderNotFound):
            return NotOnExchange(EXCHANGE, response.status, text)
        if response.status >= 500 or (kind is not None and issubclass(kind, self.errors.NetworkError)):
            return ExchangeUnavailable(EXCHANGE, f"HTTP {response.status}: {text}")
        return ExchangeRejected(EXCHANGE, response.status, text)

    def sign(self, request: Request, now: float) -> Request:
        """The HTTP request ccxt builds and signs for the call ``request`` names, at ``now``."""
        captured = self._capture(request.path, request.params["args"], request.params["params"], now)
        headers = dict(captured.headers)
        content_type = headers.pop("Content-Type", None) or headers.pop("content-type", None)
        return Request(
            self._relative(captured.url),
            method=captured.method,
            body=captured.body,
            headers=headers,
            costs=request.costs,
            content_type=content_type or "application/x-www-form-urlencoded",
        )

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """``xw``, 24 hex digits of the key and ``r<revision>``: letters and digits only (28
        characters at first), which every exchange with client ids takes."""
        return f"xw{key.hex()[:24]}r{revision}"

    def check(self, order: Order) -> None:
        if order.type.is_stop:
            raise InvalidParameter("type", f"market or limit through ccxt {self.ccxt.id}", order.type.value)
        if order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC, IOC or FOK through ccxt", "GTD")
        if order.post_only and order.time_in_force is not TimeInForce.GTC:
            raise InvalidParameter("time_in_force", "GTC for a post-only order", order.time_in_force.value)
        if order.size is None:
            raise InvalidParameter("funds", "a size: orders through ccxt are in the base currency", str(order.funds))
        request = self.place_request(order, self.client_id(bytes(16), 0))
        self._capture(request.path, request.params["args"], request.params["params"], 0.0)  # ccxt's own checks

    def place_request(self, order: Order, client_id: str) -> Request:
        params: dict[str, Any] = {"clientOrderId": client_id}
        if order.type is OrderType.LIMIT:
            if order.post_only:
                params["postOnly"] = True
            elif order.time_in_force is not TimeInForce.GTC:
                params["timeInForce"] = order.time_in_force.value
        price = str(order.price) if order.type is OrderType.LIMIT else None
        return call(
            "create_order",
            self.markets.to_symbol(order.pair),
            order.type.value,
            order.side.value,
            str(order.size),
            price,
            costs={"requests": 1, "orders": 1},
            **params,
        )

    def query_request(self, order: Order, client_id: str) -> Request:
        """``fetch_order`` by the client id (ccxt's unified ``clientOrderId`` param)."""
        return call("fetch_order", order.exchange_order_id, self.markets.to_symbol(order.pair), clientOrderId=client_id)

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        symbol = self.markets.to_symbol(order.pair)
        if self.ccxt.has.get("fetchOrderTrades"):
            return call("fetch_order_trades", exchange_order_id, symbol)
        return call("fetch_my_trades", symbol)

    def cancel_request(self, order: Order, client_id: str) -> Request:
        symbol = self.markets.to_symbol(order.pair)
        return call("cancel_order", order.exchange_order_id, symbol, clientOrderId=client_id)

    def cancel_all_request(self, pair: Pair) -> Request | None:
        if not self.ccxt.has.get("cancelAllOrders"):
            return None
        return call("cancel_all_orders", self.markets.to_symbol(pair))

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """Cancel, then place the rest under ``next_client_id``: ccxt's ``edit_order`` is not the same
        operation on every exchange (an amend on some, a cancel-replace or two calls on others)."""
        return Amendment(None, in_place=False, client_id=next_client_id)

    def open_orders_request(self) -> Request:
        return call("fetch_open_orders")

    def balances_request(self) -> Request:
        return call("fetch_balance")

    # -- answers (ccxt's unified structures, as :meth:`answered` wrote them) -----------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        return self._report(json.loads(body), at)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        answer = json.loads(body)
        return [self._report(order, at) for order in answer] if isinstance(answer, list) else []

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        return [self._fill(trade, at, None) for trade in json.loads(body)]

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        totals = json.loads(body).get("total") or {}
        return AccountBalances(
            {str(code): exact(total, f"total.{code}") for code, total in totals.items() if total is not None},
            at,
            complete=True,
        )

    def _report(self, order: Mapping[str, Any], at: float) -> OrderReport:
        if not isinstance(order, Mapping) or order.get("id") is None:
            raise InvalidParameter("order.id", "the exchange's id of the order", None)
        filled = exact(order.get("filled") or 0, "order.filled")
        status = STATUSES.get(str(order.get("status")))
        if status is None:
            status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.OPEN
        trades = order.get("trades") or ()
        liquidity = Liquidity.TAKER if order.get("status") != "open" or filled else None  # fills in the answer: taken
        return OrderReport(
            exchange_order_id=str(order["id"]),
            client_id=str(order.get("clientOrderId") or ""),
            status=status,
            filled_size=filled,
            at=at,
            fills=tuple(self._fill(trade, at, liquidity) for trade in trades if trade.get("id") is not None),
            reason=f"ccxt status {order.get('status')}" if status in _UNFILLED_ENDS else "",
        )

    def _fill(self, trade: Mapping[str, Any], at: float, liquidity: Liquidity | None) -> Fill:
        fee = trade.get("fee") or {}
        role = trade.get("takerOrMaker")
        stamp = trade.get("timestamp")
        return Fill(
            order_id="",
            trade_id=str(trade["id"]),
            price=exact(trade.get("price"), "trade.price"),
            size=exact(trade.get("amount"), "trade.amount"),
            fee=exact(fee.get("cost") or 0, "trade.fee.cost"),
            fee_currency=str(fee.get("currency") or ""),
            liquidity=Liquidity(role) if role in ("maker", "taker") else liquidity or Liquidity.TAKER,
            at=int(stamp) / 1000 if isinstance(stamp, int) else at,
            cause={"exchange_order_id": str(trade.get("order"))} if trade.get("order") is not None else {},
        )

    # -- running ccxt -----------------------------------------------------------------------------

    @classmethod
    def _relative(cls, url: str) -> str:
        """``url`` as a path under the account's base URL (the settings' rest_url, where ccxt's
        URLs point), or whole where there is none."""
        base = cls.rest_url.rstrip("/")
        return url[len(base) :] if base and url.startswith(base) else url

    @classmethod
    def _capture(cls, method: str, args: list[Any], params: Mapping[str, Any], now: float | None) -> Captured:
        def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            raise Captured(url, method, headers, body)

        try:
            with cls._running(fetch, now):
                getattr(cls.ccxt, method)(*args, params=dict(params))
        except Captured as captured:
            return captured
        except cls.errors.BaseError as error:  # ccxt refused before sending: the order's arguments
            raise InvalidParameter(method, f"what ccxt {cls.ccxt.id} takes ({error})", args) from None
        raise ExchangeRejected(EXCHANGE, 0, f"ccxt's {method} on {cls.ccxt.id} sends no request")

    @classmethod
    def _replay(cls, method: str, args: list[Any], params: Mapping[str, Any], response: Response) -> Any:
        calls = 0
        ccxt = cls.ccxt

        def fetch(url: str, method_: str = "GET", headers: Any = None, body: Any = None) -> Any:
            nonlocal calls
            calls += 1
            if calls > 1:
                raise SecondCall(url)
            text = response.body
            decoded = ccxt.parse_json(text)
            ccxt.last_response_headers = dict(response.headers)
            where = url.partition("?")[0]  # ccxt's errors name the URL: never its signed query
            if response.status >= 300:
                skip = ccxt.handle_errors(
                    response.status, "", where, method_, response.headers, text, decoded, {}, None
                )
                if not skip:
                    ccxt.handle_http_status_code(response.status, "", where, method_, text)
                raise cls.errors.ExchangeError(f"{ccxt.id} {method_} {where} HTTP {response.status}")
            ccxt.handle_errors(response.status, "", where, method_, response.headers, text, decoded, {}, None)
            return decoded if decoded is not None else text

        try:
            with cls._running(fetch, None):
                return getattr(ccxt, method)(*args, params=dict(params))
        except SecondCall:
            raise ExchangeUnavailable(
                EXCHANGE, f"ccxt's {method} on {ccxt.id} makes more than one request: not supported"
            ) from None

    @classmethod
    @contextmanager
    def _running(cls, fetch: Callable[..., Any], now: float | None) -> Iterator[None]:
        """ccxt's object with ``fetch`` replaced and, where ``now`` is given, its clock reading it; in
        a decimal context of its own (ccxt's number formatting sets the current context's rounding to
        half-up and traps underflow, which would change every Decimal operation after it)."""
        with cls.lock, localcontext():
            ccxt = cls.ccxt
            ccxt.fetch = fetch
            if now is not None:
                ccxt.milliseconds = lambda: int(now * 1000)
                ccxt.seconds = lambda: int(now)
                ccxt.microseconds = lambda: int(now * 1_000_000)
            try:
                yield
            finally:
                for name in ("fetch", "milliseconds", "seconds", "microseconds"):
                    vars(ccxt).pop(name, None)


#: How the answer of each ccxt method the adapter calls is read.
READERS: dict[str, Callable[[CcxtPrivate, str, float], object]] = {
    "create_order": CcxtPrivate.parse_order,
    "fetch_order": CcxtPrivate.parse_order,
    "cancel_order": CcxtPrivate.parse_order,
    "fetch_open_orders": CcxtPrivate.parse_orders,
    "cancel_all_orders": CcxtPrivate.parse_orders,
    "fetch_order_trades": CcxtPrivate.parse_fills,
    "fetch_my_trades": CcxtPrivate.parse_fills,
    "fetch_balance": CcxtPrivate.parse_balances,
}
