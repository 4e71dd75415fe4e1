"""ECS (and Kubernetes) for every stage: defaults, parse-time errors, registered definitions.

The task definition is validated against botocore's own model of RegisterTaskDefinition
(what `aws ecs register-task-definition --cli-input-json` accepts) and compared field by
field with what the runner's operator sends.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("airflow")

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.execution_time import macros

from candlelake.airflow.factory import build_download_dag
from candlelake.cli.main import main

pytestmark = pytest.mark.airflow

JOBS = [("ccxt", "binance", "spot", "ohlcv", "v7")]
TASK = "download.periodic_daily.ccxt.binance.spot.v7"


class _Vars:
    def __getattr__(self, name: str) -> str:
        return f"<{name}>"

    def get(self, name: str, default: str = "") -> str:
        return default


def _rendered(task: Any) -> Any:
    task = task.prepare_for_execution()
    context = {
        "dag_run": SimpleNamespace(logical_date=None, run_after=macros.datetime(2024, 2, 20, 1, 20)),
        "macros": macros,
        "var": SimpleNamespace(value=_Vars()),
    }
    task.render_template_fields(context)  # type: ignore[arg-type]
    return task


@pytest.mark.parametrize("stage", ["test", "preprod", "prod"])
def test_every_stage_gets_upstreams_ecs_variables(tmp_path: Path, stage: str) -> None:
    # The tutorial's own test.*_fargate DAG used to get cluster "candlelake" and no network.
    dag = build_download_dag(
        tmp_path / f"{stage}.download_periodic_daily_ohlcv_data_fargate.py", JOBS, runner="ecs"
    )
    task = _rendered(dag.get_task(TASK))
    assert task.cluster == f"<{stage}_ecs_cluster>"
    assert task.network_configuration == {
        "awsvpcConfiguration": {
            "subnets": ["<ecs_subnet1>", "<ecs_subnet2>", "<ecs_subnet3>"],
            "securityGroups": ["<ecs_security_group>"],
            "assignPublicIp": "DISABLED",
        }
    }
    assert task.region_name == "eu-north-1"
    command = task.overrides["containerOverrides"][0]["command"]
    # Never a folder of the Airflow host: test writes to upstream's test bucket Variable.
    assert "--dst_dir" not in command
    assert command[command.index("--s3_path") + 1] == (
        "s3://<test_s3_data_bucket>" if stage == "test" else f"s3://<{stage}_s3_data_bucket>"
    )


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ("[stages.test.ecs]\nsubnets = []\n", "ecs.subnets"),
        ("[stages.test.ecs]\nsecurity_groups = []\n", "ecs.security_groups"),
        ('[stages.test.ecs]\ncluster = ""\n', "ecs.cluster"),
        ('[stages.test]\nlake_url = "/data/lake"\n', "lake_url '/data/lake' is a folder on the Airflow host"),
    ],
)
def test_missing_ecs_settings_are_import_errors_naming_them(
    tmp_path: Path, settings: str, named: str
) -> None:
    (tmp_path / "candlelake_dags.toml").write_text(settings)
    (tmp_path / "test.fargate.py").write_text(
        "from candlelake.airflow.factory import build_download_dag\n"
        f"dag = build_download_dag(__file__, jobs={JOBS!r}, runner='ecs')\n"
    )
    errors = DagBag(dag_folder=str(tmp_path)).import_errors
    (message,) = errors.values()
    assert named in message


def test_task_definition_matches_what_the_runner_sends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import botocore.session
    from botocore.validate import validate_parameters

    toml = tmp_path / "candlelake_dags.toml"
    toml.write_text(
        "[stages.preprod.ecs]\ncpu = 1024\nmemory = 2048\nephemeral_storage_gib = 30\n"
        "region = 'ap-northeast-1'\n"
    )
    args = ["airflow", "ecs-task-definition", "--stage", "preprod", "--image", "reg/candlelake:1"]
    assert main([*args, "--role", "arn:aws:iam::1:role/t", "--settings", str(toml)]) == 0
    definition = json.loads(capsys.readouterr().out)
    model = botocore.session.get_session().get_service_model("ecs")
    validate_parameters(definition, model.operation_model("RegisterTaskDefinition").input_shape)

    task = _rendered(build_download_dag(tmp_path / "preprod.fargate.py", JOBS, runner="ecs").get_task(TASK))
    (container,) = definition["containerDefinitions"]
    logs = container["logConfiguration"]["options"]
    assert definition["family"] == task.task_definition
    assert container["name"] == task.container_name == task.overrides["containerOverrides"][0]["name"]
    assert logs["awslogs-group"] == task.awslogs_group
    assert logs["awslogs-stream-prefix"] == task.awslogs_stream_prefix
    assert logs["awslogs-region"] == task.awslogs_region == task.region_name == "ap-northeast-1"
    assert (definition["cpu"], definition["memory"]) == (task.overrides["cpu"], task.overrides["memory"])
    assert definition["ephemeralStorage"] == task.overrides["ephemeralStorage"] == {"sizeInGiB": 30}
    assert definition["taskRoleArn"] == "arn:aws:iam::1:role/t"
    # Entrypoint + the override's command = `candlelake download-bulk ...`.
    assert container["entryPoint"] + task.overrides["containerOverrides"][0]["command"][:1] == [
        "candlelake",
        "download-bulk",
    ]


def test_pod_template_matches_the_kubernetes_runner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "candlelake_dags.toml"
    toml.write_text('[stages.prod.kubernetes]\nnamespace = "data"\nmemory_request = "1Gi"\n')
    assert (
        main(["airflow", "pod-template", "--stage", "prod", "--image", "reg/c:2", "--settings", str(toml)])
        == 0
    )
    pod = json.loads(capsys.readouterr().out)
    (tmp_path / "candlelake_dags.toml").write_text(toml.read_text() + "[stages.prod]\nlake_url = 's3://b'\n")
    task = build_download_dag(tmp_path / "prod.k8s.py", JOBS, runner="kubernetes").get_task(TASK)
    (container,) = pod["spec"]["containers"]
    assert pod["metadata"]["namespace"] == task.namespace == "data"
    assert container["name"] == task.base_container_name == "base"
    assert container["resources"]["requests"] == task.container_resources.requests
    assert container["resources"]["limits"] == task.container_resources.limits
    assert container["command"] == ["candlelake"] and task.arguments[0] == "download-bulk"
    assert task.deferrable is True


def test_long_container_runs_wait_in_the_triggerer(tmp_path: Path) -> None:
    dag = build_download_dag(tmp_path / "prod.fargate.py", JOBS, runner="ecs")
    task = dag.get_task(TASK)
    assert task.deferrable is True
    # Enough polls for the 2 h execution timeout, not upstream's 1e6 (a hung task would wait ~a year).
    assert task.waiter_delay * task.waiter_max_attempts >= 120 * 60
    assert task.waiter_max_attempts < 1000


def test_pod_exit_code_is_read_from_the_base_container() -> None:
    # What KubernetesDownloadOperator turns into AirflowFailException (code 2); the pod
    # operator's own cleanup needs a cluster, so only the pod reading is exercised here.
    from kubernetes.client import models as k8s

    from candlelake.airflow.pods import KubernetesDownloadOperator, container_exit_code

    def status(name: str, code: int | None) -> k8s.V1ContainerStatus:
        state = k8s.V1ContainerState(
            terminated=k8s.V1ContainerStateTerminated(exit_code=code) if code is not None else None
        )
        return k8s.V1ContainerStatus(
            name=name, state=state, image="i", image_id="", ready=False, restart_count=0
        )

    pod = k8s.V1Pod(status=k8s.V1PodStatus(container_statuses=[status("istio-proxy", 0), status("base", 2)]))
    assert container_exit_code(pod, "base") == 2
    assert container_exit_code(pod, "other") is None
    assert container_exit_code(k8s.V1Pod(status=k8s.V1PodStatus()), "base") is None
    task = build_download_dag(Path("/x/prod.k8s.py"), JOBS, runner="kubernetes", lake_url="s3://b").get_task(
        TASK
    )
    assert isinstance(task, KubernetesDownloadOperator)
