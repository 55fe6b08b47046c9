import unittest

from exchange_wrapper.config import ApiToken
from exchange_wrapper.core.errors import Forbidden, Unauthorised
from exchange_wrapper.service.auth import ANONYMOUS, Authenticator, OriginPolicy

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


class OriginPolicyTest(unittest.TestCase):
    def test_web_pages_and_host_names(self):
        loopback = OriginPolicy([], tokens=False)
        for origin, host in (
            (None, "127.0.0.1:8350"),
            (None, "localhost"),
            (None, "[::1]:8350"),
            ("http://127.0.0.1:8350", "127.0.0.1:8350"),
        ):
            loopback.check(origin, host)
        for origin, host in (
            ("http://evil.example", "127.0.0.1:8350"),
            ("null", "127.0.0.1:8350"),
            ("http://evil.example:8350", "evil.example:8350"),
            (None, "evil.example:8350"),
        ):
            with self.subTest(origin=origin, host=host), self.assertRaises(Unauthorised):
                loopback.check(origin, host)
        listed = OriginPolicy(["http://app.example"], tokens=True)
        listed.check("http://app.example", "xwrap.example:8350")  # any name with tokens
        listed.check(None, "xwrap.example:8350")
        with self.assertRaises(Unauthorised):
            listed.check("http://evil.example", "xwrap.example:8350")
        self.assertTrue(OriginPolicy(["*"], tokens=True).allows_cors("http://any.example"))
