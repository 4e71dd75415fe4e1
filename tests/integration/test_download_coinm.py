"""COIN-M (`coin_futures`): a perpetual and a delivery contract, from the simulator, equal the
truth over REST and from the archive; a delivery's later bars are excluded as delivered."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

import candlelake
from candlelake.markets import INTERVAL_ACTION_TAGS as TAGS
from candlelake.simulator import SimConfig, Simulator, truth
from candlelake.timeutil import fmt_ms

from .helpers import bulk_args, expected_rows, run_cli
from .test_download_intervals import as_full, lake_full, window_ms

CFG = SimConfig(seed=43, clock="frozen:2025-07-20T00:00:00Z")


def download(server: Simulator, lake: Path, symbol: str, interval: str, start: str, end: str, *extra: str):
    report = lake.parent / f"report-{symbol}-{interval}.json"
    args = [
        "download", "--market", "coin_futures", "--start", start, "--end", end, "--lake", str(lake),
        "--symbols", symbol, "--vendor", "binance", "--interval", interval, "--rest-url", server.url,
        "--archive-url", server.url, "--report-json", str(report), "-v", "WARNING", *extra,
    ]  # fmt: skip
    code = run_cli(args)
    return code, json.loads(report.read_text())


def read_back(lake: Path, symbol: str, interval: str) -> pa.Table:
    dataset = lake / f"v3/bulk/manual/{TAGS[interval]}/parquet/ohlcv/coin_futures/all/binance/binance/v1_0_0"
    return candlelake.read(str(dataset), [symbol], as_="arrow").sort_by("timestamp")


@pytest.mark.parametrize(
    ("symbol", "interval", "start", "end"),
    [
        ("BTC_USD_PERP", "1m", "2025-06-01", "2025-06-02"),
        ("BTC_USD_PERP", "4h", "2025-05-30", "2025-06-02"),
        ("BTC_USD_250627", "1m", "2025-06-20", "2025-06-21"),
        ("BTC_USD_250627", "1h", "2025-06-20", "2025-06-22"),
        # 499 daily bars span more than the 200 days a COIN-M request may (the simulator says
        # -1127 as Binance does): pages are cut at 200 days.
        ("BTC_USD_PERP", "1d", "2024-06-01", "2025-06-30"),
    ],
)
@pytest.mark.parametrize("path", ["rest", "archive"])
def test_a_coinm_contract_equals_the_truth(
    tmp_path: Path, symbol: str, interval: str, start: str, end: str, path: str
):
    lake = tmp_path / "lake"
    extra = ("--no-archive",) if path == "rest" else ()
    with Simulator(CFG) as server:
        code, report = download(server, lake, symbol, interval, start, end, *extra)
    assert code == 0, report
    sources = set(report["symbols"][0]["sources"].values())
    assert sources == {"rest"} if path == "rest" else sources <= {"archive:daily", "archive:monthly"}
    lo, hi = window_ms(start, end)
    rows = expected_rows(CFG, "coin_futures", symbol.replace("_", "", 1), lo, hi, interval)
    assert len(rows) > 0
    assert lake_full(read_back(lake, symbol, interval)) == as_full(rows)
    assert report["rows_written"] == len(rows) and report["symbols"][0]["missing"] == []


@pytest.mark.parametrize("path", ["rest", "archive"])
def test_bars_after_a_delivery_are_excluded_as_delivered(tmp_path: Path, path: str):
    lake = tmp_path / "lake"
    info = truth.symbol_info(CFG, "coin_futures", "BTCUSD_250627")  # delivers 2025-06-27T08:00Z
    lo, hi = window_ms("2025-06-26", "2025-06-28")
    extra = ("--no-archive",) if path == "rest" else ()
    with Simulator(CFG) as server:
        code, report = download(
            server,
            lake,
            "BTC_USD_250627",
            "1h",
            "2025-06-26",
            "2025-06-28",
            "--assert-on-missing-data",
            *extra,
        )
    assert code == 0  # excluded bars are not missing
    rows = expected_rows(CFG, "coin_futures", "BTCUSD_250627", lo, hi, "1h")
    entry = report["symbols"][0]
    assert len(rows) == 24 + 8 and entry["rows_written"] == len(rows) and entry["missing_bars"] == 0
    assert entry["excluded_bars"] == (hi - info["delisted_ms"]) // 3_600_000 == 24 * 3 - len(rows)
    (gap,) = entry["excluded"]
    assert gap["reason"] == f"delivered (last candle {fmt_ms(rows[-1][0])})"
    assert lake_full(read_back(lake, "BTC_USD_250627", "1h")) == as_full(rows)


def test_download_bulk_takes_coin_futures_with_universe_all(tmp_path: Path):
    # After the quarterly's delivery, `all` is the trading perpetuals; part 1 of size 1 is BTC_USD_PERP.
    lake = tmp_path / "lake"
    with Simulator(CFG) as server:
        args = bulk_args(
            sim_url=server.url,
            market="coin_futures",
            universe="all",
            start="2025-07-01T00:00:00+00:00",
            end="2025-07-01T23:59:00+00:00",
            dst=str(lake),
            vendor="binance",
            extra=[
                "--universe_part",
                "1",
                "1",
                "--archive_url",
                server.url,
                "--report_json",
                str(tmp_path / "r.json"),
            ],
        )
        code = run_cli(args)
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert [s["symbol"] for s in report["symbols"]] == ["BTC_USD_PERP"]
    assert "/ohlcv/coin_futures/all/binance/binance/" in report["dataset"]
    got = candlelake.read(report["dataset"], ["BTC_USD_PERP"], as_="arrow").sort_by("timestamp")
    rows = expected_rows(CFG, "coin_futures", "BTCUSD_PERP", *window_ms("2025-07-01", "2025-07-01"))
    assert len(rows) == 1440 and lake_full(got) == as_full(rows)


def test_a_delivery_month_comes_from_the_monthly_file(tmp_path: Path):
    # June 2025 ended more than 15 days before the clock: its monthly zip, which stops at the delivery.
    lake = tmp_path / "lake"
    with Simulator(CFG) as server:
        code, report = download(server, lake, "BTC_USD_250627", "1h", "2025-06-01", "2025-06-30")
    assert code == 0, report
    entry = report["symbols"][0]
    assert set(entry["sources"].values()) == {"archive:monthly"}
    rows = expected_rows(CFG, "coin_futures", "BTCUSD_250627", *window_ms("2025-06-01", "2025-06-30"), "1h")
    assert len(rows) == 26 * 24 + 8 and lake_full(read_back(lake, "BTC_USD_250627", "1h")) == as_full(rows)
    (gap,) = entry["excluded"]
    assert gap["reason"].startswith("delivered") and entry["excluded_bars"] == 30 * 24 - len(rows)
