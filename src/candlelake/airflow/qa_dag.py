"""The QA DAG: scheduled on the Assets the download DAG produces, it checks the new days.

Graph::

    qa_window >> qa.<signature> (one per dataset) >> end_qa >> end_dag
                 qa.<signature> >> repair.<signature>       (one_failed, if repair is on)
    every qa.<signature> >> notify_failure >> end_dag       (all_done; skips when none failed)

``qa_window`` takes the days the download runs whose asset events triggered this run took
(the day before each run's logical date), so a day whose download failed yesterday is checked with today's.
A manual run takes ``{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}`` from its conf, else the
previous UTC day. Each ``qa.*`` task runs ``candlelake qa --json`` in a subprocess of the worker
(QA reads the gap ledger, so it is light), leaves its summary as an XCom for the alert, and
fails on an unexplained problem; ``notify_failure`` (the download DAG's alert task) then
sends that summary by e-mail and Telegram, and ``repair.*`` runs ``candlelake repair``
on that dataset's days.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TriggerRule, get_current_context, task
from airflow.sdk.exceptions import AirflowException

from candlelake.airflow.assets import dataset_asset, job_signature
from candlelake.airflow.command import previous_day
from candlelake.airflow.factory import JobLike, as_job, default_args, failure_alert, start_date
from candlelake.airflow.failure_report import SUMMARY_KEY
from candlelake.airflow.settings import load_settings

_SHOWN_FINDINGS = 20  # an alert lists this many findings; the task log has them all


def build_qa_dag(
    dag_file: str | Path,
    jobs: Iterable[JobLike],
    *,
    repair: bool = True,
    settings_file: str | Path | None = None,
    **overrides: Any,
) -> DAG:
    """Build the QA DAG of the file ``dag_file`` (pass ``__file__``) for the download ``jobs``."""
    name, settings = load_settings(dag_file, overrides, settings_file=settings_file)
    parsed = [as_job(j) for j in jobs]
    if not parsed:
        raise ValueError(f"DAG {name.dag_id}: at least one job is needed")
    assets = [dataset_asset(name.stage, settings, job) for job in parsed]
    with DAG(
        dag_id=name.dag_id,
        description="Check the days the download DAG wrote: coverage, gaps by reason, sane rows.",
        schedule=assets,  # all of them: one QA run per download run that succeeded
        start_date=start_date(settings),
        catchup=False,
        max_active_runs=1,
        tags=[name.stage, "qa"],
        default_args={**default_args(settings), "retries": 0},
        doc_md=__doc__,
    ) as dag:
        window = qa_window()
        end_qa = EmptyOperator(task_id="end_qa")
        end_dag = EmptyOperator(task_id="end_dag", trigger_rule=TriggerRule.NONE_FAILED)
        alert = failure_alert(settings)
        for job in parsed:
            signature = job_signature(settings, job)
            lake = ["--lake", settings.lake_url, "--signature", signature]
            check = run_candlelake.override(task_id=f"qa.{signature}")(
                "qa", lake, window, dict(settings.env), summary=True
            )
            check >> [end_qa, alert]
            if repair:
                fix = run_candlelake.override(
                    task_id=f"repair.{signature}", trigger_rule=TriggerRule.ONE_FAILED
                )("repair", lake, window, dict(settings.env), summary=False)
                check >> fix
        end_qa >> end_dag
        alert >> end_dag
    return dag


@task
def qa_window() -> dict[str, str]:
    """The days to check: those the triggering download runs took (see the module doc)."""
    context = get_current_context()
    # The day each triggering download run took: the same rule as its window templates.
    days = [
        previous_day(run.logical_date or run.run_after)
        for events in (context.get("triggering_asset_events") or {}).values()
        for event in events
        if (run := event.source_dag_run) is not None
    ]
    if days:
        return {"start": min(days).isoformat(), "end": max(days).isoformat()}
    dag_run = context["dag_run"]
    conf = dag_run.conf or {}
    if conf.get("start"):
        start = dt.date.fromisoformat(str(conf["start"]))
        end = dt.date.fromisoformat(str(conf.get("end") or conf["start"]))
        return {"start": start.isoformat(), "end": end.isoformat()}
    yesterday = previous_day(dag_run.run_after)
    return {"start": yesterday.isoformat(), "end": yesterday.isoformat()}


@task
def run_candlelake(
    command: str, lake: Sequence[str], window: Any, env: dict[str, str], *, summary: bool
) -> None:
    """``python -m candlelake <command> <lake> --start --end --json`` on the worker (argv, no shell).

    ``window`` is ``qa_window``'s result: ``{"start": day, "end": day}``.
    """
    import os

    argv = [sys.executable, "-m", "candlelake", command, *lake, "--start", window["start"],
            "--end", window["end"], "--json"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env}, check=False)
    context = get_current_context()
    log = logging.getLogger("airflow.task")
    log.info("%s", done.stdout)
    if done.stderr:
        log.info("%s", done.stderr)
    if summary and done.stdout.strip().startswith("{"):
        context["ti"].xcom_push(key=SUMMARY_KEY, value=qa_summary(json.loads(done.stdout)))
    if done.returncode != 0:
        raise AirflowException(f"candlelake {command} exited with code {done.returncode}")


def qa_summary(report: dict[str, Any]) -> str:
    """A few lines for people: the verdict and the first findings."""
    fails = [f for f in report.get("findings", []) if f.get("severity") == "fail"]
    lines = [
        f"QA {report.get('first_day')}..{report.get('last_day')}: "
        + ("OK" if report.get("ok") else f"{len(fails)} problem(s)"),
        f"dataset: {report.get('dataset')}",
    ]
    for f in fails[:_SHOWN_FINDINGS]:
        lines.append(f"- {f['symbol']} {f['day']} {f['check']}: {f['detail']}".replace("  ", " "))
    if len(fails) > _SHOWN_FINDINGS:
        lines.append(f"- ... and {len(fails) - _SHOWN_FINDINGS} more")
    return "\n".join(lines)
