"""The machinery that runs the exchange adapters: the reconnecting stream (one, shared by the feed and
the account), the market-data feed, the REST client with its limits, the live account. Here are the
sockets, the clocks and the tasks; what goes over them is translated by :mod:`exchange_wrapper.exchanges`."""
