"""Which runner a stage uses. Apart from runners.py, which the Kubernetes and ECS runners
build on: choosing them here keeps the imports one-way, and their providers load only when
a stage uses them."""

from __future__ import annotations

from candlelake.airflow.runners import DockerRunner, LocalRunner, Runner
from candlelake.airflow.settings import Stage, StageSettings


def make_runner(settings: StageSettings, stage: Stage) -> Runner:
    """The runner chosen by ``settings.runner``."""
    if settings.runner == "local":
        return LocalRunner(settings)
    if settings.runner == "docker":
        return DockerRunner(settings)
    if settings.runner == "kubernetes":
        from candlelake.airflow.pods import KubernetesRunner

        return KubernetesRunner(settings)
    if settings.runner == "ecs":
        from candlelake.airflow.ecs import EcsRunner

        return EcsRunner(settings, stage)
    raise ValueError(f"unknown runner {settings.runner!r}")
