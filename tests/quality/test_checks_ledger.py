"""Row checks on simulator days with faults put in, the ledger under concurrent writers, and
the cross-check of two datasets of the same market (REST via ccxt vs the archive)."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from candlelake.lake import DatasetLocation, LakeWriter
from candlelake.lake.schema import DayMeta
from candlelake.simulator import SimConfig, Simulator
from candlelake.timeutil import Window
from candlelake.validate.checks import CheckSettings, _median, check_rows
from candlelake.validate.rules import validate_klines
from integration.helpers import bulk_args, day_ms, expected_rows, run_cli

DAY = "2024-02-18"
KNOWLEDGE = dt.datetime(2024, 2, 20, tzinfo=dt.UTC)


def _truth_table(cfg: SimConfig, symbol: str = "BTCUSDT", day: str = DAY) -> pa.Table:
    rows = expected_rows(cfg, "futures", symbol, *day_ms(day))
    names = ("timestamp", "open", "high", "low", "close", "volume")
    return pa.table(
        {n: pa.array([(int if i == 0 else float)(r[i]) for r in rows]) for i, n in enumerate(names)}
    )


def _shifted(table: pa.Table, first: int, factor: float) -> pa.Table:
    """Every price from row `first` on multiplied by `factor`: one jump, consistent rows."""
    for column in ("open", "high", "low", "close"):
        values = table.column(column).to_pylist()
        values[first:] = [v * factor for v in values[first:]]
        table = table.set_column(table.schema.get_field_index(column), column, pa.array(values))
    return table


def _with(table: pa.Table, column: str, index: int, value: float) -> pa.Table:
    values = table.column(column).to_pylist()
    values[index] = value
    return table.set_column(table.schema.get_field_index(column), column, pa.array(values, pa.float64()))


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "DOGEUSDT", "XRPUSDT"])
@pytest.mark.parametrize("day", ["2024-02-15", "2024-02-18"])
def test_simulator_days_raise_no_finding(sim_config: SimConfig, symbol: str, day: str) -> None:
    assert check_rows(symbol, day, _truth_table(sim_config, symbol, day)) == []


@pytest.mark.parametrize("count", [1, 2, 1439, 1440])
def test_the_jump_yardstick_is_numpys_median_exactly(sim_config: SimConfig, count: int) -> None:
    # The moves and their distances from the median (many ties), odd and even counts. Exactly
    # equal, not bit for bit: numpy 1.x averages a lone middle value, which turns -0.0 into 0.0.
    closes = np.array(_truth_table(sim_config).column("close").to_pylist())
    moves = np.diff(np.log(closes))[:count]
    for values in (moves, np.abs(moves - np.median(moves)), np.round(moves, 4)):
        assert float(_median(values)) == float(np.median(values))


def test_each_fault_is_named_with_its_first_row(sim_config: SimConfig) -> None:
    table = _truth_table(sim_config)
    start, _ = day_ms(DAY)
    cases = {
        "non_finite": _with(table, "close", 10, float("nan")),
        "negative_volume": _with(table, "volume", 20, -1.0),
        "ohlc": _with(table, "low", 30, table.column("high")[30].as_py() + 1),
        "jump": _shifted(table, 700, 1.4),
    }
    firsts = {"non_finite": 10, "negative_volume": 20, "ohlc": 30, "jump": 700}
    for check, faulty in cases.items():
        found = [f for f in check_rows("BTC_USDT", DAY, faulty) if f.severity == "fail"]
        assert [f.check for f in found] == [check], check
        assert found[0].first_ms == start + firsts[check] * 60_000


def test_validated_rows_get_the_same_findings_from_the_shorter_path(sim_config: SimConfig) -> None:
    """The ledger skips the checks validation already made; for rows that passed
    validation that changes no finding, whatever faults the input had."""
    table = _truth_table(sim_config)
    faulty = _shifted(_with(_with(_with(table, "close", 10, float("nan")), "volume", 20, -1.0),
                            "low", 30, table.column("high")[30].as_py() + 1), 700, 1.4)  # fmt: skip
    flat = table
    for column in ("open", "high", "low", "close"):
        for i in range(100, 145):
            flat = _with(flat, column, i, table.column("close")[99].as_py())
    start, end = day_ms(DAY)
    for rows in (table, faulty, flat):
        kept = validate_klines(rows, Window(start, end)).table
        full = check_rows("BTC_USDT", DAY, kept)
        assert check_rows("BTC_USDT", DAY, kept, validated=True) == full
    assert [
        f.check for f in check_rows("BTC_USDT", DAY, validate_klines(faulty, Window(start, end)).table)
    ] == ["jump"]


def test_a_flat_run_is_flagged_not_failed(sim_config: SimConfig, tmp_path: Path, capsys) -> None:
    table = _truth_table(sim_config)
    price = table.column("close")[99].as_py()
    for column in ("open", "high", "low", "close"):
        for i in range(100, 145):
            table = _with(table, column, i, price)
    for i in range(100, 145):
        table = _with(table, "volume", i, 0.0)
    found = check_rows("BTC_USDT", DAY, table)
    assert [(f.check, f.severity, f.count) for f in found] == [("flat_run", "flag", 45)]
    assert check_rows("BTC_USDT", DAY, table, CheckSettings(flat_run_minutes=46)) == []

    writer = LakeWriter(DatasetLocation(str(tmp_path / "ds")))
    day = dt.date.fromisoformat(DAY)
    meta = DayMeta("BTC_USDT", day, *day_ms(DAY), table.num_rows, True, "rest")
    writer.write_day("BTC_USDT", day, table, meta, exchange_id="binance", knowledge_time=KNOWLEDGE)
    capsys.readouterr()
    assert run_cli(["qa", "--lake", str(tmp_path / "ds"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(f["check"], f["severity"]) for f in report["findings"]] == [("flat_run", "flag")]
    assert run_cli(["qa", "--lake", str(tmp_path / "ds"), "--flat-minutes", "60"]) == 0


def _write_days(root: str, days: list[int]) -> None:
    writer = LakeWriter(DatasetLocation(root))
    for d in days:
        day = dt.date(2024, 3, d)
        start, end = day_ms(day.isoformat())
        prices = {c: [1.0] for c in ("open", "high", "low", "close", "volume")}
        table = pa.table({"timestamp": pa.array([start], pa.int64()), **prices})
        meta = DayMeta("BTC_USDT", day, start, end, 1, True, "rest")
        writer.write_day("BTC_USDT", day, table, meta, exchange_id="binance", knowledge_time=KNOWLEDGE)


def test_ledger_keeps_every_day_under_concurrent_writers(tmp_path: Path) -> None:
    root = str(tmp_path / "ds")
    writer = LakeWriter(DatasetLocation(root))
    # Threads of one writer (the pipeline writes from worker threads) ...
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda d: _write_days(root, [d]), range(1, 11)))
    # ... and two processes at once (flock on a local lake).
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_days, args=(root, list(r))) for r in (range(11, 21), range(21, 32))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    entries = writer.ledger.month("BTC_USDT", 2024, 3)
    assert sorted(d.day for d in entries) == list(range(1, 32))
    assert all(e.meta.rows == 1 for e in entries.values())


def test_qa_answers_from_the_files_when_the_ledger_is_lost(tmp_path: Path, capsys) -> None:
    root = tmp_path / "ds"
    _write_days(str(root), [1, 2, 3])
    ledger = root / "_ledger" / "currency_pair=BTC_USDT" / "2024-03.json"
    ledger.write_text("{not json")
    capsys.readouterr()
    assert run_cli(["qa", "--lake", str(root), "--json"]) == 1  # one row a day: holes
    report = json.loads(capsys.readouterr().out)
    assert report["days_from_files"] == 3 and report["days_from_ledger"] == 0
    assert {(f["day"], f["check"], f["count"]) for f in report["findings"]} == {
        (f"2024-03-0{d}", "hole", 1439) for d in (1, 2, 3)
    }


@pytest.mark.slow
def test_cross_check_of_archive_and_rest_datasets(simulator: Simulator, tmp_path: Path, capsys) -> None:
    lake = tmp_path / "lake"
    for vendor in ("ccxt", "binance"):
        first, last = f"{DAY}T00:00:00+00:00", f"{DAY}T23:59:00+00:00"
        args = bulk_args(sim_url=simulator.url, market="futures", universe="v7.3", start=first, end=last,
                         dst=str(lake), vendor=vendor,
                         extra=["--universe_part", "2", "1", "--archive_url", simulator.url])  # fmt: skip
        assert run_cli(args) == 0
    ccxt = "periodic_daily.manual.downloaded_1min.parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0"
    binance = ccxt.replace(".ccxt.", ".binance.")
    qa = ["qa", "--lake", str(lake), "--signature", ccxt, "--symbols", "ETH_USDT,BTC_USDT", "--json",
          "--cross-check", binance]  # fmt: skip
    capsys.readouterr()
    assert run_cli(qa) == 0, capsys.readouterr().out
    # One price changed in the REST dataset: the cross-check names the minute.
    writer = LakeWriter(DatasetLocation(str(lake / ("v3/" + ccxt.replace(".", "/")))))
    day = dt.date.fromisoformat(DAY)
    table = writer.read_day("BTC_USDT", day)
    table = _with(table, "close", 300, table.column("close")[300].as_py() + 0.01)
    meta = writer.read_meta("BTC_USDT", day)
    assert meta is not None
    writer.write_day("BTC_USDT", day, table, meta, exchange_id="binance", knowledge_time=KNOWLEDGE)
    capsys.readouterr()
    assert run_cli(qa) == 1
    report = json.loads(capsys.readouterr().out)
    found = [f for f in report["findings"] if f["severity"] == "fail"]
    assert [(f["symbol"], f["check"], f["count"]) for f in found] == [("BTC_USDT", "cross_check", 1)]
    assert found[0]["first_ms"] == day_ms(DAY)[0] + 300 * 60_000


def _dataset(root: Path, table: pa.Table) -> None:
    writer = LakeWriter(DatasetLocation(str(root)))
    day = dt.date.fromisoformat(DAY)
    meta = DayMeta("BTC_USDT", day, *day_ms(DAY), table.num_rows, True, "rest")
    writer.write_day("BTC_USDT", day, table, meta, exchange_id="binance", knowledge_time=KNOWLEDGE)


def test_cross_check_of_two_markets_compares_closes_within_a_tolerance(
    sim_config: SimConfig, tmp_path: Path
) -> None:
    """Spot vs futures trade different instruments: only closes, within 2 %, are compared.

    The simulator's markets are independent random walks, so the futures side here is the
    spot day with a basis of +0.5 % (what real perpetuals show), then with one close 5 % off.
    """
    from candlelake.quality.crosscheck_lake import cross_check_datasets
    from candlelake.quality.qa import QaRequest

    spot = _truth_table(sim_config)
    futures = _shifted(spot, 0, 1.005)
    lake = tmp_path / "lake"
    spot_root = lake / "v3/periodic_daily/manual/downloaded_1min/parquet/ohlcv/spot/v7/ccxt/binance/v1_0_0"
    futures_root = Path(str(spot_root).replace("/spot/v7/", "/futures/v7_3/"))
    _dataset(spot_root, spot)
    _dataset(futures_root, futures)
    request = QaRequest(DatasetLocation(str(spot_root)), symbols=("BTC_USDT",))
    assert cross_check_datasets(request, DatasetLocation(str(futures_root))) == []

    off = futures.column("close")[900].as_py() * 1.05
    _dataset(futures_root, _with(futures, "close", 900, off))
    (finding,) = cross_check_datasets(request, DatasetLocation(str(futures_root)))
    assert (finding.check, finding.count, finding.first_ms) == (
        "cross_check",
        1,
        day_ms(DAY)[0] + 900 * 60_000,
    )
