import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.service.params import Params


class ParamsTest(unittest.TestCase):
    def assertNames(self, field, call):
        with self.assertRaises(InvalidParameter) as caught:
            call()
        self.assertEqual(caught.exception.field, field)
        return str(caught.exception)

    def test_typed_getters(self):
        p = Params(
            {
                "size": "0.5",
                "side": "buy",
                "pair": "BTC_USD",
                "depth": 5,
                "post_only": True,
                "expire_time": 1700000000.5,
                "currency": "USDT",
                "name": "main",
            }
        )
        self.assertEqual(p.decimal("size"), Decimal("0.5"))
        self.assertIs(p.choice("side", Side), Side.BUY)
        self.assertEqual(p.pair(), Pair("BTC", "USD"))
        self.assertEqual(p.integer("depth", minimum=1), 5)
        self.assertTrue(p.flag("post_only"))
        self.assertEqual(p.number("expire_time"), 1700000000.5)
        self.assertEqual(p.currency(), "USDT")
        self.assertEqual(p.text("name"), "main")
        p.done()

    def test_query_strings_are_read_too(self):
        p = Params({"depth": "20", "post_only": "false", "start": "1700000000"})
        self.assertEqual(p.integer("depth"), 20)
        self.assertFalse(p.flag("post_only"))
        self.assertEqual(p.number("start"), 1700000000.0)

    def test_errors_name_the_parameter(self):
        self.assertIn("missing", self.assertNames("pair", lambda: Params({}).pair(required=True)))
        self.assertNames("size", lambda: Params({"size": 0.5}).decimal("size"))
        self.assertNames("size", lambda: Params({"size": "-1"}).decimal("size"))
        self.assertIn(
            "one of 'buy', 'sell'", self.assertNames("side", lambda: Params({"side": "long"}).choice("side", Side))
        )
        self.assertNames("depth", lambda: Params({"depth": 0}).integer("depth", minimum=1))
        self.assertNames("depth", lambda: Params({"depth": True}).integer("depth"))
        self.assertNames("post_only", lambda: Params({"post_only": "yes"}).flag("post_only"))
        self.assertNames("currency", lambda: Params({"currency": "btc"}).currency())
        self.assertNames("name", lambda: Params({"name": "x" * 65}).text("name", max_length=64))
        self.assertNames("params", lambda: Params([1, 2]))

    def test_values_past_what_the_database_and_arithmetic_take_are_refused(self):
        self.assertNames("depth", lambda: Params({"depth": "\u00b2"}).integer("depth"))  # a digit int() refuses
        self.assertNames("wallet_set_id", lambda: Params({"wallet_set_id": 2**63}).integer("wallet_set_id"))
        self.assertEqual(Params({"wallet_set_id": str(2**63 - 1)}).integer("wallet_set_id"), 2**63 - 1)
        self.assertNames("price", lambda: Params({"price": "1e999999"}).decimal("price"))
        self.assertNames("size", lambda: Params({"size": "0.0000000000000000001"}).decimal("size"))
        self.assertEqual(
            Params({"size": "999999999999999.000000000000000001"}).decimal("size"),
            Decimal("999999999999999.000000000000000001"),
        )
        self.assertEqual(Params({"amount": "0"}).decimal("amount", positive=False), 0)

    def test_amounts_are_decimal_strings_in_ascii_digits_only(self):
        # one rule on every door: a JSON number is not an amount, whatever its type once decoded
        for number in (50, 50.5, Decimal("50.5"), True):
            with self.subTest(number=number):
                message = self.assertNames("size", lambda: Params({"size": number}).decimal("size"))
                self.assertIn("a decimal string", message)
        for text in ("\u0661\u0660\u0660", "\uff11\uff10\uff10", "\u0967.5"):
            with self.subTest(text=text):
                message = self.assertNames("amount", lambda: Params({"amount": text}).decimal("amount"))
                self.assertIn("ASCII digits", message)

    def test_integers_too_long_to_read_are_refused_naming_the_field(self):
        for name, maximum in (("wallet_set_id", 2**63 - 1), ("limit", 1000)):
            for text in ("1" * 4301, "9" * 100_000, str(maximum * 10)):
                with self.subTest(name=name, digits=len(text)):
                    self.assertNames(name, lambda: Params({name: text}).integer(name, maximum=maximum))
        self.assertEqual(7, Params({"depth": "0" * 5000 + "7"}).integer("depth"))
        self.assertEqual(0, Params({"before": "0"}).integer("before"))
        self.assertNames("before", lambda: Params({"before": "--5"}).integer("before", minimum=-9))

    def test_times_are_ascii_too(self):
        for text in ("\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660", "1_700_000_000"):
            with self.subTest(text=text):
                self.assertNames("start", lambda: Params({"start": text}).number("start"))

    def test_text_without_control_characters_or_lone_surrogates(self):
        for text in ("a\x00b", "a\ud800b", "\udfff", "tab\there", "del\x7f"):
            with self.subTest(text=text):
                message = self.assertNames(
                    "client_order_id", lambda: Params({"client_order_id": text}).text("client_order_id", max_length=64)
                )
                message.encode()  # the message itself is Unicode: it can be answered
        self.assertEqual("caf\u00e9-\U0001f680", Params({"name": "caf\u00e9-\U0001f680"}).text("name"))

    def test_unknown_parameters_are_refused(self):
        p = Params({"pair": "BTC_USD", "prise": "1"})
        p.pair()
        message = self.assertNames("prise", p.done)
        self.assertIn("no such parameter", message)
