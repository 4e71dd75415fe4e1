"""Read a slice of a dataset: chosen symbols, a time range, on local disk or S3.

Partitions are pruned by listing only the directories the request can touch
(`currency_pair=`, `year=`, `month=`) and, for day files, by their names; no other file is
opened. Files written by upstream (uuid names, several per month) are read too, with one
row per minute (see `candlelake.lake.foreign`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal, overload

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from candlelake.errors import UsageError
from candlelake.lake.catalog import resolve
from candlelake.lake.foreign import is_foreign, one_row_per_minute
from candlelake.lake.funding import read_funding
from candlelake.lake.integrity import OnError, drop_repeats, readable_files
from candlelake.lake.listing import select_files
from candlelake.lake.resample import resample
from candlelake.lake.schema import PARTITION_SCHEMA, lake_schema
from candlelake.lake.storage import DatasetLocation, FileSystem, arrow_filesystem
from candlelake.markets import check_symbol
from candlelake.signature import DatasetSignature
from candlelake.timeutil import DAY_MS, from_ms, parse_timestamp, to_ms

TimeLike = dt.datetime | dt.date | str | int | pd.Timestamp
# Garbled data is an error rather than wrong numbers (day files carry page checksums).
_VERIFY_PAGES = ds.ParquetFragmentScanOptions(page_checksum_verification=True)


@overload
def read(
    dataset: str | DatasetLocation,
    symbols: Sequence[str] | None = ...,
    start: TimeLike | None = ...,
    end: TimeLike | None = ...,
    *,
    columns: Sequence[str] | None = ...,
    as_: Literal["pandas"] = ...,
    aws_profile: str | None = ...,
    endpoint_url: str | None = ...,
    on_error: OnError = ...,
    interval: str | None = ...,
    **tokens: str | None,
) -> pd.DataFrame: ...


@overload
def read(
    dataset: str | DatasetLocation,
    symbols: Sequence[str] | None = ...,
    start: TimeLike | None = ...,
    end: TimeLike | None = ...,
    *,
    columns: Sequence[str] | None = ...,
    as_: Literal["arrow"],
    aws_profile: str | None = ...,
    endpoint_url: str | None = ...,
    on_error: OnError = ...,
    interval: str | None = ...,
    **tokens: str | None,
) -> pa.Table: ...


def read(
    dataset: str | DatasetLocation,
    symbols: Sequence[str] | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    *,
    columns: Sequence[str] | None = None,
    as_: Literal["pandas", "arrow"] = "pandas",
    aws_profile: str | None = None,
    endpoint_url: str | None = None,
    on_error: OnError = "raise",
    interval: str | None = None,
    **tokens: str | None,
) -> pd.DataFrame | pa.Table:
    """Read candles of `symbols` (default: all) with open time in `[start, end]`.

    Args:
        dataset: the dataset root (`<lake>/v3/<tokens...>`), as a URL, a local path or a
            `DatasetLocation`; or a lake base, with `tokens` picking the dataset.
        start, end: both included, like upstream. A datetime, an ISO string, epoch ms, or a
            date; a date (or a `YYYY-MM-DD` string) as `end` means the whole of that UTC day.
            A naive time is UTC.
        columns: data columns to return; `timestamp` and `currency_pair` always come back.
        as_: `"pandas"` gives a DataFrame indexed by a UTC DatetimeIndex named `timestamp`
            (built from the int `timestamp` column, which stays, as upstream); `"arrow"` gives
            an Arrow table. Rows are sorted by (currency_pair, timestamp).
        aws_profile, endpoint_url: S3 settings when `dataset` is a URL.
        interval: resample to this timeframe (`5m`, `1h`, `1d`; see lake/resample.py).
        tokens: signature tokens that pick a dataset under a lake base, e.g.
            `market="futures", universe="v7.3"` (also `mode`, `vendor`, `exchange`, or any
            token name); the others default when only one dataset matches.
        on_error: `"raise"` (default) stops at an unreadable file; `"skip"` leaves it out
            with a warning naming it.

    A (pair, minute) never comes back twice, even if a misplaced file repeats rows.

    Raises:
        UsageError: no dataset there, a bad symbol, column or time, or start after end.
        UnreadableFile: a file in the slice cannot be read (it is named), with `on_error="raise"`.
    """
    if on_error not in ("raise", "skip"):
        raise UsageError(f"bad on_error {on_error!r}; allowed: raise, skip")
    location = (
        dataset
        if isinstance(dataset, DatasetLocation)
        else resolve(dataset, aws_profile=aws_profile, endpoint_url=endpoint_url, **tokens)
    )
    start_ms = None if start is None else _to_ms(start, end_of_day=False)
    end_ms = None if end is None else _to_ms(end, end_of_day=True)
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise UsageError(f"start {from_ms(start_ms)} is after end {from_ms(end_ms)}")
    wanted = None if symbols is None else [check_symbol(s) for s in symbols]

    fs, root = location.filesystem()
    if not fs.isdir(root):
        raise UsageError(f"no dataset at {location.url}")
    if data_type_of(location.url) == "funding_rate":
        if interval is not None:
            raise UsageError("interval applies to candles, not to funding settlements")
        table = read_funding(location, wanted, start_ms, end_ms, columns)
        return table if as_ == "arrow" else to_pandas(table)
    files = select_files(fs, root, wanted, start_ms, end_ms)
    table = _scan(fs, root, files, wanted, start_ms, end_ms, columns, on_error)
    if interval is not None:
        table = resample(table, interval)
    if as_ == "arrow":
        return table
    return to_pandas(table)


def data_type_of(url: str) -> str | None:
    """The `data_type` token of a dataset root's path, None if it is not a signature path."""
    try:
        return DatasetSignature.from_path(url).data_type
    except UsageError:
        return None


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """The pandas form of a `read` result: a UTC DatetimeIndex named `timestamp`."""
    frame = table.to_pandas()
    # ns, as upstream's frames; pandas would otherwise pick the unit from the input.
    index = pd.to_datetime(frame["timestamp"].to_numpy(), unit="ms", utc=True).as_unit("ns")
    frame.index = pd.DatetimeIndex(index, name="timestamp")
    return frame


def _scan(
    fs: FileSystem,
    root: str,
    files: list[str],
    symbols: Sequence[str] | None,
    start_ms: int | None,
    end_ms: int | None,
    columns: Sequence[str] | None,
    on_error: OnError = "raise",
) -> pa.Table:
    # Every lake column always comes back (null where a file lacks it); Binance's extra kline
    # columns only if the first readable file has them, since a dataset holds one kind or the other.
    full = False
    for path in files:
        try:
            with fs.open(path, "rb") as handle:
                full = "close_time" in pq.read_schema(handle).names
            break
        except Exception:  # noqa: S112 - the file is named below, when the files are read
            continue
    schema = pa.schema(list(lake_schema(full=full)) + list(PARTITION_SCHEMA))
    if columns is None:
        selected = schema.names
    else:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise UsageError(f"unknown column(s) {', '.join(unknown)}; available: {', '.join(schema.names)}")
        selected = [c for c in schema.names if c in {"timestamp", "currency_pair", *columns}]
    if not files:
        return schema.empty_table().select(selected)

    def assemble(paths: list[str]) -> pa.Table:
        foreign = [f for f in paths if is_foreign(f)]
        if not foreign:
            table = _load(fs, root, paths, schema, selected, symbols, start_ms, end_ms)
            return drop_repeats(table.sort_by([("currency_pair", "ascending"), ("timestamp", "ascending")]))
        # Upstream files repeat minutes: keep one row per minute (needs the knowledge time).
        keyed = list(dict.fromkeys([*selected, "knowledge_timestamp"]))
        days = [f for f in paths if not is_foreign(f)]
        table = one_row_per_minute(
            _load(fs, root, days, schema, keyed, symbols, start_ms, end_ms),
            _load(fs, root, foreign, schema, keyed, symbols, start_ms, end_ms),
        )
        return table.select(selected)

    try:
        return assemble(files)
    except (pa.ArrowException, OSError, ValueError):
        # One bad file fails the whole scan: find which, then name it or leave it out.
        readable = readable_files(fs, files, on_error)
        if len(readable) == len(files):
            raise
        return assemble(readable)


def files_dataset(fs: FileSystem, root: str, files: list[str], schema: pa.Schema) -> ds.Dataset:
    """Lake files as one Arrow dataset, partition columns taken from their hive paths."""
    return ds.dataset(
        files,
        schema=schema,
        format=ds.ParquetFileFormat(default_fragment_scan_options=_VERIFY_PAGES),
        filesystem=arrow_filesystem(fs),
        partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
        partition_base_dir=root,
    )


def _load(
    fs: FileSystem,
    root: str,
    files: list[str],
    schema: pa.Schema,
    selected: Sequence[str],
    symbols: Sequence[str] | None,
    start_ms: int | None,
    end_ms: int | None,
) -> pa.Table:
    dataset = files_dataset(fs, root, files, schema)
    condition = None
    ts = ds.field("timestamp")
    for part in (
        None if start_ms is None else ts >= start_ms,
        None if end_ms is None else ts <= end_ms,
        None if symbols is None else ds.field("currency_pair").isin(list(symbols)),
    ):
        if part is not None:
            condition = part if condition is None else condition & part
    return dataset.to_table(columns=list(selected), filter=condition)


def _to_ms(value: TimeLike, *, end_of_day: bool) -> int:
    """Epoch ms of a time bound; a bare date as an end bound means its last millisecond."""
    if isinstance(value, bool):
        raise UsageError(f"not a time: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.date.fromisoformat(text) if len(text) == 10 else parse_timestamp(text)
        except ValueError:
            raise UsageError(f"cannot parse time {text!r}; use ISO 8601 or YYYY-MM-DD") from None
    if isinstance(value, dt.datetime):  # includes pd.Timestamp
        return to_ms(value)
    start = to_ms(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC))
    return start + DAY_MS - 1 if end_of_day else start
