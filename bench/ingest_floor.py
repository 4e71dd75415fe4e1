"""Benchmark: the CPU floor of archive ingest, stage by stage, on one core.

What must happen to every row of a data.binance.vision kline file before it is in the lake,
whatever the orchestration: check the zip's sha256, inflate it, parse the CSV, split it into
days and validate them, turn them into lake columns, encode each day as the lake's Parquet
file, and write that file durably. This script times each of those stages alone, with the
code candlelake runs, in one thread, on month files served by the simulator (fetched once,
before timing). Their sum is the CPU a row costs at the very least, so

    rows/s ceiling = cores / (sum of the stages per row)

is what an ideal pipeline could reach on this machine: no scheduling, no HTTP, no report,
no simulator sharing the cores, perfect parallelism. The end-to-end figure of
bench/archive_ingest.py is measured against it. The lake's Parquet encoding is compared with
other codecs, to show what the ceiling would be if the lake gave up zstd.

    uv run python bench/ingest_floor.py [--symbols 4] [--months 6] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import os
import shutil
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from download_rest import extra_symbols

from candlelake.bars import MINUTE_GRID
from candlelake.lake.dayfile import check_day_rows, serialize, to_lake_table
from candlelake.lake.durable import commit, stage
from candlelake.lake.schema import DayMeta
from candlelake.plan.archive import archive_url
from candlelake.simulator import SimConfig, Simulator, truth
from candlelake.sources.archive_format import day_completeness, parse_kline_csv, split_days
from candlelake.sources.unzip import read_member
from candlelake.validate.rules import validate_days

KNOWLEDGE_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def fetch(url: str, symbols: list[str], months: int) -> list[bytes]:
    """Month zips of the simulator's archive, over HTTP once (127.0.0.1)."""
    zips = []
    for symbol in symbols:
        for month in range(1, months + 1):
            zip_url = archive_url(url, "futures", "monthly", symbol, f"2024-{month:02d}")
            with urllib.request.urlopen(zip_url, timeout=120) as response:
                zips.append(response.read())
    return zips


def month_days(table: pa.Table) -> list[dt.date]:
    first = dt.datetime.fromtimestamp(table.column("timestamp")[0].as_py() / 1000, dt.UTC).date()
    return [d for i in range(31) if (d := first + dt.timedelta(i)).month == first.month]


def inflate(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return read_member(archive, data, archive.namelist()[0])


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=4)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the files; the best counts")
    args = parser.parse_args()
    if not 1 <= args.months <= 12:
        parser.error(f"--months {args.months}: allowed 1 to 12")

    cfg = SimConfig(seed=1, clock="frozen:2025-02-01T00:00:00Z", symbols=extra_symbols())
    chosen = [s for s in truth.symbols(cfg, "futures") if s.endswith("USDT")][: args.symbols]
    names = [s.replace("USDT", "_USDT") for s in chosen]
    with Simulator.subprocess(cfg) as sim:
        zips = fetch(sim.url, names, args.months)

    # Each stage's input, prepared once outside the timing.
    csvs = [inflate(z) for z in zips]
    tables = [parse_kline_csv(c) for c in csvs]
    rows = sum(t.num_rows for t in tables)
    days_of = [month_days(t) for t in tables]
    splits = [split_days(t, d) for t, d in zip(tables, days_of, strict=True)]
    valid = [
        validate_days([(s[d], MINUTE_GRID.partition_window(d)) for d in days])
        for s, days in zip(splits, days_of, strict=True)
    ]
    lake_tables = [
        to_lake_table(
            pa.concat_tables([v.table for v in vs]), exchange_id="binance", knowledge_time=KNOWLEDGE_TIME
        )
        for vs in valid
    ]
    day_tables = []  # (symbol, day, lake rows, meta)
    file_symbols = [n for n in names for _ in range(args.months)]  # in the order of `zips`
    for symbol, days, lt in zip(file_symbols, days_of, lake_tables, strict=True):
        offset = 0
        for d in days:
            w = MINUTE_GRID.partition_window(d)
            part = lt.slice(offset, 1440)
            offset += 1440
            day_tables.append(
                (symbol, d, part, DayMeta(symbol, d, w.start_ms, w.end_ms, part.num_rows, True, "archive"))
            )
    files = sum(len(d) for d in days_of)
    out = Path(tempfile.mkdtemp(prefix="candlelake-floor-"))

    encoded: dict[tuple[str, int], list[tuple[str, bytes]]] = {}
    for symbol, d, part, meta in day_tables:
        encoded.setdefault((symbol, d.month), []).append((f"{d}.parquet", serialize(part, meta)))

    def write_durably() -> None:
        for (symbol, month), items in encoded.items():
            directory = out / symbol / f"{month:02d}"
            directory.mkdir(parents=True, exist_ok=True)
            staged = []
            for name, data in items:
                temp = str(directory / f".{name}.tmp")
                stage(temp, data)
                staged.append((temp, str(directory / name)))
            commit(str(directory), staged)

    def codec(name: str) -> Callable[[], object]:
        def encode() -> None:
            for _, _, part, _ in day_tables:
                sink = pa.BufferOutputStream()
                pq.write_table(
                    part, sink, compression=name, use_dictionary=["exchange_id"], write_page_checksum=True
                )

        return encode

    stages: list[tuple[str, Callable[[], object]]] = [
        ("sha256 of the zip", lambda: [hashlib.sha256(z).digest() for z in zips]),
        ("inflate (ISA-L)", lambda: [inflate(z) for z in zips]),
        ("CSV parse (Arrow, 1 thread)", lambda: [parse_kline_csv(c) for c in csvs]),
        ("split into days", lambda: [split_days(t, d) for t, d in zip(tables, days_of, strict=True)]),
        (
            "validate",
            lambda: [
                validate_days([(s[d], MINUTE_GRID.partition_window(d)) for d in days])
                for s, days in zip(splits, days_of, strict=True)
            ],
        ),
        (
            "completeness",
            lambda: [
                day_completeness(s[d], d) for s, days in zip(splits, days_of, strict=True) for d in days
            ],
        ),
        (
            "lake columns + row checks",
            lambda: [
                [
                    to_lake_table(
                        pa.concat_tables([v.table for v in vs]),
                        exchange_id="binance",
                        knowledge_time=KNOWLEDGE_TIME,
                    )
                    for vs in valid
                ],
                [check_day_rows(part, meta) for _, _, part, meta in day_tables],
            ],
        ),
        ("Parquet encode (the lake's)", lambda: [serialize(part, meta) for _, _, part, meta in day_tables]),
        ("durable write (stage, syncfs, rename)", write_durably),
    ]
    best: dict[str, tuple[float, float]] = {}
    try:
        for _ in range(args.repeat):
            for name, fn in stages:
                if name.startswith("durable"):
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir()
                cpu, wall = timed(fn)
                if name not in best or cpu < best[name][0]:
                    best[name] = (cpu, wall)
        codecs = {}
        for name in ("zstd", "lz4", "snappy", "none"):
            codecs[name] = min(timed(codec(name))[0] for _ in range(args.repeat))
    finally:
        shutil.rmtree(out, ignore_errors=True)

    cores = os.cpu_count() or 1
    print(f"\n### ingest floor: {len(zips)} month files, {files} days, {rows:,} rows, {cores} cores\n")
    print("| stage | CPU per row | CPU per day file | wall per row |\n|---|---:|---:|---:|")
    total = 0.0
    for name, _ in stages:
        cpu, wall = best[name]
        total += cpu
        per_row, per_file, wall_row = cpu / rows * 1e6, cpu / files * 1e3, wall / rows * 1e6
        print(f"| {name} | {per_row:.3f} µs | {per_file:.3f} ms | {wall_row:.3f} µs |")
    print(f"| **all stages** | **{total / rows * 1e6:.3f} µs** | {total / files * 1e3:.3f} ms | |")
    print(f"\nCeiling with {cores} cores, perfectly parallel: {cores * rows / total:,.0f} rows/s")
    encode = best["Parquet encode (the lake's)"][0]
    # Every column in one codec, as the lake wrote day files before delta encoding (zstd).
    print("\n| all columns in codec | encode per day file | ceiling with it |\n|---|---:|---:|")
    for name, cpu in codecs.items():
        other = total - encode + cpu
        print(f"| {name} | {cpu / files * 1e3:.3f} ms | {cores * rows / other:,.0f} rows/s |")


if __name__ == "__main__":
    main()
