"""read(): equality with what was written, bounds, pruning, hidden files, upstream layout."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import candlelake
from candlelake.errors import UsageError
from candlelake.lake import DatasetLocation, DayMeta, LakeWriter, read
from candlelake.timeutil import MINUTE_MS, day_window

MakeKlines = Callable[..., pa.Table]
MakeMeta = Callable[..., DayMeta]

KNOWLEDGE_TIME = dt.datetime(2024, 2, 20, 0, 5, tzinfo=dt.UTC)
DAYS = [dt.date(2024, 1, 31), dt.date(2024, 2, 1), dt.date(2024, 2, 2)]
BASES = {"BTC_USDT": 40_000.0, "ETH_USDT": 2_000.0}


@pytest.fixture
def lake(tmp_path: Path, make_klines: MakeKlines, make_meta: MakeMeta) -> Path:
    """Two symbols, three days across a month boundary, 1440 candles a day."""
    root = tmp_path / "ds"
    writer = LakeWriter(DatasetLocation(str(root)))
    for symbol, base in BASES.items():
        for day in DAYS:
            table = make_klines(day, range(1440), base=base)
            writer.write_day(symbol, day, table, make_meta(symbol, day, table),
                             exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    return root


def expected_opens(symbol: str, days: list[dt.date]) -> list[float]:
    return [BASES[symbol] + m for _ in days for m in range(1440)]


def test_read_everything_as_pandas(lake: Path) -> None:
    frame = read(str(lake))
    assert len(frame) == 2 * 3 * 1440
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "timestamp"
    assert list(frame.columns) == [
        "timestamp", "open", "high", "low", "close", "volume",
        "exchange_id", "knowledge_timestamp", "currency_pair", "year", "month",
    ]  # fmt: skip
    btc = frame[frame["currency_pair"] == "BTC_USDT"]
    assert btc["open"].tolist() == expected_opens("BTC_USDT", DAYS)
    assert btc.index[0] == pd.Timestamp("2024-01-31T00:00:00Z")
    assert btc.index[-1] == pd.Timestamp("2024-02-02T23:59:00Z")
    assert str(frame.index.dtype) == "datetime64[ns, UTC]"
    assert (btc.index.asi8 // 1_000_000 == btc["timestamp"].to_numpy()).all()
    assert btc["month"].tolist()[:1] == [1] and btc["month"].tolist()[-1] == 2
    assert frame["year"].dtype == np.int32
    assert str(frame["knowledge_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert (frame["knowledge_timestamp"] == pd.Timestamp(KNOWLEDGE_TIME)).all()


def test_read_is_exported_lazily_from_the_package(lake: Path) -> None:
    table = candlelake.read(str(lake), ["ETH_USDT"], as_="arrow")
    assert isinstance(table, pa.Table)
    assert set(table.column("currency_pair").to_pylist()) == {"ETH_USDT"}
    assert table.column("open").to_pylist() == expected_opens("ETH_USDT", DAYS)


def test_bounds_are_inclusive(lake: Path) -> None:
    frame = read(str(lake), ["BTC_USDT"], "2024-01-31T23:58:00+00:00", "2024-02-01 00:01")
    assert frame.index.strftime("%H:%M").tolist() == ["23:58", "23:59", "00:00", "00:01"]
    by_ms = read(str(lake), ["BTC_USDT"], day_window(DAYS[1]).start_ms,
                 day_window(DAYS[1]).start_ms + MINUTE_MS)  # fmt: skip
    assert len(by_ms) == 2


def test_a_date_end_means_the_whole_day(lake: Path) -> None:
    frame = read(str(lake), ["ETH_USDT"], dt.date(2024, 2, 1), dt.date(2024, 2, 1))
    assert len(frame) == 1440
    assert read(str(lake), ["ETH_USDT"], "2024-02-01", "2024-02-01").equals(frame)


def test_columns_and_symbols(lake: Path) -> None:
    table = read(str(lake), ["BTC_USDT", "ETH_USDT"], columns=["close"], as_="arrow")
    assert table.column_names == ["timestamp", "close", "currency_pair"]
    assert table.column("currency_pair").to_pylist()[0] == "BTC_USDT"
    assert table.column("currency_pair").to_pylist()[-1] == "ETH_USDT"
    assert read(str(lake), ["SOL_USDT"]).empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ["vwap"]}, "unknown column"),
        ({"start": "2024-02-02", "end": "2024-02-01"}, "is after end"),
        ({"start": "yesterday"}, "cannot parse"),
        ({"symbols": ["btc-usdt"]}, "bad symbol"),
    ],
)
def test_bad_requests(lake: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read(str(lake), **kwargs)  # type: ignore[arg-type]


def test_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no dataset at"):
        read(str(tmp_path / "nothing"))


def test_a_one_month_read_never_opens_another_month(lake: Path) -> None:
    january = lake / "currency_pair=BTC_USDT/year=2024/month=1/2024-01-31.parquet"
    january.write_bytes(b"not parquet at all")
    february = read(str(lake), ["BTC_USDT"], "2024-02-01", "2024-02-29")
    assert february["open"].tolist() == expected_opens("BTC_USDT", DAYS[1:])
    # The corruption is real: a read that needs January fails.
    with pytest.raises(Exception, match=r"(?i)parquet"):
        read(str(lake), ["BTC_USDT"], "2024-01-01", "2024-02-29")


def test_a_one_day_read_never_opens_another_day(lake: Path) -> None:
    (lake / "currency_pair=ETH_USDT/year=2024/month=2/2024-02-01.parquet").write_bytes(b"junk")
    frame = read(str(lake), ["ETH_USDT"], "2024-02-02", "2024-02-02")
    assert len(frame) == 1440


def test_hidden_and_temporary_files_are_never_seen(lake: Path) -> None:
    month = lake / "currency_pair=BTC_USDT/year=2024/month=2"
    (month / ".2024-02-01.parquet.0123abcd.tmp").write_bytes(b"half a file")
    (month / "_SUCCESS").write_bytes(b"")
    (lake / ".candlelake-probe-x").write_bytes(b"")
    frame = read(str(lake), ["BTC_USDT"])
    assert frame["open"].tolist() == expected_opens("BTC_USDT", DAYS)


def test_reads_an_upstream_written_layout(tmp_path: Path) -> None:
    """Upstream: pandas frames indexed by time, appended with write_to_dataset (uuid names)."""
    root = tmp_path / "upstream"

    def upstream_frame(symbol: str, start: str, minutes: int, base: float) -> pd.DataFrame:
        index = pd.date_range(start, periods=minutes, freq="min", tz="UTC", name="timestamp")
        frame = pd.DataFrame(
            {
                "timestamp": index.as_unit("ms").asi8,
                "open": base + np.arange(minutes, dtype="float64"),
                "high": base + 1 + np.arange(minutes, dtype="float64"),
                "low": base - 1 + np.arange(minutes, dtype="float64"),
                "close": base + np.arange(minutes, dtype="float64"),
                "volume": np.full(minutes, 3.5),
                "currency_pair": symbol,
                "exchange_id": "binance",
                "knowledge_timestamp": pd.Timestamp("2024-02-20T00:10:00Z").as_unit("us"),
            },
            index=index,
        )
        frame["year"] = frame.index.year.astype("int32")
        frame["month"] = frame.index.month.astype("int32")
        return frame

    runs = [
        upstream_frame("BTC_USDT", "2024-02-18T00:00Z", 1440, 100.0),
        upstream_frame("BTC_USDT", "2024-02-19T00:00Z", 1440, 200.0),
        upstream_frame("ETH_USDT", "2024-02-19T00:00Z", 60, 300.0),
        upstream_frame("BTC_USDT", "2024-03-01T00:00Z", 10, 400.0),
    ]
    for frame in runs:  # one daily run each: a new uuid file per partition
        pq.write_to_dataset(pa.Table.from_pandas(frame), root,
                            partition_cols=["currency_pair", "year", "month"])  # fmt: skip
    february = root / "currency_pair=BTC_USDT/year=2024/month=2"
    assert len(list(february.iterdir())) == 2

    frame = read(str(root), ["BTC_USDT"], "2024-02-19", "2024-02-29")
    assert frame["open"].tolist() == [200.0 + m for m in range(1440)]
    assert frame.index[0] == pd.Timestamp("2024-02-19T00:00Z")
    assert str(frame["knowledge_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert set(frame["month"]) == {2}

    everything = read(str(root), as_="arrow")
    assert everything.num_rows == 1440 * 2 + 60 + 10
    assert "__index_level_0__" not in everything.column_names


def test_mixed_layout_in_one_month(lake: Path, make_klines: MakeKlines) -> None:
    # An upstream append file next to our day files is read too (the month is not pruned).
    extra = make_klines(dt.date(2024, 2, 3), range(5), base=7.0).append_column(
        "exchange_id", pa.array(["binance"] * 5)
    )
    pq.write_table(extra, lake / "currency_pair=BTC_USDT/year=2024/month=2/0f1e2d.parquet")
    frame = read(str(lake), ["BTC_USDT"], "2024-02-03", "2024-02-03")
    assert frame["open"].tolist() == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert frame["knowledge_timestamp"].isna().all()


def test_full_klines_come_back(tmp_path: Path, make_klines: MakeKlines, make_meta: MakeMeta) -> None:
    writer = LakeWriter(DatasetLocation(str(tmp_path / "full")))
    day = dt.date(2024, 2, 19)
    table = make_klines(day, range(4), full=True)
    writer.write_day("BTC_USDT", day, table, make_meta("BTC_USDT", day, table),
                     exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    frame = read(str(tmp_path / "full"))
    assert frame["number_of_trades"].tolist() == [7, 8, 9, 10]
    assert frame["close_time"].tolist() == [t + MINUTE_MS - 1 for t in frame["timestamp"]]
