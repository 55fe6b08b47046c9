"""The alerts' actions against real receivers on loopback: a webhook (JSON and Slack text, retried with
backoff, timed out) and an SMTP server with STARTTLS and login; no secret in any log line."""

import asyncio
import email
import random
import time
import unittest
from email import policy

from exchange_wrapper.alerts.actions import Deliveries, alert_text
from exchange_wrapper.config import load_settings
from exchange_wrapper.service.server import quiet_wire_loggers

from .receivers import LogLines, SmtpReceiver, WebhookReceiver

TOKEN = "hook-token-3f9a1c7e55"  # a webhook's URL holds its token
PASSWORD = "smtp-password-8d2b6e"

FIRING = {
    "id": 7,
    "rule": "feed",
    "condition": "exchange_unhealthy",
    "subject": "kraken",
    "state": "firing",
    "detail": "down: connection lost",
    "started_at": 1700000000.0,
    "fired_at": 1700000060.0,
    "cleared_at": None,
    "notified": True,
    "events": 1,
}
CLEARED = {**FIRING, "state": "cleared", "cleared_at": 1700000360.0}


class ActionsTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        quiet_wire_loggers()  # as the service does at start: the HTTP libraries' DEBUG lines are the wire
        self.logs = LogLines().watch(self)
        self.slept: list[float] = []

    def tearDown(self):
        text = self.logs.text
        self.assertNotIn(TOKEN, text)
        self.assertNotIn(PASSWORD, text)

    async def _sleep(self, seconds):
        self.slept.append(seconds)

    def deliveries(self, smtp=None, **alerts):
        settings = load_settings(
            None,
            env={},
            overrides={
                "alerts": {
                    "rules": [{"name": "feed", "condition": "exchange_unhealthy", **alerts}],
                    **({"smtp": smtp} if smtp else {}),
                }
            },
        )
        deliveries = Deliveries(settings.alerts.smtp, sleep=self._sleep, rng=random.Random(1))
        self.addAsyncCleanup(deliveries.close)
        return deliveries, settings.alerts.rules[0]

    async def test_webhook_posts_the_alert_as_json_and_slack_gets_its_text(self):
        async with WebhookReceiver() as hook:
            deliveries, rule = self.deliveries(
                actions=[
                    {"type": "webhook", "url": hook.url(f"/hooks/xwrap?token={TOKEN}")},
                    {"type": "slack", "url": hook.url(f"/services/T0/B0/{TOKEN}")},
                    {"type": "log"},
                ]
            )
            deliveries.deliver(rule, FIRING)
            await deliveries.drain()
            received = dict(hook.received)
            self.assertEqual(received[f"/hooks/xwrap?token={TOKEN}"], {**FIRING, "service": "xwrap"})
            self.assertEqual(
                received[f"/services/T0/B0/{TOKEN}"], {"text": "[xWrap] FIRING feed: kraken: down: connection lost"}
            )
            deliveries.deliver(rule, CLEARED)
            await deliveries.drain()
            cleared = [body for path, body in hook.received[2:] if path == f"/services/T0/B0/{TOKEN}"]
            self.assertEqual(cleared, [{"text": "[xWrap] CLEARED feed: kraken (after 360 s)"}])
        self.assertEqual(
            deliveries.counts,
            {("feed", "webhook", "delivered"): 2, ("feed", "slack", "delivered"): 2, ("feed", "log", "delivered"): 2},
        )
        self.assertIn("exchange_wrapper.alerts.actions WARNING [xWrap] FIRING feed: kraken", self.logs.text)

    async def test_a_failing_webhook_is_retried_with_growing_waits(self):
        async with WebhookReceiver() as hook:
            hook.fail = 2
            deliveries, rule = self.deliveries(actions=[{"type": "webhook", "url": hook.url(f"/h?token={TOKEN}")}])
            deliveries.deliver(rule, FIRING)
            await deliveries.drain()
            self.assertEqual(len(hook.received), 1)
        self.assertEqual(deliveries.counts, {("feed", "webhook", "delivered"): 1})
        # Backoff(1, 60): attempt n waits between half and all of 2**n seconds
        self.assertEqual(len(self.slept), 2)
        self.assertTrue(0.5 <= self.slept[0] <= 1 and 1 <= self.slept[1] <= 2, self.slept)
        warnings = [line for line in self.logs.lines if "attempt" in line]
        self.assertEqual(len(warnings), 2)
        self.assertIn("alert rule 'feed': action 0 (webhook): attempt 1 failed (HTTP 500)", warnings[0])

    async def test_delivery_that_never_succeeds_is_logged_and_counted(self):
        async with WebhookReceiver() as hook:
            hook.fail = 100
            deliveries, rule = self.deliveries(
                actions=[{"type": "webhook", "url": hook.url(f"/h?token={TOKEN}"), "retries": 1}, {"type": "log"}]
            )
            deliveries.deliver(rule, FIRING)
            await deliveries.drain()
        self.assertEqual(deliveries.counts, {("feed", "webhook", "failed"): 1, ("feed", "log", "delivered"): 1})
        self.assertTrue(any("not delivered after 2 attempt(s): HTTP 500" in line for line in self.logs.lines))

    async def test_a_receiver_that_does_not_answer_times_out_and_blocks_nothing(self):
        async with WebhookReceiver() as hook:
            hook.hang = 5
            deliveries, rule = self.deliveries(
                actions=[
                    {"type": "webhook", "url": hook.url(f"/h?token={TOKEN}"), "timeout_seconds": "0.3", "retries": 0}
                ]
            )
            started = time.monotonic()
            deliveries.deliver(rule, FIRING)
            await asyncio.sleep(0.05)  # the loop goes on meanwhile
            self.assertLess(time.monotonic() - started, 0.2)
            await deliveries.drain()
            self.assertLess(time.monotonic() - started, 2.5)
        self.assertEqual(deliveries.counts, {("feed", "webhook", "failed"): 1})
        self.assertTrue(
            any("not delivered after 1 attempt(s): ReadTimeout" in line for line in self.logs.lines), self.logs.lines
        )

    async def test_nothing_listening_is_a_failure_named_by_its_type(self):
        deliveries, rule = self.deliveries(
            actions=[{"type": "slack", "url": f"http://127.0.0.1:9/services/{TOKEN}", "retries": 0}]
        )
        deliveries.deliver(rule, FIRING)
        await deliveries.drain()
        self.assertEqual(deliveries.counts, {("feed", "slack", "failed"): 1})
        self.assertTrue(any("not delivered after 1 attempt(s): ConnectionError" in line for line in self.logs.lines))


class EmailTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        quiet_wire_loggers()
        self.logs = LogLines().watch(self)
        self.server = SmtpReceiver("xwrap", PASSWORD)
        self.server.__enter__()
        self.addCleanup(self.server.__exit__)

    def tearDown(self):
        self.assertNotIn(PASSWORD, self.logs.text)

    def deliveries(self, password):
        smtp = {
            "host": "127.0.0.1",
            "port": self.server.port,
            "username": "xwrap",
            "password": password,
            "from_address": "xwrap@example.com",
            "ca_file": self.server.cert,
        }
        settings = load_settings(
            None,
            env={},
            overrides={
                "alerts": {
                    "rules": [
                        {
                            "name": "feed",
                            "condition": "exchange_unhealthy",
                            "actions": [
                                {"type": "email", "to": ["ops@example.com", "oncall@example.com"], "retries": 1}
                            ],
                        }
                    ],
                    "smtp": smtp,
                }
            },
        )
        sleeps = []

        async def sleep(seconds):
            sleeps.append(seconds)

        deliveries = Deliveries(settings.alerts.smtp, sleep=sleep)
        self.addAsyncCleanup(deliveries.close)
        return deliveries, settings.alerts.rules[0]

    async def test_a_mail_over_starttls_after_login(self):
        deliveries, rule = self.deliveries(PASSWORD)
        deliveries.deliver(rule, FIRING)
        await deliveries.drain()
        self.assertEqual(deliveries.counts, {("feed", "email", "delivered"): 1})
        [(sender, recipients, data, tls)] = self.server.messages
        self.assertEqual(
            (sender, recipients, tls), ("xwrap@example.com", ["ops@example.com", "oncall@example.com"], True)
        )
        self.assertEqual(self.server.logins, [("xwrap", True)])
        mail = email.message_from_string(data, policy=policy.default)
        self.assertEqual(mail["Subject"], alert_text(FIRING))
        self.assertEqual(mail["To"], "ops@example.com, oncall@example.com")
        body = mail.get_content()
        self.assertIn("detail: down: connection lost", body)
        self.assertIn("started_at: 1700000000.0", body)

    async def test_a_wrong_password_is_a_failed_delivery_that_does_not_show_it(self):
        deliveries, rule = self.deliveries(PASSWORD + "-wrong")
        deliveries.deliver(rule, FIRING)
        await deliveries.drain()
        self.assertEqual(deliveries.counts, {("feed", "email", "failed"): 1})
        self.assertEqual(self.server.messages, [])
        # tried again once (smtplib tries each mechanism the server offers, PLAIN and LOGIN, per attempt)
        self.assertEqual(self.server.logins, [("xwrap", False)] * 4)
        self.assertTrue(any("SMTPAuthenticationError" in line for line in self.logs.lines))
        self.assertNotIn(PASSWORD + "-wrong", self.logs.text)

    async def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(self):
        smtp_settings = load_settings(
            None,
            env={},
            overrides={
                "alerts.smtp": {
                    "host": "127.0.0.1",
                    "port": self.server.port,
                    "username": "xwrap",
                    "password": PASSWORD,
                    "from_address": "xwrap@example.com",
                }
            },
        ).alerts.smtp
        rule = load_settings(
            None,
            env={},
            overrides={
                "alerts.smtp": {"host": "127.0.0.1", "from_address": "xwrap@example.com"},
                "alerts.rules": [
                    {
                        "name": "feed",
                        "condition": "exchange_unhealthy",
                        "actions": [{"type": "email", "to": ["ops@example.com"], "retries": 0}],
                    }
                ],
            },
        ).alerts.rules[0]
        deliveries = Deliveries(smtp_settings)
        self.addAsyncCleanup(deliveries.close)
        deliveries.deliver(rule, FIRING)
        await deliveries.drain()
        self.assertEqual(deliveries.counts, {("feed", "email", "failed"): 1})
        self.assertEqual(self.server.logins, [])
        self.assertTrue(any("SSLCertVerificationError" in line for line in self.logs.lines), self.logs.lines)
