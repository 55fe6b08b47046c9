"""The contract holds the service's own values: its names of choices and states are the enums' values,
its defaults values the parameters take."""

import typing
import unittest

from exchange_wrapper import contract
from exchange_wrapper.core.book import BookState
from exchange_wrapper.core.ledger import Mode
from exchange_wrapper.core.marketdata import FeedStatus
from exchange_wrapper.core.orders import Liquidity, OrderStatus, OrderType, Side, TimeInForce


class ContractTest(unittest.TestCase):
    def test_the_names_are_the_values_of_the_service_enums(self):
        for names, kind in (
            (contract.SideName, Side),
            (contract.OrderTypeName, OrderType),
            (contract.TimeInForceName, TimeInForce),
            (contract.ModeName, Mode),
            (contract.OrderStatusName, OrderStatus),
            (contract.LiquidityName, Liquidity),
            (contract.BookStateName, BookState),
            (contract.FeedStatusName, FeedStatus),
        ):
            self.assertEqual(typing.get_args(names), tuple(member.value for member in kind))

    def test_a_default_is_one_of_the_values_its_parameter_takes(self):
        for operation in contract.OPERATIONS.values():
            for param in operation.params:
                with self.subTest(operation=operation.name, param=param.name):
                    self.assertFalse(param.required and param.default is not None)
                    if param.kind == "choice" and param.default is not None:
                        self.assertIn(param.default, param.choices)
                    if param.kind == "integer" and param.default is not None:
                        self.assertTrue(param.minimum <= param.default <= param.maximum)


if __name__ == "__main__":
    unittest.main()
