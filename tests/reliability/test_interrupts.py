"""SIGINT/SIGTERM (item 13) and an unreachable exchange (item 11), with the real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from candlelake.simulator import SimConfig

DAYS = ("2024-02-17", "2024-02-19")


def start(sim_url: str, lake: Path, report: Path) -> subprocess.Popen[str]:
    argv = [
        sys.executable, "-m", "candlelake", "download", "--market", "futures", "--start", DAYS[0],
        "--end", DAYS[1], "--lake", str(lake), "--symbols", "BTC_USDT", "--rest-url", sim_url,
        "--concurrency", "1", "--report-json", str(report),
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_prints_interrupted_then_the_summary_and_the_report(
    sig: signal.Signals, code: int, make_simulator, tmp_path: Path
) -> None:
    sim = make_simulator(SimConfig(seed=3, clock="frozen:2024-02-20T01:20:30Z", latency_ms=250))
    lake, report = tmp_path / "lake", tmp_path / "report.json"
    proc = start(sim.url, lake, report)
    deadline = time.monotonic() + 60
    while not list(lake.rglob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert [line for line in stderr.splitlines() if "interrupted by" in line] == [
        f"interrupted by {sig.name}; the lake keeps every day finished so far"
    ]
    assert "Traceback" not in stderr
    assert stdout.splitlines()[-1].startswith("done: 1 symbols")
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    symbol = data["symbols"][0]
    assert symbol["rows_written"] + symbol["missing_minutes"] == 3 * 1440
    assert 0 < symbol["days_written"] < 3
    assert len(list(lake.rglob("*.parquet"))) == symbol["days_written"]


def test_an_exchange_nobody_listens_at_is_reported_in_seconds(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "candlelake", "download", "--market", "futures", "--start", DAYS[0],
         "--end", DAYS[1], "--lake", str(tmp_path / "lake"), "--symbols", "BTC_USDT", "--rest-url", url],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ},
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: connection refused (")
    assert f"for GET {url}/fapi/v1/exchangeInfo" in lines[0]
    assert elapsed < 10
    assert not (tmp_path / "lake").exists()
