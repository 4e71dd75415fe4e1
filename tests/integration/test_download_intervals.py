"""Every kline interval, from the simulator, equals its truth over REST and from the archive."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

import candlelake
from candlelake.simulator import SimConfig, Simulator

from .helpers import day_ms, expected_rows, run_cli

FIELDS = (
    ("timestamp", 0, int), ("open", 1, float), ("high", 2, float), ("low", 3, float), ("close", 4, float),
    ("volume", 5, float), ("close_time", 6, int), ("quote_volume", 7, float), ("number_of_trades", 8, int),
    ("taker_buy_base_volume", 9, float), ("taker_buy_quote_volume", 10, float),
)  # fmt: skip
TAGS = {"1s": "downloaded_1sec", "5m": "downloaded_5min", "1h": "downloaded_1hour", "1d": "downloaded_1day",
        "1w": "downloaded_1week", "1M": "downloaded_1month", "3d": "downloaded_3day"}  # fmt: skip
CFG = SimConfig(seed=41, clock="frozen:2024-05-20T00:00:00Z")


def as_full(rows: list[list]) -> list[tuple]:
    return [tuple(conv(r[i]) for _, i, conv in FIELDS) for r in rows]


def lake_full(table: pa.Table) -> list[tuple]:
    cols = [table.column(name).to_pylist() for name, _, _ in FIELDS]
    return list(zip(*cols, strict=True))


def dataset(lake: Path, market: str, interval: str) -> str:
    return str(lake / f"v3/bulk/manual/{TAGS[interval]}/parquet/ohlcv/{market}/all/binance/binance/v1_0_0")


def download(server: Simulator, lake: Path, market: str, interval: str, start: str, end: str, *extra: str):
    report = lake.parent / f"report-{interval}.json"
    args = [
        "download", "--market", market, "--start", start, "--end", end, "--lake", str(lake),
        "--symbols", "BTC_USDT", "--vendor", "binance", "--interval", interval, "--rest-url", server.url,
        "--archive-url", server.url, "--report-json", str(report), "-v", "WARNING", *extra,
    ]  # fmt: skip
    code = run_cli(args)
    return code, json.loads(report.read_text())


def read_back(lake: Path, market: str, interval: str) -> pa.Table:
    return candlelake.read(dataset(lake, market, interval), ["BTC_USDT"], as_="arrow").sort_by("timestamp")


@pytest.mark.parametrize(
    ("market", "interval", "start", "end"),
    [
        ("spot", "5m", "2024-03-30", "2024-04-02"),
        ("futures", "1h", "2024-03-30", "2024-04-02"),
        ("spot", "1d", "2024-01-01", "2024-03-31"),
    ],
)
@pytest.mark.parametrize("path", ["rest", "archive"])
def test_an_interval_equals_the_truth(
    tmp_path: Path, market: str, interval: str, start: str, end: str, path: str
):
    lake = tmp_path / "lake"
    extra = ("--no-archive",) if path == "rest" else ()
    with Simulator(CFG) as server:
        code, report = download(server, lake, market, interval, start, end, *extra)
        assert code == 0, report
        sources = set(report["symbols"][0]["sources"].values())
        assert sources == {"rest"} if path == "rest" else sources <= {"archive:daily", "archive:monthly"}
        # A second run finds every day complete and changes nothing.
        before = {p: p.read_bytes() for p in lake.rglob("*.parquet")}
        code, again = download(server, lake, market, interval, start, end, *extra)
    assert code == 0 and again["rows_written"] == 0
    assert {p: p.read_bytes() for p in lake.rglob("*.parquet")} == before
    lo, hi = day_ms(start)[0], day_ms(end)[1]
    truth = expected_rows(CFG, market, "BTCUSDT", lo, hi, interval)
    assert len(truth) > 0
    assert lake_full(read_back(lake, market, interval)) == as_full(truth)
    assert report["rows_written"] == len(truth)
