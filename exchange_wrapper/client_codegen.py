"""Writes :mod:`.client_operations`, the client's typed methods, from the contract.

The methods are generated source rather than made at import time so that editors and type checkers,
which read source and do not run it, complete their parameters and know their results. Run
``python -m exchange_wrapper.client_codegen`` after changing :mod:`.contract`; a test fails while the
committed file differs from what this writes.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path

from . import contract
from .contract import OPERATIONS, Operation, Param

TARGET = Path(__file__).with_name("client_operations.py")
HEADER = '''"""The client's operations, one typed method each: GENERATED from exchange_wrapper/contract.py by
``python -m exchange_wrapper.client_codegen``; do not edit by hand.

:class:`AsyncOperations` is mixed into :class:`.client.AsyncClient`, :class:`Operations` into
:class:`.client.Client`. A parameter left at None is not sent (the service's default applies).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Literal, cast

from .contract import ({imports})


def _given(**params: Any) -> dict[str, Any]:
    return {{name: value for name, value in params.items() if value is not None}}
'''


def render() -> str:
    """The text of :mod:`.client_operations`."""
    names: set[str] = set()
    annotations = {name: _annotation(operation.result, names) for name, operation in OPERATIONS.items()}
    names |= {_type(param) for operation in OPERATIONS.values() for param in operation.params} & set(_ALIASES.values())
    imports = "".join(f"    {name},\n" for name in sorted(names))
    parts = [HEADER.format(imports=f"\n{imports}")]
    for cls, is_async in (("AsyncOperations", True), ("Operations", False)):
        parts.append(
            f'\n\nclass {cls}:\n    """The operations of the service as methods'
            f'{" (coroutines)" if is_async else ""}."""\n\n'
            f"    call: Callable[..., {'Awaitable[Any]' if is_async else 'Any'}]\n"
        )
        parts += [_method(operation, annotations[operation.name], is_async) for operation in OPERATIONS.values()]
    return "".join(parts)


def _method(operation: Operation, result: str, is_async: bool) -> str:
    parameters = (
        ["self", "**params: Any"]
        if operation.any_params
        else ["self", *(["*"] if operation.params else []), *map(_parameter, operation.params)]
    )
    given = [f"{p.name}={p.name}" for p in operation.params]
    lines = [f"{operation.summary}.", ""]
    lines += [f"{p.name}: {p.meaning}{' (required)' if p.required else ''}." for p in operation.params]
    if operation.params:
        lines.append("")
    lines.append(f"Needs a ``{operation.scope}`` token.")
    doc = "\n".join(f"        {line}" if line else "" for line in lines).lstrip()
    prefix = "async def" if is_async else "def"
    call = f'{"await " if is_async else ""}self.call("{operation.name}"' + (
        ", **params)" if given or operation.any_params else ")"
    )
    call = f"return cast({result}, {call})"
    if given:
        call = _wrapped("params = _given(", given, ")", 8) + "\n        " + call
    return (
        f"\n    {_wrapped(f'{prefix} {operation.name}(', parameters, f') -> {result}:', 4)}\n"
        f'        """{doc}\n        """\n'
        f"        {call}\n"
    )


def _wrapped(head: str, items: list[str], tail: str, indent: int) -> str:
    """``head`` + the items + ``tail`` on one line if it fits in 120 characters, else one item a line."""
    line = head + ", ".join(items) + tail
    if indent + len(line) <= 120:
        return line
    inner = " " * (indent + 4)
    return head + "\n" + "".join(f"{inner}{item},\n" for item in items) + " " * indent + tail


def _parameter(param: Param) -> str:
    if param.required:
        return f"{param.name}: {_type(param)}"
    if param.default is None:
        return f"{param.name}: {_type(param)} | None = None"
    default = f'"{param.default}"' if isinstance(param.default, str) else param.default
    return f"{param.name}: {_type(param)} = {default}"


#: The contract's named Literals by their values: a choice too long to write inline is written by name.
_ALIASES = {
    typing.get_args(value): name
    for name, value in vars(contract).items()
    if typing.get_origin(value) is typing.Literal and name.endswith("Name")
}


def _type(param: Param) -> str:
    """The parameter's annotation: its Literal by the contract's name for it where inline it would
    not fit a line (a method's parameter: 8 spaces, the annotation, `` | None = None,``)."""
    if param.kind == "choice" and len(param.python_type) > 120 - 8 - len(param.name) - 16:
        return _ALIASES[param.choices]
    return param.python_type


def _annotation(kind: object, names: set[str]) -> str:
    """The source text of a result type of the contract (its names added to ``names``)."""
    if kind is typing.Any:
        return "Any"
    if isinstance(kind, types.GenericAlias):
        return f"{kind.__origin__.__name__}[{', '.join(_annotation(a, names) for a in kind.__args__)}]"
    assert isinstance(kind, type), kind
    if kind.__module__ != "builtins":
        names.add(kind.__name__)
    return kind.__name__


def main() -> None:
    TARGET.write_text(render())
    print(f"wrote {TARGET}", file=sys.stderr)


if __name__ == "__main__":
    main()
