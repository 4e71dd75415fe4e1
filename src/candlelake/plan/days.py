"""Which days of a symbol to fetch, from which source, and which stored days to refresh. Pure.

The caller does the I/O the planner needs: it lists what the lake holds for the symbol,
reads the exchange's clock and, for `--refresh-changed`, fetches the published archive
checksums of the stored days that `refresh_checks` names. The planner only decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from candlelake.bars import MINUTE_GRID, BarGrid, grid_of
from candlelake.lake.schema import DayMeta
from candlelake.markets import ArchivePeriod, Interval, Market
from candlelake.plan.archive import REAL_ARCHIVE_URL, ArchiveFile, archive_url, plan_archive_files
from candlelake.timeutil import Window, fmt_ms
from candlelake.validate.gaps import Gap


@dataclass(frozen=True)
class PlanOptions:
    """The download options that change a plan."""

    market: Market
    force: bool = False  # re-fetch days the lake already holds completely
    use_archive: bool = False  # whole days come from data.binance.vision files first
    archive_url: str = REAL_ARCHIVE_URL
    download_period: ArchivePeriod | None = None
    dataset: str = "klines"  # the archive folder of the data type (plan/archive.py BINANCE_DATASETS)
    interval: Interval = "1m"

    @property
    def grid(self) -> BarGrid:
        return grid_of(self.interval)


@dataclass(frozen=True)
class SymbolPlan:
    """What to fetch for one symbol.

    The "days" are the partitions of the interval (plan.grid): UTC days, or for bars longer
    than a day the first day of each month.
    `windows` maps each day to fetch to the part of it to fetch; it is wider than the
    requested window when the day's stored file covers more, so the rewrite keeps those
    rows. Every day of `windows` is covered by exactly one of `archive_files` (whole days)
    or `rest_spans` (contiguous, in order).
    """

    symbol: str
    windows: Mapping[dt.date, Window]
    stored: Mapping[dt.date, DayMeta] = field(default_factory=dict)
    skipped: tuple[dt.date, ...] = ()
    skipped_gaps: tuple[Gap, ...] = ()
    archive_files: tuple[ArchiveFile, ...] = ()
    rest_spans: tuple[Window, ...] = ()

    @property
    def days(self) -> list[dt.date]:
        return sorted(self.windows)


def clamp_window(window: Window, now_ms: int, grid: BarGrid = MINUTE_GRID) -> Window:
    """Snap `window` to `grid` and keep only closed bars (a bar is closed once it ends <= now).

    Both ends move to the next open time, which keeps the same bars opening in the window
    and lets every page and partition window start and end on the grid.
    """
    start = grid.ceil(window.start_ms)
    end = min(grid.ceil(window.end_ms), grid.floor(now_ms))
    return Window(start, max(start, end))


def plan_symbol(
    symbol: str,
    window: Window,
    stored: Mapping[dt.date, DayMeta],
    *,
    today: dt.date,
    options: PlanOptions,
    changed: Collection[dt.date] = (),
    listed_ms: int | None = None,
) -> SymbolPlan:
    """Plan `symbol` over `window` given the lake's `stored` days and the exchange's `today`.

    `changed` are stored days whose archive file has been replaced since it was read; they
    are fetched again as if absent. Days wholly before `listed_ms` (the symbol's first
    candle) are not fetched: they are excluded as not listed yet.
    """
    grid = options.grid
    windows: dict[dt.date, Window] = {}
    kept: dict[dt.date, DayMeta] = {}
    skipped: list[dt.date] = []
    skipped_gaps: list[Gap] = []
    for day in grid.partitions(window):
        covered = grid.partition_window(day).intersect(window)
        if covered is None or grid.count(covered) == 0:
            continue  # e.g. the first days of a month before its first 1w bar opens
        if (
            listed_ms is not None
            and covered.end_ms <= grid.partition_window(grid.partition(listed_ms)).start_ms
        ):
            reason = f"not listed yet (first candle {fmt_ms(listed_ms)})"
            skipped_gaps.append(Gap(covered.start_ms, covered.end_ms, "excluded", reason))
            continue
        meta = None if day in changed else stored.get(day)
        if meta is not None and _covers(meta, covered) and not options.force:
            skipped.append(day)
            skipped_gaps.extend(_clip(meta.gaps, covered))
            continue
        if meta is not None:
            # The rewrite replaces the whole file: fetch the union to keep its other rows.
            covered = Window(
                min(meta.window_start_ms, covered.start_ms), max(meta.window_end_ms, covered.end_ms)
            )
            kept[day] = meta
        windows[day] = covered
    files: list[ArchiveFile] = []
    if options.use_archive:
        # Whole: every bar of the partition (its window may start before the first bar opens).
        whole_days = [d for d, w in windows.items() if grid.count(w) == grid.count(grid.partition_window(d))]
        files = plan_archive_files(
            options.archive_url,
            options.market,
            symbol,
            whole_days,
            today=today,
            download_period=options.download_period,
            interval=options.interval,
            dataset=options.dataset,
        )
    archived = {d for f in files for d in f.days}
    spans = contiguous([w for d, w in sorted(windows.items()) if d not in archived])
    return SymbolPlan(symbol, windows, kept, tuple(skipped), tuple(skipped_gaps), tuple(files), tuple(spans))


def refresh_checks(
    symbol: str, stored: Mapping[dt.date, DayMeta], *, options: PlanOptions
) -> dict[ArchiveFile, list[tuple[dt.date, str]]]:
    """For `--refresh-changed`: the archive files whose checksum to fetch, with the stored
    (day, sha256) pairs each must match."""
    checks: dict[ArchiveFile, list[tuple[dt.date, str]]] = {}
    for day, meta in sorted(stored.items()):
        if not meta.archive_sha256 or not meta.source.startswith("archive:"):
            continue
        period: ArchivePeriod = "monthly" if meta.source.startswith("archive:monthly") else "daily"
        label = day.strftime("%Y-%m") if period == "monthly" else day.isoformat()
        url = archive_url(
            options.archive_url,
            options.market,
            period,
            symbol,
            label,
            options.interval,
            dataset=options.dataset,
        )
        file = ArchiveFile(options.market, symbol, period, label, (), url, options.interval, options.dataset)
        checks.setdefault(file, []).append((day, meta.archive_sha256))
    return checks


def changed_days(
    checks: Mapping[ArchiveFile, Sequence[tuple[dt.date, str]]], published: Mapping[ArchiveFile, str | None]
) -> list[dt.date]:
    """Days whose recorded sha256 differs from the one published now (None: not published)."""
    return sorted(
        day
        for file, entries in checks.items()
        for day, recorded in entries
        if published.get(file) is not None and published[file] != recorded
    )


def contiguous(windows: Sequence[Window]) -> list[Window]:
    """Join windows that touch, keeping order."""
    spans: list[Window] = []
    for w in windows:
        if spans and spans[-1].end_ms == w.start_ms:
            spans[-1] = Window(spans[-1].start_ms, w.end_ms)
        else:
            spans.append(w)
    return spans


def _covers(meta: DayMeta, covered: Window) -> bool:
    return meta.complete and meta.window_start_ms <= covered.start_ms and meta.window_end_ms >= covered.end_ms


def _clip(gaps: Iterable[dict[str, object]], window: Window) -> list[Gap]:
    out = []
    for raw in gaps:
        gap = Gap.from_dict(raw)
        start, end = max(gap.start_ms, window.start_ms), min(gap.end_ms, window.end_ms)
        if start < end:
            out.append(Gap(start, end, gap.kind, gap.reason))
    return out


__all__ = [
    "PlanOptions",
    "SymbolPlan",
    "changed_days",
    "clamp_window",
    "contiguous",
    "plan_symbol",
    "refresh_checks",
]
