"""VALR: :mod:`.public` translates its markets and market data, :mod:`.private` its account."""
