"""Request-weight accounting per (client, market budget) in fixed real-time windows, with bans."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from candlelake.simulator.config import SimConfig

BAN_BASE_S = 120.0  # Binance: bans "from 2 minutes to 3 days"
BAN_MAX_S = 3 * 86400.0


def spot_weight(endpoint: str, limit: int) -> int:
    return {"klines": 2, "exchangeInfo": 20}.get(endpoint, 1)


def futures_weight(endpoint: str, limit: int) -> int:
    # klines, markPriceKlines, indexPriceKlines and premiumIndexKlines share the tiers.
    if endpoint not in ("klines", "markPriceKlines", "indexPriceKlines", "premiumIndexKlines"):
        return 1
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    if limit <= 1000:
        return 5
    return 10


@dataclass
class _Client:
    window: int = -1
    used: int = 0
    violations: int = 0  # 429s answered in the current window
    banned_until: float = 0.0
    ban_level: int = 0


@dataclass(frozen=True)
class Verdict:
    """Outcome of charging a request: status 200 (go on), 429 or 418, plus header values."""

    status: int
    used: int
    retry_after: int = 0
    banned_until_ms: int = 0


class RateLimiter:
    """Fixed windows aligned to real epoch time (never the simulator clock)."""

    def __init__(self, cfg: SimConfig, now: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self._now = now
        self._clients: dict[tuple[str, str], _Client] = {}

    def limit(self, budget: str) -> int:
        return {
            "spot": self.cfg.spot_weight_limit,
            "futures": self.cfg.futures_weight_limit,
            "binanceus": self.cfg.binanceus_weight_limit,
        }.get(budget, self.cfg.delivery_weight_limit)

    def ban_seconds(self, level: int) -> float:
        scale = self.cfg.effective_ban_scale
        return min(BAN_BASE_S * 2.0**level, BAN_MAX_S) * scale

    def charge(
        self,
        client: str,
        budget: str,
        weight: int,
        *,
        limit: int | None = None,
        window_s: float | None = None,
    ) -> Verdict:
        """Count `weight` against `budget` (Binance's limits, or `limit` per `window_s`)."""
        now = self._now()
        win_len = window_s or self.cfg.window_seconds
        window = int(now // win_len)
        st = self._clients.setdefault((client, budget), _Client())
        if st.window != window:
            st.window, st.used, st.violations = window, 0, 0
        if not self.cfg.rate_limits:
            st.used += weight
            return Verdict(200, st.used)
        if now < st.banned_until:
            return Verdict(418, st.used, math.ceil(st.banned_until - now), int(st.banned_until * 1000))
        st.used += weight
        if st.used <= (limit if limit is not None else self.limit(budget)):
            return Verdict(200, st.used)
        st.violations += 1
        if st.violations > self.cfg.ban_after_429s:
            st.banned_until = now + self.ban_seconds(st.ban_level)
            st.ban_level += 1
            st.violations = 0
            return Verdict(418, st.used, math.ceil(st.banned_until - now), int(st.banned_until * 1000))
        window_end = (window + 1) * win_len
        return Verdict(429, st.used, max(1, math.ceil(window_end - now)))

    def used(self, client: str, budget: str) -> int:
        st = self._clients.get((client, budget))
        if st is None or st.window != int(self._now() // self.cfg.window_seconds):
            return 0
        return st.used

    def window_text(self) -> str:
        """How Binance words the window in -1003 messages (``1 MINUTE``, ``6 SECOND``)."""
        w = self.cfg.window_seconds
        if w % 60 == 0:
            return f"{int(w // 60)} MINUTE"
        return f"{w:g} SECOND"

    def reset(self) -> None:
        self._clients.clear()
