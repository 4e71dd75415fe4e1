"""download-bulk end to end: the real CLI, ccxt over HTTP to the simulator, a real lake."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import candlelake
from candlelake.simulator import SimConfig, Simulator

from .helpers import REALDATA, as_ohlcv, bulk_args, day_ms, expected_rows, lake_ohlcv, run_cli

FROZEN = "frozen:2024-02-20T01:20:00Z"


def dataset(root: Path, market: str, universe: str = "v7", vendor: str = "ccxt") -> Path:
    return (
        root / "v3/periodic_daily/manual/downloaded_1min/parquet/ohlcv" / market / universe.replace(".", "_")
        / vendor / "binance/v1_0_0"
    )  # fmt: skip


@pytest.fixture(scope="module")
def sim():
    cfg = SimConfig(seed=11, clock=FROZEN)
    with Simulator(cfg) as server:
        yield cfg, server


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_futures_day_equals_ground_truth_and_rerun_is_identical(sim, tmp_path):
    cfg, server = sim
    args = bulk_args(
        sim_url=server.url,
        market="futures",
        universe="v7.3",
        start="2024-02-19T00:00:00+00:00",
        end="2024-02-19T23:59:00+00:00",
        dst=str(tmp_path),
        extra=["--universe_part", "3", "1", "--assert_on_missing_data"],
    )
    assert run_cli(args) == 0
    root = dataset(tmp_path, "futures", "v7.3")
    start, end = day_ms("2024-02-19")
    for symbol in ("ETH_USDT", "BTC_USDT", "SAND_USDT"):
        files = list((root / f"currency_pair={symbol}/year=2024/month=2").iterdir())
        assert [f.name for f in files] == ["2024-02-19.parquet"]
        table = pq.read_table(files[0])
        expected = as_ohlcv(expected_rows(cfg, "futures", symbol.replace("_", ""), start, end))
        assert len(expected) == 1440
        assert lake_ohlcv(table) == expected
        assert set(table.column("exchange_id").to_pylist()) == {"binance"}
    before = file_digests(tmp_path)
    assert run_cli(args) == 0
    assert file_digests(tmp_path) == before
    # --force re-downloads and replaces the same files: same names, same rows, no duplicates.
    assert run_cli([*args, "--force"]) == 0
    assert file_digests(tmp_path).keys() == before.keys()
    frame = candlelake.read(str(root), ["BTC_USDT"], "2024-02-19", "2024-02-19T23:59:00")
    assert frame.index.is_unique and len(frame) == 1440


def test_spot_real_recorded_days_come_out_exactly(tmp_path):
    cfg = SimConfig(seed=3, clock="frozen:2020-01-05T00:00:00Z")
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="spot",
            start="2020-01-01T00:00:00+00:00",
            end="2020-01-02T23:59:00+00:00",
            dst=str(tmp_path),
            extra=["--universe_part", "1", "2"],  # v7's second symbol is BTC_USDT
        )
        assert run_cli(args) == 0
    got = candlelake.read(str(dataset(tmp_path, "spot")), ["BTC_USDT"], as_="arrow")
    recorded = []
    for day in ("2020-01-01", "2020-01-02"):
        with open(REALDATA / f"spot_klines/BTCUSDT-1m-{day}.csv") as fh:
            recorded += [[int(r[0]), *r[1:]] for r in csv.reader(fh)]
    got = got.sort_by("timestamp")
    assert lake_ohlcv(got) == as_ohlcv(recorded)


def test_futures_real_recorded_day_keeps_all_twelve_fields_with_vendor_binance(tmp_path):
    cfg = SimConfig(seed=3, clock="frozen:2022-05-08T00:00:00Z")
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="futures",
            vendor="binance",
            start="2022-05-06T00:00:00+00:00",
            end="2022-05-06T23:59:00+00:00",
            dst=str(tmp_path),
            extra=["--universe_part", "1", "2"],
        )
        assert run_cli(args) == 0
    path = dataset(tmp_path, "futures", vendor="binance") / "currency_pair=BTC_USDT/year=2022/month=5"
    table = pq.read_table(next(path.iterdir()))
    with open(REALDATA / "um_klines/BTCUSDT-1m-2022-05-06.csv") as fh:
        recorded = list(csv.reader(fh))
    assert table.num_rows == len(recorded) == 1440
    cols = {c: table.column(c).to_pylist() for c in table.column_names}
    for i, r in enumerate(recorded):
        assert cols["timestamp"][i] == int(r[0])
        assert cols["close_time"][i] == int(r[6])
        assert cols["number_of_trades"][i] == int(r[8])
        for name, idx in (
            ("open", 1), ("high", 2), ("low", 3), ("close", 4), ("volume", 5),
            ("quote_volume", 7), ("taker_buy_base_volume", 9), ("taker_buy_quote_volume", 10),
        ):  # fmt: skip
            assert cols[name][i] == float(r[idx]), (name, i)
