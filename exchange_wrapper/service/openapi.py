"""The REST door's routes, and the OpenAPI 3.1 document made from them and the contract.

:mod:`.http` serves :data:`ROUTES` and :func:`document` describes the same :data:`ROUTES`, so the
routes and the document cannot drift; each route, its parameters, their schemas and its summary are its
operation's in :mod:`..contract`. A parameter comes from the path when the path names it, else from
the query string (GET) or from the JSON body (POST).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Union

from .. import __version__
from ..contract import (
    ERROR_CODES,
    LARGEST_ID,
    MAX_ALLOCATIONS,
    OPERATIONS,
    Amount,
    Liveness,
    Operation,
    Param,
    Readiness,
)
from ..exchanges import EXCHANGE_NAMES

PREFIX = "/xwrap/v1"
DOCUMENT_PATH = PREFIX + "/openapi.json"
#: The probes of service/health.py: outside the contract's operations (no token, no JSON-RPC method).
LIVE_PATH = PREFIX + "/health/live"
READY_PATH = PREFIX + "/health/ready"


@dataclass(frozen=True)
class Route:
    """One operation on REST: ``path`` is relative to :data:`PREFIX` with ``{name}`` placeholders. The
    route takes its operation's parameters but those only JSON-RPC takes; a path parameter is required.
    ``table``: the route answers that list of the result as CSV (:data:`CSV_ROUTES`), not the JSON."""

    operation: str
    method: str
    path: str
    table: str | None = None

    @property
    def contract(self) -> Operation:
        return OPERATIONS[self.operation]

    @property
    def summary(self) -> str:
        return self.contract.summary

    @property
    def any_body(self) -> bool:
        """Takes a free JSON object (echo)."""
        return self.contract.any_params

    @property
    def params(self) -> tuple[Param, ...]:
        """Every parameter the route takes, each required if the contract or the path requires it."""
        return tuple(
            param if param.required or param.name not in self.path_params else replace(param, required=True)
            for param in self.contract.params
            if param.rest
        )

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))

    @property
    def source(self) -> str:
        """Where the parameters not in the path come from: ``query`` or ``body``."""
        return "query" if self.method == "GET" else "body"

    @property
    def other_params(self) -> tuple[str, ...]:
        return tuple(param.name for param in self.params if param.name not in self.path_params)

    @property
    def full_path(self) -> str:
        return PREFIX + self.path

    @property
    def operation_id(self) -> str:
        return self.operation if self.table is None else f"{self.operation}_csv"

    @property
    def csv_columns(self) -> list[str]:
        """The header of a CSV answer: the fields of the table's rows, in the contract's order."""
        assert self.table is not None
        (row,) = typing.get_args(typing.get_type_hints(self.contract.result)[self.table])
        return list(typing.get_type_hints(row))


#: Every operation's route, as the contract gives it, in the contract's order.
ROUTES: tuple[Route, ...] = tuple(Route(name, *operation.route.split(" ")) for name, operation in OPERATIONS.items())
#: The CSV form of the operations whose contract names a table (``csv``): GET at the path with ``.csv``,
#: the same parameters; the rows of the table as CSV with a header row, the result's other fields as
#: ``X-Xwrap-*`` headers (``next_cursor`` as ``X-Xwrap-Next-Cursor``; a null one left out).
CSV_ROUTES: tuple[Route, ...] = tuple(
    Route(name, "GET", operation.route.split(" ")[1] + ".csv", operation.csv)
    for name, operation in OPERATIONS.items()
    if operation.csv is not None
)


def csv_header(field: str) -> str:
    """The HTTP header a CSV answer carries a result's other ``field`` in."""
    return "X-Xwrap-" + "-".join(word.capitalize() for word in field.split("_"))


# -- schemas --------------------------------------------------------------------------------------

DECIMAL_IN = {  # as the service reads it (service/params.py): an exponent too; below 1e15, to 1e-18
    "type": "string",
    "description": "a decimal string: at most 15 integer digits and 18 decimal places, an exponent allowed",
    "pattern": r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$",
    "examples": ["0.01", "1e-8"],
}
AMOUNT = {"type": "string", "description": "a decimal string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
MAYBE_AMOUNT = {"type": ["string", "null"], "description": "a decimal string, or null"}
TIME = {"type": "number", "minimum": 0, "exclusiveMaximum": 1e11, "description": "Unix seconds"}
CURRENCY = {"type": "string", "pattern": r"^(?=.*[A-Z])[A-Z0-9]{1,16}$", "examples": ["BTC"]}


def _enum(values: Sequence[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


PAIR = {"type": "string", "pattern": r"^[A-Z0-9]{1,16}_[A-Z0-9]{1,16}$", "examples": ["BTC_USD"]}
ORDER_ID = {"type": "string", "pattern": r"^[0-9]{1,18}$"}
#: The schema of a parameter of each kind of the contract's that has one schema whatever its bounds.
KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "exchange": _enum(EXCHANGE_NAMES),
    "pair": PAIR,
    "currency": CURRENCY,
    "time": TIME,
    "order_id": ORDER_ID,
    "decimal": DECIMAL_IN,
    "flag": {"type": "boolean"},
    "allocations": {
        "type": "array",
        "maxItems": MAX_ALLOCATIONS,
        "items": {
            "type": "object",
            "properties": {"exchange": _enum(EXCHANGE_NAMES), "currency": CURRENCY, "amount": DECIMAL_IN},
            "required": ["exchange", "currency", "amount"],
            "additionalProperties": False,
        },
    },
}


def parameter_schema(param: Param) -> dict[str, Any]:
    """The JSON schema of a parameter of the contract, with its meaning as description."""
    if param.kind == "integer":
        schema: dict[str, Any] = {"type": "integer", "minimum": param.minimum, "maximum": param.maximum}
    elif param.kind == "choice":
        schema = _enum(param.choices)
    elif param.kind == "text":
        schema = {"type": "string", "minLength": 1, "maxLength": param.max_length}
    else:
        schema = dict(KIND_SCHEMAS[param.kind])
    if param.default is not None:
        schema["default"] = param.default
    return {**schema, "description": param.meaning}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required or properties)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


_PLAIN: dict[object, dict[str, Any]] = {
    str: {"type": "string"},
    float: {"type": "number"},
    int: {"type": "integer"},
    bool: {"type": "boolean"},
}


def result_schema(kind: Any, schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The JSON schema of a result type of the contract. Each TypedDict it holds is put in ``schemas``
    under its name (once) and referred to."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Amount:
        return AMOUNT
    if origin is Literal:
        return _enum(args)
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in args if arg is not type(None)]
        if inner is Amount:
            return MAYBE_AMOUNT
        schema = result_schema(inner, schemas)
        if "$ref" in schema:  # a TypedDict or null
            return {"anyOf": [schema, {"type": "null"}]}
        nullable = {**schema, "type": [schema["type"], "null"]}
        if "enum" in schema:
            nullable["enum"] = [*schema["enum"], None]
        return nullable
    if origin is list:
        return _array(result_schema(args[0], schemas))
    if origin is tuple:  # a fixed number of items of one type: [price, size]
        return {**_array(result_schema(args[0], schemas)), "minItems": len(args), "maxItems": len(args)}
    if origin is dict:
        values = args[1]
        return {"type": "object", **({} if values is Any else {"additionalProperties": result_schema(values, schemas)})}
    if typing.is_typeddict(kind):
        if kind.__name__ not in schemas:
            schemas[kind.__name__] = {}  # a type that holds itself is referred to while being built
            fields = typing.get_type_hints(kind)
            properties = {name: result_schema(hint, schemas) for name, hint in fields.items()}
            schemas[kind.__name__] = {
                "type": "object",
                "properties": properties,
                "required": [name for name in fields if name in kind.__required_keys__],
            }
        return _ref(kind.__name__)
    return _PLAIN[kind]


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object(
        {
            "error": _object(
                {
                    "kind": {
                        "type": "string",
                        "description": "Stable; one of " + ", ".join(ERROR_CODES) + " (docs/api.md)",
                    },
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                }
            )
        }
    )
}
#: operation -> the schema of its answer (HTTP 200); the types it names are added to :data:`SCHEMAS`.
RESULTS: dict[str, dict[str, Any]] = {
    name: result_schema(operation.result, SCHEMAS) for name, operation in OPERATIONS.items()
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of :data:`ROUTES` (served at :data:`DOCUMENT_PATH`)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES + CSV_ROUTES:
        paths.setdefault(route.full_path, {})[route.method.lower()] = _operation(route)
    paths.update(_health_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "xWrap",
            "version": __version__,
            "description": "The xWrap exchange-wrapper service. Amounts are decimal strings. "
            "Every error has the shape of the Error schema; its kind is stable.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from the settings (tokens[].token)",
                }
            },
            "responses": {
                "Error": {
                    "description": "An error (see kind)",
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
            },
        },
        "security": [{"bearer": []}],
    }


def _health_paths() -> dict[str, Any]:
    """The two probes (docs/api.md "Health"): no token, 200 or (readiness) 503 with the same body."""
    live = {"application/json": {"schema": result_schema(Liveness, SCHEMAS)}}
    ready = {"application/json": {"schema": result_schema(Readiness, SCHEMAS)}}
    return {
        LIVE_PATH: {
            "get": {
                "operationId": "health_live",
                "summary": "Liveness: answered while the process serves",
                "security": [],
                "responses": {"200": {"description": "Live", "content": live}},
            }
        },
        READY_PATH: {
            "get": {
                "operationId": "health_ready",
                "summary": "Readiness: the database answers and every exchange of this node is ready",
                "security": [],
                "responses": {
                    "200": {"description": "Ready", "content": ready},
                    "503": {"description": "Not ready; reasons says why", "content": ready},
                },
            }
        },
    }


def _operation(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": f"JSON-RPC method `{route.operation}`; needs a `{route.contract.scope}` token.",
        "parameters": [_parameter(param, "path") for param in route.params if param.name in route.path_params]
        + [
            _parameter(param, "query")
            for param in route.params
            if param.name in route.other_params and route.source == "query"
        ],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": RESULTS[route.operation]}}},
            "default": {"$ref": "#/components/responses/Error"},
        },
    }
    if route.table is not None:
        others = [name for name in typing.get_type_hints(route.contract.result) if name != route.table]
        out["summary"] += " (CSV)"
        out["description"] += (
            f" Its `{route.table}` as CSV (columns: {', '.join(route.csv_columns)}); "
            + ", ".join(f"`{name}` in the header {csv_header(name)}" for name in others)
            + " (absent when null)."
        )
        out["responses"]["200"] = {
            "description": "OK",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {csv_header(name): {"schema": {"type": "string"}} for name in others},
        }
    if route.any_body:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    elif route.source == "body" and route.other_params:
        body = [param for param in route.params if param.name in route.other_params]
        required = [param.name for param in body if param.required]
        schema = {
            "type": "object",
            "additionalProperties": False,
            "required": required,
            "properties": {param.name: parameter_schema(param) for param in body},
        }
        out["requestBody"] = {"required": bool(required), "content": {"application/json": {"schema": schema}}}
    return out


def _parameter(param: Param, where: str) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": where,
        "required": param.required,
        "schema": parameter_schema(param),
        "description": param.meaning,
    }


def parameter_table(route: Route) -> str:
    """The Markdown table of the route's parameters, as docs/api.md shows it under the operation's heading
    (a test keeps the two the same)."""
    rows = ["| parameter | in | type | required | meaning |", "| --- | --- | --- | --- | --- |"]
    for param in route.params:
        where = "path" if param.name in route.path_params else route.source
        rows.append(
            f"| `{param.name}` | {where} | {_type_text(param)} | {'yes' if param.required else ''} | {param.meaning} |"
        )
    return "\n".join(rows)


def _type_text(param: Param) -> str:
    if param.kind == "integer":
        text = (
            f"integer ≥ {param.minimum}" if param.maximum == LARGEST_ID else f"integer {param.minimum}–{param.maximum}"
        )
    elif param.kind == "text":
        text = f"string, 1–{param.max_length} characters"
    elif param.kind in ("choice", "exchange"):
        text = ", ".join(f"`{value}`" for value in (param.choices if param.kind == "choice" else EXCHANGE_NAMES))
    else:
        text = {
            "pair": "pair `BASE_QUOTE`",
            "currency": "currency code",
            "time": "number (Unix seconds)",
            "order_id": "string (digits)",
            "decimal": "decimal string",
            "flag": "boolean",
            "allocations": "list of `{exchange, currency, amount}`",
        }[param.kind]
    if param.default is None:
        return text
    default = str(param.default).lower() if isinstance(param.default, bool) else param.default
    return f"{text} (default `{default}`)"
