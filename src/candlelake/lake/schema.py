"""Columns, types and per-file metadata of lake files.

Each file holds, in this order: `timestamp` (int64, candle open time in UTC ms), `open`, `high`,
`low`, `close`, `volume` (float64); with full Binance klines also `close_time`, `quote_volume`,
`number_of_trades`, `taker_buy_base_volume`, `taker_buy_quote_volume`; then `exchange_id`
(string) and `knowledge_timestamp` (timestamp[ns, UTC], when the data was fetched). The
partition columns live only in the path. The footer carries a `DayMeta` as JSON under the
key-value metadata key `candlelake`, so a file says what it covers without being read.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any, Final

import pyarrow as pa

from candlelake import __version__
from candlelake.klines import EXTRA_FIELDS, OHLCV_FIELDS

META_KEY: Final = b"candlelake"
META_FORMAT: Final = 1
COMPRESSION: Final = "zstd"
# Dictionary-encode only the two constant columns: on float columns a dictionary rarely wins
# against zstd and costs about as much as the rest of the write (bench/archive_ingest.py).
DICTIONARY_COLUMNS: Final[tuple[str, ...]] = ("exchange_id", "knowledge_timestamp")
# Open and close times step by a bar and trade counts vary little: delta encoding shrinks them
# better than zstd does. These columns and the dictionary ones skip zstd, whose setup per
# column chunk costs more than it saves on them: a day file is written about 15 % faster
# and is about 13 % smaller (docs/benchmarks.md).
DELTA_COLUMNS: Final[tuple[str, ...]] = ("timestamp", "close_time", "number_of_trades")

OHLCV_COLUMNS: Final[tuple[str, ...]] = tuple(name for name, _ in OHLCV_FIELDS)
KLINE_EXTRA_COLUMNS: Final[tuple[str, ...]] = tuple(name for name, _ in EXTRA_FIELDS)
FULL_KLINE_COLUMNS: Final[tuple[str, ...]] = OHLCV_COLUMNS + KLINE_EXTRA_COLUMNS
METADATA_COLUMNS: Final[tuple[str, ...]] = ("exchange_id", "knowledge_timestamp")

_METADATA_FIELDS = (
    pa.field("exchange_id", pa.string()),
    pa.field("knowledge_timestamp", pa.timestamp("ns", tz="UTC")),
)
# Upstream's dtypes: currency_pair object, year and month int32.
PARTITION_SCHEMA: Final = pa.schema(
    [("currency_pair", pa.string()), ("year", pa.int32()), ("month", pa.int32())]
)


@functools.cache
def lake_schema(full: bool) -> pa.Schema:
    """The stored columns; `full` adds Binance's extra kline fields."""
    data = OHLCV_FIELDS + (EXTRA_FIELDS if full else ())
    return pa.schema([pa.field(n, t) for n, t in data] + list(_METADATA_FIELDS))


@dataclass(frozen=True)
class DayMeta:
    """What one day file covers, stored in its footer.

    `window_start_ms`/`window_end_ms` is the half-open part of the day the file covers (a day
    still in progress is partial). `complete` means the whole window was fetched without
    failures. `gaps` lists missing or excluded minutes as `{"start_ms", "end_ms", "reason"}`.
    """

    symbol: str
    day: dt.date
    window_start_ms: int
    window_end_ms: int
    rows: int
    complete: bool
    source: str
    archive_sha256: str | None = None
    gaps: tuple[dict[str, Any], ...] = ()
    writer: str = field(default=f"candlelake {__version__}")

    def __post_init__(self) -> None:
        # Accept a list from JSON or callers; keep the stored value immutable.
        object.__setattr__(self, "gaps", tuple(dict(g) for g in self.gaps))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (what `to_json` encodes)."""
        # Field by field rather than `dataclasses.asdict`, whose deep copy was a visible
        # share of a day's write on the archive-ingest path.
        data: dict[str, Any] = {f: getattr(self, f) for f in self.__dataclass_fields__}
        data["day"] = self.day.isoformat()
        data["gaps"] = [dict(g) for g in self.gaps]
        data["format"] = META_FORMAT
        return data

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> DayMeta:
        """Parse `to_json` output; keys this version does not know are ignored."""
        data = json.loads(raw)
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["day"] = dt.date.fromisoformat(known["day"])
        return cls(**known)
