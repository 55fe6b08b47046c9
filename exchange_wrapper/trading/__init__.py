"""Trading: the order path, written once for paper and live (precision, holds, persistence,
notifications, one request per order at a time), asking the venue of the wallet set's mode."""
