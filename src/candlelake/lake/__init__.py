"""The Parquet lake: layout, schema, atomic day-file writer, pruning reader, storage.

Names are loaded on first use (PEP 562), so that importing one light module of this
package, such as `candlelake.lake.storage` for the CLI's flags, does not pull in
pyarrow and pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from candlelake.lake.layout import dataset_url, open_dataset
    from candlelake.lake.reader import read
    from candlelake.lake.schema import FULL_KLINE_COLUMNS, OHLCV_COLUMNS, DayMeta, lake_schema
    from candlelake.lake.storage import DatasetLocation, ensure_writable
    from candlelake.lake.writer import LakeWriter

_HOME = {
    "FULL_KLINE_COLUMNS": "schema",
    "OHLCV_COLUMNS": "schema",
    "DayMeta": "schema",
    "lake_schema": "schema",
    "DatasetLocation": "storage",
    "ensure_writable": "storage",
    "LakeWriter": "writer",
    "dataset_url": "layout",
    "open_dataset": "layout",
    "read": "reader",
}

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


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'candlelake.lake' has no attribute {name!r}")
    return getattr(importlib.import_module(f"candlelake.lake.{module}"), name)
