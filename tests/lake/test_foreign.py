"""An upstream lake next to ours: foreign files are detected, read once, and converted.

Upstream's writer is reproduced as upstream runs it: pandas frames indexed by time, appended
with `pyarrow.parquet.write_to_dataset` (a new uuid-named file per partition and run).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from candlelake.cli.main import main
from candlelake.lake import DatasetLocation, LakeWriter, read
from candlelake.lake.schema import DayMeta
from candlelake.timeutil import day_window

DAY = dt.date(2024, 2, 19)


def _upstream_run(root: Path, symbol: str, start: str, minutes: int, base: float, knowledge: str) -> None:
    index = pd.date_range(start, periods=minutes, freq="min", tz="UTC", name="timestamp")
    values = base + np.arange(minutes, dtype="float64")
    frame = pd.DataFrame(
        {
            "timestamp": index.as_unit("ms").asi8,
            "open": values,
            "high": values + 1,
            "low": values - 1,
            "close": values,
            "volume": np.full(minutes, 2.0),
            "currency_pair": symbol,
            "exchange_id": "binance",
            "knowledge_timestamp": pd.Timestamp(knowledge),
        },
        index=index,
    )
    frame["year"] = frame.index.year.astype("int32")
    frame["month"] = frame.index.month.astype("int32")
    pq.write_to_dataset(pa.Table.from_pandas(frame), root, partition_cols=["currency_pair", "year", "month"])


def _our_day(root: Path, symbol: str, day: dt.date, base: float) -> None:
    window = day_window(day)
    stamps = list(range(window.start_ms, window.end_ms, 60_000))
    values = [base + i for i in range(len(stamps))]
    table = pa.table(
        {
            "timestamp": stamps,
            "open": values,
            "high": values,
            "low": values,
            "close": values,
            "volume": [1.0] * len(stamps),
        }
    )
    meta = DayMeta(symbol, day, window.start_ms, window.end_ms, len(stamps), True, "rest")
    LakeWriter(DatasetLocation(str(root))).write_day(
        symbol,
        day,
        table,
        meta,
        exchange_id="binance",
        knowledge_time=dt.datetime(2024, 2, 20, tzinfo=dt.UTC),
    )


def test_read_never_returns_a_minute_twice(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    # Upstream ran 02-18 twice (a re-run with corrected values) and 02-19 once ...
    _upstream_run(root, "BTC_USDT", "2024-02-18T00:00Z", 1440, 100.0, "2024-02-19T01:21Z")
    _upstream_run(root, "BTC_USDT", "2024-02-18T00:00Z", 1440, 500.0, "2024-02-19T09:00Z")
    _upstream_run(root, "BTC_USDT", "2024-02-19T00:00Z", 1440, 200.0, "2024-02-20T01:21Z")
    # ... and candlelake wrote its own file for 02-19.
    _our_day(root, "BTC_USDT", DAY, 900.0)
    table = read(str(root), ["BTC_USDT"], "2024-02-18", "2024-02-19", as_="arrow")
    stamps = table.column("timestamp").to_pylist()
    assert len(stamps) == len(set(stamps)) == 2 * 1440
    opens = table.column("open").to_pylist()
    assert opens[:1440] == [500.0 + m for m in range(1440)]  # the latest knowledge wins
    assert opens[1440:] == [900.0 + m for m in range(1440)]  # our verified day file wins
    # Columns asked for without knowledge_timestamp still come back de-duplicated.
    narrow = read(str(root), ["BTC_USDT"], "2024-02-18", "2024-02-19", columns=["close"], as_="arrow")
    assert narrow.column_names == ["timestamp", "close", "currency_pair"]
    assert narrow.num_rows == 2 * 1440


def test_convert_upstream_writes_verified_day_files_once(tmp_path: Path, capsys) -> None:
    root = tmp_path / "ds"
    _upstream_run(root, "BTC_USDT", "2024-02-18T00:00Z", 1440, 100.0, "2024-02-19T01:21Z")
    _upstream_run(root, "BTC_USDT", "2024-02-18T12:00Z", 60, 700.0, "2024-02-19T05:00Z")  # newer, 1 h
    _upstream_run(root, "ETH_USDT", "2024-02-19T00:00Z", 30, 10.0, "2024-02-20T01:21Z")  # a partial day
    _upstream_run(root, "BTC_USDT", "2024-02-19T00:00Z", 1440, 200.0, "2024-02-20T01:21Z")
    _our_day(root, "BTC_USDT", DAY, 900.0)  # kept: candlelake's own day file
    before = read(str(root), as_="arrow")

    assert main(["convert-upstream", str(root), "--remove-foreign"]) == 0
    out = capsys.readouterr().out
    assert "wrote BTC_USDT 2024-02-18" in out and "wrote ETH_USDT 2024-02-19" in out
    assert "1 days kept" in out and "60 duplicate rows dropped" in out
    names = sorted(p.name for p in root.rglob("*.parquet"))
    assert names == ["2024-02-18.parquet", "2024-02-19.parquet", "2024-02-19.parquet"]
    after = read(str(root), as_="arrow")
    columns = ["currency_pair", "timestamp", "open", "high", "low", "close", "volume"]
    assert after.select(columns).equals(before.select(columns))
    opens = read(str(root), ["BTC_USDT"], "2024-02-18", "2024-02-18", as_="arrow").column("open").to_pylist()
    assert opens[720:780] == [700.0 + m for m in range(60)] and opens[0] == 100.0
    # The partial day is stored with its missing minutes explained.
    meta = LakeWriter(DatasetLocation(str(root))).read_meta("ETH_USDT", DAY)
    assert meta is not None and (meta.rows, meta.complete, meta.source) == (30, False, "upstream")
    assert [(g["start_ms"], g["reason"]) for g in meta.gaps] == [
        (day_window(DAY).start_ms + 30 * 60_000, "not in the upstream data")
    ]

    assert main(["convert-upstream", str(root)]) == 0  # idempotent: nothing left to convert
    assert "0 foreign files" in capsys.readouterr().out
