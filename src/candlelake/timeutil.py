"""Pure time arithmetic. Every window is half-open, `[start_ms, end_ms)`, in UTC milliseconds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from candlelake.errors import UsageError

MINUTE_MS = 60_000
DAY_MS = 86_400_000
UTC = dt.UTC


@dataclass(frozen=True, order=True)
class Window:
    """Half-open interval of open times: a candle opening at t is in it iff start <= t < end."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms < self.start_ms:
            raise ValueError(f"window ends before it starts: {self}")

    @property
    def minutes(self) -> int:
        return (self.end_ms - self.start_ms) // MINUTE_MS

    def intersect(self, other: Window) -> Window | None:
        start, end = max(self.start_ms, other.start_ms), min(self.end_ms, other.end_ms)
        return Window(start, end) if start < end else None

    def days(self) -> list[dt.date]:
        """UTC days this window touches, in order."""
        if self.end_ms <= self.start_ms:
            return []
        first = self.start_ms // DAY_MS
        last = (self.end_ms - 1) // DAY_MS
        epoch = dt.date(1970, 1, 1)
        return [epoch + dt.timedelta(days=d) for d in range(first, last + 1)]

    def __str__(self) -> str:
        return f"[{fmt_ms(self.start_ms)}, {fmt_ms(self.end_ms)})"


def day_window(day: dt.date) -> Window:
    start = to_ms(dt.datetime(day.year, day.month, day.day, tzinfo=UTC))
    return Window(start, start + DAY_MS)


def month_window(year: int, month: int) -> Window:
    """The UTC calendar month, [1st 00:00, next month's 1st 00:00)."""
    start = dt.datetime(year, month, 1, tzinfo=UTC)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return Window(to_ms(start), to_ms(end))


def to_ms(ts: dt.datetime) -> int:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return int(ts.timestamp() * 1000)


def from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=UTC)


def fmt_ms(ms: int) -> str:
    return from_ms(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: str, *, flag: str = "timestamp") -> dt.datetime:
    """Parse any ISO form Airflow renders (`2024-02-19T00:00:00+00:00`, `2024-02-19 00:00`, `...Z`).

    A naive value means UTC. The result is always timezone-aware UTC.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        ts = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"cannot parse {flag} {value!r}; use ISO 8601, e.g. 2024-02-19T00:00:00+00:00"
        ) from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def parse_date(value: str, *, flag: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"cannot parse {flag} {value!r}; use YYYY-MM-DD") from None


def floor_minute(ms: int) -> int:
    return ms - ms % MINUTE_MS
