"""Manual backfill DAG: every (job, day) of ``[start, end]`` as one mapped download task.

Trigger it with params ``start`` and ``end`` (``YYYY-MM-DD``, both inclusive). ``plan``
expands them into one command per job and day; ``download`` is mapped over that list and
runs in the pool ``backfill_pool`` so that the number of concurrent downloads, and with it
the load on the exchange's request-weight budget, is bounded by the pool's slots::

    candlelake airflow setup --dags <dag folder>     # creates the pool, idempotent

Commands are computed at run time from the params; XCom values are not rendered as
templates, so the arguments are built without Jinja escaping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param, TriggerRule, task

from candlelake.airflow.command import WindowArgs, bulk_request, download_bulk_args, previous_day
from candlelake.airflow.factory import (
    JobLike,
    as_job,
    default_args,
    failure_alert,
    start_date,
)
from candlelake.airflow.failure_report import LABELS_KEY
from candlelake.airflow.runner_choice import make_runner
from candlelake.airflow.runners import Runner
from candlelake.airflow.settings import DagName, Job, StageSettings, load_settings


def days(start: str, end: str, *, max_days: int) -> list[dt.date]:
    """The UTC days from ``start`` to ``end`` inclusive; ValueError if reversed or too long."""
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if last < first:
        raise ValueError(f"end {end} is before start {start}")
    count = (last - first).days + 1
    if count > max_days:
        raise ValueError(f"{count} days requested; at most {max_days} per backfill run")
    return [first + dt.timedelta(days=i) for i in range(count)]


def plan_items(
    jobs: Sequence[Job], settings: StageSettings, start: str, end: str
) -> list[tuple[Job, dt.date]]:
    """Every (job, day) of the backfill, in job-major order (the map index order)."""
    return [(job, day) for job in jobs for day in days(start, end, max_days=settings.backfill_max_days)]


def plan_commands(
    jobs: Sequence[Job], settings: StageSettings, runner: Runner, start: str, end: str
) -> list[dict[str, Any]]:
    """One operator-kwargs dict per (job, day), in job-major order."""
    return [
        runner.expand_kwargs(download_bulk_args(job, WindowArgs.day(day), settings, escape=False))
        for job, day in plan_items(jobs, settings, start, end)
    ]


def item_label(job: Job, day: dt.date) -> str:
    """How a mapped download is named in the UI and in alerts: its job and day."""
    return f"{job.contract} {job.universe} {day.isoformat()}"


# The mapped task's name in the UI ("futures v7.3 2024-02-17" instead of map index 3).
MAP_INDEX_TEMPLATE = "{{ ti.xcom_pull(task_ids='plan', key='" + LABELS_KEY + "')[ti.map_index] }}"


def build_backfill_dag(
    dag_file: str | Path,
    jobs: Iterable[JobLike],
    *,
    settings_file: str | Path | None = None,
    **overrides: Any,
) -> DAG:
    """Build the manual backfill DAG of ``dag_file`` (pass ``__file__``)."""
    name, settings = load_settings(dag_file, overrides, settings_file=settings_file)
    return build_backfill_dag_from_settings(name, settings, [as_job(j) for j in jobs])


def build_backfill_dag_from_settings(name: DagName, settings: StageSettings, jobs: Sequence[Job]) -> DAG:
    if not jobs:
        raise ValueError(f"DAG {name.dag_id}: at least one job is needed")
    for job in jobs:  # at parse time: a bad job tuple must not wait for a backfill to fail
        bulk_request(job, WindowArgs.from_logical_date(), settings)
    runner = make_runner(settings, name.stage)
    with DAG(
        dag_id=name.dag_id,
        description=f"Manual backfill: {settings.description}",
        schedule=None,
        start_date=start_date(settings),
        catchup=False,
        max_active_runs=1,
        tags=[name.stage, "backfill"],
        default_args=default_args(settings),
        params={
            # Static defaults: a default computed at parse time would change the serialized
            # DAG (and its version) every day. Empty means the day before the run's logical
            # date, decided at run time.
            "start": Param(
                "",
                type="string",
                description="first day, YYYY-MM-DD (empty: the day before the logical date)",
            ),
            "end": Param(
                "", type="string", description="last day, YYYY-MM-DD (empty: the day before the logical date)"
            ),
        },
        doc_md=__doc__,
    ) as dag:

        @task(task_id="plan")
        def plan(
            lake_url: str,
            env: dict[str, str],
            params: dict[str, Any] | None = None,
            dag_run: Any = None,
            ti: Any = None,
        ) -> list[dict[str, Any]]:
            # lake_url and env arrive rendered (task arguments are templated); the mapped
            # values built from them are not rendered again.
            assert params is not None and dag_run is not None
            rendered = settings.model_copy(update={"lake_url": lake_url, "env": env})
            # Like the daily DAG: the day before the run's logical date (or run_after).
            default = previous_day(dag_run.logical_date or dag_run.run_after).isoformat()
            first, last = params["start"] or default, params["end"] or default
            if ti is not None:
                labels = [item_label(j, d) for j, d in plan_items(jobs, rendered, first, last)]
                ti.xcom_push(key=LABELS_KEY, value=labels)
            return plan_commands(jobs, rendered, make_runner(rendered, name.stage), first, last)

        start = EmptyOperator(task_id="start_dag")
        commands = plan(lake_url=settings.lake_url, env=dict(settings.env))
        download = runner.mapped(
            task_id=f"download.{settings.download_mode}",
            expand_input=commands,
            pool=settings.backfill_pool,
            map_index_template=MAP_INDEX_TEMPLATE,
        )
        end_download = EmptyOperator(task_id="end_download")
        end_dag = EmptyOperator(task_id="end_dag", trigger_rule=TriggerRule.NONE_FAILED)
        alert = failure_alert(settings, labels_task_id="plan")
        start >> commands >> download >> [end_download, alert]
        end_download >> end_dag
        alert >> end_dag
    return dag
