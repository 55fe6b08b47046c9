"""Market history: what xWrap remembers of the markets it follows.

Collection taps the market-data hub (public trades, 1-minute candles built from them and reconciled
with the exchange's own, sampled book tops); a writer thread hands batches to one sink chosen in the
settings (the service's database, or InfluxDB); the API, backfill and backtests read them back.
"""
