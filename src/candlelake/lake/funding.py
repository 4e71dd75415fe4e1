"""Funding-rate datasets: one Parquet file per (symbol, UTC month), written atomically.

    <dataset root>/currency_pair=BTC_USDT/year=2026/month=4/2026-04.parquet

A month holds 90 settlements at 8 h (up to 744 at 1 h), so a file per month — the
archive's own unit (`BTCUSDT-fundingRate-2026-04.zip`) — keeps files few and whole. A write
merges with the stored month (one row per settlement minute; the new rows win) under the
partition lock locally; on S3 the PUT is a whole object (lake/durable.py `write_atomic`).
The footer (`candlelake` key) records the month's source, rows, the part of the month the
downloads covered (`window_start_ms`/`window_end_ms`) and every missing settlement with its
reason: there is no gap ledger for funding, so `candlelake qa` reads these footers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import posixpath
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from candlelake.lake import layout
from candlelake.lake.durable import write_atomic
from candlelake.lake.guard import partition_lock
from candlelake.lake.schema import COMPRESSION, META_KEY, PARTITION_SCHEMA
from candlelake.lake.storage import (
    DatasetLocation,
    FileSystem,
    arrow_filesystem,
    ensure_writable,
)
from candlelake.markets import check_symbol
from candlelake.timeutil import MINUTE_MS, Window, month_window
from candlelake.validate.funding import FUNDING_SCHEMA, settlements, to_table
from candlelake.validate.gaps import Gap

log = logging.getLogger(__name__)

LAKE_FUNDING_SCHEMA = pa.schema(
    [*FUNDING_SCHEMA, ("exchange_id", pa.string()), ("knowledge_timestamp", pa.timestamp("ns", tz="UTC"))]
)
_READ_SCHEMA = pa.schema([*LAKE_FUNDING_SCHEMA, *PARTITION_SCHEMA])


def month_file(symbol: str, year: int, month: int) -> str:
    """`currency_pair=BTC_USDT/year=2026/month=4/2026-04.parquet`, relative to the root."""
    return f"{layout.partition_dir(symbol, year, month)}/{year:04d}-{month:02d}.parquet"


class FundingWriter:
    """Reads and writes the month files of one funding dataset."""

    def __init__(self, location: DatasetLocation) -> None:
        self.location = location
        self._fs, self._root = location.filesystem()

    def check_writable(self) -> None:
        ensure_writable(self.location)

    def read_month(self, symbol: str, year: int, month: int) -> pa.Table:
        """The stored settlements of a month (funding columns), empty if there is no file."""
        path = posixpath.join(self._root, month_file(symbol, year, month))
        if not self._fs.exists(path):
            return FUNDING_SCHEMA.empty_table()
        with self._fs.open(path, "rb") as handle:
            return pq.read_table(handle, columns=FUNDING_SCHEMA.names).cast(FUNDING_SCHEMA)

    def write_month(
        self,
        symbol: str,
        year: int,
        month: int,
        table: pa.Table,
        *,
        source: str,
        gaps: Sequence[Gap],
        exchange_id: str,
        window: Window | None = None,
        replace: bool = False,
    ) -> int:
        """Merge `table` (the settlements of `window`, default the whole month) into the month's
        file and write it atomically; returns the rows stored. `replace`: the stored rows of
        `window` are dropped first (a forced download: repair), not merged."""
        relative = month_file(check_symbol(symbol), year, month)
        path = posixpath.join(self._root, relative)
        directory = posixpath.dirname(path)
        local = self.location.is_local
        if local:
            self._fs.makedirs(directory, exist_ok=True)
        lock = partition_lock(directory) if local else contextlib.nullcontext()
        with lock:
            part = window or month_window(year, month)
            stored, old = self._stored(path)
            stored = stored.filter(_keep(stored, month_window(year, month), part if replace else None))
            # New rows first so they win a (nominal minute) tie with the stored ones.
            merged = to_table(settlements(pa.concat_tables([table.cast(FUNDING_SCHEMA), stored])))
            # The stored explanations of settlements outside this download's part still hold.
            kept = [
                Gap.from_dict(g)
                for g in old.get("missing", ())
                if not part.start_ms <= int(g["start_ms"]) < part.end_ms
            ]
            if "window_start_ms" in old:
                start, end = int(old["window_start_ms"]), int(old["window_end_ms"])
                part = Window(min(start, part.start_ms), max(end, part.end_ms))
            all_gaps = sorted([*kept, *gaps], key=lambda g: g.start_ms)
            data = _serialize(merged, symbol, year, month, source, all_gaps, exchange_id, part)
            write_atomic(self._fs, path, data, temp_path=layout.temp_path_for(path))
        return merged.num_rows

    def _stored(self, path: str) -> tuple[pa.Table, dict[str, Any]]:
        """The stored month's settlements and footer, in one read; empty without a readable file."""
        if not self._fs.exists(path):
            return FUNDING_SCHEMA.empty_table(), {}
        try:
            with self._fs.open(path, "rb") as handle:
                table = pq.read_table(handle, columns=FUNDING_SCHEMA.names)
            meta = funding_meta((table.schema.metadata or {}).get(META_KEY))
            return table.cast(FUNDING_SCHEMA), meta
        except (ValueError, pa.ArrowException) as exc:  # a damaged file: replaced, not merged
            log.warning("replacing unreadable funding file %s: %s", path, exc)
            return FUNDING_SCHEMA.empty_table(), {}


def _keep(stored: pa.Table, month: Window, dropped: Window | None) -> pa.Array:
    """Which stored rows to merge: those of the month (by nominal minute), outside `dropped`."""
    ts = np.asarray(stored.column("timestamp").to_numpy(), dtype=np.int64)
    nominal = ts - ts % MINUTE_MS
    keep = (nominal >= month.start_ms) & (nominal < month.end_ms)
    if dropped is not None:
        keep &= (nominal < dropped.start_ms) | (nominal >= dropped.end_ms)
    return pa.array(keep)


def funding_meta(raw: bytes | None) -> dict[str, Any]:
    """A month file's footer (see `_serialize`); empty when there is none."""
    return dict(json.loads(raw)) if raw else {}


def _serialize(
    table: pa.Table,
    symbol: str,
    year: int,
    month: int,
    source: str,
    gaps: Sequence[Gap],
    exchange_id: str,
    window: Window,
) -> bytes:
    n = table.num_rows
    now = pa.scalar(dt.datetime.now(dt.UTC), pa.timestamp("ns", tz="UTC"))
    full = pa.Table.from_arrays(
        [*table.columns, pa.repeat(pa.scalar(exchange_id, pa.string()), n), pa.repeat(now, n)],
        schema=LAKE_FUNDING_SCHEMA,
    )
    meta = {
        "symbol": symbol,
        "month": f"{year:04d}-{month:02d}",
        "rows": n,
        "source": source,
        "window_start_ms": window.start_ms,
        "window_end_ms": window.end_ms,
        "missing": [g.to_dict() for g in gaps],
    }
    full = full.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True)})
    sink = pa.BufferOutputStream()
    pq.write_table(full, sink, compression=COMPRESSION, write_page_checksum=True)
    return bytes(sink.getvalue().to_pybytes())


def read_funding(
    location: DatasetLocation,
    symbols: Sequence[str] | None,
    start_ms: int | None,
    end_ms: int | None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Settlements with `start_ms <= timestamp <= end_ms`, sorted by (currency_pair, timestamp)."""
    fs, root = location.filesystem()
    low = (0, 0) if start_ms is None else _month_of(start_ms)
    high = (10_000, 13) if end_ms is None else _month_of(end_ms)
    files = [
        path
        for symbol, year, month, path in month_files(fs, root)
        if (symbols is None or symbol in symbols) and low <= (year, month) <= high
    ]
    selected = [
        c for c in _READ_SCHEMA.names if columns is None or c in {"timestamp", "currency_pair", *columns}
    ]
    if not files:
        return _READ_SCHEMA.empty_table().select(selected)
    dataset = ds.dataset(
        files,
        schema=_READ_SCHEMA,
        format="parquet",
        filesystem=arrow_filesystem(fs),
        partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
        partition_base_dir=root,
    )
    condition = None
    for part in (
        None if start_ms is None else ds.field("timestamp") >= start_ms,
        None if end_ms is None else ds.field("timestamp") <= end_ms,
    ):
        if part is not None:
            condition = part if condition is None else condition & part
    table = dataset.to_table(columns=selected, filter=condition)
    return table.sort_by([("currency_pair", "ascending"), ("timestamp", "ascending")])


def month_files(fs: FileSystem, root: str) -> list[tuple[str, int, int, str]]:
    """`(symbol, year, month, path)` of every month file of the dataset at `root`, by path."""
    found = []
    # A month file per symbol and month: few enough to find with one glob.
    for path in sorted(fs.glob(posixpath.join(root, "currency_pair=*/year=*/month=*/*.parquet"))):
        relative = posixpath.relpath(path, root)
        if layout.is_hidden(relative):
            continue
        try:
            symbol, year, month = layout.parse_partition_dir(posixpath.dirname(relative))
        except ValueError:
            continue
        found.append((symbol, year, month, path))
    return found


def settlement_times(fs: FileSystem, path: str) -> list[int]:
    """The settlement times (ms) stored in one month file."""
    with fs.open(path, "rb") as handle:
        return [int(t) for t in pq.read_table(handle, columns=["timestamp"]).column("timestamp").to_pylist()]


def _month_of(ms: int) -> tuple[int, int]:
    day = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return day.year, day.month
