import random
import unittest

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.pacing import Backoff, RateLimit, TokenBucket

COINBASE_PUBLIC = RateLimit(10, 15)  # 10 requests/s, bursts of 15


class TokenBucketTest(unittest.TestCase):
    def test_a_burst_goes_at_once_then_calls_are_spread_at_the_rate(self):
        bucket = TokenBucket(COINBASE_PUBLIC, now=100.0)
        waits = [bucket.reserve(100.0) for _ in range(18)]
        self.assertEqual(waits[:15], [0.0] * 15)
        for got, expected in zip(waits[15:], (0.1, 0.2, 0.3)):
            self.assertAlmostEqual(got, expected)

    def test_tokens_come_back_with_time_up_to_the_capacity(self):
        bucket = TokenBucket(COINBASE_PUBLIC, now=0.0)
        for _ in range(15):
            bucket.reserve(0.0)
        self.assertAlmostEqual(bucket.reserve(0.5), 0.0)  # 5 back after half a second
        self.assertEqual([bucket.reserve(0.5) for _ in range(4)], [0.0] * 4)
        self.assertAlmostEqual(bucket.reserve(0.5), 0.1)
        later = TokenBucket(COINBASE_PUBLIC, now=0.0)
        self.assertEqual([later.reserve(3600.0) for _ in range(15)], [0.0] * 15)  # never above 15
        self.assertAlmostEqual(later.reserve(3600.0), 0.1)

    def test_weights_take_more_tokens(self):
        binance = TokenBucket(RateLimit(100, 6000), now=0.0)  # 6000 weight a minute
        self.assertEqual(binance.reserve(0.0, weight=5000), 0.0)
        self.assertAlmostEqual(binance.reserve(0.0, weight=1250), 2.5)
        with self.assertRaises(InvalidParameter) as raised:
            binance.reserve(0.0, weight=6001)
        self.assertEqual(raised.exception.field, "weight")

    def test_a_cap_takes_away_what_was_spent_elsewhere(self):
        bucket = TokenBucket(RateLimit(10, 600), now=0.0)  # Binance's 1200 weight a minute, half as burst
        bucket.reserve(0.0, 100)
        bucket.cap(0.0, 600 - 550)  # the exchange counted 550: 450 more than this bucket spent
        self.assertEqual(bucket.reserve(0.0, 50), 0.0)
        self.assertAlmostEqual(bucket.reserve(0.0, 10), 1.0)
        bucket.cap(0.0, 400)  # a cap never gives tokens back
        self.assertAlmostEqual(bucket.reserve(0.0, 1), 1.1)

    def test_a_pause_holds_every_call_until_it_ends(self):
        bucket = TokenBucket(COINBASE_PUBLIC, now=0.0)
        bucket.pause(10.0, 30.0)
        self.assertEqual(bucket.reserve(10.0), 30.0)
        self.assertEqual(bucket.reserve(25.0), 15.0)
        self.assertEqual(bucket.pause_left(39.5), 0.5)
        bucket.pause(20.0, 5.0)  # a shorter pause does not cut the longer one
        self.assertEqual(bucket.paused_until, 40.0)
        self.assertEqual(bucket.reserve(40.0), 0.0)

    def test_limits_are_checked(self):
        for args, field in (((0, 15), "rate"), ((10, 0.5), "capacity")):
            with self.assertRaises(InvalidParameter) as raised:
                RateLimit(*args)
            self.assertEqual(raised.exception.field, field)


class BackoffTest(unittest.TestCase):
    def test_waits_double_within_half_and_all_of_the_ceiling_up_to_the_cap(self):
        backoff = Backoff(0.5, 8.0, rng=random.Random(7))
        ceilings = [0.5, 1, 2, 4, 8, 8, 8]
        for ceiling in ceilings:
            delay = backoff.next_delay()
            self.assertGreaterEqual(delay, ceiling / 2)
            self.assertLessEqual(delay, ceiling)
        self.assertEqual(backoff.attempts, len(ceilings))
        backoff.reset()
        self.assertLessEqual(backoff.next_delay(), 0.5)

    def test_jitter_spreads_clients_that_fail_together(self):
        delays = {Backoff(1.0, 60.0, rng=random.Random(seed)).next_delay() for seed in range(20)}
        self.assertEqual(len(delays), 20)

    def test_bad_settings_are_refused(self):
        for kwargs, field in (({"base": 0}, "base"), ({"base": 5, "cap": 1}, "base"), ({"factor": 0.5}, "factor")):
            with self.assertRaises(InvalidParameter) as raised:
                Backoff(**kwargs)
            self.assertEqual(raised.exception.field, field)


if __name__ == "__main__":
    unittest.main()
