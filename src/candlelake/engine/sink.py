"""The day sink: validate a finished day, explain every missing minute, merge, write atomically.

It is the `Outbox` that sources deliver to, and it keeps the run report of each symbol.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.errors import StorageUnreachable, TerminalError
from candlelake.lake import DayMeta, LakeWriter
from candlelake.lake.storage import reason_of, unreachable
from candlelake.lake.writer import DayWrite
from candlelake.plan.days import SymbolPlan
from candlelake.progress import Progress
from candlelake.quality.report import SymbolReport
from candlelake.sources.protocol import FinishedDay
from candlelake.timeutil import Window
from candlelake.validate.gaps import Explained, Gap, Lifecycle, find_gaps
from candlelake.validate.rules import Validated, validate_days

log = logging.getLogger(__name__)
T = TypeVar("T")

# Consecutive failed writes that say the store did not answer before the run stops.
STORAGE_FAILURES = 2


class DaySink:
    def __init__(
        self,
        writer: LakeWriter,
        *,
        exchange_id: str,
        progress: Progress,
        counters: Callable[[], tuple[int, int]],  # (weight, retries) so far, for progress
        writes: int = 4,
        stop: Callable[[TerminalError], None] | None = None,  # ends the run's fetching
        storage_failures: int = STORAGE_FAILURES,
        grid: BarGrid = MINUTE_GRID,
    ) -> None:
        self.writer = writer
        self.grid = grid
        self.exchange_id = exchange_id
        self.progress = progress
        self.counters = counters
        self.knowledge_time = dt.datetime.now(dt.UTC)
        self.reports: dict[str, SymbolReport] = {}
        self._stored: dict[str, dict[dt.date, DayMeta]] = {}
        self._pending: dict[str, dict[dt.date, Window]] = {}
        self._writes = asyncio.Semaphore(writes)
        self._stop = stop
        self._failures_left = storage_failures
        self._down: StorageUnreachable | None = None

    def open(self, plan: SymbolPlan, report: SymbolReport) -> None:
        """Expect the days of `plan`; record the days it skipped."""
        self.reports[plan.symbol] = report
        self._stored[plan.symbol] = dict(plan.stored)
        self._pending[plan.symbol] = dict(plan.windows)
        report.days_skipped += len(plan.skipped)
        report.gaps.extend(plan.skipped_gaps)

    # -- Outbox --------------------------------------------------------------

    def error(self, symbol: str, message: str) -> None:
        self.reports[symbol].errors.append(message)

    def listing(self, symbol: str, lifecycle: Lifecycle) -> None:
        report = self.reports[symbol]
        report.listed_ms, report.delisted_ms = lifecycle.listed_ms, lifecycle.delisted_ms

    async def deliver(self, day: FinishedDay) -> None:
        await self.deliver_days([day])

    async def deliver_days(self, days: Sequence[FinishedDay]) -> None:
        """Validate, explain and write `days` (the days one part finished, often a month)."""
        # A day stays pending until it is accounted for: if the run is interrupted before
        # that, `close` reports it as missing; a day is never both written and missing.
        rows: dict[dt.date, int] = {}
        if self._down is not None:
            for day in days:
                # The store is gone: account for the day, without one more timeout and line each.
                self._pending[day.symbol].pop(day.day, None)
                self.explain(day.symbol, day.window.start_ms, day.window.end_ms, f"not written: {self._down}")
        else:
            try:
                rows = await self._store(days)
            except Exception as exc:
                # Last line of defence for the invariant: a day that cannot be finished is
                # still reported, as missing with the reason, and fails the run.
                for day in days:
                    if self._pending[day.symbol].pop(day.day, None) is not None:
                        self._failed(day, exc)
        weight, retries = self.counters()
        for day in days:
            self.progress.day_done(day.symbol, rows.get(day.day, 0), weight=weight, retries=retries)

    # -- the rest ------------------------------------------------------------

    def _failed(self, day: FinishedDay, exc: Exception) -> None:
        down = unreachable(self.writer.location, exc)
        if down is None:
            log.error("%s %s: could not finish the day", day.symbol, day.day, exc_info=exc)
        else:
            # The one "storage unreachable" line comes from the stop; each day says less.
            log.warning("%s %s: not written (%s)", day.symbol, day.day, reason_of(exc))
            self._failures_left -= 1
            if self._failures_left <= 0 and self._down is None:
                self._down = down
                if self._stop is not None:
                    self._stop(down)
        self.explain(day.symbol, day.window.start_ms, day.window.end_ms, f"not written: {down or exc}")
        self.reports[day.symbol].errors.append(f"{day.day}: not written: {down or exc}")

    def explain(
        self, symbol: str, start_ms: int, end_ms: int, reason: str, *, excluded: bool = False
    ) -> None:
        """Report a whole window as not written, with one reason."""
        self.reports[symbol].gaps.append(Gap(start_ms, end_ms, "excluded" if excluded else "missing", reason))

    def absent(self, plan: SymbolPlan, reason: str) -> None:
        """The symbol is not on the exchange: every planned minute is excluded with `reason`."""
        self.reports[plan.symbol].status = reason
        weight, _ = self.counters()
        for day in plan.days:
            w = plan.windows[day]
            self.explain(plan.symbol, w.start_ms, w.end_ms, reason, excluded=True)
            self.progress.day_done(plan.symbol, 0, weight=weight, retries=0)
        self._pending[plan.symbol].clear()

    def unfinished(self) -> list[tuple[str, dt.date]]:
        """Planned days not delivered yet."""
        return [(s, d) for s, days in self._pending.items() for d in sorted(days)]

    def close(self, reason: str = "not finished (internal error)", *, fails: bool = True) -> None:
        """After every source has finished: a planned day never delivered (a bug, or an
        interrupted run) is still reported, as missing; a bug fails the run."""
        for symbol, day in self.unfinished():
            w = self._pending[symbol].pop(day)
            self.explain(symbol, w.start_ms, w.end_ms, reason)
            if fails:
                self.error(symbol, f"{day}: not finished")

    async def _store(self, days: Sequence[FinishedDay]) -> dict[dt.date, int]:
        """Validate, explain and write `days` (one source part's worth, often a month): two
        worker-thread calls and one gap-ledger update for all of them, not a few per day."""
        checked = await asyncio.to_thread(self._validate, days)
        explained: list[list[Gap]] = []
        writes: list[DayWrite] = []
        empty: list[tuple[FinishedDay, list[Gap]]] = []
        for day, valid in zip(days, checked, strict=True):
            gaps = await self._gaps(day, valid)
            explained.append(gaps)
            if valid.table.num_rows:
                meta = DayMeta(
                    symbol=day.symbol,
                    day=day.day,
                    window_start_ms=day.window.start_ms,
                    window_end_ms=day.window.end_ms,
                    rows=valid.table.num_rows,
                    complete=not day.failures and not valid.problems,
                    source=day.source,
                    archive_sha256=day.archive_sha256,
                    gaps=tuple(g.to_dict() for g in gaps),
                )
                writes.append(DayWrite(day.symbol, day.day, valid.table, meta, validated=True))
            elif gaps:
                empty.append((day, gaps))
        async with self._writes:
            written, interrupted = await _uninterrupted(self._write, writes, empty)
        # Accounted only now that the lake holds the days, so an interrupt before this point
        # leaves them pending (reported missing) and one after it finds them written.
        outcomes = iter(written)
        rows: dict[dt.date, int] = {}
        for day, valid, gaps in zip(days, checked, explained, strict=True):
            self._pending[day.symbol].pop(day.day, None)
            path = next(outcomes) if valid.table.num_rows else None
            if isinstance(path, Exception):
                self._failed(day, path)
                continue
            self._failures_left = STORAGE_FAILURES
            report = self.reports[day.symbol]
            report.errors.extend(f"invalid row at {p.timestamp}: {p.reason}" for p in valid.problems)
            report.gaps.extend(gaps)
            if path is not None:
                report.files.append(path)
                report.rows_written += valid.table.num_rows
                report.days_written += 1
                report.sources[day.day] = day.source
                rows[day.day] = int(valid.table.num_rows)
        if interrupted:
            raise asyncio.CancelledError
        return rows

    async def _gaps(self, day: FinishedDay, valid: Validated) -> list[Gap]:
        # Validated rows are distinct bars of the window, so a full count means no gap.
        if valid.table.num_rows >= self.grid.count(day.window):
            return []
        present = valid.table.column("timestamp").to_numpy()
        lifecycle = await day.lifecycle() if day.lifecycle is not None else Lifecycle()
        invalid = [(p.timestamp, p.reason) for p in valid.problems]
        return find_gaps(
            day.window, present, lifecycle, failures=day.failures, invalid=invalid, grid=self.grid
        )

    def _validate(self, days: Sequence[FinishedDay]) -> list[Validated]:
        return validate_days([(self._rows(day), day.window) for day in days], self.grid)

    def _rows(self, day: FinishedDay) -> pa.Table:
        stored = self._stored[day.symbol].get(day.day)
        if day.failures and stored is not None and stored.rows:
            # Some requests failed: keep what the lake already had for those minutes rather
            # than replacing good rows with nothing.
            return with_stored_rows(day.table, self.writer.read_day(day.symbol, day.day), day.failures)
        return day.table

    def _write(
        self, writes: Sequence[DayWrite], empty: Sequence[tuple[FinishedDay, list[Gap]]]
    ) -> list[str | Exception]:
        for day, gaps in empty:
            # No candle at all: no file, but the gap ledger keeps the reasons (lake/ledger.py).
            self.writer.record_empty_day(day.symbol, day.day, day.window, gaps)
        if not writes:
            return []
        return self.writer.write_days(
            writes,
            exchange_id=self.exchange_id,
            knowledge_time=self.knowledge_time,
            give_up=lambda exc: unreachable(self.writer.location, exc) is not None,
        )


async def _uninterrupted(write: Callable[..., T], *args: object) -> tuple[T, bool]:
    """Run a lake write in a thread and return (result, whether the caller was cancelled).

    A thread cannot be stopped, so a write that has started will land: a cancelled caller
    waits for it and accounts for it before it gives up.
    """
    task = asyncio.ensure_future(asyncio.to_thread(write, *args))
    cancelled = False
    while True:
        try:
            return await asyncio.shield(task), cancelled
        except asyncio.CancelledError:
            cancelled = True  # the run may cancel more than once while it stops


def with_stored_rows(new: pa.Table, stored: pa.Table, failures: Sequence[Explained]) -> pa.Table:
    """`new` plus the stored rows that fall in failed windows and are not in `new`."""
    ts = stored.column("timestamp")
    fresh = pc.invert(pc.is_in(ts, value_set=new.column("timestamp")))
    in_failure = pc.less(ts, 0)  # all false
    for failure in failures:
        w = failure.window
        in_failure = pc.or_(in_failure, pc.and_(pc.greater_equal(ts, w.start_ms), pc.less(ts, w.end_ms)))
    rescued = stored.filter(pc.and_(fresh, in_failure)).select(new.column_names).cast(new.schema)
    return pa.concat_tables([new, rescued]) if rescued.num_rows else new
