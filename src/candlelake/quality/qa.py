"""`candlelake qa`: what a dataset holds, what it lacks and why, and whether its rows are sane.

Bars are those of the dataset's interval (the request's `BarGrid`): per (symbol, partition) —
a UTC day, or a month for 3d, 1w and 1M — the answer comes from the gap ledger when its entry
still describes the file (same size), otherwise from the file itself (footer and rows).
Partitions without a file are explained by the symbol's first and last files (not listed yet,
delisted) or are holes. Funding datasets have their own accounting (quality/funding_qa.py).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq

from candlelake.lake import layout
from candlelake.lake.ledger import Ledger, LedgerEntry
from candlelake.lake.listing import list_day_files, present_symbols
from candlelake.lake.schema import META_KEY, DayMeta
from candlelake.lake.storage import FileSystem, url_of
from candlelake.quality.accounting import account_day
from candlelake.quality.funding_qa import run_funding_qa
from candlelake.quality.qa_model import (
    EXPLAINED_KEYS,
    DayStatus,
    QaReport,
    QaRequest,
    absent,
    chosen_symbols,
    closed,
    corrupt,
    failing_days,
    no_data,
    partition_keys,
    partition_range,
)
from candlelake.timeutil import Window
from candlelake.validate.checks import Finding, check_rows


def run_qa(request: QaRequest) -> QaReport:
    """Check a dataset; see the module docstring."""
    if request.funding:
        return run_funding_qa(request)
    fs, root = request.location.filesystem()
    ledger = Ledger(fs, root)
    present = present_symbols(fs, root)
    symbols = chosen_symbols(request, present)
    low, high = partition_range(request)
    files = {s: list_day_files(fs, root, s, low, high) for s in symbols}
    first, last = _span(request, files)
    report = QaReport(request.location.url, first, last, unit=request.unit, interval=request.grid.interval,
                      monthly=request.monthly)  # fmt: skip
    if first is None or last is None:
        report.findings += [no_data(s, "no data at all") for s in symbols]
        return report
    now_ms = request.now_ms if request.now_ms is not None else int(time.time() * 1000)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for symbol in symbols:
            _check_symbol(report, pool, fs, ledger, symbol, files[symbol], first, last, now_ms, request)
    return closed(report)


def _check_symbol(
    report: QaReport,
    pool: ThreadPoolExecutor,
    fs: FileSystem,
    ledger: Ledger,
    symbol: str,
    files: dict[dt.date, tuple[str, int]],
    first: dt.date,
    last: dt.date,
    now_ms: int,
    request: QaRequest,
) -> None:
    grid = request.grid
    known = ledger.entries(symbol, layout.months_between(first, last))
    # An entry holds when it describes the file there now, or a day that has no file (size 0:
    # no candle at all, with the reasons). With --deep every file is read anyway.
    fresh = {
        d: e
        for d, e in known.items()
        if (d in files and files[d][1] == e.size and not request.deep) or (d not in files and e.size == 0)
    }
    if not files and not fresh:
        report.findings.append(no_data(symbol, f"no file from {first} to {last}"))
    stale = [d for d in sorted(files) if d not in fresh]
    read = dict(
        zip(stale, pool.map(lambda d: _inspect(fs, symbol, d, files[d][0], request), stale), strict=True)
    )
    report.from_ledger += len(fresh)
    report.from_files += len(stale)
    metas = {d: e.meta for d, e in fresh.items()} | {d: r.meta for d, r in read.items() if r.meta}
    listed_from, delisted_at = _lifecycle(metas)
    for day in partition_keys(request, first, last):
        expected = _expected(request, day, now_ms)
        if expected is not None:
            path = url_of(fs, files[day][0]) if day in files else None
            if day in fresh:
                status = _status(symbol, day, fresh[day], None, expected, path, request)
            elif day in read:
                status = _status(symbol, day, None, read[day], expected, path, request)
            else:
                status = absent(
                    symbol, day, grid.count(expected), listed_from, delisted_at, bool(files or fresh), request
                )
            report.days.append(status)


def _span(
    request: QaRequest, files: dict[str, dict[dt.date, tuple[str, int]]]
) -> tuple[dt.date | None, dt.date | None]:
    """The first and last partition key to check: asked for, else the first and last present."""
    keys = [d for f in files.values() for d in f]
    low, high = partition_range(request)
    return low or (min(keys) if keys else None), high or (max(keys) if keys else None)


@dataclass
class _Inspection:
    meta: DayMeta | None
    rows: int
    findings: list[Finding]
    error: str | None = None


def _inspect(fs: FileSystem, symbol: str, day: dt.date, path: str, request: QaRequest) -> _Inspection:
    """Read one file whole: footer, distinct on-grid rows in its window, row findings."""
    try:
        with fs.open(path, "rb") as handle:
            table = pq.read_table(handle)
    except Exception as exc:  # pyarrow, fsspec and OS errors share no base class
        return _Inspection(None, 0, [], f"{type(exc).__name__}: {exc}".splitlines()[0])
    raw = (table.schema.metadata or {}).get(META_KEY)
    meta = DayMeta.from_json(raw) if raw is not None else None
    grid = request.grid
    findings = check_rows(symbol, day.isoformat(), table, request.checks, grid=grid)
    ts = np.asarray(table.column("timestamp").to_numpy(), dtype=np.int64)
    window = grid.partition_window(day) if meta is None else Window(meta.window_start_ms, meta.window_end_ms)
    inside = ts[(ts >= window.start_ms) & (ts < window.end_ms) & grid.on_grid(ts)]
    return _Inspection(meta, len(np.unique(inside)), findings)


def _status(
    symbol: str,
    day: dt.date,
    entry: LedgerEntry | None,
    inspection: _Inspection | None,
    expected: Window,
    path: str | None,
    request: QaRequest,
) -> DayStatus:
    grid = request.grid
    if inspection is not None and inspection.error is not None:
        return corrupt(symbol, day, grid.count(expected), inspection.error, path)
    meta = entry.meta if entry else inspection.meta if inspection else None
    findings = list(entry.findings if entry else inspection.findings if inspection else [])
    if meta is None:
        # A file without our footer (upstream's): its rows are all there is to know.
        rows = inspection.rows if inspection else 0
        meta = DayMeta(symbol, day, expected.start_ms, expected.end_ms, rows, False, "unknown")
    account = account_day(meta, expected, None if inspection is None else inspection.rows, grid)
    return DayStatus.judged(symbol, day, account, findings, path, request.unit)


def _lifecycle(metas: dict[dt.date, DayMeta]) -> tuple[dt.date | None, dt.date | None]:
    """The first day of a symbol known to be listed and the day it was delisted, from footers."""
    if not metas:
        return None, None
    first, last = min(metas), max(metas)
    listed = first if _has_reason(metas[first], "not listed") else None
    delisted = last if _has_reason(metas[last], "delisted") else None
    return listed, delisted


def _has_reason(meta: DayMeta, prefix: str) -> bool:
    return any(str(g.get("reason", "")).startswith(prefix) for g in meta.gaps)


def _expected(request: QaRequest, key: dt.date, now_ms: int) -> Window | None:
    """The closed bars of partition `key` as of `now_ms`; None for one that has not begun."""
    grid = request.grid
    whole = grid.partition_window(key)
    # A bar is closed once the next one opens: those opening before the current bar's open.
    end = min(whole.end_ms, grid.floor(now_ms))
    return Window(whole.start_ms, end) if end > whole.start_ms else None


__all__: Sequence[str] = ["EXPLAINED_KEYS", "DayStatus", "QaReport", "QaRequest", "failing_days", "run_qa"]
