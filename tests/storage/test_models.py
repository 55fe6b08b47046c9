"""Amount columns: the text an amount is written as, the Decimal read back, what is refused."""

import unittest
from decimal import Decimal as D

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.storage.models import money_param, money_value


class MoneyTest(unittest.TestCase):
    def test_written_as_canonical_text(self):
        for value, text in (
            (D("0.78760000"), "0.7876"),
            (D("100"), "100"),
            (D("1E+2"), "100"),
            (D("0E-30"), "0"),
            (D("-0"), "0"),
            (D("-5.030"), "-5.03"),
            (7, "7"),
            (D("0.000000000000000001"), "0.000000000000000001"),
            (D("1.000000000000000000000000"), "1"),
            (D("99999999999999999999.999999999999999999"), "99999999999999999999.999999999999999999"),
        ):
            with self.subTest(value=value):
                self.assertEqual(text, money_param(value, "amount"))

    def test_refused_not_rounded(self):
        for value, expected in (
            (D("0.0000000000000000001"), "at most 18 decimal places"),
            (D("1E+20"), "less than 10^20"),
            (D("NaN"), "a finite Decimal"),
            (0.1, "a finite Decimal"),
            (True, "a finite Decimal"),
            ("1", "a finite Decimal"),
        ):
            with self.subTest(value=value), self.assertRaises(InvalidParameter) as caught:
                money_param(value, "price")
            self.assertEqual(("price", expected), (caught.exception.field, caught.exception.expected))

    def test_read_back_canonical(self):
        # SQLite keeps the text written; PostgreSQL's NUMERIC(38, 18) gives 18 decimals
        for stored, value in (
            ("0.7876", "0.7876"),
            ("100", "100"),
            ("-0.5", "-0.5"),
            ("0", "0"),
            (D("0.787600000000000000"), "0.7876"),
            (D("100.000000000000000000"), "100"),
            (D("0E-18"), "0"),
            ("5.030", "5.03"),
            ("1E+2", "100"),
            ("-0", "0"),
        ):
            with self.subTest(stored=stored):
                self.assertEqual(value, str(money_value(stored)))


if __name__ == "__main__":
    unittest.main()
