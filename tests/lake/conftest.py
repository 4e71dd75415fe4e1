"""Builders for lake tests: kline tables and day metadata with known values.

Test modules are not a package, so they get these through fixtures rather than imports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pyarrow as pa
import pytest

from candlelake.lake.schema import DayMeta
from candlelake.timeutil import MINUTE_MS, day_window

MakeKlines = Callable[..., pa.Table]
MakeMeta = Callable[..., DayMeta]


def klines(day: dt.date, minutes: Sequence[int], *, base: float = 100.0, full: bool = False) -> pa.Table:
    """One candle per minute offset of `day`, with prices derived from `base` and the offset."""
    start = day_window(day).start_ms
    ts = [start + m * MINUTE_MS for m in minutes]
    opens = [base + m for m in minutes]
    data: dict[str, pa.Array] = {
        "timestamp": pa.array(ts, pa.int64()),
        "open": pa.array(opens, pa.float64()),
        "high": pa.array([o + 2.5 for o in opens], pa.float64()),
        "low": pa.array([o - 1.25 for o in opens], pa.float64()),
        "close": pa.array([o + 0.5 for o in opens], pa.float64()),
        "volume": pa.array([float(m) * 0.1 for m in minutes], pa.float64()),
    }
    if full:
        data |= {
            "close_time": pa.array([t + MINUTE_MS - 1 for t in ts], pa.int64()),
            "quote_volume": pa.array([float(m) * 10 for m in minutes], pa.float64()),
            "number_of_trades": pa.array([m + 7 for m in minutes], pa.int64()),
            "taker_buy_base_volume": pa.array([float(m) * 0.05 for m in minutes], pa.float64()),
            "taker_buy_quote_volume": pa.array([float(m) * 5 for m in minutes], pa.float64()),
        }
    return pa.table(data)


def meta_for(symbol: str, day: dt.date, table: pa.Table, **overrides: object) -> DayMeta:
    window = day_window(day)
    fields: dict[str, object] = {
        "symbol": symbol,
        "day": day,
        "window_start_ms": window.start_ms,
        "window_end_ms": window.end_ms,
        "rows": table.num_rows,
        "complete": True,
        "source": "rest",
    }
    fields |= overrides
    return DayMeta(**fields)  # type: ignore[arg-type]


@pytest.fixture
def make_klines() -> MakeKlines:
    return klines


@pytest.fixture
def make_meta() -> MakeMeta:
    return meta_for
