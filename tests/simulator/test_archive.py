"""data.binance.vision layout: files, checksums, formats, publication, listing, faults."""

import hashlib
import io
import json
import re
import zipfile
from xml.etree import ElementTree

from candlelake.simulator import SimConfig
from fixtures.simulator import http_get

NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
UM = "/data/futures/um/daily/klines"
SPOT = "/data/spot/daily/klines"


def fetch_zip(sim, path):
    status, _, zip_bytes = http_get(sim.url + path)
    assert status == 200, path
    _, _, checksum = http_get(sim.url + path + ".CHECKSUM")
    return zip_bytes, checksum


def csv_lines(zip_bytes):
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        (name,) = zf.namelist()
        return zf.read(name).decode().splitlines()


def rest_day(sim, path, symbol, day_ms):
    rows = []
    for offset in (0, 1000):
        _, _, body = http_get(
            f"{sim.url}{path}?symbol={symbol}&interval=1m&startTime={day_ms + offset * 60_000}&limit=1000"
        )
        rows += json.loads(body)
    return [r for r in rows if r[0] < day_ms + 86_400_000]


def as_csv(rows, micro=False):
    out = []
    for r in rows:
        r = list(r)
        if micro:
            r[0], r[6] = r[0] * 1000, r[6] * 1000 + 999
        out.append(",".join(str(x) for x in r))
    return out


def test_checksum_format_and_hash(simulator):
    zip_bytes, checksum = fetch_zip(simulator, f"{UM}/ETHUSDT/1m/ETHUSDT-1m-2024-01-15.zip")
    assert re.fullmatch(rb"[0-9a-f]{64}  ETHUSDT-1m-2024-01-15\.zip", checksum)  # no newline
    assert checksum[:64].decode() == hashlib.sha256(zip_bytes).hexdigest()


def test_daily_futures_file_equals_rest(simulator):
    zip_bytes, _ = fetch_zip(simulator, f"{UM}/ETHUSDT/1m/ETHUSDT-1m-2024-01-15.zip")
    lines = csv_lines(zip_bytes)
    assert lines[0].split(",")[0] == "open_time"
    assert lines[1:] == as_csv(rest_day(simulator, "/fapi/v1/klines", "ETHUSDT", 1705276800000))
    assert len(lines) == 1441


def test_old_futures_files_have_no_header(simulator):
    lines = csv_lines(fetch_zip(simulator, f"{UM}/ETHUSDT/1m/ETHUSDT-1m-2021-03-01.zip")[0])
    assert lines[0][0].isdigit() and len(lines) == 1440


def test_spot_files_are_headerless_and_microseconds_from_2025(simulator, make_simulator):
    sim = make_simulator(seed=7, clock="frozen:2025-03-01T00:00:00Z")
    lines = csv_lines(fetch_zip(sim, f"{SPOT}/BNBUSDT/1m/BNBUSDT-1m-2025-01-01.zip")[0])
    assert lines == as_csv(rest_day(sim, "/api/v3/klines", "BNBUSDT", 1735689600000), micro=True)
    assert lines[0].startswith("1735689600000000,") and lines[0].split(",")[6] == "1735689659999999"
    old = csv_lines(fetch_zip(sim, f"{SPOT}/BNBUSDT/1m/BNBUSDT-1m-2024-12-31.zip")[0])
    assert old[0].startswith("1735603200000,")


def test_monthly_file_is_the_days_concatenated(simulator):
    month = csv_lines(
        fetch_zip(simulator, "/data/futures/um/monthly/klines/SOLUSDT/1m/SOLUSDT-1m-2023-02.zip")[0]
    )
    assert len(month) == 1 + 28 * 1440
    day = csv_lines(fetch_zip(simulator, f"{UM}/SOLUSDT/1m/SOLUSDT-1m-2023-02-10.zip")[0])
    assert month[1 + 9 * 1440 : 1 + 10 * 1440] == day[1:]


def test_publication_delay(make_simulator):
    # default delay 8 h: the 2024-02-19 file appears at 2024-02-20T08:00Z
    path = f"{UM}/BTCUSDT/1m/BTCUSDT-1m-2024-02-19.zip"
    before = make_simulator(seed=1, clock="frozen:2024-02-20T07:59:00Z")
    after = make_simulator(seed=1, clock="frozen:2024-02-20T08:00:00Z")
    assert http_get(before.url + path)[0] == 404
    assert http_get(after.url + path)[0] == 200
    assert http_get(after.url + "/data/futures/um/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-02.zip")[0] == 404
    assert http_get(after.url + "/data/futures/um/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip")[0] == 200


def test_same_seed_same_bytes_different_seed_different(make_simulator):
    path = f"{UM}/XRPUSDT/1m/XRPUSDT-1m-2023-06-01.zip"
    a, b, c = (make_simulator(seed=s) for s in (3, 3, 4))
    assert fetch_zip(a, path) == fetch_zip(b, path)
    assert fetch_zip(a, path)[0] != fetch_zip(c, path)[0]


def test_archive_faults(make_simulator):
    sim = make_simulator(
        seed=2,
        missing_archive_days=("futures:BTCUSDT:2024-01-0[12]",),
        corrupt_archive_files=("futures:ETHUSDT:2024-01-01",),
        bad_checksum_files=("futures:SOLUSDT:2024-01-01",),
        incomplete_archive_files=("futures:XRPUSDT:2024-01-01",),
    )
    assert http_get(sim.url + f"{UM}/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip")[0] == 404
    assert http_get(sim.url + f"{UM}/BTCUSDT/1m/BTCUSDT-1m-2024-01-02.zip.CHECKSUM")[0] == 404
    assert http_get(sim.url + f"{UM}/BTCUSDT/1m/BTCUSDT-1m-2024-01-03.zip")[0] == 200
    corrupt, checksum = fetch_zip(sim, f"{UM}/ETHUSDT/1m/ETHUSDT-1m-2024-01-01.zip")
    assert hashlib.sha256(corrupt).hexdigest() != checksum[:64].decode()
    try:
        csv_lines(corrupt)
    except (zipfile.BadZipFile, zipfile.error, OSError, ValueError, EOFError):
        pass
    else:
        raise AssertionError("a corrupt zip must not read back cleanly")
    zip_bytes, checksum = fetch_zip(sim, f"{UM}/SOLUSDT/1m/SOLUSDT-1m-2024-01-01.zip")
    assert hashlib.sha256(zip_bytes).hexdigest() != checksum[:64].decode()
    assert len(csv_lines(zip_bytes)) == 1441  # the zip itself is fine
    zip_bytes, checksum = fetch_zip(sim, f"{UM}/XRPUSDT/1m/XRPUSDT-1m-2024-01-01.zip")
    assert hashlib.sha256(zip_bytes).hexdigest() == checksum[:64].decode()
    assert 1 < len(csv_lines(zip_bytes)) < 1441  # valid file, rows missing


def _list(sim, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, _, body = http_get(f"{sim.url}/?{query}")
    assert status == 200
    return ElementTree.fromstring(body)


def test_listing_pages_with_markers(make_simulator):
    sim = make_simulator(seed=1, clock="frozen:2022-04-10T12:00:00Z", list_page_size=100)
    prefix = "data/futures/um/daily/klines/APEUSDT/1m/"
    keys, marker, pages = [], "", 0
    while True:
        root = _list(sim, prefix=prefix, delimiter="/", marker=marker)
        pages += 1
        page = [e.text for e in root.findall("s3:Contents/s3:Key", NS)]
        keys += page
        if root.find("s3:IsTruncated", NS).text != "true":
            break
        marker = root.find("s3:NextMarker", NS).text
        assert marker == page[-1]
    # APEUSDT futures listed 2022-03-17; days 03-17 .. 04-09 published by 04-10 12:00 (8 h delay)
    assert len(keys) == 2 * 24 and pages == 1
    sim2 = make_simulator(seed=1, clock="frozen:2022-04-10T12:00:00Z", list_page_size=10)
    keys2, marker = [], ""
    while True:
        root = _list(sim2, prefix=prefix, delimiter="/", marker=marker)
        keys2 += [e.text for e in root.findall("s3:Contents/s3:Key", NS)]
        if root.find("s3:IsTruncated", NS).text != "true":
            break
        marker = root.find("s3:NextMarker", NS).text
    assert keys2 == keys == sorted(keys)
    assert keys[0].endswith("APEUSDT-1m-2022-03-17.zip") and keys[1].endswith(".zip.CHECKSUM")
    assert keys[-1].endswith("APEUSDT-1m-2022-04-09.zip.CHECKSUM")


def test_listing_common_prefixes(simulator):
    root = _list(simulator, prefix="data/futures/um/daily/klines/", delimiter="/")
    prefixes = [e.text for e in root.findall("s3:CommonPrefixes/s3:Prefix", NS)]
    assert "data/futures/um/daily/klines/BTCUSDT/" in prefixes
    assert "data/futures/um/daily/klines/BTCBUSD/" not in prefixes  # BUSD pairs are spot only
    assert root.find("s3:Prefix", NS).text == "data/futures/um/daily/klines/"


def test_unknown_file_is_404(simulator):
    assert http_get(simulator.url + f"{UM}/NOPE/1m/NOPE-1m-2024-01-01.zip")[0] == 404
    assert http_get(simulator.url + f"{UM}/BTCUSDT/1m/BTCUSDT-1m-2015-01-01.zip")[0] == 404


def test_config_round_trip(simulator):
    _, _, body = http_get(simulator.url + "/_sim/config")
    assert SimConfig.from_dict(json.loads(body)) == simulator.cfg
