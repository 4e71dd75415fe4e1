"""Simulator throughput: klines requests/s at 1000 candles each, archive zips/s, and memory.

The simulator runs as a subprocess (`python -m candlelake.simulator serve`), the client is this
process (aiohttp, N concurrent requests), so both get a core of their own on a 2-core machine.

    uv run python bench/simulator_throughput.py [--seconds 10] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import threading
import time

import aiohttp
import psutil

from candlelake.simulator import SimConfig, Simulator

DAY_MS = 86_400_000
START = 1_672_531_200_000  # 2023-01-01
SYMBOLS = [
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT", "LINKUSDT", "DOTUSDT",
    "AVAXUSDT", "NEARUSDT", "SANDUSDT", "APEUSDT", "GMTUSDT", "DYDXUSDT", "CRVUSDT", "AXSUSDT",
    "OGNUSDT", "RUNEUSDT", "BAKEUSDT", "STORJUSDT", "UNFIUSDT", "FTMUSDT", "WAVESUSDT",
    "MATICUSDT", "CTKUSDT",
]  # fmt: skip


class PeakRss:
    """Polls a process's RSS in a thread and keeps the maximum."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


async def klines_load(
    url: str, seconds: float, concurrency: int, symbols: int, days: int, market: str
) -> tuple[int, int, list[float]]:
    path = "/api/v3/klines" if market == "spot" else "/fapi/v1/klines"
    rng = random.Random(1)
    latencies: list[float] = []
    candles = 0
    deadline = time.perf_counter() + seconds
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def worker() -> None:
            nonlocal candles
            while time.perf_counter() < deadline:
                sym = SYMBOLS[rng.randrange(symbols)]
                start = START + rng.randrange(days) * DAY_MS + rng.randrange(1440) * 60_000
                t0 = time.perf_counter()
                params = {"symbol": sym, "interval": "1m", "startTime": str(start), "limit": "1000"}
                async with session.get(url + path, params=params) as resp:
                    body = await resp.read()
                    assert resp.status == 200, (resp.status, body[:200])
                latencies.append(time.perf_counter() - t0)
                candles += body.count(b"],[") + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), candles, latencies


async def warm(url: str, symbols: int, days: int, market: str) -> None:
    path = "/api/v3/klines" if market == "spot" else "/fapi/v1/klines"
    async with aiohttp.ClientSession() as session:
        for sym in SYMBOLS[:symbols]:
            for day in range(days + 1):
                params = {"symbol": sym, "interval": "1m", "startTime": str(START + day * DAY_MS)}
                params["limit"] = "1000"
                async with session.get(url + path, params=params) as resp:
                    await resp.read()


async def archive_load(url: str, symbols: int, months: int, concurrency: int) -> tuple[int, int, float]:
    keys = [
        f"/data/futures/um/monthly/klines/{s}/1m/{s}-1m-2023-{m:02d}.zip"
        for s in SYMBOLS[:symbols]
        for m in range(1, months + 1)
    ]
    queue = list(keys)
    nbytes = 0
    t0 = time.perf_counter()
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            nonlocal nbytes
            while queue:
                key = queue.pop()
                async with session.get(url + key) as resp:
                    body = await resp.read()
                    assert resp.status == 200, key
                    nbytes += len(body)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(keys), nbytes, time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 2 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--symbols", type=int, default=10)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--archive-symbols", type=int, default=25)
    ap.add_argument("--archive-months", type=int, default=12)
    args = ap.parse_args()

    cfg = SimConfig(
        seed=1,
        clock="frozen:2024-06-01T00:00:00Z",
        rate_limits=False,
        rest_cache_mb=256,
        archive_cache_mb=1024,
    )
    rows = []
    with Simulator.subprocess(cfg) as sim:
        rss = PeakRss(sim.pid)
        idle_rss = psutil.Process(sim.pid).memory_info().rss
        for market in ("spot", "futures"):
            asyncio.run(warm(sim.url, args.symbols, args.days, market))
            n, candles, lat = asyncio.run(
                klines_load(sim.url, args.seconds, args.concurrency, args.symbols, args.days, market)
            )
            rows.append((market, n / args.seconds, candles / args.seconds, pct(lat, 50), pct(lat, 99)))
        arch = []
        for label in ("cold", "cached"):
            files, nbytes, secs = asyncio.run(
                archive_load(sim.url, args.archive_symbols, args.archive_months, 4)
            )
            month_days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][: args.archive_months]
            total_rows = sum(month_days) * 1440 * args.archive_symbols
            arch.append((label, files, files / secs, total_rows / secs, nbytes / secs / 1e6))
        peak = rss.stop()
        stats = sim.stats()["cache"]

    print(f"klines, 1000 candles per request, concurrency {args.concurrency}, {args.seconds:g} s each")
    print(f"{'market':8} {'req/s':>8} {'candles/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
    for market, rps, cps, p50, p99 in rows:
        print(f"{market:8} {rps:8.0f} {cps:11.0f} {p50:8.1f} {p99:8.1f}")
    print()
    print(f"archive: {args.archive_symbols} symbols x {args.archive_months} monthly 1m zips (USD-M)")
    print(f"{'pass':8} {'files':>6} {'files/s':>8} {'rows/s':>11} {'MB/s':>7}")
    for label, files, fps, rps, mbps in arch:
        print(f"{label:8} {files:6d} {fps:8.1f} {rps:11.0f} {mbps:7.1f}")
    print()
    print(f"simulator RSS: idle {idle_rss / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB")
    print(f"caches: {stats}")


if __name__ == "__main__":
    main()
