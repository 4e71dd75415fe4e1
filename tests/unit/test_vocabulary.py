"""One vocabulary: what candlelake downloads is a subset of what a signature may name."""

import pytest

from candlelake.errors import UsageError
from candlelake.markets import EXCHANGES, MARKETS, VENDORS, parse_exchange, parse_market, parse_vendor
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
