"""What a run did: rows written per symbol and every missing or excluded bar, with reasons.

Bars are minutes for 1m. For other intervals the counts are bars of the interval, and the
JSON report also gives the minutes those bars span.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from candlelake.bars import grid_of
from candlelake.timeutil import Window, fmt_ms
from candlelake.validate.gaps import Gap, merge_gaps


@dataclass
class SymbolReport:
    symbol: str
    status: str = "trading"
    interval: str = "1m"
    listed_ms: int | None = None
    delisted_ms: int | None = None
    rows_written: int = 0
    days_written: int = 0
    days_skipped: int = 0
    gaps: list[Gap] = field(default_factory=list)
    sources: dict[dt.date, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def merged_gaps(self) -> list[Gap]:
        return merge_gaps(self.gaps)

    @property
    def missing(self) -> list[Gap]:
        return [g for g in self.merged_gaps() if g.kind == "missing"]

    @property
    def excluded(self) -> list[Gap]:
        return [g for g in self.merged_gaps() if g.kind == "excluded"]

    @property
    def missing_minutes(self) -> int:
        return sum(g.minutes for g in self.missing)

    @property
    def excluded_minutes(self) -> int:
        return sum(g.minutes for g in self.excluded)

    @property
    def missing_bars(self) -> int:
        return _bars(self.missing, self.interval)

    @property
    def excluded_bars(self) -> int:
        return _bars(self.excluded, self.interval)

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "status": self.status,
            "listed": fmt_ms(self.listed_ms) if self.listed_ms is not None else None,
            "delisted": fmt_ms(self.delisted_ms) if self.delisted_ms is not None else None,
            "rows_written": self.rows_written,
            "days_written": self.days_written,
            "days_skipped": self.days_skipped,
            "missing_minutes": self.missing_minutes,
            "excluded_minutes": self.excluded_minutes,
            **(
                {"missing_bars": self.missing_bars, "excluded_bars": self.excluded_bars}
                if self.interval != "1m"
                else {}
            ),
            "missing": [g.to_dict() for g in self.missing],
            "excluded": [g.to_dict() for g in self.excluded],
            "sources": {d.isoformat(): s for d, s in sorted(self.sources.items())},
            "files": self.files,
            "errors": self.errors,
        }


@dataclass
class RunReport:
    dataset: str
    market: str
    window: Window
    requested_end_ms: int
    symbols: list[SymbolReport] = field(default_factory=list)
    requests: int = 0
    weight: int = 0
    retries: int = 0
    rate_limited: int = 0
    elapsed_s: float = 0.0
    archive_files: int = 0
    crosscheck: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False  # SIGINT/SIGTERM ended the run early
    # Files in the touched partitions that candlelake did not write (upstream's uuid files).
    foreign: list[str] = field(default_factory=list)
    interval: str = "1m"

    @property
    def clamped(self) -> bool:
        return self.window.end_ms < self.requested_end_ms

    @property
    def rows_written(self) -> int:
        return sum(s.rows_written for s in self.symbols)

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(s.errors for s in self.symbols)

    def symbols_with_missing(self) -> list[SymbolReport]:
        return [s for s in self.symbols if s.missing]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "market": self.market,
            "interval": self.interval,
            "window": {"start": fmt_ms(self.window.start_ms), "end_exclusive": fmt_ms(self.window.end_ms)},
            "clamped_from": fmt_ms(self.requested_end_ms) if self.clamped else None,
            "rows_written": self.rows_written,
            "requests": self.requests,
            "weight": self.weight,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "elapsed_s": round(self.elapsed_s, 3),
            "archive_files": self.archive_files,
            "crosscheck_differences": self.crosscheck,
            "errors": self.errors,
            "interrupted": self.interrupted,
            "foreign_files": self.foreign,
            "symbols": [s.to_dict() for s in self.symbols],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def summary_lines(self) -> list[str]:
        """Human summary: one line per symbol with anything to say, then one total line."""
        lines = []
        for s in self.symbols:
            notes = []
            if s.status != "trading":
                notes.append(s.status)
            for gap in s.excluded:
                notes.append(f"excluded {gap}")
            for gap in s.missing:
                notes.append(f"MISSING {gap}")
            for err in s.errors:
                notes.append(f"ERROR {err}")
            part = "month" if grid_of(s.interval).monthly_partitions else "day"
            head = f"{s.symbol}: {s.rows_written} rows in {s.days_written} {part} files"
            if s.sources and set(s.sources.values()) != {"rest"}:
                counts = Counter(s.sources.values())
                head += " (" + ", ".join(f"{src}: {n} {part}s" for src, n in sorted(counts.items())) + ")"
            if s.days_skipped:
                head += f", {s.days_skipped} days already complete"
            lines.append(head + ("" if not notes else "; " + "; ".join(notes)))
        lines.extend(f"DIFFERENCE {diff}" for diff in self.crosscheck)
        lines.extend(f"ERROR {err}" for err in self.errors)
        if self.foreign:
            lines.append(
                f"FOREIGN {len(self.foreign)} upstream file(s) in these partitions, e.g. {self.foreign[0]}; "
                "read() keeps one row per minute; `candlelake convert-upstream <dataset>` makes day files"
            )
        missing = sum(s.missing_bars for s in self.symbols)
        excluded = sum(s.excluded_bars for s in self.symbols)
        unit = grid_of(self.interval).unit
        last = "minute" if self.interval == "1m" else f"{self.interval} bar"
        clamp = f" (end clamped to last closed {last} {fmt_ms(self.window.end_ms)})" if self.clamped else ""
        lines.append(
            f"done: {len(self.symbols)} symbols, {self.rows_written} rows, {missing} missing {unit}, "
            f"{excluded} excluded {unit}, {self.requests} requests, weight {self.weight}, "
            f"{self.retries} retries, {self.elapsed_s:.1f} s{clamp} -> {self.dataset}"
        )
        return lines


def _bars(gaps: list[Gap], interval: str) -> int:
    """The bars of `interval` that open in `gaps`."""
    grid = grid_of(interval)
    return sum(grid.count(Window(g.start_ms, g.end_ms)) for g in gaps)
