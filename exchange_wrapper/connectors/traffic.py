"""What the connectors tell a recording of an exchange's public traffic, as interfaces.

The market feed (:mod:`.feed`) is given a :class:`TrafficLog` when the traffic is recorded
(``xwrap record``, or ``serve`` with ``recording.enabled``); its websocket (:mod:`.stream`) and REST
client (:mod:`.rest`) tell it what they open, send and receive, as it happens, on the event loop.
:mod:`exchange_wrapper.history.recording` writes it; the connectors know only these protocols, so that
history (which uses the connectors to backfill) stays above them and the imports run one way.

Only public market data is ever told: the live account's REST calls and private stream are built
without a log, because their traffic carries keys, signatures, orders and balances; and a feed whose
adapter has the account's keys (Coinbase's level2 channel wants a signed subscription) tells what it
receives, never what it sends.
"""

from __future__ import annotations

from typing import Protocol


class ConnectionLog(Protocol):
    """One websocket connection's traffic, from its opening (:meth:`TrafficLog.connection`) to
    :meth:`close` (which may be called more than once)."""

    def sent(self, message: str) -> None:
        """``message`` was sent (a subscription, an application ping)."""
        ...

    def received(self, message: str) -> None:
        """``message`` was received, as the exchange sent it."""
        ...

    def close(self) -> None:
        """The connection is over: nothing more will be told."""
        ...


class TrafficLog(Protocol):
    """One exchange's public traffic."""

    def connection(self, url: str) -> ConnectionLog:
        """A websocket connection to ``url`` has just opened; its traffic goes to the log returned."""
        ...

    def response(self, url: str, body: str) -> None:
        """A REST call to ``url`` (with its query) answered ``body`` (public market data: the
        markets, a book snapshot, candles)."""
        ...
