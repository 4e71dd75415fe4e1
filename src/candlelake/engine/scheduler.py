"""The thin scheduler: a limit on requests in flight, background work, and the stop on a ban
or a dead store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from candlelake.errors import TerminalError

log = logging.getLogger(__name__)


class Scheduler:
    """Implements `sources.protocol.Dispatcher` for one run."""

    def __init__(self, concurrency: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped: TerminalError | None = None
        self.errors: list[str] = []

    @property
    def stopped(self) -> TerminalError | None:
        return self._stopped

    async def acquire(self) -> bool:
        if self._stopped is None:
            await self._slots.acquire()
            if self._stopped is None:
                return True
            self._slots.release()
        return False

    def release(self) -> None:
        self._slots.release()

    def stop(self, reason: TerminalError) -> None:
        """Stop sending: a ban applies to every request from this IP, and a dead store
        would take every fetched day with it."""
        if self._stopped is None:
            self._stopped = reason
            log.error("%s", reason)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until all work, including work spawned meanwhile, has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def cancel(self) -> None:
        """Cancel all work in flight and wait for it to end (an interrupted run)."""
        self._stopped = self._stopped or TerminalError("run interrupted")
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception as exc:
            log.exception("internal error")
            self.errors.append(f"internal error: {exc}")
