"""Exchange adapters: one module per exchange, translating its wire formats to xWrap's types."""

#: The exchanges xWrap knows, by the name used in settings, API calls and the database.
EXCHANGE_NAMES = ("coinbase", "binance", "kraken", "bitfinex", "poloniex")
