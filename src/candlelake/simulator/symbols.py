"""The symbol table: bundled metadata, config overrides, status as of a given time."""

from __future__ import annotations

import copy
import fnmatch
import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from candlelake.simulator.coinm import COIN_MARKET, COIN_ROWS, coin_entries, coin_entry
from candlelake.simulator.config import SimConfig, SymbolOverride, parse_time_ms
from candlelake.simulator.venue_symbols import VENUE_MARKETS, venue_rows

PERPETUAL_DELIVERY_MS = 4133404800000  # 2100-12-25, Binance's "no delivery" date
ANNOUNCE_MS = 7 * 86_400_000  # delistings are announced about a week ahead
# Markets served with Binance's spot API and number formats (Binance.US is a copy of it).
BINANCE_SPOT_LIKE = ("spot", "binanceus:spot")


@dataclass(frozen=True)
class Symbol:
    """One tradable symbol of one market, with the integer unit system used for its numbers.

    Prices are integers in units of 10**-price_dec, quantities in 10**-qty_dec and quote
    amounts in 10**-quote_dec; tick and step sizes are multiples of those units.
    """

    market: str
    symbol: str
    base: str
    quote: str
    listed_ms: int
    delisted_ms: int | None
    tick_units: int
    step_units: int
    price_dec: int
    qty_dec: int
    quote_dec: int
    base_price: float
    anchor_ms: int
    volatility: float
    volume_quote_per_minute: float
    entry: dict[str, Any] = field(compare=False, hash=False, repr=False)

    def status(self, now_ms: int) -> str:
        if self.delisted_ms is not None and now_ms >= self.delisted_ms:
            return "BREAK" if self.market in BINANCE_SPOT_LIKE else "SETTLING"
        return "TRADING"

    def is_visible(self, now_ms: int) -> bool:
        return now_ms >= self.listed_ms


def _units(size: str, dec: int) -> int:
    return max(1, int(Decimal(size).scaleb(dec).to_integral_value()))


def _read_json(name: str) -> Any:
    return json.loads(resources.files("candlelake.simulator.data").joinpath(name).read_text())


@cache
def _bundled() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    rows = [*_read_json("symbols.json")["symbols"], *COIN_ROWS]
    return rows, _read_json("spot_exchangeinfo_entries.json"), _read_json("futures_exchangeinfo_entries.json")


def bundled_exchange_info(market: str) -> dict[str, Any]:
    """The recorded exchangeInfo body (trimmed) whose top-level keys the simulator reuses."""
    name = (
        "spot_api_v3_exchangeInfo_2023-09-08.TRIMMED.json"
        if market == "spot"
        else "um_fapi_v1_exchangeInfo_2024-10-02.TRIMMED.json"
    )
    return dict(_read_json(name))


def _template(market: str, entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return entries["BTCUSDT"]


def _set_filter(entry: dict[str, Any], ftype: str, key: str, value: str) -> None:
    for flt in entry.get("filters", []):
        if flt.get("filterType") == ftype:
            flt[key] = value


def _build(row: dict[str, Any], entry: dict[str, Any]) -> Symbol:
    market = row["market"]
    if market in BINANCE_SPOT_LIKE:
        price_dec = qty_dec = quote_dec = 8
    else:
        price_dec = int(row.get("price_precision", entry.get("pricePrecision", 2)))
        qty_dec = int(row.get("quantity_precision", entry.get("quantityPrecision", 3)))
        quote_dec = price_dec + qty_dec
    listed = parse_time_ms(row["listed"])
    return Symbol(
        market=market,
        symbol=row["symbol"],
        base=row["base"],
        quote=row["quote"],
        listed_ms=listed,
        delisted_ms=parse_time_ms(row["delisted"]) if row.get("delisted") else None,
        tick_units=_units(row["tick_size"], price_dec),
        step_units=_units(row["step_size"], qty_dec),
        price_dec=price_dec,
        qty_dec=qty_dec,
        quote_dec=quote_dec,
        base_price=float(row["base_price"]),
        anchor_ms=parse_time_ms(row.get("anchor") or row["listed"]),
        volatility=float(row["volatility"]),
        volume_quote_per_minute=float(row["volume_quote_per_minute"]),
        entry=entry,
    )


def _apply_override(
    rows: dict[tuple[str, str], dict[str, Any]],
    entries: dict[str, dict[str, dict[str, Any]]],
    ov: SymbolOverride,
) -> None:
    key = (ov.market, ov.symbol)
    row = dict(rows.get(key) or {})
    if not row:
        base = ov.base or ov.symbol[:-4]
        quote = ov.quote or ov.symbol[len(base) :]
        row = {
            "market": ov.market,
            "symbol": ov.symbol,
            "base": base,
            "quote": quote,
            "listed": "2020-01-01T00:00:00Z",
            "delisted": None,
            "tick_size": "0.01",
            "step_size": "0.001",
            "base_price": 100.0,
            "volatility": 0.0015,
            "volume_quote_per_minute": 20000.0,
        }
        entry: dict[str, Any] = {}
        if ov.market in (*BINANCE_SPOT_LIKE, "futures"):  # OKX and Bybit build their entries
            entry = copy.deepcopy(_template(ov.market, entries[ov.market]))
            entry.update(symbol=ov.symbol, baseAsset=base, quoteAsset=quote)
        if ov.market == "futures":
            entry.update(pair=ov.symbol, contractType="PERPETUAL", marginAsset=quote)
        entries[ov.market][ov.symbol] = entry
    mapping = {
        "base": ov.base,
        "quote": ov.quote,
        "listed": ov.listed,
        "delisted": ov.delisted,
        "tick_size": ov.tick_size,
        "step_size": ov.step_size,
        "base_price": ov.base_price,
        "volatility": ov.volatility,
        "volume_quote_per_minute": ov.volume_quote_per_minute,
    }
    row.update({k: v for k, v in mapping.items() if v is not None})
    if ov.listed is not None and ov.base_price is not None:
        row["anchor"] = ov.listed
    if ov.delisted == "":
        row["delisted"] = None
    rows[key] = row


class SymbolTable:
    """All symbols of both markets for one config."""

    def __init__(self, cfg: SimConfig) -> None:
        raw_rows, spot_entries, fut_entries = _bundled()
        rows = {(r["market"], r["symbol"]): dict(r) for r in raw_rows}
        spot_rows = {r["symbol"]: r for r in raw_rows if r["market"] == "spot"}
        rows.update({(r["market"], r["symbol"]): r for r in venue_rows(spot_rows)})
        entries: dict[str, dict[str, dict[str, Any]]] = {
            "spot": dict(spot_entries),
            "futures": dict(fut_entries),
            COIN_MARKET: coin_entries(fut_entries["BTCUSDT"]),
        }
        # Binance.US serves Binance's spot exchangeInfo entries; OKX and Bybit build their own.
        entries.update({market: {} for market in VENUE_MARKETS})
        entries["binanceus:spot"] = dict(spot_entries)
        for ov in cfg.symbols:
            _apply_override(rows, entries, ov)
        self._symbols: dict[tuple[str, str], Symbol] = {}
        for key, row in rows.items():
            entry = copy.deepcopy(entries[key[0]].get(key[1], {}))
            if row.get("tick_size"):
                _set_filter(entry, "PRICE_FILTER", "tickSize", row["tick_size"])
            if row.get("step_size"):
                _set_filter(entry, "LOT_SIZE", "stepSize", row["step_size"])
            self._symbols[key] = _build(row, entry)

    def get(self, market: str, symbol: str) -> Symbol | None:
        return self._symbols.get((market, symbol))

    def market_symbols(self, market: str) -> list[Symbol]:
        return [s for (m, _), s in self._symbols.items() if m == market]

    def exchange_entry(self, sym: Symbol, now_ms: int) -> dict[str, Any]:
        """The exchangeInfo entry of a symbol with status (and futures dates) as of now_ms."""
        entry = dict(sym.entry)
        if sym.market == COIN_MARKET:
            return coin_entry(entry, sym.status(now_ms), sym.listed_ms, sym.delisted_ms)
        entry["status"] = sym.status(now_ms)
        if sym.market == "futures":
            entry.setdefault("onboardDate", sym.listed_ms)
            # a perpetual's deliveryDate becomes its delisting time once that is announced
            if sym.delisted_ms is not None and now_ms >= sym.delisted_ms - ANNOUNCE_MS:
                entry["deliveryDate"] = sym.delisted_ms
            elif entry.get("contractType") == "PERPETUAL":
                entry["deliveryDate"] = PERPETUAL_DELIVERY_MS
        return entry


def matches(pattern_list: tuple[str, ...], market: str, symbol: str, date: str) -> bool:
    """fnmatch a ``market:SYMBOL:date`` key against config patterns (``*`` allowed anywhere)."""
    key = f"{market}:{symbol}:{date}"
    return any(fnmatch.fnmatchcase(key, p) for p in pattern_list)
