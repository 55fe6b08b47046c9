"""Requests from JSON text: what no door can use is refused naming where it is; the rest is read exactly."""

import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.service.decoding import UnfitRequest, first_unfit, read_json


class ReadJsonTest(unittest.TestCase):
    def assertUnfit(self, text, where, expected):
        with self.assertRaises(UnfitRequest) as caught:
            read_json(text.encode())
        self.assertIsInstance(caught.exception, InvalidParameter)
        self.assertEqual((where, "invalid_parameter"), (caught.exception.field, caught.exception.kind))
        self.assertIn(expected, caught.exception.expected)
        str(caught.exception).encode()  # the message can be answered in UTF-8
        return caught.exception

    def test_numbers_are_read_exactly(self):
        document = read_json(b'{"a": 0.1000000000000000055511151231257827, "b": 12, "c": -1e-400, "d": 1e308}')
        self.assertEqual(
            {
                "a": Decimal("0.1000000000000000055511151231257827"),
                "b": 12,
                "c": Decimal("-1e-400"),
                "d": Decimal("1e308"),
            },
            document,
        )
        self.assertIs(type(document["b"]), int)
        self.assertEqual(10**4299, read_json("1" + "0" * 4299))

    def test_numbers_beyond_a_double_are_refused_naming_where(self):
        self.assertUnfit('{"x": 1e400}', "x", "a double's range")
        self.assertUnfit('{"x": [1, {"y": -1' + "0" * 400 + ".5}]}", "x[1].y", "a double's range")
        error = self.assertUnfit(
            '{"jsonrpc": "2.0", "id": 7, "method": "echo", "params": {"x": 1E+309}}', "params.x", "a double's range"
        )
        self.assertEqual(7, error.document["id"])
        self.assertUnfit("1e400", "body", "a double's range")

    def test_integers_past_4300_digits_are_refused_naming_where(self):
        error = self.assertUnfit('{"wallet_set_id": %s}' % ("1" * 4301), "wallet_set_id", "at most 4300 digits")
        self.assertIn("(4301 digits)", str(error))
        self.assertLess(len(str(error)), 200)
        self.assertUnfit('[{"id": 1, "params": {"limit": -%s}}]' % ("9" * 100_000), "[0].params.limit", "4300 digits")

    def test_lone_surrogates_are_refused_pairs_are_read(self):
        self.assertUnfit('{"client_order_id": "a\\ud800b"}', "client_order_id", "lone surrogates")
        self.assertUnfit('{"x": ["ok", "\\uDFFF"]}', "x[1]", "lone surrogates")
        self.assertUnfit('{"\\udc00": 1}', "\\udc00", "lone surrogates")
        self.assertEqual({"x": "\U0001f680", "y": "\\ud800"}, read_json(b'{"x": "\\ud83d\\ude80", "y": "\\\\ud800"}'))

    def test_what_is_not_json_is_a_value_error(self):
        for text in (b"{", b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}', b"\xff", b""):
            with self.subTest(text=text), self.assertRaises(ValueError):
                read_json(text)
        with self.assertRaises(RecursionError):
            read_json(b"[" * 100_000 + b"]" * 100_000)


class FirstUnfitTest(unittest.TestCase):
    def test_python_values_that_json_cannot_carry(self):
        self.assertEqual("x.y[0]", first_unfit({"x": {"y": [float("inf")]}})[0])
        self.assertEqual("x", first_unfit({"x": float("nan")})[0])
        self.assertEqual("s", first_unfit({"s": "\ud800"})[0])
        self.assertIsNone(first_unfit({"x": [1.5, "text", None, True, {"y": Decimal("1e400")}]}))


if __name__ == "__main__":
    unittest.main()
