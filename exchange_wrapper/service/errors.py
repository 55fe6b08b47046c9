"""How an error appears on the doors: its shape, and its kind's JSON-RPC code and HTTP status
(:data:`exchange_wrapper.contract.ERROR_CODES`)."""

from __future__ import annotations

from typing import Any

from ..contract import ERROR_CODES
from ..core.errors import XWrapError


def error_body(error: XWrapError) -> dict[str, Any]:
    """The one JSON shape of an error on every door."""
    return {"error": {"kind": error.kind, "message": str(error), "details": error.details()}}


def http_status(error: XWrapError) -> int:
    return ERROR_CODES.get(error.kind, ERROR_CODES["internal_error"])[1]


def rpc_code(error: XWrapError) -> int:
    return ERROR_CODES.get(error.kind, ERROR_CODES["internal_error"])[0]
