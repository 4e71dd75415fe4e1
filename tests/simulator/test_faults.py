"""Latency and fault injection: deterministic per seed, retries eventually succeed."""

import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from fixtures.simulator import http_get

KLINES = "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=5&startTime="


def statuses(sim, n, attempt_rounds=1):
    out = []
    for _ in range(attempt_rounds):
        out.append([http_get(f"{sim.url}{KLINES}{1700000000000 + i * 60_000}")[0] for i in range(n)])
    return out


def test_error_share_is_deterministic_and_retries_succeed(make_simulator):
    a = make_simulator(seed=9, error_rate=0.3, fault_max_attempts=2, rate_limits=False)
    b = make_simulator(seed=9, error_rate=0.3, fault_max_attempts=2, rate_limits=False)
    c = make_simulator(seed=10, error_rate=0.3, fault_max_attempts=2, rate_limits=False)
    runs_a, runs_b, runs_c = (statuses(s, 60, attempt_rounds=3) for s in (a, b, c))
    assert runs_a == runs_b  # same seed, same answers
    assert runs_a[0] != runs_c[0]
    first = runs_a[0]
    failures = [s for s in first if s != 200]
    assert set(failures) <= {500, 502, 503} and 8 <= len(failures) <= 30
    assert runs_a[2] == [200] * 60  # the third attempt of every request succeeds


def test_5xx_bodies(make_simulator):
    sim = make_simulator(seed=1, error_rate=1.0, error_statuses=(503,))
    status, _, body = http_get(sim.url + KLINES + "1700000000000")
    assert status == 503
    assert json.loads(body)["msg"] == "Unknown error, please check your request or try again later."
    status, _, body = http_get(sim.url + "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=5")
    assert status == 503 and json.loads(body)["msg"] == "Service Unavailable."


def test_fail_symbols_always_fail(make_simulator):
    sim = make_simulator(seed=1, fail_symbols=("futures:ETHUSDT",), rate_limits=False)
    for i in range(8):
        assert http_get(sim.url + f"/fapi/v1/klines?symbol=ETHUSDT&interval=1m&startTime={i}")[0] in (
            500,
            503,
        )
    assert http_get(sim.url + "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=5")[0] == 200
    assert http_get(sim.url + "/api/v3/klines?symbol=ETHUSDT&interval=1m&limit=5")[0] == 200


def test_truncated_body_is_invalid_json(make_simulator):
    sim = make_simulator(seed=1, truncate_rate=1.0)
    status, _, body = http_get(sim.url + KLINES + "1700000000000")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_connection_reset(make_simulator):
    sim = make_simulator(seed=1, reset_rate=1.0)
    with pytest.raises((urllib.error.URLError, ConnectionError, socket.error, http_exceptions())):
        urllib.request.urlopen(sim.url + KLINES + "1700000000000", timeout=5).read()


def http_exceptions():
    import http.client

    return http.client.HTTPException


def test_hang_and_latency(make_simulator):
    sim = make_simulator(seed=1, hang_rate=1.0, hang_seconds=0.6, latency_ms=100)
    t0 = time.monotonic()
    assert http_get(sim.url + KLINES + "1700000000000")[0] == 200
    assert time.monotonic() - t0 >= 0.7
    t0 = time.monotonic()
    assert http_get(sim.url + "/fapi/v1/ping")[0] == 200  # not a fault target by default
    assert 0.1 <= time.monotonic() - t0 < 0.6


def test_archive_faults_target(make_simulator):
    sim = make_simulator(seed=1, error_rate=1.0)
    path = "/data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip"
    got = [http_get(sim.url + path)[0] for _ in range(4)]
    assert all(s in (500, 502, 503) for s in got[:3]) and got[3] == 200  # fault_max_attempts=3
