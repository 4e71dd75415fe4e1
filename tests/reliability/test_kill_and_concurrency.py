"""kill -9 at seeded random moments, and two runs of one job at once, locally and on moto S3:
the lake ends equal to a clean run's, with no stray file.

Every run is the real `candlelake` process; lakes are compared file by file (names, footers
and rows, leaving out the knowledge timestamp, which records when a row was written).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from candlelake.lake.storage import FileSystem, open_filesystem
from candlelake.simulator import SimConfig

KILLS = 10
SEED = 20261202
CFG = SimConfig(seed=4, clock="frozen:2024-02-20T01:20:30Z", latency_ms=60)


def argv(sim_url: str, lake: str) -> list[str]:
    return [
        sys.executable, "-m", "candlelake", "download", "--market", "futures", "--start", "2024-02-16",
        "--end", "2024-02-19", "--lake", lake, "--symbols", "BTC_USDT,ETH_USDT", "--rest-url", sim_url,
        "--concurrency", "2", "-v", "WARNING",
    ]  # fmt: skip


def run(sim_url: str, lake: str) -> None:
    done = subprocess.run(argv(sim_url, lake), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def snapshot(lake: str) -> dict[str, tuple[bytes, pa.Table]]:
    """Every object under the lake; for day files their footer and rows (without the
    knowledge timestamp), for the others (the QA ledger) their name only."""
    fs, root = open_filesystem(lake)
    out: dict[str, tuple[bytes, pa.Table]] = {}
    for path in _files(fs, root):
        relative = path[len(root) :]
        if not relative.endswith(".parquet"):
            out[relative] = (b"", pa.table({}))
            continue
        with fs.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            footer = (parquet.schema_arrow.metadata or {}).get(b"candlelake", b"")
            out[relative] = (footer, parquet.read().drop_columns(["knowledge_timestamp"]))
    return out


def _files(fs: FileSystem, root: str) -> list[str]:
    return sorted(p for p in fs.find(root, withdirs=False)) if fs.exists(root) else []


def assert_same_lake(got: dict[str, tuple[bytes, pa.Table]], want: dict[str, tuple[bytes, pa.Table]]) -> None:
    assert sorted(got) == sorted(want)  # no stray temp, probe or partial file either
    for name, (footer, table) in want.items():
        assert got[name][0] == footer, name
        assert got[name][1].equals(table), name


def lake_for(where: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], str]:
    if where == "local":
        return lambda name: str(tmp_path / name)
    bucket = request.getfixturevalue("s3_bucket")
    return lambda name: f"{bucket}/{name}"


@pytest.mark.parametrize("where", ["local", "s3"])
def test_rerun_after_kill_9_equals_a_clean_run(
    where: str, make_simulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sim = make_simulator(CFG)
    lake = lake_for(where, tmp_path, request)
    started = time.monotonic()
    run(sim.url, lake("clean"))
    clean_s = time.monotonic() - started
    clean = snapshot(lake("clean"))
    assert len([name for name in clean if name.endswith(".parquet")]) == 8
    moments = random.Random(SEED).sample(range(1, 100), KILLS)
    for i, percent in enumerate(moments):
        target = lake(f"killed-{i}")
        proc = subprocess.Popen(argv(sim.url, target), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(clean_s * percent / 100)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        run(sim.url, target)
        assert_same_lake(snapshot(target), clean)


@pytest.mark.parametrize("where", ["local", "s3"])
def test_two_runs_of_one_job_at_once_equal_a_clean_run(
    where: str, make_simulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sim = make_simulator(CFG)
    lake = lake_for(where, tmp_path, request)
    run(sim.url, lake("clean"))
    both = [
        subprocess.Popen(argv(sim.url, lake("shared")), stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    for proc in both:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    assert_same_lake(snapshot(lake("shared")), snapshot(lake("clean")))
