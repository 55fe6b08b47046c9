"""The equity history: every wallet set's total value in USD, sampled once a minute into the history store.

At the first moment of each minute of the service's clock (the wall's, through a timer; a replay's
recorded one, through :meth:`EquitySampler.follow` as its time moves on), the sampler takes the rates of
that moment from the hub (:func:`~..marketdata.quotes.valuation`: a chain of followed books, the same
valuation as every other figure), reads every set's balances (holds included: they are still the set's)
through ``balances`` and queues one :class:`~.sink.EquitySample` per set with what held something.
A currency nothing values is left out of the value and named in the sample.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal

from ..core.ledger import MAX_PLACES
from ..core.valuation import RATES, Valuation
from ..marketdata.hub import MarketDataHub
from ..marketdata.quotes import valuation
from .sink import NO_EXCHANGE, EquitySample
from .writer import HistoryWriter

log = logging.getLogger(__name__)

#: Seconds between two samples.
PERIOD = 60

#: Seconds between two looks at the wall's clock (a sample is taken at the first look of its minute).
LOOK = 1.0

Balances = Callable[[], Awaitable[Mapping[int, Sequence[tuple[str, Decimal]]]]]
"""Every wallet set's balances: wallet set id -> [(currency, amount)] (a currency may come once per
exchange)."""


#: What a sampled value is rounded to (half to even): the places money columns keep.
VALUE_QUANTUM = Decimal(1).scaleb(-MAX_PLACES)


def equity_sample(
    wallet_set_id: int, at: float, balances: Sequence[tuple[str, Decimal]], rates: Valuation
) -> EquitySample:
    """The set's total value in USD at ``at`` by ``rates``, naming the currencies they could not value."""
    total, unvalued = Decimal(0), set()
    for currency, amount in balances:
        value = rates.value_or_none(amount, currency, "USD")
        if value is None:
            unvalued.add(currency)
            continue
        total = RATES.add(total, value)
    # a rate through a chain carries up to 28 digits; a store keeps MAX_PLACES (a sample refused for
    # its 19th place lost the whole batch it was written with)
    return EquitySample(wallet_set_id, at, total.quantize(VALUE_QUANTUM), tuple(sorted(unvalued)))


class EquitySampler:
    """Queues every set's equity to ``writer`` once a :data:`PERIOD` of ``clock`` (see the module)."""

    def __init__(
        self,
        hub: MarketDataHub,
        writer: HistoryWriter,
        balances: Balances,
        *,
        clock: Callable[[], float] = time.time,
        samples: Callable[[], bool] = lambda: True,
    ):
        self.hub, self.writer, self.balances, self.clock = hub, writer, balances, clock
        self.samples = samples  # a cluster node: whether it is the one that samples now (one row a set a minute)
        self._minute = -math.inf  # the period last sampled
        self._tasks: set[asyncio.Task] = set()
        self._timer: asyncio.Task | None = None

    def start(self, *, timer: bool = True) -> None:
        """``timer``: look at the wall's clock every :data:`LOOK` seconds; without it, the owner calls
        :meth:`follow` as its recorded time moves on."""
        if timer:
            self._timer = asyncio.create_task(self._looks())

    def follow(self, now: float) -> None:
        """Time has moved on to ``now``: the first time of a period, sample (the rates are those of
        this moment; the balances are read at once, on the database's thread)."""
        minute = math.floor(now / PERIOD)
        if minute <= self._minute or not self.samples():
            return
        self._minute = minute
        task = asyncio.get_running_loop().create_task(self._sample(now, valuation(self.hub)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Wait until the samples under way are queued to the writer."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
        await self.settled()

    async def _sample(self, now: float, rates: Valuation) -> None:
        try:
            for wallet_set_id, held in (await self.balances()).items():
                if held:
                    self.writer.put(NO_EXCHANGE, equity_sample(wallet_set_id, now, held, rates))
        except Exception:  # a failed sample must not end the sampling for good
            log.exception("equity history: a sample failed")

    async def _looks(self) -> None:
        while True:
            self.follow(self.clock())
            await asyncio.sleep(LOOK)
