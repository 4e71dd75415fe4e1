"""Compare archive candles with REST candles, field by field (`--verify-sample N`). Pure."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from candlelake.klines import FULL_SCHEMA
from candlelake.timeutil import fmt_ms

ROW = "row"  # the `field` of a difference where a candle is on one side only

Value = int | float | None


@dataclass(frozen=True)
class FieldDifference:
    """One disagreement. For `field == "row"` the absent side is None and the present side
    holds the open time."""

    timestamp: int
    field: str
    archive_value: Value
    rest_value: Value

    def __str__(self) -> str:
        if self.field == ROW:
            side = "archive" if self.rest_value is None else "REST"
            return f"{fmt_ms(self.timestamp)}: candle only in {side}"
        when = fmt_ms(self.timestamp)
        return f"{when} {self.field}: archive {self.archive_value!r} != REST {self.rest_value!r}"


def compare_days(archive: pa.Table, rest: pa.Table, *, rel_tol: float = 0.0) -> list[FieldDifference]:
    """Every difference between two tables of the same symbol and days, by open time.

    Compares each lake column present in both tables. Both sides come from the same
    decimal strings, so floats must be equal exactly by default (`rel_tol` loosens it);
    NaN equals NaN. Timestamps are expected unique per side (validated tables).
    Sorted by (timestamp, column order).
    """
    a_ts = archive.column("timestamp").to_numpy()
    r_ts = rest.column("timestamp").to_numpy()
    common, a_idx, r_idx = np.intersect1d(a_ts, r_ts, assume_unique=False, return_indices=True)
    out: list[FieldDifference] = [
        FieldDifference(int(t), ROW, int(t), None) for t in np.setdiff1d(a_ts, r_ts)
    ]
    out += [FieldDifference(int(t), ROW, None, int(t)) for t in np.setdiff1d(r_ts, a_ts)]
    fields = [f.name for f in FULL_SCHEMA if f.name != "timestamp" and f.name in archive.column_names]
    fields = [name for name in fields if name in rest.column_names]
    order = {name: i for i, name in enumerate(fields)}
    for name in fields:
        a_vals = archive.column(name).to_numpy()[a_idx]
        r_vals = rest.column(name).to_numpy()[r_idx]
        differs = ~_equal(a_vals, r_vals, rel_tol)
        for i in np.flatnonzero(differs):
            out.append(FieldDifference(int(common[i]), name, a_vals[i].item(), r_vals[i].item()))
    out.sort(key=lambda d: (d.timestamp, -1 if d.field == ROW else order[d.field]))
    return out


def _equal(a: np.ndarray, b: np.ndarray, rel_tol: float) -> np.ndarray:
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return np.asarray(a == b)
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    if rel_tol == 0.0:
        return np.asarray((a == b) | both_nan)
    close = np.abs(a - b) <= rel_tol * np.maximum(np.abs(a), np.abs(b))
    return np.asarray(close | both_nan)


def pick_sample_days(days: Sequence[date], n: int, seed: int) -> list[date]:
    """`n` distinct days drawn from `days` (all of them if fewer), reproducible per seed, sorted."""
    if n < 0:
        raise ValueError("sample size must be >= 0")
    pool = sorted(set(days))
    if n >= len(pool):
        return pool
    return sorted(random.Random(seed).sample(pool, n))
