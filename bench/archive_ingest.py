"""Benchmark: archive ingest end to end (download, verify, parse, validate, write).

25 USD-M symbols x one year of 1m bars (about 13 M rows) from the simulator's
data.binance.vision archive, with 50 ms latency. The simulator runs in a subprocess with an
on-disk archive cache; the first pass (cold) also measures the simulator building the zips,
the second pass (warm, into a fresh lake) measures candlelake.

    uv run python bench/archive_ingest.py [--symbols 25] [--year 2024]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from download_rest import PeakRss, extra_symbols, symbols

from candlelake.engine import download
from candlelake.job import DownloadJob
from candlelake.progress import LogProgress
from candlelake.settings import RestSettings
from candlelake.signature import DatasetSignature
from candlelake.simulator import SimConfig, Simulator
from candlelake.timeutil import Window, day_window


def ingest(url: str, syms: tuple[str, ...], window: Window, lake: str) -> tuple[float, int, int]:
    job = DownloadJob(
        market="futures",
        symbols=syms,
        window=window,
        lake_url=lake,
        signature=DatasetSignature.parse(
            "bulk.manual.downloaded_1min.parquet.ohlcv.futures.v7_3.binance.binance.v1_0_0"
        ),
        vendor="binance",
        rest=RestSettings(base_url=url),
        archive_url=url,
        concurrency=8,
    )
    started = time.monotonic()
    report = asyncio.run(download(job, progress=LogProgress(every_s=60)))
    wall = time.monotonic() - started
    missing = sum(s.missing_minutes for s in report.symbols)
    assert not report.failed, report.errors
    return wall, report.rows_written, missing


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=25)
    parser.add_argument("--year", type=int, default=2024)
    args = parser.parse_args()
    first, last = dt.date(args.year, 1, 1), dt.date(args.year, 12, 31)
    window = Window(day_window(first).start_ms, day_window(last).end_ms)
    cache = Path(tempfile.mkdtemp(prefix="candlelake-archive-cache-"))
    cfg = SimConfig(
        seed=1,
        clock=f"frozen:{args.year + 1}-02-01T00:00:00Z",
        symbols=extra_symbols(),
        latency_ms=50,
        jitter_ms=5,
        archive_cache_dir=str(cache),
        archive_cache_mb=64,
    )
    syms = symbols(cfg, args.symbols)
    print(f"\n### archive ingest: {len(syms)} futures symbols x {(last - first).days + 1} days (1m)\n")
    print("| pass | wall | rows | rows/s | peak RSS (sampled) | missing minutes |\n|---|---|---|---|---|---|")
    try:
        with Simulator.subprocess(cfg) as sim:
            for name in ("cold (simulator builds zips)", "warm (client-bound)"):
                lake = tempfile.mkdtemp(prefix="candlelake-bench-lake-")
                try:
                    with PeakRss() as rss:
                        wall, rows, missing = ingest(sim.url, syms, window, lake)
                finally:
                    shutil.rmtree(lake, ignore_errors=True)
                print(
                    f"| {name} | {wall:.1f} s | {rows:,} | {rows / wall:,.0f} | "
                    f"{rss.peak / 2**20:.0f} MiB | {missing} |"
                )
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
