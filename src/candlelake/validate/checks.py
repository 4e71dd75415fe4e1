"""Checks on the rows of one day file: OHLC logic, volumes, finiteness, time grid, flat runs, jumps.

Pure: a table in, findings out. Each finding names its check, how many rows it concerns and the
first one, so a person can go and look. Flat runs are flagged (`severity="flag"`); everything
else fails QA.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

import numpy as np
import pyarrow as pa

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.timeutil import fmt_ms

Severity = Literal["fail", "flag"]

PRICE_COLUMNS: Final = ("open", "high", "low", "close")
FLAT_RUN_MINUTES: Final = 30  # price unchanged with zero volume for this long is flagged
JUMP_Z: Final = 25.0  # robust z-score above which a close-to-close move is an outlier
_MAD_TO_SIGMA: Final = 1.4826  # MAD of a normal distribution times this is its sigma


@dataclass(frozen=True)
class Finding:
    """One problem (or, for `flag`, one thing worth a look) in one symbol-day."""

    symbol: str
    day: str
    check: str
    severity: Severity
    count: int
    first_ms: int | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    def __str__(self) -> str:
        where = f" first at {fmt_ms(self.first_ms)}" if self.first_ms is not None else ""
        return f"{self.symbol} {self.day} {self.check}: {self.detail} ({self.count}x{where})"


@dataclass(frozen=True)
class CheckSettings:
    """Thresholds of the data checks."""

    flat_run_minutes: int = FLAT_RUN_MINUTES
    jump_z: float = JUMP_Z


def check_rows(
    symbol: str,
    day: str,
    table: pa.Table,
    settings: CheckSettings | None = None,
    *,
    validated: bool = False,
    grid: BarGrid = MINUTE_GRID,
) -> list[Finding]:
    """Every finding in the rows of `symbol`'s file for `day` (lake columns), bars of `grid`.

    `validated`: the rows have just passed `validate_klines` (finite, OHLC-consistent,
    non-negative volume, sorted, no repeats), so those checks cannot find anything and are
    skipped; the grid, flat-run and jump checks still run.
    """
    settings = settings or CheckSettings()
    if table.num_rows == 0:
        return []
    ts = np.asarray(table.column("timestamp").to_numpy(), dtype=np.int64)
    o, h, lo, c, v = (
        np.asarray(table.column(n).to_numpy(zero_copy_only=False), dtype=np.float64)
        for n in (*PRICE_COLUMNS, "volume")
    )
    found: list[Finding] = []

    def add(check: str, mask: np.ndarray, detail: str, severity: Severity = "fail") -> None:
        hits = np.flatnonzero(mask)
        if len(hits):
            found.append(Finding(symbol, day, check, severity, len(hits), int(ts[hits[0]]), detail))

    if not validated:
        finite = np.isfinite(np.stack([o, h, lo, c, v]))
        add("non_finite", np.asarray(~finite.all(axis=0)), "NaN or infinite value")
        with np.errstate(invalid="ignore"):
            bad_ohlc = (lo > np.minimum(o, c)) | (h < np.maximum(o, c)) | (lo > h)
            add("ohlc", bad_ohlc, "low <= open, close <= high does not hold")
            add("negative_volume", v < 0, "negative volume")
    grid_name = "minute" if grid.interval == "1m" else f"{grid.interval}"
    add("off_grid", ~grid.on_grid(ts), f"timestamp not on the {grid_name} grid")
    if not validated:
        order = np.argsort(ts, kind="stable")
        sorted_ts = ts[order]
        repeated = np.zeros(len(ts), dtype=bool)
        repeated[order[1:]] = sorted_ts[1:] == sorted_ts[:-1]
        add("duplicate", repeated, "timestamp repeated")
        if len(ts) > 1:
            add("unsorted", np.diff(ts) < 0, "rows not sorted by timestamp")
    found += _flat_runs(symbol, day, ts, o, h, lo, c, v, settings.flat_run_minutes, grid.unit)
    found += _jumps(symbol, day, ts, c, settings.jump_z)
    return found


def _flat_runs(
    symbol: str,
    day: str,
    ts: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    minutes: int,
    unit: str,
) -> list[Finding]:
    # A flat minute (bar): one price for all four fields, no volume, same price as the minute before.
    flat = (o == h) & (h == lo) & (lo == c) & (v == 0)
    flat[1:] &= c[1:] == c[:-1]
    runs = _run_lengths(flat)
    long_runs = [(start, n) for start, n in runs if n >= minutes]
    if not long_runs:
        return []
    total = sum(n for _, n in long_runs)
    detail = f"{len(long_runs)} run(s) of >= {minutes} flat {unit} with zero volume ({total} {unit})"
    return [Finding(symbol, day, "flat_run", "flag", total, int(ts[long_runs[0][0]]), detail)]


def _run_lengths(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start index, length) of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e - s)) for s, e in zip(edges[::2], edges[1::2], strict=True)]


def _jumps(symbol: str, day: str, ts: np.ndarray, close: np.ndarray, z_limit: float) -> list[Finding]:
    """Close-to-close log moves far outside the day's typical move, by a robust z-score.

    Median and MAD instead of mean and standard deviation, so that the outliers being
    looked for do not widen the yardstick. A day with too few moves or no movement at all
    (MAD 0, e.g. an illiquid pair) has no yardstick and is not judged.
    """
    ok = np.isfinite(close) & (close > 0)
    if ok.sum() < 30:
        return []
    prices = close[ok]
    moves = np.diff(np.log(prices))
    median = _median(moves)
    mad = _median(np.abs(moves - median)) * _MAD_TO_SIGMA
    if mad == 0:
        return []
    z = np.abs(moves - median) / mad
    hits = np.flatnonzero(z > z_limit)
    if not len(hits):
        return []
    times = ts[ok][1:]
    worst = float(z[hits].max())
    detail = f"close moved {len(hits)} time(s) beyond {z_limit:g} robust sigmas (worst {worst:.0f})"
    return [Finding(symbol, day, "jump", "fail", len(hits), int(times[hits[0]]), detail)]


def _median(values: np.ndarray) -> np.float64:
    """`np.median` of finite values, to the bit. np.median's NaN check imports numpy.ma,
    which a download process would pay for at start-up (tens of milliseconds)."""
    half = len(values) // 2
    if len(values) % 2:
        return np.float64(np.partition(values, half)[half])
    low, high = np.partition(values, [half - 1, half])[half - 1 : half + 1]
    return np.float64((low + high) / 2)
