"""The archive source against the simulator's data.binance.vision, checked against its ground truth.

Expected rows come from `truth.klines` (REST rows with decimal strings, converted here with
int()/float()) or from the real recorded CSVs in tests/data/realdata.
"""

from __future__ import annotations

import asyncio
import csv
import urllib.request
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any

import pyarrow as pa
import pytest

from candlelake.errors import ChecksumMismatch
from candlelake.simulator import SimConfig, Simulator, truth
from candlelake.sources.binance_archive import (
    ArchiveClient,
    ArchiveFile,
    FetchedArchive,
    as_daily_files,
    day_completeness,
    parse_checksum,
    plan_archive_files,
    split_days,
)
from candlelake.timeutil import DAY_MS, MINUTE_MS, Window, day_window
from candlelake.validate.rules import validate_klines
from fixtures.simulator import REALDATA

SPOT_REAL = REALDATA / "spot_klines"
TODAY = date(2026, 6, 1)
CFG = SimConfig(
    seed=7,
    clock="frozen:2026-06-01T00:00:00Z",
    rate_limits=False,
    bad_checksum_files=("spot:ETHUSDT:2024-03-05",),
    corrupt_archive_files=("spot:ETHUSDT:2024-03-06",),
    missing_archive_days=("futures:ETHUSDT:2024-02-1[0-2]",),
    incomplete_archive_files=("futures:ETHUSDT:2023-11",),
)
FIELDS = (
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "number_of_trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
)
INTS = {"timestamp", "close_time", "number_of_trades"}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(CFG) as running:
        yield running


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def start_ms(day: date) -> int:
    return day_window(day).start_ms


def truth_rows(cfg: SimConfig, market: str, symbol: str, days: list[date]) -> list[dict[str, Any]]:
    rows = truth.klines(cfg, market, symbol, start_ms(days[0]), start_ms(days[-1]) + DAY_MS - 1)
    return [
        {name: (int if name in INTS else float)(v) for name, v in zip(FIELDS, row, strict=False)}
        for row in rows
    ]


def fetch_all(files: list[ArchiveFile], **client_options: Any) -> list[FetchedArchive]:
    async def run() -> list[FetchedArchive]:
        async with ArchiveClient(backoff_s=0.01, max_backoff_s=0.05, **client_options) as client:
            return list(await asyncio.gather(*(client.fetch(f) for f in files)))

    return asyncio.run(run())


def stitched(results: list[FetchedArchive], days: list[date]) -> pa.Table:
    """The requested days of every fetched file, in day order (what the pipeline will write)."""
    parts = []
    for result in results:
        assert result.table is not None, result.missing_reason
        by_day = split_days(result.table, result.file.days)
        parts += [by_day[d] for d in result.file.days]
    table = pa.concat_tables(parts).sort_by("timestamp")
    assert validate_klines(table, Window(start_ms(days[0]), start_ms(days[-1]) + DAY_MS)).problems == ()
    return table


def raw_csv_first_line(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:  # the simulator on 127.0.0.1
        data = resp.read()
    with zipfile.ZipFile(BytesIO(data)) as zf:
        return zf.read(zf.namelist()[0]).split(b"\n", 1)[0]


def sim_archive_requests(sim: Simulator) -> int:
    return int(sim.stats()["endpoints"].get("/data", {}).get("requests", 0))


# --------------------------------------------------------------------------- ground truth


def test_spot_across_the_microsecond_switch(sim: Simulator) -> None:
    days = days_between(date(2024, 12, 1), date(2025, 1, 31))
    files = plan_archive_files(sim.url, "spot", "BTC_USDT", days, today=TODAY)
    assert [(f.period, f.label) for f in files] == [("monthly", "2024-12"), ("monthly", "2025-01")]
    # The files really are in both formats: ms before 2025, µs from 2025-01-01 on.
    assert len(raw_csv_first_line(files[0].url).split(b",")[0]) == 13
    assert len(raw_csv_first_line(files[1].url).split(b",")[0]) == 16
    table = stitched(fetch_all(files), days)
    assert table.to_pylist() == truth_rows(CFG, "spot", "BTCUSDT", days)


def test_spot_daily_files_around_new_year(sim: Simulator) -> None:
    days = days_between(date(2024, 12, 30), date(2025, 1, 2))
    files = plan_archive_files(sim.url, "spot", "ETH_USDT", days, today=TODAY)
    assert {f.period for f in files} == {"daily"}
    table = stitched(fetch_all(files), days)
    assert table.to_pylist() == truth_rows(CFG, "spot", "ETHUSDT", days)
    for day, part in split_days(table, days).items():
        assert day_completeness(part, day) == (1440, [])


def test_futures_across_the_header_switch(sim: Simulator) -> None:
    days = days_between(date(2022, 4, 1), date(2022, 5, 31))
    monthly = plan_archive_files(sim.url, "futures", "BTC_USDT", days, today=TODAY)
    assert [(f.period, f.label) for f in monthly] == [("monthly", "2022-04"), ("monthly", "2022-05")]
    assert raw_csv_first_line(monthly[0].url)[:1].isdigit()
    assert raw_csv_first_line(monthly[1].url).startswith(b"open_time,")
    want = truth_rows(CFG, "futures", "BTCUSDT", days)
    assert stitched(fetch_all(monthly), days).to_pylist() == want
    edge = days_between(date(2022, 4, 29), date(2022, 5, 2))
    daily = plan_archive_files(sim.url, "futures", "BTC_USDT", edge, today=TODAY, download_period="daily")
    assert raw_csv_first_line(daily[1].url)[:1].isdigit()  # 2022-04-30: no header yet
    assert raw_csv_first_line(daily[2].url).startswith(b"open_time,")  # 2022-05-01
    assert stitched(fetch_all(daily), edge).to_pylist() == truth_rows(CFG, "futures", "BTCUSDT", edge)


def test_real_recorded_days_come_out_exactly(sim: Simulator) -> None:
    days = [date(2020, 1, 1), date(2020, 1, 2)]
    files = plan_archive_files(sim.url, "spot", "BTC_USDT", days, today=TODAY)
    results = fetch_all(files)
    for result, day in zip(results, days, strict=True):
        name = f"BTCUSDT-1m-{day.isoformat()}"
        want = []
        with (SPOT_REAL / f"{name}.csv").open(newline="") as fh:
            for rec in csv.reader(fh):
                want.append({n: (int if n in INTS else float)(v) for n, v in zip(FIELDS, rec, strict=False)})
        assert result.table is not None and result.table.to_pylist() == want
        assert result.sha256 == parse_checksum((SPOT_REAL / f"{name}.zip.CHECKSUM").read_bytes())[0]


# --------------------------------------------------------------------------- archive defects


def test_bad_checksum_is_redownloaded_once_then_fails_naming_the_file(sim: Simulator) -> None:
    [file] = plan_archive_files(sim.url, "spot", "ETH_USDT", [date(2024, 3, 5)], today=TODAY)
    before = sim_archive_requests(sim)

    async def run() -> ArchiveClient:
        async with ArchiveClient(backoff_s=0.01) as client:
            with pytest.raises(ChecksumMismatch) as err:
                await client.fetch(file)
            assert err.value.url == file.url and file.url in str(err.value)
            return client

    client = asyncio.run(run())
    assert client.stats.redownloads == 1
    assert sim_archive_requests(sim) - before == 4  # (zip + CHECKSUM) x 2


def test_corrupt_zip_fails_naming_the_file(sim: Simulator) -> None:
    [file] = plan_archive_files(sim.url, "spot", "ETH_USDT", [date(2024, 3, 6)], today=TODAY)
    before = sim_archive_requests(sim)
    with pytest.raises(ChecksumMismatch) as err:
        fetch_all([file])
    assert err.value.url == file.url
    assert sim_archive_requests(sim) - before == 4


def test_missing_and_not_yet_published_days_give_none(sim: Simulator) -> None:
    days = days_between(date(2024, 2, 9), date(2024, 2, 13))
    files = plan_archive_files(sim.url, "futures", "ETH_USDT", days, today=TODAY, download_period="daily")
    got = {r.file.days[0]: r for r in fetch_all(files)}
    missing = {d for d, r in got.items() if r.table is None}
    assert missing == {date(2024, 2, 10), date(2024, 2, 11), date(2024, 2, 12)}
    assert all("404" in (got[d].missing_reason or "") for d in missing)
    # Yesterday is planned (it may be out), but at 00:00 it is not published yet.
    [late] = plan_archive_files(sim.url, "futures", "ETH_USDT", [TODAY - timedelta(days=1)], today=TODAY)
    [result] = fetch_all([late])
    assert result.table is None and result.sha256 is None


def test_incomplete_monthly_file_is_detected(sim: Simulator) -> None:
    days = days_between(date(2023, 11, 1), date(2023, 11, 30))
    [monthly] = plan_archive_files(sim.url, "futures", "ETH_USDT", days, today=TODAY)
    assert monthly.period == "monthly"
    [result] = fetch_all([monthly])
    assert result.table is not None
    want = truth_rows(CFG, "futures", "ETHUSDT", days)
    have = set(result.table.column("timestamp").to_pylist())
    assert 0 < len(have) < len(want)
    # The rows the file has are the truth's rows; the truth's other minutes are lost.
    assert [r for r in want if r["timestamp"] in have] == result.table.to_pylist()
    lost = {r["timestamp"] for r in want} - have
    incomplete = []
    for day, part in split_days(result.table, days).items():
        rows, missing = day_completeness(part, day)
        window = day_window(day)
        got_missing = [t for w in missing for t in range(w.start_ms, w.end_ms, MINUTE_MS)]
        assert got_missing == [t for t in range(window.start_ms, window.end_ms, MINUTE_MS) if t not in have]
        assert rows + len(got_missing) == 1440
        if missing:
            incomplete.append(day)
    assert {datetime.fromtimestamp(t / 1000, UTC).date() for t in lost} == set(incomplete)
    # The days the caller must re-fetch come as daily files.
    daily = as_daily_files(monthly, base_url=sim.url)
    refetch = [f for f in daily if f.days[0] in incomplete]
    assert stitched(fetch_all(refetch), incomplete).to_pylist() == [
        r for r in want if datetime.fromtimestamp(r["timestamp"] / 1000, UTC).date() in set(incomplete)
    ]


def test_faults_on_the_archive_still_give_the_truth() -> None:
    cfg = SimConfig(
        seed=3,
        clock="frozen:2026-06-01T00:00:00Z",
        rate_limits=False,
        fault_targets=("archive",),
        error_rate=0.3,
        reset_rate=0.1,
        truncate_rate=0.15,
        hang_rate=0.05,
        hang_seconds=1.0,
        fault_max_attempts=3,
        latency_ms=5,
    )
    days = days_between(date(2024, 6, 1), date(2024, 6, 10))
    with Simulator(cfg) as sim:
        files = plan_archive_files(sim.url, "futures", "SOL_USDT", days, today=TODAY)
        table = stitched(fetch_all(files, timeout_s=0.5, retries=5), days)
        faults = sim.stats()["endpoints"]["/data"]
    assert table.to_pylist() == truth_rows(cfg, "futures", "SOLUSDT", days)
    assert faults["requests"] > 2 * len(files)  # faults were really served


def test_fetch_checksum_matches_the_verified_file(sim: Simulator) -> None:
    # What --refresh-changed compares with the checksum recorded in the lake.
    days = [date(2024, 2, 9), date(2024, 2, 10)]
    files = plan_archive_files(sim.url, "futures", "ETH_USDT", days, today=TODAY, download_period="daily")

    async def run() -> list[str | None]:
        async with ArchiveClient() as client:
            return [await client.fetch_checksum(f) for f in files]

    present, missing = asyncio.run(run())
    [fetched] = fetch_all(files[:1])
    assert present is not None and present == fetched.sha256
    assert missing is None  # 2024-02-10 is configured missing
