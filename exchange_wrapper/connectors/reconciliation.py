"""When a live account's balances may be compared with the ledger, and what the comparisons found.

Reconciliation brings the ledger to the balances the exchange reports (the ledger side is the
account owner's: :meth:`~.account.AccountOwner.reconcile`). It counts only what is settled: while an
order request awaits its answer or a placement is unconfirmed, the balances may hold its effects
before the ledger does (or the reverse), so such a round is skipped, counted, and tried again soon;
so is one during which, or within ``quiet`` seconds after the balances were read, anything happened
on the account (a fill on its way), and, while nothing streams the orders' fills, one after which
asking about the orders applied anything. The differences the owner reports are kept for the status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

from ..core.errors import XWrapError
from ..exchanges.private import AccountBalances
from .followed import FollowedOrders

log = logging.getLogger(__name__)


class Reconciliation:
    """Account ``name``'s reconciliations: :meth:`run` one now, :meth:`soon` one later.

    ``balances()`` reads the account's balances, ``ledger(balances)`` brings the ledger to them and
    returns the differences; ``stream_up()`` says whether the stream tells of fills as they happen
    (else ``refresh()`` asks about the ``followed`` orders after the balances are read); ``spawn``
    runs a background task of the account, ``sleep`` waits. ``quiet`` and ``retry`` are seconds.
    """

    def __init__(
        self,
        name: str,
        followed: FollowedOrders,
        *,
        balances: Callable[[], Awaitable[AccountBalances]],
        ledger: Callable[[AccountBalances], Awaitable[list[dict[str, Any]]]],
        stream_up: Callable[[], bool],
        refresh: Callable[[], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, Any]], Any],
        sleep: Callable[[float], Awaitable[Any]],
        quiet: float,
        retry: float,
    ):
        self.name, self.followed = name, followed
        self.balances, self.ledger, self.stream_up, self.refresh = balances, ledger, stream_up, refresh
        self.spawn, self.sleep, self.quiet, self.retry = spawn, sleep, quiet, retry
        self.differences: list[dict[str, Any]] = []  # the last differences reconciliation reported
        self.difference_count = 0
        self.activity = 0  # counts what can change balances: reports applied, stream messages, order requests
        self.requests = 0  # order requests (place, cancel, amend, cancel-all) sent
        self.changing = 0  # of which not answered yet
        self.skipped = 0  # rounds not run: an order request or placement was unresolved
        self._pending = False
        # one round at a time: two rounds reading the ledger before either writes would both bring it
        # to the same balances, counting one difference twice
        self._round = asyncio.Lock()

    def touched(self) -> None:
        """Something happened on the account that may change its balances (a stream message, a report)."""
        self.activity += 1

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """An order request out: reconciliation waits for its answer."""
        self.activity += 1
        self.requests += 1
        self.changing += 1
        try:
            yield
        finally:
            self.changing -= 1
            self.activity += 1

    def unresolved(self) -> str | None:
        """What may have changed the balances without the ledger knowing yet (or the reverse):
        order requests awaiting their answer, placements unconfirmed. None: nothing."""
        unconfirmed = len(self.followed.unconfirmed_orders())
        parts = ([f"{self.changing} order request(s) awaiting an answer"] if self.changing else []) + (
            [f"{unconfirmed} placement(s) unconfirmed"] if unconfirmed else []
        )
        return ", ".join(parts) or None

    def report(self, differences: list[dict[str, Any]]) -> None:
        """The owner's reconciliation found ``differences``: kept for the status, and counted."""
        self.differences = differences
        self.difference_count += len(differences)

    async def run(self, quiet: bool = True) -> list[dict[str, Any]] | None:
        """Reconcile the ledger with the account's balances; return the differences. Skipped (None:
        counted, logged, tried again ``retry`` seconds later) while an order request is unanswered
        or a placement unconfirmed, before or after the balances are read (their effects may be in
        the balances and not yet in the ledger, or the reverse), while the stream is down when
        asking about the orders after the balances were read applies anything (a fill the balances
        hold and the ledger does not), and, when ``quiet``, when anything happened on the account
        meanwhile (a fill on its way). Rounds never overlap: one waits for the one running."""
        async with self._round:
            return await self._run(quiet)

    async def _run(self, quiet: bool) -> list[dict[str, Any]] | None:
        activity, requests = self.activity, self.requests
        busy = self.unresolved()
        if busy is None:
            balances = await self.balances()
            if quiet:
                await self.sleep(self.quiet)
            learned = self.activity
            if not self.stream_up() and len(self.followed):  # nothing tells of their fills: ask, put off if one came
                await self.refresh()
            busy = self.unresolved()
            if busy is None and self.activity != learned:
                busy = "fills learned by polling since the balances were read"
            if busy is None and (self.requests != requests or (quiet and self.activity != activity)):
                busy = "the account was busy"
            if busy is None:
                return await self.ledger(balances)
        self.skipped += 1
        log.info("%s reconciliation skipped (%s): again in %g s", self.name, busy, self.retry)
        self.soon()
        return None

    async def pushed(self, balances: AccountBalances) -> None:
        """Balances the stream pushes after the reports of what changed them: reconciled at once,
        unless an order request or placement is unresolved (then a reconciliation follows soon)."""
        async with self._round:
            busy = self.unresolved()
            if busy is not None:
                log.debug("%s pushed balances not reconciled (%s)", self.name, busy)
                return self.soon()
            await self.ledger(balances)

    def soon(self) -> None:
        """A reconciliation in ``retry`` seconds (one at a time)."""
        if not self._pending:
            self._pending = True
            self.spawn(self._later())

    async def _later(self) -> None:
        await self.sleep(self.retry)
        self._pending = False
        try:
            await self.run()
        except XWrapError as error:
            log.warning("%s account: %s", self.name, error)
