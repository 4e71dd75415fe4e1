"""Unmodified ccxt (sync and async) loads markets and fetches klines from the simulator."""

import asyncio
import csv
import io

import ccxt
import ccxt.async_support as accxt

from fixtures.simulator import point_ccxt, realdata_bytes

SPOT_DAY = 1577836800000  # 2020-01-01, a recorded day
UM_DAY = 1651795200000  # 2022-05-06, a recorded day


def recorded(name: str, n: int) -> list[list[float]]:
    rows = list(csv.reader(io.StringIO(realdata_bytes(name).decode())))[:n]
    return [[int(r[0]), *(float(x) for x in r[1:6])] for r in rows]


def test_sync_binance_spot_and_linear(simulator, ccxt_for):
    ex = ccxt_for(ccxt.binance, simulator.url)
    assert ex.fetch_ohlcv("BTC/USDT", "1m", SPOT_DAY, 5) == recorded(
        "spot_klines/BTCUSDT-1m-2020-01-01.csv", 5
    )
    assert ex.fetch_ohlcv("BTC/USDT:USDT", "1m", UM_DAY, 5) == recorded(
        "um_klines/BTCUSDT-1m-2022-05-06.csv", 5
    )


def test_sync_binanceusdm(simulator, ccxt_for):
    ex = ccxt_for(ccxt.binanceusdm, simulator.url)
    rows = ex.fetch_ohlcv("BTC/USDT:USDT", "1m", UM_DAY, 1000)
    assert rows == recorded("um_klines/BTCUSDT-1m-2022-05-06.csv", 1000)
    markets = ex.load_markets()
    assert markets["BTC/USDT:USDT"]["active"] is True


def test_async_binance(simulator):
    async def run():
        ex = point_ccxt(accxt.binance({"enableRateLimit": False}), simulator.url)
        try:
            spot = await ex.fetch_ohlcv("BTC/USDT", "1m", SPOT_DAY + 86_400_000, 3)
            linear = await ex.fetch_ohlcv("BTC/USDT:USDT", "1m", UM_DAY, 3)
        finally:
            await ex.close()
        return spot, linear

    spot, linear = asyncio.run(run())
    assert spot == recorded("spot_klines/BTCUSDT-1m-2020-01-02.csv", 3)
    assert linear == recorded("um_klines/BTCUSDT-1m-2022-05-06.csv", 3)


def test_ccxt_maps_simulator_errors(simulator, ccxt_for):
    ex = ccxt_for(ccxt.binance, simulator.url)
    ex.load_markets()
    try:
        ex.publicGetKlines({"symbol": "NOPEUSDT", "interval": "1m"})
    except ccxt.BadSymbol:
        pass
    else:
        raise AssertionError("unknown symbol must map to BadSymbol (-1121)")
