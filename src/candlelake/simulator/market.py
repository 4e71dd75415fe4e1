"""Ground-truth candles: a pure function of (seed, market, symbol, minute), vectorised.

Prices follow a fractal value-noise random walk: a sum of ~23 octaves of linearly interpolated
hash-random knots at spacings of 2**k minutes. Any minute can be computed without sequential
state, so any range of any length is cheap and every client sees the same values.
All numbers are integers in the symbol's decimal units (see `Symbol`) so that aggregation and
formatting are exact.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from candlelake.simulator.config import SimConfig, parse_time_ms
from candlelake.simulator.symbols import Symbol, SymbolTable

MINUTE_MS = 60_000
DAY_MINUTES = 1440
OCTAVES = 23
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]

# Real recorded days served instead of synthetic data: (market, symbol, day) -> bundled file.
REAL_DAYS: dict[tuple[str, str, str], str] = {
    ("spot", "BTCUSDT", "2020-01-01"): "real/spot-BTCUSDT-1m-2020-01-01.zip",
    ("spot", "BTCUSDT", "2020-01-02"): "real/spot-BTCUSDT-1m-2020-01-02.zip",
    ("futures", "BTCUSDT", "2022-05-06"): "real/futures-BTCUSDT-1m-2022-05-06.csv",
}

FIELDS = ("open", "high", "low", "close", "volume", "quote", "trades", "taker_base", "taker_quote")


@dataclass
class Frame:
    """Column arrays of candles; `t` is the open time in minutes since the epoch."""

    t: I64
    open: I64
    high: I64
    low: I64
    close: I64
    volume: I64
    quote: I64
    trades: I64
    taker_base: I64
    taker_quote: I64

    def __len__(self) -> int:
        return len(self.t)

    def take(self, idx: npt.NDArray[np.bool_] | I64) -> Frame:
        return Frame(self.t[idx], *(getattr(self, f)[idx] for f in FIELDS))

    @staticmethod
    def concat(frames: list[Frame]) -> Frame:
        if not frames:
            return empty_frame()
        return Frame(
            np.concatenate([f.t for f in frames]),
            *(np.concatenate([getattr(f, name) for f in frames]) for name in FIELDS),
        )


def empty_frame() -> Frame:
    z = np.zeros(0, dtype=np.int64)
    return Frame(z, z, z, z, z, z, z, z, z, z)


# --- hashing ---------------------------------------------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: U64) -> U64:
    """splitmix64 finaliser, element-wise (uint64 arithmetic wraps, which is intended)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _key(*parts: int | str) -> np.uint64:
    """A 64-bit stream key from ints/strings (FNV-1a over the text, then mixed)."""
    h = 0xCBF29CE484222325
    for byte in "\x1f".join(str(p) for p in parts).encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return _mix(np.array([h], dtype=np.uint64))[0]


def _uniform(key: np.uint64, idx: I64) -> F64:
    """Uniform [0, 1) per index for a stream key."""
    with np.errstate(over="ignore"):
        h = _mix(idx.astype(np.uint64) * _GOLD + key)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _logistic(u: F64) -> F64:
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return np.log(u / (1.0 - u))


# --- the random walk -------------------------------------------------------------------------


def _level(seed: int, sym: Symbol, minutes: I64) -> F64:
    """Log-price level at minute boundaries (any int64 minutes, vectorised, pure)."""
    total = np.zeros(len(minutes), dtype=np.float64)
    amp0 = sym.volatility / 2.0
    lo, hi = int(minutes.min()), int(minutes.max())
    for k in range(OCTAVES):
        key = _key(seed, sym.market, sym.symbol, "oct", k)
        first, last = lo >> k, (hi >> k) + 1
        # knots are hashed once per distinct index; sqrt(3) gives them unit variance
        knots = (_uniform(key, np.arange(first, last + 1, dtype=np.int64)) * 2.0 - 1.0) * 1.7320508
        idx = (minutes >> k) - first
        frac = (minutes & ((1 << k) - 1)).astype(np.float64) / float(1 << k)
        total += (amp0 * 2.0 ** (k / 2.0)) * (knots[idx] * (1.0 - frac) + knots[idx + 1] * frac)
    return total


@cache
def _anchor_level(seed: int, sym: Symbol) -> float:
    return float(_level(seed, sym, np.array([sym.anchor_ms // MINUTE_MS], dtype=np.int64))[0])


def _price_units(seed: int, sym: Symbol, minutes: I64) -> I64:
    """Price at minute boundaries, rounded to the tick, at least one tick."""
    lvl = _level(seed, sym, minutes) - _anchor_level(seed, sym)
    price = sym.base_price * np.exp(lvl) * 10.0**sym.price_dec
    ticks = np.maximum(np.rint(price / sym.tick_units), 1.0)
    return ticks.astype(np.int64) * sym.tick_units


def synthetic(seed: int, sym: Symbol, m0: int, m1: int) -> Frame:
    """Synthetic 1m candles for minutes [m0, m1), all present (masking happens later)."""
    t = np.arange(m0, m1, dtype=np.int64)
    if len(t) == 0:
        return empty_frame()
    edge = _price_units(seed, sym, np.arange(m0, m1 + 1, dtype=np.int64))
    o, c = edge[:-1], edge[1:]
    tick = sym.tick_units
    u = {
        name: _uniform(_key(seed, sym.market, sym.symbol, name), t)
        for name in ("hi", "lo", "vol", "vwap", "taker", "tsize", "tquote")
    }
    hi_ex = np.exp(sym.volatility * 0.6 * -np.log1p(-u["hi"]))
    lo_ex = np.exp(-sym.volatility * 0.6 * -np.log1p(-u["lo"]))
    high = np.maximum(np.ceil(np.maximum(o, c) * hi_ex / tick).astype(np.int64) * tick, np.maximum(o, c))
    low = np.minimum(np.floor(np.minimum(o, c) * lo_ex / tick).astype(np.int64) * tick, np.minimum(o, c))
    low = np.maximum(low, np.minimum(tick, np.minimum(o, c)))

    pscale = 10.0**sym.price_dec
    qscale = 10.0**sym.qty_dec
    mid = (o + c) / (2.0 * pscale)
    move = np.abs(c - o) / np.maximum(o, 1) / sym.volatility
    vquote = sym.volume_quote_per_minute * np.exp(0.35 * _logistic(u["vol"])) * (0.4 + 0.6 * move)
    step = sym.step_units
    volume = np.maximum(np.floor(vquote / mid * qscale / step), 1.0).astype(np.int64) * step
    vwap = (low + (high - low) * (0.25 + 0.5 * u["vwap"])) / pscale
    qd = 10.0**sym.quote_dec
    quote = np.rint(volume / qscale * vwap * qd).astype(np.int64)
    taker_base = (np.floor(volume * (0.2 + 0.6 * u["taker"]) / step)).astype(np.int64) * step
    tvwap = (low + (high - low) * (0.25 + 0.5 * u["tquote"])) / pscale
    taker_quote = np.minimum(np.rint(taker_base / qscale * tvwap * qd).astype(np.int64), quote)
    avg_trade = 700.0 * np.exp(0.3 * _logistic(u["tsize"]))
    trades = np.maximum(np.rint(volume / qscale * mid / avg_trade), 1.0).astype(np.int64)
    return Frame(t, o, high, low, c, volume, quote, trades, taker_base, taker_quote)


# --- real days -------------------------------------------------------------------------------


def _to_units(text: str, dec: int) -> int:
    whole, _, frac = text.partition(".")
    if len(frac) > dec:
        raise ValueError(f"{text!r} has more than {dec} decimals")
    return int(whole + frac.ljust(dec, "0"))


@cache
def real_day(market: str, symbol: str, day: str, price_dec: int, qty_dec: int, quote_dec: int) -> Frame:
    """A recorded day as a Frame in the given unit system (the bundled file's exact values)."""
    ref = resources.files("candlelake.simulator.data").joinpath(REAL_DAYS[(market, symbol, day)])
    raw = ref.read_bytes()
    if ref.name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            raw = zf.read(zf.namelist()[0])
    rows = [r for r in csv.reader(io.StringIO(raw.decode())) if r and r[0][:1].isdigit()]
    cols: dict[str, list[int]] = {name: [] for name in ("t", *FIELDS)}
    for r in rows:
        ms = int(r[0])
        cols["t"].append((ms // 1000 if ms >= 10**15 else ms) // MINUTE_MS)
        for name, idx, dec in (
            ("open", 1, price_dec),
            ("high", 2, price_dec),
            ("low", 3, price_dec),
            ("close", 4, price_dec),
            ("volume", 5, qty_dec),
            ("quote", 7, quote_dec),
            ("taker_base", 9, qty_dec),
            ("taker_quote", 10, quote_dec),
        ):
            cols[name].append(_to_units(r[idx], dec))
        cols["trades"].append(int(r[8]))
    arrays = {k: np.array(v, dtype=np.int64) for k, v in cols.items()}
    return Frame(arrays["t"], *(arrays[f] for f in FIELDS))


def day_str(minute: int) -> str:
    return str(np.datetime64(minute * MINUTE_MS, "ms").astype("datetime64[D]"))


# --- per-config market -------------------------------------------------------------------------


class Market:
    """Ground truth for one config: symbols + candles (no clock, no caches of responses)."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.symbols = SymbolTable(cfg)
        self._maint = [
            (parse_time_ms(m.start), parse_time_ms(m.end), m.market, m.symbol) for m in cfg.maintenance
        ]
        self._real = {k: parse_time_ms(k[2]) // MINUTE_MS for k in REAL_DAYS if cfg.replay_real_days}

    def present_mask(self, sym: Symbol, t: I64) -> npt.NDArray[np.bool_]:
        """Minutes with a candle: listed, not delisted, outside maintenance windows."""
        ms = t * MINUTE_MS
        mask = ms >= sym.listed_ms
        if sym.delisted_ms is not None:
            mask &= ms < sym.delisted_ms
        for start, end, market, symbol in self._maint:
            if market in ("*", sym.market) and symbol in ("*", sym.symbol):
                mask &= ~((ms >= start) & (ms < end))
        return mask

    def minutes(self, sym: Symbol, m0: int, m1: int) -> Frame:
        """Closed-or-not 1m candles for minutes [m0, m1) that exist (masked, real days spliced)."""
        m0 = max(m0, sym.listed_ms // MINUTE_MS)
        if sym.delisted_ms is not None:
            m1 = min(m1, -(-sym.delisted_ms // MINUTE_MS))
        if m1 <= m0:
            return empty_frame()
        frame = synthetic(self.cfg.seed, sym, m0, m1)
        for (market, symbol, day), start in self._real.items():
            if market == sym.market and symbol == sym.symbol and start < m1 and start + DAY_MINUTES > m0:
                real = real_day(market, symbol, day, sym.price_dec, sym.qty_dec, sym.quote_dec)
                real = real.take((real.t >= m0) & (real.t < m1))
                keep = (frame.t < start) | (frame.t >= start + DAY_MINUTES)
                merged = Frame.concat([frame.take(keep), real])
                frame = merged.take(np.argsort(merged.t, kind="stable"))
        return frame.take(self.present_mask(sym, frame.t))

    def forming(self, sym: Symbol, minute: int, fraction: float) -> Frame:
        """The still-forming candle of `minute`, `fraction` of the way through it."""
        full = self.minutes(sym, minute, minute + 1)
        if len(full) == 0:
            return full
        f = min(max(fraction, 0.0), 1.0)
        tick, step = sym.tick_units, sym.step_units
        o = full.open
        close = o + (np.rint((full.close - o) * f / tick).astype(np.int64) * tick)
        high = np.maximum(
            np.maximum(o, close), o + np.floor((full.high - o) * f / tick).astype(np.int64) * tick
        )
        low = np.minimum(
            np.minimum(o, close), o - np.floor((o - full.low) * f / tick).astype(np.int64) * tick
        )
        volume = np.floor(full.volume * f / step).astype(np.int64) * step
        vwap = (o + close) / 2.0 / 10.0**sym.price_dec
        scale = 10.0 ** (sym.quote_dec - sym.qty_dec)
        quote = np.rint(volume * vwap * scale).astype(np.int64)
        taker_base = np.floor(full.taker_base * f / step).astype(np.int64) * step
        taker_base = np.minimum(taker_base, volume)
        taker_quote = np.minimum(np.rint(taker_base * vwap * scale).astype(np.int64), quote)
        trades = np.floor(full.trades * f).astype(np.int64)
        return Frame(full.t, o, high, low, close, volume, quote, trades, taker_base, taker_quote)


def aggregate(frame: Frame, edges: I64) -> tuple[Frame, I64]:
    """Aggregate 1m candles into buckets [edges[i], edges[i+1]); returns (frame, bucket ends).

    The output `t` is the bucket start (Binance opens a bucket at its boundary even when the
    first minutes are missing); empty buckets produce no candle.
    """
    if len(frame) == 0:
        return empty_frame(), np.zeros(0, dtype=np.int64)
    bucket = np.searchsorted(edges, frame.t, side="right") - 1
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends_idx = np.r_[starts[1:], len(frame)] - 1
    b = bucket[starts]
    out = Frame(
        edges[b],
        frame.open[starts],
        np.maximum.reduceat(frame.high, starts),
        np.minimum.reduceat(frame.low, starts),
        frame.close[ends_idx],
        np.add.reduceat(frame.volume, starts),
        np.add.reduceat(frame.quote, starts),
        np.add.reduceat(frame.trades, starts),
        np.add.reduceat(frame.taker_base, starts),
        np.add.reduceat(frame.taker_quote, starts),
    )
    return out, edges[b + 1]
