"""Benchmark: REST download throughput against the weight budget, and memory over a long range.

Runs the simulator in a subprocess (so it does not share our CPU time accounting), with
50 ms latency and Binance's USD-M weight ratio scaled in time (2400 per 60 s -> 240 per 6 s),
then downloads with the real CLI engine in this process.

    uv run python bench/download_rest.py budget   # 25 futures symbols x 30 days, rate-limited
    uv run python bench/download_rest.py memory   # 25 futures symbols x 365 days, limits raised

Prints a markdown table; docs/benchmarks.md holds the numbers from this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import resource
import shutil
import tempfile
import threading
import time

import psutil

from candlelake.engine import download
from candlelake.job import DownloadJob
from candlelake.plan.pages import FUTURES_KLINES, RateLimit
from candlelake.progress import LogProgress
from candlelake.settings import RestSettings
from candlelake.signature import DatasetSignature
from candlelake.simulator import SimConfig, Simulator, SymbolOverride, truth
from candlelake.timeutil import Window, day_window
from candlelake.universe import load_universe


class PeakRss:
    """Samples this process's RSS every 50 ms; peak of the sampled values."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        proc = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, proc.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def extra_symbols() -> tuple[SymbolOverride, ...]:
    """The simulator's table has 22 perpetuals trading through 2024; add a few more so that
    the benchmarks have 25 (extra symbols are an ordinary simulator option)."""
    return tuple(
        SymbolOverride(market="futures", symbol=f"{b}USDT", base=b, quote="USDT", listed="2020-06-01")
        for b in ("ADA", "LTC", "TRX", "ATOM", "FIL")
    )


def symbols(cfg: SimConfig, n: int) -> tuple[str, ...]:
    """The first `n` futures symbols trading through the benchmark's range, universe v7.3 first."""
    pool = load_universe("v7.3", "binance") + [
        s.replace("USDT", "_USDT") for s in truth.symbols(cfg, "futures") if s.endswith("USDT")
    ]
    chosen: list[str] = []
    for s in pool:
        info = truth.symbol_info(cfg, "futures", s.replace("_", ""))
        if s not in chosen and info["delisted_ms"] is None and info["listed_ms"] < 1_704_067_200_000:
            chosen.append(s)
    if len(chosen) < n:
        raise SystemExit(f"only {len(chosen)} futures symbols trade through 2024 in the simulator")
    return tuple(chosen[:n])


def run(mode: str, n_symbols: int, days: int) -> None:
    first = dt.date(2024, 1, 1)
    last = first + dt.timedelta(days=days - 1)
    window = Window(day_window(first).start_ms, day_window(last).end_ms)
    clock = f"frozen:{(last + dt.timedelta(days=2)).isoformat()}T00:00:00Z"
    extra = extra_symbols()
    if mode == "budget":
        cfg = SimConfig(symbols=extra, seed=1, clock=clock, latency_ms=50, jitter_ms=5, window_seconds=6.0,
                        futures_weight_limit=240)  # fmt: skip
    else:
        cfg = SimConfig(symbols=extra, seed=1, clock=clock, rate_limits=False)
    syms = symbols(cfg, n_symbols)
    lake = tempfile.mkdtemp(prefix="candlelake-bench-")
    try:
        with Simulator.subprocess(cfg) as sim:
            job = DownloadJob(
                market="futures",
                symbols=syms,
                window=window,
                lake_url=lake,
                signature=DatasetSignature.parse(
                    "bulk.manual.downloaded_1min.parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0"
                ),
                # With the simulator's limits off, do not pace by the limits exchangeInfo reports.
                rest=RestSettings(
                    base_url=sim.url, rate_limit=None if mode == "budget" else RateLimit(10**9, 60.0)
                ),
                concurrency=8,
            )
            with PeakRss() as rss:
                started = time.monotonic()
                report = asyncio.run(download(job, progress=LogProgress(every_s=30)))
                wall = time.monotonic() - started
    finally:
        shutil.rmtree(lake, ignore_errors=True)
    symbol_days = n_symbols * days
    pages_per_symbol = math.ceil(days * 1440 / FUTURES_KLINES.best_page_size())
    ideal_weight = pages_per_symbol * FUTURES_KLINES.weight(FUTURES_KLINES.best_page_size()) * n_symbols
    print(f"\n### {mode}: {n_symbols} futures symbols x {days} days (1m)\n")
    print("| metric | value |\n|---|---|")
    print(f"| wall time | {wall:.1f} s |")
    print(f"| rows written | {report.rows_written:,} |")
    print(f"| requests | {report.requests:,} |")
    print(f"| weight used | {report.weight:,} (ideal {ideal_weight:,}) |")
    print(f"| weight per symbol-day | {report.weight / symbol_days:.2f} |")
    print(f"| 429 answers | {report.rate_limited} |")
    print(f"| retries | {report.retries} |")
    print(f"| peak RSS (sampled) | {rss.peak / 2**20:.0f} MiB |")
    print(f"| ru_maxrss | {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB |")
    if mode == "budget":
        per_minute = cfg.futures_weight_limit * 60 / cfg.window_seconds
        max_rate = per_minute / (ideal_weight / symbol_days)
        achieved = symbol_days / (wall / 60)
        print(f"| weight-bound max | {max_rate:.0f} symbol-days/min |")
        print(f"| achieved | {achieved:.0f} symbol-days/min ({achieved / max_rate:.0%} of max) |")
    print(f"| missing minutes | {sum(s.missing_minutes for s in report.symbols)} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["budget", "memory"])
    parser.add_argument("--symbols", type=int, default=25)
    parser.add_argument("--days", type=int, default=None)
    args = parser.parse_args()
    days = args.days or (30 if args.mode == "budget" else 365)
    run(args.mode, args.symbols, days)


if __name__ == "__main__":
    main()
