"""One vocabulary: what candlelake downloads is a subset of what a signature may name."""

import pytest

from candlelake.errors import UsageError
from candlelake.markets import (
    DATA_TYPES,
    EXCHANGES,
    MARKETS,
    SUPPORTED_DATA_TYPES,
    VENDORS,
    DataType,
    Exchange,
    Market,
    check_data_type_market,
    check_data_type_symbol,
    check_symbol,
    parse_data_type,
    parse_exchange,
    parse_market,
    parse_vendor,
    to_exchange_id,
    to_pair_id,
)
from candlelake.signature import ALLOWED_VALUES
from candlelake.universe import VENDOR_LISTS


def test_every_downloadable_value_can_be_named_in_a_signature() -> None:
    assert set(MARKETS) <= set(ALLOWED_VALUES["asset_type"])
    assert set(VENDORS) <= set(ALLOWED_VALUES["vendor"])
    assert set(EXCHANGES) <= set(ALLOWED_VALUES["exchange_id"])
    assert set(VENDOR_LISTS) == set(VENDORS)


@pytest.mark.parametrize(
    ("parse", "value", "message"),
    [
        (parse_market, "swap", "unknown market 'swap'; allowed: spot, futures, coin_futures"),
        (parse_vendor, "crypto_chassis", "unknown vendor 'crypto_chassis'; supported: ccxt, binance"),
        (parse_exchange, "kraken", "unknown exchange 'kraken'; supported: binance, okx, bybit, binanceus"),
    ],
)
def test_bad_values_are_named_with_the_choices(parse, value: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse(value)
    assert str(err.value) == message


def test_every_data_type_can_be_named_in_a_signature() -> None:
    assert set(DATA_TYPES) <= set(ALLOWED_VALUES["data_type"])
    assert set(SUPPORTED_DATA_TYPES) <= set(DATA_TYPES)
    assert {"mark_price", "index_price", "premium_index", "funding_rate"} <= set(DATA_TYPES)


@pytest.mark.parametrize(
    ("data_type", "market", "exchange", "message"),
    [
        ("mark_price", "spot", "binance", "--data_type 'mark_price' exists for futures, coin_futures only"),
        (
            "funding_rate",
            "spot",
            "binance",
            "--data_type 'funding_rate' exists for futures, coin_futures only, not 'spot'",
        ),
        (
            "index_price",
            "futures",
            "okx",
            "--data_type 'index_price' is downloaded from exchange binance only",
        ),
    ],
)
def test_a_derivative_series_is_refused_where_the_exchange_does_not_publish_it(
    data_type: DataType, market: Market, exchange: Exchange, message: str
) -> None:
    with pytest.raises(UsageError) as err:
        check_data_type_market(data_type, market, exchange)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("market", ["futures", "coin_futures"])
def test_derivative_series_are_accepted_for_usd_m_and_coin_m(market: Market) -> None:
    for kind in ("mark_price", "index_price", "premium_index", "funding_rate", "ohlcv"):
        check_data_type_market(kind, market, "binance")


def test_funding_is_refused_for_a_delivery_contract_only() -> None:
    for symbol in ("BTC_USD_PERP", "BTC_USDT"):
        check_data_type_symbol("funding_rate", symbol)
    check_data_type_symbol("mark_price", "BTC_USD_250627")
    with pytest.raises(UsageError, match=r"BTC_USD_250627 is a delivery contract.*use BTC_USD_PERP"):
        check_data_type_symbol("funding_rate", "BTC_USD_250627")


@pytest.mark.parametrize(
    ("symbol", "pair"), [("BTC_USD_PERP", "BTCUSD"), ("BTC_USD_250627", "BTCUSD"), ("ETH_USDT", "ETHUSDT")]
)
def test_an_index_is_keyed_by_the_contract_s_pair(symbol: str, pair: str) -> None:
    assert to_pair_id(symbol) == pair


@pytest.mark.parametrize(
    ("symbol", "exchange_id"),
    [("BTC_USD_PERP", "BTCUSD_PERP"), ("BTC_USD_250627", "BTCUSD_250627"), ("ETH_USD_PERP", "ETHUSD_PERP")],
)
def test_a_coin_m_contract_keeps_its_suffix_in_binance_s_id(symbol: str, exchange_id: str) -> None:
    assert check_symbol(symbol, "coin_futures") == symbol
    assert to_exchange_id(symbol) == exchange_id
    assert to_exchange_id("BTC_USDT") == "BTCUSDT"


@pytest.mark.parametrize(
    ("symbol", "market", "expected"),
    [
        ("BTC_USDT", "coin_futures", "coin_futures expects BASE_QUOTE_PERP or BASE_QUOTE_YYMMDD"),
        ("BTC_USD_2506", "coin_futures", "coin_futures expects"),
        ("BTC_USD_PERP", "futures", "expected BASE_QUOTE"),
        ("BTC_USD_PERP", "spot", "expected BASE_QUOTE"),
        ("BTC_USD_perp", None, "expected BASE_QUOTE"),
    ],
)
def test_a_symbol_is_checked_against_its_market(symbol: str, market: Market | None, expected: str) -> None:
    with pytest.raises(UsageError) as err:
        check_symbol(symbol, market)
    assert f"bad symbol {symbol!r}" in str(err.value) and expected in str(err.value)


def test_an_unknown_data_type_is_named_with_the_choices() -> None:
    with pytest.raises(UsageError) as err:
        parse_data_type("candles")
    assert str(err.value) == f"unknown --data_type 'candles'; allowed: {', '.join(DATA_TYPES)}"
