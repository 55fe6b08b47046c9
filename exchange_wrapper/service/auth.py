"""API tokens: who may call what. Every door asks :class:`Authenticator` the same question.

Tokens are compared in constant time and never logged; a token is known in logs by its name.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from ..config import ApiToken
from ..core.errors import Forbidden, Unauthorised

SCOPES = {"read": 0, "trade": 1}


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
