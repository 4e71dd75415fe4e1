"""How a task executes ``candlelake download-bulk``: local process, Docker, Kubernetes or ECS.

Every runner passes the command as an argv list to something that never involves a shell
(``subprocess`` without ``shell=True``, the Docker API, a pod's ``args``, an ECS container
override), so a value with quotes, ``;`` or ``$(...)`` arrives as one literal argument.
The image's ENTRYPOINT is ``candlelake``, so container runners pass ``download-bulk ...``.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from candlelake.airflow.failure_report import SUMMARY_KEY
from candlelake.airflow.settings import StageSettings

if TYPE_CHECKING:
    from airflow.sdk import Context

SUBCOMMAND = "download-bulk"
# The CLI's exit code for bad input (docs/cli.md) and the first word of its summary line.
USAGE_EXIT_CODE = 2
SUMMARY_PREFIX = "done:"


def _safe_name(text: str) -> str:
    """A file-name-safe rendering of a run id or task id."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text)


class DownloadBulkOperator(BaseOperator):
    """Run ``python -m candlelake download-bulk ARGS`` as a subprocess of the worker.

    The interpreter is the worker's own ``sys.executable`` (resolved at run time, not at parse
    time, because the DAG processor and the worker may be different machines). ``env`` is
    laid over the worker's environment, which is where secrets such as AWS credentials come
    from; neither is logged. With ``report_dir`` the run report is written to
    ``<report_dir>/<dag_id>/<run_id>/<task_id>[.<map_index>].json`` and its path is returned.
    """

    template_fields: Sequence[str] = ("args", "env")
    template_fields_renderers: ClassVar[dict[str, str]] = {"args": "py", "env": "json"}
    ui_color = "#cfe8fc"

    def __init__(
        self,
        *,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
        report_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.args = list(args)
        self.env = dict(env or {})
        self.report_dir = report_dir
        self._proc: subprocess.Popen[str] | None = None

    def _report_path(self, context: Context) -> Path | None:
        if not self.report_dir:
            return None
        ti = context["ti"]
        name = _safe_name(ti.task_id)
        if ti.map_index is not None and ti.map_index >= 0:
            name += f".{ti.map_index}"
        return Path(self.report_dir) / _safe_name(ti.dag_id) / _safe_name(ti.run_id) / f"{name}.json"

    def execute(self, context: Context) -> str | None:
        args = [str(a) for a in self.args]
        report = self._report_path(context)
        if report is not None:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.unlink(missing_ok=True)  # a retry must not return the failed try's report
            args += ["--report_json", str(report)]
        argv = [*local_argv_prefix(), *args]
        self.log.info("Running: %s", shlex.join(argv))
        env = {**os.environ, **{str(k): str(v) for k, v in self.env.items()}}
        # start_new_session: on_kill can then stop the child and anything it started.
        self._proc = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        assert self._proc.stdout is not None
        summary = None
        for line in self._proc.stdout:
            line = line.rstrip("\n")
            self.log.info("%s", line)
            summary = line if line.startswith(SUMMARY_PREFIX) else summary
        code = self._proc.wait()
        self._proc = None
        if report is not None and report.exists():
            self.log.info("Run report: %s", report)
        if code != 0:
            # The alert quotes it; pushed before raising, so it survives the failure.
            context["ti"].xcom_push(key=SUMMARY_KEY, value=summary or f"exit code {code}, no summary")
            raise exit_code_error(code)
        return str(report) if report is not None and report.exists() else None

    def on_kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)


def exit_code_error(code: int) -> AirflowException:
    """The exception for a failed download: exit code 2 is bad input, which no retry fixes."""
    message = f"candlelake {SUBCOMMAND} exited with code {code}"
    if code == USAGE_EXIT_CODE:
        return AirflowFailException(f"{message} (bad input: not retried)")
    return AirflowException(message)


def local_argv_prefix() -> list[str]:
    """What the local runner puts before the download-bulk arguments (for docs and tests)."""
    return [sys.executable, "-m", "candlelake", SUBCOMMAND]


class Runner:
    """Builds the download operator of one stage; subclasses decide where the command runs.

    ``operator`` makes one task; ``mapped`` makes a dynamically mapped task whose per-item
    arguments come from ``expand_kwargs(args)`` (used by the backfill DAG's planning task).
    """

    operator_class: type[BaseOperator]

    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def static_kwargs(self) -> dict[str, Any]:
        """Operator arguments shared by every task of this runner."""
        raise NotImplementedError

    def expand_kwargs(self, args: list[str]) -> dict[str, Any]:
        """Operator arguments that carry one command."""
        raise NotImplementedError

    def operator(self, *, task_id: str, args: list[str], **kwargs: Any) -> BaseOperator:
        return self.operator_class(
            task_id=task_id, **self.static_kwargs(), **self.expand_kwargs(args), **kwargs
        )

    def mapped(self, *, task_id: str, expand_input: Any, **kwargs: Any) -> Any:
        partial = self.operator_class.partial(task_id=task_id, **self.static_kwargs(), **kwargs)
        return partial.expand_kwargs(expand_input)


class LocalRunner(Runner):
    """A subprocess on the Airflow worker (``sys.executable -m candlelake``)."""

    operator_class = DownloadBulkOperator

    def static_kwargs(self) -> dict[str, Any]:
        return {"env": dict(self.settings.env), "report_dir": self.settings.report_dir}

    def expand_kwargs(self, args: list[str]) -> dict[str, Any]:
        return {"args": list(args)}


class DockerRunner(Runner):
    """A container on a Docker engine (DockerOperator); the image's entrypoint is candlelake."""

    def __init__(self, settings: StageSettings) -> None:
        super().__init__(settings)
        from airflow.providers.docker.operators.docker import DockerOperator

        self.operator_class = DockerOperator

    def static_kwargs(self) -> dict[str, Any]:
        d = self.settings.docker
        kwargs: dict[str, Any] = {
            "image": d.image,
            "docker_url": d.docker_url,
            "environment": dict(self.settings.env),
            "auto_remove": d.auto_remove,
            # No bind mount of the worker's temp dir: the command writes to the lake only.
            "mount_tmp_dir": False,
        }
        if d.network_mode:
            kwargs["network_mode"] = d.network_mode
        if d.docker_conn_id:
            kwargs["docker_conn_id"] = d.docker_conn_id
        return kwargs

    def expand_kwargs(self, args: list[str]) -> dict[str, Any]:
        return {"command": [SUBCOMMAND, *args]}
