"""End to end: the repository's DAG files run by Airflow 3 against the exchange simulator.

The daily DAG and the backfill DAG are copied from ``dags/`` unchanged; only the settings
file beside them differs (lake in tmp_path, simulator URL, a slice of each universe via
``--universe_part`` to keep the suite fast).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("airflow")

import candlelake
from candlelake.simulator import SimConfig, Simulator, truth
from fixtures.airflow_home import task_states
from fixtures.smtp import SmtpServer
from fixtures.telegram import TelegramServer

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DAILY = "test.download_periodic_daily_ohlcv_data"
BACKFILL = "test.backfill_daily_ohlcv_data"
SPOT_TASK = "download.periodic_daily.ccxt.binance.spot.v7"
FUTURES_TASK = "download.periodic_daily.ccxt.binance.futures.v7.3"
RUN_AT = dt.datetime(2024, 2, 20, 1, 20, tzinfo=dt.UTC)  # downloads 2024-02-19
CLOCK = "frozen:2024-02-20T01:20:30Z"
TOKEN = "42:e2e-token"
DATASET = "v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv/{contract}/{universe}/ccxt/binance/v1_0_0"


def _day_ms(day: dt.date) -> tuple[int, int]:
    start = int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)
    return start, start + 86_400_000 - 60_000  # both inclusive


def _install(folder: Path, dag: str, lake: Path, sim_url: str, extra: str = "") -> Path:
    shutil.copy(REPO / "dags" / f"{dag}.py", folder / f"{dag}.py")
    (folder / "candlelake_dags.toml").write_text(
        f"""
[stages.test]
lake_url = {json.dumps(str(lake))}
report_dir = {json.dumps(str(lake.parent / "reports"))}
extra_args = ["--universe_part", "2", "1"]
{extra}
[stages.test.env]
CANDLELAKE_BINANCE_URL = "{sim_url}"
CANDLELAKE_BINANCE_ARCHIVE_URL = "{sim_url}"
CANDLELAKE_REST_ATTEMPTS = "2"
"""
    )
    return folder / f"{dag}.py"


def _assert_day_matches_truth(
    cfg: SimConfig, lake: Path, contract: str, universe: str, symbols: list[str], day: dt.date
) -> None:
    start_ms, end_ms = _day_ms(day)
    dataset = lake / DATASET.format(contract=contract, universe=universe.replace(".", "_"))
    table = candlelake.read(str(dataset), symbols, day, day, as_="arrow")
    market = "futures" if contract == "futures" else "spot"
    for symbol in symbols:
        mine = [
            (t, o, h, lo, c, v)
            for t, o, h, lo, c, v, pair in zip(
                *(
                    table.column(n).to_pylist()
                    for n in ("timestamp", "open", "high", "low", "close", "volume")
                ),
                table.column("currency_pair").to_pylist(),
                strict=True,
            )
            if pair == symbol
        ]
        expected = [
            (int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5]))
            for r in truth.klines(cfg, market, symbol.replace("_", ""), start_ms, end_ms)
        ]
        assert len(expected) == 1440
        assert mine == expected, f"{contract} {symbol}"


def test_daily_dag_writes_exactly_the_previous_day(
    airflow_dags: Path, run_dag: Callable[..., Any], tmp_path: Path
) -> None:
    cfg = SimConfig(seed=11, clock=CLOCK)
    lake = tmp_path / "lake"
    with Simulator(cfg) as sim:
        dag_file = _install(airflow_dags, DAILY, lake, sim.url)
        dr = run_dag(dag_file, logical_date=RUN_AT)
    assert dr.state == "success", task_states(dr)
    assert task_states(dr) == {
        "start_dag": "success",
        SPOT_TASK: "success",
        FUTURES_TASK: "success",
        "end_download": "success",
        "notify_failure": "skipped",
        "end_dag": "success",
    }
    day = dt.date(2024, 2, 19)
    _assert_day_matches_truth(cfg, lake, "spot", "v7", ["ETH_USDT", "BTC_USDT"], day)
    _assert_day_matches_truth(cfg, lake, "futures", "v7.3", ["ETH_USDT", "BTC_USDT"], day)
    # Nothing outside the window: one file per symbol and day, for 2024-02-19 only.
    names = sorted({p.name for p in lake.rglob("*.parquet")})
    assert names == ["2024-02-19.parquet"]


def test_failing_symbol_fails_the_run_alerts_and_keeps_the_other_job(
    airflow_dags: Path,
    run_dag: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_inbox: SmtpServer,
    telegram_api: TelegramServer,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CANDLELAKE_SMTP", smtp_inbox.airflow_conn_json())
    monkeypatch.setenv(
        "AIRFLOW_CONN_TEST_TELEGRAM_CONN", telegram_api.airflow_conn_json(TOKEN, chat_id="-1001")
    )
    alerts = """
email_on_failure = true
emails = ["oncall@example.test"]
smtp_conn_id = "candlelake_smtp"
telegram_on_failure = true
telegram_conn_id = "test_telegram_conn"
"""
    cfg = SimConfig(seed=12, clock=CLOCK, fail_symbols=("futures:BTCUSDT",))
    lake = tmp_path / "lake"
    with Simulator(cfg) as sim:
        dag_file = _install(airflow_dags, DAILY, lake, sim.url, extra=alerts)
        dr = run_dag(dag_file, logical_date=RUN_AT)

    states = task_states(dr)
    assert dr.state == "failed"
    assert (states[SPOT_TASK], states[FUTURES_TASK]) == ("success", "failed")
    assert (states["notify_failure"], states["end_dag"]) == ("success", "upstream_failed")

    (mail,) = smtp_inbox.wait_for(1)
    assert mail.rcpt_tos == ["oncall@example.test"]
    assert DAILY in mail.subject and FUTURES_TASK in mail.body_text()
    (message,) = telegram_api.wait_for_messages(1)
    assert message.params["chat_id"] == "-1001"  # from the connection's host
    assert DAILY in message.params["text"] and FUTURES_TASK in message.params["text"]
    assert SPOT_TASK not in message.params["text"]
    # The download's own summary line says what is missing.
    assert "done: 2 symbols" in message.params["text"] and "missing minutes" in message.params["text"]

    day = dt.date(2024, 2, 19)
    _assert_day_matches_truth(cfg, lake, "spot", "v7", ["ETH_USDT", "BTC_USDT"], day)
    _assert_day_matches_truth(cfg, lake, "futures", "v7.3", ["ETH_USDT"], day)


def test_backfill_maps_one_task_per_job_and_day(
    airflow_dags: Path, run_dag: Callable[..., Any], tmp_path: Path
) -> None:
    cfg = SimConfig(seed=13, clock=CLOCK)
    lake = tmp_path / "lake"
    with Simulator(cfg) as sim:
        dag_file = _install(airflow_dags, BACKFILL, lake, sim.url)
        dr = run_dag(dag_file, run_conf={"start": "2024-02-17", "end": "2024-02-18"})
    states = task_states(dr)
    assert dr.state == "success", states
    mapped = sorted(t for t in states if t.startswith("download.periodic_daily["))
    assert len(mapped) == 4  # 2 jobs x 2 days
    assert all(states[t] == "success" for t in mapped)
    for day in (dt.date(2024, 2, 17), dt.date(2024, 2, 18)):
        _assert_day_matches_truth(cfg, lake, "spot", "v7", ["ETH_USDT", "BTC_USDT"], day)
        _assert_day_matches_truth(cfg, lake, "futures", "v7.3", ["ETH_USDT", "BTC_USDT"], day)


def test_backfill_alert_names_every_failed_job_and_day_once(
    airflow_dags: Path,
    run_dag: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    telegram_api: TelegramServer,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_TEST_TELEGRAM_CONN", telegram_api.airflow_conn_json(TOKEN, chat_id="-1002")
    )
    alerts = 'telegram_on_failure = true\ntelegram_conn_id = "test_telegram_conn"\n'
    cfg = SimConfig(seed=14, clock=CLOCK, fail_symbols=("futures:BTCUSDT",))
    lake = tmp_path / "lake"
    with Simulator(cfg) as sim:
        dag_file = _install(airflow_dags, BACKFILL, lake, sim.url, extra=alerts)
        dr = run_dag(dag_file, run_conf={"start": "2024-02-17", "end": "2024-02-18"})
    states = task_states(dr)
    assert dr.state == "failed"
    # Map order: spot 17, spot 18, futures 17, futures 18; only the futures days fail.
    assert [states[f"download.periodic_daily[{i}]"] for i in range(4)] == [
        "success",
        "success",
        "failed",
        "failed",
    ]
    assert states["notify_failure"] == "success"
    (message,) = telegram_api.wait_for_messages(1)
    text = message.params["text"]
    assert "failed jobs (2)" in text
    assert "futures v7.3 2024-02-17" in text and "futures v7.3 2024-02-18" in text
    assert "spot v7" not in text and "end_download" not in text
    assert "/tasks/download.periodic_daily/mapped/2" in text and "/mapped/3" in text
    # The UI names each mapped task by its job and day (map_index_template).
    from airflow.utils.session import create_session

    with create_session() as session:
        names = {
            ti.map_index: ti.rendered_map_index
            for ti in dr.get_task_instances(session=session)
            if ti.task_id == "download.periodic_daily"
        }
    assert names[0] == "spot v7 2024-02-17" and names[3] == "futures v7.3 2024-02-18"
