"""Runs the service: the database, market history, market data (feeds or a replay), trading, every door on one port."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from ..alerts.conditions import Conditions
from ..alerts.runner import AlertRunner, ledger_verifier
from ..cluster.node import ClusterNode
from ..config import Settings, tls_context
from ..connectors.account import open_accounts
from ..connectors.feed import ExchangeFeed, start_feeds
from ..core.errors import ConfigError, InvalidParameter
from ..core.exchanges import EXCHANGE_NAMES
from ..history.backends import open_sink
from ..history.backfill import backfill_followed
from ..history.collector import Collector
from ..history.equity import EquitySampler
from ..history.reader import History
from ..history.recording import Recording, feed_traffic, open_recording
from ..history.writer import HistoryWriter
from ..marketdata.hub import MarketDataHub
from ..replay.capture import RestResponse, WsOpened, read_capture
from ..replay.playback import PLAY_ALL, Playback, PlaybackOptions
from ..replay.source import Replay
from ..storage.database import close_database, describe_url, open_database
from ..storage.orders import OrderStore
from ..storage.wallets import WalletStore
from ..storage.worker import DatabaseThread
from ..trading.order_path import Trading
from .api import ExchangeWrapper
from .auth import Authenticator
from .events import EventBus
from .health import Health
from .http import create_app
from .metrics import Metrics
from .publishers import start_publishers
from .rpc import install_rpc
from .socketio import install_socketio

log = logging.getLogger(__name__)

#: Libraries whose DEBUG lines are the wire itself: websockets' frames and handshake headers (an
#: exchange's log-in with its key and signature; a door's Socket.IO token, where sanic keeps its logger
#: at WARNING) and urllib3's request lines (a signed query string). From INFO up they say what happens
#: to connections.
WIRE_LOGGERS = ("websockets.client", "sanic.websockets", "urllib3")

#: The longest a played replay keeps the first requests waiting for its books to go live.
REPLAY_READY_TIMEOUT = 30.0


class Server:
    """The running service. ``await start()``, then ``await stop()``; ``port`` is the bound port.

    With ``replay`` (capture files) the market data comes from the recordings, played at
    ``speed`` times the recorded pace (``math.inf``: as fast as possible) as ``playback`` says
    (window, loop, recorded clock, stepping: :class:`~..replay.playback.Playback`), instead of the
    exchanges; the port is bound at once but requests are answered only once the replayed books
    are live (they wait in the socket's backlog, at most :data:`REPLAY_READY_TIMEOUT` seconds), so
    that a script started with the service finds them live (a stepped playback answers at once).
    With ``speed`` None they are not played, and the caller steps them (:attr:`replays`). A replay's
    paper latencies are drawn from ``playback.seed``. :attr:`clock` is the service's time: the
    playback's recorded clock, or the wall's.
    Exchanges in live mode get a live account (not with a replay); ``account_options`` go to each
    (tests inject clocks and intervals).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        replay: Sequence[str] = (),
        speed: float | None = 1.0,
        playback: PlaybackOptions = PLAY_ALL,
        feed_options: dict[str, Any] | None = None,
        account_options: dict[str, Any] | None = None,
    ):
        self.settings = settings
        self.replay_files, self.speed, self.playback_options = list(replay), speed, playback
        self.clock: Callable[[], float] = time.time
        self.playback: Playback | None = None
        self.feed_options = feed_options or {}
        self.account_options = account_options or {}
        self.database: Any = None
        self.hub = MarketDataHub()
        self.bus = EventBus()
        self.feeds: dict[str, Any] = {}
        self.replays: list[Replay] = []
        self.recording: Recording | None = None
        self.history: History | None = None
        self.history_writer: HistoryWriter | None = None
        self.collector: Collector | None = None
        self.equity: EquitySampler | None = None
        self.trading: Trading | None = None
        self.database_thread: DatabaseThread | None = None
        self.api: ExchangeWrapper | None = None
        self.metrics: Metrics | None = None
        self.alerts: AlertRunner | None = None
        self.cluster: ClusterNode | None = None
        self._tasks: list[asyncio.Task] = []
        self._server: Any = None
        self.publishers: Any = None
        self.port: int | None = None

    async def start(self) -> None:
        quiet_wire_loggers()
        options = self.playback_options
        if self.replay_files and self.settings.cluster.node:
            raise ConfigError(
                "cluster.node", "empty with --replay (a replay runs on one node)", self.settings.cluster.node
            )
        if self.replay_files:  # first: a capture or a window refused leaves nothing open
            self.replays = [
                Replay(exchange, files, self.hub) for exchange, files in replay_groups(self.replay_files).items()
            ]
            if self.speed is not None:
                self.playback = Playback(
                    self.replays,
                    speed=self.speed,
                    start=options.start,
                    end=options.end,
                    loop=options.loop,
                    recorded_clock=options.recorded_clock,
                    steps=options.steps,
                )
                self.clock = self.playback.clock or time.time
        self.database = open_database(self.settings.database_url)
        if self.settings.cluster.node:  # the exchanges run where their leases are (docs/scaling.md)
            self.cluster = ClusterNode(
                self.settings, self.database, self.hub, self.bus.publish, feed_options=self.feed_options
            )
        cluster = self.cluster
        await self._start_history()
        wallets = WalletStore(self.database)
        accounts = {} if self.replay_files else open_accounts(self.settings, self.hub, **self.account_options)
        self.database_thread = DatabaseThread()
        self.trading = Trading(
            self.settings,
            self.hub,
            wallets,
            OrderStore(self.database, wallets, fence=cluster.fence if cluster else None),
            self.database_thread,
            publish=cluster.publish if cluster else self.bus.publish,
            clock=self.clock,
            accounts=accounts,
        )
        if self.replay_files:
            self.trading.paper_venue.seed_latency(options.seed)
            if self.playback is not None:
                self._tasks = [asyncio.create_task(self.playback.play())]
        elif cluster is None:  # a cluster node starts an exchange's feed as it takes its lease
            if self.settings.recording.enabled:  # every feed's public traffic, in a new folder of recording.directory
                self.recording = open_recording(self.settings.recording)
            traffic = feed_traffic(self.recording, self.settings) if self.recording else None
            self.feeds = start_feeds(self.settings, self.hub, traffic=traffic, **self.feed_options)
            if self.history_writer is not None and self.history is not None and self.history.sink is not None:
                # the exchanges' own candles of the last timeseries.backfill_hours: they win over built ones
                backfill = backfill_followed(
                    {name: feed for name, feed in self.feeds.items() if isinstance(feed, ExchangeFeed)},
                    self.history.sink,
                    self.settings.timeseries.backfill_hours,
                    time.time,
                    on_write=self.history_writer.count,
                )
                self._tasks.append(asyncio.create_task(backfill))
        await self.trading.start(reload=cluster is None)
        self._start_equity()
        conditions = Conditions(
            self.settings,
            self._exchange_states,
            self.hub,
            self.trading,
            writer=self.history_writer,
            history=self.history,
            verify=ledger_verifier(self.settings, self.database),
        )
        self.alerts = AlertRunner(self.settings, conditions, publish=self.bus.publish, clock=self.clock)
        self.api = ExchangeWrapper(
            self.settings,
            self.database,
            self.hub,
            self.trading,
            history=self.history,
            playback=self.playback,
            alerts=self.alerts,
            clock=self.clock,
            cluster=cluster,
        )
        if cluster is not None:
            await cluster.start(self.trading, self.api.call)
        self.metrics = metrics = Metrics(
            self.hub, self.trading, self.history_writer, self.alerts, clock=self.clock, cluster=cluster
        )
        auth = Authenticator(list(self.settings.tokens))  # the three doors share it, as they share the metrics and bus
        health = Health(self.api, self.exchanges_run)
        app = create_app(self.api, auth=auth, metrics=metrics, bus=self.bus, health=health)
        install_rpc(app, self.api, auth=auth, metrics=metrics, bus=self.bus, settings=self.settings)
        install_socketio(app, self.api, auth=auth, metrics=metrics, bus=self.bus, settings=self.settings)
        self.publishers = start_publishers(self.api, self.bus)
        self.alerts.start()
        server = self.settings.server
        # IPPROTO_TCP spelt out: asyncio sets TCP_NODELAY only on sockets that say so (else small
        # websocket messages wait ~40 ms for delayed ACKs)
        sock = socket.socket(
            socket.AF_INET6 if ":" in server.host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((server.host, server.port))
        sock.listen(1024)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        if self.playback is not None and not options.steps:
            await self._replays_ready()
        self._server = await app.create_server(sock=sock, ssl=tls_context(server), access_log=False)
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        log.info(
            "xWrap listening on %s://%s:%s (database %s)",
            "https" if server.tls_certificate else "http",
            server.host,
            self.port,
            describe_url(self.settings.database_url),
        )

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.before_stop()
            await self._server.close()
            await self._server.after_stop()
            self._server = None
        if self.publishers is not None:
            await self.publishers.stop()
            self.publishers = None
        if self.alerts is not None:
            await self.alerts.stop()
            self.alerts = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.cluster is not None:  # its leases given up, its feeds stopped
            await self.cluster.stop()
            self.cluster = None
        await asyncio.gather(*(feed.stop() for feed in self.feeds.values()), return_exceptions=True)
        self.feeds, self._tasks = {}, []
        if self.recording is not None:
            await self.recording.aclose()
            self.recording = None
        await self._stop_history()
        if self.trading is not None:
            await self.trading.stop()
            self.trading = None
        if self.database_thread is not None:
            await self.database_thread.close()
            self.database_thread = None
        if self.database is not None:
            close_database(self.database)
            self.database = None

    def exchanges_run(self) -> list[str]:
        """The exchanges this node runs: those replayed, else those whose feeds it started (a cluster
        node: those whose leases it holds)."""
        if self.replays:
            return [replay.exchange for replay in self.replays]
        return sorted(self.cluster.feeds if self.cluster is not None else self.feeds)

    async def _start_history(self) -> None:
        """The store of ``timeseries.backend``, its reader (:attr:`history`, what the API reads) and,
        unless the backend is none, its writer and the collector on the hub, subscribed before any
        market data arrives; the collector's time is the service's clock."""
        timeseries = self.settings.timeseries
        sink = open_sink(self.settings, self.database)
        self.history = History(sink, timeseries.backend)
        if sink is None:
            return
        self.history_writer = HistoryWriter(sink, queue_size=timeseries.queue_size)
        await self.history_writer.start()
        self.collector = Collector(
            self.hub,
            self.history_writer,
            book_top_seconds=timeseries.book_top_seconds,
            clock=self.clock,
            collects=self.cluster.keeper.owns if self.cluster else lambda exchange: True,
        )
        recorded = self.playback.clock if self.playback is not None else None
        if recorded is not None:  # a backtest: sampled at recorded moments, however fast it plays
            recorded.watch(self.collector.follow)
        self.collector.start(timer=recorded is None)

    def _start_equity(self) -> None:
        """With a history store: every wallet set's equity sampled each minute of the service's clock
        (a replay's recorded one as it moves on), docs/accounting.md."""
        if self.history_writer is None:
            return
        self.equity = EquitySampler(
            self.hub,
            self.history_writer,
            self._every_balance,
            clock=self.clock,
            samples=self.cluster.leads if self.cluster else lambda: True,
        )
        recorded = self.playback.clock if self.playback is not None else None
        if recorded is not None:
            recorded.watch(self.equity.follow)
        self.equity.start(timer=recorded is None)

    async def _exchange_states(self) -> dict[str, Any]:
        """The exchanges' states as get_exchanges answers them: what the alerts about exchanges watch."""
        assert self.api is not None  # the alerts start after the API
        return dict(await self.api.get_exchanges())

    async def _every_balance(self) -> dict[int, list[tuple[str, Decimal]]]:
        """Every wallet set's balances (holds included) by currency: what its equity values."""
        trading = self.trading
        assert trading is not None  # sampled only while trading runs

        def read() -> dict[int, list[tuple[str, Decimal]]]:
            wallets = trading.wallets
            return {
                info.id: [(b.currency, b.balance) for b in wallets.balances(info.id) if b.balance]
                for info in wallets.wallet_sets()
            }

        return await trading.db(read)

    async def _stop_history(self) -> None:
        """Once the market data has stopped: the equity sampler and the collector, then the writer
        (what is queued is written), then the reader; all before the database closes."""
        if self.equity is not None:
            await self.equity.stop()
            self.equity = None
        if self.collector is not None:
            await self.collector.stop()
            self.collector = None
        if self.history_writer is not None:
            await self.history_writer.stop()
            self.history_writer = None
        if self.history is not None:
            await self.history.close()
            self.history = None

    async def _replays_ready(self) -> None:
        log.info(
            "waiting for the replayed books to go live before answering requests (at most %g s)", REPLAY_READY_TIMEOUT
        )
        try:
            assert self.playback is not None  # only a played replay is waited for
            await asyncio.wait_for(self.playback.ready.wait(), REPLAY_READY_TIMEOUT)
        except TimeoutError:
            log.warning(
                "the replayed books are not all live after %g s; answering requests anyway", REPLAY_READY_TIMEOUT
            )


def quiet_wire_loggers() -> None:
    """Keep secrets out of the logs at every ``log_level``: the :data:`WIRE_LOGGERS` log from INFO up
    (or from the higher level they have)."""
    for name in WIRE_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.INFO))


def replay_groups(files: Sequence[str]) -> dict[str, list[str]]:
    """Capture files grouped by the exchange whose traffic they hold (read off the URLs inside,
    else the file name, e.g. ``COINBASE.ws.28.0``)."""
    groups: dict[str, list[str]] = {}
    for path in files:
        exchange = _exchange_of(path)
        groups.setdefault(exchange, []).append(path)
    return groups


def _exchange_of(path: str) -> str:
    name = os.path.basename(path).lower()
    for exchange in EXCHANGE_NAMES:
        if name.startswith(exchange):
            return exchange
    for record in read_capture(path):
        if isinstance(record, (RestResponse, WsOpened)):
            for exchange in EXCHANGE_NAMES:
                if exchange in record.url:
                    return exchange
            break
    names = ", ".join(EXCHANGE_NAMES[:-1]) + f" or {EXCHANGE_NAMES[-1]}"
    raise InvalidParameter("--replay", f"capture files of {names}", path)


async def serve(
    settings: Settings, *, replay: Sequence[str] = (), speed: float = 1.0, playback: PlaybackOptions = PLAY_ALL
) -> None:
    """Run until SIGINT or SIGTERM."""
    server = Server(settings, replay=replay, speed=speed, playback=playback)
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        log.info("xWrap stopping")
        await server.stop()
