"""Decimal parsing and formatting for every amount that crosses a boundary.

Money never passes through float: wire values arrive as strings (or JSON numbers parsed
with ``parse_float=Decimal``) and leave as strings.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .decimal_text import format_decimal as format_decimal  # the wire form, kept below .errors
from .errors import InvalidParameter

ZERO = Decimal(0)
ONE = Decimal(1)


def parse_decimal(value: object, field: str, *, positive: bool = False, non_negative: bool = False) -> Decimal:
    """Parse ``value`` (str, int or Decimal) into a finite Decimal.

    Raises :class:`InvalidParameter` naming ``field`` for floats, bools, non-numbers,
    NaN/Infinity and values outside the requested sign. A string is ASCII digits only:
    ``Decimal()`` also reads "١٠٠" or fullwidth "１００", which no one types as an amount on purpose.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or isinstance(value, float):
        raise InvalidParameter(field, 'a decimal string such as "0.01"', value)
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        if not value.isascii():
            raise InvalidParameter(field, 'a decimal string in ASCII digits such as "0.01"', value)
        text = value.strip()
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise InvalidParameter(field, 'a decimal string such as "0.01"', value) from None
        if text != value or not text or text[0] in "+_" or "_" in text:
            raise InvalidParameter(field, 'a decimal string such as "0.01"', value)
    else:
        raise InvalidParameter(field, 'a decimal string such as "0.01"', value)
    if not result.is_finite():
        raise InvalidParameter(field, "a finite decimal", value)
    if positive and result <= 0:
        raise InvalidParameter(field, "a decimal greater than 0", value)
    if non_negative and result < 0:
        raise InvalidParameter(field, "a decimal of 0 or more", value)
    return result


def quantize_down(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of ``step`` not above ``value`` (for value >= 0)."""
    return (value // step) * step


def quantize_up(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of ``step`` not below ``value`` (for value >= 0)."""
    units = value // step
    if units * step < value:
        units += 1
    return units * step


def decimal_places(places: int) -> Decimal:
    """``places`` decimal places as a step: 2 -> Decimal("0.01"), 0 -> Decimal("1")."""
    return Decimal(1).scaleb(-places)
