"""Any exchange ccxt knows, through one generic adapter (the ``ccxt`` extra)."""
