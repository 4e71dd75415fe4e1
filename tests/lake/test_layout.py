"""Lake paths: build, parse back, and refuse anything we would not have built."""

from __future__ import annotations

import datetime as dt

import pytest

from candlelake.errors import UsageError
from candlelake.lake import layout
from candlelake.signature import DatasetSignature

CASES = [
    ("BTC_USDT", dt.date(2024, 2, 19), "currency_pair=BTC_USDT/year=2024/month=2/2024-02-19.parquet"),
    (
        "1000SHIB_USDT",
        dt.date(2023, 12, 31),
        "currency_pair=1000SHIB_USDT/year=2023/month=12/2023-12-31.parquet",
    ),
    ("ETH_BUSD", dt.date(2024, 1, 1), "currency_pair=ETH_BUSD/year=2024/month=1/2024-01-01.parquet"),
    ("BTC_USDT", dt.date(2024, 2, 29), "currency_pair=BTC_USDT/year=2024/month=2/2024-02-29.parquet"),
    ("A1_B2", dt.date(999, 10, 1), "currency_pair=A1_B2/year=999/month=10/0999-10-01.parquet"),
]  # fmt: skip


@pytest.mark.parametrize(("symbol", "day", "path"), CASES)
def test_day_file_round_trip(symbol: str, day: dt.date, path: str) -> None:
    assert layout.day_file(symbol, day) == path
    assert layout.parse_day_file(path) == (symbol, day)
    assert layout.day_file(*layout.parse_day_file(path)) == path


def test_partition_dir_month_is_not_zero_padded() -> None:
    assert layout.partition_dir("BTC_USDT", 2022, 1) == "currency_pair=BTC_USDT/year=2022/month=1"
    assert layout.parse_partition_dir("currency_pair=BTC_USDT/year=2022/month=1/") == (
        "BTC_USDT",
        2022,
        1,
    )


@pytest.mark.parametrize(
    "path",
    [
        "currency_pair=BTC_USDT/year=2024/month=02/2024-02-19.parquet",  # padded month
        "currency_pair=BTC_USDT/year=2024/month=3/2024-02-19.parquet",  # wrong month
        "currency_pair=BTC_USDT/year=2023/month=2/2024-02-19.parquet",  # wrong year
        "currency_pair=BTC_USDT/year=2024/month=2/2024-02-30.parquet",  # no such day
        "currency_pair=BTC_USDT/year=2024/month=2/0b5e2a.parquet",  # upstream uuid file
        "currency_pair=BTC_USDT/year=2024/month=13/2024-13-01.parquet",
        "currency_pair=BTC_USDT/month=2/2024-02-19.parquet",
        "symbol=BTC_USDT/year=2024/month=2/2024-02-19.parquet",
    ],
)
def test_parse_rejects_what_we_never_write(path: str) -> None:
    with pytest.raises(ValueError):
        layout.parse_day_file(path)


def test_bad_symbol_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        layout.day_file("btc/usdt", dt.date(2024, 2, 19))
    with pytest.raises(UsageError):
        layout.parse_partition_dir("currency_pair=btc-usdt/year=2024/month=2")


def test_temp_files_are_hidden_siblings() -> None:
    final = "/lake/x/currency_pair=BTC_USDT/year=2024/month=2/2024-02-19.parquet"
    temp = layout.temp_path_for(final)
    assert temp.rsplit("/", 1)[0] == final.rsplit("/", 1)[0]
    assert layout.is_hidden(temp)
    assert not layout.is_hidden(final)
    assert layout.parse_day_file_name(temp.rsplit("/", 1)[1]) is None
    assert layout.temp_path_for(final) != temp


def test_dataset_url() -> None:
    sig = DatasetSignature.parse(
        "periodic_daily.airflow.downloaded_1min.parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0"
    )
    assert layout.dataset_url("s3://bucket/prefix/", sig) == (
        "s3://bucket/prefix/v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv/futures/"
        "v7_3/ccxt/binance/v1_0_0"
    )
    assert layout.dataset_url("/data/lake", sig).startswith("/data/lake/v3/periodic_daily/")


def test_months_between_crosses_a_year() -> None:
    assert layout.months_between(dt.date(2023, 11, 30), dt.date(2024, 2, 1)) == [
        (2023, 11),
        (2023, 12),
        (2024, 1),
        (2024, 2),
    ]
    assert layout.months_between(dt.date(2024, 3, 1), dt.date(2024, 2, 1)) == []
