"""Symbols of the other exchanges the simulator serves: OKX, Bybit and Binance.US.

Each venue market is a market of the symbol table (`okx:spot`, `okx:swap`, `bybit:spot`,
`bybit:linear`, `binanceus:spot`), so its candles come from the same pure truth function
as Binance's, keyed by (seed, venue market, venue symbol): the venues never share prices.
Tick and step sizes, base prices and volumes are borrowed from the Binance spot row of the
same pair; listing and delisting dates are approximations (see docs/simulator.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

VENUE_MARKETS = ("okx:spot", "okx:swap", "bybit:spot", "bybit:linear", "binanceus:spot")

# Upstream's okx v7.3 universe and binanceus v7 universe, plus a few Bybit pairs.
_PAIRS = {
    "okx": "ETH BTC SAND STORJ GMT AVAX BNB APE MATIC DOT LINK XRP NEAR FTM WAVES AXS DOGE SOL",
    "binanceus": "APE AVAX AXS BNB BTC/BUSD BTC CRV DOGE DOT ETH/BUSD ETH FTM LINK MATIC NEAR OGN SAND SOL "
    "STORJ",
    "bybit": "BTC ETH SOL XRP DOGE AVAX LINK DOT NEAR MATIC APE SAND",
}

# (venue market, base) -> (listed, delisted); anything else: the default listing, never delisted.
_LISTED = {"okx": "2019-01-01", "bybit": "2021-07-01", "binanceus": "2019-09-23"}
_LIFECYCLE: dict[tuple[str, str], tuple[str, str | None]] = {
    ("okx:swap", "WAVES"): ("2020-05-01", "2024-06-11T09:00:00Z"),
    ("okx:swap", "MATIC"): ("2019-12-01", "2024-09-10T06:00:00Z"),
    ("okx:spot", "MATIC"): ("2019-06-01", "2024-09-10T06:00:00Z"),
    ("okx:swap", "GMT"): ("2022-03-10T08:00:00Z", None),
    ("okx:spot", "GMT"): ("2022-03-09T10:00:00Z", None),
    ("okx:swap", "APE"): ("2022-03-17T12:00:00Z", None),
    ("okx:spot", "APE"): ("2022-03-17T12:00:00Z", None),
    ("bybit:spot", "MATIC"): ("2021-07-01", "2024-09-10T08:00:00Z"),
    ("bybit:linear", "MATIC"): ("2021-07-01", "2024-09-10T08:00:00Z"),
    ("bybit:spot", "APE"): ("2022-03-17T12:00:00Z", None),
    ("bybit:linear", "APE"): ("2022-03-17T12:00:00Z", None),
    ("binanceus:spot", "BTC/BUSD"): ("2019-09-23", "2023-03-13T04:00:00Z"),
    ("binanceus:spot", "ETH/BUSD"): ("2019-09-23", "2023-03-13T04:00:00Z"),
    ("binanceus:spot", "MATIC"): ("2020-09-01", "2024-09-10T04:00:00Z"),
    ("binanceus:spot", "APE"): ("2022-03-17T16:00:00Z", None),
    ("binanceus:spot", "GMT"): ("2022-03-10", None),
}
# OKX swap contract values (base per contract): vol is in contracts, volCcy in base.
OKX_CONTRACT_VALUE = {"BTC": "0.01", "ETH": "0.1"}


def venue_symbol(market: str, base: str, quote: str) -> str:
    """The exchange's own spelling: BTC-USDT / BTC-USDT-SWAP on OKX, BTCUSDT elsewhere."""
    if market == "okx:spot":
        return f"{base}-{quote}"
    if market == "okx:swap":
        return f"{base}-{quote}-SWAP"
    return f"{base}{quote}"


def decimals(size: str) -> int:
    exponent = Decimal(size).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _pairs(market: str) -> list[tuple[str, str]]:
    names = _PAIRS[market.split(":")[0]].split(" ")
    return [tuple(n.split("/")) if "/" in n else (n, "USDT") for n in names]  # type: ignore[misc]


def venue_rows(spot_rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Symbol-table rows of every venue market, from the Binance spot rows (by `BTCUSDT`)."""
    rows = []
    for market in VENUE_MARKETS:
        venue = market.split(":")[0]
        for base, quote in _pairs(market):
            model = spot_rows[f"{base}{quote}"]
            listed, delisted = _LIFECYCLE.get(
                (market, base if quote == "USDT" else f"{base}/{quote}"), (None, None)
            )
            listed = listed or _LISTED[venue]
            price_dec, qty_dec = decimals(model["tick_size"]), decimals(model["step_size"])
            if market == "okx:swap":
                # Contracts are whole multiples of the contract value: keep enough decimals.
                qty_dec = max(qty_dec, decimals(OKX_CONTRACT_VALUE.get(base, "1")))
            rows.append(
                {
                    **model,
                    "market": market,
                    "symbol": venue_symbol(market, base, quote),
                    "base": base,
                    "quote": quote,
                    "listed": listed,
                    "delisted": delisted,
                    "anchor": listed,
                    "price_precision": price_dec,
                    "quantity_precision": qty_dec,
                }
            )
    return rows
