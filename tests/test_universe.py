"""Shipped universes: contents, order, versions, errors."""

from __future__ import annotations

import pytest

from candlelake.errors import UsageError
from candlelake.universe import list_exchanges, list_versions, load_universe, version_key

# upstream.md §8, binance download universe v7, in file order.
V7_BINANCE = [
    "ETH_USDT", "BTC_USDT", "SAND_USDT", "ETH_BUSD", "BTC_BUSD", "STORJ_USDT", "GMT_USDT",
    "AVAX_USDT", "BNB_USDT", "APE_USDT", "MATIC_USDT", "DYDX_USDT", "DOT_USDT", "UNFI_USDT",
    "LINK_USDT", "XRP_USDT", "CRV_USDT", "RUNE_USDT", "BAKE_USDT", "NEAR_USDT", "FTM_USDT",
    "WAVES_USDT", "AXS_USDT", "OGN_USDT", "DOGE_USDT", "SOL_USDT", "CTK_USDT",
]  # fmt: skip


def test_v7_binance_is_the_upstream_list_in_order() -> None:
    assert load_universe("v7", "binance") == V7_BINANCE
    assert len(V7_BINANCE) == 27


def test_v7_3_is_the_feb_2024_list() -> None:
    v73 = load_universe("v7.3", "binance")
    assert len(v73) == 25
    assert v73 == [s for s in V7_BINANCE if s not in {"ETH_BUSD", "BTC_BUSD"}]
    assert "WAVES_USDT" in v73


# upstream-universes.md: binanceus v7 (= v7.3) and okx v7.3 (Feb 2024), in upstream's order.
BINANCEUS = [
    "APE_USDT", "AVAX_USDT", "AXS_USDT", "BNB_USDT", "BTC_BUSD", "BTC_USDT", "CRV_USDT", "DOGE_USDT",
    "DOT_USDT", "ETH_BUSD", "ETH_USDT", "FTM_USDT", "LINK_USDT", "MATIC_USDT", "NEAR_USDT", "OGN_USDT",
    "SAND_USDT", "SOL_USDT", "STORJ_USDT",
]  # fmt: skip
OKX_V7_3 = [
    "ETH_USDT", "BTC_USDT", "SAND_USDT", "STORJ_USDT", "GMT_USDT", "AVAX_USDT", "BNB_USDT", "APE_USDT",
    "MATIC_USDT", "DOT_USDT", "LINK_USDT", "XRP_USDT", "NEAR_USDT", "FTM_USDT", "WAVES_USDT", "AXS_USDT",
    "DOGE_USDT", "SOL_USDT",
]  # fmt: skip


def test_binanceus_and_okx_are_upstreams_lists_in_order() -> None:
    assert load_universe("v7", "binanceus") == BINANCEUS
    assert load_universe("v7.3", "binanceus") == BINANCEUS
    assert load_universe("v7.3", "okx") == OKX_V7_3
    assert (len(BINANCEUS), len(OKX_V7_3)) == (19, 18)


def test_underscore_spelling_and_binance_vendor_read_the_same_file() -> None:
    assert load_universe("v7_3", "binance") == load_universe("v7.3", "binance")
    assert load_universe("v7", "binance", vendor="binance") == V7_BINANCE


def test_list_versions() -> None:
    assert list_versions() == ["v7", "v7.3", "coinm_v1"]
    assert list_versions("binance") == ["v7", "v7.3", "coinm_v1"]
    assert list_exchanges("coinm_v1") == ["binance"]
    assert list_exchanges("v7") == ["binance", "binanceus"]
    assert list_exchanges("v7.3") == ["binance", "binanceus", "okx"]


def test_coinm_v1_names_the_coin_m_perpetuals() -> None:
    # COIN-M contracts (market coin_futures, vendor binance), not pairs: the two the simulator
    # serves as perpetuals too, so the daily DAG's COIN-M job runs against it.
    assert load_universe("coinm_v1", "binance", vendor="binance") == ["BTC_USD_PERP", "ETH_USD_PERP"]


def test_version_order_is_numeric_not_textual() -> None:
    # Upstream defect K8: "v7.10" must not collapse to or sort like "v7.1".
    labels = ["v10", "v7.10", "small", "v7", "v7.3", "v7.2", "v8"]
    assert sorted(labels, key=version_key) == ["v7", "v7.2", "v7.3", "v7.10", "v8", "v10", "small"]


def test_loaded_list_is_a_copy() -> None:
    first = load_universe("v7", "binance")
    first.clear()
    assert load_universe("v7", "binance") == V7_BINANCE


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("v9", "binance"), "unknown universe 'v9' for vendor ccxt; available: v7, v7.3, coinm_v1"),
        (("v7", "okx"), "universe v7 has no exchange 'okx'; available: binance, binanceus"),
        (("all", "binance"), "universe 'all' has no file"),
    ],
)
def test_unknown_version_or_exchange(args: tuple[str, str], expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        load_universe(*args)


def test_unknown_vendor_lists_vendors() -> None:
    with pytest.raises(UsageError, match="vendors with universes: ccxt, binance"):
        list_versions("crypto_chassis")
