"""ccxt's own exchange tests (ccxt/test/exchange/sync, shipped in the wheel) against the simulator.

Unmodified ccxt, pointed at the simulator, must pass ccxt's public-data conformance checks for
every exchange the simulator serves. The simulator runs on the real clock because ccxt's tests
ask for the candles of the last few minutes.
"""

from __future__ import annotations

import importlib
from typing import Any

import ccxt
import pytest

from fixtures.simulator import point_ccxt

try:
    sync_tests = {
        name: getattr(importlib.import_module(f"ccxt.test.exchange.sync.{name}"), name)
        for name in ("test_load_markets", "test_fetch_ohlcv")
    }
except ImportError as exc:  # pragma: no cover - the pinned ccxt wheel ships them
    pytest.skip(f"ccxt's conformance tests are not in this ccxt build: {exc}", allow_module_level=True)

# (ccxt class, symbol for fetch_ohlcv, skipped properties as ccxt's own test runner passes them)
EXCHANGES = {
    # ccxt.binance does not load option markets unless asked (its fetchMarkets types leave
    # 'option' out), so its own runner skips that type; see test_binance_options_load below.
    "binance": (ccxt.binance, "BTC/USDT", {"optionsNotLoadedByDefault": True}),
    "binanceusdm": (ccxt.binanceusdm, "BTC/USDT:USDT", {}),
    "okx": (ccxt.okx, "BTC/USDT:USDT", {}),
    "bybit": (ccxt.bybit, "BTC/USDT:USDT", {}),
    "binanceus": (ccxt.binanceus, "BTC/USDT", {}),
}


@pytest.fixture(scope="module")
def live_sim():
    from candlelake.simulator import SimConfig, Simulator

    with Simulator(SimConfig(seed=7, clock="real")) as sim:
        yield sim


def exchange(name: str, url: str, **options: Any) -> Any:
    cls = EXCHANGES[name][0]
    return point_ccxt(cls({"enableRateLimit": False, **options}), url)


# test_fetch_markets is left out: in ccxt 4.5.90 it asserts that fetch_markets returns a dict,
# while every exchange returns a list, so it fails against the real exchanges too.
@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_load_markets_conforms(live_sim, name):
    skipped = EXCHANGES[name][2]
    assert sync_tests["test_load_markets"](exchange(name, live_sim.url), skipped) is not False


@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_fetch_ohlcv_conforms(live_sim, name):
    _, symbol, skipped = EXCHANGES[name]
    ex = exchange(name, live_sim.url)
    ex.load_markets()
    assert sync_tests["test_fetch_ohlcv"](ex, skipped, symbol) is not False


def test_binance_options_load_from_eapi(live_sim):
    types = ["spot", "linear", "inverse", "option"]
    ex = exchange("binance", live_sim.url, options={"fetchMarkets": {"types": types}})
    options = [m for m in ex.load_markets().values() if m["type"] == "option"]
    assert options and {m["settle"] for m in options} == {"USDT"}
    assert {m["optionType"] for m in options} == {"call", "put"}
