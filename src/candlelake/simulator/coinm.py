"""Binance COIN-M (`/dapi/v1`, `data/futures/cm`): a perpetual and dated delivery contracts.

The contracts come from the same truth family as every other symbol (market.py); only their
names, exchangeInfo entries and the contract lifecycle are COIN-M's own. A delivery contract
trades from its listing to its `deliveryDate` and has no candle from that time on. Mark and
premium-index klines are the contract's own (prices.py); the index belongs to the pair
(`BTCUSD`), derived from the pair's perpetual; only perpetuals settle funding (funding.py).
"""

from __future__ import annotations

import copy
from typing import Any

COIN_MARKET = "coin_futures"
PERPETUAL_DELIVERY_MS = 4133404800000  # 2100-12-25, Binance's "no delivery" date
# COIN-M contracts are worth a fixed number of USD each (binance.md: column 5 counts
# contracts, column 7 is base-asset volume).
CONTRACT_SIZE_USD = {"BTC": 100, "ETH": 10}

# Rows in symbols.json's shape. The quarterly delivers on 2025-06-27 08:00 UTC, inside windows
# tests can reach. Quantities are whole contracts (step 1), so the quote volume per minute sets
# about how many contracts (volume / price) trade in a minute.
COIN_ROWS: tuple[dict[str, Any], ...] = (
    {
        "market": COIN_MARKET,
        "symbol": "BTCUSD_PERP",
        "base": "BTC",
        "quote": "USD",
        "listed": "2020-08-10T00:00:00Z",
        "delisted": None,
        "tick_size": "0.1",
        "step_size": "1",
        "price_precision": 1,
        "quantity_precision": 0,
        "anchor": "2024-01-01T00:00:00Z",
        "base_price": 42000.0,
        "volatility": 0.0008,
        "volume_quote_per_minute": 150_000_000.0,
    },
    {
        "market": COIN_MARKET,
        "symbol": "ETHUSD_PERP",
        "base": "ETH",
        "quote": "USD",
        "listed": "2020-08-14T00:00:00Z",
        "delisted": None,
        "tick_size": "0.01",
        "step_size": "1",
        "price_precision": 2,
        "quantity_precision": 0,
        "anchor": "2024-01-01T00:00:00Z",
        "base_price": 2300.0,
        "volatility": 0.001,
        "volume_quote_per_minute": 30_000_000.0,
    },
    {
        "market": COIN_MARKET,
        "symbol": "BTCUSD_250627",
        "base": "BTC",
        "quote": "USD",
        "listed": "2024-12-27T08:00:00Z",
        "delisted": "2025-06-27T08:00:00Z",
        "tick_size": "0.1",
        "step_size": "1",
        "price_precision": 1,
        "quantity_precision": 0,
        "base_price": 95000.0,
        "volatility": 0.0008,
        "volume_quote_per_minute": 20_000_000.0,
    },
)


def coin_entries(futures_template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """exchangeInfo entries of the COIN-M contracts, built on the USD-M entry's shape."""
    entries = {}
    for row in COIN_ROWS:
        entry = copy.deepcopy(futures_template)
        entry.pop("status", None)
        symbol, base = row["symbol"], row["base"]
        dated = row["delisted"] is not None
        entry.update(
            symbol=symbol,
            pair=f"{base}USD",
            contractType="CURRENT_QUARTER" if dated else "PERPETUAL",
            baseAsset=base,
            quoteAsset="USD",
            marginAsset=base,
            contractSize=CONTRACT_SIZE_USD[base],
            pricePrecision=row["price_precision"],
            quantityPrecision=row["quantity_precision"],
        )
        entries[symbol] = entry
    return entries


def coin_entry(entry: dict[str, Any], status: str, listed_ms: int, delivery_ms: int | None) -> dict[str, Any]:
    """A contract's entry as of now: COIN-M names its status `contractStatus`."""
    out = dict(entry)
    out["contractStatus"] = "DELIVERED" if status != "TRADING" else "TRADING"
    out["onboardDate"] = listed_ms
    out["deliveryDate"] = delivery_ms if delivery_ms is not None else PERPETUAL_DELIVERY_MS
    return out


def index_source(market: str, name: str) -> str:
    """The symbol whose candles the index of `name` (a pair or a contract) derives from.

    Binance keys index prices by pair (`/dapi/v1/indexPriceKlines?pair=BTCUSD`, archive folder
    `indexPriceKlines/BTCUSD/`): every COIN-M contract of a pair shares one index, which the
    simulator derives from the pair's perpetual. A USD-M pair is its perpetual's own id.
    """
    return name.split("_", 1)[0] + "_PERP" if market == COIN_MARKET else name


def settles_funding(market: str, symbol: str) -> bool:
    """Only perpetuals settle funding: Binance answers `[]` for a COIN-M delivery contract."""
    return market != COIN_MARKET or symbol.endswith("_PERP")
