"""Foreign files: files in a partition that candlelake did not write (upstream's uuid names).

Upstream appends a new uuid-named file per run to ``currency_pair=X/year=Y/month=M``, so a
month partition can hold several copies of a minute, and a day candlelake later wrote as
``2024-02-19.parquet`` repeats them again. Readers must still see each minute once:
:func:`one_row_per_minute` keeps the day file's row, else the foreign row with the latest
``knowledge_timestamp`` (upstream's rule for the newest knowledge).
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from candlelake.lake import layout
from candlelake.lake.storage import FileSystem

_RANK = "__candlelake_rank"


def is_foreign(path: str) -> bool:
    """True for a visible file that is not a candlelake day file."""
    name = posixpath.basename(path)
    return not layout.is_hidden(name) and layout.parse_day_file_name(name) is None


def one_row_per_minute(day_rows: pa.Table, foreign_rows: pa.Table) -> pa.Table:
    """Both tables' rows with one row per (currency_pair, timestamp).

    A day file's row wins (it was verified when written); among foreign rows the one with
    the latest ``knowledge_timestamp`` wins. Both tables need ``currency_pair``,
    ``timestamp`` and ``knowledge_timestamp``; the result is sorted by pair and time.
    """
    ranked = [
        t.append_column(_RANK, pa.repeat(pa.scalar(rank, pa.int8()), t.num_rows))
        for rank, t in ((0, day_rows), (1, foreign_rows))
    ]
    rows = pa.concat_tables(ranked, promote_options="permissive")
    rows = rows.sort_by(
        [
            ("currency_pair", "ascending"),
            ("timestamp", "ascending"),
            (_RANK, "ascending"),
            ("knowledge_timestamp", "descending"),
        ]
    )
    if rows.num_rows < 2:
        return rows.drop_columns([_RANK])
    pair, ts = rows.column("currency_pair"), rows.column("timestamp")
    n = rows.num_rows
    changed = pc.or_(
        pc.not_equal(ts.slice(1), ts.slice(0, n - 1)),
        pc.not_equal(pair.slice(1), pair.slice(0, n - 1)),
    )
    # Sorted, so a row is the first of its minute when its key differs from the previous row's.
    first = pa.chunked_array([pa.array([True]), *changed.chunks])
    return rows.filter(first).drop_columns([_RANK])


def foreign_files(
    fs: FileSystem, root: str, symbols: Sequence[str], first: dt.date, last: dt.date
) -> list[str]:
    """Foreign files in the month partitions of ``symbols`` between two days (inclusive)."""
    found = []
    for symbol in symbols:
        for year, month in layout.months_between(first, last):
            directory = posixpath.join(root, layout.partition_dir(symbol, year, month))
            try:
                # Names first: a stat of every day file (detail=True) cost a year's ingest
                # about as much as writing its ledger.
                names = [str(n) for n in fs.ls(directory, detail=False)]
            except FileNotFoundError:
                continue
            found += [n for n in names if is_foreign(n) and fs.info(n)["type"] == "file"]
    return sorted(found)
