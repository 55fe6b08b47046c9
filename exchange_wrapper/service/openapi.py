"""The REST door's contract: every route with its parameters, and the OpenAPI 3.1 document made from it.

:mod:`.http` serves :data:`ROUTES` and :func:`document` describes the same :data:`ROUTES`, so the
routes and the document cannot drift. A parameter comes from the path when the path names it,
else from the query string (GET) or from the JSON body (POST).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .. import __version__
from ..core.book import BookState
from ..core.ledger import Mode
from ..core.marketdata import FeedStatus
from ..core.orders import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from ..exchanges import EXCHANGE_NAMES
from .api import OPERATIONS
from .errors import ERROR_CODES

PREFIX = "/xwrap/v1"
DOCUMENT_PATH = PREFIX + "/openapi.json"
LARGEST_ID = 2**63 - 1  # the database's integer keys are signed 64-bit


@dataclass(frozen=True)
class Route:
    """One operation on REST: ``path`` is relative to :data:`PREFIX` with ``{name}`` placeholders;
    ``params`` lists every parameter the route takes (``required`` those it needs); ``any_body``
    takes a free JSON object (echo)."""

    operation: str
    method: str
    path: str
    summary: str
    params: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    any_body: bool = False

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))

    @property
    def source(self) -> str:
        """Where the parameters not in the path come from: ``query`` or ``body``."""
        return "query" if self.method == "GET" else "body"

    @property
    def other_params(self) -> tuple[str, ...]:
        return tuple(name for name in self.params if name not in self.path_params)

    @property
    def full_path(self) -> str:
        return PREFIX + self.path


ORDER_PARAMS = ("wallet_set_id", "exchange", "pair", "side", "type", "size", "funds", "price", "stop_price",
                "time_in_force", "expire_time", "post_only", "client_order_id", "strict")
MONEY_MOVE = ("exchange", "currency", "amount")

ROUTES: tuple[Route, ...] = (
    Route("echo", "POST", "/echo", "Return the body as given: a round-trip check", any_body=True),
    Route("get_status", "GET", "/status", "Version, uptime, the exchanges and the database"),
    Route("get_exchanges", "GET", "/exchanges", "Per exchange: trading mode, market-data status, pairs followed"),
    Route("get_markets", "GET", "/markets", "Precision rules of the markets", ("exchange", "pair")),
    Route("get_pricing", "GET", "/pricing", "Bid, ask, mid and last trade of every followed pair", ("exchange",)),
    Route("get_book", "GET", "/book", "The top levels of a book, best first, with its state and age",
          ("exchange", "pair", "depth"), ("exchange", "pair")),
    Route("get_trades", "GET", "/trades", "The latest public trades of a pair, newest first",
          ("exchange", "pair", "limit"), ("exchange", "pair")),
    Route("get_ohlc", "GET", "/ohlc", "OHLC candles from the exchange",
          ("exchange", "pair", "interval", "start", "end"), ("exchange", "pair")),
    Route("make_order", "POST", "/orders", "Place an order", ORDER_PARAMS,
          ("wallet_set_id", "exchange", "pair", "side")),
    Route("get_orders", "GET", "/orders", "Open or recent orders, newest first",
          ("wallet_set_id", "exchange", "pair", "status", "limit", "before")),
    Route("cancel_all_orders", "POST", "/orders/cancel_all", "Cancel every open order matching the filters",
          ("wallet_set_id", "exchange", "pair")),
    Route("get_order", "GET", "/orders/{order_id}", "One order with its fills and events", ("order_id",),
          ("order_id",)),
    Route("cancel_order", "POST", "/orders/{order_id}/cancel", "Cancel an order", ("order_id",), ("order_id",)),
    Route("amend_order", "POST", "/orders/{order_id}/amend", "Change an open order's price or size",
          ("order_id", "price", "size", "strict"), ("order_id",)),
    Route("get_fills", "GET", "/fills", "The fills of one order, or of a wallet set's recent orders",
          ("order_id", "wallet_set_id", "limit")),
    Route("create_wallet_set", "POST", "/wallet_sets", "Create a wallet set", ("name", "mode"), ("name",)),
    Route("get_wallet_sets", "GET", "/wallet_sets", "Every wallet set, without balances"),
    Route("get_wallet_set", "GET", "/wallet_sets/{wallet_set_id}", "A wallet set with its wallets",
          ("wallet_set_id",), ("wallet_set_id",)),
    Route("get_wallet", "GET", "/wallet_sets/{wallet_set_id}/wallets", "One wallet: balance, hold, available",
          ("wallet_set_id", "exchange", "currency"), ("wallet_set_id", "exchange", "currency")),
    Route("fund_wallet_set", "POST", "/wallet_sets/{wallet_set_id}/fund", "Add funds to a wallet set (virtual money to a paper set; to a live set, from the real account)",
          ("wallet_set_id", *MONEY_MOVE), ("wallet_set_id", *MONEY_MOVE)),
    Route("transfer", "POST", "/transfers", "Move available funds between two wallet sets of one mode",
          ("from_wallet_set_id", "to_wallet_set_id", *MONEY_MOVE),
          ("from_wallet_set_id", "to_wallet_set_id", *MONEY_MOVE)),
)

# -- schemas --------------------------------------------------------------------------------------

DECIMAL_IN = {"type": "string", "pattern": r"^[0-9]{1,30}(\.[0-9]{1,30})?$", "examples": ["0.01"]}
AMOUNT = {"type": "string", "description": "a decimal string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
MAYBE_AMOUNT = {"type": ["string", "null"], "description": "a decimal string, or null"}
ID = {"type": "integer", "minimum": 1, "maximum": LARGEST_ID}
TIME = {"type": "number", "minimum": 0, "exclusiveMaximum": 1e11, "description": "Unix seconds"}
CURRENCY = {"type": "string", "pattern": r"^(?=.*[A-Z])[A-Z0-9]{1,16}$", "examples": ["BTC"]}


def _enum(kind: type[Enum] | tuple[str, ...]) -> dict[str, Any]:
    values = [member.value for member in kind] if isinstance(kind, type) else list(kind)
    return {"type": "string", "enum": values}


#: parameter name -> (JSON schema, description). One meaning per name across every operation.
PARAMETERS: dict[str, tuple[dict[str, Any], str]] = {
    "exchange": (_enum(EXCHANGE_NAMES), "An exchange by name"),
    "pair": ({"type": "string", "pattern": r"^[A-Z0-9]{1,16}_[A-Z0-9]{1,16}$", "examples": ["BTC_USD"]},
             "A pair in unified BASE_QUOTE form"),
    "currency": (CURRENCY, "A currency code"),
    "depth": ({"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}, "Levels per side"),
    "interval": ({"type": "integer", "minimum": 60, "maximum": 604800, "default": 60}, "Candle length in seconds"),
    "start": (TIME, "First candle's start, Unix seconds"),
    "end": (TIME, "Last candle's end, Unix seconds"),
    "wallet_set_id": (ID, "A wallet set's id"),
    "from_wallet_set_id": (ID, "The wallet set the funds leave"),
    "to_wallet_set_id": (ID, "The wallet set the funds go to"),
    "order_id": ({"type": "string", "pattern": r"^[0-9]{1,18}$"}, "An order's id as xWrap gave it"),
    "side": (_enum(Side), "buy or sell"),
    "type": ({**_enum(OrderType), "default": "limit"}, "Order type"),
    "size": (DECIMAL_IN, "Size in base units"),
    "funds": (DECIMAL_IN, "Quote amount to spend (market buy without a size)"),
    "price": (DECIMAL_IN, "Limit price"),
    "stop_price": (DECIMAL_IN, "Stop trigger price (stop_market, stop_limit)"),
    "time_in_force": ({**_enum(TimeInForce), "default": "GTC"}, "GTC, IOC, FOK, or GTD with expire_time"),
    "expire_time": (TIME, "When a GTD order expires, Unix seconds"),
    "post_only": ({"type": "boolean", "default": False}, "Refuse to take liquidity (limit orders)"),
    "client_order_id": ({"type": "string", "minLength": 1, "maxLength": 64},
                        "Your id for the order; placing it again returns the first order"),
    "strict": ({"type": "boolean", "default": False},
               "Refuse a price or size off the market's grid instead of rounding it"),
    "status": ({**_enum(("open", "recent")), "default": "open"}, "Open orders only, or recent ones too"),
    "limit": ({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "At most this many (newest first)"),
    "before": (ID, "Page: orders older than this id (next_before of the previous page)"),
    "name": ({"type": "string", "minLength": 1, "maxLength": 64}, "A name for the wallet set"),
    "mode": ({**_enum(Mode), "default": "paper"}, "paper or live"),
    "amount": (DECIMAL_IN, "An amount of the currency"),
}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required or properties)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


TEXT, NUMBER, MAYBE_TEXT = {"type": "string"}, {"type": "number"}, {"type": ["string", "null"]}
MAYBE_NUMBER = {"type": ["number", "null"]}
LEVELS = _array({**_array(AMOUNT), "minItems": 2, "maxItems": 2, "description": "[price, size]"})

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object({"error": _object({
        "kind": {"type": "string", "description": "Stable; one of " + ", ".join(ERROR_CODES) + " (docs/api.md)"},
        "message": TEXT, "details": {"type": "object"}})}),
    "Exchange": _object({"mode": _enum(("paper", "live")), "status": _enum(FeedStatus),
                         "reason": MAYBE_TEXT, "pairs": _array(TEXT)}),
    "Status": _object({"version": TEXT, "uptime": NUMBER,
                       "exchanges": {"type": "object", "additionalProperties": _ref("Exchange")},
                       "database": _object({"kind": _enum(("sqlite", "postgresql")), "url": TEXT,
                                            "schema_version": {"type": "integer"}})}),
    "Market": _object({"exchange": TEXT, "pair": TEXT, "symbol": TEXT, "tick_size": MAYBE_AMOUNT,
                       "size_step": MAYBE_AMOUNT, "min_size": MAYBE_AMOUNT, "min_notional": MAYBE_AMOUNT,
                       "status": TEXT}),
    "Pricing": _object({"exchange": TEXT, "pair": TEXT, "bid": MAYBE_AMOUNT, "ask": MAYBE_AMOUNT,
                        "mid": MAYBE_AMOUNT, "last": MAYBE_AMOUNT, "state": _enum(BookState)}),
    "Book": _object({"exchange": TEXT, "pair": TEXT, "state": _enum(BookState), "age": MAYBE_NUMBER,
                     "bids": LEVELS, "asks": LEVELS}),
    "Trade": _object({"trade_id": TEXT, "price": AMOUNT, "size": AMOUNT, "taker_side": _enum(Side),
                      "time": NUMBER}),
    "Candle": _object({"start": NUMBER, "interval": {"type": "integer"}, "open": AMOUNT, "high": AMOUNT,
                       "low": AMOUNT, "close": AMOUNT, "volume": AMOUNT}),
    "Fill": _object({"order_id": TEXT, "trade_id": TEXT, "price": AMOUNT, "size": AMOUNT, "fee": AMOUNT,
                     "fee_currency": TEXT, "liquidity": _enum(Liquidity), "time": NUMBER,
                     "cause": {"type": "object"}}),
    "Order": _object({
        "id": TEXT, "client_order_id": TEXT, "wallet_set_id": {"type": "integer"}, "exchange": TEXT, "pair": TEXT,
        "side": _enum(Side), "type": _enum(OrderType), "size": MAYBE_AMOUNT, "funds": MAYBE_AMOUNT,
        "price": MAYBE_AMOUNT, "stop_price": MAYBE_AMOUNT, "time_in_force": _enum(TimeInForce),
        "expire_time": MAYBE_NUMBER, "post_only": {"type": "boolean"}, "status": _enum(OrderStatus),
        "filled_size": AMOUNT, "average_price": MAYBE_AMOUNT, "fees": AMOUNT, "created_at": NUMBER,
        "fills": _array(_ref("Fill"))}),
    "Wallet": _object({"exchange": TEXT, "currency": TEXT, "balance": AMOUNT, "hold": AMOUNT,
                       "available": AMOUNT, "usd_value": MAYBE_AMOUNT}),
    "WalletSet": _object({"id": {"type": "integer"}, "name": TEXT, "mode": _enum(Mode), "created_at": NUMBER,
                          "wallets": _array(_ref("Wallet"))}, ("id", "name", "mode", "created_at")),
    "LedgerEntry": _object({"id": {"type": "integer"}, "kind": TEXT, "reference": MAYBE_TEXT,
                            "postings": _array(_object({"account": TEXT, "exchange": MAYBE_TEXT,
                                                        "currency": TEXT, "amount": AMOUNT}))}),
}

#: operation -> the schema of its answer (HTTP 200).
RESULTS: dict[str, dict[str, Any]] = {
    "echo": {"type": "object"},
    "get_status": _ref("Status"),
    "get_exchanges": {"type": "object", "additionalProperties": _ref("Exchange")},
    "get_markets": _array(_ref("Market")),
    "get_pricing": _array(_ref("Pricing")),
    "get_book": _ref("Book"),
    "get_trades": _array(_ref("Trade")),
    "get_ohlc": _array(_ref("Candle")),
    "make_order": _ref("Order"),
    "get_orders": _object({"orders": _array(_ref("Order")), "next_before": {"type": ["integer", "null"]}}),
    "cancel_all_orders": _object({"cancelled": _array(_ref("Order"))}),
    "get_order": {"allOf": [_ref("Order"), _object({"events": _array(_object({
        "from": MAYBE_TEXT, "to": TEXT, "time": NUMBER, "reason": MAYBE_TEXT}))})]},
    "cancel_order": _ref("Order"),
    "amend_order": _ref("Order"),
    "get_fills": _array(_ref("Fill")),
    "create_wallet_set": _ref("WalletSet"),
    "get_wallet_sets": _array(_ref("WalletSet")),
    "get_wallet_set": {"allOf": [_ref("WalletSet"), {"required": ["wallets"]}]},
    "get_wallet": {"allOf": [_ref("Wallet"), _object({"wallet_set_id": {"type": "integer"}})]},
    "fund_wallet_set": _object({"entry": _ref("LedgerEntry"), "wallet": _ref("Wallet")}),
    "transfer": _object({"entry": _ref("LedgerEntry")}),
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of :data:`ROUTES` (served at :data:`DOCUMENT_PATH`)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.full_path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "xWrap", "version": __version__,
                 "description": "The xWrap exchange-wrapper service. Amounts are decimal strings. "
                                "Every error has the shape of the Error schema; its kind is stable."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API token from the settings (tokens[].token)"}},
            "responses": {"Error": {"description": "An error (see kind)",
                                    "content": {"application/json": {"schema": _ref("Error")}}}},
        },
        "security": [{"bearer": []}],
    }


def _operation(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": route.operation, "summary": route.summary,
        "description": f"JSON-RPC method `{route.operation}`; needs a `{OPERATIONS[route.operation]}` token.",
        "parameters": [_parameter(route, name, "path") for name in route.path_params]
        + ([_parameter(route, name, "query") for name in route.other_params] if route.source == "query" else []),
        "responses": {"200": {"description": "OK", "content": {"application/json": {
            "schema": RESULTS[route.operation]}}}, "default": {"$ref": "#/components/responses/Error"}},
    }
    if route.any_body:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    elif route.source == "body" and route.other_params:
        required = [name for name in route.other_params if name in route.required]
        schema = {"type": "object", "additionalProperties": False, "required": required,
                  "properties": {name: _schema(name) for name in route.other_params}}
        out["requestBody"] = {"required": bool(required), "content": {"application/json": {"schema": schema}}}
    return out


def _parameter(route: Route, name: str, where: str) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path" or name in route.required,
            "schema": _schema(name), "description": PARAMETERS[name][1]}


def _schema(name: str) -> dict[str, Any]:
    return {**PARAMETERS[name][0], "description": PARAMETERS[name][1]}
