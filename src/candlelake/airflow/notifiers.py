"""Failure alerts: e-mail through the SMTP provider, Telegram through the Telegram provider.

The message names the DAG, the run, the day(s) and every failed job, each with a log link
and the summary line its download printed. It is computed in Python from the run's task
states and never passed through Jinja, because a run id or task id chosen by a user must
not be able to evaluate templates (and so read Variables or Connections).

:class:`FailureAlertOperator` is the ``all_done`` task of the DAG factory: it runs once,
after every download of the run finished, and skips when none failed. Its channels are
plain settings (a templated, hence serialized, field), so changing an alert setting
changes the DAG's version. A broken channel is retried (by its provider's hook, and with
``attempts`` inside the same try); a channel that worked is never sent again, and the task
never retries as a whole.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import telegram
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.providers.telegram.hooks.telegram import TelegramHook
from airflow.sdk import BaseNotifier, BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from candlelake.airflow.failure_report import failure_report

if TYPE_CHECKING:
    from airflow.sdk import Context

TELEGRAM_API_URL_EXTRA = "api_url"


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

    def __init__(
        self, *, telegram_conn_id: str, chat_id: str | None = None, labels_task_id: str | None = None
    ) -> None:
        super().__init__()
        self.telegram_conn_id = telegram_conn_id
        self.chat_id = chat_id
        self.labels_task_id = labels_task_id

    def notify(self, context: Context) -> None:
        report = failure_report(context, labels_task_id=self.labels_task_id)
        hook = BotApiTelegramHook(telegram_conn_id=self.telegram_conn_id, chat_id=self.chat_id or None)
        with _quiet_http_client_logs():
            hook.send_message({"text": report.html()})


class EmailFailureNotifier(BaseNotifier):
    """Send the failure report by e-mail through the SMTP provider's notifier and connection."""

    template_fields: Sequence[str] = ("to", "from_email", "smtp_conn_id")

    def __init__(
        self,
        *,
        to: Sequence[str],
        from_email: str | None = None,
        smtp_conn_id: str,
        labels_task_id: str | None = None,
    ) -> None:
        super().__init__()
        self.to = list(to)
        self.from_email = from_email
        self.smtp_conn_id = smtp_conn_id
        self.labels_task_id = labels_task_id

    def notify(self, context: Context) -> None:
        report = failure_report(context, labels_task_id=self.labels_task_id)
        # Subject and body are given, so SmtpNotifier does not render them as templates.
        SmtpNotifier(
            # A Variable may hold "a@x, b@y"; the hook would take that as one address.
            to=[a.strip() for item in self.to for a in re.split(r"[,;]", item) if a.strip()],
            from_email=self.from_email,
            smtp_conn_id=self.smtp_conn_id,
            subject=report.subject,
            html_content=report.html().replace("\n", "<br>\n"),
        ).notify(context)


def channel_notifier(channel: Mapping[str, Any]) -> BaseNotifier:
    """The notifier of one alert channel setting (``{"kind": "email"|"telegram", ...}``)."""
    options = {k: v for k, v in channel.items() if k != "kind"}
    if channel["kind"] == "telegram":
        return TelegramFailureNotifier(**options)
    if channel["kind"] == "email":
        return EmailFailureNotifier(**options)
    raise ValueError(f"unknown alert channel {channel['kind']!r}; allowed: email, telegram")


class FailureAlertOperator(BaseOperator):
    """Send one alert per failed run to every channel; skip when nothing failed.

    ``channels`` is a templated field: it is rendered at run time (Variables in addresses
    work) and it is part of the serialized DAG, so a changed alert setting is a new DAG
    version. A channel that fails is tried again up to ``attempts`` times within this try
    (on top of its hook's own retries); one that worked is never repeated. The task fails
    after all channels had their turn.
    """

    template_fields: Sequence[str] = ("channels",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"channels": "json"}
    ui_color = "#ffd6d6"

    def __init__(
        self,
        *,
        channels: Sequence[Mapping[str, Any]],
        labels_task_id: str | None = None,
        # The providers' hooks already retry a send (Telegram 5 times); more attempts here
        # multiply those. Each attempt retries only the channels that have not worked.
        attempts: int = 1,
        attempt_delay_s: float = 2.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.channels = [dict(c) for c in channels]
        self.labels_task_id = labels_task_id
        self.attempts = attempts
        self.attempt_delay_s = attempt_delay_s

    def execute(self, context: Context) -> None:
        report = failure_report(context, labels_task_id=self.labels_task_id)
        if not report.failed:
            raise AirflowSkipException("no task of this run failed")
        self.log.info("%s", report.text())
        pending = {f"{c['kind']} #{i + 1}": channel_notifier(c) for i, c in enumerate(self.channels)}
        for attempt in range(1, self.attempts + 1):
            for name, notifier in list(pending.items()):
                try:
                    notifier.notify(context)
                except Exception as exc:  # every channel gets its chance
                    # The type and message only: a traceback can carry request URLs and tokens.
                    self.log.error(
                        "Alert via %s failed (attempt %d): %s: %s", name, attempt, type(exc).__name__, exc
                    )
                else:
                    self.log.info("Alert sent via %s", name)
                    del pending[name]
            if not pending:
                return
            if attempt < self.attempts:
                time.sleep(self.attempt_delay_s)
        raise AirflowException(f"failure alert not sent via: {', '.join(pending)}")
