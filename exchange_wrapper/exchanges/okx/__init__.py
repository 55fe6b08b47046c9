"""OKX: :mod:`.public` translates its markets and market data (its account's side is still to come)."""
