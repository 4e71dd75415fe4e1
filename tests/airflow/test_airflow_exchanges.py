"""Upstream's production jobs in one daily DAG: binance spot v7, binance futures v7.3,
binanceus spot v7 and okx futures v7.3, run by Airflow 3 against the simulator.

The repository's DAG file is copied unchanged under a `test.` name, so the test stage's local
runner runs each job as `candlelake download-bulk` in its own process.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

pytest.importorskip("airflow")

from candlelake.simulator import SimConfig, Simulator, truth
from fixtures.airflow_home import task_states

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SOURCE = "preprod.download_periodic_daily_ohlcv_data_production_fargate"
NAME = "test.download_periodic_daily_ohlcv_data_production"
RUN_AT = dt.datetime(2024, 2, 20, 1, 20, tzinfo=dt.UTC)  # downloads 2024-02-19
DAY_START = int(dt.datetime(2024, 2, 19, tzinfo=dt.UTC).timestamp() * 1000)
# (task, dataset tail, simulator market, venue symbol of ETH_USDT)
JOBS = [
    ("download.periodic_daily.ccxt.binance.spot.v7", "spot/v7/ccxt/binance", "spot", "ETHUSDT"),
    ("download.periodic_daily.ccxt.binance.futures.v7.3", "futures/v7_3/ccxt/binance", "futures", "ETHUSDT"),
    ("download.periodic_daily.ccxt.binanceus.spot.v7", "spot/v7/ccxt/binanceus", "binanceus:spot", None),
    ("download.periodic_daily.ccxt.okx.futures.v7.3", "futures/v7_3/ccxt/okx", "okx:swap", "ETH-USDT-SWAP"),
]


def test_the_four_production_jobs_run_in_one_daily_dag(
    airflow_dags: Path, run_dag: Callable[..., Any], tmp_path: Path
) -> None:
    cfg = SimConfig(seed=11, clock="frozen:2024-02-20T01:20:30Z")
    lake = tmp_path / "lake"
    with Simulator(cfg) as sim:
        shutil.copy(REPO / "dags" / f"{SOURCE}.py", airflow_dags / f"{NAME}.py")
        (airflow_dags / "candlelake_dags.toml").write_text(
            f"""
[stages.test]
lake_url = {json.dumps(str(lake))}
extra_args = ["--universe_part", "1", "1"]

[stages.test.env]
CANDLELAKE_BINANCE_URL = "{sim.url}"
CANDLELAKE_BINANCE_ARCHIVE_URL = "{sim.url}"
CANDLELAKE_OKX_URL = "{sim.url}"
CANDLELAKE_BINANCEUS_URL = "{sim.url}/binanceus"
CANDLELAKE_REST_ATTEMPTS = "2"
"""
        )
        dr = run_dag(airflow_dags / f"{NAME}.py", logical_date=RUN_AT)
    states = task_states(dr)
    assert dr.state == "success", states
    assert all(states[task] == "success" for task, *_ in JOBS)
    for task, tail, market, eth in JOBS:
        root = lake / "v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv" / tail / "v1_0_0"
        # --universe_part 1 1: the first symbol of each universe (ETH_USDT; APE_USDT on binanceus)
        (pair,) = [p.name for p in root.iterdir() if p.name.startswith("currency_pair=")]
        symbol = pair.removeprefix("currency_pair=")
        venue_symbol = eth if symbol == "ETH_USDT" else "APEUSDT"
        table = pq.read_table(root / pair / "year=2024/month=2/2024-02-19.parquet")
        expected = truth.klines(cfg, market, venue_symbol, DAY_START, DAY_START + 86_400_000 - 60_000)
        assert len(expected) == 1440, task
        assert table.column("close").to_pylist() == [float(r[4]) for r in expected], task
