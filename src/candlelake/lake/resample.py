"""Resample 1-minute candles to a coarser timeframe (`5m`, `1h`, `1d`, ...). Pure.

A bar opens at a multiple of the interval since the epoch (so `1d` bars open at 00:00 UTC):
open is the first minute's open, close the last minute's close, high the highest high, low
the lowest low, and volumes and trade counts add up. Missing minutes are not invented: a bar
is built from the minutes that exist, the column `minutes` says how many there were, and an
interval without any minute has no bar at all.
"""

from __future__ import annotations

import re
from typing import Final

import pyarrow as pa

from candlelake.errors import UsageError
from candlelake.timeutil import MINUTE_MS

_UNITS: Final = {"m": 1, "min": 1, "h": 60, "d": 1440}
_INTERVAL = re.compile(r"^(\d+)(m|min|h|d)$")

# How each column of a lake table combines into a bar.
_AGGREGATIONS: Final = {
    "open": "first",
    "high": "max",
    "low": "min",
    "close": "last",
    "volume": "sum",
    "close_time": "max",
    "quote_volume": "sum",
    "number_of_trades": "sum",
    "taker_buy_base_volume": "sum",
    "taker_buy_quote_volume": "sum",
    "exchange_id": "first",
    "knowledge_timestamp": "max",
    "year": "first",
    "month": "first",
}


def interval_ms(interval: str) -> int:
    """`1h` -> 3_600_000; UsageError for anything else than N followed by m, min, h or d."""
    match = _INTERVAL.fullmatch(interval.strip())
    if not match or int(match[1]) == 0:
        raise UsageError(f"bad interval {interval!r}; expected e.g. 1m, 5m, 15m, 1h, 4h, 1d")
    return int(match[1]) * _UNITS[match[2]] * MINUTE_MS


def resample(table: pa.Table, interval: str) -> pa.Table:
    """Bars of `interval` per currency pair from a `read(..., as_="arrow")` table."""
    step = interval_ms(interval)
    ordered = table.sort_by([("currency_pair", "ascending"), ("timestamp", "ascending")])
    ts = ordered.column("timestamp").to_numpy()
    bucket = pa.array(ts - ts % step, pa.int64())  # numpy: pyarrow 15 has no `remainder`
    work = ordered.drop_columns(["timestamp"]).append_column("timestamp", bucket)
    present = [c for c in _AGGREGATIONS if c in work.column_names]
    aggregations = [(c, _AGGREGATIONS[c]) for c in present] + [("timestamp", "count")]
    # One thread keeps each group's rows in order, which `first` and `last` need.
    grouped = work.group_by(["currency_pair", "timestamp"], use_threads=False).aggregate(aggregations)
    renamed = grouped.rename_columns([_plain(name) for name in grouped.column_names])
    columns = ["timestamp", *present, "minutes", "currency_pair"]
    columns = [c for c in columns if c in renamed.column_names]
    out = renamed.select(columns)
    return out.sort_by([("currency_pair", "ascending"), ("timestamp", "ascending")])


def _plain(name: str) -> str:
    if name == "timestamp_count":
        return "minutes"
    for suffix in ("_first", "_last", "_max", "_min", "_sum"):
        if name.endswith(suffix) and name[: -len(suffix)] in _AGGREGATIONS:
            return name[: -len(suffix)]
    return name
