"""Deterministic latency and fault decisions.

Each decision is a hash of (seed, request identity, attempt number of that identical request),
so a run is reproducible under any concurrency and retries of a failed request eventually
succeed (from attempt `fault_max_attempts` on, no fault is injected).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from candlelake.simulator.config import SimConfig

# Binance's documented/recorded 5xx bodies (USD-M 503s carry no code).
SERVICE_UNAVAILABLE = "Service Unavailable."
UNKNOWN_503 = "Unknown error, please check your request or try again later."
INTERNAL_500 = {"code": -1000, "msg": "An unknown error occurred while processing the request."}


@dataclass(frozen=True)
class Fault:
    kind: str  # error | hang | reset | truncate
    status: int = 0


def _unit(seed: int, identity: str, attempt: int, salt: str) -> float:
    digest = hashlib.blake2b(f"{seed}|{salt}|{attempt}|{identity}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


class FaultPlan:
    """Decides delays and faults; counts attempts per identical request."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()

    def next_attempt(self, identity: str) -> int:
        with self._lock:
            n = self._attempts.get(identity, 0)
            self._attempts[identity] = n + 1
            return n

    def delay_seconds(self, identity: str, attempt: int) -> float:
        jitter = self.cfg.jitter_ms * _unit(self.cfg.seed, identity, attempt, "jitter")
        return max(0.0, self.cfg.latency_ms + jitter) / 1000.0

    def decide(self, target: str, identity: str, attempt: int) -> Fault | None:
        cfg = self.cfg
        if target not in cfg.fault_targets or attempt >= cfg.fault_max_attempts:
            return None
        u = _unit(cfg.seed, identity, attempt, "fault")
        edge = cfg.error_rate
        if u < edge:
            statuses = cfg.error_statuses or (503,)
            pick = _unit(cfg.seed, identity, attempt, "status")
            return Fault("error", statuses[int(pick * len(statuses)) % len(statuses)])
        for kind, rate in (
            ("hang", cfg.hang_rate),
            ("reset", cfg.reset_rate),
            ("truncate", cfg.truncate_rate),
        ):
            edge += rate
            if u < edge:
                return Fault(kind)
        return None

    def fixed_failure(self, market: str, symbol: str, identity: str, attempt: int) -> Fault | None:
        """`fail_symbols`: klines of these (market, symbol) always answer 500 or 503."""
        if f"{market}:{symbol}" not in self.cfg.fail_symbols:
            return None
        pick = _unit(self.cfg.seed, identity, attempt, "fail")
        return Fault("error", 500 if pick < 0.5 else 503)

    def reset(self) -> None:
        with self._lock:
            self._attempts.clear()


def error_body(status: int, path: str) -> dict[str, object]:
    """The JSON body of an injected 5xx, as Binance sends it."""
    if status == 503:
        msg = UNKNOWN_503 if path.startswith("/fapi") else SERVICE_UNAVAILABLE
        return {"timestamp": int(time.time() * 1000), "path": path, "msg": msg}
    if status == 502:
        return {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}
    return dict(INTERNAL_500)
