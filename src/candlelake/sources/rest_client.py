"""The REST client of an exchange market: Binance's own, or ccxt's for the others."""

from __future__ import annotations

from candlelake.markets import DataType, Exchange, Interval, Market, check_data_type_market
from candlelake.settings import RestSettings
from candlelake.sources.binance_rest import BinanceRest
from candlelake.sources.ccxt_rest import CcxtRest, exchange_for

TITLES: dict[Exchange, str] = {
    "binance": "Binance",
    "okx": "OKX",
    "bybit": "Bybit",
    "binanceus": "Binance.US",
}


def open_rest(
    exchange: Exchange,
    market: Market,
    settings: RestSettings,
    data_type: DataType = "ohlcv",
    interval: Interval = "1m",
) -> BinanceRest | CcxtRest:
    """Binance talks to its kline endpoints directly (no ccxt import); the rest go through ccxt.

    Intervals other than 1m are Binance's only (markets.check_market_interval)."""
    if exchange == "binance":
        return BinanceRest(market, settings, data_type=data_type, interval=interval)
    check_data_type_market(data_type, market, exchange)
    return CcxtRest(exchange_for(exchange, market), market, settings)
