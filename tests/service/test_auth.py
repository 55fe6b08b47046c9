import unittest

from exchange_wrapper.config import ApiToken
from exchange_wrapper.core.errors import Forbidden, Unauthorised
from exchange_wrapper.service.auth import ANONYMOUS, Authenticator

READ = ApiToken("dashboard", "r" * 24, "read")
TRADE = ApiToken("bot", "t" * 24, "trade")


class AuthenticatorTest(unittest.TestCase):
    def test_without_tokens_everyone_may_trade(self):
        auth = Authenticator([])
        self.assertFalse(auth.enabled)
        self.assertIs(auth.caller(None), ANONYMOUS)
        auth.caller(None).allow("make_order", "trade")

    def test_tokens_and_scopes(self):
        auth = Authenticator([READ, TRADE])
        reader = auth.caller("r" * 24)
        self.assertEqual((reader.name, reader.scope), ("dashboard", "read"))
        reader.allow("get_book", "read")
        with self.assertRaises(Forbidden) as caught:
            reader.allow("make_order", "trade")
        self.assertEqual(str(caught.exception), "make_order needs a trade token; this one is read")
        auth.caller("t" * 24).allow("make_order", "trade")

    def test_missing_or_wrong_tokens_are_unauthorised_and_not_echoed(self):
        auth = Authenticator([READ])
        for token in (None, "", "r" * 23, "x" * 24, "r" * 25):
            with self.assertRaises(Unauthorised) as caught:
                auth.caller(token)
            if token:
                self.assertNotIn(token, str(caught.exception))

    def test_bearer_header(self):
        self.assertEqual(Authenticator.bearer("Bearer abc"), "abc")
        self.assertEqual(Authenticator.bearer("bearer  abc "), "abc")
        self.assertIsNone(Authenticator.bearer("Basic abc"))
        self.assertIsNone(Authenticator.bearer(None))
