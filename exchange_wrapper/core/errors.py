"""One error tree for xWrap.

:class:`Rejected` errors mean the request itself is wrong and repeating it will not help;
:class:`Transient` errors mean it may succeed later. Each error carries its facts as fields
and a stable ``kind`` that the API doors map to one JSON-RPC code and one HTTP status.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .decimal_text import format_decimal


class XWrapError(Exception):
    """Base of every error xWrap raises on purpose."""

    kind = "internal_error"

    def details(self) -> dict[str, Any]:
        """The error's fields, JSON-ready (amounts as strings)."""
        return {}


class Rejected(XWrapError):
    """The request is wrong: do not retry it unchanged."""


class Transient(XWrapError):
    """The request may succeed if retried later."""


class ConfigError(Rejected):
    """A setting is missing, unknown or of the wrong type."""

    kind = "config_error"

    def __init__(self, key: str, expected: str, got: Any = None, *, present: bool = True):
        self.key, self.expected, self.got, self.present = key, expected, got, present
        if present:
            super().__init__(f"setting {key}: expected {expected}, got {_show(got)}")
        else:
            super().__init__(f"setting {key}: expected {expected}")

    def details(self) -> dict[str, Any]:
        return {"key": self.key, "expected": self.expected}


class InvalidParameter(Rejected):
    """A parameter of a request is missing or malformed."""

    kind = "invalid_parameter"

    def __init__(self, field: str, expected: str, got: Any = None, *, missing: bool = False):
        self.field, self.expected, self.got, self.missing = field, expected, got, missing
        if missing:
            super().__init__(f"{field}: missing, expected {expected}")
        else:
            super().__init__(f"{field}: expected {expected}, got {_show(got)}")

    def details(self) -> dict[str, Any]:
        return {"field": self.field, "expected": self.expected}


class UnknownExchange(Rejected):
    """No exchange of that name is enabled; ``valid`` lists those that are, for the message
    (names are lower case: ``Coinbase`` is not ``coinbase``)."""

    kind = "unknown_exchange"

    def __init__(self, exchange: str, valid: Sequence[str] = ()):
        self.exchange, self.valid = exchange, list(valid)
        if self.valid:
            super().__init__(f"unknown exchange {_show(exchange)}: expected one of {', '.join(self.valid)}")
        else:
            super().__init__(f"unknown exchange {_show(exchange)}")

    def details(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "valid": self.valid}


class UnknownPair(Rejected):
    kind = "unknown_pair"

    def __init__(self, exchange: str, pair: str):
        self.exchange, self.pair = exchange, pair
        super().__init__(f"unknown pair {pair!r} on {exchange}")

    def details(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "pair": self.pair}


class PrecisionError(Rejected):
    """An order breaks one of the market's precision rules and rounding cannot fix it."""

    kind = "precision_violation"

    def __init__(
        self, rule: str, message: str, *, exchange: str, pair: str, value: Decimal, limit: Decimal | None = None
    ):
        self.rule, self.exchange, self.pair, self.value, self.limit = rule, exchange, pair, value, limit
        super().__init__(message)

    def details(self) -> dict[str, Any]:
        out = {"rule": self.rule, "exchange": self.exchange, "pair": self.pair, "value": format_decimal(self.value)}
        if self.limit is not None:
            out["limit"] = format_decimal(self.limit)
        return out


class MarketClosed(Rejected):
    """The market exists but does not accept this kind of order now."""

    kind = "market_closed"

    def __init__(self, exchange: str, pair: str, reason: str):
        self.exchange, self.pair, self.reason = exchange, pair, reason
        super().__init__(f"{pair} on {exchange} does not accept this order: {reason}")

    def details(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "pair": self.pair, "reason": self.reason}


class InsufficientFunds(Rejected):
    kind = "insufficient_funds"

    def __init__(self, wallet_set: int | str, exchange: str, currency: str, needed: Decimal, available: Decimal):
        self.wallet_set, self.exchange, self.currency = wallet_set, exchange, currency
        self.needed, self.available = needed, available
        super().__init__(
            f"insufficient funds in wallet set {wallet_set}: {format_decimal(needed)} {currency} on "
            f"{exchange} needed, {format_decimal(available)} available"
        )

    def details(self) -> dict[str, Any]:
        return {
            "wallet_set_id": self.wallet_set,
            "exchange": self.exchange,
            "currency": self.currency,
            "needed": format_decimal(self.needed),
            "available": format_decimal(self.available),
        }


class Overallocated(Rejected):
    """The real exchange account holds less than the live wallet sets are allocated."""

    kind = "overallocated"

    def __init__(self, exchange: str, currency: str, total: Decimal, allocated: Decimal):
        self.exchange, self.currency, self.total, self.allocated = exchange, currency, total, allocated
        super().__init__(
            f"the {exchange} account holds {format_decimal(total)} {currency}, but live wallet sets are "
            f"allocated {format_decimal(allocated)}: deallocate the difference first"
        )

    def details(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "currency": self.currency,
            "total": format_decimal(self.total),
            "allocated": format_decimal(self.allocated),
        }


class NotFound(Rejected):
    """A wallet set, order or other record does not exist."""

    kind = "not_found"

    def __init__(self, what: str, key: Any):
        self.what, self.key = what, key
        super().__init__(f"{what} {key!r} not found")

    def details(self) -> dict[str, Any]:
        return {"what": self.what, "key": self.key}


class OrderNotFound(NotFound):
    kind = "order_not_found"

    def __init__(self, key: Any):
        super().__init__("order", key)


class Conflict(Rejected):
    """The request contradicts the current state (e.g. a wallet set name already taken)."""

    kind = "conflict"


class WalletSetClosed(Conflict):
    """The wallet set is closed (closing is final): it takes no orders, funds or transfers and cannot be
    closed again; ``parameter`` names the parameter of the request that named it."""

    def __init__(self, wallet_set_id: int, closed_at: int, parameter: str = "wallet_set_id"):
        self.wallet_set_id, self.closed_at, self.parameter = wallet_set_id, closed_at, parameter
        super().__init__(f"{parameter}: wallet set {wallet_set_id} is closed")

    def details(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "wallet_set_id": self.wallet_set_id, "closed_at": self.closed_at / 1e6}


class ExchangeNotLive(Conflict):
    """A live wallet set asked to trade or be funded on an exchange that has no live account:
    it runs in paper mode (or live trading is not available on it); no retry can help until the
    settings change."""

    def __init__(self, exchange: str, mode: str):
        self.exchange, self.mode = exchange, mode
        if mode == "live":
            super().__init__(
                f"{exchange} is in live mode but live trading is not available on it: "
                "live wallet sets cannot trade or be funded there"
            )
        else:
            super().__init__(
                f"{exchange} is not in live mode (exchanges.{exchange}.mode is {mode}): "
                "live wallet sets cannot trade or be funded there"
            )

    def details(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "mode": self.mode}


class Unauthorised(Rejected):
    """No valid API token came with the request."""

    kind = "unauthorised"


class Forbidden(Rejected):
    """The token is valid but its scope does not allow the operation."""

    kind = "forbidden"

    def __init__(self, operation: str, scope: str, needed: str):
        self.operation, self.scope, self.needed = operation, scope, needed
        super().__init__(f"{operation} needs a {needed} token; this one is {scope}")

    def details(self) -> dict[str, Any]:
        return {"operation": self.operation, "scope": self.scope, "needed": self.needed}


class MethodNotFound(Rejected):
    """A call names no operation of the service."""

    kind = "method_not_found"

    def __init__(self, method: str):
        self.method = method[:100]
        super().__init__(f"no method {_show(method)}")

    def details(self) -> dict[str, Any]:
        return {"method": self.method}


class InvalidRequest(Rejected):
    """A message is not a well-formed request of its door's protocol (JSON-RPC 2.0, a Socket.IO call)."""

    kind = "invalid_request"


class ParseError(InvalidRequest):
    """A message is not valid JSON (or not UTF-8)."""

    kind = "parse_error"


class TooManyConnections(Transient):
    """A client address already holds as many open connections as it may."""

    kind = "too_many_connections"

    def __init__(self, client: str, limit: int):
        self.client, self.limit = client, limit
        super().__init__(f"{client} already holds {limit} open connections, the most allowed")

    def details(self) -> dict[str, Any]:
        return {"client": self.client, "limit": self.limit}


class ExchangeUnavailable(Transient):
    kind = "exchange_unavailable"

    def __init__(self, exchange: str, reason: str):
        self.exchange, self.reason = exchange, reason
        super().__init__(f"{exchange} unavailable: {reason}")

    def details(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "reason": self.reason}


class ExchangeRejected(Rejected):
    """The exchange refused a request (an HTTP 4xx other than a rate limit)."""

    kind = "exchange_rejected"

    def __init__(self, exchange: str, status: int, message: str):
        self.exchange, self.status, self.message = exchange, status, message
        super().__init__(f"{exchange} refused the request (HTTP {status}): {message}")

    def details(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "status": self.status, "message": self.message}


class DatabaseUnavailable(Transient):
    """The database cannot be reached, or stayed busy through every retry."""

    kind = "database_unavailable"

    def __init__(self, database: str, reason: str):
        self.database, self.reason = database, reason
        super().__init__(f"database {database} unavailable: {reason}")

    def details(self) -> dict[str, Any]:
        return {"database": self.database, "reason": self.reason}


class RateLimited(Transient):
    kind = "rate_limited"

    def __init__(self, exchange: str, retry_after: float):
        self.exchange, self.retry_after = exchange, retry_after
        super().__init__(f"{exchange} rate limit: retry after {retry_after:.3f} s")

    def details(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "retry_after": self.retry_after}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
