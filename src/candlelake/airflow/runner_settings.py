"""Settings of the container runners (Docker, Kubernetes, ECS), part of a stage's settings.

The names that must agree between what the ECS runner sends and the task definition the
operator registered (container, log group, stream prefix, cluster, network) are derived
here, once, for both (``candlelake.airflow.runners``, ``candlelake.airflow.containers``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

Stage = Literal["test", "preprod", "prod"]
# Upstream's Variables for the ECS network (§9): private subnets and group, or public ones.
_PRIVATE_SUBNETS = ("ecs_subnet1", "ecs_subnet2", "ecs_subnet3")
_PUBLIC_SUBNETS = ("ecs_public_subnet1", "ecs_public_subnet2", "ecs_public_subnet3")


def _var(name: str) -> str:
    return "{{ var.value." + name + " }}"


class Settings(BaseModel):
    """Base of the settings models: immutable, and unknown keys are errors (typos must not pass)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("emails", "subnets", "security_groups", "extra_args", mode="before", check_fields=False)
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # `emails = "a@x"` means one address, as a list of one would.
        return (value,) if isinstance(value, str) else value


class DockerSettings(Settings):
    """Options of the ``docker`` runner (DockerOperator)."""

    image: str = "candlelake:latest"
    docker_url: str = "unix://var/run/docker.sock"
    network_mode: str | None = None
    auto_remove: Literal["never", "success", "force"] = "success"
    docker_conn_id: str | None = None


class KubernetesSettings(Settings):
    """Options of the ``kubernetes`` runner (KubernetesPodOperator)."""

    image: str = "candlelake:latest"
    namespace: str = "default"
    kubernetes_conn_id: str | None = None
    in_cluster: bool | None = None
    service_account_name: str | None = None
    image_pull_policy: str | None = None
    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    memory_limit: str | None = "1Gi"
    # The triggerer follows the pod, not a worker slot.
    deferrable: bool = True


class EcsSettings(Settings):
    """Options of the ``ecs`` runner (EcsRunTaskOperator on Fargate).

    The task definition defaults to ``candlelake[-<stage>][-<user>]`` (``-prod`` is omitted,
    upstream's ``cmamp`` naming); unlike upstream no stage/user combination is rejected (K1).
    """

    # None: upstream's Variable `<stage>_ecs_cluster`, rendered at run time.
    cluster: str | None = None
    task_definition: str | None = None
    task_definition_prefix: str = "candlelake"
    user: str | None = None
    container_name: str | None = None
    launch_type: str = "FARGATE"
    cpu: int = 256
    memory: int = 512
    assign_public_ip: bool = False
    # None: upstream's Variables (ecs_subnet1..3 and ecs_security_group, or the ecs_public_*
    # ones with assign_public_ip). An empty list is an error when the DAG file is parsed.
    subnets: tuple[str, ...] | None = None
    security_groups: tuple[str, ...] | None = None
    region: str = "eu-north-1"
    aws_conn_id: str | None = "aws_default"
    awslogs_group: str | None = None
    # The task definition's awslogs-stream-prefix; streams are <prefix>/<container>/<task id>.
    awslogs_stream_prefix: str = "ecs"
    ephemeral_storage_gib: int | None = None
    platform_version: str | None = None
    # The triggerer waits for the task, not a worker slot (deferrable), polling every
    # waiter_delay s; waiter_max_attempts None: enough for execution_timeout_minutes.
    deferrable: bool = True
    waiter_delay: int = 30
    waiter_max_attempts: int | None = None
    number_logs_exception: int = 200

    def task_definition_name(self, stage: Stage) -> str:
        """The task definition to run: explicit, or derived from stage and user."""
        if self.task_definition:
            return self.task_definition
        parts = [self.task_definition_prefix]
        if stage != "prod":
            parts.append(stage)
        if self.user:
            parts.append(self.user)
        return "-".join(parts)

    def container(self, stage: Stage) -> str:
        # Upstream's convention: the container is named like its task definition.
        return self.container_name or self.task_definition_name(stage)

    def log_group(self, stage: Stage) -> str:
        return self.awslogs_group or f"/ecs/{self.task_definition_name(stage)}"

    def cluster_name(self, stage: Stage) -> str:
        return self.cluster if self.cluster is not None else _var(f"{stage}_ecs_cluster")

    def network(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Subnets and security groups: as set, or upstream's Variables."""
        subnets = self.subnets
        if subnets is None:
            subnets = tuple(map(_var, _PUBLIC_SUBNETS if self.assign_public_ip else _PRIVATE_SUBNETS))
        groups = self.security_groups
        if groups is None:
            groups = (_var("ecs_public_sg" if self.assign_public_ip else "ecs_security_group"),)
        return subnets, groups

    def max_attempts(self, timeout_minutes: float | None) -> int:
        """Polls before giving up: the execution timeout (or a day) plus one poll of slack."""
        if self.waiter_max_attempts is not None:
            return self.waiter_max_attempts
        seconds = (timeout_minutes or 24 * 60) * 60
        return math.ceil(seconds / self.waiter_delay) + 1
