"""`candlelake.read_aligned`: a perpetual's candles, mark price and funding on one time axis, vs truth."""

from __future__ import annotations

import math
from pathlib import Path

import candlelake
from candlelake.simulator import SimConfig, Simulator, truth

from .helpers import bulk_args, day_ms, run_cli

CFG = SimConfig(seed=61, clock="frozen:2024-06-16T00:00:00Z", funding_4h_from="2024-06-15T00:00:00Z")
SYMBOL = "ETHUSDT"  # the first of the futures universe v7


def download(server, lake: Path, data_type: str, action_tag: str, start: str) -> None:
    args = bulk_args(
        sim_url=server.url, market="futures", vendor="binance", start=start,
        end="2024-06-15T11:59:00+00:00", dst=str(lake),
    )  # fmt: skip
    args[args.index("--data_type") + 1] = data_type
    args[args.index("--action_tag") + 1] = action_tag
    args += ["--no_archive", "--universe_part", "1", "1"]
    assert run_cli(args) == 0


def test_one_call_returns_candles_mark_price_and_funding_aligned_on_time(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with Simulator(CFG) as server:
        download(server, lake, "ohlcv", "downloaded_1min", "2024-06-14T20:00:00+00:00")
        download(server, lake, "mark_price", "downloaded_1min", "2024-06-14T20:00:00+00:00")
        download(server, lake, "funding_rate", "downloaded_all", "2024-06-14T00:00:00+00:00")
    start, end = day_ms("2024-06-14")[0] + 20 * 3_600_000, day_ms("2024-06-15")[0] + 12 * 3_600_000
    frame = candlelake.read_aligned(str(lake), ["ETH_USDT"], start, end - 1)
    candles = truth.klines(CFG, market="futures", symbol=SYMBOL, start_ms=start, end_ms=end - 1)
    marks = {
        r[0]: r
        for r in truth.klines(
            CFG, market="futures", symbol=SYMBOL, start_ms=start, end_ms=end - 1, kind="markPriceKlines"
        )
    }
    funding = truth.funding(CFG, SYMBOL, start - 24 * 3_600_000, end)
    assert len(frame) == len(candles) == 16 * 60
    assert frame["timestamp"].tolist() == [r[0] for r in candles]
    assert frame["close"].tolist() == [float(r[4]) for r in candles]
    assert frame["mark_close"].tolist() == [float(marks[r[0]][4]) for r in candles]
    assert frame["mark_high"].tolist() == [float(marks[r[0]][2]) for r in candles]
    for t, rate, ts in zip(
        frame["timestamp"], frame["funding_rate"], frame["funding_timestamp"], strict=True
    ):
        last = [f for f in funding if f[0] - f[0] % 60_000 <= t][-1]
        assert (rate, ts) == (float(last[1]), last[0]) and not math.isnan(rate)
    # The 4 h schedule from 2024-06-15: settlements at 00:00, 04:00 and 08:00 start their minutes.
    changes = frame.index[frame["funding_timestamp"].diff().fillna(0) != 0]
    assert [t.strftime("%m-%d %H:%M") for t in changes] == ["06-15 00:00", "06-15 04:00", "06-15 08:00"]
    assert set(frame.loc[changes, "funding_interval_hours"]) == {8, 4}
