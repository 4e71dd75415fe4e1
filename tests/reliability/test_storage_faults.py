"""An S3 endpoint that hangs or dies mid-run (items 1 and 2): bounded time, one clear line,
every minute accounted for, nothing partial in the bucket.

The real `candlelake` process writes through a proxy in front of moto that freezes or
closes after a number of requests. Timeouts are shortened through the environment so the
test takes seconds; the defaults are measured by bench/faults.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from candlelake.simulator import SimConfig
from candlelake.simulator.tcpfaults import FaultyProxy

DAYS = ("2024-02-13", "2024-02-19")
MINUTES = 7 * 1440
S3_ENV = {
    "CANDLELAKE_S3_CONNECT_TIMEOUT_S": "1",
    "CANDLELAKE_S3_READ_TIMEOUT_S": "2",
    "CANDLELAKE_S3_ATTEMPTS": "2",
    "CANDLELAKE_HEARTBEAT_S": "1",
}


def run(sim_url: str, lake: str, endpoint: str, report: Path, env: dict[str, str]) -> tuple[int, str, float]:
    argv = [
        sys.executable, "-m", "candlelake", "download", "--market", "futures", "--start", DAYS[0],
        "--end", DAYS[1], "--lake", lake, "--symbols", "BTC_USDT", "--rest-url", sim_url,
        "--concurrency", "2", "--report-json", str(report),
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        argv, env={**os.environ, **env, **S3_ENV, "CANDLELAKE_S3_ENDPOINT_URL": endpoint},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return done.returncode, done.stderr, time.monotonic() - started


def keys(s3_env: str, bucket: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=s3_env)
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


@pytest.mark.parametrize("fault", ["hang", "dead"])
def test_storage_that_stops_answering_mid_run(
    fault: str, s3_bucket: str, s3_env: str, make_simulator, tmp_path: Path
) -> None:
    sim = make_simulator(SimConfig(seed=3, clock="frozen:2024-02-20T01:20:30Z", latency_ms=20))
    # Let the write check (probe put, delete, and the listing that sweeps killed runs'
    # probes), the plan's listings and the first day through (7 requests), then fail.
    proxy = FaultyProxy(s3_env, fault=fault, after_requests=7)  # type: ignore[arg-type]
    report = tmp_path / "report.json"
    try:
        code, stderr, elapsed = run(sim.url, s3_bucket + "/lake", proxy.url, report, dict(os.environ))
    finally:
        proxy.close()
    assert code == 1, stderr
    assert elapsed < 60, stderr
    down = [line for line in stderr.splitlines() if "storage unreachable" in line]
    assert len(down) == 1 and f"storage unreachable: {proxy.url}: " in down[0], stderr
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) < 40, stderr
    if fault == "hang":
        assert "still running after" in stderr
    # Every minute is written or reported, and the bucket holds only whole day files.
    data = json.loads(report.read_text())
    symbol = data["symbols"][0]
    assert symbol["rows_written"] + symbol["missing_minutes"] + symbol["excluded_minutes"] == MINUTES
    assert symbol["missing_minutes"] > 0
    written = sorted(Path(f).name for f in symbol["files"])
    bucket = s3_bucket.removeprefix("s3://")
    stored = [k.rsplit("/", 1)[1] for k in keys(s3_env, bucket) if k.endswith(".parquet")]
    assert sorted(stored) == written
    assert all(k.endswith(".parquet") for k in keys(s3_env, bucket))  # no probe, no partial object


def test_storage_hung_from_the_start_is_reported_before_any_download(
    s3_bucket: str, s3_env: str, make_simulator, tmp_path: Path
) -> None:
    sim = make_simulator(SimConfig(seed=3, clock="frozen:2024-02-20T01:20:30Z"))
    proxy = FaultyProxy(s3_env, fault="hang", after_requests=0)
    try:
        code, stderr, elapsed = run(sim.url, s3_bucket + "/lake", proxy.url, tmp_path / "r.json", {})
    finally:
        proxy.close()
    assert code == 2 and elapsed < 30, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert lines == [lines[0]] and f"storage unreachable: {proxy.url}: " in lines[0]
    assert sim.stats()["total"].get("requests", 0) == 0


def test_storage_lost_while_planning_still_reports_every_minute(
    s3_bucket: str, s3_env: str, make_simulator, tmp_path: Path
) -> None:
    sim = make_simulator(SimConfig(seed=3, clock="frozen:2024-02-20T01:20:30Z"))
    # The write check passes (probe put, delete, probe sweep); the plan's listing then fails.
    proxy = FaultyProxy(s3_env, fault="dead", after_requests=3)
    report = tmp_path / "report.json"
    try:
        code, stderr, _ = run(sim.url, s3_bucket + "/lake", proxy.url, report, {})
    finally:
        proxy.close()
    assert code == 1, stderr
    down = [line for line in stderr.splitlines() if "storage unreachable" in line]
    assert len(down) == 1 and f"storage unreachable: {proxy.url}: " in down[0], stderr
    assert "Traceback" not in stderr, stderr[stderr.index("Traceback") :]
    symbol = json.loads(report.read_text())["symbols"][0]
    assert symbol["rows_written"] == 0 and symbol["missing_minutes"] == MINUTES
    assert all("storage unreachable" in gap["reason"] for gap in symbol["missing"])
    assert keys(s3_env, s3_bucket.removeprefix("s3://")) == []
    klines = {k: v for k, v in sim.stats()["total"].items() if "klines" in k}
    assert not any(klines.values()), klines  # no weight spent on days that cannot be written
