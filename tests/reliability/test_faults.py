"""Exchange faults (5xx, hangs, resets, truncated bodies, a tight weight limit, a symbol that
always fails): the lake equals the truth, with no duplicate and no unreported gap."""

from __future__ import annotations

from pathlib import Path

import pytest

from candlelake.simulator import SimConfig

from .common import FROZEN, dataset_root, download, lake_rows, load_report, truth_rows

FAULTS = SimConfig(
    seed=11, clock=FROZEN, error_rate=0.15, reset_rate=0.05, truncate_rate=0.05, hang_rate=0.03,
    hang_seconds=2.0, window_seconds=2.0, futures_weight_limit=30,
)  # fmt: skip


def test_faults_leave_the_exact_lake_and_every_minute_accounted_for(
    tmp_path: Path, make_simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANDLELAKE_REST_TIMEOUT_S", "1")
    sim = make_simulator(FAULTS)
    lake, report = tmp_path / "lake", tmp_path / "report.json"
    assert download(lake, sim.url, "--report-json", str(report), "--concurrency", "4",
                    symbols="BTC_USDT,ETH_USDT") == 0  # fmt: skip
    data = load_report(report)
    assert data["retries"] > 0
    for symbol, pair in (("BTC_USDT", "BTCUSDT"), ("ETH_USDT", "ETHUSDT")):
        rows = lake_rows(lake, symbol)
        assert len({r[0] for r in rows}) == len(rows)  # no duplicate minute
        assert rows == truth_rows(FAULTS, pair)


def test_a_symbol_that_always_fails_is_reported_minute_for_minute(tmp_path: Path, make_simulator) -> None:
    cfg = SimConfig(seed=11, clock=FROZEN, fail_symbols=("futures:ETHUSDT",))
    sim = make_simulator(cfg)
    lake, report = tmp_path / "lake", tmp_path / "report.json"
    code = download(lake, sim.url, "--report-json", str(report), symbols="BTC_USDT,ETH_USDT")
    assert code == 1
    by_symbol = {s["symbol"]: s for s in load_report(report)["symbols"]}
    assert by_symbol["ETH_USDT"]["missing_minutes"] == 2 * 1440
    assert by_symbol["ETH_USDT"]["rows_written"] == 0
    assert all("failed after retries" in gap["reason"] for gap in by_symbol["ETH_USDT"]["missing"])
    assert lake_rows(lake, "BTC_USDT") == truth_rows(cfg, "BTCUSDT")
    assert not list(dataset_root(lake).glob("currency_pair=ETH_USDT/**/*.parquet"))
