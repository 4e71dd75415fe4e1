"""Symbols: universes v7/v7.3, listing and delisting dates, status by clock, maintenance gaps."""

import json

import pytest

from candlelake.simulator import Maintenance, SimConfig, SymbolOverride, truth
from fixtures.simulator import http_get

# upstream.md §8: binance symbols of universe v7 (v7.3 is a subset)
V7 = [
    "ETH_USDT",
    "BTC_USDT",
    "SAND_USDT",
    "ETH_BUSD",
    "BTC_BUSD",
    "STORJ_USDT",
    "GMT_USDT",
    "AVAX_USDT",
    "BNB_USDT",
    "APE_USDT",
    "MATIC_USDT",
    "DYDX_USDT",
    "DOT_USDT",
    "UNFI_USDT",
    "LINK_USDT",
    "XRP_USDT",
    "CRV_USDT",
    "RUNE_USDT",
    "BAKE_USDT",
    "NEAR_USDT",
    "FTM_USDT",
    "WAVES_USDT",
    "AXS_USDT",
    "OGN_USDT",
    "DOGE_USDT",
    "SOL_USDT",
    "CTK_USDT",
]
MIN = 60_000


def info(sim, path):
    body = json.loads(http_get(sim.url + path)[2])
    return {s["symbol"]: s for s in body["symbols"]}


def test_universe_symbols_exist_on_both_markets(make_simulator):
    sim = make_simulator(seed=1, clock="frozen:2023-01-10T00:00:00Z")
    spot, fut = info(sim, "/api/v3/exchangeInfo"), info(sim, "/fapi/v1/exchangeInfo")
    for pair in V7:
        sym = pair.replace("_", "")
        assert spot[sym]["status"] == "TRADING", sym
        if pair.endswith("_BUSD"):
            assert sym not in fut
        else:
            entry = fut[sym]
            assert entry["contractType"] == "PERPETUAL" and entry["marginAsset"] == "USDT"
            assert entry["deliveryDate"] == 4133404800000 and entry["pair"] == sym
            assert {f["filterType"] for f in entry["filters"]} >= {"PRICE_FILTER", "LOT_SIZE"}


def test_status_follows_the_clock(make_simulator):
    before = make_simulator(seed=1, clock="frozen:2024-02-20T00:00:00Z")
    after = make_simulator(seed=1, clock="frozen:2024-07-01T00:00:00Z")
    assert info(before, "/api/v3/exchangeInfo")["WAVESUSDT"]["status"] == "TRADING"
    assert info(after, "/api/v3/exchangeInfo")["WAVESUSDT"]["status"] == "BREAK"
    assert info(after, "/fapi/v1/exchangeInfo")["WAVESUSDT"]["status"] == "SETTLING"
    assert info(before, "/api/v3/exchangeInfo")["BTCBUSD"]["status"] == "BREAK"  # BUSD gone by 2023-12
    assert info(before, "/api/v3/exchangeInfo")["BTCUSDT"]["status"] == "TRADING"


def test_symbols_appear_at_listing(make_simulator):
    early = make_simulator(seed=1, clock="frozen:2022-03-01T00:00:00Z")
    assert "APEUSDT" not in info(early, "/api/v3/exchangeInfo")
    status, _, body = http_get(early.url + "/api/v3/klines?symbol=APEUSDT&interval=1m")
    assert status == 400 and json.loads(body)["code"] == -1121


def test_listing_and_delisting_bound_the_candles(sim_config):
    spot = truth.symbol_info(sim_config, "spot", "BTCUSDT")
    assert spot["listed_ms"] == 1502942400000  # 2017-08-17T04:00Z
    fut = truth.symbol_info(sim_config, "futures", "BTCUSDT")
    assert fut["listed_ms"] == 1569369600000  # 2019-09-25
    rows = truth.klines(
        sim_config, "spot", "BTCUSDT", spot["listed_ms"] - 10 * MIN, spot["listed_ms"] + 2 * MIN
    )
    assert [r[0] for r in rows] == [spot["listed_ms"] + i * MIN for i in range(3)]
    later = sim_config.replace(clock="frozen:2024-07-01T00:00:00Z")
    waves = truth.symbol_info(later, "spot", "WAVESUSDT")
    assert waves["status"] == "BREAK"
    gone = waves["delisted_ms"]
    rows = truth.klines(later, "spot", "WAVESUSDT", gone - 3 * MIN, gone + 10 * MIN)
    assert [r[0] for r in rows] == [gone - 3 * MIN, gone - 2 * MIN, gone - MIN]


def test_maintenance_window_is_a_gap(make_simulator):
    cfg = SimConfig(
        seed=1,
        clock="frozen:2024-02-20T00:00:00Z",
        maintenance=(Maintenance(start="2024-02-19T03:00:00Z", end="2024-02-19T03:05:00Z", market="spot"),),
    )
    sim = make_simulator(cfg)
    start = 1708311600000 - 2 * MIN  # 02:58
    body = json.loads(
        http_get(f"{sim.url}/api/v3/klines?symbol=ETHUSDT&interval=1m&startTime={start}&limit=4")[2]
    )
    assert [r[0] for r in body] == [start, start + MIN, start + 7 * MIN, start + 8 * MIN]
    fut = json.loads(
        http_get(f"{sim.url}/fapi/v1/klines?symbol=ETHUSDT&interval=1m&startTime={start}&limit=4")[2]
    )
    assert [r[0] for r in fut] == [start + i * MIN for i in range(4)]
    assert [r[0] for r in truth.klines(cfg, "spot", "ETHUSDT", start, start + 7 * MIN)] == [
        start,
        start + MIN,
        start + 7 * MIN,
    ]


def test_config_can_add_a_symbol(make_simulator):
    cfg = SimConfig(
        seed=1,
        clock="frozen:2024-02-20T00:00:00Z",
        symbols=(
            SymbolOverride(
                market="futures",
                symbol="PEPEUSDT",
                listed="2024-01-01T00:00:00Z",
                tick_size="0.0001",
                step_size="1",
            ),
        ),
    )
    sim = make_simulator(cfg)
    entry = info(sim, "/fapi/v1/exchangeInfo")["PEPEUSDT"]
    assert entry["status"] == "TRADING" and entry["baseAsset"] == "PEPE"
    rows = truth.klines(cfg, "futures", "PEPEUSDT", 0, 1704067200000 + 2 * MIN)
    assert [r[0] for r in rows] == [1704067200000 + i * MIN for i in range(3)]


@pytest.mark.parametrize(
    ("clock", "status"),
    [("frozen:2025-06-27T07:59:59Z", "TRADING"), ("frozen:2025-06-27T08:00:00Z", "DELIVERED")],
)
def test_dapi_exchange_info_lists_the_coin_m_contracts(make_simulator, clock: str, status: str):
    sim = make_simulator(clock=clock)
    entries = {e["symbol"]: e for e in json.loads(http_get(sim.url + "/dapi/v1/exchangeInfo")[2])["symbols"]}
    assert set(entries) == {"BTCUSD_PERP", "ETHUSD_PERP", "BTCUSD_250627"}
    quarterly, perp = entries["BTCUSD_250627"], entries["BTCUSD_PERP"]
    assert (quarterly["contractStatus"], perp["contractStatus"]) == (status, "TRADING")
    assert quarterly["deliveryDate"] == 1751011200000 and quarterly["contractType"] != "PERPETUAL"
    assert (
        perp["contractType"] == "PERPETUAL" and perp["marginAsset"] == "BTC" and perp["quoteAsset"] == "USD"
    )
    # No candle opens at or after the delivery.
    path = "/dapi/v1/klines?symbol=BTCUSD_250627&interval=1m&startTime=1751010000000&limit=100"
    rows = json.loads(http_get(sim.url + path)[2])
    assert rows and rows[-1][0] < 1751011200000


@pytest.mark.parametrize("kind", ["klines", "markPriceKlines", "premiumIndexKlines"])
def test_dapi_klines_refuse_a_span_over_200_days(make_simulator, kind: str):
    sim = make_simulator(clock="frozen:2025-06-01T00:00:00Z")
    start, day = 1_717_200_000_000, 86_400_000  # 2024-06-01
    base = f"{sim.url}/dapi/v1/{kind}?symbol=BTCUSD_PERP&interval=1d&limit=499&startTime={start}"
    status, _, body = http_get(f"{base}&endTime={start + 200 * day}")
    assert status == 200 and len(json.loads(body)) == 201  # endTime is inclusive
    status, _, body = http_get(f"{base}&endTime={start + 200 * day + 1}")
    assert status == 400 and json.loads(body)["code"] == -1127


def test_determinism_across_servers_and_truth(make_simulator):
    path = "/fapi/v1/klines?symbol=LINKUSDT&interval=1m&startTime=1650000000000&limit=1500"
    a, b, c = (make_simulator(seed=s) for s in (5, 5, 6))
    body_a, body_b, body_c = (http_get(s.url + path)[2] for s in (a, b, c))
    assert body_a == body_b and body_a != body_c
    rows = json.loads(body_a)
    assert rows == truth.klines(a.cfg, "futures", "LINKUSDT", 1650000000000, rows[-1][0])
