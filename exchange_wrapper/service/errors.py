"""How each error kind appears on the doors: one JSON-RPC code and one HTTP status per kind."""
from __future__ import annotations

from typing import Any

from ..core.errors import XWrapError

#: kind -> (JSON-RPC error code, HTTP status). Codes are part of the API contract.
ERROR_CODES: dict[str, tuple[int, int]] = {
    "invalid_parameter": (-32602, 400),
    "unknown_exchange": (-32001, 404),
    "unknown_pair": (-32002, 404),
    "precision_violation": (-32003, 422),
    "market_closed": (-32004, 422),
    "insufficient_funds": (-32005, 422),
    "order_not_found": (-32006, 404),
    "not_found": (-32007, 404),
    "conflict": (-32008, 409),
    "exchange_unavailable": (-32009, 503),
    "rate_limited": (-32010, 429),
    "unauthorised": (-32011, 401),
    "forbidden": (-32012, 403),
    "config_error": (-32013, 500),
    "too_many_connections": (-32014, 429),
    "overallocated": (-32015, 409),
    "exchange_rejected": (-32016, 422),
    "database_unavailable": (-32017, 503),
    "method_not_found": (-32601, 404),
    "parse_error": (-32700, 400),
    "invalid_request": (-32600, 400),
    "internal_error": (-32603, 500),
}


def error_body(error: XWrapError) -> dict[str, Any]:
    """The one JSON shape of an error on every door."""
    return {"error": {"kind": error.kind, "message": str(error), "details": error.details()}}


def http_status(error: XWrapError) -> int:
    return ERROR_CODES.get(error.kind, ERROR_CODES["internal_error"])[1]


def rpc_code(error: XWrapError) -> int:
    return ERROR_CODES.get(error.kind, ERROR_CODES["internal_error"])[0]
