"""Unified pair names (``BASE_QUOTE``) and currency aliases.

Each exchange spells some currencies its own way (Kraken ``XBT``/``XXBT``/``ZUSD``,
Bitfinex ``UST``); xWrap speaks one spelling everywhere and translates at the adapter edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidParameter

_CURRENCY = re.compile(r"[A-Z0-9]{1,16}")

#: Per-exchange spellings that differ from the common code, exchange code -> common code.
CURRENCY_ALIASES: dict[str, dict[str, str]] = {
    "luno": {"XBT": "BTC"},
    "kraken": {
        "XBT": "BTC",
        "XXBT": "BTC",
        "XDG": "DOGE",
        "XXDG": "DOGE",
        "XETH": "ETH",
        "XLTC": "LTC",
        "XXLM": "XLM",
        "XXRP": "XRP",
        "XXMR": "XMR",
        "XZEC": "ZEC",
        "XETC": "ETC",
        "XREP": "REP",
        "XMLN": "MLN",
        "XXTZ": "XTZ",
        "ZUSD": "USD",
        "ZEUR": "EUR",
        "ZGBP": "GBP",
        "ZCAD": "CAD",
        "ZJPY": "JPY",
        "ZAUD": "AUD",
        "ZCHF": "CHF",
    },
    # as ccxt's bitfinex commonCurrencies, less the names that clash with newer tokens
    "bitfinex": {
        "UST": "USDT",
        "UDC": "USDC",
        "TSD": "TUSD",
        "EUT": "EURT",
        "EUS": "EURS",
        "ALG": "ALGO",
        "AMP": "AMPL",
        "ATO": "ATOM",
        "BCHN": "BCH",
        "DAT": "DATA",
        "DOG": "MDOGE",
        "DSH": "DASH",
        "IOT": "IOTA",
        "IQX": "IQ",
        "MNA": "MANA",
        "PAS": "PASS",
        "QSH": "QASH",
        "QTM": "QTUM",
        "RBT": "RBTC",
        "SNG": "SNGLS",
        "STJ": "STORJ",
        "VSY": "VSYS",
        "XCH": "XCHF",
        "YYW": "YOYOW",
    },
}

#: Common code -> the exchange's code, where the exchange names it differently.
CURRENCY_NATIVE: dict[str, dict[str, str]] = {
    exchange: {
        common: native
        for native, common in aliases.items()
        if not (exchange == "kraken" and len(native) == 4 and native[0] in "XZ")
    }
    for exchange, aliases in CURRENCY_ALIASES.items()
}


def common_currency(exchange: str, code: str) -> str:
    """The common spelling of an exchange's currency code (``XBT`` on kraken -> ``BTC``)."""
    code = code.upper()
    return CURRENCY_ALIASES.get(exchange, {}).get(code, code)


def native_currency(exchange: str, code: str) -> str:
    """The exchange's own short spelling of a common currency code (``BTC`` on kraken -> ``XBT``)."""
    return CURRENCY_NATIVE.get(exchange, {}).get(code, code)


@dataclass(frozen=True, order=True, slots=True)
class Pair:
    """A market's unified name: what is bought (``base``) with what (``quote``)."""

    base: str
    quote: str

    def __str__(self) -> str:
        return f"{self.base}_{self.quote}"

    @classmethod
    def parse(cls, text: object, field: str = "pair") -> Pair:
        """Parse ``"BTC_USD"``; raises :class:`InvalidParameter` naming ``field`` otherwise."""
        if not isinstance(text, str):
            raise InvalidParameter(field, 'a pair name such as "BTC_USD"', text)
        parts = text.split("_")
        if len(parts) != 2 or not all(_CURRENCY.fullmatch(p) for p in parts):
            raise InvalidParameter(field, 'a pair name such as "BTC_USD"', text)
        return cls(parts[0], parts[1])
