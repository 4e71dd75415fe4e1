"""Faults, rate limits, delistings, maintenance and resume: the lake stays correct and explained."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import candlelake
from candlelake.simulator import Maintenance, SimConfig, Simulator, truth

from .helpers import as_ohlcv, bulk_args, day_ms, expected_rows, lake_ohlcv, run_cli

FROZEN = "frozen:2024-02-20T01:20:00Z"
DAY = ("2024-02-19T00:00:00+00:00", "2024-02-19T23:59:00+00:00")


def read_all(root: Path, symbols: list[str]):
    datasets = list(root.glob("v3/*/*/*/*/*/*/*/*/*/*"))
    assert len(datasets) == 1, datasets
    return candlelake.read(str(datasets[0]), symbols, as_="arrow").sort_by("timestamp")


def test_faults_and_tight_rate_limits_still_give_the_exact_lake(tmp_path, monkeypatch):
    cfg = SimConfig(
        seed=5,
        clock=FROZEN,
        error_rate=0.15,
        reset_rate=0.05,
        truncate_rate=0.05,
        hang_rate=0.02,
        hang_seconds=3.0,
        window_seconds=2.0,
        futures_weight_limit=24,
    )
    report = tmp_path / "report.json"
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="futures",
            universe="v7.3",
            start=DAY[0],
            end=DAY[1],
            dst=str(tmp_path / "lake"),
            extra=["--universe_part", "2", "1", "--report_json", str(report), "--concurrency", "4"],
        )
        monkeypatch.setenv("CANDLELAKE_REST_TIMEOUT_S", "1")
        assert run_cli(args) == 0
    data = json.loads(report.read_text())
    assert data["retries"] > 0
    assert data["rate_limited"] == 0
    start, end = day_ms("2024-02-19")
    for symbol in ("ETH_USDT", "BTC_USDT"):
        table = read_all(tmp_path / "lake", [symbol])
        assert lake_ohlcv(table) == as_ohlcv(
            expected_rows(cfg, "futures", symbol.replace("_", ""), start, end)
        )


def test_delisted_and_unlisted_symbols_are_reported_not_failed(tmp_path):
    # WAVES_USDT was delisted in 2024; BTC_BUSD/ETH_BUSD in 2023: they are excluded with dates.
    cfg = SimConfig(seed=2, clock="frozen:2024-07-02T00:00:00Z")
    report = tmp_path / "report.json"
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="spot",
            start="2024-06-30T00:00:00+00:00",
            end="2024-06-30T23:59:00+00:00",
            dst=str(tmp_path / "lake"),
            extra=["--report_json", str(report), "--assert_on_missing_data"],
        )
        assert run_cli(args) == 0
    by_symbol = {s["symbol"]: s for s in json.loads(report.read_text())["symbols"]}
    for symbol in ("BTC_BUSD", "ETH_BUSD", "WAVES_USDT"):
        entry = by_symbol[symbol]
        assert entry["rows_written"] == 0
        assert entry["excluded_minutes"] == 1440
        assert entry["missing_minutes"] == 0
    assert by_symbol["BTC_USDT"]["rows_written"] == 1440


def test_maintenance_gap_is_reported_and_asserted_but_the_rest_is_written(tmp_path):
    cfg = SimConfig(
        seed=4,
        clock=FROZEN,
        maintenance=(Maintenance(start="2024-02-19T03:00:00Z", end="2024-02-19T04:30:00Z"),),
    )
    report = tmp_path / "report.json"
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="spot",
            start=DAY[0],
            end=DAY[1],
            dst=str(tmp_path / "lake"),
            extra=["--universe_part", "1", "1", "--report_json", str(report), "--assert_on_missing_data"],
        )
        assert run_cli(args) == 1
    entry = json.loads(report.read_text())["symbols"][0]
    assert entry["rows_written"] == 1440 - 90
    assert [(g["start_ms"], g["end_ms"]) for g in entry["missing"]] == [
        (day_ms("2024-02-19")[0] + 180 * 60_000, day_ms("2024-02-19")[0] + 270 * 60_000)
    ]
    assert "maintenance" in entry["missing"][0]["reason"]


def test_failed_symbol_is_an_error_and_the_next_run_resumes_only_what_is_missing(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    report = tmp_path / "report.json"
    failing = SimConfig(seed=8, clock=FROZEN, fail_symbols=("futures:BTCUSDT",))
    args_for = lambda url: bulk_args(  # noqa: E731
        sim_url=url,
        market="futures",
        universe="v7.3",
        start="2024-02-18T00:00:00+00:00",
        end=DAY[1],
        dst=str(lake),
        extra=["--universe_part", "2", "1", "--report_json", str(report)],
    )
    monkeypatch.setenv("CANDLELAKE_REST_ATTEMPTS", "2")
    with Simulator(failing) as server:
        assert run_cli(args_for(server.url)) == 1
    first = {s["symbol"]: s for s in json.loads(report.read_text())["symbols"]}
    assert first["ETH_USDT"]["days_written"] == 2
    assert first["BTC_USDT"]["rows_written"] == 0 and first["BTC_USDT"]["errors"]
    assert first["BTC_USDT"]["missing_minutes"] == 2 * 1440
    with Simulator(failing.replace(fail_symbols=())) as server:
        assert run_cli(args_for(server.url)) == 0
    second = {s["symbol"]: s for s in json.loads(report.read_text())["symbols"]}
    assert second["ETH_USDT"]["days_skipped"] == 2 and second["ETH_USDT"]["days_written"] == 0
    assert second["BTC_USDT"]["days_written"] == 2


def test_end_in_the_future_is_clamped_and_the_forming_candle_is_never_kept(tmp_path):
    cfg = SimConfig(seed=1, clock="frozen:2024-02-20T01:20:30Z")
    report = tmp_path / "report.json"
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="spot",
            start="2024-02-20T00:00:00+00:00",
            end="2024-02-21T00:00:00+00:00",
            dst=str(tmp_path / "lake"),
            extra=["--universe_part", "1", "1", "--report_json", str(report)],
        )
        assert run_cli(args) == 0
    data = json.loads(report.read_text())
    assert data["clamped_from"] is not None
    table = read_all(tmp_path / "lake", ["ETH_USDT"])
    stamps = table.column("timestamp").to_pylist()
    start = day_ms("2024-02-20")[0]
    assert stamps == [start + i * 60_000 for i in range(80)]  # 00:00 .. 01:19; 01:20 is forming
    file = next((tmp_path / "lake").rglob("*.parquet"))
    meta = json.loads(pq.read_metadata(file).metadata[b"candlelake"])
    assert meta["window_end_ms"] == start + 80 * 60_000


@pytest.mark.parametrize("market", ["futures", "spot"])
def test_ip_ban_stops_the_run_with_the_ban_time(tmp_path, capsys, monkeypatch, market):
    limits = {"futures_weight_limit": 4} if market == "futures" else {"spot_weight_limit": 24}
    cfg = SimConfig(seed=1, clock=FROZEN, window_seconds=30.0, ban_after_429s=0, **limits)
    report = tmp_path / "report.json"
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market=market,
            universe="v7.3",
            start=DAY[0],
            end=DAY[1],
            dst=str(tmp_path / "lake"),
            extra=["--universe_part", "3", "1", "--concurrency", "8", "--report_json", str(report)],
        )
        # The client never crosses a limit it knows; make it believe in a larger one.
        monkeypatch.setenv("CANDLELAKE_WEIGHT_LIMIT", "1000/30")
        code = run_cli(args)
    assert code == 1
    assert "418" in capsys.readouterr().out
    # Every planned minute is still accounted for: written, or missing with a reason.
    for entry in json.loads(report.read_text())["symbols"]:
        assert entry["rows_written"] + entry["missing_minutes"] + entry["excluded_minutes"] == 1440


def test_force_on_part_of_a_day_keeps_the_rest_and_failed_pages_keep_stored_rows(tmp_path, monkeypatch):
    cfg = SimConfig(seed=12, clock=FROZEN)
    lake = tmp_path / "lake"
    start_ms = day_ms("2024-02-19")[0]
    expected = as_ohlcv(expected_rows(cfg, "spot", "ETHUSDT", start_ms, start_ms + 1440 * 60_000))

    def run(server, start, end, *extra):
        args = bulk_args(
            sim_url=server.url,
            market="spot",
            start=f"2024-02-19T{start}:00+00:00",
            end=f"2024-02-19T{end}:00+00:00",
            dst=str(lake),
            extra=["--universe_part", "1", "1", *extra],
        )
        return run_cli(args)

    with Simulator(cfg) as server:
        assert run(server, "00:00", "23:59") == 0
        assert run(server, "12:00", "12:59", "--force") == 0
    assert lake_ohlcv(pq.read_table(next(lake.rglob("*.parquet")))) == expected
    # One of the day's two pages now fails (faults are deterministic for the seed): the
    # rewrite must keep the stored rows for that page instead of dropping them.
    monkeypatch.setenv("CANDLELAKE_REST_ATTEMPTS", "1")
    report = tmp_path / "report.json"
    faulty = cfg.replace(error_rate=0.5, fault_max_attempts=10)
    with Simulator(faulty) as server:
        assert run(server, "00:00", "23:59", "--force", "--report_json", str(report)) == 1
    entry = json.loads(report.read_text())["symbols"][0]
    assert len(entry["errors"]) == 1 and entry["rows_written"] == 1440
    assert lake_ohlcv(pq.read_table(next(lake.rglob("*.parquet")))) == expected


def test_universe_all_honours_universe_part_and_duplicates_are_fetched_once(tmp_path):
    cfg = SimConfig(seed=13, clock=FROZEN)
    report = tmp_path / "report.json"
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="futures",
            universe="all",
            start="2024-02-19T00:00:00+00:00",
            end="2024-02-19T00:09:00+00:00",
            dst=str(tmp_path / "lake"),
            extra=["--universe_part", "3", "2", "--report_json", str(report)],
        )
        assert run_cli(args) == 0
        trading = sorted(
            s.replace("USDT", "_USDT")
            for s in truth.symbols(cfg, "futures")
            if s.endswith("USDT") and truth.symbol_info(cfg, "futures", s)["status"] == "TRADING"
        )
        assert [s["symbol"] for s in json.loads(report.read_text())["symbols"]] == trading[3:6]
        code = run_cli(
            [
                "download", "--market", "spot", "--symbols", "BTC_USDT,BTC_USDT", "--start",
                "2024-02-19T00:00", "--end", "2024-02-19T00:09", "--lake", str(tmp_path / "lake2"),
                "--rest-url", server.url, "--report-json", str(report),
            ]
        )  # fmt: skip
    assert code == 0
    data = json.loads(report.read_text())
    assert [s["symbol"] for s in data["symbols"]] == ["BTC_USDT"] and data["rows_written"] == 10


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"--universe": "v99"}, "v99"),
        ({"--exchange_id": "kraken"}, "kraken"),
        ({"--vendor": "crypto_chassis"}, "crypto_chassis"),
        ({"--start_timestamp": "yesterday"}, "yesterday"),
        ({"--start_timestamp": "2024-02-20T00:00:00"}, "after"),
        ({"--download_mode": "hourly"}, "hourly"),
        ({"--data_type": "trades"}, "not supported yet"),
        ({"--contract_type": "options"}, "options"),
        ({"--universe_part": "0"}, "universe_part"),
        ({"-v": "LOUD"}, "LOUD"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, change, needle):
    args = bulk_args(sim_url="http://127.0.0.1:9", market="spot", start=DAY[0], end=DAY[1], dst=str(tmp_path))
    for flag, value in change.items():
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value, "1"] if flag == "--universe_part" else [flag, value]
    assert run_cli(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert list(tmp_path.iterdir()) == []


def test_both_destinations_or_an_unwritable_one_are_usage_errors(tmp_path, capsys):
    base = bulk_args(sim_url="http://127.0.0.1:9", market="spot", start=DAY[0], end=DAY[1])
    assert run_cli([*base, "--dst_dir", str(tmp_path), "--s3_path", "s3://b/p"]) == 2
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert run_cli([*base, "--dst_dir", str(blocker / "lake")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "a-file" in lines[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize(
    ("start", "end"), [("2024-02-20", "2024-02-19"), ("2024-02-19T10:00", "2024-02-19T09:00")]
)
def test_download_with_end_before_start_is_a_usage_error(tmp_path, capsys, start, end):
    code = run_cli(
        ["download", "--market", "spot", "--symbols", "BTC_USDT", "--start", start, "--end", end,
         "--lake", str(tmp_path / "lake"), "--rest-url", "http://127.0.0.1:9"]
    )  # fmt: skip
    assert code == 2
    assert "after" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def test_unknown_symbol_in_download_is_a_usage_error(tmp_path, capsys):
    with Simulator(SimConfig(seed=1, clock=FROZEN)) as server:
        code = run_cli(
            [
                "download", "--market", "spot", "--symbols", "BTC_USDT,NOPE_USDT",
                "--start", "2024-02-19", "--end", "2024-02-19", "--lake", str(tmp_path / "lake"),
                "--rest-url", server.url,
            ]
        )  # fmt: skip
    assert code == 2
    assert "NOPE_USDT" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists() or not any((tmp_path / "lake").rglob("*.parquet"))


def test_a_later_part_of_a_day_keeps_the_rows_of_an_earlier_run(tmp_path):
    cfg = SimConfig(seed=9, clock=FROZEN)
    lake = tmp_path / "lake"
    with Simulator(cfg) as server:
        for start, end in (("00:00", "05:59"), ("12:00", "17:59")):
            args = bulk_args(
                sim_url=server.url,
                market="spot",
                start=f"2024-02-19T{start}:00+00:00",
                end=f"2024-02-19T{end}:00+00:00",
                dst=str(lake),
                extra=["--universe_part", "1", "1"],
            )
            assert run_cli(args) == 0
    files = list(lake.rglob("*.parquet"))
    assert len(files) == 1
    table = pq.read_table(files[0])
    start_ms = day_ms("2024-02-19")[0]
    expected = expected_rows(cfg, "spot", "ETHUSDT", start_ms, start_ms + 18 * 3_600_000)
    assert lake_ohlcv(table) == as_ohlcv(expected)


def test_upstream_incremental_flag_is_accepted_as_a_no_op(tmp_path):
    # Upstream's Feb-2024 production DAGs still pass --incremental (upstream defect K3).
    with Simulator(SimConfig(seed=14, clock=FROZEN)) as server:
        args = bulk_args(
            sim_url=server.url,
            market="spot",
            start="2024-02-19T00:00:00+00:00",
            end="2024-02-19T00:09:00+00:00",
            dst=str(tmp_path),
            extra=["--universe_part", "1", "1", "--incremental"],
        )
        assert run_cli(args) == 0
    assert len(list(tmp_path.rglob("*.parquet"))) == 1


def test_window_not_closed_on_the_exchange_clock_fails_with_assert_on_missing_data(tmp_path, caplog):
    # The exchange's clock is 2024-02-19 12:00: the day 2024-02-19 is only half over.
    cfg = SimConfig(seed=1, clock="frozen:2024-02-19T12:00:30Z")
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="spot",
            start=DAY[0],
            end=DAY[1],
            dst=str(tmp_path / "lake"),
            extra=["--universe_part", "1", "1", "--assert_on_missing_data"],
        )
        assert run_cli(args) == 1
    err = caplog.text
    assert "2024-02-19T23:59:00Z" in err and "2024-02-19T11:59:00Z" in err
    assert "not closed yet" in err
