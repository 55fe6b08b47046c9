"""Playing the real Coinbase capture as a service's market data: the pace, the window, the loop, the
recorded clock and the steps, with the wall clock and sleep of the tests' own (no waiting)."""

import asyncio
import json
import math
import unittest

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.replay.capture import RestResponse, WsReceived
from exchange_wrapper.replay.playback import MAX_SPEED, Playback
from exchange_wrapper.replay.source import Replay

from .test_source import CAPTURES, FILES, independent_books

RECORDS = list(Replay("coinbase", FILES).records())
FIRST, LAST = RECORDS[0].ts, RECORDS[-1].ts
STREAM = (CAPTURES / "COINBASE.ws.28.0").read_text().splitlines()


def fed(until):
    """The records the hub counts as messages among those up to ``until``."""
    return sum(
        1
        for r in RECORDS
        if r.ts <= until and (isinstance(r, RestResponse) or (isinstance(r, WsReceived) and r.message))
    )


def last_book_messages():
    """Product -> the recorded time of its last snapshot or l2update, read from the file itself."""
    last = {}
    for line in STREAM:
        if line[:1].isdigit():
            stamp, _, text = line.partition(": ")
            message = json.loads(text)
            if message["type"] in ("snapshot", "l2update"):
                last[message["product_id"].replace("-", "_")] = float(stamp)
    return last


class FakeTime:
    """A wall clock that moves only when slept on; every sleep is recorded."""

    def __init__(self):
        self.now, self.slept, self.seen = 5000.0, [], []
        self.watch = None  # called at each sleep: what a client would see between records

    def wall(self):
        return self.now

    async def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds
        if self.watch is not None:
            self.seen.append(self.watch())
        await asyncio.sleep(0)


class PlaybackCase(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 1.0  # the replay is played in the test's loop


def playback(**options):
    replay, fake = Replay("coinbase", FILES), FakeTime()
    return Playback([replay], wall=fake.wall, sleep=fake.sleep, **options), replay, fake


class PaceTest(PlaybackCase):
    async def test_play_keeps_the_recorded_pace_scaled(self):
        play, _, fake = playback(speed=4.0)
        reports = await play.play()
        self.assertAlmostEqual(sum(fake.slept), (LAST - FIRST) / 4.0)
        self.assertEqual(reports["coinbase"]["corrupt"], [])
        self.assertEqual(reports["coinbase"]["messages"], independent_books()[1])

    async def test_max_speed_never_waits_and_feeds_everything(self):
        play, _, fake = playback(speed=MAX_SPEED)
        reports = await play.play()
        self.assertEqual(set(fake.slept), {0.0})
        self.assertEqual(len(fake.slept), len(RECORDS))  # other tasks had a turn at every record
        self.assertEqual(reports["coinbase"]["messages"], independent_books()[1])
        self.assertEqual(play.status()["speed"], "max")

    async def test_the_status_says_what_is_played_and_ready_comes_once_every_book_is_live(self):
        play, replay, fake = playback(speed=4.0)
        listed = json.loads((CAPTURES / "COINBASE.0").read_text().splitlines()[0].partition(": ")[2])
        fake.watch = lambda: (
            replay.hub.status("coinbase", 0.0),
            play.ready.is_set(),
            all(replay.hub.book("coinbase", pair).live for pair in replay.adapter.pairs),
        )
        await play.play()
        books = len(replay.adapter.pairs)
        line = (
            "replaying COINBASE.0, COINBASE.ws.28.0 at 4x (2021-04-17T16:43:36.843430Z to "
            f"2021-04-17T16:44:07.846470Z): {books} books ({len(listed) - books} other markets have none recorded)"
        )
        statuses = {status for status, _, _ in fake.seen}
        self.assertEqual({status for status, _ in statuses}, {"degraded", "ready"})  # degraded until the snapshots
        self.assertTrue(all(len(reason) < 200 for _, reason in statuses), statuses)
        self.assertEqual([ready for _, ready, _ in fake.seen], [live for _, _, live in fake.seen])
        self.assertIn((("ready", line), True, True), fake.seen)

    async def test_when_the_recording_ends_the_status_says_finished_and_no_book_is_live(self):
        play, replay, _ = playback(speed=MAX_SPEED)
        reports = await play.play()
        self.assertEqual(reports["coinbase"]["corrupt"], [])  # as the recording left them
        self.assertEqual(
            replay.hub.status("coinbase", 0.0),
            (
                "finished",
                "the replay of COINBASE.0, COINBASE.ws.28.0 has ended: its books are frozen, orders are refused",
            ),
        )
        self.assertTrue(play.ready.is_set())
        self.assertEqual(play.status()["state"], "finished")
        self.assertEqual([pair for pair in replay.adapter.pairs if replay.hub.book("coinbase", pair).live], [])

    async def test_a_pace_of_zero_or_below_is_refused(self):
        for speed in (0.0, -1.0, math.nan):
            with self.subTest(speed=speed), self.assertRaises(InvalidParameter) as raised:
                playback(speed=speed)
            self.assertEqual(raised.exception.field, "--speed")


class WindowTest(PlaybackCase):
    async def test_a_window_outside_the_recording_or_backwards_is_refused_naming_the_option(self):
        within = (
            "expected a time within the recording, 2021-04-17T16:43:36.843430Z (1618677816.8434298) to "
            "2021-04-17T16:44:07.846470Z (1618677847.8464699)"
        )
        for options, field, message in (
            ({"start": FIRST - 1}, "--from", within),
            ({"start": LAST + 1}, "--from", within),
            ({"end": LAST + 0.5}, "--to", within),
            ({"start": FIRST + 10, "end": FIRST + 10}, "--to", "expected a time after --from"),
            ({"start": FIRST + 10, "end": FIRST + 5}, "--to", "expected a time after --from"),
        ):
            with self.subTest(options=options), self.assertRaises(InvalidParameter) as raised:
                playback(**options)
            self.assertEqual(raised.exception.field, field)
            self.assertIn(message, str(raised.exception))

    async def test_records_before_the_window_build_the_books_at_once_and_its_end_stops_the_replay(self):
        start, end = FIRST + 10, FIRST + 20
        play, replay, fake = playback(speed=2.0, start=start, end=end, recorded_clock=True)
        fake.watch = play.clock
        reports = await play.play()
        inside = [r.ts for r in RECORDS if start <= r.ts <= end]
        self.assertAlmostEqual(sum(fake.slept), (inside[-1] - inside[0]) / 2.0)
        waited = [seen for seen, slept in zip(fake.seen, fake.slept, strict=True) if slept > 0]
        self.assertGreaterEqual(min(waited), inside[0])  # no wait before the window: the books were built at once
        self.assertEqual(reports["coinbase"]["messages"], fed(end))
        self.assertEqual(play.clock(), inside[-1])
        self.assertEqual(reports["coinbase"]["corrupt"], [])

    async def test_ready_waits_for_the_window(self):
        start = FIRST + 10  # every snapshot came in the first second
        play, _, fake = playback(speed=MAX_SPEED, start=start, recorded_clock=True)
        fake.watch = lambda: (play.ready.is_set(), play.clock())
        await play.play()
        self.assertEqual(min(at for ready, at in fake.seen if ready), min(r.ts for r in RECORDS if r.ts >= start))


class RecordedClockTest(PlaybackCase):
    async def test_the_events_and_the_clock_follow_the_recorded_time(self):
        play, replay, fake = playback(speed=MAX_SPEED, recorded_clock=True)
        self.assertEqual(play.clock(), FIRST)  # before anything is played
        fake.watch = play.clock
        await play.play()
        self.assertEqual(fake.seen, sorted(fake.seen))  # it never goes back
        self.assertEqual(play.clock(), LAST)
        for pair, at in last_book_messages().items():
            with self.subTest(pair=pair):
                book = replay.hub.book("coinbase", replay.adapter.markets.market(pair).pair)
                self.assertEqual(book.updated_at, at)
        self.assertEqual(play.status()["clock"], "recorded")

    async def test_with_the_wall_clock_events_are_stamped_with_it(self):
        play, replay, fake = playback(speed=MAX_SPEED)
        await play.play()
        self.assertIsNone(play.clock)
        times = {replay.hub.book("coinbase", pair).updated_at for pair in replay.adapter.pairs}
        self.assertEqual(times, {fake.now})  # the fake wall never moved: sleeps were all 0


class LoopTest(PlaybackCase):
    async def test_a_loop_starts_over_from_the_snapshots_with_time_going_on(self):
        start, end = FIRST, FIRST + 5
        play, replay, fake = playback(speed=MAX_SPEED, start=start, end=end, loop=True, recorded_clock=True)
        fake.watch = lambda: (
            play.passes,
            play.clock(),
            replay.hub.status("coinbase", 0.0)[1],
            all(replay.hub.book("coinbase", pair).live for pair in replay.adapter.pairs),
        )
        task = asyncio.create_task(play.play())
        while play.passes < 3:
            await asyncio.sleep(0)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task
        clocks = [clock for _, clock, _, _ in fake.seen]
        self.assertEqual(clocks, sorted(clocks))
        second = [(clock, reason, live) for passes, clock, reason, live in fake.seen if passes == 2]
        self.assertEqual(second[1][0], end)  # after its first record pass 2 reads recorded time + one window
        self.assertLessEqual(max(c for c, _, _ in second), end + (end - start))
        self.assertIn(", pass 2 (", second[-1][1])  # once the books are live again the status names the pass
        self.assertFalse(second[0][2])  # the books start over: they wait for the recording's snapshots
        self.assertTrue(second[-1][2])
        counts = replay.hub.counters("coinbase")
        self.assertEqual(counts["resyncs"], 0)  # starting over is no resync of a broken book
        self.assertGreaterEqual(counts["messages"], 2 * fed(end))  # two whole passes

    async def test_a_loop_over_an_instant_is_refused(self):
        with self.assertRaises(InvalidParameter) as raised:
            playback(start=FIRST, end=FIRST, loop=True)
        self.assertEqual(raised.exception.field, "--to")


class StepsTest(PlaybackCase):
    async def test_a_stepped_replay_holds_at_each_moment_it_is_moved_to(self):
        start = FIRST + 1
        play, replay, _ = playback(speed=MAX_SPEED, start=start, recorded_clock=True, steps=True)
        task = asyncio.create_task(play.play())
        self.assertEqual(await play.steps.advance(start), start)  # built the books, holds at the window's start
        for moment in (start, start + 0.25, start + 3, start + 3.5):
            with self.subTest(moment=moment):
                self.assertEqual(await play.steps.advance(moment), moment)
                for _ in range(20):  # holding: more turns change nothing
                    await asyncio.sleep(0)
                self.assertEqual(play.clock(), moment)
                self.assertEqual(replay.hub.counters("coinbase")["messages"], fed(moment))
                self.assertEqual(play.status()["state"], "holding")
        self.assertEqual(await play.steps.advance(start + 2), start + 3.5)  # not back
        self.assertEqual(await play.steps.advance(LAST + 60), math.inf)  # the recording ended first
        reports = await task
        self.assertEqual((reports["coinbase"]["messages"], play.status()["state"]), (fed(LAST), "finished"))

    async def test_a_stepped_loop_holds_by_the_service_clock(self):
        """Moments of pass 2 are recorded time plus one window: the replay holds at them alike."""
        start, end = FIRST, FIRST + 3
        play, replay, _ = playback(speed=MAX_SPEED, start=start, end=end, loop=True, recorded_clock=True, steps=True)
        task = asyncio.create_task(play.play())
        self.addCleanup(task.cancel)
        self.assertEqual(await play.steps.advance(end + 1), end + 1)
        self.assertEqual((play.passes, play.clock()), (2, end + 1))
        self.assertEqual(replay.hub.counters("coinbase")["messages"], fed(end) + fed(start + 1))


if __name__ == "__main__":
    unittest.main()
