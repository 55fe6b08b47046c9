"""The client's generated methods are what the contract makes of them today."""

import unittest

from exchange_wrapper.client_codegen import TARGET, render


class GeneratedTest(unittest.TestCase):
    def test_the_committed_client_operations_are_what_regenerating_writes(self):
        self.assertEqual(
            TARGET.read_text(),
            render(),
            "exchange_wrapper/contract.py changed: run python -m exchange_wrapper.client_codegen",
        )


if __name__ == "__main__":
    unittest.main()
