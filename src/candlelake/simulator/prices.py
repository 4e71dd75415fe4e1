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
"""

from __future__ import annotations

import dataclasses

import numpy as np

from candlelake.simulator.market import Frame
from candlelake.simulator.symbols import Symbol

TRADE_KLINES = "klines"
PRICE_KINDS = ("markPriceKlines", "indexPriceKlines", "premiumIndexKlines")
KINDS = (TRADE_KLINES, *PRICE_KINDS)
PREMIUM_DECIMALS = 8
_BASIC_DATA = {"markPriceKlines": 60, "indexPriceKlines": 60, "premiumIndexKlines": 12}


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
    """The symbol whose decimals format `kind`'s prices (the premium index has 8)."""
    return dataclasses.replace(sym, price_dec=PREMIUM_DECIMALS) if kind == "premiumIndexKlines" else sym


def derive(kind: str, sym: Symbol, frame: Frame) -> tuple[Symbol, Frame]:
    """The `kind` candles of the 1m trade `frame`, and the symbol whose decimals format them."""
    if kind == TRADE_KLINES:
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
