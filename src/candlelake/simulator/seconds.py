"""1s candles (spot only), derived from the 1m truth so that the 60 seconds of a minute add up to it.

Prices walk in a straight line from the minute's open to its close; the minute's high and low
are reached in two fixed seconds of it. Volume, quote volume and trades are split evenly
(cumulative floors, so the parts sum exactly); the taker volumes are split in proportion and
topped up where a second has room, so that every second keeps taker <= volume. Seconds of a
missing minute (maintenance, before listing) are missing too.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from candlelake.simulator.market import MINUTE_MS, Frame, Market
from candlelake.simulator.symbols import Symbol

I64 = npt.NDArray[np.int64]
SECOND_MS = 1000
PER_MINUTE = 60


def _split(total: I64) -> I64:
    """(n, 60) integer parts of each total, as even as possible, summing exactly."""
    k = np.arange(PER_MINUTE + 1, dtype=np.int64)
    cumulative = total[:, None] * k[None, :] // PER_MINUTE
    return np.diff(cumulative, axis=1)


def _taker(total: I64, parts: I64, taker: I64) -> I64:
    """Split `taker` (<= total) over seconds without exceeding `parts` in any second."""
    safe = np.maximum(total, 1)[:, None]
    share = parts * taker[:, None] // safe
    left = taker - share.sum(axis=1)
    for k in range(PER_MINUTE):  # at most 60 vector steps; capacity always suffices
        add = np.minimum(parts[:, k] - share[:, k], left)
        share[:, k] += add
        left -= add
    return share


def split_minutes(minutes: Frame) -> tuple[Frame, I64]:
    """The 1s candles of `minutes`: (frame, open times in ms). `frame.t` keeps each minute."""
    n = len(minutes)
    k = np.arange(PER_MINUTE, dtype=np.int64)
    o, c = minutes.open[:, None], minutes.close[:, None]
    closes = o + (c - o) * (k[None, :] + 1) // PER_MINUTE  # ends exactly on the minute's close
    opens = np.concatenate([o, closes[:, :-1]], axis=1)
    high = np.maximum(opens, closes)
    low = np.minimum(opens, closes)
    rows = np.arange(n)
    high_at = (minutes.t * 7) % PER_MINUTE
    low_at = (high_at + 30) % PER_MINUTE
    high[rows, high_at] = minutes.high
    low[rows, low_at] = minutes.low
    volume = _split(minutes.volume)
    quote = _split(minutes.quote)
    frame = Frame(
        np.repeat(minutes.t, PER_MINUTE),
        opens.ravel(),
        high.ravel(),
        low.ravel(),
        closes.ravel(),
        volume.ravel(),
        quote.ravel(),
        _split(minutes.trades).ravel(),
        _taker(minutes.volume, volume, minutes.taker_base).ravel(),
        _taker(minutes.quote, quote, minutes.taker_quote).ravel(),
    )
    open_ms = (minutes.t[:, None] * MINUTE_MS + k[None, :] * SECOND_MS).ravel()
    return frame, open_ms


def closed_seconds(market: Market, sym: Symbol, lo_ms: int, hi_ms: int, now_ms: int) -> tuple[Frame, I64]:
    """Closed 1s candles with lo_ms <= open <= hi_ms (a second is closed once it has ended)."""
    hi_ms = min(hi_ms, now_ms - SECOND_MS)
    if hi_ms < lo_ms:
        return split_minutes(market.minutes(sym, 0, 0))
    frame, open_ms = split_minutes(market.minutes(sym, lo_ms // MINUTE_MS, hi_ms // MINUTE_MS + 1))
    keep = (open_ms >= lo_ms) & (open_ms <= hi_ms)
    return frame.take(keep), open_ms[keep]
