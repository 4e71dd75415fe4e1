"""Request weight, X-MBX-USED-WEIGHT headers, 429 + Retry-After and 418 bans (binance.md §3)."""

import json
import time

import pytest

from fixtures.simulator import http_get


def used(headers):
    return int(headers["X-MBX-USED-WEIGHT-1M"])


def wait_for_fresh_window(seconds):
    """Start a test at the beginning of a real-time window so it cannot straddle two."""
    time.sleep(seconds - time.time() % seconds + 0.02)


@pytest.mark.parametrize(
    ("path", "weight"),
    [
        ("/api/v3/ping", 1),
        ("/api/v3/time", 1),
        ("/api/v3/exchangeInfo", 20),
        ("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000", 2),
        ("/fapi/v1/ping", 1),
        ("/fapi/v1/exchangeInfo", 1),
        ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=99", 1),
        ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=100", 2),
        ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=499", 2),
        ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m", 5),  # default limit 500
        ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1000", 5),
        ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1001", 10),
    ],
)
def test_weights(make_simulator, path, weight):
    sim = make_simulator(seed=1, window_seconds=3600)
    _, h1, _ = http_get(sim.url + path)
    _, h2, _ = http_get(sim.url + path)
    assert used(h2) - used(h1) == weight and used(h1) == weight
    assert ("X-MBX-USED-WEIGHT" in h1) == path.startswith("/api/")


def test_budgets_are_per_market_and_per_client(make_simulator):
    sim = make_simulator(seed=1, window_seconds=3600)
    http_get(sim.url + "/api/v3/exchangeInfo")
    _, fut, _ = http_get(sim.url + "/fapi/v1/ping")
    _, other, _ = http_get(sim.url + "/api/v3/ping", {"X-Sim-Client": "10.0.0.2"})
    assert used(fut) == 1 and used(other) == 1


def test_header_on_errors_too(make_simulator):
    sim = make_simulator(seed=1, window_seconds=3600)
    status, headers, _ = http_get(sim.url + "/api/v3/klines?symbol=NOPE&interval=1m")
    assert status == 400 and used(headers) == 2


def test_429_then_418(make_simulator):
    window = 2.0
    sim = make_simulator(seed=1, window_seconds=window, futures_weight_limit=10, ban_after_429s=2)
    wait_for_fresh_window(window)
    answers = [http_get(sim.url + "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=10") for _ in range(13)]
    # weight 1 each: 10 fit the budget, the next two get 429, the one after that is a ban
    assert [a[0] for a in answers] == [200] * 10 + [429, 429, 418]
    for _status, headers, body in answers[10:12]:
        assert json.loads(body)["code"] == -1003 and "request weight" in json.loads(body)["msg"]
        assert 1 <= int(headers["Retry-After"]) <= window
    _, ban_headers, ban_body = answers[12]
    msg = json.loads(ban_body)
    assert msg["code"] == -1003 and "IP banned until" in msg["msg"]
    # the first ban is 2 minutes scaled by window/60 -> 4 s
    assert int(ban_headers["Retry-After"]) == 4
    banned_until = int(msg["msg"].split("until ")[1].split(".")[0])
    assert abs(banned_until / 1000 - time.time() - 4) < 1.5
    assert http_get(sim.url + "/fapi/v1/ping")[0] == 418  # still banned
    assert http_get(sim.url + "/api/v3/ping")[0] == 200  # the spot budget is separate


def test_ban_sequence_escalates(make_simulator):
    sim = make_simulator(seed=1, window_seconds=60, futures_weight_limit=1, ban_after_429s=0, ban_scale=0.005)
    bans = []
    for _ in range(2):
        while True:
            status, headers, _ = http_get(sim.url + "/fapi/v1/ping")
            if status == 418:
                bans.append(float(headers["Retry-After"]))
                time.sleep(bans[-1] + 0.05)
                break
    # 120 s * 0.005 = 0.6 s -> Retry-After 1; the next ban doubles: 1.2 s -> 2
    assert bans == [1, 2]


def test_reset_clears_weight_and_bans(make_simulator):
    sim = make_simulator(seed=1, window_seconds=3600, spot_weight_limit=20, ban_after_429s=0)
    http_get(sim.url + "/api/v3/exchangeInfo")
    assert http_get(sim.url + "/api/v3/ping")[0] == 418
    stats = sim.stats()
    assert stats["endpoints"]["/api/v3/ping"]["418"] == 1
    assert stats["clients"]["127.0.0.1"]["weight"] == 21
    sim.reset()
    status, headers, _ = http_get(sim.url + "/api/v3/ping")
    assert status == 200 and used(headers) == 1


def test_rate_limits_can_be_disabled(make_simulator):
    sim = make_simulator(seed=1, rate_limits=False, spot_weight_limit=1)
    assert {http_get(sim.url + "/api/v3/exchangeInfo")[0] for _ in range(5)} == {200}


def test_exchange_info_advertises_the_configured_limit(make_simulator):
    sim = make_simulator(seed=1, window_seconds=6, futures_weight_limit=240)
    body = json.loads(http_get(sim.url + "/fapi/v1/exchangeInfo")[2])
    weight = next(x for x in body["rateLimits"] if x["rateLimitType"] == "REQUEST_WEIGHT")
    assert weight == {"rateLimitType": "REQUEST_WEIGHT", "interval": "SECOND", "intervalNum": 6, "limit": 240}
