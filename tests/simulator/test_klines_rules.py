"""Klines parameters, selection, intervals and errors follow Binance's documented rules."""

import itertools
import json
from decimal import Decimal

import pytest

from candlelake.simulator import SimConfig, truth
from candlelake.simulator.config import parse_time_ms
from fixtures.simulator import DEFAULT_CLOCK, http_get

NOW = parse_time_ms(DEFAULT_CLOCK.split(":", 1)[1])  # 2024-02-20T01:20:30Z
MIN = 60_000
DAY = 86_400_000


def klines(sim, path="/api/v3/klines", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, _headers, body = http_get(f"{sim.url}{path}?{query}")
    return status, json.loads(body) if body else None


def test_row_shape_and_types(simulator):
    status, rows = klines(simulator, symbol="ETHUSDT", interval="1m", startTime=1700000000000, limit=3)
    assert status == 200 and len(rows) == 3
    for r in rows:
        assert len(r) == 12
        assert all(isinstance(r[i], int) for i in (0, 6, 8))
        assert all(isinstance(r[i], str) for i in (1, 2, 3, 4, 5, 7, 9, 10))
        assert r[6] == r[0] + MIN - 1 and r[11] == "0"
        assert r[0] % MIN == 0 and r[0] >= 1700000000000
        assert all(len(r[i].split(".")[1]) == 8 for i in (1, 2, 3, 4, 5, 7, 9, 10))  # spot: 8 decimals


def test_ohlc_consistency_and_futures_precision(simulator):
    _, rows = klines(
        simulator, "/fapi/v1/klines", symbol="DOGEUSDT", interval="1m", startTime=1690000000000, limit=1500
    )
    assert len(rows) == 1500
    for prev, r in itertools.pairwise(rows):
        assert r[0] - prev[0] == MIN
    for r in rows:
        o, h, low, c, v, q, tb, tq = (Decimal(r[i]) for i in (1, 2, 3, 4, 5, 7, 9, 10))
        assert h >= max(o, c) and low <= min(o, c) and low > 0
        assert v > 0 and tb <= v and tq <= q and r[8] >= 1
        assert low <= q / v <= h  # VWAP inside the candle
        # DOGEUSDT USD-M: pricePrecision 6, quantityPrecision 0 (exchangeInfo)
        assert len(r[1].split(".")[1]) == 6 and "." not in r[5]
        assert (o * 10**6) % 10 == 0  # tickSize 0.000010


def test_limit_default_and_maximum(simulator):
    start = 1700000000000
    assert len(klines(simulator, symbol="BTCUSDT", interval="1m", startTime=start)[1]) == 500
    assert len(klines(simulator, symbol="BTCUSDT", interval="1m", startTime=start, limit=5000)[1]) == 1000
    assert (
        len(
            klines(
                simulator, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", startTime=start, limit=5000
            )[1]
        )
        == 1500
    )


def test_limit_above_max_can_be_an_error(make_simulator):
    sim = make_simulator(limit_above_max="error")
    status, body = klines(sim, symbol="BTCUSDT", interval="1m", limit=1001)
    assert status == 400 and body["code"] == -1130


def test_start_end_selection(simulator):
    base = 1700000000000 - 1700000000000 % MIN
    # startTime only: oldest first from it; non-aligned start -> first candle opening at/after it
    _, rows = klines(simulator, symbol="BTCUSDT", interval="1m", startTime=base - 1, limit=2)
    assert [r[0] for r in rows] == [base, base + MIN]
    # endTime only: the newest up to endTime
    _, rows = klines(simulator, symbol="BTCUSDT", interval="1m", endTime=base, limit=3)
    assert [r[0] for r in rows] == [base - 2 * MIN, base - MIN, base]
    # both: from start, never past end
    _, rows = klines(
        simulator, symbol="BTCUSDT", interval="1m", startTime=base, endTime=base + 2 * MIN, limit=10
    )
    assert [r[0] for r in rows] == [base, base + MIN, base + 2 * MIN]
    # neither: the latest, ending with the candle of the current minute (still forming)
    _, rows = klines(simulator, symbol="BTCUSDT", interval="1m", limit=2)
    assert [r[0] for r in rows] == [NOW - NOW % MIN - MIN, NOW - NOW % MIN]
    assert rows[-1][6] >= NOW  # closeTime in the future: not closed yet


def test_empty_ranges(simulator):
    # before BTCUSDT spot listing (2017-08-17) and a range in the future
    assert (
        klines(simulator, symbol="BTCUSDT", interval="1m", startTime=1400000000000, endTime=1400000600000)[1]
        == []
    )
    assert klines(simulator, symbol="BTCUSDT", interval="1m", startTime=NOW + DAY)[1] == []


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/api/v3/klines", {"symbol": "NOPE", "interval": "1m"}, 400, -1121),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "2m"}, 400, -1120),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1S"}, 400, -1120),  # case-sensitive
        ("/api/v3/klines", {"interval": "1m"}, 400, -1102),
        ("/api/v3/klines", {"symbol": "BTCUSDT"}, 400, -1102),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "ten"}, 400, -1100),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "startTime": "-5"}, 400, -1100),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "0"}, 400, -1130),
        (
            "/fapi/v1/klines",
            {"symbol": "BTCUSDT", "interval": "1m", "startTime": "10", "endTime": "5"},
            400,
            -1023,
        ),
        ("/fapi/v1/klines", {"symbol": "ETHBTC", "interval": "1m"}, 400, -1121),  # spot-only symbol
    ],
)
def test_error_bodies(simulator, path, params, status, code):
    got_status, body = klines(simulator, path, **params)
    assert got_status == status and body["code"] == code and isinstance(body["msg"], str)


def test_unknown_endpoint_is_404(simulator):
    assert http_get(simulator.url + "/api/v3/nonexistent")[0] == 404


def _aggregate(rows):
    d = [[Decimal(x) if isinstance(x, str) else x for x in r] for r in rows]
    return [
        d[0][1], max(r[2] for r in d), min(r[3] for r in d), d[-1][4], sum(r[5] for r in d),
        sum(r[7] for r in d), sum(r[8] for r in d), sum(r[9] for r in d), sum(r[10] for r in d),
    ]  # fmt: skip


@pytest.mark.parametrize(("interval", "minutes"), [("1h", 60), ("1d", 1440)])
def test_larger_intervals_aggregate_the_1m_candles(simulator, interval, minutes):
    start = 1704067200000  # 2024-01-01, aligned for both
    _, big = klines(simulator, symbol="SOLUSDT", interval=interval, startTime=start, limit=2)
    _, small = klines(
        simulator,
        symbol="SOLUSDT",
        interval="1m",
        startTime=start,
        limit=minutes * 2 if minutes * 2 <= 1000 else 1000,
    )
    if minutes * 2 > 1000:
        small = truth.klines(
            SimConfig(seed=7, clock=DEFAULT_CLOCK), "spot", "SOLUSDT", start, start + 2 * minutes * MIN - 1
        )
    for i, candle in enumerate(big):
        assert candle[0] == start + i * minutes * MIN
        assert candle[6] == candle[0] + minutes * MIN - 1
        part = small[i * minutes : (i + 1) * minutes]
        got = [
            Decimal(candle[k]) if isinstance(candle[k], str) else candle[k]
            for k in (1, 2, 3, 4, 5, 7, 8, 9, 10)
        ]
        assert got == _aggregate(part)


def test_forming_candle_changes_and_truth_excludes_it(make_simulator):
    minute = NOW - NOW % MIN
    seen = []
    for second in (5, 45):
        cfg = SimConfig(seed=7, clock=f"frozen:{minute + second * 1000}")
        sim = make_simulator(cfg)
        _, rows = klines(sim, symbol="BTCUSDT", interval="1m", startTime=minute - MIN, limit=5)
        assert [r[0] for r in rows] == [minute - MIN, minute]
        seen.append(rows)
        closed = truth.klines(cfg, "spot", "BTCUSDT", minute - MIN, minute + MIN)
        assert [r[0] for r in closed] == [minute - MIN]
        assert closed[0] == rows[0]
    assert seen[0][0] == seen[1][0]  # the closed candle never changes
    assert seen[0][1] != seen[1][1]  # the forming one does
    assert Decimal(seen[0][1][5]) < Decimal(seen[1][1][5])  # volume accumulates


def test_microsecond_start_time_is_accepted(simulator):
    base = 1700000040000
    _, ms_rows = klines(simulator, symbol="BTCUSDT", interval="1m", startTime=base, limit=2)
    _, us_rows = klines(simulator, symbol="BTCUSDT", interval="1m", startTime=base * 1000, limit=2)
    assert ms_rows == us_rows
