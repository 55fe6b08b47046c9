"""An exchange's HTTP requests and answers as values, and the reading of its Retry-After. No I/O.

Adapters build :class:`Request` values (public and private, with what each costs of the limits)
and read :class:`Response` values; :class:`~exchange_wrapper.connectors.rest.RestClient` sends
them.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Seconds to pause when a 429 comes without a usable Retry-After.
DEFAULT_RETRY_AFTER = 10.0


@dataclass(frozen=True)
class Request:
    """One REST call: ``method path?params``, costing ``weight`` of the exchange's limit.

    A private call also has ``body`` (sent as it is, with its ``content_type``) and ``headers``
    (the signature and the key, added by the exchange's signing just before it is sent), and
    ``costs``: what it spends of each of the account's limits by their kind (``{"orders": 1}``).
    """

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    weight: float = 1
    method: str = "GET"
    body: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    costs: Mapping[str, float] = field(default_factory=dict)
    content_type: str = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Response:
    """An exchange's HTTP answer: status, headers (names in lower case) and body text."""

    status: int
    headers: Mapping[str, str]
    body: str


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
