"""Recorded real days are served byte-exactly over REST and in the archive."""

import csv
import hashlib
import io
import json
import zipfile

import pytest

from fixtures.simulator import http_get, realdata_bytes

DAYS = [
    ("/api/v3/klines", "spot_klines/BTCUSDT-1m-2020-01-01.csv", 1577836800000),
    ("/api/v3/klines", "spot_klines/BTCUSDT-1m-2020-01-02.csv", 1577923200000),
    ("/fapi/v1/klines", "um_klines/BTCUSDT-1m-2022-05-06.csv", 1651795200000),
]


def recorded_rows(name):
    rows = list(csv.reader(io.StringIO(realdata_bytes(name).decode())))
    return [[int(r[0]), *r[1:6], int(r[6]), r[7], int(r[8]), *r[9:12]] for r in rows]


@pytest.mark.parametrize(("path", "name", "start"), DAYS)
def test_rest_serves_the_recorded_day(simulator, path, name, start):
    expected = recorded_rows(name)
    assert len(expected) == 1440
    got = []
    for offset in (0, 1000):
        _, _, body = http_get(
            f"{simulator.url}{path}?symbol=BTCUSDT&interval=1m&startTime={start + offset * 60_000}&limit=1000"
        )
        got += json.loads(body)
    assert got[:1440] == expected


@pytest.mark.parametrize("day", ["2020-01-01", "2020-01-02"])
def test_spot_archive_serves_the_original_zip_and_checksum(simulator, day):
    base = f"{simulator.url}/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-{day}.zip"
    _, _, zip_bytes = http_get(base)
    _, _, checksum = http_get(base + ".CHECKSUM")
    assert zip_bytes == realdata_bytes(f"spot_klines/BTCUSDT-1m-{day}.zip")
    assert checksum == realdata_bytes(f"spot_klines/BTCUSDT-1m-{day}.zip.CHECKSUM")


def test_futures_archive_day_has_the_recorded_rows(simulator):
    base = f"{simulator.url}/data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2022-05-06.zip"
    _, _, zip_bytes = http_get(base)
    _, _, checksum = http_get(base + ".CHECKSUM")
    assert checksum.decode() == f"{hashlib.sha256(zip_bytes).hexdigest()}  BTCUSDT-1m-2022-05-06.zip"
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        assert zf.namelist() == ["BTCUSDT-1m-2022-05-06.csv"]
        lines = zf.read("BTCUSDT-1m-2022-05-06.csv").decode().splitlines()
    assert lines[0].startswith("open_time,open,high")  # UM files carry a header from 2022-05
    assert lines[1:] == realdata_bytes("um_klines/BTCUSDT-1m-2022-05-06.csv").decode().splitlines()


def test_replay_can_be_switched_off(make_simulator):
    sim = make_simulator(seed=7, replay_real_days=False)
    _, _, body = http_get(
        f"{sim.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=1577836800000&limit=5"
    )
    assert json.loads(body) != recorded_rows("spot_klines/BTCUSDT-1m-2020-01-01.csv")[:5]
