"""The private side of an exchange: its account, orders and fills, translated. No I/O.

An exchange package declares a :class:`PrivateAdapter` subclass in its ``private.py``, next to
its market-data :class:`~.base.Adapter` in ``public.py``: the account's documented limits as
:class:`Quota` values, how a request is signed (the time passed in), the exchange's client order
id made from xWrap's, and for each operation the request to send and the reading of its answer
into :class:`~exchange_wrapper.core.execution.OrderReport` values, fills and balances. Its stream
messages (where the exchange has an authenticated stream) become the same reports.
:class:`~..connectors.account.LiveAccount` does the I/O: pacing, signing at send time, idempotent
placement, the stream, polling, recovery. docs/live-trading.md has the checklist of an adapter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import orjson

from ..core.errors import ExchangeRejected, XWrapError
from ..core.execution import OrderReport
from ..core.markets import Market
from ..core.orders import Fill, Order
from ..core.pacing import RateLimit
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from .base import Adapter, Credentials, Translator, find_adapter
from .http import Request, Response


def window_limit(count: float, seconds: float) -> RateLimit:
    """A :class:`RateLimit` that never spends more than ``count`` in any ``seconds``: half of it as
    the burst, the other half refilled over the interval (a bucket with the whole count as its
    burst could spend it, then its refill, in one interval)."""
    return RateLimit(count / 2 / seconds, count / 2)


@dataclass(frozen=True, slots=True)
class Quota:
    """One limit of an account: ``count`` of ``kind`` in any ``seconds``.

    ``kind`` says what a request spends of it (``Request.costs``): ``weight`` (Binance's request
    weight), ``orders`` (new orders), ``requests`` (every request). ``name`` is how the exchange
    reports its use (``REQUEST_WEIGHT 1m``: :meth:`PrivateAdapter.used`).
    """

    name: str
    kind: str
    count: float
    seconds: float

    @property
    def limit(self) -> RateLimit:
        return window_limit(self.count, self.seconds)


@dataclass(frozen=True, slots=True)
class AccountBalances:
    """What the account holds per currency (free plus locked; xWrap's currency codes) at ``at``.

    ``complete``: every currency the account holds is listed, and one not listed holds nothing
    (a balance query); a stream's update lists only the currencies that changed.
    """

    totals: Mapping[str, Decimal]
    at: float
    complete: bool


@dataclass(frozen=True, slots=True)
class StreamNotice:
    """A stream message that is neither an order report nor balances: an acknowledgement, or an
    error (``fatal``: the subscription is gone and the stream must be opened again)."""

    text: str
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class StreamReply:
    """Messages to send on the stream in answer to one received: the subscriptions an exchange takes
    only once its log-in has succeeded (OKX)."""

    messages: tuple[str, ...]


StreamEvent = OrderReport | AccountBalances | StreamNotice | StreamReply


class NotOnExchange(ExchangeRejected):
    """The exchange does not know the order asked about: never placed, or long gone."""


@dataclass(frozen=True)
class Amendment:
    """How the exchange changes a resting order.

    ``in_place``: :attr:`request` amends the exchange order itself (keeping its queue priority).
    Otherwise the order moves to a new exchange order under the client id ``client_id``: in one
    request where the exchange has a cancel-replace (:attr:`request`), or, where it has none
    (``request`` None), by cancelling the order and then placing the rest as a new one.
    """

    request: Request | None
    in_place: bool
    client_id: str
    keeps_priority: bool = True  # in place: False where the exchange requeues it (Kraken, on a new price)

    @property
    def method(self) -> str:
        """``amend`` (``amend_requeued`` where the exchange order loses its queue place),
        ``cancel_replace`` or ``cancel_then_place``: what a strategy is told was done."""
        if self.in_place:
            return "amend" if self.keeps_priority else "amend_requeued"
        return "cancel_replace" if self.request is not None else "cancel_then_place"


def json_request(
    method: str,
    path: str,
    costs: Mapping[str, float],
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Request:
    """A signed call sending ``body`` as compact JSON (signed as sent), ``params`` in its query,
    spending ``costs`` of the account's quotas: the shape of most exchanges' private REST calls."""
    return Request(
        path,
        dict(params or {}),
        method=method,
        body=None if body is None else orjson.dumps(body).decode(),
        content_type="application/json",
        costs=costs,
    )


def client_key(wallet_set_id: int, client_order_id: str) -> bytes:
    """The seed of an order's client order id on the exchange: the same for the same wallet set and
    xWrap client order id, after a restart too, and different between wallet sets."""
    return hashlib.sha256(f"xwrap/{wallet_set_id}/{client_order_id}".encode()).digest()


class PrivateAdapter(Translator):
    """One exchange's account, orders and fills, translated. Subclass per exchange (see the
    checklist in docs/live-trading.md).

    Build it with the exchange's markets, the account's keys and the metadata response the markets
    came from (per-market order rules some exchanges state there). Request builders take xWrap's
    orders and return :class:`~.http.Request` values with their ``costs``; parsers take the answer's
    body and the time it arrived and return reports. Nothing here reads a clock or does I/O.
    """

    side = "private"
    missing = "live trading is not available on this exchange yet"
    market_adapter: ClassVar[type[Adapter]]  # whose markets_path / parse_markets load the markets
    rest_url: ClassVar[str]  # private REST base URL (settings rest_url overrides)
    stream_url: ClassVar[str | None] = None  # the authenticated stream; None: orders are polled
    stream_path: ClassVar[str | None] = None  # the stream's path on the host of the settings' ws_url, where set
    stream_ping: ClassVar[str | None] = None  # an application ping the stream needs to stay open
    stream_ping_interval: ClassVar[float] = 15.0  # seconds between them (Poloniex ends a session silent for 30 s)
    quotas: ClassVar[tuple[Quota, ...]]  # the documented limits of one account
    recv_window: ClassVar[float]  # seconds after its signing time a request can no longer execute
    poll_interval: ClassVar[float] = 5.0  # seconds between polls of open orders without a stream
    sequential: ClassVar[bool] = False  # signed requests must arrive in the order signed (a nonce that
    # only grows, Kraken): the account sends them one at a time
    cancel_reports_order: ClassVar[bool] = True  # False: a cancel's answer does not state the order (Kraken:
    # a count), which is queried after it

    def __init__(self, markets: SymbolTable, credentials: Credentials, metadata: str | bytes = b""):
        self.markets, self.credentials = markets, credentials

    # -- the markets, loaded before the adapter is built -------------------------------------------

    @classmethod
    def markets_request(cls) -> Request:
        """The public request of the markets (:attr:`market_adapter`'s metadata call), not signed."""
        markets = cls.market_adapter
        return Request(
            markets.markets_path, weight=markets.markets_weight, costs={"weight": markets.markets_weight, "requests": 1}
        )

    @classmethod
    def read_markets(cls, body: str) -> list[Market]:
        """The markets of the answer to :meth:`markets_request`."""
        return list(cls.market_adapter.parse_markets(body))

    # -- limits, time, signing ----------------------------------------------------------------------

    def published_quotas(self, metadata: str | bytes) -> tuple[Quota, ...]:
        """The limits the metadata response states (Binance's ``rateLimits``); the documented
        :attr:`quotas` where it states none."""
        return self.quotas

    def used(self, response: Response) -> dict[str, float]:
        """How much of each quota (by name) the exchange counts as used in its current window,
        where the answer's headers say (Binance ``X-MBX-USED-WEIGHT-1M``)."""
        return {}

    def pause_for(self, response: Response, now: float) -> float | None:
        """Seconds every call to the account must wait when ``response`` says a limit was broken
        (HTTP 429, Binance's 418 ban with its Retry-After or ban-until time); None otherwise."""
        raise NotImplementedError

    def answered(self, request: Request, response: Response) -> Response:
        """``response`` as the account reads it: where the exchange says in the body of an HTTP 200
        that the call failed (Kraken's ``error`` list, or nothing found by a query's filter), the HTTP
        status that means; unchanged by default."""
        return response

    def error(self, response: Response) -> XWrapError:
        """The error an unsuccessful answer means: :class:`NotOnExchange` when the order asked
        about is unknown, :class:`ExchangeUnavailable` when the outcome is unknown (a 5xx, the
        exchange's own timeout), :class:`ExchangeRejected` (with its code and message) otherwise."""
        raise NotImplementedError

    def time_request(self) -> Request | None:
        """The exchange's clock, to sign with its time; None where the adapter needs none."""
        return None

    def parse_time(self, body: str) -> float:
        raise NotImplementedError

    def sign(self, request: Request, now: float) -> Request:
        """``request`` with the key, the time ``now`` (Unix seconds, the exchange's clock) and the
        signature, exactly as the exchange documents them."""
        raise NotImplementedError

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """The exchange's client order id of an order (``key`` from :func:`client_key`), within its
        format rules; ``revision`` counts the orders that replaced it on the exchange (0 first)."""
        raise NotImplementedError

    def check(self, order: Order) -> None:
        """Raise :class:`~exchange_wrapper.core.errors.InvalidParameter` naming the field for what
        the exchange cannot do with ``order`` (its type, time in force, post-only)."""

    def place_request(self, order: Order, client_id: str) -> Request:
        raise NotImplementedError

    def query_request(self, order: Order, client_id: str) -> Request:
        """The order's state, asked by its client id (works for an unconfirmed placement)."""
        raise NotImplementedError

    def query_fallback(self, order: Order, client_id: str) -> Request | None:
        """Where else to ask about the order when :meth:`query_request`'s answer does not know it
        (Kraken: its closed orders, after its open ones, by client id); None by default."""
        return None

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        """The fills of one exchange order of ``order`` (an answer listing others' too is filtered
        by each fill's ``cause``)."""
        raise NotImplementedError

    def cancel_request(self, order: Order, client_id: str) -> Request:
        raise NotImplementedError

    def cancel_all_request(self, pair: Pair) -> Request | None:
        """Cancel every open order of the account on ``pair``; None where the exchange cannot cancel
        one pair's orders at once (Kraken's CancelAll takes every pair): one cancel per order then."""
        raise NotImplementedError

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """Change a resting limit order to ``price`` and total ``size`` (of which ``base`` filled on
        earlier exchange orders): in place where the exchange can, else cancel-replace with the
        client id ``next_client_id`` (an :class:`Amendment` without a request where the exchange
        has no cancel-replace: the account cancels, then places). Raise InvalidParameter for what
        the exchange cannot change."""
        raise NotImplementedError

    def open_orders_request(self) -> Request:
        raise NotImplementedError

    def balances_request(self) -> Request:
        raise NotImplementedError

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """A placement, query or cancel answer."""
        raise NotImplementedError

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """An open-orders or cancel-all answer."""
        raise NotImplementedError

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        """The reports of an amend answer: the order as amended, or the cancelled exchange order
        then its replacement."""
        raise NotImplementedError

    def partial_amend(self, body: str, at: float) -> list[OrderReport]:
        """The reports of what a refused cancel-replace did all the same (the order cancelled, its
        replacement refused); none by default."""
        return []

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """Fills of a fills query (``order_id`` empty; ``cause`` names the exchange order)."""
        raise NotImplementedError

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        raise NotImplementedError

    # -- the stream -------------------------------------------------------------------------------

    def stream_address(self, ws_url: str) -> str:
        """The stream's URL: :attr:`stream_path` on the host of the settings' ``ws_url`` (a local
        simulator) where both are set, else :attr:`stream_url`."""
        assert self.stream_url is not None
        if not ws_url or self.stream_path is None:
            return self.stream_url
        parts = urlsplit(ws_url)
        return urlunsplit((parts.scheme, parts.netloc, self.stream_path, "", ""))

    def stream_token_request(self) -> Request | None:
        """A signed REST call the stream's log-in needs the answer of, made before each connection
        (Kraken's GetWebSocketsToken); None by default."""
        return None

    def stream_token(self, body: str) -> None:
        """Keep what :meth:`stream_token_request` answered, for :meth:`stream_subscribe`."""

    def stream_subscribe(self, now: float) -> list[str]:
        """The messages that log in and subscribe the account's orders and balances."""
        raise NotImplementedError

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        raise NotImplementedError


def private_adapter_class(exchange: str) -> type[PrivateAdapter]:
    """The :class:`PrivateAdapter` of ``exchange`` (:func:`~.base.find_adapter`)."""
    return find_adapter(exchange, PrivateAdapter)
