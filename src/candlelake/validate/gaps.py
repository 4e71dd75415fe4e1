"""Find and explain the bars of a window that have no candle (minutes, for 1m). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.timeutil import MINUTE_MS, Window, fmt_ms

GapKind = Literal["missing", "excluded"]

EXCHANGE_GAP = "exchange has no candles here (maintenance or outage)"


@dataclass(frozen=True)
class Lifecycle:
    """When a symbol trades: candles exist for open times in `[listed_ms, delisted_ms)`.

    Either bound may be unknown (None). `delisted_ms` is one minute past the last candle.
    """

    listed_ms: int | None = None
    delisted_ms: int | None = None


@dataclass(frozen=True)
class Gap:
    """A run of minutes without a candle. `excluded` gaps are expected (not listed yet,
    delisted); `missing` gaps are not, and fail `--assert_on_missing_data`."""

    start_ms: int
    end_ms: int
    kind: GapKind
    reason: str

    @property
    def minutes(self) -> int:
        return (self.end_ms - self.start_ms) // MINUTE_MS

    def to_dict(self) -> dict[str, object]:
        return {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "kind": self.kind,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Gap:
        kind: GapKind = "excluded" if data.get("kind") == "excluded" else "missing"
        return cls(int(str(data["start_ms"])), int(str(data["end_ms"])), kind, str(data["reason"]))

    def __str__(self) -> str:
        if (self.end_ms - self.start_ms) % MINUTE_MS:
            # Sub-minute bars (1s): name the exclusive end and the seconds.
            seconds = (self.end_ms - self.start_ms) // 1000
            return f"{fmt_ms(self.start_ms)}..<{fmt_ms(self.end_ms)} ({seconds} s, {self.reason})"
        last = fmt_ms(self.end_ms - MINUTE_MS)
        return f"{fmt_ms(self.start_ms)}..{last} ({self.minutes} min, {self.reason})"


@dataclass(frozen=True)
class Explained:
    """A window with a reason that applies to every minute of it, e.g. a page that failed."""

    window: Window
    reason: str


def find_gaps(
    window: Window,
    present: Sequence[int] | np.ndarray,
    lifecycle: Lifecycle,
    *,
    failures: Iterable[Explained] = (),
    invalid: Iterable[tuple[int, str]] = (),
    grid: BarGrid = MINUTE_GRID,
) -> list[Gap]:
    """Explain every bar of `window` (on `grid`) whose open time is not in `present`.

    A gap runs from the first missing bar's open to the last one's end.

    Precedence of reasons: an invalid row, then a failed request, then the
    symbol's lifecycle (excluded), and otherwise the exchange simply has no candle.
    """
    expected = grid.opens(window)
    if len(expected) == 0:
        return []
    have = np.isin(expected, np.asarray(present, dtype=np.int64))
    if have.all():
        return []
    reasons: list[tuple[GapKind, str]] = []
    invalid_by_ts = dict(invalid)
    failure_list = list(failures)
    for ts in expected[~have]:
        reasons.append(_reason(int(ts), lifecycle, failure_list, invalid_by_ts, grid))
    return _runs(expected[~have], reasons, grid)


def _reason(
    ts: int,
    lifecycle: Lifecycle,
    failures: list[Explained],
    invalid: dict[int, str],
    grid: BarGrid,
) -> tuple[GapKind, str]:
    if ts in invalid:
        return "missing", f"invalid row rejected: {invalid[ts]}"
    for failure in failures:
        if failure.window.start_ms <= ts < failure.window.end_ms:
            return "missing", failure.reason
    if lifecycle.listed_ms is not None and ts < lifecycle.listed_ms:
        return "excluded", f"not listed yet (first candle {fmt_ms(lifecycle.listed_ms)})"
    if lifecycle.delisted_ms is not None and ts >= lifecycle.delisted_ms:
        last = fmt_ms(grid.floor(lifecycle.delisted_ms - 1))  # the open of the last bar
        return "excluded", f"delisted (last candle {last})"
    return "missing", EXCHANGE_GAP


def _runs(opens: np.ndarray, reasons: list[tuple[GapKind, str]], grid: BarGrid) -> list[Gap]:
    ends = grid.next_opens(np.asarray(opens, dtype=np.int64))
    gaps: list[Gap] = []
    start, end = int(opens[0]), int(ends[0])
    current = reasons[0]
    for ts_raw, end_raw, reason in zip(opens[1:], ends[1:], reasons[1:], strict=True):
        ts = int(ts_raw)
        if ts == end and reason == current:
            end = int(end_raw)
            continue
        gaps.append(Gap(start, end, current[0], current[1]))
        start, end = ts, int(end_raw)
        current = reason
    gaps.append(Gap(start, end, current[0], current[1]))
    return gaps


def merge_gaps(gaps: Iterable[Gap]) -> list[Gap]:
    """Join adjacent gaps with the same kind and reason (e.g. across day files)."""
    merged: list[Gap] = []
    for gap in sorted(gaps, key=lambda g: g.start_ms):
        last = merged[-1] if merged else None
        if last and last.end_ms == gap.start_ms and (last.kind, last.reason) == (gap.kind, gap.reason):
            merged[-1] = Gap(last.start_ms, gap.end_ms, gap.kind, gap.reason)
        else:
            merged.append(gap)
    return merged
