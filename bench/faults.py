"""Benchmark: how long faults take to be noticed, and what trusting only checked days costs.

    uv run python bench/faults.py verify           # a year of 25 symbols: full check vs footer only
    uv run python bench/faults.py storage          # S3 hung / dead mid-run, default timeouts
    uv run python bench/faults.py exchange         # REST URL where nothing listens

`storage` runs moto on 127.0.0.1 behind the simulator's TCP fault proxy and the real
`candlelake download` process with the default S3 timeouts (connect 5 s, read 10 s,
3 attempts). Prints markdown tables; docs/reliability.md holds the numbers from this machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from candlelake.lake import DatasetLocation, LakeWriter
from candlelake.lake.layout import day_file
from candlelake.lake.schema import DayMeta
from candlelake.lake.writer import _TAIL_BYTES, _meta_from_tail, serialize
from candlelake.simulator import SimConfig, Simulator
from candlelake.simulator.tcpfaults import FaultyProxy
from candlelake.timeutil import MINUTE_MS, day_window

KNOWN = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _day_table(day: dt.date) -> pa.Table:
    start = day_window(day).start_ms
    n = 1440
    price = [100.0 + i * 0.01 for i in range(n)]
    return pa.table({
        "timestamp": pa.array([start + i * MINUTE_MS for i in range(n)], pa.int64()),
        "open": price, "high": [p + 1 for p in price], "low": [p - 1 for p in price],
        "close": price, "volume": [float(i) for i in range(n)],
        "exchange_id": pa.array(["binance"] * n),
        "knowledge_timestamp": pa.array([KNOWN] * n, pa.timestamp("ns", tz="UTC")),
    })  # fmt: skip


def verify(symbols: int, days: int) -> None:
    """Plan-time cost of trusting a stored day: full check (now) vs footer only (before)."""
    root = Path(tempfile.mkdtemp(prefix="candlelake-verify-"))
    first = dt.date(2024, 1, 1)
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    names = [f"S{i:02d}_USDT" for i in range(symbols)]
    for day in dates:  # one table per day, written for every symbol (no fsync: a bench fixture)
        table = _day_table(day)
        w = day_window(day)
        for symbol in names:
            meta = DayMeta(symbol, day, w.start_ms, w.end_ms, 1440, True, "rest")
            path = root / day_file(symbol, day)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(serialize(table, meta))
    size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
    writer = LakeWriter(DatasetLocation(str(root)))
    started = time.perf_counter()
    for symbol in names:
        assert len(writer.existing_days(symbol, dates)) == days
    full_s = time.perf_counter() - started
    fs = writer._fs
    started = time.perf_counter()
    for symbol in names:
        for day in dates:
            path = str(root / day_file(symbol, day))
            n = fs.size(path)
            _meta_from_tail(fs, path, n, fs.cat_file(path, start=max(0, n - _TAIL_BYTES), end=n))
    footer_s = time.perf_counter() - started
    files = symbols * days
    print("| files | MB | full check | per file | footer only | per file |\n|---|---|---|---|---|---|")
    print(
        f"| {files} | {size / 1e6:.0f} | {full_s:.1f} s | {full_s / files * 1e3:.2f} ms "
        f"| {footer_s:.1f} s | {footer_s / files * 1e3:.2f} ms |"
    )


def _cli(sim_url: str, lake: str, env: dict[str, str]) -> tuple[int, float, list[str]]:
    argv = [
        sys.executable, "-m", "candlelake", "download", "--market", "futures", "--start", "2024-02-13",
        "--end", "2024-02-19", "--lake", lake, "--symbols", "BTC_USDT", "--rest-url", sim_url,
        "--concurrency", "2",
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    return done.returncode, time.monotonic() - started, done.stderr.splitlines()


def storage() -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    print("| fault | exit | time | stderr lines | tracebacks | `storage unreachable` lines |")
    print("|---|---|---|---|---|---|")
    with Simulator(SimConfig(seed=3, clock="frozen:2024-02-20T01:20:30Z", latency_ms=20)) as sim:
        for fault in ("hang", "dead"):
            bucket = f"bench-{fault}"
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
            proxy = FaultyProxy(endpoint, fault=fault, after_requests=6)  # type: ignore[arg-type]
            code, took, lines = _cli(
                sim.url, f"s3://{bucket}/lake", {"CANDLELAKE_S3_ENDPOINT_URL": proxy.url}
            )
            proxy.close()
            down = sum("storage unreachable" in line for line in lines)
            tracebacks = sum(line.startswith("Traceback") for line in lines)
            print(f"| S3 {fault} mid-run | {code} | {took:.1f} s | {len(lines)} | {tracebacks} | {down} |")
    server.stop()


def exchange() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with tempfile.TemporaryDirectory() as lake:
        code, took, lines = _cli(url, lake, {})
    print(f"| REST URL with nothing listening | exit {code} | {took:.1f} s | `{lines[-1]}` |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["verify", "storage", "exchange"])
    parser.add_argument("--symbols", type=int, default=25)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    if args.what == "verify":
        verify(args.symbols, args.days)
    elif args.what == "storage":
        storage()
    else:
        exchange()


if __name__ == "__main__":
    main()
