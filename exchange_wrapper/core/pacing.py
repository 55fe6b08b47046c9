"""When to send: token buckets for the exchanges' rate limits, and backoff for retries.

Pure: the caller passes the time and sleeps for the delay it gets back, so tests drive both
with a fake clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import InvalidParameter


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A documented limit: ``rate`` tokens come back per second, up to ``capacity`` (the burst).

    Coinbase public REST is ``RateLimit(10, 15)``; Binance's 6000 weight a minute is
    ``RateLimit(100, 6000)`` with each request taking its weight; Kraken's counter (15, decaying
    0.33/s) is ``RateLimit(0.33, 15)``.
    """

    rate: float
    capacity: float

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise InvalidParameter("rate", "a number of tokens per second above 0", self.rate)
        if not self.capacity >= 1:
            raise InvalidParameter("capacity", "at least 1 token", self.capacity)


class TokenBucket:
    """Paces calls to one exchange under a :class:`RateLimit`, and holds them all during a pause
    the exchange asked for (HTTP 429 ``Retry-After``).

    Call :meth:`reserve` before each call and wait the seconds it returns: reservations queue, so
    callers that reserve together are spread out at the limit's rate.
    """

    def __init__(self, limit: RateLimit, now: float):
        self.limit = limit
        self._tokens = float(limit.capacity)
        self._updated = now
        self.paused_until = now

    def reserve(self, now: float, weight: float = 1) -> float:
        """Take ``weight`` tokens; return how many seconds to wait before the call (0: go now)."""
        if not 0 < weight <= self.limit.capacity:
            raise InvalidParameter("weight", f"above 0 and at most the capacity {self.limit.capacity}", weight)
        self._refill(now)
        self._tokens -= weight
        debt = -self._tokens / self.limit.rate if self._tokens < 0 else 0.0
        return max(debt, self.paused_until - now, 0.0)

    def pause(self, now: float, seconds: float) -> None:
        """Hold every call for ``seconds`` from ``now`` (a longer pause already set is kept)."""
        self.paused_until = max(self.paused_until, now + max(seconds, 0.0))

    def cap(self, now: float, available: float) -> None:
        """Hold no more than ``available`` tokens from ``now`` (the exchange counted calls made
        elsewhere, e.g. another client on the same IP); a negative value is a debt to wait out."""
        self._refill(now)
        self._tokens = min(self._tokens, available)

    def pause_left(self, now: float) -> float:
        """Seconds of pause still to run (0 when calls are not paused)."""
        return max(self.paused_until - now, 0.0)

    def _refill(self, now: float) -> None:
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(self.limit.capacity, self._tokens + elapsed * self.limit.rate)
            self._updated = now


class Backoff:
    """Exponential backoff with jitter for reconnects and retries.

    Attempt n (from 0) waits between half and all of ``min(cap, base * factor**n)``, drawn from
    ``rng``: growing waits, spread so that many clients do not retry in step. :meth:`reset` after
    a success.
    """

    def __init__(self, base: float = 0.5, cap: float = 60.0, factor: float = 2.0, rng: random.Random | None = None):
        if not 0 < base <= cap:
            raise InvalidParameter("base", f"above 0 and at most cap {cap}", base)
        if not factor >= 1:
            raise InvalidParameter("factor", "at least 1", factor)
        self.base, self.cap, self.factor = base, cap, factor
        self.rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; counts the attempt."""
        ceiling = min(self.cap, self.base * self.factor ** min(self.attempts, 64))
        self.attempts += 1
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempts = 0
