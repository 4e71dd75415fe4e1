"""Every kline interval, from the simulator, equals its truth over REST and from the archive."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

import candlelake
from candlelake.simulator import SimConfig, Simulator, truth
from candlelake.timeutil import MINUTE_MS, fmt_ms, to_ms

from .helpers import REALDATA, bulk_args, day_ms, expected_rows, run_cli

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


def window_ms(start: str, end: str) -> tuple[int, int]:
    """The window a `download` call asks for: whole days, or times with the end minute included."""
    if len(start) == 10:
        return day_ms(start)[0], day_ms(end)[1]
    return to_ms(dt.datetime.fromisoformat(start)), to_ms(dt.datetime.fromisoformat(end)) + MINUTE_MS


def read_back(lake: Path, market: str, interval: str) -> pa.Table:
    """The interval's dataset, read by its path and from the lake root by its tag (the same rows)."""
    by_path = candlelake.read(dataset(lake, market, interval), ["BTC_USDT"], as_="arrow")
    by_tag = candlelake.read(str(lake), ["BTC_USDT"], as_="arrow", market=market, action_tag=TAGS[interval])
    assert by_tag.equals(by_path)
    return by_path.sort_by("timestamp")


@pytest.mark.parametrize(
    ("market", "interval", "start", "end"),
    [
        ("spot", "1s", "2024-04-01", "2024-04-01"),
        ("spot", "5m", "2024-03-30", "2024-04-02"),
        ("futures", "1h", "2024-03-30", "2024-04-02"),
        ("spot", "1d", "2024-01-01", "2024-03-31"),
        # Month partitions: a bar belongs to the month of its open time.
        ("spot", "3d", "2024-01-01", "2024-03-31"),
        ("futures", "1w", "2024-01-03", "2024-03-31"),
        ("spot", "1M", "2023-06-01", "2024-03-31"),
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
        if path == "rest":
            assert sources == {"rest"}
        else:  # a partly requested partition comes from REST
            assert sources & {"archive:daily", "archive:monthly"}
        # A second run finds every day complete and changes nothing.
        before = {p: p.read_bytes() for p in lake.rglob("*.parquet")}
        code, again = download(server, lake, market, interval, start, end, *extra)
    assert code == 0 and again["rows_written"] == 0
    assert {p: p.read_bytes() for p in lake.rglob("*.parquet")} == before
    lo, hi = window_ms(start, end)
    truth = expected_rows(CFG, market, "BTCUSDT", lo, hi, interval)
    assert len(truth) > 0
    assert lake_full(read_back(lake, market, interval)) == as_full(truth)
    assert report["rows_written"] == len(truth)


def recorded_1h_rows(day: str) -> list[tuple]:
    """The recorded spot 1h CSV: timestamps in µs, converted to ms as Binance documents."""
    rows = []
    for line in (REALDATA / f"spot_klines/BTCUSDT-1h-{day}.csv").read_text().splitlines():
        values = line.split(",")
        row = [conv(values[i]) for _, i, conv in FIELDS]
        row[0], row[6] = int(values[0]) // 1000, int(values[6]) // 1000
        rows.append(tuple(row))
    return rows


def test_the_recorded_spot_1h_microsecond_files_are_ingested_exactly(tmp_path: Path):
    # The simulator serves the two recorded zips byte for byte as its archive for these days.
    cfg = SimConfig(seed=42, clock="frozen:2026-05-12T00:00:00Z")
    lake = tmp_path / "lake"
    with Simulator(cfg) as server:
        code, report = download(server, lake, "spot", "1h", "2026-05-08", "2026-05-09")
    assert code == 0
    assert report["symbols"][0]["sources"] == {"2026-05-08": "archive:daily", "2026-05-09": "archive:daily"}
    expected = recorded_1h_rows("2026-05-08") + recorded_1h_rows("2026-05-09")
    assert len(expected) == 48
    assert lake_full(read_back(lake, "spot", "1h")) == expected


def test_download_bulk_takes_the_interval_and_its_tag(tmp_path: Path):
    lake = tmp_path / "lake"
    args = bulk_args(
        sim_url="",
        market="futures",
        start="2024-04-01T00:00:00+00:00",
        end="2024-04-02T23:59:00+00:00",
        dst=str(lake),
        vendor="binance",
        extra=["--interval", "4h", "--universe_part", "1", "1", "--report_json", str(tmp_path / "r.json")],
    )
    args[args.index("--action_tag") + 1] = "downloaded_4hour"
    with Simulator(CFG) as server:
        args[args.index("--rest_url") + 1] = server.url
        code = run_cli([*args, "--archive_url", server.url])
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    (symbol,) = [s["symbol"] for s in report["symbols"]]
    assert report["interval"] == "4h" and "/downloaded_4hour/" in report["dataset"]
    got = candlelake.read(report["dataset"], [symbol], as_="arrow").sort_by("timestamp")
    truth = expected_rows(
        CFG, "futures", symbol.replace("_", ""), *window_ms("2024-04-01", "2024-04-02"), "4h"
    )
    assert len(truth) == 12 and lake_full(got) == as_full(truth)


def test_bars_after_a_delisting_are_excluded_and_counted_as_bars(tmp_path: Path):
    lake = tmp_path / "lake"
    info = truth.symbol_info(CFG, "spot", "BTCBUSD")  # delisted 2023-12-15T03:00Z in the simulator
    lo, hi = window_ms("2023-12-14", "2023-12-15")
    args = [
        "download", "--market", "spot", "--start", "2023-12-14", "--end", "2023-12-15",
        "--lake", str(lake), "--symbols", "BTC_BUSD", "--interval", "1h", "--no-archive",
        "--assert-on-missing-data", "--report-json", str(tmp_path / "r.json"), "-v", "WARNING",
    ]  # fmt: skip
    with Simulator(CFG) as server:
        code = run_cli([*args, "--rest-url", server.url])
    assert code == 0  # excluded bars are not missing
    report = json.loads((tmp_path / "r.json").read_text())["symbols"][0]
    rows = expected_rows(CFG, "spot", "BTCBUSD", lo, hi, "1h")
    assert report["rows_written"] == len(rows) and report["missing_bars"] == 0
    assert report["excluded_bars"] == (hi - info["delisted_ms"]) // 3_600_000 == 24 * 2 - len(rows)
    (gap,) = report["excluded"]
    assert gap["reason"] == f"delisted (last candle {fmt_ms(rows[-1][0])})"
