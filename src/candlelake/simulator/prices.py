"""Mark, index and premium-index klines: deterministic functions of the trade candles.

Binance publishes, for futures, three klines-shaped series beside the trade candles
(binance.md §2.5): the mark price, the index price (by `pair`) and the premium index. Each
is derived here from the same 1m trade frame, so one truth family serves REST, the archive
and `truth.klines(..., kind=...)`:

* mark  = trade price + (h(t, 1) - 4) ticks, index = trade price + (h(t, 2) - 4) ticks, where
  h is a small integer hash of the minute; high and low keep their order;
* premium = mark / index - 1 of the open and close, in units of 1e-8 (8 decimals, may be
  negative), high and low a few units outside them.

Volume, quote volume and taker fields are "0"; the trade count field carries the number of
basic data points (60 for mark and index, 12 for the premium index), as Binance does.

COIN-M trade candles count volume in contracts (a fixed USD value each) and publish the
base-asset volume in field 7 and the taker buy base-asset volume in field 10 (binance.md §4.2):
`coin_m_volumes` derives both, in 8 decimals, from the minute's contracts and average price.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from candlelake.simulator.coinm import COIN_MARKET, CONTRACT_SIZE_USD
from candlelake.simulator.market import Frame
from candlelake.simulator.symbols import Symbol

TRADE_KLINES = "klines"
INDEX = "indexPriceKlines"
PRICE_KINDS = ("markPriceKlines", INDEX, "premiumIndexKlines")
KINDS = (TRADE_KLINES, *PRICE_KINDS)
PREMIUM_DECIMALS = 8
_BASIC_DATA = {"markPriceKlines": 60, "indexPriceKlines": 60, "premiumIndexKlines": 12}
BASE_VOLUME_DECIMALS = 8  # COIN-M's base-asset volumes (fields 7 and 10)


def _wobble(t: np.ndarray, salt: int) -> np.ndarray:
    """A small integer in [0, 8] per minute, a pure function of the minute and the salt."""
    return ((t * 7919 + salt * 104729) // 7) % 9


def _shift(frame: Frame, ticks: np.ndarray, tick: int) -> Frame:
    off = ticks * tick
    zero = np.zeros(len(frame), dtype=np.int64)
    count = np.full(len(frame), 60, dtype=np.int64)
    return Frame(
        frame.t, frame.open + off, frame.high + off, frame.low + off, frame.close + off,
        zero, zero, count, zero, zero,
    )  # fmt: skip


def format_symbol(kind: str, sym: Symbol) -> Symbol:
    """The symbol whose decimals format `kind`'s prices (the premium index has 8) and volumes
    (COIN-M base-asset volumes have 8)."""
    if kind == TRADE_KLINES and sym.market == COIN_MARKET:
        return dataclasses.replace(sym, quote_dec=BASE_VOLUME_DECIMALS)
    return dataclasses.replace(sym, price_dec=PREMIUM_DECIMALS) if kind == "premiumIndexKlines" else sym


def coin_m_volumes(sym: Symbol, frame: Frame) -> Frame:
    """COIN-M fields 7 and 10: contracts x contract size / the minute's average price, in BTC/ETH.

    The trade frame's `volume` already counts whole contracts (step 1, no decimals) and `quote`
    is their price-weighted sum, so the average price is `quote / volume` in price units.
    """
    scale = CONTRACT_SIZE_USD[sym.base] * 10 ** (BASE_VOLUME_DECIMALS + sym.price_dec)
    price = np.maximum(frame.quote // np.maximum(frame.volume, 1), 1)
    base = frame.volume * scale // price
    taker = frame.taker_base * scale // price
    return dataclasses.replace(frame, quote=base, taker_quote=taker)


def derive(kind: str, sym: Symbol, frame: Frame) -> tuple[Symbol, Frame]:
    """The `kind` candles of the 1m trade `frame`, and the symbol whose decimals format them."""
    if kind == TRADE_KLINES:
        if sym.market == COIN_MARKET:
            return format_symbol(kind, sym), coin_m_volumes(sym, frame)
        return sym, frame
    if kind not in PRICE_KINDS:
        raise ValueError(f"unknown kline kind {kind!r}")
    mark = _shift(frame, _wobble(frame.t, 1) - 4, sym.tick_units)
    if kind == "markPriceKlines":
        return sym, mark
    index = _shift(frame, _wobble(frame.t, 2) - 4, sym.tick_units)
    if kind == "indexPriceKlines":
        return sym, index
    scale = 10**PREMIUM_DECIMALS
    o = (mark.open - index.open) * scale // index.open
    c = (mark.close - index.close) * scale // index.close
    high = np.maximum(o, c) + _wobble(frame.t, 3)
    low = np.minimum(o, c) - _wobble(frame.t, 4)
    zero = np.zeros(len(frame), dtype=np.int64)
    count = np.full(len(frame), _BASIC_DATA[kind], dtype=np.int64)
    premium = Frame(frame.t, o, high, low, c, zero, zero, count, zero, zero)
    return format_symbol(kind, sym), premium
