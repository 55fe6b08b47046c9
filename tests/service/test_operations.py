"""The API's methods and the contract cannot drift: every operation of the contract is one method of
ExchangeWrapper whose keyword parameters are the contract's, in its order, required where it requires
them, with its defaults and the types the reader gives them, and whose result is the contract's result
type; no method of the class is an operation the contract does not list. And the reader turns a
door's raw values into those arguments."""

import inspect
import typing
import unittest
from decimal import Decimal
from enum import Enum

from exchange_wrapper.contract import OPERATIONS, Param
from exchange_wrapper.core.errors import InvalidParameter, MethodNotFound
from exchange_wrapper.core.ledger import Mode
from exchange_wrapper.core.orders import OrderType, Side, TimeInForce
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.service.api import METHODS, ExchangeWrapper
from exchange_wrapper.service.params import CHOICE_ENUMS, arguments

#: kind -> the type of the argument the reader gives a parameter of that kind (a choice: CHOICE_ENUMS or str).
KIND_TYPES = {
    "text": str,
    "exchange": str,
    "order_id": str,
    "currency": str,
    "integer": int,
    "decimal": Decimal,
    "time": float,
    "flag": bool,
    "pair": Pair,
    "allocations": list[tuple[str, str, Decimal]],
}


def argument_type(param: Param) -> type:
    return CHOICE_ENUMS.get(param.name, str) if param.kind == "choice" else KIND_TYPES[param.kind]


def wire(value):
    """A default as the contract writes it (an enum as its value)."""
    return value.value if isinstance(value, Enum) else value


class SignaturesTest(unittest.TestCase):
    def test_every_operation_is_a_method_and_every_method_an_operation(self):
        self.assertEqual(sorted(METHODS), sorted(OPERATIONS))
        public = {
            name
            for name, member in vars(ExchangeWrapper).items()
            if inspect.iscoroutinefunction(member) and not name.startswith("_")
        }
        self.assertEqual(public - {"call"}, set(OPERATIONS))
        for name, method in METHODS.items():
            self.assertIs(method, vars(ExchangeWrapper)[name])

    def test_each_method_takes_the_contract_parameters_with_its_defaults_and_types(self):
        for name, operation in OPERATIONS.items():
            with self.subTest(name):
                method = METHODS[name]
                parameters = list(inspect.signature(method).parameters.values())[1:]  # self
                hints = typing.get_type_hints(method)
                self.assertEqual(hints.pop("return"), operation.result)
                if operation.any_params:
                    self.assertEqual([p.kind for p in parameters], [inspect.Parameter.VAR_KEYWORD])
                    continue
                self.assertEqual([p.name for p in parameters], [param.name for param in operation.params])
                for parameter, param in zip(parameters, operation.params):
                    self.assertIs(parameter.kind, inspect.Parameter.KEYWORD_ONLY, param.name)
                    required = parameter.default is inspect.Parameter.empty
                    self.assertEqual(required, param.required, param.name)
                    if not required:
                        self.assertEqual(wire(parameter.default), param.default, param.name)
                    expected = argument_type(param)
                    if not param.required and param.default is None:
                        expected = expected | None
                    self.assertEqual(hints[param.name], expected, param.name)

    def test_the_choices_read_as_enums_are_the_enums_values(self):
        for name, enum in CHOICE_ENUMS.items():
            for operation in OPERATIONS.values():
                for param in operation.params:
                    if param.name == name:
                        self.assertEqual(param.choices, tuple(member.value for member in enum), name)


class ArgumentsTest(unittest.TestCase):
    def assertNames(self, field, operation, values):
        with self.assertRaises(InvalidParameter) as caught:
            arguments(OPERATIONS[operation], values)
        self.assertEqual(caught.exception.field, field)
        return caught.exception.expected

    def test_raw_values_become_typed_arguments_and_absent_ones_are_left_to_the_defaults(self):
        raw = {
            "wallet_set_id": "7",  # a path's or a query string's text
            "exchange": "coinbase",
            "pair": "SKL_USD",
            "side": "sell",
            "type": "stop_limit",
            "size": "1.50",
            "price": "0.5",
            "stop_price": "0.4",
            "time_in_force": "GTD",
            "expire_time": "1700000000.5",
            "post_only": "false",
            "client_order_id": None,  # null: as absent
        }
        self.assertEqual(
            arguments(OPERATIONS["make_order"], raw),
            {
                "wallet_set_id": 7,
                "exchange": "coinbase",
                "pair": Pair("SKL", "USD"),
                "side": Side.SELL,
                "type": OrderType.STOP_LIMIT,
                "size": Decimal("1.50"),
                "price": Decimal("0.5"),
                "stop_price": Decimal("0.4"),
                "time_in_force": TimeInForce.GTD,
                "expire_time": 1700000000.5,
                "post_only": False,
            },
        )
        self.assertEqual(arguments(OPERATIONS["create_wallet_set"], {"name": "a", "mode": "live"})["mode"], Mode.LIVE)
        self.assertEqual(arguments(OPERATIONS["get_orders"], {"status": "recent"}), {"status": "recent"})
        self.assertEqual(arguments(OPERATIONS["get_status"], None), {})
        self.assertEqual(arguments(OPERATIONS["echo"], {"self": [1], "x": None}), {"self": [1], "x": None})

    def test_the_contract_bounds_and_requirements_are_enforced_naming_the_parameter(self):
        book = {"exchange": "coinbase", "pair": "SKL_USD"}
        self.assertEqual(self.assertNames("depth", "get_book", {**book, "depth": 1001}), "an integer from 1 to 1000")
        self.assertEqual(self.assertNames("pair", "get_book", {"exchange": "coinbase"}), 'a pair such as "BTC_USD"')
        self.assertEqual(
            self.assertNames("interval", "get_ohlc", {**book, "interval": 60}),
            "one of '1m', '5m', '15m', '1h', '4h', '1d'",
        )
        self.assertEqual(self.assertNames("status", "get_orders", {"status": "closed"}), "one of 'open', 'recent'")
        self.assertEqual(
            self.assertNames("mode", "create_wallet_set", {"name": "a", "mode": "real"}), "one of 'paper', 'live'"
        )
        self.assertEqual(
            self.assertNames("client_order_id", "cancel_order", {"client_order_id": "x" * 65}),
            "a string of 1 to 64 characters",
        )
        self.assertEqual(
            self.assertNames("order_id", "get_order", {"order_id": "1" * 129}), "a string of 1 to 128 characters"
        )
        self.assertEqual(
            self.assertNames("depht", "get_book", {**book, "depht": 5}),
            "no such parameter (known: depth, exchange, pair)",
        )
        self.assertEqual(self.assertNames("x", "get_status", {"x": 1}), "no such parameter (known: )")
        self.assertEqual(self.assertNames("params", "get_book", [1, 2]), "named parameters (a JSON object)")


class DispatchTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_name_that_is_no_operation_is_method_not_found(self):
        api = ExchangeWrapper.__new__(ExchangeWrapper)  # dispatch refuses before it touches the service
        for name in ("call", "_exchange", "make_orders", "__init__"):
            with self.subTest(name), self.assertRaises(MethodNotFound):
                await api.call(name, {})


if __name__ == "__main__":
    unittest.main()
