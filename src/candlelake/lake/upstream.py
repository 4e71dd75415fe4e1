"""Convert an upstream dataset (uuid-named append files) into candlelake day files, in place.

For each month partition with foreign files: read them, keep one row per minute (the latest
``knowledge_timestamp``, see ``candlelake.lake.foreign``), split the rows by UTC day and write
one day file per (symbol, day) atomically, with the minutes upstream lacks as gaps. A day
that already has a day file is kept as it is (it was verified when written). Every written
file is read back and compared with the rows it should hold before anything is removed;
``remove_foreign`` then deletes the converted foreign files (not those of a partition where
an existing day file is incomplete: upstream may hold minutes it lacks).
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from candlelake.lake import layout
from candlelake.lake.foreign import is_foreign, one_row_per_minute
from candlelake.lake.reader import files_dataset
from candlelake.lake.schema import OHLCV_COLUMNS, PARTITION_SCHEMA, DayMeta, lake_schema
from candlelake.lake.storage import DatasetLocation
from candlelake.lake.writer import LakeWriter
from candlelake.timeutil import DAY_MS, MINUTE_MS, day_window

GAP_REASON = "not in the upstream data"


@dataclass
class ConversionReport:
    foreign_files: int = 0
    rows_read: int = 0
    rows_kept: int = 0
    days_written: list[str] = field(default_factory=list)
    days_kept: list[str] = field(default_factory=list)
    removed: int = 0

    def summary(self) -> str:
        return (
            f"{self.foreign_files} foreign files, {self.rows_read} rows read, "
            f"{self.rows_read - self.rows_kept} duplicate rows dropped, {len(self.days_written)} day "
            f"files written and verified, {len(self.days_kept)} days kept (day file already there), "
            f"{self.removed} foreign files removed"
        )


def _partitions(location: DatasetLocation) -> dict[str, list[str]]:
    fs, root = location.filesystem()
    found: dict[str, list[str]] = defaultdict(list)
    for path in fs.find(root):
        directory = posixpath.dirname(path)
        relative = posixpath.relpath(directory, root)
        if is_foreign(path) and not any(layout.is_hidden(p) for p in relative.split("/")):
            layout.parse_partition_dir(relative)  # ValueError: not a partition of this layout
            found[directory].append(path)
    return dict(found)


def _gaps(timestamps: list[int], day: dt.date) -> list[dict[str, object]]:
    window = day_window(day)
    gaps, expected = [], window.start_ms
    for ts in [*timestamps, window.end_ms]:
        if ts > expected:
            gaps.append({"start_ms": expected, "end_ms": ts, "reason": GAP_REASON})
        expected = ts + MINUTE_MS
    return gaps


def _write_day(writer: LakeWriter, symbol: str, day: dt.date, rows: pa.Table) -> None:
    window = day_window(day)
    stamps = rows.column("timestamp").to_pylist()
    meta = DayMeta(
        symbol=symbol,
        day=day,
        window_start_ms=window.start_ms,
        window_end_ms=window.end_ms,
        rows=rows.num_rows,
        complete=rows.num_rows == DAY_MS // MINUTE_MS,
        source="upstream",
        gaps=tuple(_gaps(stamps, day)),
    )
    knowledge = pc.max(rows.column("knowledge_timestamp")).as_py() or dt.datetime.now(dt.UTC)
    exchange = rows.column("exchange_id")[0].as_py() or "binance"
    data = rows.select(list(OHLCV_COLUMNS))
    writer.write_day(symbol, day, data, meta, exchange_id=exchange, knowledge_time=knowledge)
    # Verify: the stored rows are exactly the de-duplicated upstream rows of that day.
    stored = writer.read_day(symbol, day).select(list(OHLCV_COLUMNS))
    if not stored.equals(data.cast(stored.schema)):
        raise RuntimeError(f"verification failed for {symbol} {day}: the day file differs from its rows")


def convert_upstream(location: DatasetLocation, *, remove_foreign: bool = False) -> ConversionReport:
    """Write day files for every (symbol, day) found in foreign files of the dataset."""
    fs, root = location.filesystem()
    writer = LakeWriter(location)
    report = ConversionReport()
    schema = pa.schema(list(lake_schema(full=False)) + list(PARTITION_SCHEMA))
    for directory, files in sorted(_partitions(location).items()):
        symbol, _, _ = layout.parse_partition_dir(posixpath.relpath(directory, root))
        report.foreign_files += len(files)
        rows = files_dataset(fs, root, files, schema).to_table()
        report.rows_read += rows.num_rows
        rows = one_row_per_minute(rows.schema.empty_table(), rows)
        report.rows_kept += rows.num_rows
        days = pc.divide(rows.column("timestamp"), DAY_MS)
        removable = True
        for epoch_day in sorted(set(days.to_pylist())):
            day = dt.date(1970, 1, 1) + dt.timedelta(days=epoch_day)
            name = f"{symbol} {day}"
            existing = writer.read_meta(symbol, day)
            if existing is not None:
                report.days_kept.append(name)
                # An incomplete day file may lack minutes upstream has: keep upstream's files.
                removable &= existing.complete
                continue
            _write_day(writer, symbol, day, rows.filter(pc.equal(days, epoch_day)))
            report.days_written.append(name)
        if remove_foreign and removable:
            fs.rm(files)
            report.removed += len(files)
    return report
