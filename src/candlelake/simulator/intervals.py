"""Kline intervals and their bucket/block layout (blocks are the unit of generation and caching)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MINUTES = {
    "1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30,
    "1h": 60, "2h": 120, "4h": 240, "6h": 360, "8h": 480, "12h": 720,
    "1d": 1440, "3d": 4320, "1w": 10080,
}  # fmt: skip
SPOT_INTERVALS = ("1s", *MINUTES, "1M")  # 1s is served from the 1m truth (seconds.py)
FUTURES_INTERVALS = (*MINUTES, "1M")
MONDAY_MINUTE = 4 * 1440  # 1970-01-05, the first Monday: weekly candles open on Mondays
MAX_BLOCK_MINUTES = 92160  # 64 days of 1m candles per generation step


@dataclass(frozen=True)
class Bucketing:
    """Maps minutes to candle buckets, grouped into blocks of whole buckets."""

    interval: str

    @property
    def minutes(self) -> int:
        return MINUTES.get(self.interval, 0)

    def _fixed(self) -> tuple[int, int]:
        step = self.minutes
        origin = MONDAY_MINUTE if self.interval == "1w" else 0
        per_block = max(1, min(max(1440, step * 384), MAX_BLOCK_MINUTES) // step)
        return origin, step * per_block

    def block_of(self, minute: int) -> int:
        if self.interval == "1M":
            return int(np.datetime64(minute, "m").astype("datetime64[Y]").astype(np.int64))
        origin, size = self._fixed()
        return (minute - origin) // size

    def edges(self, block: int) -> npt.NDArray[np.int64]:
        """Bucket boundaries in minutes: len == buckets + 1."""
        if self.interval == "1M":
            months = np.arange(block * 12, block * 12 + 13).astype("datetime64[M]")
            return months.astype("datetime64[m]").astype(np.int64)
        origin, size = self._fixed()
        start = origin + block * size
        return np.arange(start, start + size + 1, self.minutes, dtype=np.int64)
