"""Stored days are trusted only when they are what they say; every corrupted kind is replaced.

Items 4, 5, 12 and 14 of issue 10, against the simulator's ground truth.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from candlelake.lake.schema import META_KEY, DayMeta
from candlelake.lake.writer import serialize
from candlelake.simulator import SimConfig

from .common import FROZEN, dataset_root, download, lake_rows, load_report, truth_rows

CFG = SimConfig(seed=7, clock=FROZEN)


def _day_file(lake: Path, day: str) -> Path:
    (path,) = dataset_root(lake).rglob(f"{day}.parquet")
    return path


def _flip_data(path: Path) -> None:
    """Garble bytes in the middle of the column data; the footer stays intact."""
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    middle = (len(data) - footer) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def _copy_of_day_before(path: Path) -> None:
    before = path.with_name("2024-02-18.parquet")
    shutil.copyfile(before, path)


def _other_symbol(path: Path) -> None:
    meta = DayMeta.from_json(pq.read_metadata(path).metadata[META_KEY])
    table = pq.read_table(path)
    fake = DayMeta(**{**meta.__dict__, "symbol": "ETH_USDT"})
    path.write_bytes(serialize(table, fake))


def _footer_claims_more_rows(path: Path) -> None:
    meta = DayMeta.from_json(pq.read_metadata(path).metadata[META_KEY])
    table = pq.read_table(path).slice(0, 100)
    path.write_bytes(serialize(table, meta))


def _rows_outside_window(path: Path) -> None:
    table = pq.read_table(path)
    meta = DayMeta.from_json(pq.read_metadata(path).metadata[META_KEY])
    shifted = table.set_column(
        0, "timestamp", pa.array([t + 86_400_000 for t in table["timestamp"].to_pylist()])
    )
    path.write_bytes(serialize(shifted, meta))


CORRUPTIONS = {
    "data garbled, footer intact": _flip_data,
    "footer of another day (a copy of the day before)": _copy_of_day_before,
    "footer of another symbol": _other_symbol,
    "footer says more rows than the file has": _footer_claims_more_rows,
    "timestamps outside the footer's window": _rows_outside_window,
    "truncated (torn write)": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty file": lambda p: p.write_bytes(b""),
    "not Parquet": lambda p: p.write_bytes(b"hello, this is not a parquet file"),
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_a_corrupted_day_file_is_reported_and_downloaded_again(
    tmp_path: Path, make_simulator, caplog: pytest.LogCaptureFixture, corrupt: str
) -> None:
    sim = make_simulator(CFG)
    lake, report = tmp_path / "lake", tmp_path / "report.json"
    assert download(lake, sim.url) == 0
    victim = _day_file(lake, "2024-02-19")
    CORRUPTIONS[corrupt](victim)
    caplog.clear()
    assert download(lake, sim.url, "--report-json", str(report)) == 0
    assert f"replacing corrupted day file {victim}" in caplog.text
    data = load_report(report)
    assert data["symbols"][0]["days_written"] == 1 and data["symbols"][0]["days_skipped"] == 1
    assert lake_rows(lake) == truth_rows(CFG)


def test_old_temp_files_are_removed_by_the_next_write_to_their_partition(
    tmp_path: Path, make_simulator
) -> None:
    sim = make_simulator(CFG)
    lake = tmp_path / "lake"
    assert download(lake, sim.url, end="2024-02-18") == 0
    month = _day_file(lake, "2024-02-18").parent
    old, fresh = month / ".2024-02-19.parquet.dead.tmp", month / ".2024-02-19.parquet.live.tmp"
    old.write_bytes(b"left by kill -9")
    fresh.write_bytes(b"another run is writing this now")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert download(lake, sim.url) == 0
    assert not old.exists()
    assert fresh.exists()  # too young to be an orphan


def test_days_before_the_first_candle_cost_no_requests(tmp_path: Path, make_simulator) -> None:
    # Spot APEUSDT's first candle is 2022-03-17T12:30Z; a window from March 1st would page
    # through 16 empty days (24 requests) before it.
    sim = make_simulator(CFG.replace(clock="frozen:2022-03-20T00:00:00Z"))
    lake, report = tmp_path / "lake", tmp_path / "report.json"
    code = download(lake, sim.url, "--report-json", str(report), market="spot", symbols="APE_USDT",
                    start="2022-03-01", end="2022-03-18")  # fmt: skip
    assert code == 0
    klines = sim.stats()["endpoints"]["/api/v3/klines"]["requests"]
    assert klines <= 6  # 1-2 probes + 3 pages for the two days with candles
    data = load_report(report)["symbols"][0]
    assert data["missing_minutes"] == 0
    first = dt.datetime(2022, 3, 17, 12, 30, tzinfo=dt.UTC)
    before = int((first - dt.datetime(2022, 3, 1, tzinfo=dt.UTC)).total_seconds() // 60)
    assert data["excluded_minutes"] == before
    assert all("not listed yet" in gap["reason"] for gap in data["excluded"])
    assert data["days_written"] == 2
