"""Write one Parquet file per (symbol, UTC day), atomically, replacing any earlier version.

Idempotency comes from the file name: the same (symbol, day) always maps to the same path, so
re-running a day replaces exactly that file and can never add duplicate rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import posixpath
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.lake import layout
from candlelake.lake.dayfile import check_day_rows, check_meta, serialize, to_lake_table
from candlelake.lake.durable import commit, stage
from candlelake.lake.guard import ConcurrentWrite, partition_lock, put_if_unchanged, sweep_temp_files
from candlelake.lake.integrity import CorruptDayFile, check_day_file, merge_stored
from candlelake.lake.layout import open_dataset
from candlelake.lake.ledger import Ledger, LedgerEntry, entry_for
from candlelake.lake.listing import list_dir
from candlelake.lake.schema import (
    META_KEY,
    DayMeta,
)
from candlelake.lake.storage import (
    DatasetLocation,
    FileSystem,
    ensure_writable,
    is_local,
    url_of,
)
from candlelake.markets import check_symbol
from candlelake.timeutil import Window
from candlelake.validate.gaps import Gap

log = logging.getLogger(__name__)

# One ranged GET of this size almost always holds the whole footer of a day file.
_TAIL_BYTES = 64 * 1024
# Conditional puts lost to other writers before giving up (each loss means they progressed).
_CONDITIONAL_ATTEMPTS = 10

__all__ = ["DatasetLocation", "DayWrite", "LakeWriter", "open_dataset"]


@dataclass(frozen=True)
class DayWrite:
    """One day for `LakeWriter.write_days`: the arguments of `write_day`."""

    symbol: str
    day: dt.date
    table: pa.Table
    meta: DayMeta
    validated: bool = False  # the rows passed validate_klines (the sink's days)


@dataclass(frozen=True)
class _Written:
    url: str
    meta: DayMeta  # as merged with the stored file
    table: pa.Table
    size: int
    validated: bool = False  # every row of `table` passed validate_klines


class LakeWriter:
    """Writes day files into one dataset. Two runs writing one day at once both keep their
    rows: a write merges with the current file under a partition lock (local) or a
    conditional put (object stores)."""

    def __init__(self, location: DatasetLocation, grid: BarGrid = MINUTE_GRID) -> None:
        self.location = location
        # The interval's partitions: a file per UTC day, or per month for 3d, 1w and 1M bars.
        self.grid = grid
        self._fs, self._root = location.filesystem()
        self._swept: set[str] = set()  # partitions cleared of old temp files by this writer
        self.ledger = Ledger(self._fs, self._root)

    def check_writable(self) -> None:
        """Raise UsageError if the dataset cannot be written; creates nothing."""
        ensure_writable(self.location)

    def write_day(
        self,
        symbol: str,
        day: dt.date,
        table: pa.Table,
        meta: DayMeta,
        *,
        exchange_id: str,
        knowledge_time: dt.datetime,
    ) -> str:
        """Write (or replace) the file of `symbol` on `day`; return its URL or local path.

        `table` holds the kline columns (OHLCV, or all of Binance's); `exchange_id` and
        `knowledge_timestamp` are added here. Raises ValueError, before anything is written,
        if rows fall outside `meta`'s window, repeat or go back in time, hold nulls, or if
        `meta` does not describe this table.
        """
        result = self.write_days(
            [DayWrite(symbol, day, table, meta)], exchange_id=exchange_id, knowledge_time=knowledge_time
        )[0]
        if isinstance(result, Exception):
            raise result
        return result

    def write_days(
        self,
        days: Sequence[DayWrite],
        *,
        exchange_id: str,
        knowledge_time: dt.datetime,
        give_up: Callable[[Exception], bool] = lambda exc: False,
    ) -> list[str | Exception]:
        """`write_day` for several days: each day's URL, or the error that stopped that day.

        Each day is checked, merged and written as `write_day` writes it; a bad day fails
        alone. Locally, the days of one partition directory are written under one lock and
        made durable together (lake/durable.py). All are recorded in the gap ledger together
        (one update per month manifest instead of one per day). After an error that
        `give_up` accepts (the store does not answer), the days left are not tried and get
        that error: one timeout, not one per day.
        """
        outcomes: dict[int, _Written | Exception] = {}
        ready: list[tuple[int, pa.Table]] = []
        for i, (d, lake_table) in enumerate(
            zip(days, _lake_tables(days, exchange_id, knowledge_time), strict=True)
        ):
            try:
                if lake_table is None:
                    kt = knowledge_time
                    lake_table = to_lake_table(d.table, exchange_id=exchange_id, knowledge_time=kt)
                check_symbol(d.symbol)
                check_meta(d.symbol, d.day, lake_table, d.meta, self.grid)
                check_day_rows(lake_table, d.meta)
            except Exception as exc:
                outcomes[i] = exc
                continue
            ready.append((i, lake_table))
        groups = self._by_directory(days, ready) if is_local(self._fs) else [[item] for item in ready]
        stop: Exception | None = None
        for group in groups:
            if stop is not None:
                done: list[_Written | Exception] = [stop] * len(group)
            elif is_local(self._fs):
                done = self._write_directory([(days[i], table) for i, table in group])
            else:
                done = [self._put_or_error(days[i], table) for i, table in group]
            for (i, _), outcome in zip(group, done, strict=True):
                outcomes[i] = outcome
                if stop is None and isinstance(outcome, Exception) and give_up(outcome):
                    stop = outcome
        ordered = [outcomes[i] for i in range(len(days))]
        self._finish([o for o in ordered if isinstance(o, _Written)])
        return [o.url if isinstance(o, _Written) else o for o in ordered]

    def _by_directory(
        self, days: Sequence[DayWrite], ready: Sequence[tuple[int, pa.Table]]
    ) -> list[list[tuple[int, pa.Table]]]:
        groups: dict[str, list[tuple[int, pa.Table]]] = {}
        for i, table in ready:
            directory = posixpath.dirname(self._path(days[i].symbol, days[i].day))
            groups.setdefault(directory, []).append((i, table))
        return list(groups.values())

    def _write_directory(self, items: Sequence[tuple[DayWrite, pa.Table]]) -> list[_Written | Exception]:
        """Write days of one local partition directory: merged under one lock, staged as temp
        files, then made durable and renamed together (lake/durable.py)."""
        paths = [self._path(d.symbol, d.day) for d, _ in items]
        directory = posixpath.dirname(paths[0])
        results: list[_Written | Exception] = []
        try:
            os.makedirs(directory, exist_ok=True)
            if directory not in self._swept:
                self._swept.add(directory)
                sweep_temp_files(directory)
            with partition_lock(directory):
                present = set(os.listdir(directory))
                staged: list[tuple[int, str, str]] = []
                for (d, lake_table), path in zip(items, paths, strict=True):
                    try:
                        merged, merged_meta = (
                            self._merge_current(path, lake_table, d.meta)
                            if posixpath.basename(path) in present
                            else (lake_table, d.meta)
                        )
                        data = serialize(merged, merged_meta)
                        temp = layout.temp_path_for(path)
                        stage(temp, data)
                    except Exception as exc:
                        results.append(exc)
                        continue
                    checked = d.validated and merged is lake_table  # not merged with stored rows
                    results.append(_Written(url_of(self._fs, path), merged_meta, merged, len(data), checked))
                    staged.append((len(results) - 1, temp, path))
                renamed: list[Exception | None]
                try:
                    renamed = list(commit(directory, [(temp, path) for _, temp, path in staged]))
                except Exception as exc:  # not flushed: none was renamed
                    renamed = [exc] * len(staged)
                for (k, _, _), error in zip(staged, renamed, strict=True):
                    if error is not None:
                        results[k] = error
        except Exception as exc:  # the directory or its lock: before anything was written
            return [exc] * len(items)
        return results

    def _put_or_error(self, d: DayWrite, lake_table: pa.Table) -> _Written | Exception:
        try:
            return self._put(d, lake_table)
        except Exception as exc:
            return exc

    def _put(self, d: DayWrite, lake_table: pa.Table) -> _Written:
        """Write one day to an object store. It has no lock: put only if the object is still
        the version merged with (If-Match), or still absent (If-None-Match); else merge again."""
        path = self._path(d.symbol, d.day)
        for _ in range(_CONDITIONAL_ATTEMPTS):
            version = self._version(path)
            merged, merged_meta = self._merge_current(path, lake_table, d.meta)
            data = serialize(merged, merged_meta)
            try:
                put_if_unchanged(self._fs, path, data, version)
            except ConcurrentWrite:
                log.info("%s changed while being written; merging again", url_of(self._fs, path))
                continue
            checked = d.validated and merged is lake_table
            return _Written(url_of(self._fs, path), merged_meta, merged, len(data), checked)
        raise ConcurrentWrite(f"{url_of(self._fs, path)} kept changing while being written")

    def _finish(self, written: Sequence[_Written]) -> None:
        """Note the written days in the gap ledger."""
        if not written:
            return
        try:
            self.ledger.record_entries(
                [entry_for(w.meta, w.table, w.size, validated=w.validated, grid=self.grid) for w in written]
            )
        except Exception as exc:  # the file is the truth; QA reads its footer if the entry is lost
            days = ", ".join(f"{w.meta.symbol} {w.meta.day}" for w in written)
            log.warning("could not update the gap ledger for %s: %s", days, exc)

    def _version(self, path: str) -> str | None:
        try:
            return str(self._fs.info(path).get("ETag") or "") or None
        except FileNotFoundError:
            return None

    def _merge_current(self, path: str, table: pa.Table, meta: DayMeta) -> tuple[pa.Table, DayMeta]:
        """`table` plus what the current file holds outside `meta`'s window (see merge_stored)."""
        if is_local(self._fs) and not os.path.exists(path):
            return table, meta  # the common case of a new day, without an exception's cost
        try:
            data = self._fs.cat_file(path)
        except FileNotFoundError:
            return table, meta
        try:
            stored_meta = check_day_file(data, meta.symbol, meta.day)
        except CorruptDayFile:
            return table, meta  # replaced, not merged
        if stored_meta is None:
            return table, meta
        stored = pq.read_table(pa.BufferReader(data))
        return merge_stored(table, meta, stored, stored_meta)

    def record_empty_day(self, symbol: str, day: dt.date, window: Window, gaps: Sequence[Gap]) -> None:
        """Note in the gap ledger why a day has no file (not listed, delisted, failed, ...)."""
        meta = DayMeta(symbol, day, window.start_ms, window.end_ms, 0, False, "none",
                       gaps=tuple(g.to_dict() for g in gaps))  # fmt: skip
        try:
            self.ledger.record_entry(LedgerEntry(meta, size=0))
        except Exception as exc:  # as in write_day: the run report still has the reasons
            log.warning("could not update the gap ledger for %s %s: %s", symbol, day, exc)

    def read_meta(self, symbol: str, day: dt.date) -> DayMeta | None:
        """The stored `DayMeta` of a day file (read from its footer only), or None if absent."""
        path = self._path(symbol, day)
        try:
            size = int(self._fs.info(path)["size"])
        except FileNotFoundError:
            return None
        tail = self._fs.cat_file(path, start=max(0, size - _TAIL_BYTES), end=size)
        return _meta_from_tail(self._fs, path, size, tail)

    def read_day(self, symbol: str, day: dt.date) -> pa.Table:
        """The rows of one day file (lake columns, without partition columns)."""
        with self._fs.open(self._path(symbol, day), "rb") as handle:
            return pq.read_table(handle)

    def existing_days(self, symbol: str, days: Iterable[dt.date]) -> dict[dt.date, DayMeta]:
        """The days among `days` whose file can be trusted, with their metadata.

        One listing per month partition, then each file read in full (concurrently on object
        stores) and checked (lake/integrity.py). A file that fails counts as absent, so the
        day is downloaded again and the file replaced.
        """
        check_symbol(symbol)
        by_month: dict[tuple[int, int], set[dt.date]] = defaultdict(set)
        for day in days:
            by_month[(day.year, day.month)].add(day)
        found: dict[str, tuple[dt.date, int]] = {}
        for (year, month), wanted in sorted(by_month.items()):
            directory = posixpath.join(self._root, layout.partition_dir(symbol, year, month))
            for path, size in self._list_files(directory):
                file_day = layout.parse_day_file_name(posixpath.basename(path))
                if file_day is not None and file_day in wanted:
                    found[path] = (file_day, size)
        if not found:
            return {}
        paths = list(found)
        # Whole files, read concurrently on object stores: a day is trusted only once its
        # data has been checked against its name and footer (lake/integrity.py).
        sizes = [found[p][1] for p in paths]
        contents = self._fs.cat_ranges(paths, [0] * len(paths), sizes, on_error="return")
        result: dict[dt.date, DayMeta] = {}
        for path, data in zip(paths, contents, strict=True):
            if isinstance(data, BaseException):
                raise data
            try:
                meta = check_day_file(data, symbol, found[path][0])
            except CorruptDayFile as exc:  # never trusted: the day is downloaded again
                log.warning("replacing corrupted day file %s: %s", url_of(self._fs, path), exc)
                continue
            if meta is not None:
                result[found[path][0]] = meta
        return result

    def _path(self, symbol: str, day: dt.date) -> str:
        return posixpath.join(self._root, layout.day_file(symbol, day, monthly=self.grid.monthly_partitions))

    def _list_files(self, directory: str) -> list[tuple[str, int]]:
        """(path, size) of the visible files in `directory`; none if it does not exist."""
        return list_dir(self._fs, directory, "file")


def _meta_from_tail(fs: FileSystem, path: str, size: int, tail: bytes) -> DayMeta | None:
    """Parse the footer from the last bytes of a file, fetching more if the footer is longer."""
    if len(tail) < 8 or tail[-4:] != b"PAR1":
        raise ValueError("not a Parquet file")
    needed = int.from_bytes(tail[-8:-4], "little") + 8
    if needed > len(tail):
        if needed > size:
            raise ValueError("Parquet footer longer than the file")
        tail = fs.cat_file(path, start=size - needed, end=size)
    # pyarrow reads only the footer, so the tail alone is enough to parse the metadata.
    metadata = pq.read_metadata(pa.BufferReader(tail)).metadata or {}
    raw = metadata.get(META_KEY)
    return DayMeta.from_json(raw) if raw is not None else None


def _lake_tables(
    days: Sequence[DayWrite], exchange_id: str, knowledge_time: dt.datetime
) -> list[pa.Table | None]:
    """Each day's rows in lake columns, converted together: one set of casts for a month
    instead of one per day. None where a day must be converted (and may fail) alone."""
    if len(days) < 2 or any(d.table.schema != days[0].table.schema for d in days):
        return [None] * len(days)
    try:
        joined = to_lake_table(
            pa.concat_tables([d.table for d in days]), exchange_id=exchange_id, knowledge_time=knowledge_time
        )
    except ValueError:
        return [None] * len(days)  # one day is bad: let each fail or pass on its own
    tables: list[pa.Table | None] = []
    offset = 0
    for d in days:
        tables.append(joined.slice(offset, d.table.num_rows))
        offset += d.table.num_rows
    return tables
