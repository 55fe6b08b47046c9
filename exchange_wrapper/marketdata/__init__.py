"""Market data owned by the service: the hub of books, trades and tickers."""
