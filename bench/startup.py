"""Benchmark: process start-up of the CLI, against Python's own start with our heaviest imports.

In one run, three times each (minima reported, as start-up noise only ever adds time):
- `python -c "import pyarrow.parquet, aiohttp"`: the floor any download process pays;
- `candlelake --help`;
- a one-symbol-day `candlelake download` (futures, REST) against the simulator: the time from
  process start to the simulator's first API request, and the whole wall time.

    uv run python bench/startup.py [--runs 3]

Prints a markdown table with each figure and its ratio to the import floor; docs/benchmarks.md
holds the numbers from this machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from candlelake.simulator import SimConfig, Simulator

FLOOR = [sys.executable, "-c", "import pyarrow.parquet, aiohttp"]
CLI = [sys.executable, "-m", "candlelake"]
DAY = "2024-02-19"


# With byte-code caching, as in a normal install; and with none (some sandboxes set
# PYTHONDONTWRITEBYTECODE=1), where every process compiles everything it imports again: an
# empty cache prefix hides the byte-code already written.
NO_CACHE = tempfile.mkdtemp(prefix="no-pycache-")
MODES = {
    "cached byte-code": {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "no byte-code cache": {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": NO_CACHE},
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(start wall time, elapsed seconds, CPU seconds) of one process, which must succeed."""
    cpu, started = _cpu(), time.time()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return started, time.time() - started, _cpu() - cpu


def _measure(sim: Simulator, lake_root: Path, env: dict[str, str], runs: int) -> dict[str, list[float]]:
    keys = ("floor", "floor_cpu", "help", "first", "download", "cpu")
    figures: dict[str, list[float]] = {key: [] for key in keys}
    for run in range(-1, runs):  # run -1 warms the byte-code cache and the simulator
        _, floor, floor_cpu = _timed(FLOOR, env)
        helps = _timed([*CLI, "--help"], env)[1]
        sim.reset()
        lake = lake_root / f"lake{run}"
        argv = [*CLI, "download", "--market", "futures", "--symbols", "BTC_USDT", "--start", DAY,
                "--end", DAY, "--lake", str(lake), "--rest-url", sim.url]  # fmt: skip
        started, elapsed, cpu = _timed(argv, env)
        first_at = sim.stats()["first_request_at"]
        assert first_at is not None, "the download sent no request"
        if run >= 0:
            measured = {"floor": floor, "floor_cpu": floor_cpu, "help": helps, "first": first_at - started}
            for key, value in {**measured, "download": elapsed, "cpu": cpu}.items():
                figures[key].append(value)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    names = {
        "floor": '`python -c "import pyarrow.parquet, aiohttp"` (floor)',
        "help": "`candlelake --help`",
        "first": "download: process start → first HTTP request",
        "download": "download: one symbol-day, wall time",
        "cpu": "download: one symbol-day, CPU time (vs the floor's CPU time)",
    }
    print(f"| mode | measure (min of {args.runs}) | seconds | ratio to the floor |")
    print("|---|---|---:|---:|")
    with Simulator(SimConfig()) as sim, tempfile.TemporaryDirectory() as tmp:
        for mode, env in MODES.items():
            figures = _measure(sim, Path(tmp) / mode.replace(" ", "-"), env, args.runs)
            for key, name in names.items():
                base = min(figures["floor_cpu" if key == "cpu" else "floor"])
                best = min(figures[key])
                print(f"| {mode} | {name} | {best:.2f} | {best / base:.2f} |")


if __name__ == "__main__":
    main()
