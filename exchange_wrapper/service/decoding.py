"""Requests from JSON text, read by one rule on every door (a REST body, a JSON-RPC message).

A request is JSON in UTF-8. Some of what JSON's grammar allows no door can answer or use: a number
beyond a double's range (``1e400`` is infinity once a float, and ``Infinity`` is not JSON), an integer of
more than 4,300 digits (Python refuses to read or write one: reading it takes time that grows with the
square of its length), a string holding a lone surrogate (a ``\\ud800`` escape without its pair: not
Unicode, no answer in UTF-8 and no database holds it). Such a request is refused as an
:class:`InvalidParameter` naming where it holds the value (``limit``, ``params.x``, ``[2].params.x``), and
the door answers 400 / invalid params instead of failing inside.

Other numbers are read exactly: an integer as an int, any other number as a Decimal made from its own
text, never through a float. (Amounts are decimal strings all the same: :meth:`.params.Params.decimal`.)
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

from ..core.errors import InvalidParameter

#: The longest integer Python reads or writes as text (``sys.get_int_max_str_digits()``'s default).
MAX_INTEGER_DIGITS = 4300
_IN_RANGE = "a number between -1.7976931348623157e308 and 1.7976931348623157e308 (a double's range)"
_UNICODE = "text without lone surrogates (a \\ud800-\\udfff escape is one of a pair)"

#: A lone surrogate can only come from a ``\uD800``-``\uDFFF`` escape (UTF-8 cannot hold one).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnfitRequest(InvalidParameter):
    """A request holding a value no door can use (see the module); ``document`` is the request as
    decoded (each number no door can hold an :class:`Unfit`), so that a door can still read its id."""

    def __init__(self, field: str, expected: str, got: Any, document: Any):
        super().__init__(field, expected, got)
        self.document = document


class Unfit:
    """A number no door can hold, where the request had it: what was ``expected`` and (``shown``) what
    was written."""

    __slots__ = ("expected", "shown")

    def __init__(self, expected: str, shown: str):
        self.expected, self.shown = expected, shown


def read_json(data: bytes | str, name: str = "body") -> Any:
    """The request ``data`` as Python values (objects as dicts, numbers as int or exact Decimal).

    Raises ``ValueError`` for text that is not JSON in UTF-8 (``NaN`` and ``Infinity`` included),
    ``RecursionError`` for one nested too deep, and :class:`UnfitRequest` for one holding a value no
    door can use; ``name`` names the request itself when that value is all of it.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    unfit: list[Unfit] = []
    document = json.loads(
        text, parse_float=_number(Decimal, unfit), parse_int=_integer(unfit), parse_constant=_not_json
    )
    if unfit or _SURROGATE_ESCAPE.search(text):
        found = first_unfit(document)
        if found is not None:
            where, expected, got = found
            raise UnfitRequest(where or name, expected, got, document)
    return document


class SocketIOJson:
    """The JSON python-socketio reads packets with (its ``json`` option): numbers as its default
    reads them (an int, a float), but one no door can hold is an :class:`Unfit` in its place instead
    of a failure inside the library that leaves the call unanswered; the door refuses it
    (:func:`first_unfit`)."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(text: str | bytes, **options: Any) -> Any:
        unfit: list[Unfit] = []
        return json.loads(text, parse_float=_number(float, unfit), parse_int=_integer(unfit), **options)


def _number(kind: Any, unfit: list[Unfit]) -> Any:
    """A reader of JSON numbers with a fraction or exponent as ``kind``; one beyond a double's range
    is an :class:`Unfit`, noted in ``unfit``."""

    def number(text: str) -> Any:
        if math.isinf(float(text)):
            unfit.append(Unfit(_IN_RANGE, text))
            return unfit[-1]
        return kind(text)

    return number


def _integer(unfit: list[Unfit]) -> Any:
    """A reader of JSON integers; one too long to read is an :class:`Unfit`, noted in ``unfit``."""

    def integer(text: str) -> Any:
        digits = len(text.lstrip("-"))
        if digits > MAX_INTEGER_DIGITS:
            unfit.append(
                Unfit(f"an integer of at most {MAX_INTEGER_DIGITS} digits", f"{text[:12]}... ({digits} digits)")
            )
            return unfit[-1]
        return int(text)

    return integer


def first_unfit(value: Any, where: str = "") -> tuple[str, str, str] | None:
    """``(where, what was expected, what was there)`` for the first value in ``value`` that no door can
    use (an :class:`Unfit` number, a float that is not finite, a string or key with a lone surrogate),
    or None. ``where`` is the path to it: keys joined by dots, list items as ``[index]``."""
    if isinstance(value, Unfit):
        return where, value.expected, value.shown
    if isinstance(value, float) and not math.isfinite(value):
        return where, _IN_RANGE, repr(value)
    if isinstance(value, str) and _SURROGATE.search(value):
        return where, _UNICODE, value
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key).encode("utf-8", "backslashreplace").decode()  # the path is answered: UTF-8
            path = f"{where}.{name}" if where else name
            if name != key:
                return path, "a name in " + _UNICODE, key
            found = first_unfit(item, path)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = first_unfit(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
