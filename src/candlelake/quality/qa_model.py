"""What QA is asked and what it answers: the request, each partition's status, the report.

Shared by the bar QA (quality/qa.py) and the funding QA (quality/funding_qa.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.lake.storage import DatasetLocation
from candlelake.quality.accounting import EXPLAINED, DayAccount
from candlelake.validate.checks import CheckSettings, Finding

EXPLAINED_KEYS = EXPLAINED
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
    now_ms: int | None = None  # the clock (tests); bars after it are not expected yet
    grid: BarGrid = MINUTE_GRID  # the dataset's interval
    funding: bool = False  # a funding_rate dataset: month files of settlements

    @property
    def unit(self) -> str:
        """What the accounting counts: minutes, `1h bars`, ... or settlements."""
        return "settlements" if self.funding else self.grid.unit

    @property
    def monthly(self) -> bool:
        return self.funding or self.grid.monthly_partitions


@dataclass
class DayStatus:
    symbol: str
    day: dt.date
    state: DayState
    account: DayAccount
    findings: list[Finding] = field(default_factory=list)
    path: str | None = None

    @classmethod
    def judged(
        cls,
        symbol: str,
        day: dt.date,
        account: DayAccount,
        findings: list[Finding],
        path: str | None,
        unit: str,
    ) -> DayStatus:
        """A partition with a readable file: a `hole` finding first when bars are unexplained."""
        if account.unexplained:
            reasons = "; ".join(account.reasons) or "no reason recorded"
            parts = ", ".join(f"{k} {v}" for k, v in account.bars.items() if k not in EXPLAINED)
            detail = f"{parts} {_short(unit)} ({reasons})"
            hole = Finding(symbol, day.isoformat(), "hole", "fail", account.unexplained, None, detail)
            findings.insert(0, hole)
        failing = any(f.severity == "fail" for f in findings)
        state: DayState = "problem" if failing else "explained" if account.explained else "complete"
        return cls(symbol, day, state, account, findings, path)

    def to_dict(self, missing_key: str = "missing_minutes") -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "day": self.day.isoformat(),
            "state": self.state,
            "rows": self.account.rows,
            missing_key: dict(self.account.bars),
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
    unit: str = "minutes"  # what `missing_*` counts: minutes, `1h bars`, ..., settlements
    interval: str | None = "1m"  # None for funding
    monthly: bool = False  # one partition per (symbol, month); `day` is its first day

    @property
    def missing_key(self) -> str:
        """The JSON key of a partition's missing counts: missing_minutes, _bars or _settlements."""
        return "missing_" + self.unit.split()[-1]

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
            "interval": self.interval,
            "unit": self.unit,
            "partition": "month" if self.monthly else "day",
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "ok": self.ok,
            "failures": len(self.failures),
            "flags": len(self.findings) - len(self.failures),
            "days_from_ledger": self.from_ledger,
            "days_from_files": self.from_files,
            "findings": [f.to_dict() for f in self.findings],
            "days": [d.to_dict(self.missing_key) for d in self.days],
        }


def failing_days(report: QaReport) -> dict[str, list[dt.date]]:
    """{symbol: partition keys} that a re-download can fix: holes, missing and corrupt files, bad rows."""
    out: dict[str, list[dt.date]] = {}
    for status in report.days:
        if status.state in ("problem", "missing_file", "corrupt"):
            out.setdefault(status.symbol, []).append(status.day)
    return out


def _short(unit: str) -> str:
    return "min" if unit == "minutes" else unit


def corrupt(symbol: str, day: dt.date, expected: int, error: str, path: str | None) -> DayStatus:
    """A partition whose file cannot be read: every expected bar is unexplained."""
    finding = Finding(symbol, day.isoformat(), "corrupt", "fail", 1, None, f"unreadable file: {error}")
    return DayStatus(symbol, day, "corrupt", _whole("unexplained", expected), [finding], path)


def absent(
    symbol: str,
    day: dt.date,
    expected: int,
    listed_from: dt.date | None,
    delisted_at: dt.date | None,
    has_files: bool,
    request: QaRequest,
) -> DayStatus:
    """A partition without a file: before the listing, after the delisting, or missing."""
    if listed_from is not None and day < listed_from:
        return DayStatus(symbol, day, "explained", _whole("not_listed", expected))
    if delisted_at is not None and day > delisted_at:
        return DayStatus(symbol, day, "explained", _whole("delisted", expected))
    # A symbol without any file already has its one `no_data` finding; no need for one a day.
    what = "month" if request.monthly else "day"
    findings = (
        [Finding(symbol, day.isoformat(), "missing_file", "fail", expected, None, f"no file for this {what}")]
        if has_files
        else []
    )
    return DayStatus(symbol, day, "missing_file", _whole("unexplained", expected), findings)


def _whole(category: str, bars: int) -> DayAccount:
    account = DayAccount()
    account.add(category, bars)
    return account


def partition_range(request: QaRequest) -> tuple[dt.date | None, dt.date | None]:
    """The asked days as partition keys (a month partition's key is its first day)."""
    first, last = request.first_day, request.last_day
    if request.monthly:
        first, last = (None if d is None else d.replace(day=1) for d in (first, last))
    return first, last


def partition_keys(request: QaRequest, first: dt.date, last: dt.date) -> list[dt.date]:
    """Every partition key from `first` to `last`, both included."""
    if not request.monthly:
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    keys, key = [], first.replace(day=1)
    while key <= last:
        keys.append(key)
        key = (key + dt.timedelta(days=32)).replace(day=1)
    return keys


def chosen_symbols(request: QaRequest, present: list[str]) -> list[str]:
    """The symbols asked for, else the universe's and every one present."""
    return list(request.symbols) if request.symbols is not None else sorted({*request.universe, *present})


def no_data(symbol: str, detail: str) -> Finding:
    return Finding(symbol, "", "no_data", "fail", 0, None, detail)


def closed(report: QaReport) -> QaReport:
    """The report with every partition's findings added to its list."""
    report.findings += [f for d in report.days for f in d.findings]
    return report
