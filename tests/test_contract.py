"""The contract holds the service's own values: its choices are the enums' the operations read, its
defaults values the parameters take."""
import unittest

from exchange_wrapper import contract
from exchange_wrapper.core.ledger import Mode
from exchange_wrapper.core.orders import OrderType, Side, TimeInForce


class ContractTest(unittest.TestCase):
    def test_the_choices_are_the_values_of_the_enums_the_operations_read(self):
        for values, kind in ((contract.SIDES, Side), (contract.ORDER_TYPES, OrderType),
                             (contract.TIMES_IN_FORCE, TimeInForce), (contract.MODES, Mode)):
            self.assertEqual(values, tuple(member.value for member in kind))

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
