"""Exchange adapters: one package per exchange, translating its wire formats to xWrap's types."""

from ..core.exchanges import EXCHANGE_NAMES as EXCHANGE_NAMES  # where the service's modules read it
