"""Benchmark: archive ingest end to end (download, verify, parse, validate, write), per kind.

25 USD-M symbols x one year from the simulator's data.binance.vision archive, with 50 ms
latency, through the real command: `candlelake download-bulk --vendor binance` in a child process
(so its wall time, CPU time and peak RSS are its own, measured by wait4).

Passes, each into a fresh, empty lake:
- cold: the simulator builds every zip while we download (bound by the simulator);
- warm: the same command again. "Warm" means: every zip and .CHECKSUM is already built and
  cached by the simulator (in memory, and on disk under a temp folder), served over HTTP on
  127.0.0.1 with the 50 ms latency; the byte-code of every module is cached; the lake is
  empty, so every day is validated, explained and written. Only candlelake's own work and
  the simulator's serving of cached bytes remain. `--warm-runs N` repeats it; best reported.

    uv run python bench/archive_ingest.py [--symbols 25] [--year 2024] [--warm-runs 2]
        [--kinds klines_1m,mark_price_1m,funding_rate]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from download_rest import extra_symbols

from candlelake.simulator import SimConfig, Simulator

# Each kind is one line: its name and the `download-bulk` arguments that pick it.
KINDS: dict[str, tuple[str, ...]] = {
    "klines_1m": ("--data_type", "ohlcv", "--action_tag", "downloaded_1min"),
    "mark_price_1m": ("--data_type", "mark_price", "--action_tag", "downloaded_1min"),
    "funding_rate": ("--data_type", "funding_rate", "--action_tag", "downloaded_all"),
}


@dataclass(frozen=True)
class Pass:
    wall: float
    cpu: float
    sim_cpu: float
    peak_rss: int
    rows: int
    missing: int
    files: int


def ingest(url: str, symbols: int, year: int, lake: str, extra: tuple[str, ...], sim_pid: int) -> Pass:
    """One `candlelake download-bulk --vendor binance` process over the whole year: the first
    `symbols` USD-M symbols trading on the simulator (all listed before the year starts)."""
    report = Path(lake) / "report.json"
    argv = [
        sys.executable, "-m", "candlelake", "download-bulk", "--download_mode", "bulk",
        "--downloading_entity", "manual", "--vendor", "binance", "--exchange_id", "binance",
        "--universe", "all", "--universe_part", str(symbols), "1", "--contract_type", "futures",
        "--data_format", "parquet", "--start_timestamp", f"{year}-01-01T00:00:00+00:00",
        "--end_timestamp", f"{year}-12-31T23:59:00+00:00", "--dst_dir", str(Path(lake) / "lake"),
        "--rest_url", url, "--archive_url", url, "--report_json", str(report), *extra,
    ]  # fmt: skip
    sim = psutil.Process(sim_pid)
    sim_cpu0 = sum(sim.cpu_times()[:2])
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"download failed ({proc.returncode}): {err[-2000:]}")
    data = json.loads(report.read_text())
    return Pass(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        sim_cpu=sum(sim.cpu_times()[:2]) - sim_cpu0,
        peak_rss=usage.ru_maxrss * 1024,  # kilobytes on Linux
        rows=int(data["rows_written"]),
        missing=sum(int(s["missing_minutes"]) for s in data["symbols"]),
        files=int(data["archive_files"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=25)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--warm-runs", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated: {', '.join(KINDS)}")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kind(s) {', '.join(unknown)}; allowed: {', '.join(KINDS)}")
    cache = Path(tempfile.mkdtemp(prefix="candlelake-archive-cache-"))
    cfg = SimConfig(
        seed=1,
        clock=f"frozen:{args.year + 1}-02-01T00:00:00Z",
        symbols=extra_symbols(),
        latency_ms=50,
        jitter_ms=5,
        archive_cache_dir=str(cache),
        archive_cache_mb=1024,  # the whole year stays in the simulator's memory once built
    )
    print(f"\n### archive ingest: {args.symbols} USD-M symbols x {args.year}\n")
    print(
        "| kind | pass | wall | rows | rows/s | CPU (candlelake) | CPU (simulator) | peak RSS | files "
        "| missing minutes |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    try:
        with Simulator.subprocess(cfg) as sim:
            for kind in kinds:
                passes = ["cold"] + [f"warm {i + 1}" for i in range(args.warm_runs)]
                for name in passes:
                    lake = tempfile.mkdtemp(prefix="candlelake-bench-lake-")
                    try:
                        p = ingest(sim.url, args.symbols, args.year, lake, KINDS[kind], sim.pid)
                    finally:
                        shutil.rmtree(lake, ignore_errors=True)
                    print(
                        f"| {kind} | {name} | {p.wall:.1f} s | {p.rows:,} | {p.rows / p.wall:,.0f} | "
                        f"{p.cpu:.1f} s | {p.sim_cpu:.1f} s | {p.peak_rss / 2**20:.0f} MiB | {p.files} "
                        f"| {p.missing} |",
                        flush=True,
                    )
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
