"""The account of the settings' ccxt exchange: ccxt's synchronous exchange object bound to the adapter.

:class:`~exchange_wrapper.exchanges.ccxt.private.CcxtPrivate` imports no ccxt; :func:`ccxt_private_class`
builds ccxt's synchronous object of ``exchanges.ccxt.exchange_id`` (numbers as text, ccxt's limiter
off, its URLs pointed at the settings' ``rest_url``) and returns the adapter class bound to it, its
quota ccxt's ``rateLimit`` and its receive window ccxt's ``recvWindow`` where the exchange has one.
:class:`~.account.LiveAccount` runs it as any other exchange's (docs/ccxt.md).
"""

from __future__ import annotations

import importlib
import threading

from ..config import CcxtExchangeSettings
from ..exchanges.ccxt.private import CcxtPrivate
from ..exchanges.private import PrivateAdapter, Quota
from .ccxt_feed import configured

#: ccxt's options for the account: the open orders of every symbol at once where the exchange
#: allows it (Binance's name; ccxt would refuse to ask without a symbol).
ACCOUNT_OPTIONS = {"warnOnFetchOpenOrdersWithoutSymbol": False}


def ccxt_private_class(settings: CcxtExchangeSettings) -> type[PrivateAdapter]:
    """The private adapter of ``settings.exchange_id``, bound to a ccxt object of its own."""
    ccxt = importlib.import_module("ccxt")
    exchange = configured(getattr(ccxt, settings.exchange_id), settings, **ACCOUNT_OPTIONS)
    # ccxt's rateLimit: the milliseconds it leaves between two calls; never more than that rate in a second
    per_second = 1000 / max(float(exchange.rateLimit), 1.0)
    window = exchange.options.get("recvWindow")
    attributes = {
        "ccxt": exchange,
        "errors": importlib.import_module("ccxt.base.errors"),
        "rest_url": settings.rest_url,
        "quotas": (Quota("rateLimit", "requests", per_second, 1.0),),
        "lock": threading.Lock(),
    }
    if isinstance(window, (int, float)) and not isinstance(window, bool):
        attributes["recv_window"] = window / 1000
    return type(f"CcxtPrivate[{settings.exchange_id}]", (CcxtPrivate,), attributes)
