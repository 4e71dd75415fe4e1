"""`candlelake qa`: what a dataset holds, what it lacks and why, and whether its rows are sane.

Per (symbol, day) the answer comes from the gap ledger when its entry still describes the file
(same size), otherwise from the file itself (footer and rows). Days without a file are
explained by the symbol's first and last files (not listed yet, delisted) or are holes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq

from candlelake.lake import layout
from candlelake.lake.ledger import Ledger, LedgerEntry
from candlelake.lake.listing import list_day_files, present_symbols
from candlelake.lake.schema import META_KEY, DayMeta
from candlelake.lake.storage import DatasetLocation, FileSystem, url_of
from candlelake.quality.accounting import DayAccount, account_day, whole_day
from candlelake.timeutil import MINUTE_MS, Window, day_window, floor_minute
from candlelake.validate.checks import CheckSettings, Finding, check_rows

DayState = Literal["complete", "explained", "problem", "missing_file", "corrupt"]


@dataclass(frozen=True)
class QaRequest:
    """What to check. `symbols=None`: the universe's symbols and every symbol present."""

    location: DatasetLocation
    symbols: tuple[str, ...] | None = None
    universe: tuple[str, ...] = ()
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    deep: bool = False  # read every file, not only those the ledger does not describe
    checks: CheckSettings = field(default_factory=CheckSettings)
    now_ms: int | None = None  # the clock (tests); minutes after it are not expected yet


@dataclass
class DayStatus:
    symbol: str
    day: dt.date
    state: DayState
    account: DayAccount
    findings: list[Finding] = field(default_factory=list)
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "day": self.day.isoformat(),
            "state": self.state,
            "rows": self.account.rows,
            "missing_minutes": dict(self.account.minutes),
            "findings": [f.to_dict() for f in self.findings],
            "path": self.path,
        }


@dataclass
class QaReport:
    dataset: str
    first_day: dt.date | None
    last_day: dt.date | None
    days: list[DayStatus] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # every finding, days' and symbols'
    from_ledger: int = 0
    from_files: int = 0

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "fail"]

    @property
    def ok(self) -> bool:
        return not self.failures

    def symbols(self) -> list[str]:
        return sorted({d.symbol for d in self.days})

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "ok": self.ok,
            "failures": len(self.failures),
            "flags": len(self.findings) - len(self.failures),
            "days_from_ledger": self.from_ledger,
            "days_from_files": self.from_files,
            "findings": [f.to_dict() for f in self.findings],
            "days": [d.to_dict() for d in self.days],
        }


def run_qa(request: QaRequest) -> QaReport:
    """Check a dataset; see the module docstring."""
    fs, root = request.location.filesystem()
    ledger = Ledger(fs, root)
    present = present_symbols(fs, root)
    symbols = list(request.symbols) if request.symbols is not None else sorted({*request.universe, *present})
    files = {s: list_day_files(fs, root, s, request.first_day, request.last_day) for s in symbols}
    all_days = [d for f in files.values() for d in f]
    first = request.first_day or (min(all_days) if all_days else None)
    last = request.last_day or (max(all_days) if all_days else None)
    report = QaReport(request.location.url, first, last)
    if first is None or last is None:
        report.findings += [Finding(s, "", "no_data", "fail", 0, None, "no data at all") for s in symbols]
        return report
    now_ms = request.now_ms if request.now_ms is not None else int(time.time() * 1000)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for symbol in symbols:
            _check_symbol(report, pool, fs, ledger, symbol, files[symbol], first, last, now_ms, request)
    report.findings += [f for d in report.days for f in d.findings]
    return report


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
    known = ledger.entries(symbol, layout.months_between(first, last))
    # An entry holds when it describes the file there now, or a day that has no file (size 0:
    # no candle at all, with the reasons). With --deep every file is read anyway.
    fresh = {
        d: e
        for d, e in known.items()
        if (d in files and files[d][1] == e.size and not request.deep) or (d not in files and e.size == 0)
    }
    if not files and not fresh:
        report.findings.append(
            Finding(symbol, "", "no_data", "fail", 0, None, f"no file from {first} to {last}")
        )
    stale = [d for d in sorted(files) if d not in fresh]
    read = dict(
        zip(stale, pool.map(lambda d: _inspect(fs, symbol, d, files[d][0], request), stale), strict=True)
    )
    report.from_ledger += len(fresh)
    report.from_files += len(stale)
    metas = {d: e.meta for d, e in fresh.items()} | {d: r.meta for d, r in read.items() if r.meta}
    listed_from, delisted_at = _lifecycle(metas)
    day = first
    while day <= last:
        expected = _expected(day, now_ms)
        if expected is not None:
            path = url_of(fs, files[day][0]) if day in files else None
            if day in fresh:
                status = _status(symbol, day, fresh[day], None, expected, path)
            elif day in read:
                status = _status(symbol, day, None, read[day], expected, path)
            else:
                status = _absent(symbol, day, expected, listed_from, delisted_at, bool(files or fresh))
            report.days.append(status)
        day += dt.timedelta(days=1)


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
    findings = check_rows(symbol, day.isoformat(), table, request.checks)
    ts = np.asarray(table.column("timestamp").to_numpy(), dtype=np.int64)
    window = day_window(day) if meta is None else Window(meta.window_start_ms, meta.window_end_ms)
    inside = ts[(ts >= window.start_ms) & (ts < window.end_ms) & (ts % MINUTE_MS == 0)]
    return _Inspection(meta, len(np.unique(inside)), findings)


def _status(
    symbol: str,
    day: dt.date,
    entry: LedgerEntry | None,
    inspection: _Inspection | None,
    expected: Window,
    path: str | None,
) -> DayStatus:
    key = day.isoformat()
    if inspection is not None and inspection.error is not None:
        finding = Finding(symbol, key, "corrupt", "fail", 1, None, f"unreadable file: {inspection.error}")
        return DayStatus(symbol, day, "corrupt", whole_day("unexplained", expected), [finding], path)
    meta = entry.meta if entry else inspection.meta if inspection else None
    findings = list(entry.findings if entry else inspection.findings if inspection else [])
    if meta is None:
        # A file without our footer (upstream's): its rows are all there is to know.
        rows = inspection.rows if inspection else 0
        meta = DayMeta(symbol, day, expected.start_ms, expected.end_ms, rows, False, "unknown")
    account = account_day(meta, expected, None if inspection is None else inspection.rows)
    if account.unexplained:
        reasons = "; ".join(account.reasons) or "no reason recorded"
        parts = ", ".join(f"{k} {v}" for k, v in account.minutes.items() if k not in _EXPLAINED_KEYS)
        findings.insert(
            0, Finding(symbol, key, "hole", "fail", account.unexplained, None, f"{parts} min ({reasons})")
        )
    failing = any(f.severity == "fail" for f in findings)
    state: DayState = "problem" if failing else "explained" if account.explained else "complete"
    return DayStatus(symbol, day, state, account, findings, path)


_EXPLAINED_KEYS = ("not_listed", "delisted", "maintenance")


def _absent(
    symbol: str,
    day: dt.date,
    expected: Window,
    listed_from: dt.date | None,
    delisted_at: dt.date | None,
    has_files: bool,
) -> DayStatus:
    if listed_from is not None and day < listed_from:
        return DayStatus(symbol, day, "explained", whole_day("not_listed", expected))
    if delisted_at is not None and day > delisted_at:
        return DayStatus(symbol, day, "explained", whole_day("delisted", expected))
    # A symbol without any file already has its one `no_data` finding; no need for one a day.
    findings = (
        [
            Finding(
                symbol,
                day.isoformat(),
                "missing_file",
                "fail",
                expected.minutes,
                None,
                "no file for this day",
            )
        ]
        if has_files
        else []
    )
    return DayStatus(symbol, day, "missing_file", whole_day("unexplained", expected), findings)


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


def _expected(day: dt.date, now_ms: int) -> Window | None:
    """The closed minutes of `day` as of `now_ms`; None for a day that has not begun."""
    whole = day_window(day)
    end = min(whole.end_ms, floor_minute(now_ms))
    return Window(whole.start_ms, end) if end > whole.start_ms else None


def failing_days(report: QaReport) -> dict[str, list[dt.date]]:
    """{symbol: days} that a re-download can fix: holes, missing and corrupt files, bad rows."""
    out: dict[str, list[dt.date]] = {}
    for status in report.days:
        if status.state in ("problem", "missing_file", "corrupt"):
            out.setdefault(status.symbol, []).append(status.day)
    return out


__all__: Sequence[str] = ["QaReport", "QaRequest", "failing_days", "run_qa"]
