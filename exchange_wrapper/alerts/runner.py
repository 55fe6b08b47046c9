"""The alerts of a running service: its rules looked at on a schedule, their episodes published and
delivered (docs/alerts.md).

Every ``alerts.interval_seconds`` each rule's condition is asked what it finds
(:mod:`.conditions`), :class:`~..core.alerting.Episodes` says what fired and what cleared, and each
change is published on the ``alerts`` topic and, unless rate-limited, handed to the rule's actions
(:mod:`.actions`, which never wait on the look). Besides, once a minute the wallet sets' equity peaks
are read from the history store, and every ``alerts.ledger_verify_minutes`` the ledger is verified
on a connection and a thread of its own, when a rule watches it. A condition that fails to be read
is logged (once until it reads again) and the others go on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..config import Settings
from ..contract import Alert, Alerts
from ..core import alerting
from ..core.alerting import Change, Episodes, Policy
from ..core.exchanges import EXCHANGE_NAMES
from ..storage.database import close_database
from ..storage.verify import LedgerReport, highest_fee, verify_ledger
from .actions import Deliveries
from .conditions import Conditions, kind_of

log = logging.getLogger(__name__)

#: Seconds between two reads of the equity samples (they are taken once a minute).
EQUITY_SECONDS = 60.0

Publish = Callable[[str, Any], None]


def alert_json(alert: alerting.Alert) -> Alert:
    return {
        "id": alert.id,
        "rule": alert.rule,
        "condition": alert.condition,
        "subject": alert.subject,
        "state": "firing" if alert.active else "cleared",
        "detail": alert.detail,
        "started_at": round(alert.started_at, 3),
        "fired_at": round(alert.fired_at, 3),
        "cleared_at": None if alert.cleared_at is None else round(alert.cleared_at, 3),
        "notified": alert.notified,
        "events": alert.events,
    }


class AlertRunner:
    """Runs ``settings.alerts``: :meth:`start`, :meth:`stop`; :meth:`alerts` for get_alerts; the
    counters (:attr:`deliveries`, :attr:`episodes`) for the metrics. ``clock`` is the service's time;
    ``interval`` and ``equity_seconds`` override the schedule (tests)."""

    def __init__(
        self,
        settings: Settings,
        conditions: Conditions,
        *,
        publish: Publish,
        clock: Callable[[], float] = time.time,
        deliveries: Deliveries | None = None,
        interval: float | None = None,
        equity_seconds: float = EQUITY_SECONDS,
    ):
        alerts = settings.alerts
        self.rules = {rule.name: rule for rule in alerts.rules}
        self.conditions, self.publish, self.clock = conditions, publish, clock
        self.deliveries = deliveries or Deliveries(alerts.smtp)
        self.interval = float(alerts.interval_seconds) if interval is None else interval
        self.equity_seconds = equity_seconds
        self.ledger_seconds = alerts.ledger_verify_minutes * 60.0
        self.episodes = Episodes(
            [
                Policy(
                    rule.name,
                    rule.condition,
                    kind_of(rule.condition),
                    float(rule.for_seconds),
                    float(rule.clear_seconds),
                    float(rule.repeat_seconds),
                )
                for rule in alerts.rules
            ],
            keep=alerts.keep,
        )
        self._failing: set[str] = set()  # rules whose condition could not be read at the last look
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        """Look at the rules on schedule (nothing to look at without rules); read the equity peaks
        (with a history store: the metrics show the drawdowns); verify the ledger if a rule watches it."""
        if self.rules:
            self._tasks.append(asyncio.create_task(self._every(self.interval, self.evaluate)))
        if self.conditions.history is not None and self.conditions.history.sink is not None:
            self._tasks.append(asyncio.create_task(self._every(self.equity_seconds, self.conditions.refresh_equity)))
        if any(rule.condition == "ledger_verify_failed" for rule in self.rules.values()):
            self._tasks.append(asyncio.create_task(self._every(self.ledger_seconds, self.conditions.verify_ledger)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.deliveries.close()

    async def evaluate(self, now: float | None = None) -> list[Change]:
        """Look at every rule once (at ``now``, default the clock's time); publish and deliver what
        changed, and return it."""
        now = self.clock() if now is None else now
        changes: list[Change] = []
        for rule in self.rules.values():
            try:
                found = await self.conditions.find(rule, now)
            except Exception:
                if rule.name not in self._failing:
                    self._failing.add(rule.name)
                    log.exception("alert rule %r: its condition could not be read", rule.name)
                continue
            self._failing.discard(rule.name)
            for change in self.episodes.observe(rule.name, now, found):
                alert = alert_json(change.alert)
                self.publish("alerts", alert)
                if change.notify:
                    self.deliveries.deliver(rule, alert)
                changes.append(change)
        return changes

    def alerts(self) -> Alerts:
        """The alerts firing now and the last cleared ones."""
        return {
            "active": [alert_json(alert) for alert in self.episodes.active()],
            "recent": [alert_json(alert) for alert in self.episodes.recent()],
        }

    async def _every(self, seconds: float, job: Callable[[float], Awaitable[Any]]) -> None:
        while True:
            try:
                await job(self.clock())
            except Exception:  # one bad round must not end the alerts
                log.exception("alerts: %s failed", getattr(job, "__name__", "a job"))
            await asyncio.sleep(seconds)


def ledger_verifier(settings: Settings, database: Any) -> Callable[[], Awaitable[LedgerReport]]:
    """``xwrap ledger verify`` as a coroutine: on a thread of its own with that thread's connection
    (one snapshot: the service's writes go on meanwhile), closed after each run."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xwrap-ledger-verify")
    max_fee = highest_fee(settings.exchange(name).fees.taker for name in EXCHANGE_NAMES)

    def verify() -> LedgerReport:
        try:
            return verify_ledger(database, max_fee=max_fee)
        finally:
            close_database(database)

    async def run() -> LedgerReport:
        return await asyncio.get_running_loop().run_in_executor(executor, verify)

    return run
