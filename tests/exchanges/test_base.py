import unittest

from exchange_wrapper.exchanges.base import adapter_class
from exchange_wrapper.exchanges.coinbase.public import CoinbaseAdapter


class AdapterRegistryTest(unittest.TestCase):
    def test_each_exchange_module_names_its_adapter(self):
        self.assertIs(adapter_class("coinbase"), CoinbaseAdapter)


if __name__ == "__main__":
    unittest.main()
