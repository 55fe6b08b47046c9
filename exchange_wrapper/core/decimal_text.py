"""The one wire form of a Decimal, below :mod:`.errors` and :mod:`.money`.

Errors print the amounts they carry in this form and :mod:`.money` raises errors, so the form lives
in a module that imports neither (``money`` re-exports it: callers import it from there).
"""

from __future__ import annotations

from decimal import Context, Decimal

_WIDE = Context(prec=100)  # normalize() rounds to the context's precision: keep every digit


def format_decimal(value: Decimal) -> str:
    """Canonical wire form: plain notation, no exponent, no trailing zeros ("0.0001", "100")."""
    if value == 0:
        return "0"
    return format(value.normalize(_WIDE), "f")
