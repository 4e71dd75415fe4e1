"""OKX, Bybit and Binance.US on the simulator: unmodified ccxt, selection rules, limits, lifecycle."""

from __future__ import annotations

import json
from decimal import Decimal

import ccxt
import pytest

from candlelake.simulator import truth
from fixtures.simulator import http_get, point_ccxt

DAY = 1708214400000  # 2024-02-18, a synthetic day for every venue
MINUTE = 60_000

# (ccxt class, unified symbol, simulator market, venue symbol)
VENUES = [
    (ccxt.okx, "BTC/USDT:USDT", "okx:swap", "BTC-USDT-SWAP"),
    (ccxt.okx, "ETH/USDT", "okx:spot", "ETH-USDT"),
    (ccxt.bybit, "BTC/USDT:USDT", "bybit:linear", "BTCUSDT"),
    (ccxt.bybit, "SOL/USDT", "bybit:spot", "SOLUSDT"),
    (ccxt.binanceus, "BTC/USDT", "binanceus:spot", "BTCUSDT"),
]


def ohlcv(rows: list[list]) -> list[list]:
    return [[int(r[0]), *(float(x) for x in r[1:6])] for r in rows]


@pytest.mark.parametrize(("cls", "symbol", "market", "venue_symbol"), VENUES)
def test_unmodified_ccxt_loads_markets_and_fetches_the_truth(
    simulator, sim_config, cls, symbol, market, venue_symbol
):
    ex = point_ccxt(cls({"enableRateLimit": False}), simulator.url)
    markets = ex.load_markets()
    assert markets[symbol]["id"] == venue_symbol
    assert markets[symbol]["active"] is True
    got = ex.fetch_ohlcv(symbol, "1m", DAY, 200)
    assert got == ohlcv(truth.klines(sim_config, market, venue_symbol, DAY, DAY + 199 * MINUTE))
    assert len(got) == 200


def test_okx_history_candles_are_newest_first_strictly_between_before_and_after(simulator, sim_config):
    after, before = DAY + 300 * MINUTE, DAY - 1
    query = f"instId=BTC-USDT-SWAP&bar=1m&after={after}&before={before}&limit=300"
    url = f"{simulator.url}/api/v5/market/history-candles?{query}"
    status, _, body = http_get(url)
    data = json.loads(body)["data"]
    assert status == 200 and len(data) == 300
    truth_rows = truth.klines(sim_config, "okx:swap", "BTC-USDT-SWAP", DAY, after - MINUTE)
    assert [int(r[0]) for r in data] == [r[0] for r in reversed(truth_rows)]
    newest = truth_rows[-1]
    # vol is in contracts (ctVal 0.01 BTC), volCcy in BTC, volCcyQuote in USDT; the candle is closed.
    assert data[0][1:5] == newest[1:5]
    assert Decimal(data[0][5]) == Decimal(newest[5]) / Decimal("0.01")
    assert data[0][6:] == [newest[5], newest[7], "1"]
    # The default page is 100 and no page exceeds 300.
    status, _, body = http_get(
        f"{simulator.url}/api/v5/market/history-candles?instId=BTC-USDT-SWAP&after={after}"
    )
    assert len(json.loads(body)["data"]) == 100
    status, _, body = http_get(
        f"{simulator.url}/api/v5/market/history-candles?instId=BTC-USDT-SWAP&limit=500"
    )
    assert len(json.loads(body)["data"]) == 300


def test_okx_errors_use_its_codes(simulator):
    status, _, body = http_get(f"{simulator.url}/api/v5/market/history-candles?instId=NOPE-USDT-SWAP")
    assert (status, json.loads(body)["code"]) == (400, "51001")
    status, _, body = http_get(f"{simulator.url}/api/v5/market/candles?instId=BTC-USDT&bar=7m")
    assert (status, json.loads(body)["code"]) == (400, "51000")


def test_bybit_kline_is_newest_first_with_inclusive_bounds(simulator, sim_config):
    start, end = DAY, DAY + 999 * MINUTE
    query = f"category=linear&symbol=BTCUSDT&interval=1&start={start}&end={end}&limit=1000"
    url = f"{simulator.url}/v5/market/kline?{query}"
    body = json.loads(http_get(url)[2])
    rows = body["result"]["list"]
    assert body["retCode"] == 0 and len(rows) == 1000
    truth_rows = truth.klines(sim_config, "bybit:linear", "BTCUSDT", start, end)
    assert rows == [[str(r[0]), *r[1:6], r[7]] for r in reversed(truth_rows)]
    # start only: the `limit` candles from start, still newest first.
    body = json.loads(
        http_get(
            f"{simulator.url}/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&start={start}&limit=3"
        )[2]
    )
    assert [int(r[0]) for r in body["result"]["list"]] == [start + 2 * MINUTE, start + MINUTE, start]
    body = json.loads(
        http_get(f"{simulator.url}/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&limit=1001")[2]
    )
    assert body["retCode"] == 10001


def test_venue_rate_limits_answer_like_the_exchanges(make_simulator):
    # Windows are fixed (2 s on OKX, 5 s on Bybit): a burst crossing a boundary gets more.
    sim = make_simulator(okx_requests_per_2s=2, bybit_requests_per_5s=2)
    okx = f"{sim.url}/api/v5/market/history-candles?instId=BTC-USDT&limit=1"
    answers = [http_get(okx, {"X-Sim-Client": "a"}) for _ in range(6)]
    refused = [a for a in answers if a[0] != 200]
    assert refused and {a[0] for a in refused} == {429}
    assert json.loads(refused[0][2])["code"] == "50011"
    assert int(refused[0][1]["Retry-After"]) >= 1
    bybit = f"{sim.url}/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&limit=1"
    assert {http_get(bybit, {"X-Sim-Client": "b"})[0] for _ in range(6)} == {200, 403}
    # another client has its own allowance
    assert http_get(okx, {"X-Sim-Client": "c"})[0] == 200
    ex = point_ccxt(ccxt.bybit({"enableRateLimit": False, "headers": {"X-Sim-Client": "d"}}), sim.url)
    with pytest.raises(ccxt.RateLimitExceeded):
        for _ in range(6):
            ex.publicGetV5MarketKline({"category": "spot", "symbol": "BTCUSDT", "interval": "1", "limit": 1})


def test_listing_and_delisting_show_in_instruments_and_candles(make_simulator):
    sim = make_simulator(clock="frozen:2024-09-11T00:00:00Z")
    okx = json.loads(http_get(f"{sim.url}/api/v5/public/instruments?instType=SWAP&instId=MATIC-USDT-SWAP")[2])
    assert okx["data"][0]["state"] == "suspend"
    bybit = json.loads(http_get(f"{sim.url}/v5/market/instruments-info?category=linear&symbol=MATICUSDT")[2])
    assert bybit["result"]["list"][0]["status"] == "Closed"
    ex = point_ccxt(ccxt.binanceus({"enableRateLimit": False}), sim.url)
    assert ex.load_markets()["BTC/BUSD"]["active"] is False
    # The last candle opens the minute before the delisting time.
    delisted = truth.symbol_info(sim.cfg, "okx:swap", "MATIC-USDT-SWAP")["delisted_ms"]
    latest = json.loads(
        http_get(f"{sim.url}/api/v5/market/history-candles?instId=MATIC-USDT-SWAP&limit=1")[2]
    )
    assert int(latest["data"][0][0]) == delisted - MINUTE
    # Before its listing an instrument is not there at all.
    early = make_simulator(clock="frozen:2022-03-01T00:00:00Z")
    listed = json.loads(http_get(f"{early.url}/api/v5/public/instruments?instType=SWAP")[2])
    assert "APE-USDT-SWAP" not in {i["instId"] for i in listed["data"]}


def test_faults_reach_the_venues(make_simulator):
    sim = make_simulator(fail_symbols=("okx:swap:BTC-USDT-SWAP", "bybit:linear:ETHUSDT"))
    assert http_get(f"{sim.url}/api/v5/market/history-candles?instId=BTC-USDT-SWAP")[0] in (500, 503)
    assert http_get(f"{sim.url}/api/v5/market/history-candles?instId=ETH-USDT-SWAP")[0] == 200
    assert http_get(f"{sim.url}/v5/market/kline?category=linear&symbol=ETHUSDT&interval=1")[0] in (500, 503)
    assert http_get(f"{sim.url}/v5/market/kline?category=spot&symbol=ETHUSDT&interval=1")[0] == 200
