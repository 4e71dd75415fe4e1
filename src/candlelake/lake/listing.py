"""Listing a lake: one directory, skipping hidden names (temporary files, the ledger), and the
files a read of some symbols and times needs, listing only the partitions in range."""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Sequence
from typing import Literal

from candlelake.lake import layout
from candlelake.lake.layout import is_hidden
from candlelake.lake.storage import FileSystem
from candlelake.timeutil import from_ms


def list_dir(
    fs: FileSystem,
    directory: str,
    kind: Literal["file", "directory"],
    *,
    hidden: bool = False,
) -> list[tuple[str, int]]:
    """(path without trailing `/`, size) of the entries of `kind`, sorted; none if absent."""
    try:
        entries = fs.ls(directory, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(
        (str(e["name"]).rstrip("/"), int(e.get("size") or 0))
        for e in entries
        if e.get("type") == kind and (hidden or not is_hidden(str(e["name"])))
    )


def list_names(fs: FileSystem, directory: str, kind: Literal["file", "directory"]) -> list[str]:
    """The paths of the visible entries of `kind`, sorted."""
    return [path for path, _ in list_dir(fs, directory, kind)]


def list_day_files(
    fs: FileSystem, root: str, symbol: str, first: dt.date | None, last: dt.date | None
) -> dict[dt.date, tuple[str, int]]:
    """{day: (path, size)} of `symbol`'s day files between `first` and `last` (both optional)."""
    symbol_dir = posixpath.join(root, layout.segment("currency_pair", symbol))
    if first is not None and last is not None:
        months = [
            posixpath.join(root, layout.partition_dir(symbol, y, m))
            for y, m in layout.months_between(first, last)
        ]
    else:
        months = [m for y in list_names(fs, symbol_dir, "directory") for m in list_names(fs, y, "directory")]
    found: dict[dt.date, tuple[str, int]] = {}
    for month_dir in months:
        for entry in list_dir(fs, month_dir, "file"):
            day = layout.parse_day_file_name(posixpath.basename(entry[0]))
            if day is None or (first and day < first) or (last and day > last):
                continue
            found[day] = entry
    return dict(sorted(found.items()))


def present_symbols(fs: FileSystem, root: str) -> list[str]:
    """The symbols with a `currency_pair=` folder under a dataset root."""
    names = (posixpath.basename(p) for p in list_names(fs, root, "directory"))
    return sorted(s for n in names if (s := layout.parse_segment(n, "currency_pair")))


def select_files(
    fs: FileSystem,
    root: str,
    symbols: Sequence[str] | None,
    start_ms: int | None,
    end_ms: int | None,
) -> list[str]:
    """The files a read can need, found by listing only the partitions in range."""
    first_day = None if start_ms is None else from_ms(start_ms).date()
    last_day = None if end_ms is None else from_ms(end_ms).date()
    if symbols is None:
        symbols = sorted(
            value
            for name in list_names(fs, root, "directory")
            if (value := layout.parse_segment(posixpath.basename(name), "currency_pair"))
        )
    files: list[str] = []
    for symbol in symbols:
        symbol_dir = posixpath.join(root, layout.segment("currency_pair", symbol))
        for month_dir in _month_dirs(fs, symbol_dir, first_day, last_day):
            for path in list_names(fs, month_dir, "file"):
                span = layout.file_days(posixpath.basename(path))
                # Day and month files are pruned by name; other (upstream) files by their month only.
                if span is not None and (
                    (first_day is not None and span[1] < first_day)
                    or (last_day is not None and span[0] > last_day)
                ):
                    continue
                files.append(path)
    return files


def _month_dirs(fs: FileSystem, symbol_dir: str, first: dt.date | None, last: dt.date | None) -> list[str]:
    if first is not None and last is not None:
        # A bounded range names its partitions: no need to list years and months.
        return [
            posixpath.join(symbol_dir, layout.segment("year", y), layout.segment("month", m))
            for y, m in layout.months_between(first, last)
        ]
    low = (first.year, first.month) if first else (0, 0)
    high = (last.year, last.month) if last else (10_000, 13)
    found = []
    for year_dir in list_names(fs, symbol_dir, "directory"):
        year = _int_segment(year_dir, "year")
        if year is None or not low[0] <= year <= high[0]:
            continue
        for month_dir in list_names(fs, year_dir, "directory"):
            month = _int_segment(month_dir, "month")
            if month is not None and low <= (year, month) <= high:
                found.append(month_dir)
    return sorted(found)


def _int_segment(path: str, key: str) -> int | None:
    value = layout.parse_segment(posixpath.basename(path.rstrip("/")), key)
    return int(value) if value is not None and value.isdigit() else None
