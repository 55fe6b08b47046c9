"""What an alert does when it fires and when it clears: a log line, a webhook, a Slack-compatible
webhook, a mail.

Every delivery runs as a task of its own, its network part on this module's own threads, with a
timeout on each attempt and retries with a growing, jittered wait (:class:`~..core.pacing.Backoff`):
a slow or dead receiver delays nothing but its own delivery, and a failure is logged and counted,
never raised. The logs name the rule and the action by its place, never its URL (a webhook's URL
often holds its token) nor the mail server's password; a library's error is named by its type alone
(its text may quote the URL).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import smtplib
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from typing import Any

import requests

from ..config import AlertAction, AlertRule, SmtpSettings
from ..contract import Alert
from ..core.pacing import Backoff

log = logging.getLogger(__name__)

#: Threads for the deliveries' network calls (requests and smtplib block).
WORKERS = 4
#: The first retry's wait in seconds, and the longest.
RETRY_BASE, RETRY_CAP = 1.0, 60.0


class DeliveryFailed(Exception):
    """An attempt failed; ``str()`` is safe to log (no URL, no secret)."""


def alert_text(alert: Alert) -> str:
    """One line saying what happened: the Slack text, the mail's subject and the log line."""
    cleared_at = alert["cleared_at"]
    if cleared_at is None:
        return f"[xWrap] FIRING {alert['rule']}: {alert['subject']}: {alert['detail']}"
    return f"[xWrap] CLEARED {alert['rule']}: {alert['subject']} (after {cleared_at - alert['started_at']:.0f} s)"


def alert_mail(alert: Alert) -> str:
    """A mail's body: the line, then every field of the alert."""
    fields = "\n".join(f"{name}: {value}" for name, value in alert.items())
    return f"{alert_text(alert)}\n\n{fields}\n"


class Deliveries:
    """Runs rules' actions for alerts; :attr:`counts` by (rule, action type, ``delivered``|``failed``).
    ``sleep`` and ``rng`` pace the retries (tests inject them); :meth:`close` when the service stops."""

    def __init__(
        self,
        smtp: SmtpSettings,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ):
        self.smtp, self.sleep, self.rng = smtp, sleep, rng or random.Random()
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="xwrap-alerts")
        self._tasks: set[asyncio.Task] = set()

    def deliver(self, rule: AlertRule, alert: Alert) -> None:
        """Start the rule's actions for ``alert`` (as it is now: firing or cleared); returns at once."""
        for place, action in enumerate(rule.actions):
            task = asyncio.create_task(self._run(rule, place, action, alert))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the deliveries under way (tests, and a clean stop)."""
        while self._tasks:
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 5.0) -> None:
        """Give the deliveries under way ``grace`` seconds, cancel the rest, end the threads."""
        try:
            await asyncio.wait_for(self.drain(), grace)
        except TimeoutError:
            for task in tuple(self._tasks):
                task.cancel()
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, rule: AlertRule, place: int, action: AlertAction, alert: Alert) -> None:
        name = f"alert rule {rule.name!r}: action {place} ({action.type})"
        if action.type == "log":
            log.warning("%s", alert_text(alert))
            self.counts[(rule.name, action.type, "delivered")] += 1
            return
        backoff = Backoff(RETRY_BASE, RETRY_CAP, rng=self.rng)
        timeout = float(action.timeout_seconds)
        for attempt in range(action.retries + 1):
            try:
                await asyncio.wait_for(
                    asyncio.get_running_loop().run_in_executor(self._executor, self._blocking, action, alert),
                    timeout + 1,  # the call's own timeout, and a little more for the thread's turn
                )
            except (DeliveryFailed, TimeoutError, OSError, requests.RequestException, smtplib.SMTPException) as exc:
                why = str(exc) if isinstance(exc, DeliveryFailed) else type(exc).__name__
                if attempt == action.retries:
                    log.error("%s: not delivered after %d attempt(s): %s", name, attempt + 1, why)
                    self.counts[(rule.name, action.type, "failed")] += 1
                    return
                delay = backoff.next_delay()
                log.warning("%s: attempt %d failed (%s); again in %.1f s", name, attempt + 1, why, delay)
                await self.sleep(delay)
            except Exception as exc:  # a bug must not end the service's other work
                log.error("%s: not delivered: %s", name, type(exc).__name__)
                self.counts[(rule.name, action.type, "failed")] += 1
                return
            else:
                self.counts[(rule.name, action.type, "delivered")] += 1
                return

    def _blocking(self, action: AlertAction, alert: Alert) -> None:
        """One attempt, on a delivery thread."""
        timeout = float(action.timeout_seconds)
        if action.type == "email":
            self._mail(action, alert, timeout)
            return
        body: dict[str, Any] = {"text": alert_text(alert)} if action.type == "slack" else {**alert, "service": "xwrap"}
        response = requests.post(
            action.url,
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )
        response.close()
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"HTTP {response.status_code}")

    def _mail(self, action: AlertAction, alert: Alert, timeout: float) -> None:
        smtp = self.smtp
        message = EmailMessage()
        message["From"], message["To"] = smtp.from_address, ", ".join(action.to)
        message["Subject"] = alert_text(alert)
        message.set_content(alert_mail(alert))
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            client.ehlo()
            if smtp.starttls:
                context = ssl.create_default_context(cafile=smtp.ca_file or None)
                client.starttls(context=context)  # refused by a server that offers none: SMTPNotSupportedError
                client.ehlo()
            if smtp.username:
                client.login(smtp.username, smtp.password)
            client.send_message(message)
