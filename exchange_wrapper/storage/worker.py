"""The one thread every database call of the service runs on, in the order the calls were queued.

Writes then land in the order their events happened, a read queued after a write sees it, and the
event loop never waits on a disk. The server makes it and hands it to whoever needs the database.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class DatabaseThread:
    """Runs storage calls on one worker thread, in order. Call from the event loop."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xwrap-db")

    def submit(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``function(*args)`` now, behind every call queued before; await the future for its result."""
        return asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` on the thread, after every call queued before it."""
        return await self.submit(functools.partial(function, *args, **kwargs))

    async def close(self) -> None:
        """Let every queued call finish, then end the thread."""
        await self.submit(lambda: None)
        self._executor.shutdown(wait=True)
