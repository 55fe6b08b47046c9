"""xWrap: an exchange-wrapper service for crypto trading."""

__version__ = "0.1.0"
