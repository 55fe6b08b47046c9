"""REST calls to one exchange: ``requests`` in worker threads, paced by the exchange's limits.

One :class:`RestClient` per exchange: one ``requests.Session`` (kept-alive connections), a
timeout on every call, a :class:`~exchange_wrapper.core.pacing.TokenBucket` with the exchange's
documented public limit, and a pause of every call for as long as an HTTP 429 (or Binance's 418)
``Retry-After`` says. Errors come out as xWrap's: :class:`RateLimited` and
:class:`ExchangeUnavailable` (retry later) or :class:`ExchangeRejected` (do not).
"""
from __future__ import annotations

import asyncio
import email.utils
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import requests

from ..core.errors import ExchangeRejected, ExchangeUnavailable, RateLimited
from ..core.pacing import RateLimit, TokenBucket

#: Seconds to pause when a 429 comes without a usable Retry-After.
DEFAULT_RETRY_AFTER = 10.0


@dataclass(frozen=True)
class Request:
    """One public REST call: ``GET path?params``, costing ``weight`` of the exchange's limit."""

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    weight: float = 1
    method: str = "GET"


class RestClient:
    """Calls ``base_url`` of ``exchange`` under ``limit``.

    ``clock`` (monotonic seconds) and ``sleep`` pace the calls; tests inject both. ``on_pause``
    is told the clock time until which calls are paused after a 429, for the status to show.
    """

    def __init__(self, exchange: str, base_url: str, limit: RateLimit, *, timeout: float = 10.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 on_pause: Callable[[float], None] | None = None, workers: int = 4):
        self.exchange, self.base_url, self.timeout = exchange, base_url.rstrip("/"), timeout
        self.clock, self.sleep, self.on_pause = clock, sleep, on_pause
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
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._executor, self._send, request)
        if response.status_code in (429, 418):
            seconds = retry_after(response.headers.get("Retry-After"), time.time())
            self.bucket.pause(self.clock(), seconds)
            if self.on_pause is not None:
                self.on_pause(self.bucket.paused_until)
            raise RateLimited(self.exchange, seconds)
        if response.status_code >= 500:
            raise ExchangeUnavailable(self.exchange, f"HTTP {response.status_code} from {request.path}")
        if response.status_code >= 400:
            raise ExchangeRejected(self.exchange, response.status_code, response.text[:200])
        return response.text

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

    def _send(self, request: Request) -> requests.Response:
        try:
            return self.session.request(request.method, self.base_url + request.path, params=request.params,
                                        timeout=self.timeout)
        except requests.Timeout:
            raise ExchangeUnavailable(self.exchange, f"no answer from {request.path} within "
                                                     f"{self.timeout:g} s") from None
        except requests.RequestException as error:
            raise ExchangeUnavailable(self.exchange, f"{request.path}: {type(error).__name__}: {error}") from None


def retry_after(header: str | None, now: float) -> float:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date (``now`` is
    Unix seconds); :data:`DEFAULT_RETRY_AFTER` when absent or unreadable."""
    if header is None:
        return DEFAULT_RETRY_AFTER
    try:
        return max(float(header), 0.0)
    except ValueError:
        pass
    try:
        return max(email.utils.parsedate_to_datetime(header).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
