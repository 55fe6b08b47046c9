"""A market's trading rules, as the exchange's own metadata states them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from .pairs import Pair


class MarketStatus(str, Enum):
    """What a market accepts now (Coinbase's ``post_only``/``limit_only``/``cancel_only``)."""

    ONLINE = "online"
    POST_ONLY = "post_only"
    LIMIT_ONLY = "limit_only"
    CANCEL_ONLY = "cancel_only"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Market:
    """The precision and size rules of one pair on one exchange.

    ``tick_size`` is ``None`` where the exchange sets price precision in significant digits
    instead (Bitfinex: ``price_significant_digits``). A ``None`` maximum means no maximum.
    ``funds_step`` is the precision of a market order's quote amount, where one is given.
    ``symbol`` is the exchange's own name for the market; ``ws_symbol`` is the name its
    websocket feed uses where that differs (Kraken ``XBT/USD``), and ``alt_symbols`` are further
    names the exchange may answer with (Kraken's altname ``XBTUSD``).
    """

    exchange: str
    pair: Pair
    symbol: str
    tick_size: Decimal | None
    size_step: Decimal
    min_size: Decimal
    max_size: Decimal | None = None
    min_notional: Decimal = Decimal(0)
    max_notional: Decimal | None = None
    funds_step: Decimal | None = None
    price_significant_digits: int | None = None
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    status: MarketStatus = MarketStatus.ONLINE
    ws_symbol: str | None = None
    alt_symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.tick_size is None and self.price_significant_digits is None:
            raise ValueError(f"{self.exchange} {self.pair}: a tick size or significant digits is required")
        if self.tick_size is not None and self.tick_size <= 0:
            raise ValueError(f"{self.exchange} {self.pair}: tick_size must be positive")
        if self.size_step <= 0:
            raise ValueError(f"{self.exchange} {self.pair}: size_step must be positive")

    @property
    def name(self) -> str:
        """``BTC_USD on coinbase``, as error messages say it."""
        return f"{self.pair} on {self.exchange}"
