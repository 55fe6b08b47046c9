"""API tokens and browsers: who may call what. Every door asks :class:`OriginPolicy` whether a
web page may reach it and :class:`Authenticator` who the caller is, the same questions on each.

Tokens are compared in constant time and never logged; a token is known in logs by its name.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import ApiToken
from ..core.errors import Forbidden, Unauthorised

SCOPES = {"read": 0, "trade": 1}
#: The host names a service without tokens answers to.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's name and scope (``anonymous``/``trade`` without tokens)."""

    name: str
    scope: str

    def allow(self, operation: str, needed: str) -> None:
        """Raise :class:`Forbidden` unless this caller's scope covers ``needed``."""
        if SCOPES[self.scope] < SCOPES[needed]:
            raise Forbidden(operation, self.scope, needed)


ANONYMOUS = Caller("anonymous", "trade")


class Authenticator:
    """With no tokens configured everybody may do everything (the service then listens on
    loopback only: the settings refuse anything else)."""

    def __init__(self, tokens: list[ApiToken]):
        self._tokens = [(t.token.encode(), Caller(t.name, t.scope)) for t in tokens]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def caller(self, token: str | None) -> Caller:
        """The caller a presented token stands for; :class:`Unauthorised` for none or a wrong one."""
        if not self._tokens:
            return ANONYMOUS
        if not token:
            raise Unauthorised("an API token is required (Authorization: Bearer TOKEN)")
        presented = token.encode()
        found = None
        for secret, caller in self._tokens:  # compare with every token: the time says nothing
            if hmac.compare_digest(presented, secret):
                found = caller
        if found is None:
            raise Unauthorised("the API token is not valid")
        return found

    @staticmethod
    def bearer(header: str | None) -> str | None:
        """The token of an ``Authorization: Bearer TOKEN`` header, if that is what it holds."""
        if header and header[:7].lower() == "bearer ":
            return header[7:].strip()
        return None


class OriginPolicy:
    """Which web pages may use the service through a browser. A browser sends any page's requests
    (websocket openings too) with the person's cookies and network position, so a request carrying
    an ``Origin`` must come from the service's own pages or from ``server.cors_origins``; and
    without tokens only loopback host names are served, as a page whose own name was made to
    point at 127.0.0.1 (DNS rebinding) is not foreign to the browser."""

    def __init__(self, cors_origins: Iterable[str], *, tokens: bool):
        self.cors_origins, self.tokens = frozenset(cors_origins), tokens

    def check(self, origin: str | None, host: str) -> None:
        """Raise :class:`Unauthorised` unless a request with these ``Origin`` (None: not a web
        page's) and ``Host`` headers may be served; every door calls it before the token."""
        if origin is not None and urlsplit(origin).netloc != host and not self.allows_cors(origin):
            raise Unauthorised(f"requests from web pages at {origin} are not allowed (server.cors_origins)")
        if not self.tokens and urlsplit("//" + host).hostname not in LOOPBACK:
            raise Unauthorised(f"without API tokens only loopback names are served, not {host!r}")

    def allows_cors(self, origin: str) -> bool:
        """Whether ``server.cors_origins`` lists ``origin`` (or ``"*"``)."""
        return origin in self.cors_origins or "*" in self.cors_origins
