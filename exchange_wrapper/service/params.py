"""Reading an operation's parameters from the raw values a door received: one place that names what
was wrong, driven by the contract.

:func:`arguments` turns the values of a JSON-RPC call, a Socket.IO call or a REST request (its path,
query string or body) into the typed keyword arguments of the operation's method, reading each
parameter as its :class:`~exchange_wrapper.contract.Param` says (kind, bounds, required).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, TypeVar, assert_never, overload

from ..contract import MAX_ALLOCATIONS, Operation, Param
from ..core.errors import InvalidParameter
from ..core.ledger import Mode
from ..core.money import parse_decimal
from ..core.orders import OrderType, Side, TimeInForce
from ..core.pairs import Pair

E = TypeVar("E", bound=Enum)
LARGEST_INTEGER = 2**63 - 1  # the database's integers are signed 64-bit
#: Amounts take up to 15 integer digits and 18 decimal places: more is a typing error, and too wide for
#: the precision rules' arithmetic (a price over its tick must fit 28 digits) and the database's columns.
INTEGER_DIGITS, PLACES = 15, 18
_MISSING = object()
#: What no text parameter holds: control characters (NUL, which PostgreSQL cannot store, among them) and
#: lone surrogates (a JSON "\ud800" escape without its pair: not Unicode, so neither database stores it).
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: choice parameter -> the enum its value becomes (the contract's choices are the enum's values:
#: tests/test_contract.py); any other choice stays a string.
CHOICE_ENUMS: dict[str, type[Enum]] = {"side": Side, "type": OrderType, "time_in_force": TimeInForce, "mode": Mode}
#: The longest text a parameter of the contract takes where it states no ``max_length`` (an exchange, an order id).
TEXT_LENGTH = 128


def arguments(operation: Operation, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keyword arguments of ``operation``'s method, read from the raw ``values`` a door received.

    Each parameter of the contract is read as its kind says and named in its error; a parameter absent
    (or null) is left out, so that the method's default applies, or refused as missing if required; a
    name the contract does not list is refused (a misspelt name is an error, not silently ignored). An
    operation that takes any parameters (echo) gets the values as they are. What needs the service's
    state (an exchange enabled, an order found) is the method's to check."""
    p = Params(values)
    if operation.any_params:
        return p.values
    read = {param.name: p.read(param) for param in operation.params}
    p.done()
    return {name: value for name, value in read.items() if value is not None}


class Params:
    """The parameters of one call. Each getter names the parameter in its error; :meth:`done`
    refuses parameters nobody asked for, so a misspelt name is an error, not silently ignored.
    A getter gives None for a parameter absent (or null), never when called with ``required=True``."""

    def __init__(self, values: Mapping[str, Any] | None):
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise InvalidParameter("params", "named parameters (a JSON object)", values)
        self.values = dict(values)
        self.seen: set[str] = set()

    def _get(self, name: str, expected: str, required: bool) -> Any:
        self.seen.add(name)
        value = self.values.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise InvalidParameter(name, expected, missing=True)
            return None
        return value

    @overload
    def text(self, name: str, *, required: Literal[True], max_length: int = 128) -> str: ...
    @overload
    def text(self, name: str, *, required: bool = False, max_length: int = 128) -> str | None: ...
    def text(self, name: str, *, required: bool = False, max_length: int = 128) -> str | None:
        expected = f"a string of 1 to {max_length} characters"
        value = self._get(name, expected, required)
        if value is None:
            return None
        if not isinstance(value, str) or not 0 < len(value) <= max_length:
            raise InvalidParameter(name, expected, value)
        if _NOT_TEXT.search(value):
            raise InvalidParameter(name, expected + ", without control characters or lone surrogates", value)
        return value

    @overload
    def decimal(self, name: str, *, required: Literal[True], positive: bool = True) -> Decimal: ...
    @overload
    def decimal(self, name: str, *, required: bool = False, positive: bool = True) -> Decimal | None: ...
    def decimal(self, name: str, *, required: bool = False, positive: bool = True) -> Decimal | None:
        """An amount: a decimal string in ASCII digits on every door. A JSON number is refused, whatever
        it was decoded to (a float through JSON-RPC, a Decimal through REST, an int anywhere)."""
        expected = 'a decimal string such as "0.01"'
        value = self._get(name, expected, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidParameter(name, expected, value)
        result = parse_decimal(value, name, positive=positive, non_negative=True)
        if result and not -PLACES <= result.adjusted() < INTEGER_DIGITS:
            raise InvalidParameter(name, f"a decimal below 1e{INTEGER_DIGITS}, from 1e-{PLACES} (or 0)", value)
        return result

    @overload
    def integer(
        self, name: str, *, required: Literal[True], minimum: int = 0, maximum: int = LARGEST_INTEGER
    ) -> int: ...
    @overload
    def integer(
        self, name: str, *, required: bool = False, minimum: int = 0, maximum: int = LARGEST_INTEGER
    ) -> int | None: ...
    def integer(
        self, name: str, *, required: bool = False, minimum: int = 0, maximum: int = LARGEST_INTEGER
    ) -> int | None:
        expected = f"an integer from {minimum} to {maximum}"
        value = self._get(name, expected, required)
        if value is None:
            return None
        if isinstance(value, str):
            value = _integer_text(value, len(str(max(abs(minimum), abs(maximum)))))
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise InvalidParameter(name, expected, value)
        return value

    @overload
    def number(self, name: str, *, required: Literal[True]) -> float: ...
    @overload
    def number(self, name: str, *, required: bool = False) -> float | None: ...
    def number(self, name: str, *, required: bool = False) -> float | None:
        """A time in Unix seconds (not money: float is fine)."""
        value = self._get(name, "a time in Unix seconds", required)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                if not value.isascii() or "_" in value:  # float() reads "١٧" and "1_7" too
                    raise ValueError(value)
                value = float(value)
            except ValueError:
                raise InvalidParameter(name, "a time in Unix seconds", value) from None
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or not 0 <= value < 1e11:
            raise InvalidParameter(name, "a time in Unix seconds", value)
        return float(value)

    def flag(self, name: str, *, required: bool = False) -> bool | None:
        value = self._get(name, "true or false", required)
        if value is None:
            return None
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            raise InvalidParameter(name, "true or false", value)
        return value

    @overload
    def choice(self, name: str, kind: type[E], *, required: Literal[True]) -> E: ...
    @overload
    def choice(self, name: str, kind: type[E], *, required: bool = False) -> E | None: ...
    def choice(self, name: str, kind: type[E], *, required: bool = False) -> E | None:
        """A member of the enum ``kind``, named by its value."""
        expected = "one of " + ", ".join(repr(member.value) for member in kind)
        value = self._get(name, expected, required)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            raise InvalidParameter(name, expected, value) from None

    @overload
    def one_of(self, name: str, choices: tuple[str, ...], *, required: Literal[True]) -> str: ...
    @overload
    def one_of(self, name: str, choices: tuple[str, ...], *, required: bool = False) -> str | None: ...
    def one_of(self, name: str, choices: tuple[str, ...], *, required: bool = False) -> str | None:
        expected = "one of " + ", ".join(repr(c) for c in choices)
        value = self._get(name, expected, required)
        if value is None:
            return None
        if value not in choices:
            raise InvalidParameter(name, expected, value)
        return value

    @overload
    def pair(self, name: str = "pair", *, required: Literal[True]) -> Pair: ...
    @overload
    def pair(self, name: str = "pair", *, required: bool = False) -> Pair | None: ...
    def pair(self, name: str = "pair", *, required: bool = False) -> Pair | None:
        value = self._get(name, 'a pair such as "BTC_USD"', required)
        return None if value is None else Pair.parse(value, name)

    @overload
    def currency(self, name: str = "currency", *, required: Literal[True]) -> str: ...
    @overload
    def currency(self, name: str = "currency", *, required: bool = False) -> str | None: ...
    def currency(self, name: str = "currency", *, required: bool = False) -> str | None:
        value = self.text(name, required=required, max_length=16)
        if value is not None and not (value.isascii() and value.isalnum() and value.isupper()):
            raise InvalidParameter(name, 'a currency code such as "BTC"', value)
        return value

    def allocations(self, name: str, *, required: bool = False) -> list[tuple[str, str, Decimal]] | None:
        """A list of ``{exchange, currency, amount}`` objects, as (exchange, currency, amount); an error
        names the element's field (``allocations[1].amount``)."""
        expected = f"a list of at most {MAX_ALLOCATIONS} objects {{exchange, currency, amount}}"
        value = self._get(name, expected, required)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) > MAX_ALLOCATIONS:
            raise InvalidParameter(name, expected, value)
        out = []
        for index, item in enumerate(value):
            element = f"{name}[{index}]"
            if not isinstance(item, Mapping):
                raise InvalidParameter(element, "an object {exchange, currency, amount}", item)
            fields = Params({f"{element}.{key}": field for key, field in item.items()})
            out.append(
                (
                    fields.text(f"{element}.exchange", required=True),
                    fields.currency(f"{element}.currency", required=True),
                    fields.decimal(f"{element}.amount", required=True),
                )
            )
            fields.done()
        return out

    def read(self, param: Param) -> Any:
        """The value of a parameter of the contract, read as its kind says (None if absent)."""
        name, required = param.name, param.required
        match param.kind:
            case "text" | "exchange" | "order_id":
                return self.text(name, required=required, max_length=param.max_length or TEXT_LENGTH)
            case "integer":
                minimum = 0 if param.minimum is None else param.minimum
                maximum = LARGEST_INTEGER if param.maximum is None else param.maximum
                return self.integer(name, required=required, minimum=minimum, maximum=maximum)
            case "decimal":
                return self.decimal(name, required=required)
            case "time":
                return self.number(name, required=required)
            case "flag":
                return self.flag(name, required=required)
            case "choice":
                enum = CHOICE_ENUMS.get(name)
                if enum is None:
                    return self.one_of(name, param.choices, required=required)
                return self.choice(name, enum, required=required)
            case "pair":
                return self.pair(name, required=required)
            case "currency":
                return self.currency(name, required=required)
            case "allocations":
                return self.allocations(name, required=required)
            case _:
                assert_never(param.kind)

    def done(self) -> None:
        unknown = sorted(set(self.values) - self.seen)
        if unknown:
            raise InvalidParameter(
                unknown[0], "no such parameter (known: " + ", ".join(sorted(self.seen)) + ")", self.values[unknown[0]]
            )


def _integer_text(text: str, widest: int) -> int | str:
    """The integer ``text`` writes in ASCII digits (a query string's or a path's), or ``text`` itself if
    it writes none of at most ``widest`` digits: Python refuses to read more than 4,300, and reading
    them takes time that grows with the square of their number."""
    stripped = text.strip()
    negative = stripped.startswith("-")
    digits = stripped[1:] if negative else stripped
    if not (digits.isascii() and digits.isdigit()):  # ascii only: "²" is a digit that int() refuses
        return text
    digits = digits.lstrip("0") or "0"
    if len(digits) > widest:
        return text
    return -int(digits) if negative else int(digits)
