"""A live account's REST calls: paced under its quotas, signed as they leave, paused on a rate limit.

:class:`AccountCalls` holds the account's token buckets (one per quota, the documented ones until the
exchange's published ones replace them, capped by what its answers say it counted), the exchange's
clock offset the signatures carry, and the pause of every call after a 429/418 (or the exchange's
equivalent), which the hub's status shows. A sequential adapter's requests (a nonce that only grows)
go one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ..core.errors import ExchangeUnavailable, RateLimited
from ..core.pacing import TokenBucket
from ..exchanges.http import Request, Response
from ..exchanges.private import PrivateAdapter, Quota
from ..marketdata.hub import MarketDataHub
from .rest import RestClient

log = logging.getLogger(__name__)


class AccountCalls:
    """The calls of account ``name`` to ``base_url``: :meth:`call` and :meth:`send`.

    ``clock`` is Unix seconds, ``sleep`` waits (both injected in tests); ``quotas`` pace the calls
    until :meth:`set_quotas`; ``sequential``: one request at a time. :attr:`adapter` signs and
    reads the answers once the account has built it and said so (:meth:`use`).
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        quotas: Iterable[Quota],
        hub: MarketDataHub,
        *,
        sequential: bool,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[Any]],
        timeout: float,
    ):
        self.name, self.hub, self.sequential, self.clock, self.sleep = name, hub, sequential, clock, sleep
        quotas = tuple(quotas)
        self.rest = RestClient(name, base_url, quotas[0].limit, timeout=timeout, clock=clock, sleep=sleep)
        self.adapter: PrivateAdapter | None = None
        self.offset = 0.0  # the exchange's clock minus ours
        self.paused_until = 0.0
        self.quotas: dict[str, Quota] = {}
        self.buckets: dict[str, TokenBucket] = {}
        self.sending = asyncio.Lock()  # the adapter's requests one at a time where it is sequential
        self.set_quotas(quotas)

    def exchange_time(self) -> float:
        return self.clock() + self.offset

    def use(self, adapter: PrivateAdapter, quotas: Iterable[Quota]) -> None:
        """Sign requests and read answers with ``adapter`` from now, paced under the ``quotas`` it publishes."""
        self.adapter = adapter
        self.set_quotas(quotas)

    async def synchronise(self, request: Request, parse_time: Callable[[str], float]) -> None:
        """Take the exchange's clock from its answer to ``request`` (read by ``parse_time``), taken
        as halfway through the call: signatures carry it from now."""
        before = self.clock()
        server = parse_time(await self.call(request, signed=False))
        self.offset = server - (before + self.clock()) / 2

    def close(self) -> None:
        self.rest.close()

    async def call(self, request: Request, *, signed: bool = True) -> str:
        """The body of a successful answer (background calls wait out pauses); the adapter's error
        otherwise."""
        response = await self.send(request, fail_fast=False, sign=signed)
        if response.status >= 300:
            raise (
                self.adapter.error(response)
                if self.adapter is not None
                else ExchangeUnavailable(
                    self.name, f"HTTP {response.status} from {request.path}: {response.body[:200]}"
                )
            )
        return response.body

    async def send(
        self, request: Request, *, fail_fast: bool, sign: bool = True, signed: list[float] | None = None
    ) -> Response:
        """Pace ``request`` under every quota it spends, sign it as it leaves, send it, read the
        exchange's count of the quotas, and pause the account on a rate-limit answer. A sequential
        adapter's requests are paced and sent one at a time (paced first, they would wait for their
        turn, then arrive together past the limit)."""
        if fail_fast and self.pause_left() > 0:
            raise RateLimited(self.name, self.pause_left())
        async with self.sending if self.sequential else contextlib.nullcontext():
            response = await self._paced(request, fail_fast, sign, signed)
        adapter = self.adapter
        if adapter is None:
            return response
        response = adapter.answered(request, response)
        now = self.clock()
        for name, used in adapter.used(response).items():
            if name in self.quotas:
                self.buckets[name].cap(now, self.quotas[name].count / 2 - used)
        pause = adapter.pause_for(response, self.exchange_time())
        if pause is not None:
            self.pause(pause, response)
            raise RateLimited(self.name, pause)
        return response

    async def _paced(self, request: Request, fail_fast: bool, sign: bool, signed: list[float] | None) -> Response:
        now = self.clock()
        paused = self.pause_left()
        if paused > 0 and fail_fast:
            raise RateLimited(self.name, paused)
        waits = [
            self.buckets[name].reserve(now, request.costs[quota.kind])
            for name, quota in self.quotas.items()
            if request.costs.get(quota.kind)
        ]
        wait = max(waits, default=paused)
        if wait > 0:
            await self.sleep(wait)

        def prepare(outgoing: Request) -> Request:
            at = self.exchange_time()
            if signed is not None:
                signed.append(at)
            assert self.adapter is not None
            return self.adapter.sign(outgoing, at)

        return await self.rest.send(request, prepare if sign else None)

    def pause(self, seconds: float, response: Response) -> None:
        now = self.clock()
        for bucket in self.buckets.values():
            bucket.pause(now, seconds)
        self.paused_until = max(self.paused_until, now + seconds)
        self.hub.rest_paused(self.name, self.paused_until)
        log.warning(
            "%s answered HTTP %s: every call to the account waits %.3f s (%s)",
            self.name,
            response.status,
            seconds,
            response.body[:200],
        )

    async def pause_over(self) -> None:
        """Wait while the account's calls are paused (read again every second: the pause may be
        extended, and the clock is the exchange's)."""
        while (left := self.pause_left()) > 0:
            await self.sleep(min(left, 1.0))

    def pause_left(self) -> float:
        """Seconds every call to the account still waits after a 429/418."""
        return max(self.paused_until - self.clock(), 0.0)

    def set_quotas(self, quotas: Iterable[Quota]) -> None:
        """Pace under ``quotas`` from now (a pause under way goes on)."""
        now = self.clock()
        self.quotas = {quota.name: quota for quota in quotas}
        self.buckets = {name: TokenBucket(quota.limit, now) for name, quota in self.quotas.items()}
        for bucket in self.buckets.values():
            bucket.pause(now, self.pause_left())
