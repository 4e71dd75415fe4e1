"""Archive planning, parsing, verification and the async client.

Expected values come from the real recorded files in tests/data/realdata (parsed here
with the csv module and Python's float()), from the documented URL layout, or from
tables the tests build themselves; never from the code under test.
"""

from __future__ import annotations

import asyncio
import calendar
import csv
import hashlib
import io
import random
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from aiohttp import web

from candlelake.errors import ChecksumMismatch, TransientError
from candlelake.klines import FULL_SCHEMA
from candlelake.sources.binance_archive import (
    ArchiveClient,
    ArchiveFile,
    CorruptArchive,
    archive_url,
    as_daily_files,
    day_completeness,
    parse_checksum,
    parse_kline_csv,
    plan_archive_files,
    read_archive_zip,
    split_days,
)
from candlelake.timeutil import MINUTE_MS, Window, day_window
from candlelake.validate.rules import validate_klines
from fixtures.simulator import REALDATA

REAL = REALDATA
SPOT = REAL / "spot_klines"
BASE = "https://data.binance.vision"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def expected_rows(path: Path) -> list[dict[str, object]]:
    """The independent oracle: csv module + int()/float() of each decimal string, µs -> ms by hand."""
    rows = []
    with path.open(newline="") as fh:
        for rec in csv.reader(fh):
            if not rec or not rec[0].strip().isdigit():
                continue
            open_t, close_t = int(rec[0]), int(rec[6])
            if len(rec[0]) >= 16:  # microsecond file: 16 digits
                open_t, close_t = open_t // 1000, close_t // 1000
            rows.append(
                {
                    "timestamp": open_t,
                    "open": float(rec[1]),
                    "high": float(rec[2]),
                    "low": float(rec[3]),
                    "close": float(rec[4]),
                    "volume": float(rec[5]),
                    "close_time": close_t,
                    "quote_volume": float(rec[7]),
                    "number_of_trades": int(rec[8]),
                    "taker_buy_base_volume": float(rec[9]),
                    "taker_buy_quote_volume": float(rec[10]),
                }
            )
    return rows


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --------------------------------------------------------------------------- URLs and planning


def test_archive_url_matches_documented_layout() -> None:
    # Literal URLs from binance.md §4.1.
    assert (
        archive_url(BASE, "spot", "daily", "BTC_USDT", "2024-01-01")
        == "https://data.binance.vision/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip"
    )
    assert (
        archive_url(BASE, "futures", "daily", "BTC_USDT", "2024-01-01")
        == "https://data.binance.vision/data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip"
    )
    assert (
        archive_url(BASE + "/", "spot", "monthly", "BTC_USDT", "2024-01")
        == "https://data.binance.vision/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip"
    )
    assert archive_url(
        "http://127.0.0.1:9", "spot", "daily", "ETH_BTC", "2020-01-01", interval="1h"
    ).endswith("/data/spot/daily/klines/ETHBTC/1h/ETHBTC-1h-2020-01-01.zip")


def _covered(files: list[ArchiveFile]) -> list[date]:
    return sorted(d for f in files for d in f.days)


def test_plan_whole_months_monthly_rest_daily() -> None:
    days = days_between(date(2024, 1, 15), date(2024, 3, 10))
    files = plan_archive_files(BASE, "futures", "BTC_USDT", days, today=date(2024, 6, 1))
    monthly = [f for f in files if f.period == "monthly"]
    daily = [f for f in files if f.period == "daily"]
    assert [f.label for f in monthly] == ["2024-02"]
    assert monthly[0].days == tuple(days_between(date(2024, 2, 1), date(2024, 2, 29)))
    assert monthly[0].url == f"{BASE}/data/futures/um/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-02.zip"
    assert [f.label for f in daily] == [d.isoformat() for d in days if d.month != 2]
    assert all(len(f.days) == 1 and f.days[0].isoformat() == f.label for f in daily)
    # Each requested day exactly once, files sorted by first day.
    assert _covered(files) == days
    assert [f.days[0] for f in files] == sorted(f.days[0] for f in files)


def test_plan_skips_unpublished_days_and_young_months() -> None:
    today = date(2024, 3, 5)
    days = days_between(date(2024, 2, 1), date(2024, 3, 10))
    files = plan_archive_files(BASE, "spot", "BTC_USDT", days, today=today)
    # February ended 4 days ago: too young for its monthly file, so daily files.
    assert {f.period for f in files} == {"daily"}
    # Today and later are not planned; yesterday is.
    assert _covered(files) == days_between(date(2024, 2, 1), date(2024, 3, 4))
    stricter = plan_archive_files(BASE, "spot", "BTC_USDT", days, today=today, daily_min_age_days=2)
    assert _covered(stricter)[-1] == date(2024, 3, 3)
    # Once February is old enough, the monthly file is used.
    later = plan_archive_files(BASE, "spot", "BTC_USDT", days, today=date(2024, 3, 20))
    assert [f.label for f in later if f.period == "monthly"] == ["2024-02"]


def test_plan_input_order_and_duplicates_do_not_matter() -> None:
    days = days_between(date(2023, 12, 30), date(2024, 1, 31))
    shuffled = list(reversed(days)) + days[:5]
    a = plan_archive_files(BASE, "spot", "BTC_USDT", days, today=date(2025, 1, 1))
    b = plan_archive_files(BASE, "spot", "BTC_USDT", shuffled, today=date(2025, 1, 1))
    assert a == b
    assert [f.label for f in a] == ["2023-12-30", "2023-12-31", "2024-01"]


def test_plan_forced_daily_and_forced_monthly() -> None:
    days = days_between(date(2024, 1, 10), date(2024, 2, 29))
    daily = plan_archive_files(
        BASE, "spot", "BTC_USDT", days, today=date(2024, 6, 1), download_period="daily"
    )
    assert len(daily) == len(days) and {f.period for f in daily} == {"daily"}
    monthly = plan_archive_files(
        BASE, "spot", "BTC_USDT", days, today=date(2024, 6, 1), download_period="monthly"
    )
    assert [(f.period, f.label) for f in monthly] == [("monthly", "2024-01"), ("monthly", "2024-02")]
    # A partial month still covers only the requested days of it.
    assert monthly[0].days == tuple(days_between(date(2024, 1, 10), date(2024, 1, 31)))
    assert _covered(monthly) == days
    # Forced monthly, month not over: there is no monthly file, ended days use daily files.
    current = plan_archive_files(
        BASE, "spot", "BTC_USDT", days, today=date(2024, 2, 10), download_period="monthly"
    )
    assert [(f.period, f.label) for f in current][:1] == [("monthly", "2024-01")]
    assert [f.label for f in current[1:]] == [
        d.isoformat() for d in days_between(date(2024, 2, 1), date(2024, 2, 9))
    ]
    with pytest.raises(ValueError, match="download period"):
        plan_archive_files(BASE, "spot", "BTC_USDT", days, today=date(2024, 6, 1), download_period="weekly")  # type: ignore[arg-type]


def test_plan_every_day_planned_once_or_unpublishable() -> None:
    # Property over many "today" values: planned days are exactly the ended, old-enough ones.
    days = days_between(date(2023, 11, 20), date(2024, 2, 10))
    for offset in range(-5, 100, 3):
        today = date(2023, 12, 1) + timedelta(days=offset)
        files = plan_archive_files(BASE, "futures", "ETH_USDT", days, today=today)
        covered = _covered(files)
        assert len(covered) == len(set(covered))
        assert covered == [d for d in days if d < today]
        for f in files:
            if f.period == "monthly":
                n = calendar.monthrange(f.days[0].year, f.days[0].month)[1]
                assert len(f.days) == n


def test_as_daily_files_expands_a_monthly_file() -> None:
    [monthly] = plan_archive_files(
        BASE, "spot", "BTC_USDT", days_between(date(2024, 2, 1), date(2024, 2, 29)), today=date(2024, 6, 1)
    )
    daily = as_daily_files(monthly, base_url=BASE)
    assert [f.label for f in daily] == [d.isoformat() for d in monthly.days]
    assert daily[3].url == f"{BASE}/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-02-04.zip"


# --------------------------------------------------------------------------- CSV parsing


@pytest.mark.parametrize(
    "path",
    [
        SPOT / "BTCUSDT-1m-2020-01-01.csv",
        SPOT / "BTCUSDT-1m-2020-01-02.csv",
        SPOT / "BTCUSDT-1h-2026-05-08.csv",
        SPOT / "BTCUSDT-1h-2026-05-09.csv",
        REAL / "um_klines" / "BTCUSDT-1m-2022-05-06.csv",
        REAL / "format_samples" / "bbgo_spot_BTCUSDT-1m-2026-09-15.excerpt.csv",
        REAL / "format_samples" / "bbgo_um_BTCUSDT-1h-2026-09-15.excerpt.csv",
    ],
    ids=lambda p: p.name,
)
def test_real_files_parse_exactly(path: Path) -> None:
    # pyarrow's CSV float parser must give exactly Python's float() of each decimal string.
    table = parse_kline_csv(path.read_bytes())
    assert table.schema == FULL_SCHEMA
    want = expected_rows(path)
    assert len(want) > 0
    assert table.to_pylist() == want


def test_microsecond_days_land_on_the_right_minutes() -> None:
    table = parse_kline_csv((SPOT / "BTCUSDT-1h-2026-05-08.csv").read_bytes())
    assert table.column("timestamp")[0].as_py() == ms("2026-05-08T00:00:00")
    assert table.column("close_time")[0].as_py() == ms("2026-05-08T01:00:00") - 1
    sample = parse_kline_csv(
        (REAL / "format_samples" / "bbgo_spot_BTCUSDT-1m-2026-09-15.excerpt.csv").read_bytes()
    )
    assert sample.column("timestamp").to_pylist()[:2] == [
        ms("2026-09-15T00:00:00"),
        ms("2026-09-15T00:01:00"),
    ]


def test_real_days_pass_validation_complete() -> None:
    for name, day in [
        ("BTCUSDT-1m-2020-01-01.csv", date(2020, 1, 1)),
        ("BTCUSDT-1m-2020-01-02.csv", date(2020, 1, 2)),
    ]:
        table = parse_kline_csv((SPOT / name).read_bytes())
        checked = validate_klines(table, day_window(day))
        assert checked.problems == () and checked.table.num_rows == 1440
        assert day_completeness(table, day) == (1440, [])
    um = parse_kline_csv((REAL / "um_klines" / "BTCUSDT-1m-2022-05-06.csv").read_bytes())
    assert validate_klines(um, day_window(date(2022, 5, 6))).problems == ()


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_header_crlf_no_trailing_newline_and_ms_us_mix() -> None:
    header = _lines(REAL / "format_samples" / "bbgo_um_BTCUSDT-1h-2026-09-15.excerpt.csv")[0]
    ms_rows = _lines(SPOT / "BTCUSDT-1m-2020-01-01.csv")[:3]
    us_rows = _lines(REAL / "format_samples" / "bbgo_spot_BTCUSDT-1m-2026-09-15.excerpt.csv")[:2]
    data = b"\r\n".join([header, *ms_rows, *us_rows])  # CRLF, no final newline
    table = parse_kline_csv(data)
    assert table.num_rows == 5
    assert table.column("timestamp").to_pylist() == [
        ms("2020-01-01T00:00:00"),
        ms("2020-01-01T00:01:00"),
        ms("2020-01-01T00:02:00"),
        ms("2026-09-15T00:00:00"),
        ms("2026-09-15T00:01:00"),
    ]
    assert table.column("close_time").to_pylist()[-1] == ms("2026-09-15T00:02:00") - 1
    # Extra blank lines and a trailing newline change nothing.
    assert parse_kline_csv(b"\n".join([*ms_rows, b"", b""]) + b"\n").equals(
        parse_kline_csv(b"\n".join(ms_rows))
    )


def test_float_parsing_equals_python_float_on_hard_decimals() -> None:
    # Arrow's CSV float parser must round every decimal string exactly as float() does:
    # random 8-decimal prices and volumes across magnitudes, plus classic hard cases.
    rng = random.Random(5)
    texts = [f"{rng.uniform(0, 10 ** rng.randint(-6, 9)):.8f}" for _ in range(20_000)]
    texts += [f"{rng.randint(0, 10**17)}.{rng.randint(0, 10**8 - 1):08d}" for _ in range(5_000)]
    texts += ["0.1", "0.30000000000000004", "9007199254740993.00000000", "2.2250738585072011e-308"]
    texts += ["1.00000000000000011102230246251565404236316680908203125", "7186.68000000", "0.00000001"]
    base = _lines(SPOT / "BTCUSDT-1m-2020-01-01.csv")[0].decode().split(",")
    rows = []
    for i, text in enumerate(texts):
        fields = list(base)
        fields[0] = str(ms("2020-01-01T00:00:00") + i * MINUTE_MS)
        fields[5] = text  # volume
        rows.append(",".join(fields))
    table = parse_kline_csv("\n".join(rows).encode())
    assert table.column("volume").to_pylist() == [float(t) for t in texts]


def test_leading_blank_lines_before_a_header() -> None:
    sample = (REAL / "format_samples" / "bbgo_um_BTCUSDT-1h-2026-09-15.excerpt.csv").read_bytes()
    assert parse_kline_csv(b"\r\n\n" + sample).equals(parse_kline_csv(sample))


def test_eleven_columns_and_bom_are_accepted() -> None:
    rows = _lines(SPOT / "BTCUSDT-1m-2020-01-01.csv")[:2]
    eleven = b"\n".join(r.rsplit(b",", 1)[0] for r in rows)
    assert parse_kline_csv(b"\xef\xbb\xbf" + eleven).equals(parse_kline_csv(b"\n".join(rows)))


def test_empty_and_header_only_give_empty_tables() -> None:
    header = _lines(REAL / "format_samples" / "bbgo_um_BTCUSDT-1h-2026-09-15.excerpt.csv")[0]
    for data in (b"", b"\n", header + b"\n"):
        table = parse_kline_csv(data)
        assert table.num_rows == 0 and table.schema == FULL_SCHEMA


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02PK garbage\xff",
        b"<html><body>404 Not Found</body></html>\n",
        b"1577836800000,1,2,3\n",
        b"1577836800000,7195.24,7196.25,7183.14,7186.68,51.6,1577836859999,371233.5,493,19.5,140888.4,0\n"
        b"1577836860000,7187.67,abc,7182.20,7184.03,7.2,1577836919999,52080.1,135,2.0,14599.2,0\n",
        b"1577836800000,7195.24,7196.25,7183.14,7186.68,51.6,1577836859999,371233.5,493,19.5,140888.4,0\n"
        b"1577836860000,7187.67,7188.06\n",
        b"1577836800000,7195.24,7196.25,7183.14,7186.68,51.6,1577836859999,371233.5,,19.5,140888.4,0\n",
        b"calc_time,funding_interval_hours,last_funding_rate\n1775088000003,8,0.0001\n",
    ],
)
def test_garbage_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="malformed kline CSV"):
        parse_kline_csv(data)


# --------------------------------------------------------------------------- CHECKSUM


@pytest.mark.parametrize(
    "name", ["BTCUSDT-1m-2020-01-01.zip", "BTCUSDT-1m-2020-01-02.zip", "BTCUSDT-1h-2026-05-08.zip"]
)
def test_parse_real_checksums(name: str) -> None:
    raw = (SPOT / f"{name}.CHECKSUM").read_bytes()
    sha = hashlib.sha256((SPOT / name).read_bytes()).hexdigest()
    assert parse_checksum(raw) == (sha, name)
    assert parse_checksum(raw.decode()) == (sha, name)
    assert parse_checksum(raw.strip() + b"\r\n\n  ") == (sha, name)


def test_parse_checksum_variants_and_garbage() -> None:
    sha = "A" * 64
    assert parse_checksum(f"{sha} *X.zip") == ("a" * 64, "X.zip")
    for bad in ("", "abc  X.zip", "a" * 64, "g" * 64 + "  X.zip", b"\xff\xfe"):
        with pytest.raises(ValueError, match="malformed CHECKSUM"):
            parse_checksum(bad)


def test_read_archive_zip_real_and_tampered() -> None:
    name = "BTCUSDT-1m-2020-01-01.zip"
    zip_bytes = (SPOT / name).read_bytes()
    checksum = (SPOT / f"{name}.CHECKSUM").read_bytes()
    table, sha = read_archive_zip(zip_bytes, checksum, file_name=name)
    assert sha == hashlib.sha256(zip_bytes).hexdigest()
    assert table.to_pylist() == expected_rows(SPOT / "BTCUSDT-1m-2020-01-01.csv")
    with pytest.raises(ChecksumMismatch, match="does not match"):
        read_archive_zip(_flip_last_byte(zip_bytes), checksum, file_name=name)
    with pytest.raises(ChecksumMismatch, match="names"):
        read_archive_zip(zip_bytes, checksum, file_name="BTCUSDT-1m-2020-01-02.zip")
    corrupt = zip_bytes[: len(zip_bytes) // 2]
    with pytest.raises(CorruptArchive, match="corrupt zip"):
        read_archive_zip(corrupt, _checksum_for(corrupt, name), file_name=name)


# --------------------------------------------------------------------------- day helpers


def test_split_days_groups_by_utc_day() -> None:
    one = parse_kline_csv((SPOT / "BTCUSDT-1m-2020-01-01.csv").read_bytes())
    two = parse_kline_csv((SPOT / "BTCUSDT-1m-2020-01-02.csv").read_bytes())
    both = pa.concat_tables([two, one])  # out of order on purpose
    parts = split_days(both, [date(2020, 1, 2), date(2020, 1, 1), date(2020, 1, 3)])
    assert list(parts) == [date(2020, 1, 1), date(2020, 1, 2), date(2020, 1, 3)]
    assert parts[date(2020, 1, 1)].equals(one)
    assert parts[date(2020, 1, 2)].equals(two)
    assert parts[date(2020, 1, 3)].num_rows == 0 and parts[date(2020, 1, 3)].schema == FULL_SCHEMA
    only_second = split_days(both, [date(2020, 1, 2)])
    assert list(only_second) == [date(2020, 1, 2)] and only_second[date(2020, 1, 2)].num_rows == 1440


def test_day_completeness_finds_missing_runs() -> None:
    day = date(2020, 1, 1)
    full = parse_kline_csv((SPOT / "BTCUSDT-1m-2020-01-01.csv").read_bytes())
    # Drop the first minute, 10:00..10:59 and the last minute: an incomplete file.
    ts = full.column("timestamp").to_pylist()
    drop = {ms("2020-01-01T00:00:00"), ms("2020-01-01T23:59:00")}
    drop |= {ms("2020-01-01T10:00:00") + i * MINUTE_MS for i in range(60)}
    short = full.filter(pa.array([t not in drop for t in ts]))
    rows, missing = day_completeness(short, day)
    assert rows == 1440 - 62
    assert missing == [
        Window(ms("2020-01-01T00:00:00"), ms("2020-01-01T00:01:00")),
        Window(ms("2020-01-01T10:00:00"), ms("2020-01-01T11:00:00")),
        Window(ms("2020-01-01T23:59:00"), ms("2020-01-02T00:00:00")),
    ]
    assert day_completeness(FULL_SCHEMA.empty_table(), day) == (0, [day_window(day)])
    # As many rows as the day has bars, but one minute twice and 12:00 missing.
    noon = ms("2020-01-01T12:00:00")
    twice = full.filter(pa.array([t != noon for t in ts]))
    twice = pa.concat_tables([twice, twice.slice(0, 1)]).sort_by("timestamp")
    assert twice.num_rows == 1440
    assert day_completeness(twice, day) == (1439, [Window(noon, noon + MINUTE_MS)])
    # ... or one row 30 s off the grid instead of 12:00.
    odd = twice.slice(0, 1).set_column(0, "timestamp", pa.array([noon + 30_000]))
    off = pa.concat_tables([twice.slice(1), odd])
    assert day_completeness(off.sort_by("timestamp"), day) == (1439, [Window(noon, noon + MINUTE_MS)])
    # Rows of another day do not count for this one.
    assert day_completeness(full, date(2020, 1, 2)) == (0, [day_window(date(2020, 1, 2))])


# --------------------------------------------------------------------------- async client


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def _checksum_for(data: bytes, name: str) -> bytes:
    return f"{hashlib.sha256(data).hexdigest()}  {name}".encode()


def _zip(csv_name: str, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(csv_name, payload)
    return buf.getvalue()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class FakeArchive:
    """Serves files from a dict by URL path and counts requests per path."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.hits: dict[str, int] = {}
        self.faults: dict[str, list[int | str]] = {}  # path -> statuses / "hang" / "reset" to serve first

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        queue = self.faults.get(path)
        if queue:
            fault = queue.pop(0)
            if fault == "hang":
                await asyncio.sleep(1.5)  # past the client timeout of 0.5 s
            elif fault == "reset":
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            else:
                return web.Response(status=int(fault))
        if path not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[path])


def _real_daily(base: str, day: str) -> tuple[ArchiveFile, dict[str, bytes]]:
    d = date.fromisoformat(day)
    [file] = plan_archive_files(base, "spot", "BTC_USDT", [d], today=date(2026, 1, 1))
    name = f"BTCUSDT-1m-{day}.zip"
    path = file.url.removeprefix(base)
    return file, {
        path: (SPOT / name).read_bytes(),
        path + ".CHECKSUM": (SPOT / f"{name}.CHECKSUM").read_bytes(),
    }


def _run(coro: Awaitable[object]) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_client_fetches_verifies_and_parses_real_file() -> None:
    async def scenario() -> None:
        fake = FakeArchive({})
        async with serve(fake.handle) as base:
            file, files = _real_daily(base, "2020-01-01")
            fake.files.update(files)
            async with ArchiveClient(concurrency=2, timeout_s=5, retries=2, backoff_s=0.01) as client:
                got = await client.fetch(file)
                assert got.table is not None
                assert got.table.to_pylist() == expected_rows(SPOT / "BTCUSDT-1m-2020-01-01.csv")
                assert got.sha256 == hashlib.sha256(files[file.url.removeprefix(base)]).hexdigest()
                assert await client.fetch_checksum(file) == got.sha256
            assert sorted(fake.hits.values()) == [1, 2]  # zip once, CHECKSUM twice

    _run(scenario())


def test_client_404_gives_none() -> None:
    async def scenario() -> None:
        fake = FakeArchive({})
        async with serve(fake.handle) as base:
            file, files = _real_daily(base, "2020-01-01")
            async with ArchiveClient(retries=1, backoff_s=0.01) as client:
                got = await client.fetch(file)
                assert got.table is None and got.sha256 is None
                assert got.missing_reason is not None and "404" in got.missing_reason
                assert await client.fetch_checksum(file) is None
                # The zip is there but its CHECKSUM is not (yet): unverifiable, so not used.
                zip_path = file.url.removeprefix(base)
                fake.files[zip_path] = files[zip_path]
                got = await client.fetch(file)
                assert got.table is None and ".CHECKSUM" in (got.missing_reason or "")

    _run(scenario())


def test_client_checksum_mismatch_redownloads_once_then_names_file() -> None:
    async def scenario() -> None:
        fake = FakeArchive({})
        async with serve(fake.handle) as base:
            file, files = _real_daily(base, "2020-01-01")
            zip_path = file.url.removeprefix(base)
            fake.files.update(files)
            fake.files[zip_path] = _flip_last_byte(files[zip_path])
            async with ArchiveClient(retries=1, backoff_s=0.01) as client:
                with pytest.raises(ChecksumMismatch) as err:
                    await client.fetch(file)
            assert err.value.url == file.url
            assert file.url in str(err.value)
            assert not isinstance(err.value, CorruptArchive)
            assert fake.hits[zip_path] == 2
            assert fake.hits[zip_path + ".CHECKSUM"] == 2

    _run(scenario())


def test_client_mismatch_then_good_copy_succeeds() -> None:
    # A file replaced between the zip and the CHECKSUM GET: the re-download fixes it.
    async def scenario() -> None:
        fake = FakeArchive({})
        async with serve(fake.handle) as base:
            file, files = _real_daily(base, "2020-01-02")
            zip_path = file.url.removeprefix(base)
            fake.files.update(files)
            good = files[zip_path]
            fake.files[zip_path] = b"stale" + good

            async def handle(request: web.Request) -> web.StreamResponse:
                response = await fake.handle(request)
                if request.path == zip_path:
                    fake.files[zip_path] = good
                return response

            async with serve(handle) as base2:
                file2 = ArchiveFile(
                    file.market, file.symbol, file.period, file.label, file.days, base2 + zip_path
                )
                async with ArchiveClient(retries=1, backoff_s=0.01) as client:
                    got = await client.fetch(file2)
                    assert got.table is not None and got.table.num_rows == 1440
                    assert client.stats.redownloads == 1

    _run(scenario())


def test_client_corrupt_zip_fails_after_one_redownload() -> None:
    async def scenario() -> None:
        fake = FakeArchive({})
        async with serve(fake.handle) as base:
            file, files = _real_daily(base, "2020-01-01")
            zip_path = file.url.removeprefix(base)
            corrupt = files[zip_path][:500]
            fake.files[zip_path] = corrupt
            fake.files[zip_path + ".CHECKSUM"] = _checksum_for(corrupt, file.file_name)
            async with ArchiveClient(retries=1, backoff_s=0.01) as client:
                with pytest.raises(CorruptArchive) as err:
                    await client.fetch(file)
            assert err.value.url == file.url and file.url in str(err.value)
            assert fake.hits[zip_path] == 2

    _run(scenario())


def test_client_garbage_csv_in_valid_zip_is_corrupt() -> None:
    async def scenario() -> None:
        fake = FakeArchive({})
        async with serve(fake.handle) as base:
            file, _ = _real_daily(base, "2020-01-01")
            zip_path = file.url.removeprefix(base)
            bad = _zip("BTCUSDT-1m-2020-01-01.csv", b"not,a,kline\n")
            fake.files[zip_path] = bad
            fake.files[zip_path + ".CHECKSUM"] = _checksum_for(bad, file.file_name)
            async with ArchiveClient(retries=1, backoff_s=0.01) as client:
                with pytest.raises(CorruptArchive, match="malformed kline CSV"):
                    await client.fetch(file)

    _run(scenario())


def test_client_retries_5xx_hang_and_reset() -> None:
    async def scenario() -> None:
        fake = FakeArchive({})
        async with serve(fake.handle) as base:
            file, files = _real_daily(base, "2020-01-01")
            zip_path = file.url.removeprefix(base)
            fake.files.update(files)
            fake.faults[zip_path] = [503, "hang", "reset", 500]
            fake.faults[zip_path + ".CHECKSUM"] = [502]
            async with ArchiveClient(timeout_s=0.5, retries=4, backoff_s=0.01, max_backoff_s=0.05) as client:
                got = await client.fetch(file)
                assert got.table is not None and got.table.num_rows == 1440
            # Every fault was served and then the good body. aiohttp itself re-sends once
            # on a reset keep-alive connection, so the reset may not cost us a retry.
            assert fake.faults[zip_path] == [] and fake.faults[zip_path + ".CHECKSUM"] == []
            assert fake.hits[zip_path] == 5
            assert client.stats.retries in (4, 5)

    _run(scenario())


def test_client_persistent_5xx_raises_transient_error() -> None:
    async def scenario() -> None:
        fake = FakeArchive({})
        async with serve(fake.handle) as base:
            file, files = _real_daily(base, "2020-01-01")
            zip_path = file.url.removeprefix(base)
            fake.files.update(files)
            fake.faults[zip_path] = [503] * 10
            async with ArchiveClient(retries=2, backoff_s=0.01, max_backoff_s=0.02) as client:
                with pytest.raises(TransientError, match="503"):
                    await client.fetch(file)
            assert fake.hits[zip_path] == 3

    _run(scenario())


def test_client_bounds_files_in_flight() -> None:
    async def scenario() -> None:
        in_flight = 0
        peak = 0
        fake = FakeArchive({})

        async def handle(request: web.Request) -> web.StreamResponse:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.05)
            in_flight -= 1
            return await fake.handle(request)

        async with serve(handle) as base:
            files = []
            for day in ("2020-01-01", "2020-01-02"):
                file, payload = _real_daily(base, day)
                fake.files.update(payload)
                files += [file] * 4
            async with ArchiveClient(concurrency=2, backoff_s=0.01) as client:
                results = await asyncio.gather(*(client.fetch(f) for f in files))
            assert all(r.table is not None and r.table.num_rows == 1440 for r in results)
            assert 2 <= peak <= 4  # concurrent, but at most 2 files x (zip + CHECKSUM)

    _run(scenario())


def test_client_cut_off_body_is_retried_not_counted_as_redownload() -> None:
    async def scenario() -> None:
        fake = FakeArchive({})
        async with serve(fake.handle) as base:
            file, files = _real_daily(base, "2020-01-01")
            zip_path = file.url.removeprefix(base)
            fake.files.update(files)
            good = files[zip_path]
            served = 0

            async def handle(request: web.Request) -> web.StreamResponse:
                nonlocal served
                if request.path == zip_path:
                    served += 1
                    if served <= 2:  # two cut-off transfers without Content-Length, then whole
                        response = web.StreamResponse()
                        await response.prepare(request)
                        await response.write(good[: len(good) // 2])
                        await response.write_eof()
                        return response
                return await fake.handle(request)

            async with serve(handle) as base2:
                file2 = ArchiveFile(
                    file.market, file.symbol, file.period, file.label, file.days, base2 + zip_path
                )
                async with ArchiveClient(retries=3, backoff_s=0.01) as client:
                    got = await client.fetch(file2)
                    assert got.table is not None and got.table.num_rows == 1440
                    assert client.stats.redownloads == 0 and client.stats.retries == 2
                    served = -100  # from now on always cut off
                    with pytest.raises(ChecksumMismatch, match="cut-off") as err:
                        await client.fetch(file2)
                    assert err.value.url == file2.url

    _run(scenario())
