"""Books, status and logs published onto the service's bus: each change once, log lines from any thread."""

import asyncio
import logging
import threading
import unittest

from exchange_wrapper.core.marketdata import FeedStatus
from exchange_wrapper.service.events import EventBus
from exchange_wrapper.service.publishers import LogPublisher

from .recorded import SKL
from .running import RunningService


def drain(subscription):
    items = list(subscription.queue)
    subscription.queue.clear()
    return items


class ChangesTest(RunningService):
    async def test_book_tops_and_status_are_published_when_they_change_only(self):
        publishers = self.server.publishers
        heard = self.server.bus.subscribe({"books", "status"})
        self.addCleanup(heard.close)
        await publishers.publish_changes()  # what changed since the last round
        drain(heard)
        await publishers.publish_changes()
        self.assertEqual(drain(heard), [])  # the books stand still while the replay does
        before = {
            pair: (k.book.bids.best, k.book.asks.best)
            for pair, k in self.server.hub.exchanges["coinbase"].keepers.items()
        }
        self.step_until(lambda: (self.book.bids.best, self.book.asks.best) != before[SKL])
        self.server.hub.set_connection("coinbase", FeedStatus.DOWN, "unplugged for the test")
        await publishers.publish_changes()
        items = drain(heard)
        moved = {
            str(pair)
            for pair, k in self.server.hub.exchanges["coinbase"].keepers.items()
            if (k.book.bids.best, k.book.asks.best) != before[pair]
        }
        self.assertIn("SKL_USD", moved)
        self.assertEqual({p["pair"] for t, p in items if t == "books"} - moved, set())  # nothing unchanged
        skl = next(p for t, p in items if t == "books" and p["pair"] == "SKL_USD")
        self.assertEqual((skl["bid"], skl["ask"]), (f"{self.book.bids.best[0]:f}", f"{self.book.asks.best[0]:f}"))
        self.assertEqual(
            [(p["exchange"], p["status"], p["reason"]) for t, p in items if t == "status"],
            [("coinbase", "down", "unplugged for the test")],
        )


class LogPublisherTest(unittest.IsolatedAsyncioTestCase):
    async def test_log_lines_from_the_loop_and_from_threads(self):
        bus = EventBus()
        heard = bus.subscribe({"logs"})
        logger = logging.getLogger("exchange_wrapper.tests.publishers")
        handler = LogPublisher(bus, asyncio.get_running_loop())
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        logger.setLevel(logging.DEBUG)
        self.addCleanup(logger.setLevel, logging.NOTSET)
        logger.debug("below INFO: not published")
        logger.info("on the loop %s", "here")
        thread = threading.Thread(target=lambda: logger.warning("from a thread"))
        thread.start()
        thread.join()
        try:
            raise ValueError("bad value")
        except ValueError:
            logger.exception("it failed")
        await asyncio.sleep(0)  # the thread's line is handed to the loop
        lines = [payload for _, payload in drain(heard)]
        self.assertEqual(
            [(line["level"], line["message"]) for line in lines],
            [("INFO", "on the loop here"), ("ERROR", "it failed"), ("WARNING", "from a thread")],
        )
        self.assertEqual(lines[1]["exception"], "ValueError: bad value")
        self.assertEqual(lines[0]["logger"], "exchange_wrapper.tests.publishers")
