"""The ECS runner: ``download-bulk`` as an ECS task (Fargate by default), deferrable.

Upstream's settings (§9) without its import-time Variable reads and without K1. Names that
the task definition must match (container, log group, stream prefix) come from
:class:`~candlelake.airflow.runner_settings.EcsSettings`, which also renders the task
definition (``candlelake airflow ecs-task-definition``), so the two cannot disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from candlelake.airflow.failure_report import SUMMARY_KEY
from candlelake.airflow.runners import SUBCOMMAND, SUMMARY_PREFIX, USAGE_EXIT_CODE, Runner
from candlelake.airflow.settings import SettingsError, Stage, StageSettings

if TYPE_CHECKING:
    from airflow.sdk import Context


class EcsDownloadOperator(EcsRunTaskOperator):
    """EcsRunTaskOperator that fails without retry on exit code 2 and keeps the summary line.

    Exit code 2 is bad input (the CLI's contract): a retry cannot fix it. On any failure the
    container's ``done: ...`` line is pushed as XCom ``summary`` for the alert.
    """

    def execute(self, context: Context) -> Any:
        try:
            return super().execute(context)
        except AirflowException:
            self._push_summary(context)
            raise

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        try:
            return super().execute_complete(context, event)
        except AirflowException:
            self._push_summary(context)
            raise

    def _check_success_task(self) -> None:
        if self.client and self.arn:
            response = self.client.describe_tasks(cluster=self.cluster, tasks=[self.arn])
            codes = {c.get("exitCode") for t in response.get("tasks", []) for c in t.get("containers", [])}
            if USAGE_EXIT_CODE in codes:
                raise AirflowFailException(
                    f"candlelake {SUBCOMMAND} exited with code {USAGE_EXIT_CODE} (bad input: not retried)"
                )
        super()._check_success_task()

    def _push_summary(self, context: Context) -> None:
        if not (self.arn and self._aws_logs_enabled()):
            return
        try:
            from airflow.providers.amazon.aws.hooks.logs import AwsLogsHook

            logs = AwsLogsHook(aws_conn_id=self.aws_conn_id, region_name=self.resolve_awslogs_region()).conn
            events = logs.get_log_events(
                logGroupName=self.awslogs_group,
                logStreamName=self._get_logs_stream_name(),
                startFromHead=False,
                limit=self.number_logs_exception,
            )["events"]
        except Exception as exc:  # the alert then says "see the log"; never hide the failure
            self.log.warning("could not read the summary line: %s", type(exc).__name__)
            return
        lines = [e["message"] for e in events if str(e["message"]).startswith(SUMMARY_PREFIX)]
        if lines:
            context["ti"].xcom_push(key=SUMMARY_KEY, value=lines[-1])


class EcsRunner(Runner):
    """An ECS task; the command is a container override of the stage's task definition."""

    operator_class = EcsDownloadOperator

    def __init__(self, settings: StageSettings, stage: Stage) -> None:
        super().__init__(settings)
        self.stage = stage
        subnets, groups = settings.ecs.network()
        missing = [
            name for name, value in (("ecs.subnets", subnets), ("ecs.security_groups", groups)) if not value
        ]
        if not settings.ecs.cluster_name(stage):
            missing.insert(0, "ecs.cluster")
        if missing:
            # Fargate rejects a task without awsvpc network settings; say so when parsing.
            raise SettingsError(
                f"stage {stage}: the ecs runner needs {', '.join(missing)} (empty); leave them "
                "unset to use upstream's Variables or set them in candlelake_dags.toml"
            )

    def static_kwargs(self) -> dict[str, Any]:
        e = self.settings.ecs
        subnets, groups = e.network()
        kwargs: dict[str, Any] = {
            "cluster": e.cluster_name(self.stage),
            "task_definition": e.task_definition_name(self.stage),
            "launch_type": e.launch_type.upper(),
            "awslogs_group": e.log_group(self.stage),
            # The operator reads the stream <prefix>/<container>/<task id>.
            "awslogs_stream_prefix": e.awslogs_stream_prefix,
            "awslogs_region": e.region,
            "region_name": e.region,
            "container_name": e.container(self.stage),
            "deferrable": e.deferrable,
            "waiter_delay": e.waiter_delay,
            "waiter_max_attempts": e.max_attempts(self.settings.execution_timeout_minutes),
            "number_logs_exception": e.number_logs_exception,
            "aws_conn_id": e.aws_conn_id,
            "network_configuration": {
                "awsvpcConfiguration": {
                    "subnets": list(subnets),
                    "securityGroups": list(groups),
                    "assignPublicIp": "ENABLED" if e.assign_public_ip else "DISABLED",
                }
            },
        }
        if e.platform_version:
            kwargs["platform_version"] = e.platform_version
        return kwargs

    def expand_kwargs(self, args: list[str]) -> dict[str, Any]:
        e = self.settings.ecs
        container: dict[str, Any] = {"name": e.container(self.stage), "command": [SUBCOMMAND, *args]}
        if self.settings.env:
            container["environment"] = [{"name": k, "value": v} for k, v in sorted(self.settings.env.items())]
        overrides: dict[str, Any] = {
            "containerOverrides": [container],
            "cpu": str(e.cpu),
            "memory": str(e.memory),
        }
        if e.ephemeral_storage_gib:
            overrides["ephemeralStorage"] = {"sizeInGiB": e.ephemeral_storage_gib}
        return {"overrides": overrides}
