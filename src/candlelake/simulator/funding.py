"""Funding settlements of the USD-M and COIN-M perpetuals: a pure, deterministic truth function.

Every 8 h on the UTC grid (00:00, 08:00, 16:00) until `funding_4h_from`, every 4 h from
then, from the symbol's listing to its delisting. Each settlement is published a few ms
after its nominal time (0-5 ms, as in the real archive's `1775088000003`) with a rate of
8 decimals in [-0.0001, 0.0001]; `missing_funding` patterns drop settlements. REST
`/fapi/v1/fundingRate` (`/dapi/v1/fundingRate`) and the monthly archive file serve the same
rows. A COIN-M delivery contract has none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from candlelake.simulator.coinm import settles_funding
from candlelake.simulator.config import SimConfig
from candlelake.simulator.symbols import Symbol, matches

HOUR_MS = 3_600_000
CSV_HEADER = b"calc_time,funding_interval_hours,last_funding_rate\n"


@dataclass(frozen=True)
class Funding:
    time_ms: int  # as published: nominal time + jitter
    rate: str  # 8 decimals, e.g. "-0.00003449"
    interval_hours: int  # the interval of the period this settlement closes


def _iso_ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _hash(n: int, salt: int) -> int:
    x = (n * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    return (x * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF


def _rate(units: int) -> str:
    sign = "-" if units < 0 else ""
    units = abs(units)
    return f"{sign}{units // 100_000_000}.{units % 100_000_000:08d}"


def settlements(cfg: SimConfig, sym: Symbol, start_ms: int, end_ms: int) -> list[Funding]:
    """Published settlements with nominal time in [start_ms, end_ms], oldest first."""
    if not settles_funding(sym.market, sym.symbol):
        return []
    switch = _iso_ms(cfg.funding_4h_from)
    lo = max(start_ms, sym.listed_ms)
    hi = end_ms if sym.delisted_ms is None else min(end_ms, sym.delisted_ms - 1)
    out: list[Funding] = []
    hours = 8 if lo < switch else 4
    t = -(-lo // (hours * HOUR_MS)) * hours * HOUR_MS
    while t <= hi:
        hours = 8 if t <= switch else 4  # the settlement at the switch closes an 8 h period
        stamp = dt.datetime.fromtimestamp(t / 1000, dt.UTC).strftime("%Y-%m-%dT%H")
        if not matches(cfg.missing_funding, sym.market, sym.symbol, stamp):
            h = _hash(t // HOUR_MS, cfg.seed + len(sym.symbol))
            jitter = max(0, int(h % 11) - 5)
            out.append(Funding(t + jitter, _rate(int((h >> 8) % 20_001) - 10_000), hours))
        t += (8 if t < switch else 4) * HOUR_MS
    return out


def rest_rows(items: list[Funding], symbol: str) -> list[dict[str, object]]:
    return [{"symbol": symbol, "fundingTime": f.time_ms, "fundingRate": f.rate} for f in items]


def csv_bytes(items: list[Funding]) -> bytes:
    lines = [f"{f.time_ms},{f.interval_hours},{f.rate}\n".encode() for f in items]
    return CSV_HEADER + b"".join(lines)
