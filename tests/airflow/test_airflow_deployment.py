"""The DAGs in a real deployment: api-server, scheduler, dag-processor and triggerer as
separate processes, LocalExecutor on SQLite, everything on 127.0.0.1.

One deployment, driven as an operator would: ``candlelake airflow setup`` creates the pool,
unpausing starts the scheduler's own (scheduled) runs, ``airflow dags trigger
--logical-date`` and REST triggers add runs, and the backfill DAG runs in its pool. A DAG
whose futures job fails alerts by e-mail (aiosmtpd) and Telegram (local Bot API), once
per failed run, after every download of the run finished.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("airflow")

import candlelake
from candlelake.simulator import SimConfig, Simulator, truth
from fixtures.deployment import Deployment
from fixtures.smtp import SmtpServer
from fixtures.telegram import TelegramServer

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DAILY = "test.download_periodic_daily_ohlcv_data"
BACKFILL = "test.backfill_daily_ohlcv_data"
FAILING = "test.failing_daily_ohlcv_data"
SPOT = "download.periodic_daily.ccxt.binance.spot.v7"
FUTURES = "download.periodic_daily.ccxt.binance.futures.v7.3"
DATASET = "v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv/{}/ccxt/binance/v1_0_0"
TOKEN = "99:deployment-token"


def _settings(lake: Path, failing_lake: Path, sim_url: str, bad_sim_url: str) -> str:
    env = (
        'CANDLELAKE_BINANCE_URL = "{0}"\nCANDLELAKE_BINANCE_ARCHIVE_URL = "{0}"\n'
        'CANDLELAKE_REST_ATTEMPTS = "2"\n'
    )
    return f"""
[stages.test]
lake_url = {json.dumps(str(lake))}
extra_args = ["--universe_part", "2", "1"]
[stages.test.env]
{env.format(sim_url)}
[dags."{FAILING}"]
lake_url = {json.dumps(str(failing_lake))}
email_on_failure = true
emails = ["oncall@example.test"]
smtp_conn_id = "candlelake_smtp"
telegram_on_failure = true
telegram_conn_id = "test_telegram_conn"
[dags."{FAILING}".env]
{env.format(bad_sim_url)}
"""


def _day_files(lake: Path) -> set[str]:
    return {p.name for p in lake.rglob("*.parquet")}


def _assert_day_is_truth(cfg: SimConfig, lake: Path, day: dt.date) -> None:
    start = int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)
    for market, universe in (("spot", "v7"), ("futures", "v7_3")):
        dataset = lake / DATASET.format(f"{market}/{universe}")
        for symbol in ("ETH_USDT", "BTC_USDT"):
            table = candlelake.read(str(dataset), [symbol], day, day, as_="arrow").sort_by("timestamp")
            got = list(
                zip(table.column("timestamp").to_pylist(), table.column("close").to_pylist(), strict=True)
            )
            want = [
                (int(r[0]), float(r[4]))
                for r in truth.klines(cfg, market, symbol.replace("_", ""), start, start + 86_340_000)
            ]
            assert len(want) == 1440 and got == want, (market, symbol, day)


def test_operator_deployment_end_to_end(
    tmp_path: Path, smtp_inbox: SmtpServer, telegram_api: TelegramServer
) -> None:
    started = time.monotonic()
    dags, lake, failing_lake = tmp_path / "dags", tmp_path / "lake", tmp_path / "failing-lake"
    dags.mkdir()
    for name in (DAILY, BACKFILL):
        shutil.copy(REPO / "dags" / f"{name}.py", dags / f"{name}.py")
    shutil.copy(REPO / "dags" / f"{DAILY}.py", dags / f"{FAILING}.py")
    # Both jobs of the failing DAG fail, each at its own time (one symbol each).
    good, bad = SimConfig(seed=41), SimConfig(seed=42, fail_symbols=("futures:BTCUSDT", "spot:ETHUSDT"))
    with Simulator(good) as sim, Simulator(bad) as bad_sim:
        (dags / "candlelake_dags.toml").write_text(_settings(lake, failing_lake, sim.url, bad_sim.url))
        conns = {
            "AIRFLOW_CONN_CANDLELAKE_SMTP": smtp_inbox.airflow_conn_json(),
            "AIRFLOW_CONN_TEST_TELEGRAM_CONN": telegram_api.airflow_conn_json(TOKEN, chat_id="-42"),
        }
        with Deployment(tmp_path / "home", dags, conns) as af:
            up = time.monotonic() - started
            # The pool first: without it the backfill's downloads would wait forever.
            setup = af.run(sys.executable, "-m", "candlelake", "airflow", "setup", "--dags", str(dags))
            assert setup.returncode == 0, setup.stdout + setup.stderr
            assert "pool candlelake_backfill: created with 2 slots" in setup.stdout
            af.wait_for_dags({DAILY, BACKFILL, FAILING})
            for dag_id in (DAILY, BACKFILL, FAILING):
                af.patch(f"/api/v2/dags/{dag_id}", {"is_paused": False})  # starts the scheduled runs
            cli = af.airflow("dags", "trigger", DAILY, "--logical-date", "2024-02-20T01:20:00+00:00")
            assert cli.returncode == 0, cli.stderr[-2000:]
            af.post(f"/api/v2/dags/{FAILING}/dagRuns", {"logical_date": "2024-02-20T01:20:00Z"})
            af.post(
                f"/api/v2/dags/{BACKFILL}/dagRuns",
                {"logical_date": None, "conf": {"start": "2024-02-17", "end": "2024-02-18"}},
            )
            daily = af.wait_for_runs(DAILY, 2)
            failing = af.wait_for_runs(FAILING, 2)
            (backfill,) = af.wait_for_runs(BACKFILL, 1)
            backfill_tis = af.task_instances(BACKFILL, backfill["dag_run_id"])
            daily_tis = {r["dag_run_id"]: af.task_instances(DAILY, r["dag_run_id"]) for r in daily}
        elapsed = time.monotonic() - started

    # Every run of the good DAGs succeeded; each downloaded the day before its logical date.
    assert [r["state"] for r in daily] == ["success", "success"], daily
    assert {r["run_type"] for r in daily} == {"scheduled", "manual"}
    scheduled = next(r for r in daily if r["run_type"] == "scheduled")
    yesterday = dt.datetime.fromisoformat(scheduled["logical_date"]).date() - dt.timedelta(days=1)
    assert backfill["state"] == "success", backfill_tis
    assert _day_files(lake) == {f"{d}.parquet" for d in ("2024-02-17", "2024-02-18", "2024-02-19", yesterday)}
    for day in (dt.date(2024, 2, 17), dt.date(2024, 2, 18), dt.date(2024, 2, 19)):
        _assert_day_is_truth(good, lake, day)
    # The backfill's mapped downloads are named by job and day.
    names = sorted(t["rendered_map_index"] for t in backfill_tis if t["task_id"] == "download.periodic_daily")
    assert names == [
        "futures v7.3 2024-02-17",
        "futures v7.3 2024-02-18",
        "spot v7 2024-02-17",
        "spot v7 2024-02-18",
    ]

    # The failing DAG: both runs failed; one alert per run and channel, sent after both jobs
    # had failed, naming both (an alert at the first failure would name only one).
    assert [r["state"] for r in failing] == ["failed", "failed"]
    mails = smtp_inbox.wait_for(2)
    messages = telegram_api.wait_for_messages(2)
    assert (len(mails), len(messages)) == (2, 2)
    texts = sorted(m.params["text"] for m in messages)
    assert any("window: 2024-02-19" in t for t in texts)
    assert any(f"window: {yesterday}" in t for t in texts)
    for text in texts:
        assert "failed jobs (2)" in text and FUTURES in text and SPOT in text and "end_download" not in text
        assert af.url + f"/dags/{FAILING}/runs/" in text  # links use [api] base_url
        assert "done: 2 symbols" in text
    assert {m.rcpt_tos[0] for m in mails} == {"oncall@example.test"}

    # Measured here for docs/operations.md (printed, never asserted: speed lives in bench/).
    durations = [t["duration"] for tis in daily_tis.values() for t in tis if t["task_id"] in (SPOT, FUTURES)]
    print(f"\ndeployment up in {up:.0f} s; whole test {elapsed:.0f} s; daily download tasks {durations} s")
