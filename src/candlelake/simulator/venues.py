"""OKX and Bybit public market data: instruments, candles, server time.

Candles are the same truth as everywhere else in the simulator (`KlineService`), re-shaped
into each exchange's rows and selection rules (both answer newest first):

- OKX `GET /api/v5/market/candles` (recent, limit ≤ 300) and `.../history-candles` (≤ 300,
  default 100): rows `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`, candles with
  `before < ts < after`, the newest `limit` of them.
- Bybit `GET /v5/market/kline` (limit 1..1000, default 200): rows
  `[start, o, h, l, c, volume, turnover]`, `start <= ts <= end`; with `start` only the
  `limit` candles from `start`, otherwise the newest `limit` up to `end` (or now).

Facts and their sources are in docs/exchanges.md; where the simulator guesses, it says so in
docs/simulator.md.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from candlelake.simulator.symbols import Symbol
from candlelake.simulator.venue_symbols import OKX_CONTRACT_VALUE

OKX_BARS = {
    **{b: b for b in ("1m", "3m", "5m", "15m", "30m")},
    **{f"{n}H": f"{n}h" for n in (1, 2, 4)},
    **{f"{n}H{tz}": f"{n}h" for n in (6, 12) for tz in ("", "utc")},
    **{f"1{u}{tz}": f"1{u.lower() if u != 'M' else 'M'}" for u in ("D", "W", "M") for tz in ("", "utc")},
}
BYBIT_INTERVALS = {
    "1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
    "240": "4h", "360": "6h", "720": "12h", "D": "1d", "W": "1w", "M": "1M",
}  # fmt: skip
OKX_MAX_LIMIT = 300
BYBIT_MAX_LIMIT = 1000


class VenueError(Exception):
    """An exchange error answer: HTTP status + the exchange's code and message."""

    def __init__(self, status: int, code: str, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


# --- OKX -------------------------------------------------------------------------------------


def okx_envelope(data: list[Any], code: str = "0", msg: str = "") -> bytes:
    return orjson.dumps({"code": code, "msg": msg, "data": data})


def okx_state(sym: Symbol, now_ms: int) -> str:
    if sym.delisted_ms is not None and now_ms >= sym.delisted_ms:
        return "suspend"
    return "live"


def okx_instrument(sym: Symbol, now_ms: int) -> dict[str, Any]:
    swap = sym.market == "okx:swap"
    tick = _size(sym.tick_units, sym.price_dec)
    lot = OKX_CONTRACT_VALUE.get(sym.base, "1") if swap else _size(sym.step_units, sym.qty_dec)
    return {
        "instType": "SWAP" if swap else "SPOT",
        "instId": sym.symbol,
        "uly": f"{sym.base}-{sym.quote}" if swap else "",
        "instFamily": f"{sym.base}-{sym.quote}" if swap else "",
        "baseCcy": "" if swap else sym.base,
        "quoteCcy": "" if swap else sym.quote,
        "settleCcy": sym.quote if swap else "",
        "ctValCcy": sym.base if swap else "",
        "ctVal": OKX_CONTRACT_VALUE.get(sym.base, "1") if swap else "",
        "ctMult": "1" if swap else "",
        "ctType": "linear" if swap else "",
        "optType": "",
        "stk": "",
        "listTime": str(sym.listed_ms),
        "expTime": "",
        "lever": "50" if swap else "10",
        "tickSz": tick,
        "lotSz": "1" if swap else lot,
        "minSz": "1" if swap else lot,
        "maxLmtSz": "100000000",
        "maxMktSz": "1000000",
        "alias": "",
        "state": okx_state(sym, now_ms),
        "ruleType": "normal",
        "category": "1",
    }


def okx_rows(sym: Symbol, binance_rows: list[list[Any]], now_ms: int) -> list[list[str]]:
    """Binance-shaped rows (oldest first) as OKX candles (newest first)."""
    ct = Decimal(OKX_CONTRACT_VALUE.get(sym.base, "1"))
    out = []
    for r in reversed(binance_rows):
        confirm = "1" if int(r[6]) < now_ms else "0"
        if sym.market == "okx:swap":
            contracts = format((Decimal(r[5]) / ct).normalize(), "f")
            out.append([str(r[0]), r[1], r[2], r[3], r[4], contracts, r[5], r[7], confirm])
        else:
            out.append([str(r[0]), r[1], r[2], r[3], r[4], r[5], r[7], r[7], confirm])
    return out


def okx_window(params: dict[str, str]) -> tuple[int | None, int | None, int, str]:
    """(lowest ts, highest ts, limit, interval) of an OKX candles request."""
    inst = params.get("instId")
    if not inst:
        raise VenueError(400, "50014", "Parameter instId can not be empty")
    bar = params.get("bar", "1m")
    if bar not in OKX_BARS:
        raise VenueError(400, "51000", "Parameter bar error")
    after, before = _int(params, "after"), _int(params, "before")
    limit = _int(params, "limit")
    limit = 100 if limit is None else limit
    if limit < 1:
        raise VenueError(400, "51000", "Parameter limit error")
    high = after - 1 if after is not None else None
    low = before + 1 if before is not None else None
    return low, high, min(limit, OKX_MAX_LIMIT), OKX_BARS[bar]


# --- Bybit -----------------------------------------------------------------------------------


def bybit_envelope(result: Any, now_ms: int, code: int = 0, msg: str = "OK") -> bytes:
    return orjson.dumps({"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms})


def bybit_status(sym: Symbol, now_ms: int) -> str:
    if sym.delisted_ms is not None and now_ms >= sym.delisted_ms:
        return "Closed"
    return "Trading"


def bybit_instrument(sym: Symbol, now_ms: int) -> dict[str, Any]:
    tick = _size(sym.tick_units, sym.price_dec)
    step = _size(sym.step_units, sym.qty_dec)
    if sym.market == "bybit:spot":
        return {
            "symbol": sym.symbol,
            "baseCoin": sym.base,
            "quoteCoin": sym.quote,
            "innovation": "0",
            "status": bybit_status(sym, now_ms),
            "marginTrading": "both",
            "lotSizeFilter": {
                "basePrecision": step,
                "quotePrecision": "0.00000001",
                "minOrderQty": step,
                "maxOrderQty": "10000000",
                "minOrderAmt": "1",
                "maxOrderAmt": "2000000",
            },
            "priceFilter": {"tickSize": tick},
        }
    return {
        "symbol": sym.symbol,
        "contractType": "LinearPerpetual",
        "status": bybit_status(sym, now_ms),
        "baseCoin": sym.base,
        "quoteCoin": sym.quote,
        "settleCoin": sym.quote,
        "launchTime": str(sym.listed_ms),
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(sym.price_dec),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": tick, "maxPrice": "1999999.00", "tickSize": tick},
        "lotSizeFilter": {
            "maxOrderQty": "1190.000",
            "minOrderQty": step,
            "qtyStep": step,
            "postOnlyMaxOrderQty": "1190.000",
            "maxMktOrderQty": "500.000",
            "minNotionalValue": "5",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "copyTrading": "both",
    }


def bybit_rows(binance_rows: list[list[Any]]) -> list[list[str]]:
    return [[str(r[0]), r[1], r[2], r[3], r[4], r[5], r[7]] for r in reversed(binance_rows)]


def bybit_window(params: dict[str, str]) -> tuple[int | None, int | None, int, str, bool]:
    """(start, end, limit, interval, oldest_first) of a Bybit kline request."""
    if not params.get("symbol"):
        raise VenueError(200, "10001", "params error: symbol invalid")
    try:
        start, end, limit = _int(params, "start"), _int(params, "end"), _int(params, "limit")
    except VenueError as err:
        raise VenueError(200, "10001", f"params error: {err.msg}") from None
    interval = params.get("interval")
    if interval not in BYBIT_INTERVALS:
        raise VenueError(200, "10001", "Invalid period!")
    limit = 200 if limit is None else limit
    if not 1 <= limit <= BYBIT_MAX_LIMIT:
        raise VenueError(200, "10001", "params error: limit must be in [1, 1000]")
    if start is not None and end is not None and start > end:
        raise VenueError(200, "10001", "params error: start must be before end")
    return start, end, limit, BYBIT_INTERVALS[interval], start is not None and end is None


# --- shared ----------------------------------------------------------------------------------


def _int(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 20:
        raise VenueError(400, "51000", f"Parameter {name} error")
    return int(raw)


def _size(units: int, dec: int) -> str:
    return format(Decimal(units).scaleb(-dec).normalize(), "f")
