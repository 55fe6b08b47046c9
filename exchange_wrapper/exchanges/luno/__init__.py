"""Luno: :mod:`.public` translates its markets and its market-by-order stream."""
