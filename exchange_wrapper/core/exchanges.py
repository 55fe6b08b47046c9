"""The exchanges xWrap knows, by the name used in settings, API calls and the database.

Here, in the core, so that the settings (``config.py``) and the adapters (``exchanges/``) both read
the one list without the settings importing the adapters. Each name has its package
``exchanges/<name>/`` (``public.py``, ``private.py``). ``ccxt`` is any other exchange, through
ccxt: the settings' ``exchanges.ccxt.exchange_id`` names which (docs/ccxt.md).
"""

EXCHANGE_NAMES = ("coinbase", "binance", "kraken", "bitfinex", "poloniex", "okx", "bybit", "luno", "ccxt", "valr")
