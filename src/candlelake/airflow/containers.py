"""What operators register for the container runners: an ECS task definition, a pod template.

Both are derived from the same settings the runners use (``EcsSettings``,
``KubernetesSettings``), so the container name, log group, stream prefix, region, cpu,
memory, ephemeral storage and entrypoint match what a run sends. Pure: no Airflow import.
"""

from __future__ import annotations

from typing import Any

from candlelake.airflow.runner_settings import EcsSettings, KubernetesSettings, Stage

# The image's ENTRYPOINT (Dockerfile); runners pass `download-bulk ...` as the command.
ENTRYPOINT = ["candlelake"]
# KubernetesPodOperator runs its command in the container named "base".
POD_CONTAINER = "base"


def ecs_task_definition(
    ecs: EcsSettings,
    stage: Stage,
    image: str,
    *,
    task_role_arn: str | None = None,
    execution_role_arn: str | None = None,
) -> dict[str, Any]:
    """Input of ``aws ecs register-task-definition --cli-input-json`` for one stage."""
    container: dict[str, Any] = {
        "name": ecs.container(stage),
        "image": image,
        "essential": True,
        "entryPoint": ENTRYPOINT,
        # The EC2 launch type needs a container-level memory; a soft reservation (not a
        # hard limit) never caps the process below the task's memory override.
        "memoryReservation": ecs.memory,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": ecs.log_group(stage),
                "awslogs-region": ecs.region,
                "awslogs-stream-prefix": ecs.awslogs_stream_prefix,
                "awslogs-create-group": "true",
            },
        },
    }
    definition: dict[str, Any] = {
        "family": ecs.task_definition_name(stage),
        "requiresCompatibilities": [ecs.launch_type.upper()],
        "networkMode": "awsvpc",
        "cpu": str(ecs.cpu),
        "memory": str(ecs.memory),
        "containerDefinitions": [container],
    }
    if task_role_arn:
        definition["taskRoleArn"] = task_role_arn
    if execution_role_arn:
        definition["executionRoleArn"] = execution_role_arn
    if ecs.ephemeral_storage_gib:
        definition["ephemeralStorage"] = {"sizeInGiB": ecs.ephemeral_storage_gib}
    return definition


def kubernetes_pod_template(k8s: KubernetesSettings, image: str | None = None) -> dict[str, Any]:
    """A ``pod_template_file`` body matching the kubernetes runner's pod."""
    resources: dict[str, Any] = {"requests": {"cpu": k8s.cpu_request, "memory": k8s.memory_request}}
    if k8s.memory_limit:
        resources["limits"] = {"memory": k8s.memory_limit}
    container: dict[str, Any] = {
        "name": POD_CONTAINER,
        "image": image or k8s.image,
        "command": ENTRYPOINT,
        "resources": resources,
    }
    if k8s.image_pull_policy:
        container["imagePullPolicy"] = k8s.image_pull_policy
    spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    if k8s.service_account_name:
        spec["serviceAccountName"] = k8s.service_account_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "candlelake-download-", "namespace": k8s.namespace},
        "spec": spec,
    }
