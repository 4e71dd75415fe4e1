"""`candlelake qa` on a funding_rate dataset: every settlement due is stored once or explained.

Funding has no gap ledger: a month holds at most a few hundred settlements in one small file,
so every month file is read. Per (symbol, month) the rows are checked (readable, finite rates,
one row per settlement, sorted, inside the month, each on its interval's UTC grid) and the
settlements due are rebuilt from the rows themselves (validate/funding.py, with the previous
month's last settlement as context). Each due settlement without a row is explained by the
footer's `missing` list (the exchange published none: `maintenance`; not listed yet), lies
outside the part of the month the downloads covered (`uncovered`), or is `unexplained`.

Without a ledger a month with no settlement at all leaves no trace: a month without a file is
explained only before the listing the symbol's first footer records; any other is a
`missing_file`, counted as the settlements an 8 h schedule would have had.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from candlelake.bars import grid_of
from candlelake.lake.funding import funding_meta
from candlelake.lake.listing import list_day_files, present_symbols
from candlelake.lake.schema import META_KEY
from candlelake.lake.storage import FileSystem, url_of
from candlelake.quality.accounting import DayAccount, categorize
from candlelake.quality.qa_model import (
    DayStatus,
    QaReport,
    QaRequest,
    absent,
    chosen_symbols,
    closed,
    corrupt,
    no_data,
    partition_keys,
    partition_range,
)
from candlelake.timeutil import MINUTE_MS, Window, day_window, floor_minute, month_window
from candlelake.validate.checks import Finding
from candlelake.validate.funding import (
    DEFAULT_INTERVAL_HOURS,
    FUNDING_SCHEMA,
    HOUR_MS,
    KNOWN_INTERVALS_HOURS,
    Settlement,
    missing_settlements,
    settlements,
)

_DEFAULT_GRID = grid_of(f"{DEFAULT_INTERVAL_HOURS}h")


@dataclass
class _Month:
    """What one month file holds: its settlements, footer and row findings, or why it is unreadable."""

    items: list[Settlement] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None


def run_funding_qa(request: QaRequest) -> QaReport:
    """Check a funding dataset; see the module docstring."""
    fs, root = request.location.filesystem()
    symbols = chosen_symbols(request, present_symbols(fs, root))
    low, high = partition_range(request)
    # One month earlier too: its last settlement tells when the first of `low` was due.
    context = None if low is None else (low - dt.timedelta(days=1)).replace(day=1)
    files = {s: list_day_files(fs, root, s, context, high) for s in symbols}
    keys = [d for f in files.values() for d in f if low is None or d >= low]
    first, last = low or (min(keys) if keys else None), high or (max(keys) if keys else None)
    report = QaReport(request.location.url, first, last, unit="settlements", interval=None, monthly=True)
    if first is None or last is None:
        report.findings += [no_data(s, "no data at all") for s in symbols]
        return report
    now_ms = floor_minute(request.now_ms if request.now_ms is not None else int(time.time() * 1000))
    with ThreadPoolExecutor(max_workers=8) as pool:
        for symbol in symbols:
            paths = [(symbol, key, path) for key, (path, _) in files[symbol].items()]
            months = dict(zip(files[symbol], pool.map(lambda a: _read(fs, *a), paths), strict=True))
            report.from_files += sum(1 for d in months if d >= first)
            _check_symbol(report, fs, symbol, months, files[symbol], first, last, now_ms, request)
    return closed(report)


def _check_symbol(
    report: QaReport,
    fs: FileSystem,
    symbol: str,
    months: dict[dt.date, _Month],
    files: dict[dt.date, tuple[str, int]],
    first: dt.date,
    last: dt.date,
    now_ms: int,
    request: QaRequest,
) -> None:
    inside = {d: m for d, m in months.items() if d >= first}
    if not inside:
        report.findings.append(no_data(symbol, f"no file from {first} to {last}"))
    readable = sorted(d for d, m in inside.items() if m.error is None)
    # The first month's footer says whether the symbol was listed during it (its first settlements).
    gaps = months[readable[0]].meta.get("missing", ()) if readable else ()
    reasons = [str(g.get("reason", "")) for g in gaps]
    listed_from = readable[0] if any(r.startswith("not listed") for r in reasons) else None
    # Only the settlements due in the requested days count: a daily run's month file covers
    # its day, and the rest of the month is another run's (or not due yet).
    asked = Window(
        day_window(request.first_day).start_ms if request.first_day else 0,
        min(now_ms, day_window(request.last_day).end_ms if request.last_day else now_ms),
    )
    previous: Settlement | None = None
    for key in partition_keys(request, first, last):
        whole = month_window(key.year, key.month)
        expected = whole.intersect(asked)
        month = months.get(key)
        before = key - dt.timedelta(days=1)
        if previous is None and before.replace(day=1) in months:
            items = months[before.replace(day=1)].items
            previous = items[-1] if items else None
        if expected is None:
            continue
        path = url_of(fs, files[key][0]) if key in files else None
        if month is None:
            count = _DEFAULT_GRID.count(expected)
            report.days.append(absent(symbol, key, count, listed_from, None, bool(inside), request))
        elif month.error is not None:
            report.days.append(corrupt(symbol, key, _DEFAULT_GRID.count(expected), month.error, path))
        else:
            account = _account(month, expected, previous)
            report.days.append(DayStatus.judged(symbol, key, account, month.findings, path, request.unit))
        previous = month.items[-1] if month is not None and month.items else None


def _read(fs: FileSystem, symbol: str, key: dt.date, path: str) -> _Month:
    """Read one month file: its settlements (one per nominal minute), footer and row findings."""
    try:
        with fs.open(path, "rb") as handle:
            table = pq.read_table(handle)
        meta = funding_meta((table.schema.metadata or {}).get(META_KEY))
        table = table.select(FUNDING_SCHEMA.names).cast(FUNDING_SCHEMA)
    except Exception as exc:  # pyarrow, fsspec, JSON and OS errors share no base class
        return _Month(error=f"{type(exc).__name__}: {exc}".splitlines()[0])
    ts = np.asarray(table.column("timestamp").to_numpy(), dtype=np.int64)
    rate = np.asarray(table.column("funding_rate").to_numpy(), dtype=np.float64)
    hours = np.asarray(table.column("funding_interval_hours").to_numpy(), dtype=np.int64)
    nominal = ts - ts % MINUTE_MS
    whole = month_window(key.year, key.month)
    day = key.isoformat()
    findings: list[Finding] = []

    def add(check: str, mask: np.ndarray, detail: str) -> None:
        hits = np.flatnonzero(mask)
        if len(hits):
            findings.append(Finding(symbol, day, check, "fail", len(hits), int(ts[hits[0]]), detail))

    add("non_finite", ~np.isfinite(rate), "NaN or infinite funding rate")
    order = np.argsort(nominal, kind="stable")
    repeated = np.zeros(len(ts), dtype=bool)
    repeated[order[1:]] = nominal[order][1:] == nominal[order][:-1]
    add("duplicate", repeated, "settlement repeated")
    if len(ts) > 1:
        add("unsorted", np.diff(ts) < 0, "rows not sorted by timestamp")
    outside = (nominal < whole.start_ms) | (nominal >= whole.end_ms)
    add("outside", outside, "settlement outside the file's month")
    known = np.isin(hours, KNOWN_INTERVALS_HOURS)
    off = ~known | (nominal % (np.where(known, hours, 1) * HOUR_MS) != 0)
    add("off_schedule", off, "settlement not on its interval's UTC grid (00:00 + k x interval)")
    items = [s for s in settlements(table) if whole.start_ms <= s.nominal_ms < whole.end_ms]
    return _Month(items, meta, findings)


def _account(month: _Month, expected: Window, previous: Settlement | None) -> DayAccount:
    """Settlements stored, and every one due in `expected` but absent, by the footer's reason."""
    account = DayAccount(rows=sum(expected.start_ms <= s.nominal_ms < expected.end_ms for s in month.items))
    meta = month.meta
    covered = Window(
        int(meta.get("window_start_ms", expected.start_ms)), int(meta.get("window_end_ms", expected.end_ms))
    )
    explained = [
        (int(g["start_ms"]), int(g["end_ms"]), str(g.get("reason", ""))) for g in meta.get("missing", ())
    ]
    chain = ([previous] if previous else []) + month.items
    for gap in missing_settlements(chain, expected):
        due = gap.start_ms
        if not covered.start_ms <= due < covered.end_ms:
            account.add("uncovered", 1)
            continue
        reason = next((r for start, end, r in explained if start <= due < end), None)
        category = "unexplained" if reason is None else categorize(reason)
        account.add(category, 1)
        if reason is not None:
            account.note(category, reason)
    return account
