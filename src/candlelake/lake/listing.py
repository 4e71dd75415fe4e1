"""Listing one directory of a lake, skipping hidden names (temporary files, the ledger)."""

from __future__ import annotations

import datetime as dt
import posixpath
from typing import Literal

from candlelake.lake import layout
from candlelake.lake.layout import is_hidden
from candlelake.lake.storage import FileSystem


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
