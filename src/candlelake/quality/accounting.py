"""Bar accounting of one (symbol, partition) from its footer: rows, and missing bars by reason. Pure.

Bars are those of the dataset's interval (`BarGrid`): minutes for 1m, hours for 1h, ...;
funding months count settlements the same way. A partition's expected bars are split into:
rows; bars the footer explains (not listed, delisted, exchange maintenance or no settlement
published); bars the footer names but that are still holes (a failed fetch, an invalid row);
bars the footer's window does not cover; and bars nobody explains. Only the first two are fine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.lake.schema import DayMeta
from candlelake.timeutil import Window
from candlelake.validate.funding import MISSING_SETTLEMENT
from candlelake.validate.gaps import EXCHANGE_GAP

_NOT_PUBLISHED = MISSING_SETTLEMENT.split("(")[0].strip()

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
    if reason == EXCHANGE_GAP or reason.startswith(_NOT_PUBLISHED):
        return "maintenance"
    if reason.startswith("invalid row"):
        return "invalid"
    return "failed"  # failed after retries, a ban, a day that could not be written, ...


@dataclass
class DayAccount:
    """Rows and missing bars by category of one (symbol, partition)."""

    rows: int = 0
    bars: dict[str, int] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)  # the distinct hole reasons, for people

    @property
    def unexplained(self) -> int:
        return sum(self.bars.get(c, 0) for c in UNEXPLAINED)

    @property
    def explained(self) -> int:
        return sum(self.bars.get(c, 0) for c in EXPLAINED)

    def add(self, category: str, bars: int) -> None:
        if bars > 0:
            self.bars[category] = self.bars.get(category, 0) + bars

    def note(self, category: str, reason: str) -> None:
        """Keep a hole's reason for people (each once)."""
        if category in UNEXPLAINED and reason not in self.reasons:
            self.reasons.append(reason)


def account_day(
    meta: DayMeta, expected: Window, rows: int | None = None, grid: BarGrid = MINUTE_GRID
) -> DayAccount:
    """Split `expected` (the closed bars of the partition) by what the footer says.

    `rows` is the number of distinct on-grid rows inside the window when the rows were read;
    otherwise the footer's count, which the writer checked.
    """
    account = DayAccount(rows=meta.rows if rows is None else rows)
    covered = expected.intersect(Window(meta.window_start_ms, meta.window_end_ms))
    covered_bars = grid.count(covered) if covered else 0
    account.add("uncovered", grid.count(expected) - covered_bars)
    if covered is None:
        return account
    named = 0
    for gap in meta.gaps:
        part = covered.intersect(Window(int(gap["start_ms"]), max(int(gap["start_ms"]), int(gap["end_ms"]))))
        if part is None:
            continue
        bars = grid.count(part)
        category = categorize(str(gap.get("reason", "")))
        account.add(category, bars)
        named += bars
        account.note(category, str(gap.get("reason")))
    # Rows and named gaps should fill the window exactly; what is left has no reason.
    account.add("unexplained", covered_bars - account.rows - named)
    return account
