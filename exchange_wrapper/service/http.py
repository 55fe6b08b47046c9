"""The REST door: routes under /xwrap/v1 that call ExchangeWrapper and return JSON."""
from __future__ import annotations

import itertools
import logging
from pathlib import Path

from sanic import Request, Sanic, response
from sanic.exceptions import NotFound, SanicException

from ..core.errors import XWrapError
from .api import ExchangeWrapper
from .auth import Authenticator
from .errors import error_body, http_status
from .events import EventBus
from .metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)
_app_numbers = itertools.count(1)
DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


def create_app(api: ExchangeWrapper, *, auth: Authenticator, metrics: Metrics, bus: EventBus) -> Sanic:
    """A Sanic app serving ``api`` on every door; each call makes a new app (tests run several)."""
    app = Sanic(f"xwrap_{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = api.settings.server.max_request_bytes
    app.config.WEBSOCKET_MAX_SIZE = api.settings.server.max_request_bytes
    app.config.ACCESS_LOG = False
    app.config.TOUCHUP = False  # touch-up rewrites Sanic's class methods: a second app in one process fails
    app.ctx.api, app.ctx.auth, app.ctx.metrics, app.ctx.bus = api, auth, metrics, bus

    @app.get("/")
    async def home(request: Request) -> response.HTTPResponse:
        return response.redirect("/dashboard/")

    app.static("/dashboard/", DASHBOARD / "index.html", name="dashboard")

    @app.get("/xwrap/v1/status")
    async def status(request: Request) -> response.HTTPResponse:
        return response.json(await api.get_status())

    @app.get("/metrics")
    async def prometheus(request: Request) -> response.HTTPResponse:
        return response.raw(metrics.render(), content_type=CONTENT_TYPE)

    @app.exception(XWrapError)
    async def xwrap_error(request: Request, error: XWrapError) -> response.HTTPResponse:
        return response.json(error_body(error), status=http_status(error))

    @app.exception(NotFound)
    async def not_found(request: Request, error: NotFound) -> response.HTTPResponse:
        body = {"error": {"kind": "not_found", "message": f"no route {request.method} {request.path}",
                          "details": {"what": "route", "key": request.path}}}
        return response.json(body, status=404)

    @app.exception(SanicException)
    async def sanic_error(request: Request, error: SanicException) -> response.HTTPResponse:
        kind = "invalid_request" if error.status_code < 500 else "internal_error"
        return response.json({"error": {"kind": kind, "message": str(error), "details": {}}},
                             status=error.status_code)

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> response.HTTPResponse:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return response.json({"error": {"kind": "internal_error", "message": "internal error",
                                        "details": {}}}, status=500)

    return app
