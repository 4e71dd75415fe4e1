"""The Parquet lake: layout, schema, atomic day-file writer, pruning reader, storage."""

from candlelake.lake.layout import dataset_url, open_dataset
from candlelake.lake.reader import read
from candlelake.lake.schema import (
    FULL_KLINE_COLUMNS,
    OHLCV_COLUMNS,
    DayMeta,
    lake_schema,
)
from candlelake.lake.storage import DatasetLocation, ensure_writable
from candlelake.lake.writer import LakeWriter

__all__ = [
    "FULL_KLINE_COLUMNS",
    "OHLCV_COLUMNS",
    "DatasetLocation",
    "DayMeta",
    "LakeWriter",
    "dataset_url",
    "ensure_writable",
    "lake_schema",
    "open_dataset",
    "read",
]
