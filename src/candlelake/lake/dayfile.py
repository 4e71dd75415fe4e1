"""The content of one day file: the lake's columns, the checks before a write, the Parquet bytes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from candlelake.bars import BarGrid
from candlelake.lake import layout
from candlelake.lake.schema import (
    COMPRESSION,
    DELTA_COLUMNS,
    DICTIONARY_COLUMNS,
    KLINE_EXTRA_COLUMNS,
    META_KEY,
    METADATA_COLUMNS,
    DayMeta,
    lake_schema,
)
from candlelake.timeutil import fmt_ms


def serialize(table: pa.Table, meta: DayMeta) -> bytes:
    """The complete Parquet file, built in memory so that storage gets it in one piece."""
    metadata = dict(table.schema.metadata or {})
    metadata[META_KEY] = meta.to_json()
    sink = pa.BufferOutputStream()
    # Page checksums let a later run tell garbled data from good data (lake/integrity.py).
    plain = (*DICTIONARY_COLUMNS, *DELTA_COLUMNS)
    pq.write_table(
        table.replace_schema_metadata(metadata),
        sink,
        compression={c: "none" if c in plain else COMPRESSION for c in table.column_names},
        use_dictionary=[c for c in DICTIONARY_COLUMNS if c in table.column_names],
        column_encoding={c: "DELTA_BINARY_PACKED" for c in DELTA_COLUMNS if c in table.column_names},
        write_page_checksum=True,
    )
    return bytes(sink.getvalue().to_pybytes())


def to_lake_table(table: pa.Table, *, exchange_id: str, knowledge_time: dt.datetime) -> pa.Table:
    if knowledge_time.tzinfo is None:
        raise ValueError("knowledge_time must be timezone-aware")
    if not exchange_id:
        raise ValueError("exchange_id must not be empty")
    names = set(table.column_names)
    present_extras = names & set(KLINE_EXTRA_COLUMNS)
    if present_extras and present_extras != set(KLINE_EXTRA_COLUMNS):
        missing = [c for c in KLINE_EXTRA_COLUMNS if c not in names]
        raise ValueError(f"partial kline columns; missing: {', '.join(missing)}")
    schema = lake_schema(full=bool(present_extras))
    # Partition columns may ride along from the caller; the path holds them.
    allowed = set(schema.names) | set(layout.PARTITION_COLUMNS)
    unknown = [c for c in table.column_names if c not in allowed]
    if unknown:
        raise ValueError(f"unexpected columns: {', '.join(unknown)}")
    data_fields = [f for f in schema if f.name not in METADATA_COLUMNS]
    missing = [f.name for f in data_fields if f.name not in names]
    if missing:
        raise ValueError(f"missing columns: {', '.join(missing)}")
    columns = []
    for f in data_fields:
        column = table.column(f.name)
        if column.null_count:
            raise ValueError(f"column {f.name} has {column.null_count} null values")
        try:
            columns.append(column if column.type == f.type else column.cast(f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"column {f.name} cannot be stored as {f.type}: {exc}") from None
    n = table.num_rows
    columns.append(pa.repeat(pa.scalar(exchange_id, pa.string()), n))
    knowledge = pa.scalar(knowledge_time.astimezone(dt.UTC), pa.timestamp("ns", tz="UTC"))
    columns.append(pa.repeat(knowledge, n))
    return pa.Table.from_arrays(columns, schema=schema)


def check_meta(symbol: str, day: dt.date, table: pa.Table, meta: DayMeta, grid: BarGrid) -> None:
    if (meta.symbol, meta.day) != (symbol, day):
        raise ValueError(f"meta describes {meta.symbol} {meta.day}, not {symbol} {day}")
    if meta.rows != table.num_rows:
        raise ValueError(f"meta says {meta.rows} rows, the table has {table.num_rows}")
    whole = grid.partition_window(day)
    if not whole.start_ms <= meta.window_start_ms <= meta.window_end_ms <= whole.end_ms:
        raise ValueError(f"meta window [{meta.window_start_ms}, {meta.window_end_ms}) is not inside {day}")


def check_day_rows(table: pa.Table, meta: DayMeta) -> None:
    if table.num_rows == 0:
        return
    # numpy, not pyarrow.compute: on 1,440 rows each compute call costs far more than its
    # arithmetic, and this runs for every day written.
    ts = np.asarray(table.column("timestamp").to_numpy(), dtype=np.int64)
    low, high = int(ts.min()), int(ts.max())
    if low < meta.window_start_ms or high >= meta.window_end_ms:
        raise ValueError(
            f"rows outside the covered window [{fmt_ms(meta.window_start_ms)}, "
            f"{fmt_ms(meta.window_end_ms)}): first {fmt_ms(low)}, last {fmt_ms(high)}"
        )
    steps = np.diff(ts)
    repeated = np.flatnonzero(steps == 0)
    if len(repeated):
        raise ValueError(f"duplicate timestamp {fmt_ms(int(ts[repeated[0]]))}")
    backwards = np.flatnonzero(steps < 0)
    if len(backwards):
        raise ValueError(f"rows not sorted by timestamp at {fmt_ms(int(ts[backwards[0] + 1]))}")
