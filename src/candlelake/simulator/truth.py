"""Ground truth for tests: the candles the simulator serves, computed without a server.

    truth.klines(cfg, market="spot", symbol="BTCUSDT", start_ms=..., end_ms=..., interval="1m")
    truth.klines(cfg, market="futures", ..., kind="markPriceKlines")

returns the 12-field rows of every *closed* candle with start_ms <= open_time <= end_ms, exactly
as the REST API returns them (listing, delisting, maintenance and real-day replay honoured).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

from candlelake.simulator import funding as funding_truth
from candlelake.simulator.clock import Clock
from candlelake.simulator.coinm import index_source
from candlelake.simulator.config import SimConfig
from candlelake.simulator.klines import KlineService
from candlelake.simulator.market import Market
from candlelake.simulator.prices import INDEX, TRADE_KLINES

_PAGE = 100_000


@lru_cache(maxsize=8)
def _service(cfg: SimConfig, kind: str = TRADE_KLINES) -> KlineService:
    # pure derived data per (immutable, hashable) config; bounded so it cannot grow unchecked
    return KlineService(Market(cfg), 64 << 20, kind)


def klines(
    cfg: SimConfig,
    market: str,
    symbol: str,
    start_ms: int,
    end_ms: int,
    interval: str = "1m",
    kind: str = TRADE_KLINES,
) -> list[list[Any]]:
    """Closed candles with start_ms <= open_time <= end_ms, as the REST API rows.

    `kind` names the series as Binance does: `klines` (trades), or for futures
    `markPriceKlines`, `indexPriceKlines`, `premiumIndexKlines` (simulator/prices.py). The
    index of a COIN-M contract is its pair's (coinm.index_source).
    """
    service = _service(cfg, kind)
    sym = service.market.symbols.get(market, index_source(market, symbol) if kind == INDEX else symbol)
    if sym is None:
        raise KeyError(f"unknown symbol {market}:{symbol}")
    now = Clock(cfg.clock).now_ms()
    rows: list[list[Any]] = []
    cursor = start_ms
    while True:
        body, count = service.select(sym, interval, cursor, end_ms, _PAGE, now, include_forming=False)
        page = orjson.loads(body)
        rows.extend(page)
        if count < _PAGE:
            return rows
        cursor = int(page[-1][0]) + 1


def symbol_info(cfg: SimConfig, market: str, symbol: str) -> dict[str, Any]:
    """listed_ms, delisted_ms (or None), status as of the config clock, and the number formats."""
    sym = _service(cfg).market.symbols.get(market, symbol)
    if sym is None:
        raise KeyError(f"unknown symbol {market}:{symbol}")
    now = Clock(cfg.clock).now_ms()
    return {
        "market": market,
        "symbol": symbol,
        "base": sym.base,
        "quote": sym.quote,
        "listed_ms": sym.listed_ms,
        "delisted_ms": sym.delisted_ms,
        "status": sym.status(now),
        "visible": sym.is_visible(now),
        "price_decimals": sym.price_dec,
        "qty_decimals": sym.qty_dec,
        "quote_decimals": sym.quote_dec,
    }


def symbols(cfg: SimConfig, market: str) -> list[str]:
    """Every symbol of a market (including not-yet-listed and delisted ones)."""
    return sorted(s.symbol for s in _service(cfg).market.symbols.market_symbols(market))


def funding(
    cfg: SimConfig, symbol: str, start_ms: int, end_ms: int, market: str = "futures"
) -> list[list[Any]]:
    """Funding settlements of a USD-M (or COIN-M) perpetual with nominal time in [start_ms,
    end_ms], published by the config clock, as `[time_ms, rate string, interval hours]`
    (simulator/funding.py)."""
    sym = _service(cfg).market.symbols.get(market, symbol)
    if sym is None:
        raise KeyError(f"unknown symbol {market}:{symbol}")
    now = Clock(cfg.clock).now_ms()
    items = funding_truth.settlements(cfg, sym, start_ms, min(end_ms, now))
    return [[f.time_ms, f.rate, f.interval_hours] for f in items if f.time_ms <= now]
