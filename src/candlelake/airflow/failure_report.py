"""What a failure alert says: the failed task instances of a run, their jobs, days and logs.

Computed in Python from the run's task states (through the execution API) and never passed
through Jinja, because a run id or task id chosen by a user must not be able to evaluate
templates. Light: no provider import, so runners can share the XCom keys.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import conf

if TYPE_CHECKING:
    from airflow.sdk import Context

# Only tasks that failed themselves: upstream_failed ones (end_download, end_dag, or a
# download whose plan failed) follow from those and would only be noise.
FAILED_STATE = "failed"
# XCom keys: a download's summary line, and the planning task's per-map-index labels.
SUMMARY_KEY = "summary"
LABELS_KEY = "labels"


@dataclass(frozen=True)
class FailedTask:
    """One failed task instance of a run, what it was doing, and where its log is."""

    task_id: str
    map_index: int
    label: str
    summary: str | None
    log_url: str

    @property
    def name(self) -> str:
        return f"{self.task_id} [{self.label}]" if self.label else self.task_id


@dataclass(frozen=True)
class FailureReport:
    """What an alert says about a failed run."""

    dag_id: str
    run_id: str
    window: str
    failed: tuple[FailedTask, ...]
    run_url: str

    @property
    def subject(self) -> str:
        return f"[candlelake] DAG {self.dag_id} failed: run {self.run_id}"

    def text(self) -> str:
        lines = [f"DAG {self.dag_id} failed", f"run id: {self.run_id}", f"window: {self.window}"]
        lines.append(f"failed jobs ({len(self.failed)}):")
        for t in self.failed:
            lines.append(f"- {t.name}: {t.log_url}")
            lines.append(f"  {t.summary or 'no summary: see the log'}")
        lines.append(f"run: {self.run_url}")
        return "\n".join(lines)

    def html(self) -> str:
        """HTML for e-mail and for Telegram's HTML parse mode (only <b>, <a>, <code>)."""
        e = html.escape
        items = [
            f'• <code>{e(t.name)}</code>: <a href="{e(t.log_url)}">log</a>\n'
            f"  {e(t.summary or 'no summary: see the log')}"
            for t in self.failed
        ]
        return "\n".join(
            [
                f"<b>DAG {e(self.dag_id)} failed</b>",
                f"run id: <code>{e(self.run_id)}</code>",
                f"window: {e(self.window)}",
                f"failed jobs ({len(self.failed)}):",
                *items,
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


def _run_window(context: Context) -> str:
    from candlelake.airflow.command import previous_day

    dag_run = context["dag_run"]
    return previous_day(dag_run.logical_date or dag_run.run_after).isoformat()


def failure_report(context: Context, *, labels_task_id: str | None = None) -> FailureReport:
    """Collect the failed task instances of the current run through the execution API.

    ``labels_task_id`` names a task whose XCom ``labels`` lists one label per map index
    (the backfill's plan: job and day), so a mapped failure is named by what it did.
    """
    ti = context["ti"]
    dag = context.get("dag")
    task_ids = set(dag.task_ids) if dag is not None else set()
    states: dict[str, Any] = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id])
    labels: list[str] = []
    if labels_task_id:
        labels = list(ti.xcom_pull(task_ids=labels_task_id, key=LABELS_KEY) or [])
    base = _api_base_url()
    run_url = f"{base}/dags/{ti.dag_id}/runs/{quote(ti.run_id, safe='')}"
    failed = []
    for key, state in sorted(states.get(ti.run_id, {}).items()):
        if state != FAILED_STATE or key == ti.task_id:
            continue
        task_id, map_index = _split_state_key(key, task_ids)
        mapped = f"/mapped/{map_index}" if map_index >= 0 else ""
        label = labels[map_index] if 0 <= map_index < len(labels) else ""
        summary = ti.xcom_pull(
            task_ids=task_id, map_indexes=map_index if map_index >= 0 else None, key=SUMMARY_KEY
        )
        failed.append(
            FailedTask(
                task_id,
                map_index,
                label,
                str(summary) if summary else None,
                f"{run_url}/tasks/{task_id}{mapped}",
            )
        )
    failed.sort(key=lambda t: (t.task_id, t.map_index))
    return FailureReport(ti.dag_id, ti.run_id, _run_window(context), tuple(failed), run_url)
