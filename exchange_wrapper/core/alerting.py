"""Alert episodes: when an alert rule's condition fires, when it clears, and which firings are sent.

Pure and synchronous: the runner (``alerts/``) looks at the service and hands each rule's findings
of the moment to :meth:`Episodes.observe` with the time; what changed comes back as values
(:class:`Change`), which the runner publishes and delivers. Time is an argument, so that a test
drives hours of flapping in microseconds.

A rule's condition is of one of two kinds:

- a **state** (an exchange down, a book not live, a drawdown past its limit): the findings are the
  subjects for which it holds now. An alert fires once it has held ``for_seconds`` without a break,
  and clears the first time it no longer holds.
- an **event** (an order rejected, a reconciliation's differences, history records dropped): the
  findings are the subjects with new events since the last look. An alert fires on the first, takes
  the following ones into the same episode, and clears after ``clear_seconds`` without one.

Each (rule, subject) fires once per episode. At most one firing per ``repeat_seconds`` is *notified*
(its actions run, and its clearing too): a flapping condition opens episodes that are shown
(``get_alerts``, the ``alerts`` topic) but not sent, and counted as suppressed.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .errors import InvalidParameter


class Kind(enum.Enum):
    STATE = "state"
    EVENT = "event"


@dataclass(frozen=True)
class Policy:
    """How one rule's episodes open and close: see the module."""

    rule: str
    condition: str
    kind: Kind
    for_seconds: float = 0.0
    clear_seconds: float = 0.0
    repeat_seconds: float = 0.0

    def __post_init__(self) -> None:
        for name in ("for_seconds", "clear_seconds", "repeat_seconds"):
            if not getattr(self, name) >= 0:
                raise InvalidParameter(name, "at least 0", getattr(self, name))


@dataclass(frozen=True)
class Alert:
    """One episode of a rule on a subject. ``started_at``: when the condition began to hold (or its
    first event); ``cleared_at`` None while active; ``notified``: its actions were run (not
    rate-limited); ``events`` how many looks found new events (1 for a state)."""

    id: int
    rule: str
    condition: str
    subject: str
    detail: str
    started_at: float
    fired_at: float
    cleared_at: float | None
    notified: bool
    events: int = 1

    @property
    def active(self) -> bool:
        return self.cleared_at is None


@dataclass(frozen=True)
class Change:
    """What an observation did: ``fired`` or ``cleared`` the alert (as it is after the change)."""

    what: str
    alert: Alert

    @property
    def notify(self) -> bool:
        """Whether the rule's actions are to run for it (the firing was not rate-limited)."""
        return self.alert.notified


class Episodes:
    """The episodes of every rule (``policies``), the active ones and the last ``keep`` cleared ones."""

    def __init__(self, policies: Sequence[Policy], keep: int = 100):
        self.policies = {policy.rule: policy for policy in policies}
        self._active: dict[tuple[str, str], Alert] = {}
        self._holding_since: dict[tuple[str, str], float] = {}  # a state found, not held long enough yet
        self._last_event: dict[tuple[str, str], float] = {}
        self._last_notified: dict[tuple[str, str], float] = {}
        self._recent: deque[Alert] = deque(maxlen=keep)
        self._next_id = 1
        self.suppressed = 0  # firings not notified (rate limit)

    def observe(self, rule: str, now: float, found: Mapping[str, str]) -> list[Change]:
        """The rule's findings at ``now``: subject -> what was found (a state that holds; new events).
        Returns the alerts this fired or cleared."""
        policy = self.policies[rule]
        changes: list[Change] = []
        for subject, detail in found.items():
            key = (rule, subject)
            alert = self._active.get(key)
            if alert is not None:
                if policy.kind is Kind.EVENT:
                    self._last_event[key] = now
                    alert = dataclasses.replace(alert, detail=detail, events=alert.events + 1)
                else:
                    alert = dataclasses.replace(alert, detail=detail)
                self._active[key] = alert
                continue
            if policy.kind is Kind.STATE:
                since = self._holding_since.setdefault(key, now)
                if now - since < policy.for_seconds:
                    continue
            else:
                since = self._last_event[key] = now
            changes.append(self._fire(policy, subject, detail, since, now))
        for key in [key for key in self._active if key[0] == rule and key[1] not in found]:
            if policy.kind is Kind.EVENT and now - self._last_event[key] < policy.clear_seconds:
                continue
            changes.append(self._clear(key, now))
        for key in [key for key in self._holding_since if key[0] == rule and key[1] not in found]:
            del self._holding_since[key]
        return changes

    def active(self) -> list[Alert]:
        """The alerts firing now, oldest first."""
        return sorted(self._active.values(), key=lambda alert: alert.id)

    def recent(self) -> list[Alert]:
        """The last cleared alerts, most recently cleared first."""
        return list(reversed(self._recent))

    def _fire(self, policy: Policy, subject: str, detail: str, since: float, now: float) -> Change:
        key = (policy.rule, subject)
        self._holding_since.pop(key, None)
        last = self._last_notified.get(key)
        notified = last is None or now - last >= policy.repeat_seconds
        if notified:
            self._last_notified[key] = now
        else:
            self.suppressed += 1
        alert = Alert(self._next_id, policy.rule, policy.condition, subject, detail, since, now, None, notified)
        self._next_id += 1
        self._active[key] = alert
        return Change("fired", alert)

    def _clear(self, key: tuple[str, str], now: float) -> Change:
        alert = dataclasses.replace(self._active.pop(key), cleared_at=now)
        self._last_event.pop(key, None)
        self._recent.append(alert)
        return Change("cleared", alert)


def drawdown(values: Iterable[Decimal]) -> tuple[Decimal, Decimal, Decimal] | None:
    """(peak, last, drawdown) of an equity series, oldest first: the fall of the last value from the
    highest before it, as a fraction of that peak (0 at a new peak). None for an empty series or one
    that never rose above 0 (no fraction of nothing)."""
    peak: Decimal | None = None
    last: Decimal | None = None
    for value in values:
        last = value
        peak = value if peak is None or value > peak else peak
    if peak is None or last is None or peak <= 0:
        return None
    return peak, last, (peak - last) / peak
