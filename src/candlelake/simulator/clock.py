"""The simulator clock: real, frozen at an instant, or offset from real time."""

from __future__ import annotations

import time

from candlelake.simulator.config import parse_time_ms


class Clock:
    """`now_ms()` for candle/archive logic; rate-limit windows always use real time instead."""

    def __init__(self, spec: str) -> None:
        kind, _, arg = spec.partition(":")
        self._frozen: int | None = parse_time_ms(arg) if kind == "frozen" else None
        self._offset_ms = float(arg) * 1000.0 if kind == "offset" else 0.0

    def now_ms(self) -> int:
        if self._frozen is not None:
            return self._frozen
        return int(time.time() * 1000.0 + self._offset_ms)
