import unittest

from exchange_wrapper.exchanges.http import DEFAULT_RETRY_AFTER, retry_after


class RetryAfterTest(unittest.TestCase):
    def test_seconds_or_an_http_date(self):
        self.assertEqual(retry_after("120", 0.0), 120.0)
        self.assertEqual(retry_after("0.5", 0.0), 0.5)
        # RFC 9110's example date, 30 s before it
        self.assertEqual(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111747.0), 30.0)
        for unreadable in (None, "soon", ""):
            self.assertEqual(retry_after(unreadable, 0.0), DEFAULT_RETRY_AFTER)


if __name__ == "__main__":
    unittest.main()
