"""What each alert condition finds in the service at a moment: subject -> detail.

States (:data:`STATES`) give the subjects for which the condition holds now; the others are events
and give the subjects with new events since the rule's last look (counters that grew: each rule keeps
its own last values, so that two rules on one counter both see its growth).
:class:`~..core.alerting.Episodes` makes episodes of the findings.

The equity peaks (drawdown) and the ledger's verification are read here on a schedule of their own
(:meth:`Conditions.refresh_equity`, :meth:`Conditions.verify_ledger`): the conditions look at their
last results.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..config import AlertRule, Settings
from ..core.alerting import Kind, drawdown
from ..core.marketdata import FeedStatus
from ..history.reader import History
from ..history.writer import HistoryWriter
from ..marketdata.hub import MarketDataHub
from ..storage.verify import LedgerReport

log = logging.getLogger(__name__)

#: The conditions that are states; the others are events (core/alerting.py).
STATES = frozenset({"exchange_unhealthy", "book_not_live", "rate_limited", "drawdown", "ledger_verify_failed"})
#: Statuses of an unhealthy exchange.
UNHEALTHY = ("down", "degraded")
#: The most equity samples read at once.
PAGE = 1000

Exchanges = Callable[[], Awaitable[Mapping[str, Mapping[str, Any]]]]
"""The exchanges' states as get_exchanges answers them (status and reason folded with the account's)."""


def kind_of(condition: str) -> Kind:
    return Kind.STATE if condition in STATES else Kind.EVENT


@dataclass
class Peak:
    """A wallet set's equity: its highest sample, its last one and that one's time."""

    peak: Decimal
    last: Decimal
    at: float

    @property
    def drawdown(self) -> Decimal:
        found = drawdown((self.peak, self.last))
        return Decimal(0) if found is None else found[2]


class Conditions:
    """The findings of every condition. Collaborators: ``exchanges`` (the API's answer), the hub,
    trading (its live accounts, rejections, wallet sets, database thread), the history writer and
    reader (None without a history store: no drops, no drawdown) and ``verify`` (the ledger's
    verification, run by :meth:`verify_ledger`)."""

    def __init__(
        self,
        settings: Settings,
        exchanges: Exchanges,
        hub: MarketDataHub,
        trading: Any,
        *,
        writer: HistoryWriter | None = None,
        history: History | None = None,
        verify: Callable[[], Awaitable[LedgerReport]] | None = None,
    ):
        self.settings, self.exchanges, self.hub, self.trading = settings, exchanges, hub, trading
        self.writer, self.history, self.verify = writer, history, verify
        self.peaks: dict[int, Peak] = {}
        self.ledger: LedgerReport | None = None  # the last verification
        self.ledger_verified_at: float | None = None
        self._counted: dict[tuple[str, str], int] = {}  # (rule, subject) -> the counter at its last look

    async def find(self, rule: AlertRule, now: float) -> dict[str, str]:
        """What ``rule``'s condition finds at ``now``."""
        found: dict[str, str] = await getattr(self, "_" + rule.condition)(rule, now)
        return found

    # -- states -----------------------------------------------------------------------------------

    async def _exchange_unhealthy(self, rule: AlertRule, now: float) -> dict[str, str]:
        return {
            name: f"{state['status']}: {state['reason']}"
            for name, state in (await self.exchanges()).items()
            if _matches(rule, name) and state["status"] in UNHEALTHY
        }

    async def _book_not_live(self, rule: AlertRule, now: float) -> dict[str, str]:
        found = {}
        for exchange in self.hub.started_exchanges():
            if not _matches(rule, exchange) or self.hub.connection(exchange) is FeedStatus.FINISHED:
                continue  # a replay's recording is over: its books are stale for good, not at fault
            for pair, book in self.hub.books(exchange):
                if not book.live:
                    reason = f" ({book.stale_reason})" if book.stale_reason else ""
                    found[f"{exchange} {pair}"] = f"{book.state.value}{reason}"
        return found

    async def _rate_limited(self, rule: AlertRule, now: float) -> dict[str, str]:
        found = {}
        accounts = self.trading.accounts
        for exchange in sorted(set(self.hub.started_exchanges()) | set(accounts)):
            if not _matches(rule, exchange):
                continue
            account = accounts.get(exchange)
            left = account.pause_left() if account is not None else 0.0  # on the exchange's clock
            if self.hub.started(exchange):  # the market data's REST calls (the account's pauses tell the hub too)
                left = max(left, self.hub.rest_pause_left(exchange, now))
            if left > 0:
                found[exchange] = f"calls paused for {left:.1f} s after a rate-limit answer (HTTP 429/418)"
        return found

    async def _drawdown(self, rule: AlertRule, now: float) -> dict[str, str]:
        assert rule.limit is not None  # the settings require it
        return {
            f"wallet set {wallet_set_id}": f"{peak.drawdown:.2%} below its peak {peak.peak} USD (now {peak.last} USD)"
            for wallet_set_id, peak in self.peaks.items()
            if rule.wallet_set_id in (0, wallet_set_id) and peak.drawdown >= rule.limit
        }

    async def _ledger_verify_failed(self, rule: AlertRule, now: float) -> dict[str, str]:
        if self.ledger is None or self.ledger.ok:
            return {}
        return {"ledger": self.ledger.summary()}

    # -- events -----------------------------------------------------------------------------------

    async def _reconciliation_differences(self, rule: AlertRule, now: float) -> dict[str, str]:
        counts = {
            exchange: account.difference_count
            for exchange, account in self.trading.accounts.items()
            if _matches(rule, exchange)
        }
        return {
            exchange: f"{grown} difference(s) between the exchange's balances and the ledger"
            for exchange, grown in self._grown(rule, counts).items()
        }

    async def _order_rejected(self, rule: AlertRule, now: float) -> dict[str, str]:
        counts: dict[str, int] = {}
        for (exchange, mode), count in self.trading.rejections.items():
            if _matches(rule, exchange) and rule.mode in ("any", mode):
                counts[exchange] = counts.get(exchange, 0) + count
        return {
            exchange: f"{grown} order(s) rejected; the last: {self.trading.last_rejection.get(exchange, '')}"
            for exchange, grown in self._grown(rule, counts).items()
        }

    async def _history_dropped(self, rule: AlertRule, now: float) -> dict[str, str]:
        if self.writer is None:
            return {}
        counts = self.writer.counts
        grown = self._grown(rule, {"history": counts["dropped_queue_full"] + counts["dropped_sink_error"]})
        return {
            subject: f"{count} market history record(s) dropped (queue full or the store failing)"
            for subject, count in grown.items()
        }

    def _grown(self, rule: AlertRule, counts: Mapping[str, int]) -> dict[str, int]:
        """By how much each counter grew since the rule's last look (the first look: from 0)."""
        grown = {}
        for subject, count in counts.items():
            key = (rule.name, subject)
            if count > self._counted.get(key, 0):
                grown[subject] = count - self._counted.get(key, 0)
            self._counted[key] = count
        return grown

    # -- on their own schedules -------------------------------------------------------------------

    async def refresh_equity(self, now: float) -> None:
        """Read the equity samples stored since the last refresh (all of them, the first time), keeping
        each open wallet set's peak and last value."""
        if self.history is None or self.history.sink is None:
            return
        sets = await self.trading.db(self.trading.wallets.wallet_sets)
        open_ids = {info.id for info in sets if info.closed_at is None}
        for gone in set(self.peaks) - open_ids:
            del self.peaks[gone]
        for wallet_set_id in open_ids:
            known = self.peaks.get(wallet_set_id)
            start: float | None = 0.0 if known is None else known.at + 1
            while start is not None:
                page = await self.history.equity(wallet_set_id, 60, start, now + 1, PAGE)
                for sample in page.items:
                    peak = self.peaks.get(wallet_set_id)
                    if peak is None:
                        self.peaks[wallet_set_id] = Peak(sample.value, sample.value, sample.time)
                    else:
                        peak.peak, peak.last, peak.at = max(peak.peak, sample.value), sample.value, sample.time
                start = page.next if len(page.items) == PAGE else None

    async def verify_ledger(self, now: float) -> LedgerReport | None:
        """Run the ledger's verification (``xwrap ledger verify``); its report is what
        ledger_verify_failed looks at until the next run. A verification that cannot run is logged."""
        if self.verify is None:
            return None
        try:
            self.ledger = await self.verify()
        except Exception as exc:
            log.error("the ledger's scheduled verification could not run: %s", type(exc).__name__)
            return None
        self.ledger_verified_at = now
        if not self.ledger.ok:
            log.error("the ledger's scheduled verification failed: %s", self.ledger.summary())
        return self.ledger


def _matches(rule: AlertRule, exchange: str) -> bool:
    return not rule.exchange or rule.exchange == exchange
