import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.money import decimal_places, format_decimal, parse_decimal, quantize_down, quantize_up


class ParseDecimalTest(unittest.TestCase):
    def test_accepts_strings_ints_and_decimals_exactly(self):
        self.assertEqual(parse_decimal("0.00000001", "size"), Decimal("0.00000001"))
        self.assertEqual(
            parse_decimal("123456789012345678.123456789012345678", "size"),
            Decimal("123456789012345678.123456789012345678"),
        )
        self.assertEqual(parse_decimal(5, "size"), Decimal(5))
        self.assertEqual(parse_decimal(Decimal("1.10"), "size"), Decimal("1.10"))
        self.assertEqual(parse_decimal("1e-8", "size"), Decimal("0.00000001"))

    def test_refuses_floats_and_junk_naming_the_field(self):
        for bad in (0.1, True, None, "abc", "", " 1", "NaN", "Infinity", "-inf", "1_000", [1], "+1"):
            with self.assertRaises(InvalidParameter) as caught:
                parse_decimal(bad, "price")
            self.assertEqual(caught.exception.field, "price")
            self.assertIn("price", str(caught.exception))

    def test_refuses_digits_that_are_not_ascii(self):
        # Decimal() reads any Unicode digit: Arabic-Indic, fullwidth, Devanagari, Bengali
        for bad in ("\u0661\u0660\u0660", "\uff11\uff10\uff10", "1\u0966", "0.\u09e7", "\uff11e5"):
            with self.subTest(bad=bad), self.assertRaises(InvalidParameter) as caught:
                parse_decimal(bad, "size")
            self.assertEqual("size", caught.exception.field)
            self.assertIn("ASCII digits", caught.exception.expected)

    def test_sign_checks(self):
        with self.assertRaises(InvalidParameter) as caught:
            parse_decimal("0", "size", positive=True)
        self.assertIn("greater than 0", str(caught.exception))
        with self.assertRaises(InvalidParameter):
            parse_decimal("-0.1", "amount", non_negative=True)
        self.assertEqual(parse_decimal("0", "amount", non_negative=True), Decimal(0))


class FormatTest(unittest.TestCase):
    def test_plain_notation_without_trailing_zeros(self):
        cases = {
            "0.00010000": "0.0001",
            "1E-8": "0.00000001",
            "100": "100",
            "1E+2": "100",
            "0E-8": "0",
            "-0": "0",
            "-1.50": "-1.5",
            "12345678901234567890.1": "12345678901234567890.1",
            "12345678901234567890.123456789012345678": "12345678901234567890.123456789012345678",
        }
        for given, expected in cases.items():
            self.assertEqual(format_decimal(Decimal(given)), expected, given)


class QuantizeTest(unittest.TestCase):
    def test_down_and_up_to_a_step(self):
        step = Decimal("0.05")
        self.assertEqual(quantize_down(Decimal("1.23"), step), Decimal("1.20"))
        self.assertEqual(quantize_up(Decimal("1.23"), step), Decimal("1.25"))
        self.assertEqual(quantize_down(Decimal("1.25"), step), Decimal("1.25"))
        self.assertEqual(quantize_up(Decimal("1.25"), step), Decimal("1.25"))
        self.assertEqual(quantize_down(Decimal("7"), Decimal("5")), Decimal("5"))
        self.assertEqual(quantize_up(Decimal("7"), Decimal("5")), Decimal("10"))

    def test_decimal_places(self):
        self.assertEqual(decimal_places(2), Decimal("0.01"))
        self.assertEqual(decimal_places(0), Decimal("1"))
        self.assertEqual(decimal_places(8), Decimal("0.00000001"))
