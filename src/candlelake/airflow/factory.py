"""The daily download DAG, built from a DAG file's name, its jobs and its stage's settings.

Graph (upstream's, §1)::

    start_dag >> download.<mode>.<vendor>.<exchange>.<contract>.<universe> >> end_download
                 (one download task per job, in parallel)
    end_download >> end_dag
    end_download >> notify_failure >> end_dag

``notify_failure`` has trigger rule ``one_failed``: ``end_download`` becomes
``upstream_failed`` when a download fails, which fires the alert. ``end_dag`` has
``none_failed``: it runs when nothing failed (the alert is then skipped) and becomes
``upstream_failed`` otherwise. ``end_dag`` is the only leaf, so a failed download always
leaves the run failed, whether the alert succeeded or not (Airflow decides a run's state
from its leaves; a successful alert as the leaf would have marked the run green).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, BaseNotifier, CronDataIntervalTimetable, TriggerRule

from candlelake.airflow.assets import dataset_asset
from candlelake.airflow.command import Window, download_bulk_args
from candlelake.airflow.notifiers import (
    EmailFailureNotifier,
    FailureAlertOperator,
    TelegramFailureNotifier,
)
from candlelake.airflow.runners import make_runner
from candlelake.airflow.settings import DagName, Job, StageSettings, load_settings

JobLike = Job | Sequence[str]


def as_job(job: JobLike) -> Job:
    """Accept upstream's ``(vendor, exchange, contract, data_type, universe)`` tuples too."""
    if isinstance(job, Job):
        return job
    if len(job) != 5:
        raise ValueError(f"a job is (vendor, exchange, contract, data_type, universe), got {job!r}")
    return Job(*(str(part) for part in job))


def timetable(settings: StageSettings) -> CronDataIntervalTimetable:
    """A cron timetable whose data interval spans one schedule period.

    Airflow 3's default for a cron string is a zero-length interval at the run time; the
    window ``[D 00:00, D 23:59]`` is derived from the interval, so it needs the real one.
    """
    return CronDataIntervalTimetable(settings.schedule, timezone="UTC")


def default_args(settings: StageSettings) -> dict[str, Any]:
    args: dict[str, Any] = {
        "owner": "airflow",
        "retries": settings.retries,
        "retry_delay": dt.timedelta(minutes=settings.retry_delay_minutes),
        # Alerts go through notify_failure (one message per run), not Airflow's legacy e-mail.
        "email_on_failure": False,
        "email_on_retry": False,
    }
    if settings.execution_timeout_minutes:
        args["execution_timeout"] = dt.timedelta(minutes=settings.execution_timeout_minutes)
    return args


def failure_notifiers(settings: StageSettings) -> list[BaseNotifier]:
    """The alert channels switched on in the settings."""
    notifiers: list[BaseNotifier] = []
    if settings.telegram_on_failure:
        notifiers.append(
            TelegramFailureNotifier(
                telegram_conn_id=settings.telegram_conn_id, chat_id=settings.telegram_chat_id
            )
        )
    if settings.email_on_failure:
        notifiers.append(
            EmailFailureNotifier(
                to=settings.emails,
                from_email=settings.email_from,
                smtp_conn_id=settings.smtp_conn_id,
            )
        )
    return notifiers


def start_date(settings: StageSettings) -> pendulum.DateTime:
    return pendulum.parse(settings.start_date, tz="UTC")  # type: ignore[return-value]


def build_download_dag(
    dag_file: str | Path,
    jobs: Iterable[JobLike],
    *,
    settings_file: str | Path | None = None,
    **overrides: Any,
) -> DAG:
    """Build the daily download DAG of the file ``dag_file`` (pass ``__file__``).

    ``overrides`` take precedence over the settings file, e.g. ``runner="ecs"``.
    """
    name, settings = load_settings(dag_file, overrides, settings_file=settings_file)
    return build_download_dag_from_settings(name, settings, [as_job(j) for j in jobs])


def build_download_dag_from_settings(name: DagName, settings: StageSettings, jobs: Sequence[Job]) -> DAG:
    """Build the DAG from already loaded settings (the testable core of the factory)."""
    if not jobs:
        raise ValueError(f"DAG {name.dag_id}: at least one job is needed")
    task_ids = [job.task_id(settings.download_mode) for job in jobs]
    duplicates = sorted({t for t in task_ids if task_ids.count(t) > 1})
    if duplicates:
        raise ValueError(f"DAG {name.dag_id}: duplicate jobs {duplicates}")
    runner = make_runner(settings, name.stage)
    window = Window.from_data_interval()
    with DAG(
        dag_id=name.dag_id,
        description=settings.description,
        schedule=timetable(settings),
        start_date=start_date(settings),
        catchup=settings.catchup,
        max_active_runs=1,
        tags=[name.stage],
        default_args=default_args(settings),
        doc_md=__doc__,
    ) as dag:
        start = EmptyOperator(task_id="start_dag")
        end_download = EmptyOperator(task_id="end_download")
        end_dag = EmptyOperator(task_id="end_dag", trigger_rule=TriggerRule.NONE_FAILED)
        for job, task_id in zip(jobs, task_ids, strict=True):
            # The dataset it writes, as an Asset: the QA DAG is scheduled on it (airflow/qa_dag.py).
            outlets = [dataset_asset(name.stage, settings, job)]
            download = runner.operator(
                task_id=task_id, args=download_bulk_args(job, window, settings), outlets=outlets
            )
            start >> download >> end_download
        alert_after(end_download, end_dag, settings)
    return dag


def alert_after(gate: Any, end_dag: Any, settings: StageSettings) -> None:
    """``gate >> end_dag`` and ``gate >> notify_failure >> end_dag`` (see the module doc)."""
    alert = FailureAlertOperator(
        task_id="notify_failure",
        notifiers=failure_notifiers(settings),
        trigger_rule=TriggerRule.ONE_FAILED,
        # A retried alert would repeat the channels that did work.
        retries=0,
    )
    gate >> end_dag
    gate >> alert >> end_dag


def dag_graph_mermaid(dag: Any) -> str:
    """A mermaid flowchart of a DAG's tasks and edges, with each task's trigger rule."""
    lines = ["flowchart LR"]
    ids = {task_id: f"t{i}" for i, task_id in enumerate(sorted(dag.task_ids))}
    for task_id in sorted(dag.task_ids):
        task = dag.get_task(task_id)
        rule = str(getattr(task.trigger_rule, "value", task.trigger_rule))
        label = task_id if rule == "all_success" else f"{task_id}<br/><i>{rule}</i>"
        lines.append(f'    {ids[task_id]}["{label}"]')
    for task_id in sorted(dag.task_ids):
        for down in sorted(dag.get_task(task_id).downstream_task_ids):
            lines.append(f"    {ids[task_id]} --> {ids[down]}")
    return "\n".join(lines)
