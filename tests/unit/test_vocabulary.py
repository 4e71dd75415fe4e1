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
    parse_data_type,
    parse_exchange,
    parse_market,
    parse_vendor,
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
        (parse_market, "swap", "unknown market 'swap'; allowed: spot, futures"),
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
        ("mark_price", "spot", "binance", "--data_type 'mark_price' exists for futures only, not 'spot'"),
        ("funding_rate", "spot", "binance", "--data_type 'funding_rate' exists for futures only, not 'spot'"),
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


def test_derivative_series_are_accepted_for_every_derivatives_market() -> None:
    for kind in ("mark_price", "index_price", "premium_index", "funding_rate", "ohlcv"):
        for market in (m for m in MARKETS if m != "spot"):
            check_data_type_market(kind, market, "binance")


def test_an_unknown_data_type_is_named_with_the_choices() -> None:
    with pytest.raises(UsageError) as err:
        parse_data_type("candles")
    assert str(err.value) == f"unknown --data_type 'candles'; allowed: {', '.join(DATA_TYPES)}"
