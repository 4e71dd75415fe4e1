"""Vendor `binance`: archive first (checksum-verified), REST for the rest, all 12 fields kept."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

import candlelake
from candlelake.simulator import SimConfig, Simulator

from .helpers import REALDATA, bulk_args, day_ms, expected_rows, run_cli

FIELDS = (
    ("timestamp", 0, int), ("open", 1, float), ("high", 2, float), ("low", 3, float), ("close", 4, float),
    ("volume", 5, float), ("close_time", 6, int), ("quote_volume", 7, float), ("number_of_trades", 8, int),
    ("taker_buy_base_volume", 9, float), ("taker_buy_quote_volume", 10, float),
)  # fmt: skip


def as_full(rows: list[list]) -> list[tuple]:
    return [tuple(conv(r[i]) for _, i, conv in FIELDS) for r in rows]


def lake_full(table: pa.Table) -> list[tuple]:
    cols = [table.column(name).to_pylist() for name, _, _ in FIELDS]
    return list(zip(*cols, strict=True))


def dataset(root: Path, market: str, universe: str = "v7") -> str:
    path = (
        root / "v3/periodic_daily/manual/downloaded_1min/parquet/ohlcv" / market / universe.replace(".", "_")
    )
    return str(path / "binance/binance/v1_0_0")


def run_binance(server, tmp_path, market, start, end, *, part=("1", "2"), universe="v7", extra=()):
    report = tmp_path / "report.json"
    args = bulk_args(
        sim_url=server.url,
        market=market,
        universe=universe,
        vendor="binance",
        start=start,
        end=end,
        dst=str(tmp_path / "lake"),
        extra=["--archive_url", server.url, "--universe_part", *part, "--report_json", str(report), *extra],
    )
    code = run_cli(args)
    return code, json.loads(report.read_text()) if report.exists() else None


def test_spot_across_the_microsecond_switch_equals_ground_truth(tmp_path, capsys):
    cfg = SimConfig(seed=31, clock="frozen:2025-02-01T00:00:00Z")
    with Simulator(cfg) as server:
        code, report = run_binance(
            server, tmp_path, "spot", "2024-12-01T00:00:00+00:00", "2025-01-03T23:59:00+00:00"
        )
    assert code == 0
    sources = report["symbols"][0]["sources"]
    assert sources["2024-12-01"] == "archive:monthly" and sources["2025-01-02"] == "archive:daily"
    assert "(archive:daily: 3 days, archive:monthly: 31 days)" in capsys.readouterr().out
    start, end = day_ms("2024-12-01")[0], day_ms("2025-01-03")[1]
    got = candlelake.read(dataset(tmp_path / "lake", "spot"), ["BTC_USDT"], as_="arrow").sort_by("timestamp")
    assert lake_full(got) == as_full(expected_rows(cfg, "spot", "BTCUSDT", start, end))
    assert report["requests"] <= 2  # exchangeInfo only: no REST weight spent on archived days


def test_futures_across_the_header_switch_and_running_twice_is_identical(tmp_path):
    cfg = SimConfig(seed=32, clock="frozen:2022-06-01T00:00:00Z")
    with Simulator(cfg) as server:
        code, _ = run_binance(
            server, tmp_path, "futures", "2022-04-28T00:00:00+00:00", "2022-05-03T23:59:00+00:00"
        )
        assert code == 0
        digests = {p: hashlib.sha256(p.read_bytes()).digest() for p in (tmp_path / "lake").rglob("*.parquet")}
        code, again = run_binance(
            server, tmp_path, "futures", "2022-04-28T00:00:00+00:00", "2022-05-03T23:59:00+00:00"
        )
    assert code == 0 and again["symbols"][0]["days_skipped"] == 6
    assert {
        p: hashlib.sha256(p.read_bytes()).digest() for p in (tmp_path / "lake").rglob("*.parquet")
    } == digests
    start, end = day_ms("2022-04-28")[0], day_ms("2022-05-03")[1]
    got = candlelake.read(dataset(tmp_path / "lake", "futures"), ["BTC_USDT"], as_="arrow").sort_by(
        "timestamp"
    )
    assert lake_full(got) == as_full(expected_rows(cfg, "futures", "BTCUSDT", start, end))


def test_real_recorded_spot_days_are_ingested_exactly_from_the_real_zips(tmp_path):
    cfg = SimConfig(seed=33, clock="frozen:2020-03-01T00:00:00Z")
    with Simulator(cfg) as server:
        code, report = run_binance(
            server, tmp_path, "spot", "2020-01-01T00:00:00+00:00", "2020-01-02T23:59:00+00:00"
        )
    assert code == 0
    assert set(report["symbols"][0]["sources"].values()) == {"archive:daily"}
    recorded = []
    for day in ("2020-01-01", "2020-01-02"):
        with open(REALDATA / f"spot_klines/BTCUSDT-1m-{day}.csv") as fh:
            recorded += list(csv.reader(fh))
    got = candlelake.read(dataset(tmp_path / "lake", "spot"), ["BTC_USDT"], as_="arrow").sort_by("timestamp")
    assert lake_full(got) == as_full(recorded)


def test_missing_late_and_incomplete_files_are_filled_from_rest(tmp_path):
    # 2024-03 monthly file lacks rows; 2024-04-02 daily is missing; 2024-04-05 is not published yet.
    cfg = SimConfig(
        seed=34,
        clock="frozen:2024-04-06T03:00:00Z",
        archive_delay_hours=8,
        incomplete_archive_files=("futures:BTCUSDT:2024-03",),
        missing_archive_days=("futures:BTCUSDT:2024-04-02",),
    )
    with Simulator(cfg) as server:
        code, report = run_binance(
            server,
            tmp_path,
            "futures",
            "2024-03-01T00:00:00+00:00",
            "2024-04-05T23:59:00+00:00",
            universe="v7.3",
            extra=["--download_period", "monthly"],
        )
    assert code == 0
    entry = report["symbols"][0]
    sources = entry["sources"]
    assert "rest" in sources["2024-04-02"] and "rest" in sources["2024-04-05"]
    assert any(s == "archive:monthly+rest" for d, s in sources.items() if d.startswith("2024-03"))
    assert entry["missing_minutes"] == 0 and entry["rows_written"] == 36 * 1440
    start, end = day_ms("2024-03-01")[0], day_ms("2024-04-05")[1]
    got = candlelake.read(dataset(tmp_path / "lake", "futures", "v7.3"), ["BTC_USDT"], as_="arrow")
    got = got.sort_by("timestamp")
    assert lake_full(got) == as_full(expected_rows(cfg, "futures", "BTCUSDT", start, end))


def test_checksum_mismatch_fails_loudly_naming_the_file(tmp_path, capsys):
    cfg = SimConfig(
        seed=35, clock="frozen:2024-03-10T00:00:00Z", bad_checksum_files=("spot:BTCUSDT:2024-03-02",)
    )
    with Simulator(cfg) as server:
        code, report = run_binance(
            server, tmp_path, "spot", "2024-03-01T00:00:00+00:00", "2024-03-03T23:59:00+00:00"
        )
    assert code == 1
    out = capsys.readouterr().out
    assert "BTCUSDT-1m-2024-03-02.zip" in out
    entry = report["symbols"][0]
    assert any("BTCUSDT-1m-2024-03-02.zip" in e for e in entry["errors"])
    assert entry["sources"]["2024-03-02"] == "rest" and entry["missing_minutes"] == 0


def test_refresh_changed_reingests_exactly_the_replaced_day(tmp_path):
    start, end = "2024-03-01T00:00:00+00:00", "2024-03-04T23:59:00+00:00"
    replaced = SimConfig(
        seed=36, clock="frozen:2024-03-10T00:00:00Z", incomplete_archive_files=("spot:BTCUSDT:2024-03-03",)
    )
    with Simulator(replaced) as server:
        code, first = run_binance(server, tmp_path, "spot", start, end)
    assert code == 0 and first["symbols"][0]["days_written"] == 4
    fixed = replaced.replace(incomplete_archive_files=())
    with Simulator(fixed) as server:
        code, plain = run_binance(server, tmp_path, "spot", start, end)
        assert code == 0 and plain["symbols"][0]["days_written"] == 0
        code, refreshed = run_binance(server, tmp_path, "spot", start, end, extra=["--refresh-changed"])
    assert code == 0
    entry = refreshed["symbols"][0]
    assert entry["days_written"] == 1 and entry["days_skipped"] == 3
    assert list(entry["sources"]) == ["2024-03-03"]


def test_verify_sample_compares_archive_days_with_rest(tmp_path):
    cfg = SimConfig(seed=37, clock="frozen:2024-03-10T00:00:00Z")
    with Simulator(cfg) as server:
        code, report = run_binance(
            server,
            tmp_path,
            "spot",
            "2024-03-01T00:00:00+00:00",
            "2024-03-04T23:59:00+00:00",
            extra=["--verify-sample", "2"],
        )
    assert code == 0
    assert report["crosscheck_differences"] == []
    assert report["requests"] >= 1 + 2 * 2  # exchangeInfo + two pages for each sampled day


@pytest.mark.parametrize("bad", ["weekly"])
def test_bad_download_period_is_a_usage_error(tmp_path, bad):
    args = bulk_args(
        sim_url="http://127.0.0.1:9",
        market="spot",
        vendor="binance",
        start="2024-03-01T00:00:00",
        end="2024-03-01T23:59:00",
        dst=str(tmp_path),
        extra=["--download_period", bad],
    )
    assert run_cli(args) == 2
    assert list(tmp_path.iterdir()) == []
