"""Dated futures and options listings, so that ccxt's `test_load_markets` finds every type.

ccxt's conformance test asserts that each market type an exchange `has` (spot, swap, future,
option) appears in `load_markets()`. These instruments exist only in the listings: a few BTC
contracts expiring on the next weekly Fridays at 08:00 UTC after the clock, with the field
shapes of each exchange's public documentation. They have no candles.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

DAY_MS = 86_400_000
STRIKES = ("50000", "60000")


def expiries(now_ms: int, count: int = 2) -> list[dt.datetime]:
    """The next `count` Fridays 08:00 UTC strictly after now."""
    now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
    friday = (now + dt.timedelta(days=(4 - now.weekday()) % 7)).replace(
        hour=8, minute=0, second=0, microsecond=0
    )
    if friday <= now:
        friday += dt.timedelta(days=7)
    return [friday + dt.timedelta(days=7 * i) for i in range(count)]


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def _options(now_ms: int) -> list[tuple[dt.datetime, str, str]]:
    return [(e, strike, side) for e in expiries(now_ms) for strike in STRIKES for side in ("C", "P")]


def binance_options(now_ms: int) -> dict[str, Any]:
    """`GET /eapi/v1/exchangeInfo`: European options on BTCUSDT."""
    symbols = [
        {
            "expiryDate": _ms(e),
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "5", "maxPrice": "100000", "tickSize": "5"},
                {"filterType": "LOT_SIZE", "minQty": "0.01", "maxQty": "100", "stepSize": "0.01"},
            ],
            "symbol": f"BTC-{e:%y%m%d}-{strike}-{side}",
            "side": "CALL" if side == "C" else "PUT",
            "strikePrice": strike,
            "underlying": "BTCUSDT",
            "unit": 1,
            "makerFeeRate": "0.0002",
            "takerFeeRate": "0.0002",
            "minQty": "0.01",
            "maxQty": "100",
            "initialMargin": "0.15",
            "maintenanceMargin": "0.075",
            "minInitialMargin": "0.1",
            "minMaintenanceMargin": "0.05",
            "priceScale": 0,
            "quantityScale": 2,
            "quoteAsset": "USDT",
            "status": "TRADING",
        }
        for e, strike, side in _options(now_ms)
    ]
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "optionContracts": [
            {"baseAsset": "BTC", "quoteAsset": "USDT", "underlying": "BTCUSDT", "settleAsset": "USDT"}
        ],
        "optionAssets": [{"name": "USDT"}],
        "optionSymbols": symbols,
        "rateLimits": [],
    }


def okx_instruments(inst_type: str, now_ms: int, uly: str | None) -> list[dict[str, Any]]:
    """`GET /api/v5/public/instruments` for FUTURES (USDT-margined) and OPTION (on BTC-USD)."""
    common = {"lever": "", "maxLmtSz": "10000", "maxMktSz": "3000", "ruleType": "normal", "category": "1"}
    common |= {"baseCcy": "", "quoteCcy": "", "listTime": str(now_ms - 30 * DAY_MS), "state": "live"}
    if inst_type == "FUTURES":
        return [
            {
                **common,
                "instType": "FUTURES",
                "instId": f"BTC-USDT-{e:%y%m%d}",
                "uly": "BTC-USDT",
                "instFamily": "BTC-USDT",
                "settleCcy": "USDT",
                "ctValCcy": "BTC",
                "ctVal": "0.01",
                "ctMult": "1",
                "ctType": "linear",
                "optType": "",
                "stk": "",
                "expTime": str(_ms(e)),
                "alias": "this_week" if i == 0 else "next_week",
                "tickSz": "0.1",
                "lotSz": "1",
                "minSz": "1",
            }
            for i, e in enumerate(expiries(now_ms))
        ]
    if inst_type == "OPTION" and uly == "BTC-USD":
        return [
            {
                **common,
                "instType": "OPTION",
                "instId": f"BTC-USD-{e:%y%m%d}-{strike}-{side}",
                "uly": "BTC-USD",
                "instFamily": "BTC-USD",
                "settleCcy": "BTC",
                "ctValCcy": "BTC",
                "ctVal": "0.01",
                "ctMult": "1",
                "ctType": "",
                "optType": side,
                "stk": strike,
                "expTime": str(_ms(e)),
                "alias": "",
                "tickSz": "0.0005",
                "lotSz": "1",
                "minSz": "1",
            }
            for e, strike, side in _options(now_ms)
        ]
    return []


def bybit_futures(now_ms: int) -> list[dict[str, Any]]:
    """Linear dated futures (USDC-settled, `BTC-23FEB24`) in `category=linear`."""
    return [
        {
            "symbol": f"BTC-{e:%d%b%y}".upper(),
            "contractType": "LinearFutures",
            "status": "Trading",
            "baseCoin": "BTC",
            "quoteCoin": "USDC",
            "settleCoin": "USDC",
            "launchTime": str(now_ms - 30 * DAY_MS),
            "deliveryTime": str(_ms(e)),
            "deliveryFeeRate": "0.0005",
            "priceScale": "2",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": "0.50", "maxPrice": "1999999.00", "tickSize": "0.50"},
            "lotSizeFilter": {
                "maxOrderQty": "100.000",
                "minOrderQty": "0.001",
                "qtyStep": "0.001",
                "postOnlyMaxOrderQty": "100.000",
                "maxMktOrderQty": "100.000",
                "minNotionalValue": "5",
            },
            "unifiedMarginTrade": True,
            "fundingInterval": 0,
        }
        for e in expiries(now_ms)
    ]


def bybit_options(now_ms: int, base: str) -> list[dict[str, Any]]:
    """`category=option`: USDC-settled options on BTC."""
    if base != "BTC":
        return []
    return [
        {
            "symbol": f"BTC-{e:%d%b%y}-{strike}-{side}".upper(),
            "optionsType": "Call" if side == "C" else "Put",
            "status": "Trading",
            "baseCoin": "BTC",
            "quoteCoin": "USD",
            "settleCoin": "USDC",
            "launchTime": str(now_ms - 30 * DAY_MS),
            "deliveryTime": str(_ms(e)),
            "deliveryFeeRate": "0.00015",
            "priceFilter": {"minPrice": "5", "maxPrice": "10000000", "tickSize": "5"},
            "lotSizeFilter": {"maxOrderQty": "500", "minOrderQty": "0.01", "qtyStep": "0.01"},
        }
        for e, strike, side in _options(now_ms)
    ]
