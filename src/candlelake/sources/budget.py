"""A request-weight budget shared by every concurrent request to one exchange market.

Binance counts weight per IP in fixed windows aligned to the clock (one minute by
default) and reports the running total in `X-MBX-USED-WEIGHT-*` headers. We keep
our own count of what we sent, take the larger of it and what the server says
(another process on the same IP may be spending too), and wait for the next window
before a request would cross the limit. ccxt's throttle is a static token bucket
that ignores these headers, so it is switched off and this class paces instead.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from candlelake.errors import IpBanned, TerminalError
from candlelake.plan.pages import RateLimit

__all__ = ["RateLimit", "WeightBudget"]


class WeightBudget:
    def __init__(
        self,
        rate: RateLimit,
        *,
        headroom: float = 0.98,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rate = rate
        # A little headroom absorbs requests that we count in one window and the
        # server counts in the next, because they crossed the boundary in flight.
        self._usable = max(1, math.floor(rate.limit * headroom))
        self._clock = clock
        self._window = -1
        self._used = 0
        self._in_flight = 0
        self._paused_until = 0.0
        self._banned: IpBanned | None = None
        self.total_weight = 0

    def now(self) -> float:
        return self._clock()

    def _window_of(self, at: float) -> int:
        return math.floor(at / self.rate.window_s)

    def _roll(self, now: float) -> None:
        window = self._window_of(now)
        if window != self._window:
            self._window = window
            # Requests still in flight will most likely be counted in the new window.
            self._used = self._in_flight

    async def acquire(self, weight: int) -> float:
        """Wait until `weight` fits in the current window, then reserve it.

        Returns the send time, to be passed back to `observe` and `release`.
        """
        if weight > self._usable:
            raise TerminalError(
                f"a request of weight {weight} can never fit the budget of {self.rate.limit} "
                f"per {self.rate.window_s:g} s"
            )
        while True:
            if self._banned is not None:
                raise self._banned
            now = self._clock()
            self._roll(now)
            if self._paused_until > now:
                await asyncio.sleep(self._paused_until - now)
                continue
            if self._used + weight <= self._usable:
                self._used += weight
                self._in_flight += weight
                self.total_weight += weight
                return now
            next_window = (self._window + 1) * self.rate.window_s
            await asyncio.sleep(max(next_window - now, 0.001) + 0.005)

    def release(self, weight: int) -> None:
        self._in_flight = max(0, self._in_flight - weight)

    def observe(self, used_weight: int, sent_at: float) -> None:
        """Take the server's count into account if it is about the window we are in."""
        now = self._clock()
        self._roll(now)
        if self._window_of(sent_at) == self._window:
            self._used = max(self._used, used_weight)

    def pause(self, seconds: float) -> None:
        """A 429 arrived: nobody sends until Retry-After has passed."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def ban(self, error: IpBanned) -> None:
        """A 418 arrived: every later acquire raises, so all workers stop."""
        self._banned = error

    @property
    def used(self) -> int:
        self._roll(self._clock())
        return self._used
