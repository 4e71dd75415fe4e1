"""Benchmark: process start-up of the CLI, against Python's own start with our heaviest imports.

In one run, several times each (minima reported, as start-up noise only ever adds time), in
three byte-code situations (MODES below):
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
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from candlelake.simulator import SimConfig, Simulator

FLOOR = [sys.executable, "-c", "import pyarrow.parquet, aiohttp"]
CLI = [sys.executable, "-m", "candlelake"]
DAY = "2024-02-19"


# Three ways a process finds byte-code:
# - cached: Python writes it on first import and reuses it (a normal install). Kept under a
#   cache prefix of its own, so the bench leaves the environment as it found it;
# - as installed, none written: PYTHONDONTWRITEBYTECODE=1 (sandboxes, our Docker image), so a
#   process reuses only the byte-code the environment already holds: pip compiles at install,
#   `uv sync` only with `--compile-bytecode`; what is not compiled is compiled by every process;
# - none: an empty cache prefix also hides the installed byte-code, so every process compiles
#   everything it imports, the standard library included (the worst case).
CACHE, NO_CACHE = tempfile.mkdtemp(prefix="pycache-"), tempfile.mkdtemp(prefix="no-pycache-")
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}


def _installed_byte_code() -> str:
    """Whether the environment holds byte-code for its packages (pyarrow's as the sample)."""
    spec = importlib.util.find_spec("pyarrow")
    package = Path(spec.origin if spec and spec.origin else ".").parent
    return "compiled" if any(package.glob("__pycache__/__init__.*.pyc")) else "NOT compiled"


DONT_WRITE = {**ENV, "PYTHONDONTWRITEBYTECODE": "1"}
MODES = {
    "cached byte-code": {**ENV, "PYTHONPYCACHEPREFIX": CACHE},
    f"as installed, none written (site-packages {_installed_byte_code()})": DONT_WRITE,
    "no byte-code cache": {**DONT_WRITE, "PYTHONPYCACHEPREFIX": NO_CACHE},
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
    try:
        with Simulator(SimConfig()) as sim, tempfile.TemporaryDirectory() as tmp:
            for mode, env in MODES.items():
                figures = _measure(sim, Path(tmp) / mode.replace(" ", "-"), env, args.runs)
                for key, name in names.items():
                    base = min(figures["floor_cpu" if key == "cpu" else "floor"])
                    best = min(figures[key])
                    print(f"| {mode} | {name} | {best:.2f} | {best / base:.2f} |")
    finally:
        for prefix in (CACHE, NO_CACHE):
            shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    main()
