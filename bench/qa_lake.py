"""Benchmark: QA over 25 USD-M symbols x one year of 1m bars (9,150 day files, ~13 M rows).

The lake is built by the real pipeline from the simulator's archive (vendor `binance`), so
every file and ledger entry comes from real writes. Each measurement then runs in a fresh
process, so its peak RSS is its own:

- `qa` (ledger): what `candlelake qa` does: list the files, read the ledger, compare sizes;
- `qa --deep`: read every file (footer and rows) and run every row check again;
- `ls`: the dataset summary from the ledger;
- `sql`: a DuckDB count and an aggregate over the whole year.

    uv run python bench/qa_lake.py [--symbols 25] [--year 2024]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archive_ingest import ingest
from download_rest import PeakRss, extra_symbols, symbols

from candlelake.simulator import SimConfig, Simulator
from candlelake.timeutil import Window, day_window

SIGNATURE = "bulk.manual.downloaded_1min.parquet.ohlcv.futures.v7_3.binance.binance.v1_0_0"


def measure(lake: str, mode: str, syms: str) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    import psutil

    import candlelake.lake.catalog
    import candlelake.lake.sql
    import candlelake.quality.qa  # noqa: F401  # imported before the clock starts

    root = f"{lake}/v3/{SIGNATURE.replace('.', '/')}"
    base = psutil.Process().memory_info().rss
    with PeakRss() as rss:
        started = time.monotonic()
        detail = _run(lake, root, mode, syms)
        wall = time.monotonic() - started
    # Sampled, not ru_maxrss: Linux carries the parent's high-water mark into the child.
    peak = max(rss.peak, base)
    print(
        json.dumps(
            {"mode": mode, "wall_s": wall, "peak_mib": peak / 2**20, "base_mib": base / 2**20, **detail}
        )
    )


def _run(lake: str, root: str, mode: str, syms: str) -> dict[str, object]:
    from candlelake.lake import DatasetLocation
    from candlelake.lake.catalog import summarize
    from candlelake.lake.sql import sql
    from candlelake.quality.qa import QaRequest, run_qa

    detail: dict[str, object] = {}
    if mode in ("qa", "deep"):
        request = QaRequest(DatasetLocation(root), symbols=tuple(syms.split(",")), deep=mode == "deep")
        report = run_qa(request)
        detail = {"days": len(report.days), "ok": report.ok, "from_ledger": report.from_ledger,
                  "from_files": report.from_files}  # fmt: skip
    elif mode == "ls":
        (summary,) = summarize(DatasetLocation(lake))
        detail = {"rows": summary.rows, "days": summary.days}
    else:
        frame = sql(
            f'SELECT count(*) AS n, sum(volume) AS v, max(high) AS h FROM "{SIGNATURE}" WHERE year = 2024',
            lake,
        )
        detail = {"rows": int(frame["n"].iloc[0])}
    return detail


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=25)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--measure", nargs=3, metavar=("LAKE", "MODE", "SYMBOLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    first, last = dt.date(args.year, 1, 1), dt.date(args.year, 12, 31)
    window = Window(day_window(first).start_ms, day_window(last).end_ms)
    cfg = SimConfig(seed=1, clock=f"frozen:{args.year + 1}-02-01T00:00:00Z", symbols=extra_symbols())
    syms = symbols(cfg, args.symbols)
    lake = tempfile.mkdtemp(prefix="candlelake-bench-qa-")
    try:
        with Simulator.subprocess(cfg) as sim:
            wall, rows, _ = ingest(sim.url, syms, window, lake)
        days = (last - first).days + 1
        print(f"\n### QA: {len(syms)} futures symbols x {days} days (built in {wall:.0f} s)\n")
        print("| measurement | wall | peak RSS | RSS after imports | result |\n|---|---|---|---|---|")
        for mode in ("qa", "deep", "ls", "sql"):
            out = subprocess.run(
                [sys.executable, __file__, "--measure", lake, mode, ",".join(syms)],
                capture_output=True, text=True, check=True, cwd=Path(__file__).parent,
            )  # fmt: skip
            result = json.loads(out.stdout.strip().splitlines()[-1])
            shown = {k: v for k, v in result.items() if k not in ("mode", "wall_s", "peak_mib", "base_mib")}
            print(
                f"| {mode} | {result['wall_s']:.2f} s | {result['peak_mib']:.0f} MiB | "
                f"{result['base_mib']:.0f} MiB | {shown} |"
            )
        print(f"\nrows written: {rows:,}")
    finally:
        shutil.rmtree(lake, ignore_errors=True)


if __name__ == "__main__":
    main()
