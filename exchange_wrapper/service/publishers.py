"""The notifications that no request causes: book tops, exchange status, log lines.

``books`` and ``status`` are read off the service every :data:`INTERVAL` seconds and published
when they changed, in the shapes ``get_pricing`` and ``get_exchanges`` return (one item each); that
is also their throttle. ``logs`` carries the records of the ``exchange_wrapper`` loggers at INFO and
above (as far as the log level lets them through). Trading publishes ``orders``, ``fills`` and
``wallets`` itself.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from ..contract import ExchangeState, Pricing
from .api import ExchangeWrapper
from .events import EventBus

log = logging.getLogger(__name__)

INTERVAL = 0.25
LOGGER = "exchange_wrapper"


class Publishers:
    """``stop()`` ends them; :func:`start_publishers` starts them."""

    def __init__(self, api: ExchangeWrapper, bus: EventBus, interval: float = INTERVAL):
        self.api, self.bus, self.interval = api, bus, interval
        self.books: dict[tuple[str, str], Pricing] = {}
        self.status: dict[str, ExchangeState] = {}
        self.log_handler = LogPublisher(bus, asyncio.get_running_loop())
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        logging.getLogger(LOGGER).addHandler(self.log_handler)
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        logging.getLogger(LOGGER).removeHandler(self.log_handler)
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.publish_changes()
            except Exception:  # one bad round must not end the notifications
                log.exception("publishing book tops and exchange status failed")
            await asyncio.sleep(self.interval)

    async def publish_changes(self) -> None:
        """Publish each book top and exchange status that differs from the last one published."""
        for top in await self.api.get_pricing():
            key = (top["exchange"], top["pair"])
            if self.books.get(key) != top:
                self.books[key] = top
                self.bus.publish("books", top)
        for exchange, status in (await self.api.get_exchanges()).items():
            if self.status.get(exchange) != status:
                self.status[exchange] = status
                self.bus.publish("status", {"exchange": exchange, **status})


class LogPublisher(logging.Handler):
    """Publishes log records as ``logs`` notifications ``{time, level, logger, message}`` (with
    ``exception``: its type and text, when the record has one). Records from other threads are
    handed to the loop; nothing a publish logs comes back round."""

    def __init__(self, bus: EventBus, loop: asyncio.AbstractEventLoop):
        super().__init__(logging.INFO)
        self.bus, self.loop = bus, loop
        self._publishing = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._publishing, "active", False):
            return
        self._publishing.active = True
        try:
            line = {
                "time": record.created,
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
            if record.exc_info and record.exc_info[1] is not None:
                line["exception"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
            if _loop_of_this_thread() is self.loop:
                self.bus.publish("logs", line)
            elif not self.loop.is_closed():
                self.loop.call_soon_threadsafe(self.bus.publish, "logs", line)
        except Exception:
            self.handleError(record)
        finally:
            self._publishing.active = False


def _loop_of_this_thread() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def start_publishers(api: ExchangeWrapper, bus: EventBus) -> Publishers:
    """Start publishing books, status and logs onto ``bus``; call on the service's loop."""
    publishers = Publishers(api, bus)
    publishers.start()
    return publishers
