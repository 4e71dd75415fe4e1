"""The bar grid of a kline interval: which open times exist, how long a bar is, where it is stored. Pure.

Every interval but `1M` has a fixed length. Bars open on multiples of that length since the
epoch, except weekly bars, which open on Mondays (1970-01-05 is the first), and monthly bars,
which open on the first of each month (the simulator's truth, simulator/intervals.py, follows
the same rule). A bar belongs to the partition of its open time: the UTC day for intervals up
to `1d`, the calendar month for `3d`, `1w` and `1M` (markets.MONTHLY_PARTITIONED).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from candlelake.markets import MONTHLY_PARTITIONED, Interval, parse_interval
from candlelake.timeutil import DAY_MS, MINUTE_MS, Window, day_window, from_ms, month_window

SECOND_MS = 1_000
_UNIT_MS = {"s": SECOND_MS, "m": MINUTE_MS, "h": 60 * MINUTE_MS, "d": DAY_MS, "w": 7 * DAY_MS}
WEEK_ORIGIN_MS = 4 * DAY_MS  # Monday 1970-01-05


@dataclass(frozen=True)
class BarGrid:
    """The open times of one interval's bars."""

    interval: Interval

    @property
    def step_ms(self) -> int | None:
        """The bar length, or None for `1M` (months differ in length)."""
        if self.interval == "1M":
            return None
        return int(self.interval[:-1]) * _UNIT_MS[self.interval[-1]]

    @property
    def monthly_partitions(self) -> bool:
        return self.interval in MONTHLY_PARTITIONED

    @property
    def unit(self) -> str:
        """How counts of these bars are named in reports: minutes for 1m, else bars."""
        return "minutes" if self.interval == "1m" else f"{self.interval} bars"

    def _origin(self) -> int:
        return WEEK_ORIGIN_MS if self.interval == "1w" else 0

    def floor(self, ms: int) -> int:
        """The open time of the bar that contains `ms`."""
        step = self.step_ms
        if step is None:
            return int(
                np.datetime64(ms, "ms").astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
            )
        origin = self._origin()
        return ms - (ms - origin) % step

    def ceil(self, ms: int) -> int:
        """The first open time at or after `ms`."""
        low = self.floor(ms)
        return low if low == ms else self.next_open(low)

    def next_open(self, open_ms: int) -> int:
        """The open time of the bar after the one opening at `open_ms` (its end)."""
        return int(self.next_opens(np.asarray([open_ms], dtype=np.int64))[0])

    def next_opens(self, opens: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        step = self.step_ms
        if step is not None:
            return opens + step
        months = opens.astype("datetime64[ms]").astype("datetime64[M]") + 1
        return months.astype("datetime64[ms]").astype(np.int64)

    def opens(self, window: Window) -> npt.NDArray[np.int64]:
        """Every open time in `window`, ascending."""
        first = self.ceil(window.start_ms)
        if first >= window.end_ms:
            return np.zeros(0, dtype=np.int64)
        step = self.step_ms
        if step is not None:
            return np.arange(first, window.end_ms, step, dtype=np.int64)
        start = np.datetime64(first, "ms").astype("datetime64[M]")
        last = np.datetime64(window.end_ms - 1, "ms").astype("datetime64[M]")
        return np.arange(start, last + 1).astype("datetime64[ms]").astype(np.int64)

    def count(self, window: Window) -> int:
        """The number of bars opening in `window`."""
        step = self.step_ms
        if step is None:
            return len(self.opens(window))
        first = self.ceil(window.start_ms)
        return max(0, -(-(window.end_ms - first) // step))

    def on_grid(self, ts: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of `ts` are open times of this grid."""
        step = self.step_ms
        if step is not None:
            return np.asarray((ts - self._origin()) % step == 0)
        months = ts.astype("datetime64[ms]").astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
        return np.asarray(months == ts)

    def close_times(self, opens: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Binance's close time of each bar: the next open minus 1 ms."""
        return self.next_opens(opens) - 1

    # -- partitions --------------------------------------------------------------

    def partition(self, open_ms: int) -> dt.date:
        """The partition key of a bar: its UTC day, or the first day of its month."""
        day = from_ms(open_ms).date()
        return day.replace(day=1) if self.monthly_partitions else day

    def partition_window(self, key: dt.date) -> Window:
        """The open times a partition holds."""
        if not self.monthly_partitions:
            return day_window(key)
        return month_window(key.year, key.month)

    def partitions(self, window: Window) -> list[dt.date]:
        """The partitions `window` touches, in order."""
        days = window.days()
        if not self.monthly_partitions:
            return days
        return sorted({d.replace(day=1) for d in days})


@cache
def grid_of(interval: str) -> BarGrid:
    return BarGrid(parse_interval(interval))


MINUTE_GRID = grid_of("1m")
