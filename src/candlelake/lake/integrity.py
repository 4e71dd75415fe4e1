"""When a stored day file can be trusted, and how a write keeps rows another run just stored.

A day is trusted only if the file is readable, is the day its name says, and its data agrees
with its footer: the footer's symbol and day against the path, the row count and the
timestamp statistics against the footer's window, and a full decode of the data with its
page checksums verified (a
1,440-row file decodes in about a millisecond; `bench/faults.py` measures a year of 25
symbols). Anything else is `CorruptDayFile`, and the day is downloaded again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from candlelake.errors import UnreadableFile
from candlelake.lake.schema import META_KEY, DayMeta
from candlelake.lake.storage import FileSystem, url_of
from candlelake.timeutil import fmt_ms

OnError = Literal["raise", "skip"]


class CorruptDayFile(ValueError):
    """A day file that must not be trusted; the message says why."""


def check_day_file(data: bytes, symbol: str, day: dt.date) -> DayMeta | None:
    """The footer of a trusted day file; None for a Parquet file without our footer.

    Raises CorruptDayFile when the file is not readable or is not what its name says.
    """
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True)
        raw = (parquet.schema_arrow.metadata or {}).get(META_KEY)
        meta = DayMeta.from_json(raw) if raw is not None else None
    except Exception as exc:  # pyarrow raises several types for a torn footer
        raise CorruptDayFile(f"unreadable footer ({_first_line(exc)})") from None
    if meta is None:
        return None
    if (meta.symbol, meta.day) != (symbol, day):
        raise CorruptDayFile(f"footer describes {meta.symbol} {meta.day}, the name says {symbol} {day}")
    if parquet.metadata.num_rows != meta.rows:
        raise CorruptDayFile(f"footer says {meta.rows} rows, the file has {parquet.metadata.num_rows}")
    _check_statistics(parquet, meta)
    try:
        table = parquet.read()
    except Exception as exc:
        raise CorruptDayFile(f"unreadable data ({_first_line(exc)})") from None
    _check_timestamps(table, meta)
    return meta


def _check_statistics(parquet: pq.ParquetFile, meta: DayMeta) -> None:
    index = parquet.schema_arrow.get_field_index("timestamp")
    if index < 0:
        raise CorruptDayFile("no timestamp column")
    for group in range(parquet.metadata.num_row_groups):
        stats = parquet.metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            continue
        if stats.min < meta.window_start_ms or stats.max >= meta.window_end_ms:
            raise CorruptDayFile(
                f"timestamps {fmt_ms(stats.min)}..{fmt_ms(stats.max)} lie outside the footer's window "
                f"[{fmt_ms(meta.window_start_ms)}, {fmt_ms(meta.window_end_ms)})"
            )


def _check_timestamps(table: pa.Table, meta: DayMeta) -> None:
    if table.num_rows != meta.rows:
        raise CorruptDayFile(f"footer says {meta.rows} rows, the data has {table.num_rows}")
    if table.num_rows == 0:
        return
    ts = table.column("timestamp")
    low, high = (v.as_py() for v in pc.min_max(ts).values())
    if low < meta.window_start_ms or high >= meta.window_end_ms:
        raise CorruptDayFile(f"timestamps {fmt_ms(low)}..{fmt_ms(high)} lie outside the footer's window")
    if table.num_rows > 1:
        steps = pc.subtract(ts.slice(1), ts.slice(0, table.num_rows - 1))
        if not pc.all(pc.greater(steps, 0)).as_py():
            raise CorruptDayFile("timestamps repeat or go back in time")


def merge_stored(
    new: pa.Table, meta: DayMeta, stored: pa.Table | None, stored_meta: DayMeta | None
) -> tuple[pa.Table, DayMeta]:
    """`new` plus the stored rows outside `meta`'s window, with one footer for both.

    Another run may have written this day since this run planned it (two runs over
    different parts of one day); its rows and gaps outside our window are kept, and a part
    neither run covered is recorded as a gap, so the day is not complete.
    """
    if stored is None or stored_meta is None or stored.schema != new.schema:
        return new, meta
    inside = meta.window_start_ms <= stored_meta.window_start_ms
    if inside and stored_meta.window_end_ms <= meta.window_end_ms:
        return new, meta
    ts = stored.column("timestamp")
    outside = pc.or_(pc.less(ts, meta.window_start_ms), pc.greater_equal(ts, meta.window_end_ms))
    table = pa.concat_tables([new, stored.filter(outside)]).sort_by("timestamp")
    start = min(meta.window_start_ms, stored_meta.window_start_ms)
    end = max(meta.window_end_ms, stored_meta.window_end_ms)
    gaps: list[dict[str, Any]] = list(meta.gaps)
    gaps += [g for g in (_clip_outside(g, meta) for g in stored_meta.gaps) if g is not None]
    hole = (
        (stored_meta.window_end_ms, meta.window_start_ms)
        if stored_meta.window_end_ms < meta.window_start_ms
        else (meta.window_end_ms, stored_meta.window_start_ms)
    )
    if hole[0] < hole[1]:
        reason = "not fetched: between the windows of two runs"
        gaps.append({"start_ms": hole[0], "end_ms": hole[1], "kind": "missing", "reason": reason})
    merged = dataclasses.replace(
        meta,
        window_start_ms=start,
        window_end_ms=end,
        rows=table.num_rows,
        complete=meta.complete and stored_meta.complete and hole[0] >= hole[1],
        gaps=tuple(sorted(gaps, key=lambda g: int(g["start_ms"]))),
    )
    return table, merged


def _clip_outside(gap: dict[str, Any], meta: DayMeta) -> dict[str, Any] | None:
    """The part of a stored gap outside `meta`'s window (before it or after it)."""
    start, end = int(gap["start_ms"]), int(gap["end_ms"])
    if start < meta.window_start_ms:
        return {**gap, "end_ms": min(end, meta.window_start_ms)}
    if end > meta.window_end_ms:
        return {**gap, "start_ms": max(start, meta.window_end_ms)}
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- reading a slice: name an unreadable file, never repeat a minute ----------------


def readable_files(fs: FileSystem, files: list[str], on_error: OnError) -> list[str]:
    """`files` without the unreadable ones (skip, with a warning), or an error naming the first."""
    kept = []
    for path in files:
        cause = _unreadable(fs, path)
        if cause is None:
            kept.append(path)
            continue
        where = url_of(fs, path)
        if on_error == "raise":
            raise UnreadableFile(f"cannot read lake file {where}: {cause}", where)
        warnings.warn(f"skipping unreadable lake file {where}: {cause}", stacklevel=6)
    return kept


def _unreadable(fs: FileSystem, path: str) -> str | None:
    """Why a file cannot be read in full, or None if it can."""
    try:
        with fs.open(path, "rb") as handle:
            pq.read_table(handle, page_checksum_verification=True)
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    return None


def drop_repeats(table: pa.Table) -> pa.Table:
    """Keep the first row of each (pair, minute): a file holding another day's rows (a copy
    under the wrong name) must not double them."""
    if table.num_rows < 2:
        return table
    ts, pair = table.column("timestamp"), table.column("currency_pair")
    n = table.num_rows
    same = pc.and_(pc.equal(ts.slice(1), ts.slice(0, n - 1)), pc.equal(pair.slice(1), pair.slice(0, n - 1)))
    if not pc.any(same).as_py():
        return table
    keep = pa.concat_arrays([pa.array([True]), pc.invert(same).combine_chunks()])
    dropped = n - pc.sum(keep.cast(pa.int64())).as_py()
    message = f"dropped {dropped} repeated (pair, minute) rows; a lake file holds another day's rows"
    warnings.warn(message, stacklevel=4)
    return table.filter(keep)
