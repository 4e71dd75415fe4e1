"""The QA DAG runs after a download DAG run: Assets, the scheduler's own run creation, alerts, repair.

The repository's download and QA DAG files run unchanged (full universes, one day) against the
simulator. The download run records asset events; the scheduler's code then finds the QA DAG
due and creates its asset-triggered run, which this test executes. A day file deleted between
the two runs makes QA fail: the alert carries the QA summary by e-mail and Telegram, and the
repair task downloads the day again, equal to the simulator's ground truth.
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
from fixtures.airflow_home import load_dag, run_existing_dagrun, task_states, unpause
from fixtures.smtp import SmtpServer
from fixtures.telegram import TelegramServer

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DAILY = "test.download_periodic_daily_ohlcv_data"
QA = "test.qa_periodic_daily_ohlcv_data"
RUN_AT = dt.datetime(2024, 2, 20, 1, 20, tzinfo=dt.UTC)  # downloads 2024-02-19
DAY = dt.date(2024, 2, 19)
TOKEN = "77:qa-token"
SPOT = "periodic_daily.airflow.downloaded_1min.parquet.ohlcv.spot.v7.ccxt.binance.v1_0_0"
FUTURES = "periodic_daily.airflow.downloaded_1min.parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0"


def _install(folder: Path, lake: Path, sim_url: str) -> None:
    for dag in (DAILY, QA):
        shutil.copy(REPO / "dags" / f"{dag}.py", folder / f"{dag}.py")
    (folder / "candlelake_dags.toml").write_text(
        f"""
[stages.test]
lake_url = {json.dumps(str(lake))}
email_on_failure = true
emails = ["research@example.test"]
email_from = "airflow@example.test"
smtp_conn_id = "qa_smtp"
telegram_on_failure = true
telegram_conn_id = "qa_telegram"
telegram_chat_id = "-42"

[stages.test.env]
CANDLELAKE_BINANCE_URL = "{sim_url}"
CANDLELAKE_REST_ATTEMPTS = "2"
"""
    )


def _asset_events(run_id: str) -> list[tuple[str, str]]:
    """(asset uri, source DAG) of the events a download run recorded (other tests add theirs)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        joined = (
            select(AssetModel.uri, AssetEvent.source_dag_id)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == run_id)
        )
        rows = session.execute(joined).all()
        return sorted((str(uri), str(dag)) for uri, dag in rows)


def _window_of(run: Any) -> Any:
    """What the run's qa_window task returned (its XCom)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id,
                XComModel.task_id == "qa_window", XComModel.key == "return_value",
            )
        ).one()  # fmt: skip
        value = row.value
        return json.loads(value) if isinstance(value, str) else value


def _scheduler_creates_the_qa_run(download_run_id: str) -> Any:
    """What the scheduler loop does for asset-triggered DAGs, with its own code."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query, triggered = DagModel.dags_needing_dagruns(session)
        due = [d for d in query.all() if d.dag_id in triggered]
        assert [d.dag_id for d in due] == [QA], "the QA DAG is not due after the download run"
        SchedulerJobRunner(job=Job())._create_dag_runs_asset_triggered(dag_models=due, session=session)
        session.commit()
        run = session.scalars(select(DagRun).where(DagRun.dag_id == QA)).one()
        assert run.run_type == "asset_triggered"
        # It consumed this download run's events (and any earlier ones of the same assets).
        consumed = [e for e in run.consumed_asset_events if e.source_run_id == download_run_id]
        assert sorted(e.source_task_id for e in consumed) == sorted(
            f"download.periodic_daily.ccxt.binance.{m}" for m in ("futures.v7.3", "spot.v7")
        )
        session.expunge(run)
        return run


def test_qa_dag_runs_after_the_download_alerts_and_repairs(
    airflow_dags: Path,
    run_dag: Callable[..., Any],
    simulator: Simulator,
    sim_config: SimConfig,
    smtp_inbox: SmtpServer,
    telegram_api: TelegramServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_QA_SMTP", smtp_inbox.airflow_conn_json())
    monkeypatch.setenv("AIRFLOW_CONN_QA_TELEGRAM", telegram_api.airflow_conn_json(TOKEN))
    lake = tmp_path / "lake"
    _install(airflow_dags, lake, simulator.url)
    unpause(QA)  # as a deployment running the QA DAG: asset events only queue runs of active DAGs

    download = run_dag(airflow_dags / f"{DAILY}.py", logical_date=RUN_AT)
    assert download.state == "success", task_states(download)
    assert _asset_events(download.run_id) == [
        (f"x-candlelake://test/{FUTURES}", DAILY),
        (f"x-candlelake://test/{SPOT}", DAILY),
    ]

    # Damage the new day between the download and QA: a deleted file is a hole QA must see
    # (the only day of the window, so the symbol has no data in it).
    day_file = (
        lake
        / "v3"
        / FUTURES.replace(".", "/")
        / "currency_pair=BTC_USDT/year=2024/month=2/2024-02-19.parquet"
    )
    day_file.unlink()

    qa_run = run_existing_dagrun(
        load_dag(airflow_dags / f"{QA}.py"), _scheduler_creates_the_qa_run(download.run_id)
    )
    states = task_states(qa_run)
    assert states == {
        "qa_window": "success",
        f"qa.{SPOT}": "success",
        f"qa.{FUTURES}": "failed",
        f"repair.{SPOT}": "skipped",
        f"repair.{FUTURES}": "success",
        "end_qa": "upstream_failed",
        "notify_failure": "success",
        "end_dag": "upstream_failed",
    }
    # The window is the day the download run took (the day before its logical date).
    assert _window_of(qa_run) == {"start": "2024-02-19", "end": "2024-02-19"}
    # The alert carries the QA summary: which day of which symbol, and why.
    (message,) = telegram_api.wait_for_messages(1)
    assert message.token == TOKEN
    assert "QA 2024-02-19..2024-02-19: 1 problem(s)" in message.params["text"]
    assert "BTC_USDT no_data: no file from 2024-02-19 to 2024-02-19" in message.params["text"]
    (mail,) = smtp_inbox.wait_for(1)
    assert mail.rcpt_tos == ["research@example.test"]
    assert "BTC_USDT no_data: no file from 2024-02-19 to 2024-02-19" in mail.body_text()

    # The repair task downloaded exactly that day again.
    assert day_file.exists()
    start = int(dt.datetime(2024, 2, 19, tzinfo=dt.UTC).timestamp() * 1000)
    rows = truth.klines(
        sim_config, market="futures", symbol="BTCUSDT", start_ms=start, end_ms=start + 86_400_000 - 1
    )
    table = candlelake.read(str(day_file.parents[3]), ["BTC_USDT"], DAY, DAY, as_="arrow")
    assert table.column("timestamp").to_pylist() == [int(r[0]) for r in rows]
    assert table.column("close").to_pylist() == [float(r[4]) for r in rows]

    # A manual QA run of that day now passes.
    again = run_dag(airflow_dags / f"{QA}.py", run_conf={"start": "2024-02-19"})
    assert again.state == "success", task_states(again)
    assert task_states(again)[f"repair.{FUTURES}"] == "skipped"
