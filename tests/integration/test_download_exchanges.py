"""OKX, Bybit and Binance.US end to end: the real CLI, ccxt over HTTP to the simulator, a real lake.

For each exchange, ccxt's own `fetch_ohlcv` against the simulator and `candlelake download`
give identical bars, and the lake equals the simulator's ground truth.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import ccxt.async_support as accxt
import pyarrow.parquet as pq
import pytest
from ccxt.base import errors as ccxt_errors

from candlelake.simulator import SimConfig, Simulator, truth
from fixtures.simulator import point_ccxt

from .helpers import as_ohlcv, day_ms, lake_ohlcv, run_cli

FROZEN = "frozen:2024-02-20T01:20:00Z"
DAY = "2024-02-18"

# (exchange, market, ccxt class, simulator market, venue symbol of BTC_USDT, URL suffix)
CASES = [
    ("okx", "futures", accxt.okx, "okx:swap", "BTC-USDT-SWAP", ""),
    ("okx", "spot", accxt.okx, "okx:spot", "BTC-USDT", ""),
    ("bybit", "futures", accxt.bybit, "bybit:linear", "BTCUSDT", ""),
    ("bybit", "spot", accxt.bybit, "bybit:spot", "BTCUSDT", ""),
    ("binanceus", "spot", accxt.binanceus, "binanceus:spot", "BTCUSDT", "/binanceus"),
]


@pytest.fixture(scope="module")
def sim():
    cfg = SimConfig(seed=11, clock=FROZEN)
    with Simulator(cfg) as server:
        yield cfg, server


def dataset(root: Path, exchange: str, market: str, universe: str = "all") -> Path:
    return root / f"v3/bulk/manual/downloaded_1min/parquet/ohlcv/{market}/{universe}/ccxt/{exchange}/v1_0_0"


def day_file(root: Path, symbol: str, day: str = DAY) -> Path:
    year, month, _ = day.split("-")
    return root / f"currency_pair={symbol}/year={year}/month={int(month)}/{day}.parquet"


async def ccxt_day(cls, url: str, symbol: str, start: int, end: int) -> list[list]:
    """One day as ccxt's own fetch_ohlcv pages it (since = last bar + 1 minute)."""
    ex = point_ccxt(cls({"enableRateLimit": True}), url)  # ccxt's own pacing
    rows: list[list] = []
    try:
        since = start
        while since < end:
            try:
                page = await ex.fetch_ohlcv(symbol, "1m", since, 100)
            except ccxt_errors.RateLimitExceeded:
                # The download just spent this client's window; ccxt's pacing cannot know.
                await asyncio.sleep(1.0)
                continue
            page = [r for r in page if since <= r[0] < end]
            if not page:
                break
            rows += page
            since = page[-1][0] + 60_000
    finally:
        await ex.close()
    return rows


def download(tmp_path: Path, url: str, exchange: str, market: str, *extra: str) -> int:
    return run_cli(
        ["download", "--exchange", exchange, "--market", market, "--start", DAY, "--end", DAY,
         "--lake", str(tmp_path), "--rest-url", url, "-v", "WARNING", *extra]
    )  # fmt: skip


@pytest.mark.parametrize(("exchange", "market", "cls", "sim_market", "venue_symbol", "suffix"), CASES)
def test_download_equals_ccxt_fetch_ohlcv_and_the_truth(
    sim, tmp_path, exchange, market, cls, sim_market, venue_symbol, suffix
):
    cfg, server = sim
    url = server.url + suffix
    assert download(tmp_path, url, exchange, market, "--symbols", "BTC_USDT,ETH_USDT") == 0
    start, end = day_ms(DAY)
    table = pq.read_table(day_file(dataset(tmp_path, exchange, market), "BTC_USDT"))
    lake = lake_ohlcv(table)
    unified = "BTC/USDT" if market == "spot" else "BTC/USDT:USDT"
    assert lake == [tuple(r) for r in asyncio.run(ccxt_day(cls, server.url, unified, start, end))]
    assert lake == as_ohlcv(truth.klines(cfg, sim_market, venue_symbol, start, end - 1))
    assert len(lake) == 1440
    assert set(table.column("exchange_id").to_pylist()) == {exchange}
    assert day_file(dataset(tmp_path, exchange, market), "ETH_USDT").exists()


def test_okx_futures_v7_3_runs_upstreams_production_job_with_the_env_url(sim, tmp_path, monkeypatch):
    cfg, server = sim
    monkeypatch.setenv("CANDLELAKE_OKX_URL", server.url)
    args = [
        "download-bulk", "--download_mode", "periodic_daily", "--downloading_entity", "airflow",
        "--action_tag", "downloaded_1min", "--vendor", "ccxt", "--exchange_id", "okx",
        "--universe", "v7.3", "--data_type", "ohlcv", "--contract_type", "futures",
        "--data_format", "parquet", "--start_timestamp", "2024-02-19T00:00:00+00:00",
        "--end_timestamp", "2024-02-19T23:59:00+00:00", "--dst_dir", str(tmp_path),
        "--universe_part", "4", "1", "--assert_on_missing_data", "-v", "WARNING",
    ]  # fmt: skip
    assert run_cli(args) == 0
    root = tmp_path / "v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv/futures/v7_3/ccxt/okx/v1_0_0"
    start, end = day_ms("2024-02-19")
    for symbol in ("ETH_USDT", "BTC_USDT", "SAND_USDT", "STORJ_USDT"):
        table = pq.read_table(day_file(root, symbol, "2024-02-19"))
        expected = truth.klines(cfg, "okx:swap", f"{symbol.replace('_', '-')}-SWAP", start, end - 1)
        assert lake_ohlcv(table) == as_ohlcv(expected)


def test_a_delisting_is_explained_not_missing(tmp_path):
    cfg = SimConfig(seed=11, clock="frozen:2024-06-12T00:00:00Z")
    report = tmp_path / "report.json"
    with Simulator(cfg) as server:
        code = run_cli(
            ["download", "--exchange", "okx", "--market", "futures", "--start", "2024-06-11",
             "--end", "2024-06-11", "--lake", str(tmp_path / "lake"), "--rest-url", server.url,
             "--symbols", "WAVES_USDT", "--assert-on-missing-data", "--report-json", str(report),
             "-v", "WARNING"]
        )  # fmt: skip
    assert code == 0
    delisted = truth.symbol_info(cfg, "okx:swap", "WAVES-USDT-SWAP")["delisted_ms"]
    start, _ = day_ms("2024-06-11")
    symbol = json.loads(report.read_text())["symbols"][0]
    assert symbol["rows_written"] == (delisted - start) // 60_000
    assert symbol["missing"] == [] and symbol["excluded_minutes"] == 1440 - symbol["rows_written"]


FIRST_TWO = ["APE_USDT", "AVAX_USDT"]  # the sorted trading symbols start with these everywhere


@pytest.mark.parametrize(
    ("exchange", "market", "first"),
    [("okx", "futures", FIRST_TWO), ("bybit", "spot", FIRST_TWO), ("binanceus", "spot", FIRST_TWO)],
)
def test_universe_all_is_every_trading_symbol_of_the_exchange(sim, tmp_path, exchange, market, first):
    _, server = sim
    url = server.url + ("/binanceus" if exchange == "binanceus" else "")
    args = [
        "download-bulk", "--download_mode", "bulk", "--downloading_entity", "manual",
        "--action_tag", "downloaded_1min", "--vendor", "ccxt", "--exchange_id", exchange,
        "--universe", "all", "--data_type", "ohlcv", "--contract_type", market, "--data_format", "parquet",
        "--start_timestamp", "2024-02-19T00:00:00", "--end_timestamp", "2024-02-19T00:09:00",
        "--dst_dir", str(tmp_path), "--rest_url", url, "--universe_part", "2", "1", "-v", "WARNING",
    ]  # fmt: skip
    assert run_cli(args) == 0
    root = tmp_path / f"v3/bulk/manual/downloaded_1min/parquet/ohlcv/{market}/all/ccxt/{exchange}/v1_0_0"
    pairs = sorted(p.name for p in root.iterdir() if p.name.startswith("currency_pair="))
    assert pairs == [f"currency_pair={s}" for s in first]


def test_bad_symbol_exits_2_listing_the_supported_ones(sim, tmp_path, capsys):
    _, server = sim
    code = download(tmp_path, server.url, "okx", "futures", "--symbols", "BTC_USDT,NOPE_USDT")
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown symbol(s) on OKX futures: NOPE_USDT; supported: APE_USDT, AVAX_USDT" in err
    assert not any(tmp_path.rglob("*.parquet"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--exchange", "kraken", "--market", "spot"],
            "unknown exchange 'kraken'; supported: binance, okx, bybit, binanceus",
        ),
        (
            ["--exchange", "binanceus", "--market", "futures"],
            "exchange 'binanceus' has no market 'futures'; supported: spot",
        ),
    ],
)  # fmt: skip
def test_unknown_exchange_or_market_exits_2_with_the_choices(tmp_path, capsys, args, message):
    code = run_cli(
        ["download", *args, "--start", DAY, "--end", DAY, "--lake", str(tmp_path), "--symbols", "BTC_USDT"]
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_rate_limit_answers_are_waited_out_and_errors_retried(tmp_path, monkeypatch):
    # The simulator allows OKX 1 request per 2 s, far below ccxt's pace: 429s must cost no data.
    cfg = SimConfig(seed=11, clock=FROZEN, okx_requests_per_2s=1, error_rate=0.5)
    report = tmp_path / "report.json"
    with Simulator(cfg) as server:
        assert download(tmp_path / "lake", server.url, "okx", "futures", "--symbols", "BTC_USDT",
                        "--report-json", str(report)) == 0  # fmt: skip
        stats = server.stats()["total"]
    data = json.loads(report.read_text())
    assert stats.get("429", 0) > 0 and stats.get("500", 0) + stats.get("502", 0) + stats.get("503", 0) > 0
    assert data["rate_limited"] > 0 and data["retries"] > 0
    table = pq.read_table(day_file(dataset(tmp_path / "lake", "okx", "futures"), "BTC_USDT"))
    start, end = day_ms(DAY)
    assert lake_ohlcv(table) == as_ohlcv(truth.klines(cfg, "okx:swap", "BTC-USDT-SWAP", start, end - 1))


def test_a_symbol_that_keeps_failing_is_explained_and_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CANDLELAKE_REST_ATTEMPTS", "2")
    cfg = SimConfig(seed=11, clock=FROZEN, fail_symbols=("bybit:linear:ETHUSDT",))
    report = tmp_path / "report.json"
    with Simulator(cfg) as server:
        code = download(tmp_path / "lake", server.url, "bybit", "futures", "--symbols", "BTC_USDT,ETH_USDT",
                        "--report-json", str(report))  # fmt: skip
    assert code == 1
    by_symbol = {s["symbol"]: s for s in json.loads(report.read_text())["symbols"]}
    assert by_symbol["BTC_USDT"]["rows_written"] == 1440 and by_symbol["BTC_USDT"]["missing"] == []
    assert by_symbol["ETH_USDT"]["rows_written"] == 0
    assert by_symbol["ETH_USDT"]["missing_minutes"] == 1440
    assert "failed after retries" in json.dumps(by_symbol["ETH_USDT"]["missing"])
