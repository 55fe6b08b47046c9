"""The REST door: the routes of :mod:`.openapi` served with sanic, plus /metrics and the dashboard.

Every route under /xwrap/v1 takes ``Authorization: Bearer TOKEN`` (when tokens are configured),
reads its parameters from the path, the query string (GET) or a JSON object body (POST), hands them
to :meth:`ExchangeWrapper.call` with the route's operation and answers its result as JSON. Every
error, the door's own included (unknown route, wrong method, body too large), has the one shape
of :func:`.errors.error_body`. Browsers: a request carrying an ``Origin`` that is neither the
service's own nor one of ``server.cors_origins`` is refused, so a foreign web page cannot place
orders through a browser on the same machine; CORS headers are sent only for configured origins.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sanic import Request, Sanic, response
from sanic.exceptions import NotFound, SanicException

from ..contract import OPERATIONS
from ..core.errors import InvalidParameter, XWrapError
from .api import ExchangeWrapper
from .auth import Authenticator, Caller, OriginPolicy
from .decoding import read_json
from .errors import error_body, http_status
from .events import EventBus
from .health import Health
from .metrics import CONTENT_TYPE, Metrics
from .openapi import CSV_ROUTES, DOCUMENT_PATH, LIVE_PATH, PREFIX, READY_PATH, ROUTES, Route, csv_header, document

log = logging.getLogger(__name__)
_app_numbers = itertools.count(1)
DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
#: The dashboard's browser libraries, installed from the npm registry (dashboard/package.json, by
#: devops/dashboard.sh): served name -> its file in dashboard/node_modules. Only these, not the whole tree.
DASHBOARD_LIBRARIES = {
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "lightweight-charts.js": "lightweight-charts/dist/lightweight-charts.standalone.production.js",
}
Handler = Callable[..., Coroutine[Any, Any, response.HTTPResponse]]


def create_app(api: ExchangeWrapper, *, auth: Authenticator, metrics: Metrics, bus: EventBus, health: Health) -> Sanic:
    """A Sanic app serving ``api`` on every door, and ``health``'s probes; each call makes a new app
    (tests run several)."""
    app = Sanic(f"xwrap_{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = api.settings.server.max_request_bytes
    app.config.WEBSOCKET_MAX_SIZE = api.settings.server.max_request_bytes
    app.config.ACCESS_LOG = False
    app.config.TOUCHUP = False  # touch-up rewrites Sanic's class methods: a second app in one process fails
    app.ctx.api, app.ctx.auth, app.ctx.metrics, app.ctx.bus = api, auth, metrics, bus
    door = RestDoor(api, auth, metrics, api.settings.server.cors_origins)

    for route in ROUTES + CSV_ROUTES:
        app.add_route(door.handler(route), _sanic_path(route), methods=[route.method], name=route.operation_id)
    if door.origins.cors_origins:
        for path in sorted({_sanic_path(route) for route in ROUTES + CSV_ROUTES} | {DOCUMENT_PATH}):
            app.add_route(door.preflight, path, methods=["OPTIONS"], name="preflight" + path.replace("/", "_"))
        app.on_response(door.add_cors_headers)

    openapi = document()

    @app.get(DOCUMENT_PATH)
    async def openapi_document(request: Request) -> response.HTTPResponse:
        return response.json(openapi)

    @app.get(LIVE_PATH)
    async def live(request: Request) -> response.HTTPResponse:
        return response.json(health.liveness())

    @app.get(READY_PATH)
    async def ready(request: Request) -> response.HTTPResponse:
        readiness = await health.readiness()
        return response.json(readiness, status=200 if readiness["ready"] else 503)

    @app.get("/")
    async def home(request: Request) -> response.HTTPResponse:
        return response.redirect("/dashboard/")

    app.static("/dashboard/", DASHBOARD / "index.html", name="dashboard")
    for script in sorted((DASHBOARD / "js").glob("*.js")):  # the page's own scripts (one per view), only these
        app.static(f"/dashboard/js/{script.name}", script, name="dashboard_js_" + script.stem)
    for served, installed in DASHBOARD_LIBRARIES.items():
        library = DASHBOARD / "node_modules" / installed
        if library.is_file():  # without npm the API serves on, the dashboard without its libraries
            app.static(f"/dashboard/lib/{served}", library, name="dashboard_" + served.replace(".", "_"))

    @app.get("/metrics")
    async def prometheus(request: Request) -> response.HTTPResponse:
        try:  # a read token when tokens are configured, as for any other read
            door.caller(request).allow("metrics", "read")
        except XWrapError as error:
            return _error(error)
        return response.raw(metrics.render(), content_type=CONTENT_TYPE)

    @app.exception(NotFound)
    async def not_found(request: Request, error: NotFound) -> response.HTTPResponse:
        return _error_shape(
            "not_found", f"no route {request.method} {request.path}", {"what": "route", "key": request.path}, 404
        )

    @app.exception(SanicException)
    async def sanic_error(request: Request, error: SanicException) -> response.HTTPResponse:
        """Refusals before any route ran: wrong method (405), body too large (413), bad HTTP (400)."""
        status = error.status_code
        kind = "invalid_request" if status < 500 else "internal_error"
        return _error_shape(kind, str(error), {}, status, getattr(error, "headers", None))

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> response.HTTPResponse:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return _error_shape("internal_error", "internal error", {}, 500)

    return app


class RestDoor:
    """Translates HTTP requests into operation calls and their results or errors back."""

    def __init__(self, api: ExchangeWrapper, auth: Authenticator, metrics: Metrics, cors_origins: list[str]):
        self.api, self.auth, self.metrics = api, auth, metrics
        self.origins = OriginPolicy(cors_origins, tokens=auth.enabled)

    def handler(self, route: Route) -> Handler:
        """The sanic handler of one route."""
        scope = OPERATIONS[route.operation].scope

        async def handle(request: Request, **path: str) -> response.HTTPResponse:
            started, outcome = time.perf_counter(), "ok"
            try:
                self.caller(request).allow(route.operation, scope)
                result = await self.api.call(route.operation, {**_inputs(request, route), **path})
                if route.table is not None:
                    return _csv(route, result)
                return response.json(result, dumps=_dumps)
            except XWrapError as error:
                outcome = error.kind
                return _error(error)
            except Exception:
                outcome = "internal_error"
                log.exception("unexpected error in %s", route.operation)
                return _error_shape("internal_error", "internal error", {}, 500)
            finally:
                self.metrics.observe("rest", route.operation, outcome, time.perf_counter() - started)

        handle.__name__ = route.operation
        return handle

    def caller(self, request: Request) -> Caller:
        """Who calls: the origin policy first (a foreign web page is refused), then the token."""
        self.origins.check(request.headers.get("origin"), request.host)
        return self.auth.caller(self.auth.bearer(request.headers.get("authorization")))

    async def preflight(self, request: Request, **path: str) -> response.HTTPResponse:
        """A CORS preflight; the headers themselves come from :meth:`add_cors_headers`."""
        return response.empty(status=204)

    def add_cors_headers(self, request: Request, reply: response.HTTPResponse) -> None:
        origin = request.headers.get("origin")
        if origin is None or not request.path.startswith(PREFIX) or not self.origins.allows_cors(origin):
            return
        reply.headers["Access-Control-Allow-Origin"] = origin
        reply.headers["Vary"] = "Origin"
        if request.method == "OPTIONS":
            reply.headers["Access-Control-Allow-Methods"] = "GET, POST"
            reply.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            reply.headers["Access-Control-Max-Age"] = "600"


def _sanic_path(route: Route) -> str:
    return route.full_path.replace("{", "<").replace("}", ">")


def _inputs(request: Request, route: Route) -> dict[str, Any]:
    """The route's parameters from the query string or the body (the path's come from sanic)."""
    query = request.get_args(keep_blank_values=True)  # "?pair=" is an empty pair, not no pair
    if route.source == "body":
        if query:
            name = next(iter(query))
            raise InvalidParameter(name, "parameters of a POST in its JSON body, not the query string", query[name])
        values = _body(request)
    else:
        values = {}
        for name, items in query.items():
            if len(items) > 1:
                raise InvalidParameter(name, "one value", items)
            values[name] = items[0]
    if not route.any_body:
        for name in values:
            if name not in route.other_params:
                known = ", ".join(route.other_params) or "none"
                raise InvalidParameter(name, f"no such parameter (known: {known})", values[name])
    return values


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = read_json(request.body)
    except json.JSONDecodeError as error:
        raise InvalidParameter(
            "body", "a JSON object", f"malformed JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except (ValueError, RecursionError):
        raise InvalidParameter(
            "body", "a JSON object in UTF-8, nested at most a few hundred deep", "undecodable text"
        ) from None
    if not isinstance(body, dict):
        raise InvalidParameter("body", "a JSON object", type(body).__name__)
    return body


def _dumps(value: Any) -> bytes:
    """JSON with orjson (a pricing list encodes 5 times faster than with sanic's ujson); a Decimal
    (a number in an echoed body) stays the number it was."""
    try:
        return orjson.dumps(value, default=_number)
    except TypeError:  # an integer past 64 bits (echo): the standard library writes any
        return json.dumps(value, default=str, ensure_ascii=False).encode()


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(type(value).__name__)


def _csv(route: Route, result: dict[str, Any]) -> response.HTTPResponse:
    """The route's table of ``result`` as CSV (a null as an empty cell), the other fields in headers."""
    table = route.table
    assert table is not None
    out = io.StringIO()
    writer = csv.DictWriter(out, route.csv_columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({name: "" if value is None else value for name, value in row.items()} for row in result[table])
    headers = {csv_header(name): str(value) for name, value in result.items() if name != table and value is not None}
    return response.text(out.getvalue(), headers=headers, content_type="text/csv; charset=utf-8")


def _error(error: XWrapError) -> response.HTTPResponse:
    return response.json(error_body(error), status=http_status(error))


def _error_shape(
    kind: str, message: str, details: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> response.HTTPResponse:
    """The error shape for refusals that are not an :class:`XWrapError` (the HTTP layer's own)."""
    return response.json(
        {"error": {"kind": kind, "message": message, "details": details}}, status=status, headers=headers
    )
