"""The lake on S3, through a real S3-compatible server over HTTP (moto on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import boto3
import pyarrow as pa
import pytest

from candlelake.lake import DayMeta, LakeWriter, open_dataset, read
from candlelake.signature import DatasetSignature

MakeKlines = Callable[..., pa.Table]
MakeMeta = Callable[..., DayMeta]

KNOWLEDGE_TIME = dt.datetime(2024, 2, 20, 0, 5, tzinfo=dt.UTC)
SIGNATURE = DatasetSignature.parse(
    "periodic_daily.airflow.downloaded_1min.parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0"
)
DATASET_PREFIX = "lake/" + SIGNATURE.relative_path()
DAYS = [dt.date(2024, 2, 28), dt.date(2024, 2, 29), dt.date(2024, 3, 1)]


def keys(endpoint: str, bucket_url: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket_url[5:])
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def write_days(writer: LakeWriter, make_klines: MakeKlines, make_meta: MakeMeta,
               *, base: float = 100.0) -> dict[tuple[str, dt.date], str]:  # fmt: skip
    """Write two symbols' days; return the URL `write_day` gave for each."""
    paths = {}
    for symbol in ("BTC_USDT", "ETH_USDT"):
        for day in DAYS:
            table = make_klines(day, range(1440), base=base)
            meta = make_meta(symbol, day, table)
            paths[symbol, day] = writer.write_day(
                symbol, day, table, meta, exchange_id="binance", knowledge_time=KNOWLEDGE_TIME
            )
    return paths


def test_write_then_read_on_s3_equals_local(
    s3_bucket: str, tmp_path: Path, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    remote = open_dataset(f"{s3_bucket}/lake", SIGNATURE)
    local = open_dataset(str(tmp_path), SIGNATURE)
    written = []
    for location in (remote, local):
        writer = LakeWriter(location)
        writer.check_writable()
        written.append(write_days(writer, make_klines, make_meta))

    path = written[0]["BTC_USDT", DAYS[1]]  # the remote one
    assert path == f"{s3_bucket}/{DATASET_PREFIX}/currency_pair=BTC_USDT/year=2024/month=2/2024-02-29.parquet"
    from_s3 = read(remote, ["BTC_USDT"], "2024-02-29", "2024-03-01", as_="arrow")
    assert from_s3.num_rows == 2 * 1440
    assert from_s3.column("open").to_pylist() == [100.0 + m for _ in range(2) for m in range(1440)]
    assert from_s3.equals(read(local, ["BTC_USDT"], "2024-02-29", "2024-03-01", as_="arrow"))
    # The same data through a plain URL and the endpoint from the environment.
    frame = read(remote.url)
    assert len(frame) == 2 * 3 * 1440


def test_rewrite_on_s3_keeps_one_object_per_day(
    s3_bucket: str, s3_env: str, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    writer = LakeWriter(open_dataset(f"{s3_bucket}/lake", SIGNATURE))
    write_days(writer, make_klines, make_meta)
    first = keys(s3_env, s3_bucket)
    write_days(writer, make_klines, make_meta, base=500.0)
    assert keys(s3_env, s3_bucket) == first
    day_files = [k for k in first if "/_ledger/" not in k]
    assert len(day_files) == 6
    # Plus the gap ledger: one manifest per (symbol, month), rewritten in place.
    months = {k.split("/currency_pair=")[1].split("/year=")[0] + k.split("/month=")[1][:2] for k in day_files}
    assert len(first) - len(day_files) == len(months) == 4
    assert all(not k.rsplit("/", 1)[1].startswith(".") for k in first)
    frame = read(writer.location, ["ETH_USDT"])
    assert len(frame) == 3 * 1440
    assert frame["open"].iloc[0] == 500.0


def test_metadata_and_existing_days_on_s3(
    s3_bucket: str, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    writer = LakeWriter(open_dataset(f"{s3_bucket}/lake", SIGNATURE))
    table = make_klines(DAYS[0], range(30))
    meta = make_meta("BTC_USDT", DAYS[0], table, complete=False, source="rest",
                     gaps=[{"start_ms": 1, "end_ms": 2, "reason": "5xx after retries"}])  # fmt: skip
    writer.write_day("BTC_USDT", DAYS[0], table, meta, exchange_id="binance",
                     knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    assert writer.read_meta("BTC_USDT", DAYS[0]) == meta
    assert writer.read_meta("BTC_USDT", DAYS[1]) is None
    assert writer.existing_days("BTC_USDT", DAYS) == {DAYS[0]: meta}
    assert writer.existing_days("ETH_USDT", DAYS) == {}


def test_s3_read_prunes_and_skips_hidden_objects(
    s3_bucket: str, s3_env: str, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    writer = LakeWriter(open_dataset(f"{s3_bucket}/lake", SIGNATURE))
    write_days(writer, make_klines, make_meta)
    client = boto3.client("s3", endpoint_url=s3_env)
    bucket = s3_bucket[5:]
    month2 = f"{DATASET_PREFIX}/currency_pair=BTC_USDT/year=2024/month=2"
    client.put_object(Bucket=bucket, Key=f"{month2}/2024-02-28.parquet", Body=b"corrupt")
    month3 = f"{DATASET_PREFIX}/currency_pair=BTC_USDT/year=2024/month=3"
    client.put_object(Bucket=bucket, Key=f"{month3}/.2024-03-01.parquet.x.tmp", Body=b"torn")
    march = read(writer.location, ["BTC_USDT"], "2024-03-01", "2024-03-31")
    assert len(march) == 1440
    with pytest.raises(Exception, match=r"(?i)parquet"):
        read(writer.location, ["BTC_USDT"])
