"""Minutes accounting of one (symbol, day) from its footer: rows, and missing minutes by reason. Pure.

A day's expected minutes are split into: rows; minutes the footer explains (not listed,
delisted, exchange maintenance); minutes the footer names but that are still holes (a failed
fetch, an invalid row); minutes the footer's window does not cover; and minutes nobody
explains. Only the first two are fine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from candlelake.lake.schema import DayMeta
from candlelake.timeutil import MINUTE_MS, Window
from candlelake.validate.gaps import EXCHANGE_GAP

# Reason categories, in report order. The first three are explained, the rest are holes.
EXPLAINED: Final = ("not_listed", "delisted", "maintenance")
UNEXPLAINED: Final = ("failed", "invalid", "uncovered", "unexplained")
CATEGORIES: Final = EXPLAINED + UNEXPLAINED


def categorize(reason: str) -> str:
    """The category of a footer gap reason (see validate/gaps.py for the wording)."""
    if reason.startswith("not listed"):
        return "not_listed"
    if reason.startswith("delisted"):
        return "delisted"
    if reason == EXCHANGE_GAP:
        return "maintenance"
    if reason.startswith("invalid row"):
        return "invalid"
    return "failed"  # failed after retries, a ban, a day that could not be written, ...


@dataclass
class DayAccount:
    """Rows and missing minutes by category of one (symbol, day)."""

    rows: int = 0
    minutes: dict[str, int] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)  # the distinct hole reasons, for people

    @property
    def unexplained(self) -> int:
        return sum(self.minutes.get(c, 0) for c in UNEXPLAINED)

    @property
    def explained(self) -> int:
        return sum(self.minutes.get(c, 0) for c in EXPLAINED)

    def add(self, category: str, minutes: int) -> None:
        if minutes > 0:
            self.minutes[category] = self.minutes.get(category, 0) + minutes


def account_day(meta: DayMeta, expected: Window, rows: int | None = None) -> DayAccount:
    """Split `expected` (the closed minutes of the day) by what the footer says.

    `rows` is the number of distinct on-grid rows inside the window when the rows were read;
    otherwise the footer's count, which the writer checked.
    """
    account = DayAccount(rows=meta.rows if rows is None else rows)
    covered = expected.intersect(Window(meta.window_start_ms, meta.window_end_ms))
    covered_minutes = covered.minutes if covered else 0
    account.add("uncovered", expected.minutes - covered_minutes)
    if covered is None:
        return account
    named = 0
    for gap in meta.gaps:
        start = max(int(gap["start_ms"]), covered.start_ms)
        end = min(int(gap["end_ms"]), covered.end_ms)
        if end <= start:
            continue
        minutes = (end - start) // MINUTE_MS
        category = categorize(str(gap.get("reason", "")))
        account.add(category, minutes)
        named += minutes
        if category in UNEXPLAINED and gap.get("reason") not in account.reasons:
            account.reasons.append(str(gap.get("reason")))
    # Rows and named gaps should fill the window exactly; what is left has no reason.
    account.add("unexplained", covered_minutes - account.rows - named)
    return account


def whole_day(category: str, expected: Window) -> DayAccount:
    """A day without a file, all of whose minutes fall in one category."""
    account = DayAccount()
    account.add(category, expected.minutes)
    return account
