"""The daily derivatives DAG (USD-M mark price and funding, COIN-M klines) run by Airflow 3 against
the simulator."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

pytest.importorskip("airflow")

import candlelake
from candlelake.simulator import SimConfig, Simulator, truth
from fixtures.airflow_home import task_states
from integration.test_download_intervals import as_full, lake_full

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DAG = "test.download_periodic_daily_futures_series"
MARK_TASK = "download.periodic_daily.binance.binance.futures.v7.3.mark_price"
FUNDING_TASK = "download.periodic_daily.binance.binance.futures.v7.3.funding_rate"
COINM_TASK = "download.periodic_daily.binance.binance.coin_futures.coinm_v1"
COINM_SERIES = "v3/periodic_daily/airflow/{tag}/parquet/{kind}/coin_futures/coinm_v1/binance/binance/v1_0_0"
RUN_AT = dt.datetime(2024, 2, 20, 1, 20, tzinfo=dt.UTC)  # downloads 2024-02-19
DATASET = "v3/periodic_daily/airflow/{tag}/parquet/{kind}/futures/v7_3/binance/binance/v1_0_0"
COINM_DATASET = (
    "v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv/coin_futures/coinm_v1/binance/binance/v1_0_0"
)
QA_DAG = "test.qa_periodic_daily_futures_series"
QA_SIGNATURE = (
    "periodic_daily.airflow.downloaded_1min.parquet.{kind}.coin_futures.coinm_v1.binance.binance.v1_0_0"
)
DAY_START = int(dt.datetime(2024, 2, 19, tzinfo=dt.UTC).timestamp() * 1000)
DAY_END = DAY_START + 86_400_000 - 1


def test_series_dag_downloads_mark_price_funding_and_coinm_klines_of_the_previous_day(
    airflow_dags: Path, run_dag: Callable[..., Any], tmp_path: Path
) -> None:
    cfg = SimConfig(
        seed=13, clock="frozen:2024-02-20T01:20:30Z", missing_funding=("futures:BTCUSDT:2024-02-19T08",)
    )
    lake = tmp_path / "lake"
    shutil.copy(REPO / "dags" / f"{DAG}.py", airflow_dags / f"{DAG}.py")
    with Simulator(cfg) as sim:
        (airflow_dags / "candlelake_dags.toml").write_text(
            f"""
[stages.test]
lake_url = {json.dumps(str(lake))}
report_dir = {json.dumps(str(tmp_path / "reports"))}
assert_on_missing_data = false
[stages.test.env]
CANDLELAKE_BINANCE_URL = "{sim.url}"
CANDLELAKE_BINANCE_ARCHIVE_URL = "{sim.url}"
"""
        )
        dr = run_dag(airflow_dags / f"{DAG}.py", logical_date=RUN_AT)
        qa = _qa_after_losing_a_day(airflow_dags, run_dag, lake, cfg)
    assert dr.state == "success", task_states(dr)
    # QA of the derivatives: every dataset passes but the one that lost its day, which the
    # repair task downloads again (its file is compared with the truth below).
    lost = f"qa.{QA_SIGNATURE.format(kind='mark_price')}"
    assert {t: s for t, s in qa.items() if t.startswith("qa.") and s != "success"} == {lost: "failed"}
    assert qa[lost.replace("qa.", "repair.", 1)] == "success"
    assert sum(t.startswith("qa.") for t in qa) == 5
    states = task_states(dr)
    assert states[MARK_TASK] == states[FUNDING_TASK] == states[COINM_TASK] == "success"
    assert states[f"{COINM_TASK}.mark_price"] == states[f"{COINM_TASK}.funding_rate"] == "success"
    marks = candlelake.read(str(lake / DATASET.format(tag="downloaded_1min", kind="mark_price")), as_="arrow")
    funding = candlelake.read(
        str(lake / DATASET.format(tag="downloaded_all", kind="funding_rate")), as_="arrow"
    )
    for symbol in ("ETH_USDT", "BTC_USDT"):
        sym = symbol.replace("_", "")
        want = truth.klines(cfg, "futures", sym, DAY_START, DAY_END, kind="markPriceKlines")
        got = marks.filter(pc.equal(marks["currency_pair"], symbol))
        assert got["timestamp"].to_pylist() == [r[0] for r in want]
        assert got["close"].to_pylist() == [float(r[4]) for r in want]
        settled = truth.funding(cfg, sym, DAY_START, DAY_END)
        got = funding.filter(pc.equal(funding["currency_pair"], symbol))
        assert got["timestamp"].to_pylist() == [f[0] for f in settled]
        assert got["funding_rate"].to_pylist() == [float(f[1]) for f in settled]
    # COIN-M: both perpetuals of coinm_v1, every field of every 1m bar of the day.
    coinm = candlelake.read(str(lake / COINM_DATASET), as_="arrow")
    assert sorted(set(coinm["currency_pair"].to_pylist())) == ["BTC_USD_PERP", "ETH_USD_PERP"]
    for contract in ("BTC_USD_PERP", "ETH_USD_PERP"):
        want = truth.klines(cfg, "coin_futures", contract.replace("_", "", 1), DAY_START, DAY_END)
        got = coinm.filter(pc.equal(coinm["currency_pair"], contract)).sort_by("timestamp")
        assert len(want) == 1440 and lake_full(got) == as_full(want)
    # COIN-M mark price klines and funding settlements of both perpetuals.
    marks = candlelake.read(
        str(lake / COINM_SERIES.format(tag="downloaded_1min", kind="mark_price")), as_="arrow"
    )
    funding = candlelake.read(
        str(lake / COINM_SERIES.format(tag="downloaded_all", kind="funding_rate")), as_="arrow"
    )
    for contract in ("BTC_USD_PERP", "ETH_USD_PERP"):
        sym = contract.replace("_", "", 1)
        want = truth.klines(cfg, "coin_futures", sym, DAY_START, DAY_END, kind="markPriceKlines")
        got = marks.filter(pc.equal(marks["currency_pair"], contract)).sort_by("timestamp")
        assert len(want) == 1440 and got["close"].to_pylist() == [float(r[4]) for r in want]
        assert got["timestamp"].to_pylist() == [r[0] for r in want]
        settled = truth.funding(cfg, sym, DAY_START, DAY_END, market="coin_futures")
        got = funding.filter(pc.equal(funding["currency_pair"], contract)).sort_by("timestamp")
        assert len(settled) == 3 and got["timestamp"].to_pylist() == [f[0] for f in settled]
        assert got["funding_rate"].to_pylist() == [float(f[1]) for f in settled]
    # The settlement the exchange did not publish is reported with its reason.
    reports = [json.loads(p.read_text()) for p in (tmp_path / "reports").rglob("*.json")]
    missing = [m for r in reports for s in r["symbols"] for m in s["missing"]]
    assert [(m["start_ms"], m["reason"]) for m in missing] == [
        (
            DAY_START + 8 * 3_600_000,
            "no funding settlement published at its due time (8 h after the previous)",
        )
    ]


def _qa_after_losing_a_day(
    airflow_dags: Path, run_dag: Callable[..., Any], lake: Path, cfg: SimConfig
) -> dict[str, str]:
    """Delete a COIN-M mark price day file, then run the derivatives QA DAG on the day."""
    day_file = next((lake / COINM_SERIES.format(tag="downloaded_1min", kind="mark_price")).rglob("*.parquet"))
    before = day_file.read_bytes()
    day_file.unlink()
    shutil.copy(REPO / "dags" / f"{QA_DAG}.py", airflow_dags / f"{QA_DAG}.py")
    run = run_dag(airflow_dags / f"{QA_DAG}.py", logical_date=RUN_AT, run_conf={"start": "2024-02-19"})
    assert day_file.exists(), task_states(run)
    # The repaired file holds the same rows as the one the download wrote.
    import pyarrow.parquet as pq

    rows = pq.read_table(day_file).drop_columns(["knowledge_timestamp"])
    assert rows.equals(pq.read_table(pa.BufferReader(before)).drop_columns(["knowledge_timestamp"]))
    return task_states(run)
