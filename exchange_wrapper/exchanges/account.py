"""Moved to :mod:`exchange_wrapper.connectors.account` (issue 10): kept only until service/trading.py
imports LiveAccount from there; then delete this module (and its ignore_imports in pyproject.toml)."""

from ..connectors.account import LiveAccount as LiveAccount
from ..connectors.account import open_accounts as open_accounts
