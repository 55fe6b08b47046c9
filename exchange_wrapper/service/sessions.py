"""A client's connection to a push door (the JSON-RPC websocket, Socket.IO).

A connection is admitted once, at connect: by the origin policy REST applies too, with its token
and within its address's connection limit (:meth:`Gate.admit`); its :class:`Session` then answers
calls and holds subscriptions. Both doors use it, so a call, an error and a notification mean the
same on each.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from ..config import Settings
from ..contract import OPERATIONS, TOPICS
from ..core.errors import InvalidParameter, MethodNotFound, TooManyConnections, XWrapError
from .api import ExchangeWrapper
from .auth import Authenticator, Caller, OriginPolicy
from .events import EventBus
from .metrics import Metrics

log = logging.getLogger(__name__)

#: Methods a session answers itself, besides the operations: what it is subscribed to.
SESSION_METHODS = ("subscribe", "unsubscribe")

#: The notification a session sends when its queue overflowed: ``{"count": notifications lost}``.
DROPPED = "dropped"


class Gate:
    """Admits connections to the push doors of one app and counts them per client address."""

    def __init__(
        self, api: ExchangeWrapper, *, auth: Authenticator, metrics: Metrics, bus: EventBus, settings: Settings
    ):
        self.api, self.auth, self.metrics, self.bus = api, auth, metrics, bus
        self.origins = OriginPolicy(settings.server.cors_origins, tokens=auth.enabled)
        self.limit = settings.server.max_connections_per_client
        self.send_timeout = settings.server.send_timeout_seconds
        self.open: Counter[str] = Counter()
        self.sessions: set[Session] = set()

    @classmethod
    def of(
        cls, app: Any, api: ExchangeWrapper, *, auth: Authenticator, metrics: Metrics, bus: EventBus, settings: Settings
    ) -> Gate:
        """The gate shared by every door of ``app`` (made by the first door installed), so that the
        connection limit counts them together."""
        gate = getattr(app.ctx, "gate", None)
        if gate is None:
            gate = app.ctx.gate = cls(api, auth=auth, metrics=metrics, bus=bus, settings=settings)
        return gate

    def admit(self, door: str, address: str, token: str | None, *, origin: str | None, host: str) -> Session:
        """A session for a new connection whose opening request came from ``address`` with these
        ``Origin`` and ``Host`` headers; raises :class:`Unauthorised` for a foreign web page or a
        missing or wrong token, :class:`TooManyConnections` past the address's limit. Close it
        when the connection ends."""
        self.origins.check(origin, host)
        caller = self.auth.caller(token)
        if self.open[address] >= self.limit:
            raise TooManyConnections(address, self.limit)
        self.open[address] += 1
        session = Session(self, door, caller, address)
        self.sessions.add(session)
        log.info("%s connection from %s as %s", door, address, caller.name)
        return session

    def observe(self, door: str, method: Any, outcome: str, seconds: float) -> None:
        """Count an answered call; any name but a known method counts as ``unknown`` (clients
        choose method names: they must not choose the metrics' labels)."""
        known = isinstance(method, str) and (method in OPERATIONS or method in SESSION_METHODS)
        self.metrics.observe(door, method if known else "unknown", outcome, seconds)

    def release(self, session: Session) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            self.open[session.address] -= 1
            if self.open[session.address] <= 0:
                del self.open[session.address]


class Session:
    """One admitted connection: ``await call(method, params)``; ``notifications()`` yields what
    its subscriptions receive; ``close()`` when the connection ends."""

    def __init__(self, gate: Gate, door: str, caller: Caller, address: str):
        self.gate, self.door, self.caller, self.address = gate, door, caller, address
        self.subscription = gate.bus.subscribe(set())
        self._reported_drops = 0

    @property
    def send_timeout(self) -> float:
        """Seconds a door waits for the client to read what it is sent; then :meth:`too_slow`."""
        return float(self.gate.send_timeout)

    def too_slow(self) -> str:
        """The reason to close the connection with, its client having left what it was sent unread
        for :attr:`send_timeout`; logged, and counted in ``xwrap_disconnects_total``. The door
        closes the connection, then the session."""
        self.gate.metrics.disconnected(self.door, "too_slow")
        reason = (
            f"too slow: what it was sent stayed unread for {self.gate.send_timeout} s (server.send_timeout_seconds)"
        )
        log.warning("%s connection from %s as %s closed: %s", self.door, self.address, self.caller.name, reason)
        return reason

    async def call(self, method: Any, params: Any) -> Any:
        """The result of one call, or :class:`XWrapError` with the kind a door reports: an
        unexpected exception is logged and becomes a bare ``internal_error``."""
        started, outcome = time.perf_counter(), "ok"
        try:
            return await self._call(method, params)
        except XWrapError as error:
            outcome = error.kind
            raise
        except Exception:
            outcome = "internal_error"
            log.exception("%s call %s by %s failed", self.door, method, self.caller.name)
            raise XWrapError("internal error") from None
        finally:
            self.gate.observe(self.door, method, outcome, time.perf_counter() - started)

    async def _call(self, method: Any, params: Any) -> Any:
        if not isinstance(method, str):
            raise InvalidParameter("method", "a method name (a string)", method)
        if method not in OPERATIONS and method not in SESSION_METHODS:
            raise MethodNotFound(method)
        if params is None or params == []:
            params = {}
        if not isinstance(params, dict):
            raise InvalidParameter("params", "named parameters (a JSON object)", params)
        if method in SESSION_METHODS:
            return self._subscribe(method, params)
        self.caller.allow(method, OPERATIONS[method].scope)
        return await self.gate.api.call(method, params)

    def _subscribe(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        expected = "a list of topics from " + ", ".join(TOPICS)
        for name in params:
            if name != "topics":
                raise InvalidParameter(name, "no such parameter (known: topics)", params[name])
        topics = params.get("topics")
        if topics is None:
            raise InvalidParameter("topics", expected, missing=True)
        if not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t in TOPICS for t in topics):
            raise InvalidParameter("topics", expected, topics)
        if method == "subscribe":
            self.subscription.topics.update(topics)
        else:
            self.subscription.topics.difference_update(topics)
        return {"topics": sorted(self.subscription.topics)}

    async def notifications(self) -> AsyncIterator[tuple[str, Any]]:
        """(topic, payload) for each notification of a subscribed topic, in order, for as long as
        the session lives; ``("dropped", {"count": n})`` first when ``n`` were lost because the
        connection did not keep up."""
        subscription = self.subscription
        while True:
            topic, payload = await subscription.get()
            if subscription.dropped > self._reported_drops:
                count, self._reported_drops = subscription.dropped - self._reported_drops, subscription.dropped
                yield DROPPED, {"count": count}
            if topic in subscription.topics:  # not unsubscribed since it was queued
                yield topic, payload

    def close(self) -> None:
        self.subscription.close()
        self.gate.release(self)
