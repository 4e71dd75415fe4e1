"""What every source promises: given a symbol's plan, deliver each planned day finished.

A source never writes and never schedules on its own: it asks the `Dispatcher` for request
slots and for background work, and hands each finished day to the `Outbox`. Adding an
exchange or a data type means adding a `Source`; the planner, the sink and the scheduler
stay as they are (compare freqtrade's small `IDataHandler` surface, dlt's sources and
destinations kept apart).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from candlelake.errors import TerminalError
from candlelake.plan.days import SymbolPlan
from candlelake.timeutil import Window
from candlelake.validate.gaps import Explained, Lifecycle


@dataclass(frozen=True)
class FinishedDay:
    """One day of one symbol as fetched: rows, why minutes may be missing, and provenance.

    `failures` explain the minutes a request could not fetch; `lifecycle` gives the listing
    bounds that explain minutes before listing or after delisting (probed on first call, so
    only when a gap needs it); any other missing minute is one the exchange does not have.
    `source` is `rest`, `archive:daily`, `archive:monthly`, or a `+`-joined mix.
    """

    symbol: str
    day: dt.date
    window: Window
    table: pa.Table
    failures: tuple[Explained, ...] = ()
    source: str = "rest"
    archive_sha256: str | None = None
    lifecycle: Callable[[], Awaitable[Lifecycle]] | None = None


class Outbox(Protocol):
    """Where a source delivers: finished days, and errors that fail the run."""

    async def deliver(self, day: FinishedDay) -> None: ...

    async def deliver_days(self, days: Sequence[FinishedDay]) -> None:
        """`deliver` for the days one part finished together (a month file's): one batch,
        so that per-day overhead (thread hand-offs, ledger updates) is paid once."""
        ...

    def error(self, symbol: str, message: str) -> None: ...

    def listing(self, symbol: str, lifecycle: Lifecycle) -> None:
        """The symbol's listing bounds, once probed (for the run report)."""
        ...


class Dispatcher(Protocol):
    """The scheduler as a source sees it: request slots, background work, the stop on a ban."""

    @property
    def stopped(self) -> TerminalError | None: ...

    async def acquire(self) -> bool:
        """Wait for a request slot; False (holding none) once the run has stopped."""
        ...

    def release(self) -> None: ...

    def spawn(self, work: Coroutine[Any, Any, None]) -> None: ...

    def stop(self, reason: TerminalError) -> None: ...


class Source(Protocol):
    async def submit(self, plan: SymbolPlan, outbox: Outbox) -> None:
        """Start fetching every day of `plan`; returns once the work is dispatched.

        Each planned day reaches `outbox.deliver` exactly once, fetched or explained.
        """
        ...
