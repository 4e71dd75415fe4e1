"""The daily download DAG, built from a DAG file's name, its jobs and its stage's settings.

Graph (upstream's, §1, with the alert moved behind every download)::

    start_dag >> download.<mode>.<vendor>.<exchange>.<contract>.<universe> >> end_download
                 (one download task per job, in parallel)
    end_download >> end_dag
    every download >> notify_failure >> end_dag

``notify_failure`` has trigger rule ``all_done``: it runs once, after the last download
finished, names every failed one and skips when none failed (``one_failed`` would fire at
the first failure and miss the later ones). ``end_download`` becomes ``upstream_failed``
when a download fails, and so does ``end_dag`` (``none_failed``), the only leaf: a failed
download always leaves the run failed, whatever the alert does (Airflow decides a run's
state from its leaves; a successful alert as the leaf would have marked the run green).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, CronTriggerTimetable, TriggerRule

from candlelake.airflow.assets import dataset_asset
from candlelake.airflow.command import WindowArgs, download_bulk_args
from candlelake.airflow.notifiers import FailureAlertOperator
from candlelake.airflow.runner_choice import make_runner
from candlelake.airflow.settings import DagName, Job, SettingsError, StageSettings, load_settings

JobLike = Job | Sequence[str]


def as_job(job: JobLike) -> Job:
    """Accept upstream's ``(vendor, exchange, contract, data_type, universe)`` tuples too."""
    if isinstance(job, Job):
        return job
    if len(job) != 5:
        raise ValueError(f"a job is (vendor, exchange, contract, data_type, universe), got {job!r}")
    return Job(*(str(part) for part in job))


def timetable(settings: StageSettings) -> CronTriggerTimetable:
    """A cron timetable whose logical date is the run time (02-20 01:20 downloads 02-19).

    The window follows the logical date, and with a trigger timetable a scheduled run's
    logical date is its cron time, as it is for `airflow dags trigger --logical-date` and
    REST triggers. No ``interval``: with one, Airflow makes the logical date the interval's
    start (a day early). The data interval is therefore the zero-length ``[run, run]``.
    """
    return CronTriggerTimetable(settings.schedule, timezone="UTC")


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


def alert_channels(settings: StageSettings, labels_task_id: str | None = None) -> list[dict[str, Any]]:
    """The alert channels switched on in the settings, as plain (serializable) settings."""
    channels: list[dict[str, Any]] = []
    if settings.telegram_on_failure:
        channels.append(
            {
                "kind": "telegram",
                "telegram_conn_id": settings.telegram_conn_id,
                "chat_id": settings.telegram_chat_id,
                "labels_task_id": labels_task_id,
            }
        )
    if settings.email_on_failure:
        channels.append(
            {
                "kind": "email",
                "to": list(settings.emails),
                "from_email": settings.email_from,
                "smtp_conn_id": settings.smtp_conn_id,
                "labels_task_id": labels_task_id,
            }
        )
    return channels


def failure_alert(settings: StageSettings, labels_task_id: str | None = None) -> FailureAlertOperator:
    """The ``notify_failure`` task; wire every download upstream of it."""
    return FailureAlertOperator(
        task_id="notify_failure",
        channels=alert_channels(settings, labels_task_id),
        labels_task_id=labels_task_id,
        trigger_rule=TriggerRule.ALL_DONE,
        # The hooks retry a broken channel; a task retry would repeat the channels that worked.
        retries=0,
    )


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


def check_schedule_variable(dag_id: str, settings: StageSettings) -> None:
    """Refuse, at parse time, upstream's ``<dag_id>_schedule`` Variable when it disagrees.

    Upstream read the schedule from that Variable; here it is the ``schedule`` setting. A
    Variable left over from upstream that says something else would be silently ignored,
    so the DAG fails to import instead and says what to do. One Variable lookup per parse.
    """
    from airflow.sdk import Variable

    key = f"{dag_id}_schedule"
    value = Variable.get(key, default=None)
    if value is not None and str(value).strip() != settings.schedule:
        raise SettingsError(
            f"DAG {dag_id}: the Variable {key} = {str(value)!r} is not used; the schedule is "
            f"{settings.schedule!r} from candlelake_dags.toml. Set schedule = {str(value).strip()!r} in "
            f'[dags."{dag_id}"] and delete the Variable (docs/operations.md, "Migrating from upstream")'
        )


def build_download_dag_from_settings(name: DagName, settings: StageSettings, jobs: Sequence[Job]) -> DAG:
    """Build the DAG from already loaded settings (the testable core of the factory)."""
    check_schedule_variable(name.dag_id, settings)
    if not jobs:
        raise ValueError(f"DAG {name.dag_id}: at least one job is needed")
    task_ids = [job.task_id(settings.download_mode) for job in jobs]
    duplicates = sorted({t for t in task_ids if task_ids.count(t) > 1})
    if duplicates:
        raise ValueError(f"DAG {name.dag_id}: duplicate jobs {duplicates}")
    runner = make_runner(settings, name.stage)
    window = WindowArgs.from_logical_date()
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
        alert = failure_alert(settings)
        for job, task_id in zip(jobs, task_ids, strict=True):
            # The dataset it writes, as an Asset: the QA DAG is scheduled on it (airflow/qa_dag.py).
            outlets = [dataset_asset(name.stage, settings, job)]
            download = runner.operator(
                task_id=task_id, args=download_bulk_args(job, window, settings), outlets=outlets
            )
            start >> download >> [end_download, alert]
        end_download >> end_dag
        alert >> end_dag
    return dag


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
