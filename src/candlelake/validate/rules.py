"""OHLCV invariants. Pure: a table goes in, the good rows and a list of problems come out."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.timeutil import Window


@dataclass(frozen=True)
class RowProblem:
    timestamp: int
    reason: str


@dataclass(frozen=True)
class Validated:
    table: pa.Table
    problems: tuple[RowProblem, ...]
    duplicates_dropped: int


def validate_klines(table: pa.Table, window: Window, grid: BarGrid = MINUTE_GRID) -> Validated:
    """Sort, deduplicate by open time and keep only rows that obey the candle rules.

    Identical duplicates are dropped silently (pages may overlap); duplicates that
    disagree, and rows that break a rule, are returned as problems and not kept.
    """
    if table.num_rows == 0:
        return Validated(table, (), 0)
    ts = table.column("timestamp").to_numpy()
    if (np.diff(ts) < 0).any():  # archive files and pages are sorted already: no sort then
        table = table.sort_by("timestamp")
        ts = table.column("timestamp").to_numpy()
    problems: list[RowProblem] = []
    keep = np.ones(len(ts), dtype=bool)

    same_as_prev = np.zeros(len(ts), dtype=bool)
    same_as_prev[1:] = ts[1:] == ts[:-1]
    duplicates = 0
    if same_as_prev.any():
        values = {name: table.column(name).to_numpy() for name in table.column_names}
        for i in np.flatnonzero(same_as_prev):
            identical = all(_same(values[name][i], values[name][i - 1]) for name in table.column_names)
            keep[i] = False
            if identical:
                duplicates += 1
            else:
                keep[i - 1] = False
                problems.append(RowProblem(int(ts[i]), "conflicting duplicate rows"))

    checks = _rule_violations(table, window, grid)
    for reason, bad in checks:
        for i in np.flatnonzero(bad & keep):
            problems.append(RowProblem(int(ts[i]), reason))
        keep &= ~bad
    good = table if keep.all() else table.filter(pa.array(keep))
    problems.sort(key=lambda p: p.timestamp)
    return Validated(good, tuple(problems), duplicates)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return bool(a == b)


def _col(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    if column.type == pa.float64() and not column.null_count:
        return column.to_numpy()  # the common case, without a cast and a copy
    return pc.fill_null(column.cast(pa.float64()), np.nan).to_numpy()


def _rule_violations(table: pa.Table, window: Window, grid: BarGrid) -> list[tuple[str, np.ndarray]]:
    ts = np.asarray(table.column("timestamp").to_numpy(), dtype=np.int64)
    bar = "minute" if grid.interval == "1m" else f"{grid.interval} bar"
    o, h, lo, c, v = (_col(table, n) for n in ("open", "high", "low", "close", "volume"))
    finite = np.isfinite(np.stack([o, h, lo, c, v])).all(0)
    outside = (ts < window.start_ms) | (ts >= window.end_ms)
    with np.errstate(invalid="ignore"):
        checks = [
            ("value missing or not a finite number", ~finite),
            (f"open time not on a {bar} boundary", ~grid.on_grid(ts)),
            ("open time outside the requested window", outside),
            ("high below open or close", h < np.maximum(o, c)),
            ("low above open or close", lo > np.minimum(o, c)),
            ("negative volume", v < 0),
        ]
        names = set(table.column_names)
        if "close_time" in names:
            close_time = table.column("close_time").to_numpy(zero_copy_only=False)
            bad_close = close_time != grid.close_times(ts)
            what = "open time + 59999 ms" if grid.interval == "1m" else f"the {bar}'s end - 1 ms"
            checks.append((f"close time is not {what}", bad_close))
        if "number_of_trades" in names:
            trades = _col(table, "number_of_trades")
            checks.append(("negative or missing trade count", ~(trades >= 0)))
        if "taker_buy_base_volume" in names:
            taker = _col(table, "taker_buy_base_volume")
            quote = _col(table, "quote_volume")
            checks.append(("taker volume outside [0, volume]", ~((taker >= 0) & (taker <= v))))
            checks.append(("negative or missing quote volume", ~(quote >= 0)))
    return checks


def validate_days(days: Sequence[tuple[pa.Table, Window]], grid: BarGrid = MINUTE_GRID) -> list[Validated]:
    """`validate_klines` of each (table, window) pair, with the same results, in one pass when
    the days allow it (most often a month of one archive file).

    One pass over the joined days: per-day calls on 1,440 rows spend their time in call
    overhead, not arithmetic. It is equivalent when the windows follow each other and each
    table's rows lie in its window's partition (so a row outside its own window is outside
    them all, and repeats never cross days); otherwise each day is validated alone.
    """
    tables = [t for t, _ in days]
    windows = [w for _, w in days]
    if len(days) < 2 or not _joinable(tables, windows, grid):
        return [validate_klines(t, w, grid) for t, w in days]
    joined = validate_klines(pa.concat_tables(tables), Window(windows[0].start_ms, windows[-1].end_ms), grid)
    bounds = [grid.partition_window(grid.partition(w.start_ms)) for w in windows]
    starts = [b.start_ms for b in bounds] + [bounds[-1].end_ms]
    ts = joined.table.column("timestamp").to_numpy()
    rows = np.searchsorted(ts, starts, side="left")
    problem_ts = np.array([p.timestamp for p in joined.problems], dtype=np.int64)
    problems = np.searchsorted(problem_ts, starts, side="left")
    table = joined.table  # chunks follow the days, so each day's slice is one of them
    return [
        Validated(
            table.slice(int(rows[i]), int(rows[i + 1] - rows[i])),
            joined.problems[int(problems[i]) : int(problems[i + 1])],
            0,  # not counted per day; nothing reads it
        )
        for i in range(len(days))
    ]


def _joinable(tables: Sequence[pa.Table], windows: Sequence[Window], grid: BarGrid) -> bool:
    if any(a.end_ms != b.start_ms for a, b in itertools.pairwise(windows)):
        return False
    if any(t.schema != tables[0].schema for t in tables):
        return False
    for table, window in zip(tables, windows, strict=True):
        if not table.num_rows:
            continue
        partition = grid.partition_window(grid.partition(window.start_ms))
        if window.end_ms > partition.end_ms:
            return False
        ts = table.column("timestamp").to_numpy()
        if ts.min() < partition.start_ms or ts.max() >= partition.end_ms:
            return False
    return True
