"""Failure alerts: e-mail through the SMTP provider, Telegram through the Telegram provider.

The message names the DAG, the run id, the failed tasks and a log link per failed task.
It is computed in Python from the run's task states and never passed through Jinja, because
a run id or task id chosen by a user must not be able to evaluate templates (and so read
Variables or Connections).

:class:`FailureAlertOperator` is the ``one_failed`` task of the DAG factory. It tries every
channel, and raises only after all of them were tried, so one broken channel neither
blocks the others nor changes the outcome of the run (the run fails because a download
failed, whatever the alert does).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import telegram
from airflow.providers.common.compat.sdk import conf
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.providers.telegram.hooks.telegram import TelegramHook
from airflow.sdk import BaseNotifier, BaseOperator
from airflow.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Context

FAILED_STATES = frozenset({"failed", "upstream_failed"})
# A failed task may leave a few lines for people under this XCom key (the QA DAG's summary);
# it says so with this attribute set to True on its operator.
SUMMARY_XCOM_KEY = "alert_summary"
SUMMARY_MARK = "leaves_alert_summary"
TELEGRAM_API_URL_EXTRA = "api_url"


@dataclass(frozen=True)
class FailedTask:
    """One failed task instance of a run and where its log is."""

    task_id: str
    map_index: int
    state: str
    log_url: str
    summary: str | None = None


@dataclass(frozen=True)
class FailureReport:
    """What an alert says about a failed run."""

    dag_id: str
    run_id: str
    failed: tuple[FailedTask, ...]
    run_url: str

    @property
    def subject(self) -> str:
        return f"[candlelake] DAG {self.dag_id} failed: run {self.run_id}"

    def text(self) -> str:
        lines = [f"DAG {self.dag_id} failed", f"run id: {self.run_id}", "failed tasks:"]
        lines += [f"- {t.task_id} ({t.state}): {t.log_url}" for t in self.failed] or ["- none"]
        lines += [t.summary for t in self.failed if t.summary]
        lines.append(f"run: {self.run_url}")
        return "\n".join(lines)

    def html(self) -> str:
        """HTML for e-mail and for Telegram's HTML parse mode (only <b>, <a>, <code>)."""
        e = html.escape
        items = [
            f'• <code>{e(t.task_id)}</code> ({e(t.state)}): <a href="{e(t.log_url)}">log</a>'
            for t in self.failed
        ] or ["• none recorded"]
        return "\n".join(
            [
                f"<b>DAG {e(self.dag_id)} failed</b>",
                f"run id: <code>{e(self.run_id)}</code>",
                "failed tasks:",
                *items,
                *(e(t.summary) for t in self.failed if t.summary),
                f'<a href="{e(self.run_url)}">open the run</a>',
            ]
        )


def _api_base_url() -> str:
    return str(conf.get("api", "base_url", fallback="http://localhost:8080/")).rstrip("/")


def _split_state_key(key: str, task_ids: set[str]) -> tuple[str, int]:
    """The execution API keys mapped task instances as ``<task_id>_<map_index>``."""
    if key in task_ids:
        return key, -1
    base, _, index = key.rpartition("_")
    if base in task_ids and index.isdigit():
        return base, int(index)
    return key, -1


def failure_report(context: Context) -> FailureReport:
    """Collect the failed task instances of the current run through the execution API."""
    ti = context["ti"]
    dag = context.get("dag")
    task_ids = set(dag.task_ids) if dag is not None else set()
    states: dict[str, Any] = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id])
    base = _api_base_url()
    run_url = f"{base}/dags/{ti.dag_id}/runs/{quote(ti.run_id, safe='')}"
    failed = []
    for key, state in sorted(states.get(ti.run_id, {}).items()):
        if state not in FAILED_STATES or key == ti.task_id:
            continue
        task_id, map_index = _split_state_key(key, task_ids)
        mapped = f"/mapped/{map_index}" if map_index >= 0 else ""
        log_url = f"{run_url}/tasks/{task_id}{mapped}"
        # Only tasks marked as leaving a summary are asked (a missing XCom is logged as an
        # error), and only if they failed themselves: upstream_failed ones never ran.
        marked = (
            dag is not None and task_id in task_ids and getattr(dag.get_task(task_id), SUMMARY_MARK, False)
        )
        summary = _summary(ti, task_id, map_index) if marked and state == "failed" else None
        failed.append(FailedTask(task_id, map_index, str(state), log_url, summary))
    # Tasks that failed themselves first; upstream_failed ones only follow from them.
    failed.sort(key=lambda t: (t.state != "failed", t.task_id, t.map_index))
    return FailureReport(ti.dag_id, ti.run_id, tuple(failed), run_url)


def _summary(ti: Any, task_id: str, map_index: int) -> str | None:
    """What a failed task left for the alert under SUMMARY_XCOM_KEY, if anything."""
    try:
        value = ti.xcom_pull(
            task_ids=task_id, key=SUMMARY_XCOM_KEY, map_indexes=map_index if map_index >= 0 else None
        )
    except Exception:  # an alert must go out even if the note cannot be read
        return None
    return str(value) if value else None


class BotApiTelegramHook(TelegramHook):
    """TelegramHook whose Bot API root is configurable.

    The provider's hook always talks to api.telegram.org. Here the root comes from the
    ``api_url`` argument or the connection extra ``{"api_url": "http://host:port"}`` (a
    self-hosted Bot API server, or a local endpoint in tests); default: Telegram's.
    """

    def __init__(
        self,
        telegram_conn_id: str | None = TelegramHook.default_conn_name,
        token: str | None = None,
        chat_id: str | None = None,
        api_url: str | None = None,
    ) -> None:
        # Set before super().__init__, which calls get_conn().
        self._api_conn_id = telegram_conn_id
        self._api_url = api_url
        super().__init__(telegram_conn_id=telegram_conn_id, token=token, chat_id=chat_id)

    def _configured_api_url(self) -> str | None:
        if self._api_url:
            return self._api_url
        if self._api_conn_id is None:
            return None
        extra = self.get_connection(self._api_conn_id).extra_dejson or {}
        value = extra.get(TELEGRAM_API_URL_EXTRA)
        return str(value) if value else None

    def get_conn(self) -> telegram.Bot:
        api_url = self._configured_api_url()
        if not api_url:
            return telegram.Bot(self.token)
        root = api_url.rstrip("/")
        return telegram.Bot(self.token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")


@contextmanager
def _quiet_http_client_logs() -> Iterator[None]:
    """Keep httpx from logging request URLs, which contain the bot token, at INFO."""
    logger = logging.getLogger("httpx")
    previous = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


class TelegramFailureNotifier(BaseNotifier):
    """Send the failure report to a Telegram chat (usable as ``on_failure_callback`` too).

    ``chat_id`` empty or None falls back to the connection's host (the provider's rule).
    """

    template_fields: Sequence[str] = ("telegram_conn_id", "chat_id")

    def __init__(self, *, telegram_conn_id: str, chat_id: str | None = None) -> None:
        super().__init__()
        self.telegram_conn_id = telegram_conn_id
        self.chat_id = chat_id

    def notify(self, context: Context) -> None:
        report = failure_report(context)
        hook = BotApiTelegramHook(telegram_conn_id=self.telegram_conn_id, chat_id=self.chat_id or None)
        with _quiet_http_client_logs():
            hook.send_message({"text": report.html()})


class EmailFailureNotifier(BaseNotifier):
    """Send the failure report by e-mail through the SMTP provider's notifier and connection."""

    template_fields: Sequence[str] = ("to", "from_email", "smtp_conn_id")

    def __init__(self, *, to: Sequence[str], from_email: str | None = None, smtp_conn_id: str) -> None:
        super().__init__()
        self.to = list(to)
        self.from_email = from_email
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Context) -> None:
        report = failure_report(context)
        # Subject and body are given, so SmtpNotifier does not render them as templates.
        SmtpNotifier(
            # A Variable may hold "a@x, b@y"; the hook would take that as one address.
            to=[a.strip() for item in self.to for a in re.split(r"[,;]", item) if a.strip()],
            from_email=self.from_email,
            smtp_conn_id=self.smtp_conn_id,
            subject=report.subject,
            html_content=report.html().replace("\n", "<br>\n"),
        ).notify(context)


class FailureAlertOperator(BaseOperator):
    """Run every notifier; fail (after trying all) if any of them failed."""

    ui_color = "#ffd6d6"

    def __init__(self, *, notifiers: Sequence[BaseNotifier], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.notifiers = list(notifiers)

    def execute(self, context: Context) -> None:
        report = failure_report(context)
        self.log.info("%s", report.text())
        broken = []
        for notifier in self.notifiers:
            name = type(notifier).__name__
            try:
                notifier.render_template_fields(context)
                notifier.notify(context)
            except Exception as exc:  # every channel gets its chance
                broken.append(name)
                # The type and message only: a traceback can carry request URLs and tokens.
                self.log.error("Alert via %s failed: %s: %s", name, type(exc).__name__, exc)
            else:
                self.log.info("Alert sent via %s", name)
        if broken:
            raise AirflowException(f"failure alert not sent via: {', '.join(broken)}")
