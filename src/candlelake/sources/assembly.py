"""Assemble the days of one symbol from parts (REST pages, archive files) that arrive in any order.

Synchronous and free of I/O. Each part is announced with `expect` before it is sent and
settled with `deliver`; a day is finished, and handed back once, when no part it waits for
is outstanding. Parts are named, not counted, so a part settled twice or a day expected
after it finished is an error raised here rather than a day silently written twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.klines import empty_table
from candlelake.timeutil import Window
from candlelake.validate.gaps import Explained


@dataclass(frozen=True)
class AssembledDay:
    day: dt.date
    window: Window
    table: pa.Table
    failures: tuple[Explained, ...]
    source: str
    archive_sha256: str | None


@dataclass
class _Day:
    window: Window
    waiting: set[Hashable] = field(default_factory=set)
    tables: list[pa.Table] = field(default_factory=list)
    failures: list[Explained] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    archive_sha256: str | None = None


class DayAssembly:
    """The days of one symbol being assembled; `windows` maps each day to the part to fetch."""

    def __init__(self, windows: Mapping[dt.date, Window], *, full: bool, grid: BarGrid = MINUTE_GRID) -> None:
        self._days = {day: _Day(window) for day, window in windows.items()}
        self._full = full
        self._grid = grid

    def expect(self, part: Hashable, days: Iterable[dt.date]) -> None:
        """`part` will contribute to `days`: none of them finishes before it is delivered."""
        for day in days:
            state = self._days.get(day)
            if state is None:
                raise KeyError(f"{day} is not being assembled (finished or never planned)")
            if part in state.waiting:
                raise ValueError(f"part {part!r} is already expected for {day}")
            state.waiting.add(part)

    def deliver(
        self,
        part: Hashable,
        rows: pa.Table | Mapping[dt.date, pa.Table] | None = None,
        *,
        failure: Explained | None = None,
        source: str | None = None,
        archive_sha256: str | None = None,
    ) -> list[AssembledDay]:
        """Settle `part` for every day waiting for it; return the days that finished, in order.

        `rows` is one table (split here by day) or a table per day. `failure` explains the
        minutes the part should have brought; `source` labels its days' provenance.
        """
        days = sorted(d for d, state in self._days.items() if part in state.waiting)
        if not days:
            raise KeyError(f"part {part!r} was not expected")
        finished = []
        for day in days:
            state = self._days[day]
            state.waiting.discard(part)
            table = (
                rows.get(day) if isinstance(rows, Mapping) else _slice(rows, self._grid.partition_window(day))
            )
            if table is not None and table.num_rows:
                state.tables.append(table)
            if failure is not None:
                state.failures.append(failure)
            if source is not None:
                state.sources.append(source)
            if archive_sha256 is not None:
                state.archive_sha256 = archive_sha256
            if not state.waiting:
                finished.append(self._finish(day))
        return finished

    def window(self, day: dt.date) -> Window:
        return self._days[day].window

    def unfinished(self) -> list[dt.date]:
        """Days still waiting; empty once every part has been delivered."""
        return sorted(self._days)

    def finish_idle(self) -> list[AssembledDay]:
        """Finish the days that wait for nothing (a plan with no part for them)."""
        return [self._finish(day) for day in sorted(self._days) if not self._days[day].waiting]

    def _finish(self, day: dt.date) -> AssembledDay:
        state = self._days.pop(day)
        tables = [t for t in state.tables if t.num_rows]
        table = pa.concat_tables(tables) if tables else empty_table(self._full)
        return AssembledDay(
            day,
            state.window,
            table,
            tuple(state.failures),
            "+".join(dict.fromkeys(state.sources)) or "rest",
            state.archive_sha256,
        )


def _slice(table: pa.Table | None, window: Window) -> pa.Table | None:
    if table is None or not table.num_rows:
        return table
    ts = table.column("timestamp")
    return table.filter(pc.and_(pc.greater_equal(ts, window.start_ms), pc.less(ts, window.end_ms)))
