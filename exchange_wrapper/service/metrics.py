"""Prometheus metrics of one service instance (its own registry: tests run several services).

Requests are observed by the doors as they answer; orders, fills, market data and market history
are read from the trading service, the hub and the history writer when Prometheus scrapes, so the
hot paths pay nothing for them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as CounterMetric
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..alerts.runner import AlertRunner
from ..cluster.node import ClusterNode
from ..core.marketdata import FeedStatus
from ..history.writer import HistoryWriter
from ..marketdata.hub import COUNTERS, MarketDataHub

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """``observe(door, method, outcome, seconds)`` for every answered request; :meth:`render`
    for ``GET /metrics``. ``outcome`` is ``ok`` or the error kind."""

    def __init__(
        self,
        hub: MarketDataHub,
        trading: Any,
        history: HistoryWriter | None = None,
        alerts: AlertRunner | None = None,
        *,
        clock: Callable[[], float] = time.time,
        cluster: ClusterNode | None = None,
    ):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = CounterMetric(
            "xwrap_requests",
            "API requests answered, by door, method and outcome",
            ["door", "method", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "xwrap_request_seconds",
            "Time to answer an API request",
            ["door", "method"],
            registry=self.registry,
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.disconnects = CounterMetric(
            "xwrap_disconnects",
            "Websocket and Socket.IO connections the service "
            "closed, by door and reason (too_slow: its client left what it was sent "
            "unread for server.send_timeout_seconds)",
            ["door", "reason"],
            registry=self.registry,
        )
        self.registry.register(_StateCollector(hub, trading, clock))
        if history is not None:  # none with timeseries.backend none: nothing is collected
            self.registry.register(_HistoryCollector(history))
        if alerts is not None:
            self.registry.register(_AlertsCollector(alerts))
        if cluster is not None:
            self.registry.register(_ClusterCollector(cluster))

    def observe(self, door: str, method: str, outcome: str, seconds: float) -> None:
        self.requests.labels(door, method, outcome).inc()
        self.latency.labels(door, method).observe(seconds)

    def disconnected(self, door: str, reason: str) -> None:
        self.disconnects.labels(door, reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Reads the hub's counters and the trading service's orders at scrape time."""

    def __init__(self, hub: MarketDataHub, trading: Any, clock: Callable[[], float]):
        self.hub, self.trading, self.clock = hub, trading, clock

    def collect(self) -> Iterator[Any]:
        market = {
            name: CounterMetricFamily(
                f"xwrap_market_{name}", f"Market data: {name.replace('_', ' ')}", labels=["exchange"]
            )
            for name in COUNTERS
        }
        checksums = CounterMetricFamily(
            "xwrap_book_checksums", "Book checksums checked, by result", labels=["exchange", "result"]
        )
        status = GaugeMetricFamily(
            "xwrap_exchange_up", "1 when the exchange's market data is ready", labels=["exchange"]
        )
        statuses = GaugeMetricFamily(
            "xwrap_exchange_status",
            "1 for the exchange's market-data status now (connecting, ready, degraded, down, finished)",
            labels=["exchange", "status"],
        )
        not_live = GaugeMetricFamily("xwrap_books_not_live", "Followed books not live now", labels=["exchange"])
        rest_paused = GaugeMetricFamily(
            "xwrap_rest_paused_seconds",
            "Seconds the exchange's REST calls (market data, or its account) still wait after a 429/418",
            labels=["exchange"],
        )
        now = self.clock()
        for exchange in self.hub.started_exchanges():
            current, _ = self.hub.status(exchange, now)
            for known in FeedStatus:
                statuses.add_metric([exchange, known.value], 1 if known is current else 0)
            not_live.add_metric([exchange], sum(1 for _, book in self.hub.books(exchange) if not book.live))
            rest_paused.add_metric([exchange], self.hub.rest_pause_left(exchange, now))
            counts = self.hub.counters(exchange)
            for name in COUNTERS:
                market[name].add_metric([exchange], counts[name])
            checksums.add_metric([exchange, "verified"], counts["checksums_verified"])
            checksums.add_metric([exchange, "failed"], counts["checksums_failed"])
            status.add_metric([exchange], 1 if self.hub.connection(exchange) is FeedStatus.READY else 0)
        yield from market.values()
        yield checksums
        yield status
        yield statuses
        yield not_live
        yield rest_paused
        orders = GaugeMetricFamily("xwrap_open_orders", "Open orders, by state", labels=["state"])
        states = Counter(order.status.value for order in self.trading.open.values())
        for state in ("pending", "open", "partially_filled"):
            orders.add_metric([state], states[state])
        yield orders
        fills = CounterMetricFamily("xwrap_fills", "Fills recorded since start, by liquidity", labels=["liquidity"])
        for liquidity in ("maker", "taker"):
            fills.add_metric([liquidity], self.trading.fill_counts[liquidity])
        yield fills
        transitions = CounterMetricFamily(
            "xwrap_order_transitions", "Order status changes since start, by the status reached", labels=["status"]
        )
        for status, count in sorted(self.trading.transition_counts.items()):
            transitions.add_metric([status], count)
        yield transitions
        rejected = CounterMetricFamily(
            "xwrap_orders_rejected",
            "Orders the venue rejected since start, by exchange and the wallet set's mode "
            "(live: the real exchange; paper: the virtual one)",
            labels=["exchange", "mode"],
        )
        for (exchange, mode), count in sorted(self.trading.rejections.items()):
            rejected.add_metric([exchange, mode], count)
        yield rejected
        paused = GaugeMetricFamily(
            "xwrap_account_paused_seconds",
            "Seconds every call to a live exchange account still waits after a 429/418",
            labels=["exchange"],
        )
        differences = CounterMetricFamily(
            "xwrap_account_differences",
            "Differences the reconciliations of a live exchange account found (and reported)",
            labels=["exchange"],
        )
        skipped = CounterMetricFamily(
            "xwrap_account_reconciliations_skipped",
            "Reconciliations of a live exchange account put off while an order request's effects were unresolved",
            labels=["exchange"],
        )
        for exchange, account in sorted(getattr(self.trading, "accounts", {}).items()):  # none in paper-only fakes
            paused.add_metric([exchange], account.pause_left())
            differences.add_metric([exchange], account.difference_count)
            skipped.add_metric([exchange], account.reconciliations_skipped)
        yield paused
        yield differences
        yield skipped


class _HistoryCollector(Collector):
    """Reads the history writer's counters at scrape time."""

    def __init__(self, writer: HistoryWriter):
        self.writer = writer

    def collect(self) -> Iterator[Any]:
        counts = self.writer.counts
        records = CounterMetricFamily(
            "xwrap_history_records",
            "Market history records (trades, candles, book tops) stored anew, or dropped: queue_full when "
            "the writer's queue was full (timeseries.queue_size), sink_error when the store failed to write them",
            labels=["outcome"],
        )
        records.add_metric(["written"], counts["written"])
        records.add_metric(["queue_full"], counts["dropped_queue_full"])
        records.add_metric(["sink_error"], counts["dropped_sink_error"])
        yield records
        yield CounterMetricFamily(
            "xwrap_history_sink_errors", "Writes the market history store failed", value=counts["sink_errors"]
        )
        yield CounterMetricFamily(
            "xwrap_history_candles_corrected",
            "1-minute candles xWrap built from the trades it saw that the exchange's own candle replaced "
            "with other values",
            value=counts["candles_corrected"],
        )
        yield GaugeMetricFamily(
            "xwrap_history_queued", "Market history records waiting for the writer", value=self.writer.queued()
        )


class _AlertsCollector(Collector):
    """Reads the alerts' episodes, deliveries, the equity peaks and the last ledger verification."""

    def __init__(self, alerts: AlertRunner):
        self.alerts = alerts

    def collect(self) -> Iterator[Any]:
        active = GaugeMetricFamily("xwrap_alerts_active", "Alerts firing now, by rule", labels=["rule"])
        firing = Counter(alert.rule for alert in self.alerts.episodes.active())
        for rule in self.alerts.rules:
            active.add_metric([rule], firing[rule])
        yield active
        yield CounterMetricFamily(
            "xwrap_alerts_suppressed",
            "Alert firings not sent: their rule's repeat_seconds had not passed since the last one sent",
            value=self.alerts.episodes.suppressed,
        )
        deliveries = CounterMetricFamily(
            "xwrap_alert_deliveries",
            "Alert actions run, by rule, action type and outcome (delivered; failed: after every retry)",
            labels=["rule", "action", "outcome"],
        )
        for (rule, action, outcome), count in sorted(self.alerts.deliveries.counts.items()):
            deliveries.add_metric([rule, action, outcome], count)
        yield deliveries
        drawdown = GaugeMetricFamily(
            "xwrap_wallet_set_drawdown",
            "A wallet set's equity below its peak in the equity history, as a fraction of the peak",
            labels=["wallet_set_id"],
        )
        conditions = self.alerts.conditions
        for wallet_set_id, peak in sorted(conditions.peaks.items()):
            drawdown.add_metric([str(wallet_set_id)], float(peak.drawdown))
        yield drawdown
        if conditions.ledger is not None and conditions.ledger_verified_at is not None:
            yield GaugeMetricFamily(
                "xwrap_ledger_differences",
                "Differences the last scheduled ledger verification found (0: the ledger verifies)",
                value=len(conditions.ledger.differences),
            )
            yield GaugeMetricFamily(
                "xwrap_ledger_verified_timestamp_seconds",
                "When the ledger was last verified on schedule",
                value=conditions.ledger_verified_at,
            )


class _ClusterCollector(Collector):
    """Which node runs which exchange, and how long its lease has left, at scrape time."""

    def __init__(self, node: ClusterNode):
        self.node = node

    def collect(self) -> Iterator[Any]:
        left = GaugeMetricFamily(
            "xwrap_lease_seconds_left",
            "Seconds an exchange's lease has left unrenewed, by exchange and the node holding it (none: free)",
            labels=["exchange", "owner"],
        )
        here = GaugeMetricFamily(
            "xwrap_lease_held", "1 for each exchange this node runs (holds the lease of), else 0", labels=["exchange"]
        )
        for exchange, (owner, _epoch, seconds) in self.node.keeper.state().items():
            left.add_metric([exchange, owner or "none"], seconds)
            here.add_metric([exchange], 1 if owner == self.node.name else 0)
        yield left
        yield here
        forwarder = self.node.forwarder
        forwarded = CounterMetricFamily(
            "xwrap_forwarded_requests",
            "Order requests sent to the node running their exchange (sent), or answered for another node (answered)",
            labels=["direction"],
        )
        forwarded.add_metric(["sent"], forwarder.forwarded if forwarder else 0)
        forwarded.add_metric(["answered"], forwarder.answered if forwarder else 0)
        yield forwarded
