"""Request statistics per endpoint and per client, for GET /_sim/stats."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any


def _bucket() -> dict[str, int]:
    return defaultdict(int)


class Stats:
    """Counters: requests, weight, and responses by status, per endpoint and per client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[str, dict[str, int]] = defaultdict(_bucket)
        self._clients: dict[str, dict[str, int]] = defaultdict(_bucket)
        self._first_arrival: float | None = None

    def arrived(self) -> None:
        """Note the wall time of the first API request since the last reset (start-up bench)."""
        if self._first_arrival is None:
            with self._lock:
                if self._first_arrival is None:
                    self._first_arrival = time.time()

    def record(self, endpoint: str, client: str, weight: int, status: int) -> None:
        with self._lock:
            for target in (self._endpoints[endpoint], self._clients[client]):
                target["requests"] += 1
                target["weight"] += weight
                target[str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            endpoints = {k: dict(v) for k, v in self._endpoints.items()}
            clients = {k: dict(v) for k, v in self._clients.items()}
        total: dict[str, int] = defaultdict(int)
        for counts in endpoints.values():
            for key, value in counts.items():
                total[key] += value
        return {
            "total": dict(total),
            "endpoints": endpoints,
            "clients": clients,
            "first_request_at": self._first_arrival,
        }

    def reset(self) -> None:
        with self._lock:
            self._endpoints.clear()
            self._clients.clear()
            self._first_arrival = None
