"""The candle columns every source produces and the lake stores: names and Arrow types.

No exchange format lives here; each source converts its own rows (sources/binance_rows.py).
"""

from __future__ import annotations

import pyarrow as pa

OHLCV_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("timestamp", pa.int64()),
    ("open", pa.float64()),
    ("high", pa.float64()),
    ("low", pa.float64()),
    ("close", pa.float64()),
    ("volume", pa.float64()),
)
EXTRA_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("close_time", pa.int64()),
    ("quote_volume", pa.float64()),
    ("number_of_trades", pa.int64()),
    ("taker_buy_base_volume", pa.float64()),
    ("taker_buy_quote_volume", pa.float64()),
)
OHLCV_SCHEMA = pa.schema(list(OHLCV_FIELDS))
FULL_SCHEMA = pa.schema(list(OHLCV_FIELDS + EXTRA_FIELDS))


def schema_for(full: bool) -> pa.Schema:
    return FULL_SCHEMA if full else OHLCV_SCHEMA


def empty_table(full: bool) -> pa.Table:
    return schema_for(full).empty_table()
