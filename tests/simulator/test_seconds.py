"""1s candles (spot): every minute's 60 seconds add up to the minute the simulator serves as 1m."""

from __future__ import annotations

from decimal import Decimal

from candlelake.simulator import SimConfig, truth
from candlelake.simulator.archive import Archive, FileRef
from candlelake.simulator.market import Market

CFG = SimConfig(seed=5, clock="frozen:2024-03-02T00:00:00Z")
START = 1709251200000  # 2024-03-01T00:00:00Z


def test_sixty_seconds_add_up_to_their_minute_and_keep_the_candle_rules():
    minutes = truth.klines(CFG, "spot", "BTCUSDT", START, START + 30 * 60_000 - 1, interval="1m")
    seconds = truth.klines(CFG, "spot", "BTCUSDT", START, START + 30 * 60_000 - 1, interval="1s")
    assert len(minutes) == 30 and len(seconds) == 30 * 60
    for i, minute in enumerate(minutes):
        part = seconds[60 * i : 60 * i + 60]
        assert [row[0] for row in part] == [minute[0] + 1000 * k for k in range(60)]
        assert all(row[6] == row[0] + 999 for row in part)
        assert (part[0][1], part[-1][4]) == (minute[1], minute[4])
        assert max(Decimal(row[2]) for row in part) == Decimal(minute[2])
        assert min(Decimal(row[3]) for row in part) == Decimal(minute[3])
        for field in (5, 7, 9, 10):  # volume, quote volume, taker base, taker quote
            assert sum(Decimal(row[field]) for row in part) == Decimal(minute[field])
        assert sum(row[8] for row in part) == minute[8]
        for row in part:
            o, h, lo, c, v, tb = (Decimal(row[j]) for j in (1, 2, 3, 4, 5, 9))
            assert lo <= min(o, c) <= max(o, c) <= h and 0 <= tb <= v


def test_futures_have_no_1s_files_in_the_archive():
    archive = Archive(Market(CFG))
    now = START + 86_400_000 * 2
    assert archive.exists(FileRef("spot", "daily", "BTCUSDT", "1s", "2024-02-28"), now)
    assert not archive.exists(FileRef("futures", "daily", "BTCUSDT", "1s", "2024-02-28"), now)
