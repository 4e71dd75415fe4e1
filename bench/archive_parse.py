"""Benchmark: archive verify + unzip + parse throughput, in rows per second.

Two modes:

    uv run python bench/archive_parse.py local   # synthetic monthly zips built in-process
    uv run python bench/archive_parse.py sim     # download from the simulator (subprocess)

`local` builds one 44,640-row monthly 1m CSV per format (spot ms, spot µs, futures with a
header), zips it like Binance does, and times each stage on one thread and then on as many
threads as cores (pyarrow and hashlib release the GIL). `sim` runs the real `ArchiveClient`
(download both files, verify sha256, unzip, parse) against the simulator with latency.
Both print markdown tables. Goal for the whole ingest (incl. writing): >= 300,000 rows/s on
2 cores, so this part must be well above that.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import psutil

from candlelake.sources.binance_archive import (
    ArchiveClient,
    parse_kline_csv,
    plan_archive_files,
    read_archive_zip,
    split_days,
)
from candlelake.timeutil import MINUTE_MS, Window, day_window
from candlelake.validate.rules import validate_klines

ROWS = 44_640  # 31 days x 1440
HEADER = (
    b"open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    b"taker_buy_volume,taker_buy_quote_volume,ignore\n"
)


def synthetic_csv(*, micro: bool, header: bool, seed: int = 1) -> bytes:
    """A month of plausible 1m candles, formatted as Binance does (8 decimals spot)."""
    rng = np.random.default_rng(seed)
    start = day_window(date(2024, 1, 1)).start_ms
    ts = start + np.arange(ROWS, dtype=np.int64) * MINUTE_MS
    close = 42_000 * np.exp(np.cumsum(rng.normal(0, 0.0008, ROWS)))
    open_ = np.concatenate(([42_000.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.0005, ROWS))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.0005, ROWS))
    volume = rng.gamma(2.0, 10.0, ROWS)
    taker = volume * rng.uniform(0, 1, ROWS)
    trades = rng.integers(50, 5000, ROWS)
    scale = 1000 if micro else 1
    lines = [
        f"{t * scale},{o:.8f},{h:.8f},{lo:.8f},{c:.8f},{v:.8f},{(t + MINUTE_MS) * scale - 1},"
        f"{v * c:.8f},{n},{tb:.8f},{tb * c:.8f},0\n"
        for t, o, h, lo, c, v, n, tb in zip(
            ts.tolist(),
            open_.tolist(),
            high.tolist(),
            low.tolist(),
            close.tolist(),
            volume.tolist(),
            trades.tolist(),
            taker.tolist(),
            strict=True,
        )
    ]
    return (HEADER if header else b"") + "".join(lines).encode()


def make_zip(name: str, csv: bytes) -> tuple[bytes, bytes]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name.removesuffix(".zip") + ".csv", csv)
    data = buf.getvalue()
    return data, f"{hashlib.sha256(data).hexdigest()}  {name}".encode()


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_format(label: str, *, micro: bool, header: bool, repeat: int, cores: int) -> str:
    """One markdown row: each stage's throughput for one monthly file of this format."""
    name = "BTCUSDT-1m-2024-01.zip"
    days = [date(2024, 1, d) for d in range(1, 32)]
    window = Window(day_window(days[0]).start_ms, day_window(days[-1]).end_ms)
    csv = synthetic_csv(micro=micro, header=header)
    zip_bytes, checksum = make_zip(name, csv)
    table = parse_kline_csv(csv)

    def unzip() -> bytes:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
            return zf.read(zf.namelist()[0])

    def verify_parse() -> object:
        return read_archive_zip(zip_bytes, checksum, file_name=name)

    n_files = 4 * cores
    t_sha = best_of(lambda: hashlib.sha256(zip_bytes).hexdigest(), repeat)
    t_unzip = best_of(unzip, repeat)
    t_parse = best_of(lambda: parse_kline_csv(csv), repeat)
    t_check = best_of(lambda: split_days(validate_klines(table, window).table, days), repeat)
    t_total = best_of(verify_parse, repeat)
    with ThreadPoolExecutor(cores) as pool:
        t_par = best_of(lambda: list(pool.map(lambda _: verify_parse(), range(n_files))), repeat)

    def rate(seconds: float, files: int = 1) -> str:
        return f"{files * ROWS / seconds / 1e6:.2f} M/s"

    return (
        f"| {label} | {len(zip_bytes) // 1024:,} | {rate(t_sha)} | {rate(t_unzip)} | {rate(t_parse)} "
        f"| {rate(t_check)} | {rate(t_total)} | {rate(t_par, n_files)} |"
    )


def run_local(repeat: int) -> None:
    cores = len(os.sched_getaffinity(0))
    print(f"rows per file: {ROWS:,}; cores available: {cores}; best of {repeat}\n")
    print(
        "| format | zip KB | sha256 | unzip | parse | validate+split | verify+unzip+parse "
        f"| same, {cores} threads |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, micro, header in (
        ("spot ms", False, False),
        ("spot µs", True, False),
        ("futures + header", False, True),
    ):
        print(bench_format(label, micro=micro, header=header, repeat=repeat, cores=cores))


def run_sim(symbols: int, months: int, latency_ms: float, concurrency: int) -> None:
    from candlelake.simulator import SimConfig, Simulator

    cfg = SimConfig(
        seed=1,
        clock="frozen:2026-06-01T00:00:00Z",
        rate_limits=False,
        latency_ms=latency_ms,
        archive_cache_mb=2048,
    )
    names = ["BTC_USDT", "ETH_USDT", "XRP_USDT", "LINK_USDT", "BNB_USDT", "DOGE_USDT", "SOL_USDT"][:symbols]
    days = [date(2024, m, d) for m in range(1, months + 1) for d in range(1, 32) if _valid(2024, m, d)]
    with Simulator.subprocess(cfg) as sim:
        files = [
            f
            for sym in names
            for f in plan_archive_files(sim.url, "futures", sym, days, today=date(2026, 6, 1))
        ]

        async def fetch_all(label: str) -> None:
            proc = psutil.Process()
            cpu0 = proc.cpu_times()
            t0 = time.perf_counter()
            async with ArchiveClient(concurrency=concurrency) as client:
                results = await asyncio.gather(*(client.fetch(f) for f in files))
            wall = time.perf_counter() - t0
            cpu1 = proc.cpu_times()
            rows = sum(r.table.num_rows for r in results if r.table is not None)
            cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
            print(
                f"| {label} | {len(files)} | {rows:,} | {wall:.2f} | {rows / wall:,.0f} | {cpu:.2f} "
                f"| {rows / max(cpu, 1e-9):,.0f} | {client.stats.bytes / 2**20:.0f} |"
            )

        print(
            f"futures monthly 1m files from the simulator (subprocess), latency {latency_ms} ms, "
            f"concurrency {concurrency}\n"
        )
        print("| run | files | rows | wall s | rows/s | client CPU s | rows per CPU s | MB |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        asyncio.run(fetch_all("cold (simulator generates)"))
        asyncio.run(fetch_all("warm (simulator cached)"))


def _valid(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    local = sub.add_parser("local")
    local.add_argument("--repeat", type=int, default=5)
    sim = sub.add_parser("sim")
    sim.add_argument("--symbols", type=int, default=5)
    sim.add_argument("--months", type=int, default=6)
    sim.add_argument("--latency-ms", type=float, default=50.0)
    sim.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if args.mode == "local":
        run_local(args.repeat)
    else:
        run_sim(args.symbols, args.months, args.latency_ms, args.concurrency)


if __name__ == "__main__":
    main()
