"""Real DAG runs (``dag.test()``) of a failing download: run state, alerts, no injection, no leak.

The download fails for real: the local runner starts ``python -m candlelake download-bulk``
with a hostile universe value, which the CLI rejects. Alerts go to a real SMTP server
(aiosmtpd) and a local Bot-API endpoint, both on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("airflow")

from fixtures.airflow_home import rendered_fields, task_states
from fixtures.smtp import SmtpServer
from fixtures.telegram import TelegramServer

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

TOKEN = "123456:telegram-token-that-must-not-leak"
AWS_SECRET = "aws-secret-that-must-not-leak-42"
CHAT = "-100777"
RUN_AT = dt.datetime(2024, 2, 20, 1, 20, tzinfo=dt.UTC)


def _write_dag(folder: Path, name: str, universe: str, settings: str) -> Path:
    (folder / "candlelake_dags.toml").write_text(settings)
    dag_file = folder / f"{name}.py"
    dag_file.write_text(
        "from candlelake.airflow.factory import build_download_dag\n"
        f"dag = build_download_dag(__file__, jobs=[('ccxt', 'binance', 'spot', 'ohlcv', {universe!r})])\n"
    )
    return dag_file


def _settings(lake: Path, smtp_conn: str = "candlelake_smtp") -> str:
    return f"""
[stages.test]
lake_url = {json.dumps(str(lake))}
# Retries are on: a usage error (exit 2) must still fail at once, without a retry.
retries = 1
retry_delay_minutes = 0
email_on_failure = true
emails = ["ops@example.test"]
email_from = "airflow@example.test"
smtp_conn_id = "{smtp_conn}"
telegram_on_failure = true
telegram_conn_id = "test_telegram_conn"
telegram_chat_id = "{CHAT}"
[stages.test.env]
CANDLELAKE_BINANCE_URL = "http://127.0.0.1:9"
"""


def _try_numbers(dag_run: Any) -> dict[str, int]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: ti.try_number for ti in dag_run.get_task_instances(session=session)}


@pytest.fixture
def alert_env(
    monkeypatch: pytest.MonkeyPatch, smtp_inbox: SmtpServer, telegram_api: TelegramServer
) -> tuple[SmtpServer, TelegramServer]:
    monkeypatch.setenv("AIRFLOW_CONN_CANDLELAKE_SMTP", smtp_inbox.airflow_conn_json())
    monkeypatch.setenv("AIRFLOW_CONN_TEST_TELEGRAM_CONN", telegram_api.airflow_conn_json(TOKEN))
    # A secret in the worker's environment, as AWS credentials would be.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    return smtp_inbox, telegram_api


def test_failed_download_fails_the_run_alerts_and_executes_nothing(
    airflow_dags: Path,
    run_dag: Callable[..., Any],
    alert_env: tuple[SmtpServer, TelegramServer],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    smtp, bot = alert_env
    pwned = tmp_path / "pwned"
    hostile = f'v7\'; touch {pwned}; echo "$(touch {pwned})" `touch {pwned}` {{{{ 7 * 7 }}}}'
    dag_file = _write_dag(airflow_dags, "test.alerts", hostile, _settings(tmp_path / "lake"))

    dr = run_dag(dag_file, logical_date=RUN_AT)

    states = task_states(dr)
    (download,) = [t for t in states if t.startswith("download.")]
    assert states == {
        "start_dag": "success",
        download: "failed",
        "end_download": "upstream_failed",
        "notify_failure": "success",
        "end_dag": "upstream_failed",
    }
    assert dr.state == "failed"
    assert _try_numbers(dr)[download] == 1  # exit code 2: AirflowFailException, no retry

    # The hostile universe reached the CLI as one literal argument and nothing ran it.
    args = rendered_fields(dr, download)["args"]
    assert args[args.index("--universe") + 1] == hostile
    # Airflow rendered the window from the run's logical date: the previous UTC day.
    assert dr.logical_date.isoformat() == "2024-02-20T01:20:00+00:00"
    assert args[args.index("--start_timestamp") + 1] == "2024-02-19T00:00:00+00:00"
    assert args[args.index("--end_timestamp") + 1] == "2024-02-19T23:59:00+00:00"
    assert not pwned.exists()

    (message,) = bot.wait_for_messages(1)
    assert message.token == TOKEN
    assert message.params["chat_id"] == CHAT
    text = message.params["text"]
    assert "test.alerts" in text and dr.run_id in text and download in text
    assert "window: 2024-02-19" in text
    # Structural tasks are never listed; the usage error has no summary line to quote.
    assert "end_download" not in text and "end_dag" not in text
    assert "failed jobs (1)" in text and "exit code 2, no summary" in text
    assert "http://airflow.test:8080/dags/test.alerts/runs/" in text and f"/tasks/{download}" in text

    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["ops@example.test"]
    assert "test.alerts" in mail.subject and dr.run_id in mail.subject
    assert download in mail.body_text()

    out = capfd.readouterr()
    log = out.out + out.err
    assert shlex.quote(hostile) in log  # the command line was logged ...
    for secret in (TOKEN, AWS_SECRET):  # ... but no secret was
        assert secret not in log
        assert secret not in json.dumps(rendered_fields(dr, download))


def test_broken_alert_channel_never_hides_the_failure(
    airflow_dags: Path,
    run_dag: Callable[..., Any],
    alert_env: tuple[SmtpServer, TelegramServer],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    smtp, bot = alert_env
    bot.fail_with = 500
    dag_file = _write_dag(
        airflow_dags, "test.alerts_broken", "no-such-universe", _settings(tmp_path / "lake")
    )

    dr = run_dag(dag_file, logical_date=RUN_AT)

    states = task_states(dr)
    assert dr.state == "failed"
    assert states["notify_failure"] == "failed"
    assert [s for t, s in states.items() if t.startswith("download.")] == ["failed"]
    # Telegram was tried (with the provider's own retries); e-mail went out once, never repeated.
    assert bot.sent_messages()
    assert len(smtp.wait_for(1)) == 1 and len(smtp.messages) == 1
    out = capfd.readouterr()
    assert TOKEN not in out.out + out.err
