"""Binance's 12-field kline rows (REST JSON) as an Arrow table with the lake's column names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from candlelake.klines import schema_for

# Index of each lake column in Binance's 12-field kline row (field 11 is "ignore").
_BINANCE_INDEX = {
    "timestamp": 0,
    "open": 1,
    "high": 2,
    "low": 3,
    "close": 4,
    "volume": 5,
    "close_time": 6,
    "quote_volume": 7,
    "number_of_trades": 8,
    "taker_buy_base_volume": 9,
    "taker_buy_quote_volume": 10,
}


def binance_rows_to_table(rows: Sequence[Sequence[Any]], *, full: bool) -> pa.Table:
    """Convert Binance kline rows (12 fields, decimals as strings) into an Arrow table.

    Decimal strings go through Arrow's string-to-float cast, which rounds correctly,
    so a value equals `float(text)` exactly. Raises ValueError on a malformed row.
    """
    schema = schema_for(full)
    if not rows:
        return schema.empty_table()
    if any(len(row) < 11 for row in rows):
        raise ValueError("kline row with fewer than 11 fields")
    columns = list(zip(*rows, strict=False))
    arrays = []
    for field in schema:
        values = columns[_BINANCE_INDEX[field.name]]
        if pa.types.is_integer(field.type):
            arrays.append(pa.array([int(v) for v in values], type=field.type))
        else:
            arrays.append(pa.array([str(v) for v in values], type=pa.string()).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)
