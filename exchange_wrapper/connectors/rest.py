"""REST calls to one exchange: ``requests`` in worker threads, paced by the exchange's limits.

One :class:`RestClient` per exchange: one ``requests.Session`` (kept-alive connections), a
timeout on every call, a :class:`~exchange_wrapper.core.pacing.TokenBucket` with the exchange's
documented public limit, and a pause of every call for as long as an HTTP 429 (or Binance's 418)
``Retry-After`` says. Errors come out as xWrap's: :class:`RateLimited` and
:class:`ExchangeUnavailable` (retry later) or :class:`ExchangeRejected` (do not). Their texts name
the path, never the query or the headers: a signed call carries its key and signature there, and
these texts become orders' reasons, log lines and answers.

Private calls (:mod:`.account`) pace themselves under the account's own limits and use
:meth:`RestClient.send`: one exchange, signed just before it leaves, whose status and headers the
caller reads with the exchange's own rules.

Given a :class:`~.traffic.TrafficLog` (the market feed's, when its traffic is recorded), every answer
:meth:`RestClient.call` returns is told to it with its URL: public market data only, as only the
feed's client has one (:meth:`RestClient.send`, the private calls' way, never records).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import requests

from ..core.errors import ExchangeRejected, ExchangeUnavailable, RateLimited
from ..core.pacing import RateLimit, TokenBucket
from ..exchanges.http import Request, Response, retry_after
from .traffic import TrafficLog


class RestClient:
    """Calls ``base_url`` of ``exchange`` under ``limit``.

    ``clock`` (monotonic seconds) and ``sleep`` pace the calls; tests inject both. ``on_pause``
    is told the clock time until which calls are paused after a 429, for the status to show.
    ``traffic`` is told the answers :meth:`call` returns (see the module's docstring).
    """

    def __init__(
        self,
        exchange: str,
        base_url: str,
        limit: RateLimit,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        on_pause: Callable[[float], None] | None = None,
        workers: int = 4,
        traffic: TrafficLog | None = None,
    ):
        self.exchange, self.base_url, self.timeout = exchange, base_url.rstrip("/"), timeout
        self.clock, self.sleep, self.on_pause, self.traffic = clock, sleep, on_pause, traffic
        self.bucket = TokenBucket(limit, clock())
        self.session = requests.Session()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"rest-{exchange}")

    async def call(self, request: Request) -> str:
        """The response body of ``request`` once the limit allows it.

        Raises :class:`RateLimited` on a 429/418 (and pauses every later call for its
        Retry-After), :class:`ExchangeUnavailable` on a 5xx, a timeout or a network error,
        :class:`ExchangeRejected` on any other status of 400 or more.
        """
        wait = self.bucket.reserve(self.clock(), request.weight)
        if wait > 0:
            await self.sleep(wait)
        response = await self.send(request)
        if response.status in (429, 418):
            seconds = retry_after(response.headers.get("retry-after"), time.time())
            self.bucket.pause(self.clock(), seconds)
            if self.on_pause is not None:
                self.on_pause(self.bucket.paused_until)
            raise RateLimited(self.exchange, seconds)
        if response.status >= 500:
            raise ExchangeUnavailable(self.exchange, f"HTTP {response.status} from {request.path}")
        if response.status >= 400:
            raise ExchangeRejected(self.exchange, response.status, response.body[:200])
        if self.traffic is not None:
            query = "?" + urlencode(request.params) if request.params else ""
            self.traffic.response(self.base_url + request.path + query, response.body)
        return response.body

    async def send(self, request: Request, prepare: Callable[[Request], Request] | None = None) -> Response:
        """One HTTP exchange, not paced (the caller paces) and whatever its status.

        ``prepare`` turns the request into the one sent (signing it with the time it leaves) in the
        worker thread, right before it is sent. Raises :class:`ExchangeUnavailable` when no answer
        comes: a network error, a lost connection or a timeout (the request may have arrived).
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._exchange, request, prepare)

    def set_limit(self, limit: RateLimit) -> None:
        """Pace later calls under ``limit`` (the exchange's published limit replacing the
        documented one); a pause under way goes on."""
        now = self.clock()
        bucket = TokenBucket(limit, now)
        bucket.pause(now, self.bucket.pause_left(now))
        self.bucket = bucket

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.session.close()

    def _exchange(self, request: Request, prepare: Callable[[Request], Request] | None) -> Response:
        where = request.path.partition("?")[0]  # errors name the path only: a signed query holds the signature
        if prepare is not None:
            request = prepare(request)
        headers = dict(request.headers)
        if request.body is not None:
            headers["Content-Type"] = request.content_type
        try:
            response = self.session.request(
                request.method,
                self.base_url + request.path,
                params=request.params,
                data=request.body,
                headers=headers,
                timeout=self.timeout,
            )
            return Response(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.text)
        except requests.Timeout:
            raise ExchangeUnavailable(self.exchange, f"no answer from {where} within {self.timeout:g} s") from None
        except requests.RequestException as error:
            raise ExchangeUnavailable(self.exchange, f"no answer from {where}: {describe_failure(error)}") from None


def describe_failure(error: BaseException) -> str:
    """``error``'s class and its first cause (``ConnectionError (Connection refused)``), never its text:
    the texts of requests and urllib3 hold the URL, a signed query string with its signature included."""
    cause = error
    while True:
        inner = next(
            (
                c
                for c in (getattr(cause, "reason", None), *cause.args, cause.__cause__, cause.__context__)
                if isinstance(c, BaseException)
            ),
            None,
        )
        if inner is None:
            break
        cause = inner
    if cause is error:
        return type(error).__name__
    detail = cause.strerror if isinstance(cause, OSError) and cause.strerror else type(cause).__name__
    return f"{type(error).__name__} ({detail})"
